package dev.kubejit.cli;

import dev.kubejit.api.SafeText;
import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.credentials.IssuedCertificate;
import dev.kubejit.credentials.X509Issuer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code kubejit cert}: X.509 client certificates. */
@Command(name = "cert", mixinStandardHelpOptions = true, description = "Sign short-lived X.509 client certificates.",
    subcommands = CertCommand.Sign.class)
final class CertCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** {@code kubejit cert sign}: signs a PKCS#10 CSR with the subject forced to the given user and groups. */
  @Command(name = "sign", mixinStandardHelpOptions = true,
      description = "Sign a CSR; the subject is CN=--user, O=each --group, whatever the CSR says (a disagreeing CSR is refused).")
  static final class Sign implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--ca", required = true, description = "CA directory (ca.crt, ca.key).")
    Path caDir;

    @Option(names = "--csr", required = true, description = "PKCS#10 CSR in PEM (e.g. from openssl req).")
    Path csr;

    @Option(names = "--user", required = true, description = "User name (CN).")
    String user;

    @Option(names = "--group", required = true, description = "Group (O); repeat for several.")
    List<String> groups;

    @Option(names = "--ttl", required = true, description = "Validity, e.g. 30m (clamped to --max-ttl, reported on stderr).")
    String ttl;

    @Option(names = "--max-ttl", defaultValue = "8h", description = "Maximum validity (default ${DEFAULT-VALUE}).")
    String maxTtl;

    @Option(names = "--out", description = "Write the certificate here instead of stdout.")
    Path out;

    @Mixin CredentialCommand.ReservedNameOptions reservedNames;

    @Override
    public Integer call() {
      return CredentialCommand.guarded(spec, () -> {
        String csrPem = Files.readString(csr, StandardCharsets.UTF_8);
        IssuedCertificate c = X509Issuer.builder().authority(CertificateAuthority.load(caDir)).clock(Clock.systemUTC())
            .maxTtl(CredentialCommand.parseDuration(maxTtl)).reservedNames(reservedNames.build(spec)).build()
            .issueFromCsr(csrPem, user, groups, CredentialCommand.parseDuration(ttl));
        if (out != null) {
          Files.writeString(out, c.certificatePem(), StandardCharsets.UTF_8);
        } else {
          spec.commandLine().getOut().print(c.certificatePem());
          spec.commandLine().getOut().flush();
        }
        c.clampReason().ifPresent(r -> CredentialCommand.note(spec, r));
        spec.commandLine().getErr().println("kubejit: issued serial " + c.ref().id() + " for CN=" + SafeText.quote(c.user())
            + " O=" + CredentialCommand.quoteAll(c.groups()) + " until " + c.notAfter());
        spec.commandLine().getErr().flush();
        return 0;
      });
    }
  }
}
