package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import dev.kubejit.testing.Kubectl;
import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kubejit serve with the Kubernetes store on the real control plane: requests become AccessRequest
 * resources, and the replica takes the expiry Lease in the store's namespace (leader election) and
 * gives it up when it stops.
 */
@KubeTest
class ServerKubernetesStoreKubeTest {
  @TempDir Path dir;

  private static Path deploy(String file) {
    String root = System.getProperty("kubejit.projectRoot");
    return (root == null ? Path.of("..") : Path.of(root)).resolve("deploy").resolve(file).toAbsolutePath().normalize();
  }

  private static String holder(KubeControlPlane cp, String ns) throws Exception {
    Kubectl.Result r = Kubectl.run(cp.adminKubeconfig(), null, "-n", ns, "get", "lease", "kubejit-broker-expiry",
        "-o", "jsonpath={.spec.holderIdentity}");
    return r.exit() == 0 ? r.out().strip() : "";
  }

  @Test
  void requestsAreCustomResourcesAndExpiryIsLeaderElected(KubeControlPlane cp) throws Exception {
    Kubectl.run(cp.adminKubeconfig(), null, "apply", "-f", deploy("crd-accessrequests.yaml").toString()).ok();
    Kubectl.run(cp.adminKubeconfig(), null, "wait", "--for=condition=Established", "--timeout=60s",
        "crd/accessrequests.kubejit.dev").ok();
    String ns = "serve-" + UUID.randomUUID().toString().substring(0, 8);
    Kubectl.run(cp.adminKubeconfig(), null, "create", "namespace", ns).ok();
    String store = "store:\n  kubernetes:\n    namespace: " + ns + "\n    kubeconfig: " + cp.adminKubeconfig() + "\n";
    String id;
    try (TestBroker broker = TestBroker.withStore(dir, store, "")) {
      String body = TestBroker.json("role", "oncall-debug", "action", "exec", "cluster", "prod", "namespace", "payments",
          "ticket", "INC-6", "reason", "k8s store");
      id = broker.post("/api/v1/requests", "alice;oncall-payments", body).expect(201).json.path("id").asText();
      broker.post("/api/v1/requests/" + id + "/approve", "carol;sre-leads", "").expect(200);
      assertEquals("APPROVED", broker.get("/api/v1/requests/" + id, "alice;oncall-payments").json.path("state").asText());
      String listed = Kubectl.run(cp.adminKubeconfig(), null, "-n", ns, "get", "accessrequests", "-o", "name").out();
      assertTrue(listed.contains(id), listed);

      long deadline = System.nanoTime() + 60_000_000_000L;
      String h = holder(cp, ns);
      while (!h.startsWith("kubejit-") && System.nanoTime() < deadline) {
        Thread.sleep(200);
        h = holder(cp, ns);
      }
      assertTrue(h.startsWith("kubejit-"), "the replica did not take the expiry Lease: \"" + h + "\"");
    }
    assertEquals("", holder(cp, ns), "closing the replica releases the Lease");
  }
}
