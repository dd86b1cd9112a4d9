package dev.kubejit.cli;

import dev.kubejit.audit.AuditKeys;
import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.credentials.KeyType;
import dev.kubejit.credentials.ssh.SshCertificateAuthority;
import dev.kubejit.policy.PolicyLoader;
import dev.kubejit.server.ServerConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.util.Comparator;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code kubejit init DIR}: writes a development setup for the broker service.
 *
 * <p>Design notes: everything is first written into a private (0700) staging directory next to
 * DIR, loaded back (configuration, policy, both CAs, the audit key) and only then renamed to DIR
 * in one step, so a failure leaves nothing behind and a reader never sees half a setup. DIR must
 * be absent or an empty directory; anything else is refused before a byte is written.
 */
@Command(name = "init", mixinStandardHelpOptions = true,
    description = {"Write a development setup for the broker service to DIR: X.509 and SSH CAs, an audit signing key "
        + "(keys 0600, directories 0700), the sample policy and DIR/kubejit.yaml (SQLite store DIR/kubejit.db, "
        + "listen https://127.0.0.1:8443 with a development TLS certificate (DIR/tls, its own serving CA), "
        + "development header authentication).",
        "DIR must not exist or be empty. Not for production: see docs/server.md."})
final class InitCommand implements Callable<Integer> {
  static final Set<PosixFilePermission> DIR_MODE = PosixFilePermissions.fromString("rwx------");
  static final Set<PosixFilePermission> FILE_MODE = PosixFilePermissions.fromString("rw-------");
  private static final FileAttribute<Set<PosixFilePermission>> PRIVATE_DIR = PosixFilePermissions.asFileAttribute(DIR_MODE);

  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "DIR", description = "Directory to create (absent or empty).")
  Path dir;

  @Override
  public Integer call() {
    return CredentialCommand.guarded(spec, () -> {
      Path target = dir.toAbsolutePath().normalize();
      refuseUnlessAbsentOrEmpty(target);
      Path parent = target.getParent();
      Files.createDirectories(parent);
      Path staging = Files.createTempDirectory(parent, "." + target.getFileName() + ".init-", PRIVATE_DIR);
      try {
        write(staging);
        check(staging);
        refuseUnlessAbsentOrEmpty(target);
        Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (Exception e) {
        deleteTree(staging);
        throw e;
      }
      PrintWriter out = spec.commandLine().getOut();
      out.println("Wrote a development setup to " + target + ":");
      out.println("  kubejit.yaml        the configuration (SQLite store kubejit.db, https://127.0.0.1:8443, dev-header auth)");
      out.println("  policy.json         the sample policy (the one ./kubejit demo uses)");
      out.println("  ca/x509, ca/ssh     the X.509 and SSH certificate authorities (keys 0600)");
      out.println("  keys/               the audit signing key (0600) and its public key");
      out.println("  audit/              the audit log directory");
      out.println("  tls/                ca.crt (the development serving CA clients trust), server.crt, server.key (0600)");
      out.println("Development only: the identity is taken from a header, on loopback. See docs/server.md.");
      out.println("Start it with: kubejit serve --config " + target.resolve("kubejit.yaml"));
      out.flush();
      return 0;
    });
  }

  static void refuseUnlessAbsentOrEmpty(Path target) throws IOException {
    if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    if (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
      throw new IllegalArgumentException("refusing to init " + target + ": it exists and is not a directory");
    }
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(target)) {
      if (entries.iterator().hasNext()) {
        throw new IllegalArgumentException("refusing to init " + target + ": the directory is not empty");
      }
    }
  }

  private static void write(Path d) throws IOException {
    Clock clock = Clock.systemUTC();
    Path x509 = Files.createDirectories(d.resolve("ca/x509"), PRIVATE_DIR);
    Files.setPosixFilePermissions(d.resolve("ca"), DIR_MODE);
    CertificateAuthority.builder().keyType(KeyType.ED25519).commonName("kubejit-dev-ca").validity(Duration.ofDays(90))
        .clock(clock).generate().writeTo(x509);
    Path ssh = Files.createDirectory(d.resolve("ca/ssh"), PRIVATE_DIR);
    SshCertificateAuthority.generate(KeyType.ED25519, clock).writeTo(ssh);
    Path keys = Files.createDirectory(d.resolve("keys"), PRIVATE_DIR);
    KeyPair audit = AuditKeys.generate();
    AuditKeys.writePrivateKey(audit.getPrivate(), keys.resolve("audit-signing.key"));
    AuditKeys.writePublicKey(audit.getPublic(), keys.resolve("audit-signing.pub"));
    Files.createDirectory(d.resolve("audit"), PRIVATE_DIR);
    DevServingTls.write(Files.createDirectory(d.resolve("tls"), PRIVATE_DIR), clock);
    try (InputStream in = InitCommand.class.getResourceAsStream("demo-policy.json")) {
      if (in == null) {
        throw new IllegalStateException("the sample policy is missing from the kubejit jar");
      }
      Path policy = Files.createFile(d.resolve("policy.json"), PosixFilePermissions.asFileAttribute(FILE_MODE));
      Files.write(policy, in.readAllBytes());
    }
    Path config = Files.createFile(d.resolve("kubejit.yaml"), PosixFilePermissions.asFileAttribute(FILE_MODE));
    Files.writeString(config, CONFIG);
  }

  /** Loads everything back, so that a setup that would not start is never handed over. */
  private static void check(Path d) {
    ServerConfig c = ServerConfig.load(d.resolve("kubejit.yaml"));
    PolicyLoader.load(c.policyFile(), "init");
    CertificateAuthority.load(c.x509CaDirectory());
    SshCertificateAuthority.load(c.sshCaDirectory().resolve("ssh_ca"), Clock.systemUTC());
    AuditKeys.readKeyPair(c.auditSigningKeyFile());
  }

  private static void deleteTree(Path root) {
    try (Stream<Path> all = Files.walk(root)) {
      all.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          // best effort: the staging directory is private (0700) and hidden
        }
      });
    } catch (IOException e) {
      // nothing more to do; the caller reports the original failure
    }
  }

  static final String CONFIG = String.join("\n",
      "# Development setup written by `kubejit init`. Reference: docs/server.md; schema: docs/kubejit.schema.json.",
      "# Paths are relative to this file. Secrets are never written here, only where to find them.",
      "apiVersion: kubejit.dev/v1",
      "kind: ServerConfig",
      "policy: policy.json",
      "store:",
      "  sqlite:",
      "    file: kubejit.db",
      "audit:",
      "  directory: audit",
      "  signingKeyFile: keys/audit-signing.key",
      "certificateAuthorities:",
      "  x509: ca/x509",
      "  ssh: ca/ssh",
      "clusters: {}",
      "# TLS with a development certificate for localhost/127.0.0.1 signed by tls/ca.crt (a serving CA of its own;",
      "# clients trust that file). Plain HTTP (no tls) is accepted only on loopback.",
      "listen:",
      "  address: 127.0.0.1:8443",
      "  tls:",
      "    certFile: tls/server.crt",
      "    keyFile: tls/server.key",
      "# Development only: the identity comes from this header, accepted only on loopback.",
      "# Use oidc (issuer, audience, jwksUrl or jwksFile, groupsClaim) or mtls (clientCaFile) for real users.",
      "authentication:",
      "  devHeader:",
      "    header: X-KubeJIT-User",
      "");
}
