package dev.kubejit.samples.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.Activation;
import dev.kubejit.api.CredentialSpec;
import dev.kubejit.api.Grant;
import dev.kubejit.api.Identity;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.NotificationType;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.Scope;
import dev.kubejit.api.Use;
import dev.kubejit.api.spi.InMemoryNotifier;
import dev.kubejit.api.spi.Notifier;
import dev.kubejit.audit.AuditCorrelator;
import dev.kubejit.audit.AuditKeys;
import dev.kubejit.audit.AuditVerifier;
import dev.kubejit.audit.FileAuditSink;
import dev.kubejit.audit.VerificationResult;
import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.credentials.Kubeconfig;
import dev.kubejit.policy.Policy;
import dev.kubejit.policy.PolicyFormat;
import dev.kubejit.policy.PolicyLoader;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.util.ClientBuilder;
import io.kubernetes.client.util.KubeConfig;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every module together against a real kube-apiserver: policy file → approval → RBAC applied and
 * verified → certificate for the engineer's own key → real API calls → command checks → revoke →
 * access gone → signed audit log verifies → correlation with the API server's audit log.
 */
@KubeTest
class KubernetesBrokerTest {
  private static final String NS = "payments-e2e";
  private static final String POLICY = String.join("\n",
      "apiVersion: kubejit.dev/v1",
      "kind: AccessPolicy",
      "metadata: {name: e2e}",
      "roles:",
      "- name: oncall-debug",
      "  requesters: [oncall-payments]",
      "  namespaces: [" + NS + "]",
      "  defaultDuration: PT30M",
      "  maxDuration: PT1H",
      "  justification: {required: true, ticketPattern: '^INC-[0-9]+$'}",
      "  rbac: {template: oncall-debug}",
      "  actions:",
      "    logs: {approval: auto}",
      "    exec: {approval: manual, approvers: [sre-leads], minApprovals: 1}",
      "  commands:",
      "    allow:",
      "    - {id: read-logs, command: cat, operands: ['path+'], paths: [/var/log/]}",
      "");

  @TempDir Path dir;

  @Test
  void wholeLifecycleAgainstTheApiServer(KubeControlPlane cp) throws Exception {
    ApiClient admin = cp.adminClient();
    new CoreV1Api(admin).createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name(NS))).execute();
    Policy policy = PolicyLoader.parse(POLICY.getBytes(StandardCharsets.UTF_8), PolicyFormat.YAML, "e2e.yaml", "rev-1");
    KeyPair auditKey = AuditKeys.generate();
    Path log = dir.resolve("audit.jsonl");
    CertificateAuthority clusterCa = CertificateAuthority.fromPem(cp.caCertificatePem(), cp.caPrivateKeyPem());
    InMemoryNotifier chat = Notifier.inMemory();
    Identity alice = Identity.of("alice-e2e", List.of("oncall-payments")).assertedBy("test-idp");
    Identity carol = Identity.of("carol-e2e", List.of("sre-leads")).assertedBy("test-idp");
    KeyPair aliceKey = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();

    Grant grant;
    try (FileAuditSink audit = FileAuditSink.builder(log).signingKey(auditKey).open()) {
      JitBroker broker = KubernetesBroker.wire(admin, policy, RequestStore.inMemory(), audit, clusterCa,
          chat, Clock.systemUTC());
      RequestRecord r = broker.submit(AccessRequest.builder().requester(alice).role("oncall-debug")
          .action(Action.EXEC).scope(Scope.namespace("test", NS)).duration(Duration.ofMinutes(45))
          .ticket("INC-7").justification("thread dump").build());
      assertEquals(RequestState.PENDING_APPROVAL, r.state());
      assertEquals(RequestState.APPROVED, broker.approve(r.id(), carol, "ok").state());
      Activation a = broker.activate(r.id(), alice, CredentialSpec.x509FromCsr(csr(aliceKey, "CN=alice-e2e")));
      grant = a.grant();
      ApiClient asAlice = client(cp, a.credentials().get(0).material(), aliceKey);

      new CoreV1Api(asAlice).listNamespacedPod(NS).execute();
      assertEquals(403, assertThrows(ApiException.class,
          () -> new CoreV1Api(asAlice).listNamespacedSecret(NS).execute()).getCode());
      assertEquals(403, assertThrows(ApiException.class,
          () -> new CoreV1Api(asAlice).listNamespacedPod("default").execute()).getCode());

      assertTrue(broker.authorize(grant.id(), alice, Use.commandLine("cat /var/log/app.log")).isAllowed());
      assertFalse(broker.authorize(grant.id(), alice, Use.commandLine("cat /etc/shadow")).isAllowed());

      assertEquals(RequestState.REVOKED, broker.revoke(r.id(), alice, "done").state());
      long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
      int code = 200;
      while (System.nanoTime() < deadline) {
        try {
          new CoreV1Api(asAlice).listNamespacedPod(NS).execute();
          Thread.sleep(200);
        } catch (ApiException e) {
          code = e.getCode();
          break;
        }
      }
      assertEquals(403, code, "deleting the binding revokes the certificate's access");
      assertEquals(1, chat.notifications(NotificationType.REVOKED).size());
    }

    VerificationResult verified = AuditVerifier.withPublicKey(auditKey.getPublic()).verify(List.of(log));
    assertEquals(VerificationResult.Status.SEALED, verified.status(), verified.message());

    cp.awaitAuditEvents(dev.kubejit.audit.KubeAuditEvent::parse, (dev.kubejit.audit.KubeAuditEvent e) -> "alice-e2e".equals(e.username()) && "secrets".equals(e.resource()), Duration.ofSeconds(10));
    AuditCorrelator.Result result = AuditCorrelator.correlate(List.of(log), List.of(cp.auditLogPath()));
    AuditCorrelator.GrantUsage usage = result.grants().stream()
        .filter(g -> g.grantId().equals(grant.id().value())).findFirst().orElseThrow();
    assertTrue(usage.calls().stream().anyMatch(c -> "list".equals(c.verb()) && "pods".equals(c.resource())
        && NS.equals(c.namespace()) && c.code() == 200), usage.calls().toString());
    assertTrue(usage.calls().stream().anyMatch(c -> "secrets".equals(c.resource()) && c.code() == 403),
        usage.calls().toString());
    assertTrue(result.outside().stream().anyMatch(c -> "alice-e2e".equals(c.user()) && c.code() == 403
        && "pods".equals(c.resource())), "the call after revocation is outside the grant's window");
  }

  private static String csr(KeyPair kp, String subject) throws Exception {
    byte[] der = new JcaPKCS10CertificationRequestBuilder(new X500Name(subject), kp.getPublic())
        .build(new JcaContentSignerBuilder("Ed25519").build(kp.getPrivate())).getEncoded();
    return pem("CERTIFICATE REQUEST", der);
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  private static ApiClient client(KubeControlPlane cp, String certPem, KeyPair key) throws Exception {
    String yaml = Kubeconfig.builder().server(cp.serverUrl()).certificateAuthorityPem(cp.caCertificatePem())
        .clientCertificate(certPem, pem("PRIVATE KEY", key.getPrivate().getEncoded())).build().yaml();
    return ClientBuilder.kubeconfig(KubeConfig.loadKubeConfig(new StringReader(yaml))).build();
  }
}
