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
@Command(name = "ssh", mixinStandardHelpOptions = true,
    description = "Sign short-lived OpenSSH user certificates and gateway host certificates; print the ssh configuration for a grant.",
    subcommands = {SshCommand.Sign.class, SshCommand.HostCert.class, SshCommand.Config.class})
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

  /** {@code kubejit ssh host-cert}: signs the gateway's host key with the KubeJIT SSH CA. */
  @Command(name = "host-cert", mixinStandardHelpOptions = true,
      description = "Sign the gateway's host public key into an OpenSSH host certificate (clients trust it with one @cert-authority line).")
  static final class HostCert implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--ca", required = true, description = "CA directory (ssh_ca).")
    Path caDir;

    @Option(names = "--public-key", required = true, description = "The gateway's host public key file (ssh_host_ed25519_key.pub).")
    Path publicKey;

    @Option(names = "--hostname", required = true, description = "Name clients use for the gateway (their HostKeyAlias); repeat for several.")
    List<String> hostnames;

    @Option(names = "--ttl", defaultValue = "720h", description = "Validity (default ${DEFAULT-VALUE}; at most 8784h).")
    String ttl;

    @Option(names = "--out", description = "Write the certificate line here instead of stdout.")
    Path out;

    @Override
    public Integer call() {
      return CredentialCommand.guarded(spec, () -> {
        String line = SshCertificateAuthority.load(caDir.resolve("ssh_ca"), Clock.systemUTC())
            .signHostCertificate(Files.readString(publicKey, StandardCharsets.UTF_8).strip(), hostnames,
                CredentialCommand.parseDuration(ttl));
        if (out != null) {
          Files.writeString(out, line + "\n", StandardCharsets.UTF_8);
        } else {
          spec.commandLine().getOut().println(line);
          spec.commandLine().getOut().flush();
        }
        return 0;
      });
    }
  }

  /**
   * {@code kubejit ssh config --grant ID}: the {@code ~/.ssh/config} block and the {@code
   * known_hosts} line for reaching the gateway with a grant's certificate. Offline: it writes text
   * from its options and from what {@code kubejit activate --ssh} (or {@code --ssh-key}) recorded in
   * the client directory — the certificate file, the key (or the PKCS#11 module for a key in a
   * token) and the principal; options override those.
   */
  @Command(name = "config", mixinStandardHelpOptions = true, sortOptions = false,
      description = {"Print the ~/.ssh/config block and the known_hosts line for a grant's SSH certificate.",
          "After kubejit activate --ssh, the certificate and key (or PKCS#11 module) are the ones activate kept.",
          "Then: ssh kubejit-GRANT -- exec POD -- ARGV..."})
  static final class Config implements Callable<Integer> {
    static final String DEFAULT_IDENTITY = "~/.ssh/id_ed25519";

    @Spec CommandSpec spec;
    @Mixin ClientCommands.HomeOption home;

    @Option(names = "--grant", required = true, description = "The grant id (its certificate's key id names it).")
    String grant;

    @Option(names = "--gateway", required = true, description = "The gateway as HOST or HOST:PORT (port default 2222).")
    String gateway;

    @Option(names = "--user", description = "Your user name, the certificate's principal (default: as kubejit activate recorded it).")
    String user;

    @Option(names = "--ca-public-key", required = true, description = "The KubeJIT SSH CA public key file (ssh_ca.pub).")
    Path caPublicKey;

    @Option(names = "--identity", description = "Your private key (default: the key kubejit activate used, else "
        + DEFAULT_IDENTITY + ").")
    String identity;

    @Option(names = "--certificate", description = "The grant's certificate (default: the one kubejit activate kept, else "
        + "~/.ssh/kubejit-GRANT-cert.pub).")
    String certificate;

    @Option(names = "--known-hosts", defaultValue = "~/.ssh/known_hosts.kubejit",
        description = "Where the @cert-authority line goes (default ${DEFAULT-VALUE}).")
    String knownHosts;

    @Override
    public Integer call() {
      return CredentialCommand.guarded(spec, () -> {
        String g = dev.kubejit.api.GrantId.parse(grant).value();
        java.util.Properties kept = new GrantCredentials(home.resolve(), Clock.systemUTC()).sshEntry(g);
        String pkcs11 = null;
        if (kept != null && identity == null) {
          pkcs11 = kept.getProperty("pkcs11Provider");
          identity = kept.getProperty("identityFile");
        }
        if (pkcs11 != null && !pkcs11.startsWith("/")) {
          throw new IllegalArgumentException("the recorded PKCS#11 module is not an absolute path: " + SafeText.quote(pkcs11));
        }
        if (kept != null && certificate == null) {
          certificate = kept.getProperty("certificateFile");
        }
        if (kept != null && user == null) {
          user = kept.getProperty("user");
        }
        if (user == null) {
          throw new IllegalArgumentException("--user is required: kubejit activate --ssh recorded no SSH certificate for grant "
              + g + " in " + home.resolve().dir());
        }
        if (identity == null) {
          identity = DEFAULT_IDENTITY;
        }
        dev.kubejit.api.PrincipalNames.check(user, "user");
        String host = gateway;
        int port = 2222;
        int colon = gateway.lastIndexOf(':');
        if (colon > 0 && gateway.indexOf(':') == colon) {
          host = gateway.substring(0, colon);
          try {
            port = Integer.parseInt(gateway.substring(colon + 1));
          } catch (NumberFormatException e) {
            throw new IllegalArgumentException("gateway port is not a number: " + SafeText.quote(gateway));
          }
          if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("gateway port out of range: " + port);
          }
        }
        if (!host.matches("[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?")) {
          throw new IllegalArgumentException("gateway host must be a DNS name or IPv4 address: " + SafeText.quote(host));
        }
        for (String[] v : new String[][] {{"identity", identity == null ? "" : identity}, {"known-hosts", knownHosts},
            {"certificate", certificate == null ? "" : certificate}, {"pkcs11-provider", pkcs11 == null ? "" : pkcs11}}) {
          if (v[1].chars().anyMatch(c -> c <= ' ' || c == '"' || c == 0x7f)) {
            throw new IllegalArgumentException("--" + v[0] + " must be a path without spaces, quotes or control characters");
          }
        }
        String ca = Files.readString(caPublicKey, StandardCharsets.UTF_8).strip();
        dev.kubejit.credentials.ssh.SshCertificateVerifier.builder().trustedCa(ca).build();
        String cert = certificate != null ? certificate : "~/.ssh/kubejit-" + g + "-cert.pub";
        var out = spec.commandLine().getOut();
        out.println("# ~/.ssh/config: grant " + g + " through the KubeJIT gateway");
        out.println("Host kubejit-" + g);
        out.println("  HostName " + host);
        out.println("  Port " + port);
        out.println("  User " + user);
        if (pkcs11 != null) {
          out.println("  # the key stays in the PKCS#11 token (ssh asks for its PIN); IdentityFile is its public key");
          out.println("  PKCS11Provider " + pkcs11);
        }
        out.println("  IdentityFile " + identity);
        out.println("  CertificateFile " + cert);
        out.println("  IdentitiesOnly yes");
        out.println("  HostKeyAlias " + host);
        out.println("  UserKnownHostsFile " + knownHosts);
        out.println("  StrictHostKeyChecking yes");
        out.println("  PasswordAuthentication no");
        out.println("  KbdInteractiveAuthentication no");
        out.println("  ForwardAgent no");
        out.println("  ForwardX11 no");
        out.println();
        out.println("# " + knownHosts + ": trust hosts certified by the KubeJIT SSH CA for this name");
        out.println("@cert-authority " + host + " " + ca);
        out.flush();
        return 0;
      });
    }
  }
}
