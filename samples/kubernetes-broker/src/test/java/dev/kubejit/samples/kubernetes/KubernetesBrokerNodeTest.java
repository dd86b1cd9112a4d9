package dev.kubejit.samples.kubernetes;

import dev.kubejit.testing.Kubectl;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.Activation;
import dev.kubejit.api.CredentialSpec;
import dev.kubejit.api.Identity;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.Scope;
import dev.kubejit.api.spi.Notifier;
import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.audit.AuditKeys;
import dev.kubejit.audit.FileAuditSink;
import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.credentials.Kubeconfig;
import dev.kubejit.policy.Policy;
import dev.kubejit.policy.PolicyFormat;
import dev.kubejit.policy.PolicyLoader;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeNode;
import dev.kubejit.testing.KubeTest;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole path into a running container: alice's JIT X.509 certificate (signed for her own key
 * after carol's approval) in a kubeconfig, the preinstalled kubectl, the API server's RBAC, a real
 * kubelet, containerd and runc. What the grant allows works; the rest, and everything after revoke,
 * is forbidden by the API server.
 */
@KubeTest
class KubernetesBrokerNodeTest {
  private static final String NS = "payments-node";
  private static final String OTHER_NS = "billing-node";
  private static final String APP_LOG = "2026-12-01T10:00:00Z ERROR charge ch_42 declined\n";
  private static final String POLICY = String.join("\n",
      "apiVersion: kubejit.dev/v1",
      "kind: AccessPolicy",
      "metadata: {name: node-e2e}",
      "roles:",
      "- name: oncall-debug",
      "  requesters: [oncall-payments]",
      "  namespaces: [" + NS + "]",
      "  defaultDuration: PT30M",
      "  maxDuration: PT1H",
      "  justification: {required: true, ticketPattern: '^INC-[0-9]+$'}",
      "  rbac: {template: oncall-debug}",
      "  actions:",
      "    exec: {approval: manual, approvers: [sre-leads], minApprovals: 1}",
      "  commands:",
      "    allow:",
      "    - {id: read-logs, command: cat, operands: ['path+'], paths: [/var/log/]}",
      "");

  @TempDir Path dir;

  @BeforeAll
  static void pods(KubeNode node) {
    node.runPod(NS, "app", Map.of("/var/log/app.log", APP_LOG));
    node.runPod(OTHER_NS, "app", Map.of("/var/log/app.log", "billing secrets\n"));
    node.runPod(NS, "checkout-0", Map.of("/var/log/app.log", "checkout-0 log\n"));
    node.runPod(NS, "checkout-1", Map.of("/var/log/app.log", "checkout-1 log\n"));
  }

  @Test
  void execLogsAndPortForwardWorkInTheGrantedNamespaceOnlyAndStopAtRevoke(KubeControlPlane cp) throws Exception {
    try (FileAuditSink audit = FileAuditSink.builder(dir.resolve("audit.jsonl")).signingKey(AuditKeys.generate()).open()) {
      JitBroker broker = broker(cp, audit);
      Session s = activate(cp, broker, Scope.namespace("test", NS), "alice-node");

      Kubectl.Result cat = Kubectl.run(s.kubeconfig, null, "exec", "-n", NS, "app", "--", "cat", "/var/log/app.log");
      assertEquals(0, cat.exit(), cat.err());
      assertEquals(APP_LOG, cat.out());
      assertTrue(broker.authorize(s.grantId(), s.who(), dev.kubejit.api.Use.commandLine("cat /var/log/app.log")).isAllowed());

      Kubectl.Result logs = Kubectl.run(s.kubeconfig, null, "logs", "-n", NS, "app");
      assertEquals(0, logs.exit(), logs.err());
      assertTrue(logs.out().contains("kubejit test pod app serving on :8080"), logs.out());

      try (Kubectl.PortForward pf = Kubectl.portForward(s.kubeconfig, dir, NS, "pod/app", 8080)) {
        assertEquals("kubejit test pod " + NS + "/app\n", httpGet(pf.localPort()));
      }

      for (List<String> call : List.of(
          List.of("exec", "-n", OTHER_NS, "app", "--", "cat", "/var/log/app.log"),
          List.of("logs", "-n", OTHER_NS, "app"))) {
        Kubectl.Result r = Kubectl.run(s.kubeconfig, null, call.toArray(String[]::new));
        assertForbidden(r, call);
        assertTrue(!r.out().contains("billing secrets"), r.out());
      }
      assertForbiddenPortForward(s.kubeconfig, OTHER_NS, "pod/app");

      assertEquals(RequestState.REVOKED, broker.revoke(s.requestId, s.who(), "done").state());
      List<String> exec = List.of("exec", "-n", NS, "app", "--", "cat", "/var/log/app.log");
      Kubectl.Result after = awaitForbidden(s.kubeconfig, exec);
      assertForbidden(after, exec);
      assertForbidden(Kubectl.run(s.kubeconfig, null, "logs", "-n", NS, "app"), List.of("logs after revoke"));
      assertForbiddenPortForward(s.kubeconfig, NS, "pod/app");
    }
  }

