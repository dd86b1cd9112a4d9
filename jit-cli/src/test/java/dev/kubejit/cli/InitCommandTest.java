package dev.kubejit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.audit.AuditKeys;
import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.credentials.ssh.SshCertificateAuthority;
import dev.kubejit.policy.Policy;
import dev.kubejit.policy.PolicyLoader;
import dev.kubejit.server.ServerConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InitCommandTest {
  @TempDir Path tmp;
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    return Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
  }

  private static String mode(Path p) throws IOException {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
  }

  @Test
  void writesASetupThatLoadsBackWithPrivateKeysAndDirectories() throws Exception {
    Path dir = tmp.resolve("dev");
    assertEquals(0, run("init", dir.toString()), err.toString());
    assertTrue(out.toString().contains("Wrote a development setup to " + dir), out.toString());

    ServerConfig c = ServerConfig.load(dir.resolve("kubejit.yaml"));
    assertEquals(ServerConfig.Store.Kind.SQLITE, c.store().kind());
    assertEquals(dir.resolve("kubejit.db"), c.store().sqliteFile().orElseThrow());
    assertEquals("127.0.0.1", c.listenHost());
    assertEquals(8443, c.listenPort());
    assertEquals(ServerConfig.Authentication.Mode.DEV_HEADER, c.authentication().mode());
    assertTrue(c.clusters().isEmpty());

    // every file the configuration names exists and parses
    Policy policy = PolicyLoader.load(c.policyFile(), "test");
    assertFalse(policy.name().isEmpty());
    CertificateAuthority ca = CertificateAuthority.load(c.x509CaDirectory());
    assertFalse(ca.fingerprint().isEmpty());
    SshCertificateAuthority ssh = SshCertificateAuthority.load(c.sshCaDirectory().resolve("ssh_ca"), Clock.systemUTC());
    assertTrue(Files.readString(c.sshCaDirectory().resolve("ssh_ca.pub")).startsWith("ssh-ed25519 "));
    assertFalse(ssh.fingerprint().isEmpty());
    AuditKeys.readKeyPair(c.auditSigningKeyFile());
    AuditKeys.readPublicKey(c.auditSigningKeyFile().resolveSibling("audit-signing.pub"));
    assertTrue(Files.isDirectory(c.auditDirectory()));
    assertTrue(Files.isDirectory(c.store().sqliteFile().orElseThrow().getParent()));

    // TLS by default: a server certificate for localhost/127.0.0.1 from a serving CA of its own, checked with openssl
    assertEquals(dir.resolve("tls/server.crt"), c.tlsCertificateFile().orElseThrow());
    assertEquals(dir.resolve("tls/server.key"), c.tlsKeyFile().orElseThrow());
    assertEquals("rw-------", mode(dir.resolve("tls/server.key")));
    assertTrue(openssl("verify", "-purpose", "sslserver", "-CAfile", dir.resolve("tls/ca.crt").toString(),
        dir.resolve("tls/server.crt").toString()).contains(": OK"));
    String san = openssl("x509", "-noout", "-ext", "subjectAltName", "-in", dir.resolve("tls/server.crt").toString());
    assertTrue(san.contains("DNS:localhost") && san.contains("IP Address:127.0.0.1"), san);
    assertTrue(openssl("x509", "-noout", "-subject", "-in", dir.resolve("tls/ca.crt").toString()).contains("kubejit-dev-serving-ca"));
    assertFalse(openssl("verify", "-CAfile", c.x509CaDirectory().resolve("ca.crt").toString(),
        dir.resolve("tls/server.crt").toString()).contains(": OK"), "the serving CA is not the engineers' CA");
    assertFalse(Files.exists(dir.resolve("tls/ca.key")), "the serving CA key is not kept");

    // modes: private keys and the config 0600, every directory 0700 (so public files inside are private too), nothing group- or world-writable
    for (Path key : List.of(c.x509CaDirectory().resolve("ca.key"), c.sshCaDirectory().resolve("ssh_ca"),
        c.auditSigningKeyFile(), dir.resolve("kubejit.yaml"))) {
      assertEquals("rw-------", mode(key), key.toString());
    }
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : all.toList()) {
        String m = mode(p);
        if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
          assertEquals("rwx------", m, p.toString());
        }
        assertFalse(m.charAt(4) == 'w' || m.charAt(7) == 'w', "group- or world-writable: " + p + " " + m);
        assertFalse(Files.isSymbolicLink(p), p.toString());
      }
    }
    try (Stream<Path> siblings = Files.list(tmp)) {
      assertEquals(List.of(dir), siblings.toList(), "the staging directory is gone");
    }
  }

  @Test
  void acceptsAnExistingEmptyDirectory() throws Exception {
    Path dir = Files.createDirectory(tmp.resolve("empty"));
    assertEquals(0, run("init", dir.toString()), err.toString());
    assertEquals("rwx------", mode(dir));
    ServerConfig.load(dir.resolve("kubejit.yaml"));
  }

  @Test
  void refusesANonEmptyDirectoryOrAFileAndWritesNothing() throws Exception {
    Path dir = Files.createDirectory(tmp.resolve("busy"));
    Files.writeString(dir.resolve("notes.txt"), "mine");
    assertEquals(1, run("init", dir.toString()));
    assertTrue(err.toString().contains("refusing to init " + dir + ": the directory is not empty"), err.toString());
    try (Stream<Path> s = Files.list(dir)) {
      assertEquals(List.of(dir.resolve("notes.txt")), s.toList());
    }
    Path file = Files.writeString(tmp.resolve("a-file"), "x");
    assertEquals(1, run("init", file.toString()));
    assertTrue(err.toString().contains("it exists and is not a directory"), err.toString());
    assertEquals("x", Files.readString(file));
    try (Stream<Path> s = Files.list(tmp)) {
      assertEquals(2, s.count(), "no staging directory is left behind");
    }
  }

  @Test
  void theWrittenConfigIsTheOneTheCommandEmbeds() {
    ServerConfig c = ServerConfig.parse(InitCommand.CONFIG.getBytes(java.nio.charset.StandardCharsets.UTF_8), "init",
        Path.of("/srv/kubejit"));
    assertEquals(Path.of("/srv/kubejit/ca/x509"), c.x509CaDirectory());
    assertEquals(Path.of("/srv/kubejit/keys/audit-signing.key"), c.auditSigningKeyFile());
  }

  private static String openssl(String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>();
    cmd.add("openssl");
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String text = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    p.waitFor();
    return text;
  }
}
