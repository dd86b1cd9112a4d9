package dev.kubejit.cli;

/** The subcommands each module contributes, registered by {@link Main}. */
final class Subcommands {
  static final Class<?>[] EXTRA = {
    CaCommand.class, CertCommand.class, SshCommand.class, TokenCommand.class, CredentialCommand.class,
    RbacCommand.class, PolicyCommand.class, AuditCommand.class, InitCommand.class, ServeCommand.class, GatewayCommand.class, AdmissionCommand.class,
    // the broker's client (ClientCommands): login, request, approve, deny, get, activate, revoke, kubeconfig
    ClientCommands.Login.class, ClientCommands.Request.class, ClientCommands.Approve.class, ClientCommands.Deny.class,
    ClientCommands.Get.class, ClientCommands.Activate.class, ClientCommands.Revoke.class, ClientCommands.KubeconfigCmd.class, ProxyCommand.class
  };

  private Subcommands() {}
}
