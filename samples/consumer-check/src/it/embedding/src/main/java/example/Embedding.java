package example;

import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.Activation;
import dev.kubejit.api.Decision;
import dev.kubejit.api.Identity;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.Scope;
import dev.kubejit.api.Use;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.audit.AuditKeys;
import dev.kubejit.audit.AuditVerifier;
import dev.kubejit.audit.FileAuditSink;
import dev.kubejit.audit.VerificationResult;
import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.credentials.EngineerKey;
import dev.kubejit.credentials.GrantCredentialIssuer;
import dev.kubejit.credentials.KeyType;
import dev.kubejit.credentials.X509Issuer;
import dev.kubejit.policy.PolicyEngine;
import dev.kubejit.policy.PolicyLoader;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

/** The path of docs/embedding.md, step by step; the doc shows the part between the markers. */
public final class Embedding {
  /** What one run produced, for the test to check. */
  public static final class Outcome {
    public final Decision allowed;
    public final Decision denied;
    public final String certificatePem;
    public final VerificationResult audit;

    Outcome(Decision allowed, Decision denied, String certificatePem, VerificationResult audit) {
      this.allowed = allowed;
      this.denied = denied;
      this.certificatePem = certificatePem;
      this.audit = audit;
    }
  }

  private Embedding() {}

  /** Runs the whole path in {@code dir}, which holds {@code policy.yaml}. */
  public static Outcome run(Path dir) throws Exception {
    // --8<-- [embedding]
    Clock clock = Clock.systemUTC();
    // 1. The broker's keys: an audit signing key and the CA the API server trusts for client certs.
    KeyPair auditKey = AuditKeys.generate();
    AuditKeys.writePublicKey(auditKey.getPublic(), dir.resolve("audit-signing.pub"));
    CertificateAuthority clientCa =
        CertificateAuthority.builder().keyType(KeyType.ED25519).commonName("kubejit-client-ca").validity(Duration.ofDays(90)).clock(clock).generate();

    // 2. Wire the broker: reviewed policy file, signed hash-chained audit log, X.509 issuer.
    FileAuditSink audit = FileAuditSink.builder(dir.resolve("audit.jsonl"))
        .signingKey(auditKey).clock(clock).open();
    JitBroker broker = JitBroker.builder()
        .clock(clock)
        .policy(PolicyEngine.of(PolicyLoader.load(dir.resolve("policy.yaml"), "rev-1")))
        .store(RequestStore.inMemory())
        .auditSink(audit)
        .rbacProvisioner(RbacProvisioner.inMemory()) // KubernetesRbacProvisioner on a cluster
        .credentialIssuer(GrantCredentialIssuer.builder()
            .x509(X509Issuer.builder().authority(clientCa).clock(clock).build())
            .clock(clock).build())
        .build();

    // 3. The engineer asks; an approver approves (never the requester).
    Identity alice = Identity.of("alice", List.of("oncall-payments")).assertedBy("oidc");
    RequestRecord req = broker.submit(AccessRequest.builder().requester(alice)
        .role("oncall-debug").action(Action.EXEC).scope(Scope.namespace("prod", "payments"))
        .duration(Duration.ofMinutes(30)).ticket("INC-42").justification("500s on /pay").build());
    broker.approve(req.id(), Identity.of("carol", List.of("sre-leads")).assertedBy("oidc"), "go");

    // 4. On the engineer's machine: a key that never leaves it, and a CSR for the broker.
    EngineerKey key = EngineerKey.create(KeyType.ED25519, dir.resolve("alice.key"));
    Activation a = broker.activate(req.id(), alice, key.csrSpec());
    String certificatePem = a.credentials().get(0).material(); // kubeconfig: see docs/credentials.md

    // 5. Every command in the session is checked against the policy.
    Decision allowed = broker.authorize(a.grant().id(), alice, Use.commandLine("cat /var/log/app.log"));
    Decision denied = broker.authorize(a.grant().id(), alice, Use.commandLine("cat /etc/shadow"));
    broker.revoke(req.id(), alice, "done");
    audit.close(); // at shutdown: seals the log with a signed checkpoint

    // 6. Anyone with the public key can check that the log is complete and unaltered.
    VerificationResult result = AuditVerifier
        .withPublicKey(AuditKeys.readPublicKey(dir.resolve("audit-signing.pub")))
        .verify(List.of(dir.resolve("audit.jsonl")));
    // --8<-- [embedding]
    return new Outcome(allowed, denied, certificatePem, result);
  }
}
