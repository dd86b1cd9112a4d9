package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kubejit.server.TestBroker.Reply;
import dev.kubejit.testing.KubeControlPlane;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.apis.RbacAuthorizationV1Api;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kubejit serve} (its real wiring: SQLite store, RBAC through the Kubernetes API, the expiry
 * sweep every 5 s) against a control plane of the test's own whose kube-apiserver is stopped and
 * started again: activation fails closed with 503 {@code provisioning_unavailable} and records
 * nothing, and succeeds once afterwards with exactly one binding; a revocation during the outage is
 * answered 202 REVOKING and the sweep removes the binding and records REVOKED once the API server
 * is back.
 */
@Tag("kube")
class ApiServerOutageFaultTest {
  private static final String ALICE = "alice;oncall-payments";
  static KubeControlPlane cp;
  static RbacAuthorizationV1Api rbac;
  @TempDir Path dir;

  @BeforeAll
  static void controlPlane() throws Exception {
    cp = KubeControlPlane.start();
    new CoreV1Api(cp.adminClient()).createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name("payments")))
        .execute();
    rbac = new RbacAuthorizationV1Api(cp.adminClient());
  }

  @AfterAll
  static void stop() {
    if (cp != null) {
      cp.close();
    }
  }

  private TestBroker broker() throws Exception {
    return TestBroker.withClusters(dir, "clusters:\n  prod:\n    kubeconfig: " + cp.adminKubeconfig() + "\n");
  }

  /** The grant's KubeJIT-managed RoleBindings and Roles in payments, counted by the API server. */
  private static int rbacObjectsOf(String grantId) throws ApiException {
    String selector = "app.kubernetes.io/managed-by=kubejit,kubejit.dev/grant-id=" + grantId;
    return rbac.listNamespacedRoleBinding("payments").labelSelector(selector).execute().getItems().size()
        + rbac.listNamespacedRole("payments").labelSelector(selector).execute().getItems().size();
  }

  private static int managedBindings() throws ApiException {
    return rbac.listNamespacedRoleBinding("payments").labelSelector("app.kubernetes.io/managed-by=kubejit").execute()
        .getItems().size();
  }

  private static String submitLogs(TestBroker b) throws Exception {
    String body = TestBroker.json("role", "oncall-debug", "action", "logs", "namespace", "payments",
        "ticket", "INC-22", "reason", "api server outage");
    return b.post("/api/v1/requests", ALICE, body).expect(201).json.path("id").asText();
  }

  private static String state(TestBroker b, String id) throws Exception {
    return b.get("/api/v1/requests/" + id, ALICE).expect(200).json.path("state").asText();
  }

  @Test
  void activationDuringTheOutageFailsClosedAndSucceedsOnceAfterIt() throws Exception {
    try (TestBroker b = broker()) {
      String id = submitLogs(b);
      int before = managedBindings();
      cp.stopApiServer();
      Reply refused;
      long t0 = System.nanoTime();
      try {
        refused = b.post("/api/v1/requests/" + id + "/activate", ALICE,
            TestBroker.json("csr", TestBroker.csr("alice"))).expectError(503, "provisioning_unavailable");
      } finally {
        cp.startApiServer();
      }
      System.out.println("MEASURED activation refused during API server outage after "
          + Duration.ofNanos(System.nanoTime() - t0).toMillis() + " ms (the provisioner's retries)");
      assertTrue(refused.message().contains("nothing was granted"), refused.body);
      assertTrue(!refused.body.contains("127.0.0.1"), "no address in the answer: " + refused.body);
      assertEquals("APPROVED", state(b, id), "nothing recorded as active");
      assertEquals(0, b.get("/api/v1/grants?active=true", ALICE).expect(200).json.path("items").size());
      assertEquals(before, managedBindings(), "no binding left behind by the failed activation");

      JsonNode act = b.post("/api/v1/requests/" + id + "/activate", ALICE,
          TestBroker.json("csr", TestBroker.csr("alice"))).expect(200).json;
      String grant = act.path("grant").path("id").asText();
      assertEquals("ACTIVE", state(b, id));
      assertEquals(2, rbacObjectsOf(grant), "exactly one Role and one RoleBinding");
      assertEquals(before + 1, managedBindings(), "one binding, not two");
      b.post("/api/v1/requests/" + id + "/activate", ALICE, TestBroker.json("csr", TestBroker.csr("alice")))
          .expectError(409, "conflict");
      assertEquals(before + 1, managedBindings(), "activating twice grants nothing twice");
      b.post("/api/v1/requests/" + id + "/revoke", ALICE, TestBroker.json("reason", "done")).expect(200);
      assertEquals(0, rbacObjectsOf(grant));
    }
  }

  @Test
  void revocationDuringTheOutageIsRevokingUntilTheSweepRemovesTheBinding() throws Exception {
    try (TestBroker b = broker()) {
      String id = submitLogs(b);
      String grant = b.post("/api/v1/requests/" + id + "/activate", ALICE,
          TestBroker.json("csr", TestBroker.csr("alice"))).expect(200).json.path("grant").path("id").asText();
      assertEquals(2, rbacObjectsOf(grant));

      cp.stopApiServer();
      long restarted;
      try {
        Reply r = b.post("/api/v1/requests/" + id + "/revoke", ALICE,
            TestBroker.json("reason", "laptop lost")).expect(202);
        assertEquals("REVOKING", r.json.path("state").asText(), r.body);
        assertEquals("REVOKED", r.json.path("ended").path("cause").asText(), r.body);
        assertEquals("laptop lost", r.json.path("ended").path("reason").asText(), r.body);
        // Reported as revoking, used by nobody, while the sweep (every 5 s) keeps failing.
        Thread.sleep(12_000);
        assertEquals("REVOKING", state(b, id));
        assertEquals(0, b.get("/api/v1/grants?active=true", ALICE).expect(200).json.path("items").size());
        b.post("/api/v1/grants/" + grant + "/credentials", ALICE, TestBroker.json("csr", TestBroker.csr("alice")))
            .expectError(409, "grant_ended");
      } finally {
        cp.startApiServer();
        restarted = System.nanoTime();
      }
      long deadline = restarted + Duration.ofSeconds(90).toNanos();
      while (!"REVOKED".equals(state(b, id))) {
        assertTrue(System.nanoTime() < deadline, "not REVOKED within 90 s of the restart");
        Thread.sleep(100);
      }
      long ms = Duration.ofNanos(System.nanoTime() - restarted).toMillis();
      System.out.println("MEASURED API server ready -> grant REVOKED (binding deleted by the sweep, every 5 s): "
          + ms + " ms");
      assertEquals(0, rbacObjectsOf(grant), "the binding is gone");
      JsonNode rec = b.get("/api/v1/requests/" + id, ALICE).expect(200).json;
      assertEquals("laptop lost", rec.path("ended").path("reason").asText());
      assertEquals("alice", rec.path("ended").path("by").asText());
    }
  }
}
