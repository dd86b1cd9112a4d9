package dev.kubejit.cli;

import dev.kubejit.api.SafeText;
import dev.kubejit.credentials.ssh.SshCertificateAuthority;
import dev.kubejit.credentials.ssh.SshCertificateRequest;
import dev.kubejit.credentials.ssh.SshUserCertificate;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code kubejit ssh}: OpenSSH user certificates. */
@Command(name = "ssh", mixinStandardHelpOptions = true, description = "Sign short-lived OpenSSH user certificates.",
    subcommands = SshCommand.Sign.class)
final class SshCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** {@code kubejit ssh sign}: prints the {@code *-cert.pub} line. */
  @Command(name = "sign", mixinStandardHelpOptions = true, description = "Sign a user's OpenSSH public key into a user certificate.")
  static final class Sign implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--ca", required = true, description = "CA directory (ssh_ca).")
    Path caDir;

    @Option(names = "--public-key", required = true, description = "The user's public key file (id_ed25519.pub).")
    Path publicKey;

    @Option(names = "--principal", required = true, description = "Login name the certificate is valid for; repeat for several.")
    List<String> principals;

    @Option(names = "--ttl", required = true, description = "Validity, e.g. 30m.")
    String ttl;

    @Option(names = "--force-command", description = "The only command sshd will run.")
    String forceCommand;

    @Option(names = "--source-address", description = "Comma-separated CIDRs the client must connect from.")
    String sourceAddress;

    @Option(names = "--extension", description = "Extension to grant (permit-pty, permit-port-forwarding, ...); none by default.")
    List<String> extensions = List.of();

    @Option(names = "--key-id", description = "Key id sshd logs (default kubejit-cli:<principals>:<time>).")
    String keyId;

    @Option(names = "--out", description = "Write the certificate line here instead of stdout.")
    Path out;

    @Mixin CredentialCommand.ReservedNameOptions reservedNames;

    @Override
    public Integer call() {
      return CredentialCommand.guarded(spec, () -> {
        SshCertificateRequest.Builder b = SshCertificateRequest.builder()
            .publicKey(Files.readString(publicKey, StandardCharsets.UTF_8))
            .principals(principals)
            .keyId(keyId != null ? keyId : "kubejit-cli:" + String.join("+", principals) + ":" + Instant.now())
            .ttl(CredentialCommand.parseDuration(ttl));
        if (forceCommand != null) {
          b.forceCommand(forceCommand);
        }
        if (sourceAddress != null) {
          b.sourceAddresses(sourceAddress);
        }
        extensions.forEach(b::extension);
        SshUserCertificate c = SshCertificateAuthority.load(caDir.resolve("ssh_ca"), Clock.systemUTC())
            .withReservedNames(reservedNames.build(spec)).sign(b.build());
        if (out != null) {
          Files.writeString(out, c.line() + "\n", StandardCharsets.UTF_8);
        } else {
          spec.commandLine().getOut().println(c.line());
          spec.commandLine().getOut().flush();
        }
        c.clampReason().ifPresent(r -> CredentialCommand.note(spec, r));
        spec.commandLine().getErr().println("kubejit: issued SSH certificate serial " + Long.toUnsignedString(c.serial(), 16)
            + " key id " + SafeText.quote(c.keyId()) + " for principals " + CredentialCommand.quoteAll(c.principals())
            + " until " + c.validBefore());
        spec.commandLine().getErr().flush();
        return 0;
      });
    }
  }
}
