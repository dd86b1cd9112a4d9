package dev.kubejit.cli;

import static dev.kubejit.cli.ClientAgainstServerTest.as;
import static dev.kubejit.cli.ClientAgainstServerTest.json;
import static dev.kubejit.cli.ClientAgainstServerTest.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.server.KubeJitServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kubejit activate --ssh} and {@code --ssh-key} against a real {@code kubejit serve}: the
 * broker's SSH CA certifies the KubeJIT Ed25519 key (or the engineer's own key), the certificate is
 * kept next to the key (checked with {@code ssh-keygen -L}), and {@code kubejit ssh config} points
 * at both; {@code kubejit proxy} without overrides asks the broker for the grant's cluster and
 * refuses when the broker does not list it.
 */
class ClientSshActivateTest {
  @TempDir Path dir;

  @Test
  void activateGetsAnSshCertificateKeptNextToTheKey() throws Exception {
    Path setup = dir.resolve("broker");
    Path alice = dir.resolve("alice");
    Path carol = dir.resolve("carol");
    try (KubeJitServer server = ClientAgainstServerTest.serve(setup, y -> y)) {
      ClientAgainstServerTest.login(server, setup, alice, "alice;oncall-payments");
      ClientAgainstServerTest.login(server, setup, carol, "carol;sre-leads");
      String id = request(alice, "INC-1");
      ok(as(carol, "approve", id));

      ClientAgainstServerTest.Run both = as(alice, "activate", id, "--ssh", "--ssh-key", dir.resolve("x.pub").toString());
      assertEquals(64, both.exit(), both.toString());
      assertFalse(Files.exists(alice.resolve("keys")), "refused before anything was made");

      ClientAgainstServerTest.Run act = ok(as(alice, "activate", id, "--ssh"));
      String grant = act.out().substring("grant ".length(), act.out().indexOf(' ', "grant ".length()));
      Path key = alice.resolve("keys/ssh_ed25519");
      Path cert = alice.resolve("keys/ssh_ed25519-" + grant + "-cert.pub");
      assertTrue(act.out().contains("SSH certificate for your key " + key + " kept in " + cert), act.out());
      assertTrue(act.out().contains("next: kubejit ssh config --grant " + grant), act.out());
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(key)));
      String listed = CredentialCommandTest.exec(dir, "ssh-keygen", "-L", "-f", cert.toString());
      assertTrue(listed.contains("ssh-ed25519-cert-v01@openssh.com user certificate"), listed);
      assertTrue(listed.contains("grant=" + grant) && listed.lines().anyMatch(l -> l.strip().equals("alice")), listed);

      ClientAgainstServerTest.Run cfg = ok(as(alice, "ssh", "config", "--grant", grant, "--gateway", "gw.example:2222",
          "--ca-public-key", setup.resolve("ca/ssh/ssh_ca.pub").toString()));
      assertTrue(cfg.out().contains("\n  IdentityFile " + key + "\n"), cfg.out());
      assertTrue(cfg.out().contains("\n  CertificateFile " + cert + "\n"), cfg.out());
      assertTrue(cfg.out().contains("\n  User alice\n"), cfg.out());
      assertFalse(cfg.out().contains("PKCS11Provider"), cfg.out());

      // the broker lists no clusters here: the proxy says so before touching any token
      ClientAgainstServerTest.Run proxy = as(alice, "proxy", "--grant", grant, "--key",
          "pkcs11:object=k?module-path=/nonexistent.so&pin-source=file:/nonexistent");
      assertEquals(BrokerClient.EXIT_SERVER, proxy.exit(), proxy.toString());
      assertTrue(proxy.err().contains("does not list the grant's cluster"), proxy.err());

      // the engineer's own key: the certificate goes next to it
      String id2 = request(alice, "INC-2");
      ok(as(carol, "approve", id2));
      CredentialCommandTest.exec(dir, "ssh-keygen", "-q", "-t", "ecdsa", "-b", "256", "-N", "", "-f", "own");
      ClientAgainstServerTest.Run own = ok(as(alice, "activate", id2, "--ssh-key", dir.resolve("own.pub").toString()));
      String grant2 = own.out().substring("grant ".length(), own.out().indexOf(' ', "grant ".length()));
      Path ownCert = dir.resolve("own-" + grant2 + "-cert.pub");
      assertTrue(own.out().contains("SSH certificate for your key " + dir.resolve("own") + " kept in " + ownCert), own.out());
      assertTrue(CredentialCommandTest.exec(dir, "ssh-keygen", "-L", "-f", ownCert.toString())
          .contains("ecdsa-sha2-nistp256-cert-v01@openssh.com user certificate"));
      ClientAgainstServerTest.Run cfg2 = ok(as(alice, "ssh", "config", "--grant", grant2, "--gateway", "gw.example",
          "--ca-public-key", setup.resolve("ca/ssh/ssh_ca.pub").toString()));
      assertTrue(cfg2.out().contains("\n  IdentityFile " + dir.resolve("own") + "\n"), cfg2.out());

      ClientAgainstServerTest.Run notPub = as(alice, "activate", request(alice, "INC-3"), "--ssh-key",
          dir.resolve("own").toString());
      assertEquals(64, notPub.exit(), notPub.toString());
      assertTrue(notPub.err().contains("FILE.pub"), notPub.err());
    }
  }

  private static String request(Path home, String ticket) throws Exception {
    return json(as(home, "request", "--role", "oncall-debug", "--action", "exec", "-n", "payments", "--cluster", "prod",
        "--duration", "30m", "--ticket", ticket, "--reason", "ssh certificate", "-o", "json")).path("id").asText();
  }
}
