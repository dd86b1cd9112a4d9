package dev.kubejit.cli;

import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.credentials.jwt.JwtIssuer;
import dev.kubejit.credentials.KeyType;
import dev.kubejit.credentials.ssh.SshCertificateAuthority;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code kubejit ca}: certificate authority management. */
@Command(name = "ca", mixinStandardHelpOptions = true, description = "Manage the local X.509, SSH and JWT signing keys.",
    subcommands = CaCommand.Init.class)
final class CaCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** {@code kubejit ca init}: creates ca.crt/ca.key, ssh_ca/ssh_ca.pub and jwt.jwk in a new directory. */
  @Command(name = "init", mixinStandardHelpOptions = true,
      description = "Create DIR/ca.crt, DIR/ca.key (0600), DIR/ssh_ca (0600), DIR/ssh_ca.pub and DIR/jwt.jwk (0600).")
  static final class Init implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--dir", required = true, description = "Directory to create the keys in (must not hold keys yet).")
    Path dir;

    @Option(names = "--key-type", defaultValue = "ed25519", description = "ed25519, ecdsa-p256 or rsa-3072 (default ${DEFAULT-VALUE}).")
    String keyType;

    @Option(names = "--validity", defaultValue = "2160h", description = "X.509 CA validity (default ${DEFAULT-VALUE}, 90 days).")
    String validity;

    @Override
    public Integer call() {
      return CredentialCommand.guarded(spec, () -> {
        KeyType type = KeyType.parse(keyType);
        if (type != KeyType.ED25519 && type != KeyType.ECDSA_P256 && type != KeyType.RSA_3072) {
          throw new IllegalArgumentException("--key-type must be ed25519, ecdsa-p256 or rsa-3072, not " + keyType);
        }
        createPrivateDir(dir);
        Clock clock = Clock.systemUTC();
        CertificateAuthority ca = CertificateAuthority.builder().keyType(type).commonName("kubejit-ca").validity(CredentialCommand.parseDuration(validity)).clock(clock).generate();
        ca.writeTo(dir);
        SshCertificateAuthority ssh = SshCertificateAuthority.generate(type, clock);
        ssh.writeTo(dir);
        JwtIssuer jwt = JwtIssuer.generate(type == KeyType.ECDSA_P256 ? KeyType.ECDSA_P256 : KeyType.ED25519, "kubejit", clock);
        jwt.writePrivateJwk(dir.resolve("jwt.jwk"));
        var out = spec.commandLine().getOut();
        out.println("X.509 CA  " + dir.resolve("ca.crt") + " (sha256 " + ca.fingerprint() + ")");
        out.println("SSH CA    " + dir.resolve("ssh_ca.pub") + " (" + ssh.fingerprint() + ")");
        out.println("JWT key   " + dir.resolve("jwt.jwk") + " (" + jwt.algorithm() + ", kid " + jwt.keyId() + ")");
        out.flush();
        return 0;
      });
    }

    private static void createPrivateDir(Path dir) throws IOException {
      if (Files.exists(dir)) {
        for (String f : new String[] {"ca.key", "ca.crt", "ssh_ca", "ssh_ca.pub", "jwt.jwk"}) {
          if (Files.exists(dir.resolve(f))) {
            throw new IllegalArgumentException("refusing to overwrite existing " + dir.resolve(f));
          }
        }
      } else {
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      }
    }
  }
}
