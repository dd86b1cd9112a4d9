package dev.kubejit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.CredentialSpec;
import dev.kubejit.api.Grant;
import dev.kubejit.api.Identity;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.Scope;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.credentials.GrantCredentialIssuer;
import dev.kubejit.credentials.ssh.SshCertificateAuthority;
import dev.kubejit.gateway.SshGateway;
import dev.kubejit.policy.PolicyEngine;
import dev.kubejit.policy.PolicyLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
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
    Path ca = dir.resolve("ca");
    assertEquals(0, CredentialCommandTest.run(new CaCommand(), "init", "--dir", ca.toString(), "--key-type", "ed25519").exit());
    CredentialCommandTest.exec(dir, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "host");
    CredentialCommandTest.exec(dir, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "alice");
    CredentialCommandTest.Result hc = CredentialCommandTest.run(new SshCommand(), "host-cert", "--ca", ca.toString(),
        "--public-key", dir.resolve("host.pub").toString(), "--hostname", "127.0.0.1", "--ttl", "24h");
    assertEquals(0, hc.exit(), hc::toString);

    SshCertificateAuthority sshCa = SshCertificateAuthority.load(ca.resolve("ssh_ca"), Clock.systemUTC());
    JitBroker broker = JitBroker.builder()
        .policy(PolicyEngine.of(PolicyLoader.load(Path.of(System.getProperty("kubejit.projectRoot", ".."))
            .resolve("jit-policy/src/test/resources/policies/payments-oncall.yaml"))))
        .store(RequestStore.inMemory()).auditSink(AuditSink.inMemory()).rbacProvisioner(RbacProvisioner.inMemory())
        .credentialIssuer(GrantCredentialIssuer.builder().issuer(sshCa.forGrants()).build()).build();
    Identity alice = Identity.of("alice", "oncall-payments");
    RequestRecord r = broker.submit(AccessRequest.builder().requester(alice).role("oncall-debug").action(Action.LOGS)
        .scope(Scope.namespace("prod", "payments")).ticket("INC-19").justification("ssh config test").build());
    var activation = broker.activate(r.id(), alice, CredentialSpec.sshUserCertificate(
        Files.readString(dir.resolve("alice.pub")).strip(), Map.of()));
    Grant g = activation.grant();
    Path cert = dir.resolve("alice-cert.pub");
    Files.writeString(cert, activation.credentials().get(0).material());

    try (SshGateway gateway = SshGateway.builder().cluster("prod").broker(broker).auditSink(AuditSink.inMemory())
        .trustedUserCa(sshCa.publicKeyLine()).hostKeyFile(dir.resolve("host")).hostCertificate(hc.out().strip())
        .kubernetes("https://127.0.0.1:1", "").recordings(dir.resolve("recordings")).listen("127.0.0.1", 0).start()) {
      Path knownHosts = dir.resolve("known_hosts.kubejit");
      CredentialCommandTest.Result cfg = CredentialCommandTest.run(new SshCommand(), "config", "--grant", g.id().value(),
          "--gateway", "127.0.0.1:" + gateway.port(), "--user", "alice", "--ca-public-key", ca.resolve("ssh_ca.pub").toString(),
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
        "--gateway", "gw.example", "--user", "alice", "--ca-public-key", ca.resolve("ssh_ca.pub").toString());
    assertEquals(1, bad.exit(), bad::toString);
    assertEquals("", bad.out());
  }
}
