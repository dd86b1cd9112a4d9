package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kubejit.server.TestBroker.Reply;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.RbacAuthorizationV1Api;
import io.kubernetes.client.openapi.models.V1RoleBinding;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kubejit serve against the real control plane: a cluster in kubejit.yaml, activation over HTTPS
 * creates the grant's Role and RoleBinding, revocation removes them, and /api/v1/clusters tells
 * clients the API server and its CA.
 */
@KubeTest
class ServerRbacKubeTest {
  @TempDir Path dir;

  private static Optional<V1RoleBinding> bindingFor(RbacAuthorizationV1Api rbac, String ns, String group) throws ApiException {
    for (V1RoleBinding rb : rbac.listNamespacedRoleBinding(ns).execute().getItems()) {
      if (rb.getSubjects() != null && rb.getSubjects().stream().anyMatch(s -> group.equals(s.getName()))) {
        return Optional.of(rb);
      }
    }
    return Optional.empty();
  }

  @Test
  void activationProvisionsAndRevocationRemovesRbac(KubeControlPlane cp) throws Exception {
    cp.ensureNamespace("payments");
    String clusters = "clusters:\n  prod:\n    kubeconfig: " + cp.adminKubeconfig() + "\n";
    try (TestBroker broker = TestBroker.withClusters(dir, clusters)) {
      JsonNode cl = broker.get("/api/v1/clusters", "alice;oncall-payments").expect(200).json.path("items");
      assertEquals(1, cl.size());
      assertEquals("prod", cl.get(0).path("name").asText());
      assertEquals(cp.serverUrl(), cl.get(0).path("server").asText());
      assertTrue(cl.get(0).path("certificateAuthorityData").asText().length() > 100);

      String body = TestBroker.json("role", "oncall-debug", "action", "exec", "namespace", "payments",
          "ticket", "INC-5", "reason", "rbac");
      String id = broker.post("/api/v1/requests", "alice;oncall-payments", body).expect(201).json.path("id").asText();
      broker.post("/api/v1/requests/" + id + "/approve", "carol;sre-leads", "").expect(200);
      Reply act = broker.post("/api/v1/requests/" + id + "/activate", "alice;oncall-payments",
          TestBroker.json("csr", TestBroker.csr("alice"))).expect(200);
      String group = act.json.path("grant").path("group").asText();

      RbacAuthorizationV1Api rbac = new RbacAuthorizationV1Api(cp.adminClient());
      V1RoleBinding rb = bindingFor(rbac, "payments", group).orElseThrow(() -> new AssertionError("no RoleBinding for " + group));
      assertEquals("Role", rb.getRoleRef().getKind());
      rbac.readNamespacedRole(rb.getRoleRef().getName(), "payments").execute();

      broker.post("/api/v1/requests/" + id + "/revoke", "alice;oncall-payments", TestBroker.json("reason", "done"))
          .expect(200);
      assertEquals(Optional.empty(), bindingFor(rbac, "payments", group));
      ApiException gone = org.junit.jupiter.api.Assertions.assertThrows(ApiException.class,
          () -> rbac.readNamespacedRole(rb.getRoleRef().getName(), "payments").execute());
      assertEquals(404, gone.getCode());

      // a request for a cluster the broker does not provision is refused up front
      broker.post("/api/v1/requests", "alice;oncall-payments", body.replace("{", "{\"cluster\":\"staging\","))
          .expectError(400, "invalid_request");
      assertTrue(List.of(200, 503).contains(broker.get("/readyz", null).status));
    }
  }
}
