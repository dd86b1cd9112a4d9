package dev.kubejit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.Activation;
import dev.kubejit.api.CredentialSpec;
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
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;

/**
 * What the CLI's SSH tests share: a KubeJIT CA made by {@code kubejit ca init} (Ed25519), a gateway
 * host key certified for 127.0.0.1 by {@code kubejit ssh host-cert}, an in-memory broker on the
 * payments-oncall policy issuing SSH user certificates of that CA, and a gateway trusting it
 * (its Kubernetes address unreachable: these tests never reach a pod).
 */
final class SshGatewayFixture {
  final Path dir;
  final Path ca;
  final String hostCertificate;
  final SshCertificateAuthority sshCa;
  final JitBroker broker;

  private SshGatewayFixture(Path dir, Path ca, String hostCertificate, SshCertificateAuthority sshCa, JitBroker broker) {
    this.dir = dir;
    this.ca = ca;
    this.hostCertificate = hostCertificate;
    this.sshCa = sshCa;
    this.broker = broker;
  }

  static SshGatewayFixture create(Path dir) throws Exception {
    Path ca = dir.resolve("ca");
    assertEquals(0, CredentialCommandTest.run(new CaCommand(), "init", "--dir", ca.toString(), "--key-type", "ed25519").exit());
    CredentialCommandTest.exec(dir, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "host");
    CredentialCommandTest.Result hc = CredentialCommandTest.run(new SshCommand(), "host-cert", "--ca", ca.toString(),
        "--public-key", dir.resolve("host.pub").toString(), "--hostname", "127.0.0.1", "--ttl", "24h");
    assertEquals(0, hc.exit(), hc::toString);
    SshCertificateAuthority sshCa = SshCertificateAuthority.load(ca.resolve("ssh_ca"), Clock.systemUTC());
    JitBroker broker = JitBroker.builder()
        .policy(PolicyEngine.of(PolicyLoader.load(Path.of(System.getProperty("kubejit.projectRoot", ".."))
            .resolve("jit-policy/src/test/resources/policies/payments-oncall.yaml"))))
        .store(RequestStore.inMemory()).auditSink(AuditSink.inMemory()).rbacProvisioner(RbacProvisioner.inMemory())
        .credentialIssuer(GrantCredentialIssuer.builder().issuer(sshCa.forGrants()).build()).build();
    return new SshGatewayFixture(dir, ca, hc.out().strip(), sshCa, broker);
  }

  /** The CA's public key file, for {@code kubejit ssh config --ca-public-key}. */
  Path caPublicKey() {
    return ca.resolve("ssh_ca.pub");
  }

  /** Alice's logs grant in payments (role oncall-debug), activated with an SSH certificate for {@code publicKeyLine}. */
  Activation activateAlice(String publicKeyLine, String ticket) {
    Identity alice = Identity.of("alice", "oncall-payments");
    RequestRecord r = broker.submit(AccessRequest.builder().requester(alice).role("oncall-debug").action(Action.LOGS)
        .scope(Scope.namespace("prod", "payments")).ticket(ticket).justification("ssh gateway test").build());
    return broker.activate(r.id(), alice, CredentialSpec.sshUserCertificate(publicKeyLine, Map.of()));
  }

  /** A gateway on a free loopback port for cluster "prod", trusting the CA, with the certified host key. */
  SshGateway startGateway() {
    return SshGateway.builder().cluster("prod").broker(broker).auditSink(AuditSink.inMemory())
        .trustedUserCa(sshCa.publicKeyLine()).hostKeyFile(dir.resolve("host")).hostCertificate(hostCertificate)
        .kubernetes("https://127.0.0.1:1", "").recordings(dir.resolve("recordings")).listen("127.0.0.1", 0).start();
  }
}
