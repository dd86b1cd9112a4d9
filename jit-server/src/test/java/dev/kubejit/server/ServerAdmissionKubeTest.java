package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kubejit.admission.RevocationAuthorizer;
import dev.kubejit.admission.WebhookManifest;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import dev.kubejit.testing.Kubectl;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kubejit serve} with an {@code admission} section, and a real API server (its own control
 * plane, started with {@code Node,Webhook,RBAC} and 1 s authorization caches) whose exec and RBAC
 * admission webhooks and authorization webhook all point at the server's TLS listener. A grant
 * made through the server's HTTP API is decided by the webhooks from the server's own store; its
 * revocation through the API reaches the webhooks' grant cache through the broker's notification.
 */
@KubeTest
class ServerAdmissionKubeTest {
  private static final String NS = "payments";
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path dir;

  private static Kubectl.Result exec(Path kc, String... argv) throws Exception {
    String[] args = new String[argv.length + 5];
    System.arraycopy(new String[] {"-n", NS, "exec", "web", "--"}, 0, args, 0, 5);
    System.arraycopy(argv, 0, args, 5, argv.length);
    return Kubectl.run(kc, null, args);
  }

  @Test
  void theServersWebhooksDecideExecRbacWritesAndRevokedGrants() throws Exception {
    TestBroker.prepare(dir);
    int port = TestBroker.freePort();
    String caPem = Files.readString(dir.resolve("tls/ca.crt"));
    Path authz = dir.resolve("authz.kubeconfig");
    Files.writeString(authz, RevocationAuthorizer.apiServerKubeconfig(URI.create("https://127.0.0.1:" + port
        + "/authorize"), caPem));
    try (KubeControlPlane cp = KubeControlPlane.startWithAuthorizationWebhook(authz, Duration.ofSeconds(1))) {
      Path admin = cp.adminKubeconfig();
      Kubectl.run(admin, null, "create", "namespace", NS).ok();
      Kubectl.run(admin, null, "label", "namespace", NS, "kubejit.dev/exec-admission=enforced").ok();
      Kubectl.run(admin, null, "-n", NS, "run", "web", "--image=registry.invalid/web:1", "--restart=Never").ok();
      String clusters = "clusters:\n  prod:\n    kubeconfig: " + admin + "\n";
      String admission = "admission:\n  cluster: prod\n  grantRefresh: PT2S\n"
          + "  rbac:\n    maxBindingDuration: PT8H\n    allowGroups: [gitops-controllers]\n";
      try (TestBroker broker = TestBroker.prepared(dir, port, clusters, admission)) {
        for (WebhookManifest.Webhook w : WebhookManifest.Webhook.values()) {
          WebhookManifest.Builder m = WebhookManifest.builder().webhook(w)
              .url(URI.create("https://127.0.0.1:" + port + w.defaultPath())).caBundlePem(caPem).timeoutSeconds(5);
          if (w == WebhookManifest.Webhook.EXEC) {
            m.namespaceSelector("kubejit.dev/exec-admission", "enforced");
          }
          Kubectl.run(admin, m.build().yaml(), "apply", "-f", "-").ok();
        }
        try {
          String body = TestBroker.json("role", "oncall-debug", "action", "exec", "namespace", NS,
              "ticket", "INC-17", "reason", "admission through kubejit serve");
          String id = broker.post("/api/v1/requests", "alice;oncall-payments", body).expect(201).json.path("id").asText();
          broker.post("/api/v1/requests/" + id + "/approve", "carol;sre-leads", "").expect(200);
          String group = broker.post("/api/v1/requests/" + id + "/activate", "alice;oncall-payments",
              TestBroker.json("csr", TestBroker.csr("alice"))).expect(200).json.path("grant").path("group").asText();
          Path alice = cp.kubeconfigFor("alice", group);

          // the exec webhook: wait until the API server consults it, then a refused and an allowed command
          long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
          Kubectl.Result refused;
          while (true) {
            refused = exec(alice, "cat", "/etc/shadow");
            if (refused.err().contains("denied the request")) {
              break;
            }
            assertFalse(System.nanoTime() > deadline, "the exec webhook was not consulted within 60 s: " + refused);
            Thread.sleep(200);
          }
          assertTrue(refused.err().contains("admission webhook \"exec.kubejit.dev\" denied the request")
              && refused.err().contains("refused by rule read-logs"), refused::toString);
          Kubectl.Result allowed = exec(alice, "cat", "/var/log/app.log");
          // the pod has no node, so the API server fails the exec after admission let it through
          assertNotEquals(0, allowed.exit());
          assertFalse(allowed.err().contains("denied the request"), allowed::toString);
          Kubectl.Result follow = exec(alice, "tail", "-f", "/var/log/app.log");
          assertFalse(follow.err().contains("denied the request"), "without exec options tail -f passes: " + follow);

          // the RBAC guardrails: a ClusterRole with pods/exec and its binding, by an author off the allow-list
          Path mallory = cp.kubeconfigFor("mallory", "system:masters");
          String pair = String.join("\n", "apiVersion: rbac.authorization.k8s.io/v1", "kind: ClusterRole",
              "metadata: {name: devs-exec}", "rules: [{apiGroups: [\"\"], resources: [pods/exec], verbs: [create]}]",
              "---", "apiVersion: rbac.authorization.k8s.io/v1", "kind: ClusterRoleBinding", "metadata: {name: devs-exec}",
              "subjects: [{kind: Group, name: devs, apiGroup: rbac.authorization.k8s.io}]",
              "roleRef: {kind: ClusterRole, name: devs-exec, apiGroup: rbac.authorization.k8s.io}", "");
          Kubectl.Result rbac = Kubectl.run(mallory, pair, "apply", "-f", "-");
          assertNotEquals(0, rbac.exit(), rbac::toString);
          assertTrue(rbac.err().contains("admission webhook \"rbac.kubejit.dev\" denied the request")
              && rbac.err().contains("pod-exec"), rbac::toString);
          assertEquals(1, Kubectl.run(admin, null, "get", "clusterrolebinding", "devs-exec").exit());

          // per-role ceilings: the broker's binding names its policy role; a copy of it that lives
          // longer than oncall-debug's hour (well within maxBindingDuration PT8H) is refused
          JsonNode made = JSON.readTree(Kubectl.run(admin, null, "-n", NS, "get", "rolebindings", "-l",
              "app.kubernetes.io/managed-by=kubejit", "-o", "json").ok().out()).path("items").get(0);
          assertEquals("oncall-debug", made.path("metadata").path("annotations").path("kubejit.dev/role").asText(),
              made::toString);
          ObjectNode forged = made.deepCopy();
          ObjectNode fm = (ObjectNode) forged.get("metadata");
          fm.remove(List.of("uid", "resourceVersion", "creationTimestamp", "managedFields", "ownerReferences"));
          fm.put("name", "kubejit-forged");
          ((ObjectNode) fm.get("annotations")).put("kubejit.dev/expires-at",
              Instant.now().plus(Duration.ofHours(3)).truncatedTo(ChronoUnit.SECONDS).toString());
          Kubectl.Result tooLong = Kubectl.run(mallory, JSON.writeValueAsString(forged), "create", "-f", "-");
          assertNotEquals(0, tooLong.exit(), tooLong::toString);
          assertTrue(tooLong.err().contains("admission webhook \"rbac.kubejit.dev\" denied the request")
              && tooLong.err().contains("jit-role-expiry-too-long") && tooLong.err().contains("oncall-debug"),
              tooLong::toString);
          ((ObjectNode) fm.get("annotations")).put("kubejit.dev/role", "cluster-admin");
          Kubectl.Result unknownRole = Kubectl.run(mallory, JSON.writeValueAsString(forged), "create", "-f", "-");
          assertTrue(unknownRole.err().contains("jit-unknown-role"), unknownRole::toString);
          assertEquals(1, Kubectl.run(admin, null, "-n", NS, "get", "rolebinding", "kubejit-forged").exit());
          // with the webhook now known to be consulted, a second grant (break-glass, 15 min ceiling) is
          // provisioned by the broker through it
          String bg = broker.post("/api/v1/requests", "carol;sre-leads", TestBroker.json("role", "break-glass",
              "action", "logs", "namespace", NS, "reason", "ceilings admit the broker")).expect(201).json.path("id")
              .asText();
          broker.post("/api/v1/requests/" + bg + "/activate", "carol;sre-leads",
              TestBroker.json("csr", TestBroker.csr("carol"))).expect(200);
          JsonNode bindings = JSON.readTree(Kubectl.run(admin, null, "-n", NS, "get", "rolebindings", "-l",
              "app.kubernetes.io/managed-by=kubejit", "-o", "json").ok().out()).path("items");
          assertEquals(2, bindings.size(), bindings::toString);
          boolean breakGlass = false;
          for (JsonNode b : bindings) {
            breakGlass |= "break-glass".equals(b.path("metadata").path("annotations").path("kubejit.dev/role").asText());
          }
          assertTrue(breakGlass, bindings::toString);

          // revocation through the server's API: the next request of any kind is refused
          Kubectl.run(alice, null, "-n", NS, "get", "pods").ok();
          long t0 = System.nanoTime();
          broker.post("/api/v1/requests/" + id + "/revoke", "alice;oncall-payments", TestBroker.json("reason", "done"))
              .expect(200);
          Kubectl.Result gone = exec(alice, "cat", "/var/log/app.log");
          assertTrue(gone.err().contains("denied the request") || gone.err().contains("Forbidden"), gone::toString);
          Kubectl.Result list = Kubectl.run(alice, null, "-n", NS, "get", "pods");
          long millis = (System.nanoTime() - t0) / 1_000_000;
          assertNotEquals(0, list.exit(), list::toString);
          assertTrue(list.err().contains("Forbidden"), list::toString);
          System.out.println("kubejit serve: revoke -> exec and get pods both refused within " + millis + " ms");
          // a user without a grant gets no opinion from the authorization webhook
          Kubectl.run(admin, null, "-n", NS, "get", "pods").ok();
        } finally {
          for (WebhookManifest.Webhook w : WebhookManifest.Webhook.values()) {
            Kubectl.run(admin, null, "delete", "validatingwebhookconfiguration", w.defaultConfigurationName(),
                "--ignore-not-found");
          }
        }
      }
    }
  }
}