  @Test
  void aPodPinnedGrantReachesThatPodAndNoOther(KubeControlPlane cp) throws Exception {
    try (FileAuditSink audit = FileAuditSink.builder(dir.resolve("audit.jsonl")).signingKey(AuditKeys.generate()).open()) {
      JitBroker broker = broker(cp, audit);
      Session s = activate(cp, broker, Scope.namespace("test", NS).withPod("checkout-0"), "alice-pinned");

      Kubectl.Result allowed = Kubectl.run(s.kubeconfig, null, "exec", "-n", NS, "checkout-0", "--", "cat", "/var/log/app.log");
      assertEquals(0, allowed.exit(), allowed.err());
      assertEquals("checkout-0 log\n", allowed.out());
      Kubectl.Result logs = Kubectl.run(s.kubeconfig, null, "logs", "-n", NS, "checkout-0");
      assertEquals(0, logs.exit(), logs.err());

      List<String> other = List.of("exec", "-n", NS, "checkout-1", "--", "cat", "/var/log/app.log");
      Kubectl.Result denied = Kubectl.run(s.kubeconfig, null, other.toArray(String[]::new));
      assertForbidden(denied, other);
      assertTrue(!denied.out().contains("checkout-1 log"), denied.out());
      assertForbidden(Kubectl.run(s.kubeconfig, null, "logs", "-n", NS, "checkout-1"), List.of("logs checkout-1"));
      assertForbiddenPortForward(s.kubeconfig, NS, "pod/checkout-1");
      broker.revoke(s.requestId, s.who(), "done");
    }
  }

  // ---------------------------------------------------------------- helpers

  private record Session(dev.kubejit.api.RequestId requestId, dev.kubejit.api.GrantId grantId, Identity who, Path kubeconfig) {}

  private JitBroker broker(KubeControlPlane cp, FileAuditSink audit) throws Exception {
    Policy policy = PolicyLoader.parse(POLICY.getBytes(UTF_8), PolicyFormat.YAML, "node-e2e.yaml", "rev-1");
    CertificateAuthority clusterCa = CertificateAuthority.fromPem(cp.caCertificatePem(), cp.caPrivateKeyPem());
    return KubernetesBroker.wire(cp.adminClient(), policy, RequestStore.inMemory(), audit, clusterCa,
        Notifier.inMemory(), Clock.systemUTC());
  }

  /** alice asks, carol approves, alice activates with a CSR for her own key; a 0600 kubeconfig for kubectl. */
  private Session activate(KubeControlPlane cp, JitBroker broker, Scope scope, String user) throws Exception {
    Identity alice = Identity.of(user, List.of("oncall-payments")).assertedBy("test-idp");
    Identity carol = Identity.of("carol-" + user, List.of("sre-leads")).assertedBy("test-idp");
    KeyPair key = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    RequestRecord r = broker.submit(AccessRequest.builder().requester(alice).role("oncall-debug")
        .action(Action.EXEC).scope(scope).duration(Duration.ofMinutes(30))
        .ticket("INC-9").justification("checkout errors").build());
    assertEquals(RequestState.APPROVED, broker.approve(r.id(), carol, "ok").state());
    Activation a = broker.activate(r.id(), alice, CredentialSpec.x509FromCsr(csr(key, "CN=" + user)));
    Path kubeconfig = dir.resolve(user + ".kubeconfig");
    Kubeconfig.builder().server(cp.serverUrl()).certificateAuthorityPem(cp.caCertificatePem())
        .clientCertificate(a.credentials().get(0).material(), pem("PRIVATE KEY", key.getPrivate().getEncoded()))
        .build().writeTo(kubeconfig);
    return new Session(r.id(), a.grant().id(), alice, kubeconfig);
  }

  private static Kubectl.Result awaitForbidden(Path kubeconfig, List<String> call) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    Kubectl.Result r;
    do {
      r = Kubectl.run(kubeconfig, null, call.toArray(String[]::new));
      if (r.exit() != 0) {
        return r;
      }
      Thread.sleep(200);
    } while (System.nanoTime() < deadline);
    return r;
  }

  private static void assertForbidden(Kubectl.Result r, List<String> call) {
    assertNotEquals(0, r.exit(), call + " succeeded: " + r.out());
    assertTrue(r.err().contains("Forbidden") || r.err().contains("forbidden"), call + ": " + r.err());
  }

  private void assertForbiddenPortForward(Path kubeconfig, String ns, String target) throws Exception {
    IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
        () -> Kubectl.portForward(kubeconfig, dir, ns, target, 8080).close());
    assertTrue(e.getMessage().toLowerCase(java.util.Locale.ROOT).contains("forbidden"), e.getMessage());
  }

  private static String httpGet(int port) throws IOException, InterruptedException {
    HttpResponse<String> r = HttpClient.newBuilder().proxy(HttpClient.Builder.NO_PROXY).build().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/")).timeout(Duration.ofSeconds(20)).build(),
        HttpResponse.BodyHandlers.ofString(UTF_8));
    assertEquals(200, r.statusCode());
    return r.body();
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
}
