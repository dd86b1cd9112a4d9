package dev.kubejit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.Grant;
import dev.kubejit.gateway.SshGateway;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kubejit ssh host-cert} and {@code kubejit ssh config --grant}: the printed ~/.ssh/config
 * block and @cert-authority line, used as they are by the real OpenSSH client, log in to a real
 * gateway with the grant's certificate and strict host key checking.
 */
class SshConfigCommandTest {
  @TempDir Path dir;

  @Test
  void thePrintedConfigurationLogsInToTheGatewayWithStrictHostKeyChecking() throws Exception {
    SshGatewayFixture fx = SshGatewayFixture.create(dir);
    CredentialCommandTest.exec(dir, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "alice");
    var activation = fx.activateAlice(Files.readString(dir.resolve("alice.pub")).strip(), "INC-19");
    Grant g = activation.grant();
    Path cert = dir.resolve("alice-cert.pub");
    Files.writeString(cert, activation.credentials().get(0).material());

    try (SshGateway gateway = fx.startGateway()) {
      Path knownHosts = dir.resolve("known_hosts.kubejit");
      CredentialCommandTest.Result cfg = CredentialCommandTest.run(new SshCommand(), "config", "--grant", g.id().value(),
          "--gateway", "127.0.0.1:" + gateway.port(), "--user", "alice", "--ca-public-key", fx.caPublicKey().toString(),
          "--identity", dir.resolve("alice").toString(), "--certificate", cert.toString(),
          "--known-hosts", knownHosts.toString());
      assertEquals(0, cfg.exit(), cfg::toString);
      String[] parts = cfg.out().split("\n\n", 2);
      assertTrue(parts[0].contains("Host kubejit-" + g.id().value()), cfg.out());
      Files.writeString(dir.resolve("ssh_config"), parts[0] + "\n");
      String caLine = parts[1].lines().filter(l -> l.startsWith("@cert-authority ")).findFirst().orElseThrow();
      Files.writeString(knownHosts, caLine + "\n");

      Process p = new ProcessBuilder("ssh", "-F", dir.resolve("ssh_config").toString(), "-o", "BatchMode=yes",
          "-o", "IdentityAgent=none", "-o", "GlobalKnownHostsFile=/dev/null", "kubejit-" + g.id().value(), "help")
          .redirectErrorStream(true).start();
      p.getOutputStream().close();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(p.waitFor(60, TimeUnit.SECONDS));
      assertEquals(0, p.exitValue(), out);
      assertTrue(out.contains("exec POD"), out);
    }
    // Bad input is refused with a message and prints nothing.
    CredentialCommandTest.Result bad = CredentialCommandTest.run(new SshCommand(), "config", "--grant", "not a grant",
        "--gateway", "gw.example", "--user", "alice", "--ca-public-key", fx.caPublicKey().toString());
    assertEquals(1, bad.exit(), bad::toString);
    assertEquals("", bad.out());
  }
}
