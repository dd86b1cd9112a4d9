package dev.kubejit.cli;

/** The subcommands each module contributes, registered by {@link Main}. */
final class Subcommands {
  static final Class<?>[] EXTRA = {
    CaCommand.class, CertCommand.class, SshCommand.class, TokenCommand.class, CredentialCommand.class,
    RbacCommand.class, PolicyCommand.class, AuditCommand.class, InitCommand.class, AdmissionCommand.class
  };

  private Subcommands() {}
}
