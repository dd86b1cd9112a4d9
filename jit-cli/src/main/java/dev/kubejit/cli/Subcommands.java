package dev.kubejit.cli;

/** The subcommands each module contributes, registered by {@link Main}. */
final class Subcommands {
  static final Class<?>[] EXTRA = {RbacCommand.class, AuditCommand.class, PolicyCommand.class};

  private Subcommands() {}
}
