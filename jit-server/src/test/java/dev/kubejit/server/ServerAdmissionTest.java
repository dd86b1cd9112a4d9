package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kubejit serve} with an {@code admission} section and no cluster to provision into: the
 * webhooks answer reviews posted over the server's TLS listener from the server's own store, a
 * revocation through the API reaches them through the broker's notification at once, and their
 * decisions go to the server's audit log. (ServerAdmissionKubeTest does the same with a real API
 * server calling.)
 */
class ServerAdmissionTest {
  @TempDir Path dir;

  static String execReview(String user, String group, String commandJson) {
    return "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\""
        + UUID.randomUUID() + "\",\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"PodExecOptions\"},"
        + "\"resource\":{\"group\":\"\",\"version\":\"v1\",\"resource\":\"pods\"},\"subResource\":\"exec\","
        + "\"name\":\"web-1\",\"namespace\":\"payments\",\"operation\":\"CONNECT\",\"userInfo\":{\"username\":\""
        + user + "\",\"groups\":[\"" + group + "\",\"system:authenticated\"]},\"object\":{\"kind\":\"PodExecOptions\","
        + "\"apiVersion\":\"v1\",\"stdout\":true,\"container\":\"app\",\"command\":" + commandJson + "}}}";
  }

  static String sar(String user, String group) {
    return "{\"apiVersion\":\"authorization.k8s.io/v1\",\"kind\":\"SubjectAccessReview\",\"spec\":{\"user\":\"" + user
        + "\",\"groups\":[\"" + group + "\"],\"resourceAttributes\":{\"verb\":\"list\",\"resource\":\"pods\","
        + "\"namespace\":\"payments\"}}}";
  }

  @Test
  void theWebhooksDecideFromTheServersStoreAndHearRevocationsAtOnce() throws Exception {
    TestBroker.prepare(dir);
    String admission = "admission:\n  cluster: prod\n  grantRefresh: PT5M\n";
    try (TestBroker broker = TestBroker.prepared(dir, TestBroker.freePort(), "", admission)) {
      String body = TestBroker.json("role", "oncall-debug", "action", "exec", "cluster", "prod", "namespace", "payments",
          "ticket", "INC-17", "reason", "serve admission");
      String id = broker.post("/api/v1/requests", "alice;oncall-payments", body).expect(201).json.path("id").asText();
      broker.post("/api/v1/requests/" + id + "/approve", "carol;sre-leads", "").expect(200);
      String group = broker.post("/api/v1/requests/" + id + "/activate", "alice;oncall-payments",
          TestBroker.json("csr", TestBroker.csr("alice"))).expect(200).json.path("grant").path("group").asText();

      // the grant was activated after the cache's first load and the refresh is 5 min away: the cache
      // finds it in the store on its first miss
      JsonNode ok = broker.post("/admission/exec", null, execReview("alice", group, "[\"cat\",\"/var/log/app.log\"]"))
          .expect(200).json.path("response");
      assertTrue(ok.path("allowed").asBoolean(), ok::toString);
      JsonNode no = broker.post("/admission/exec", null, execReview("alice", group, "[\"cat\",\"/etc/shadow\"]"))
          .expect(200).json.path("response");
      assertFalse(no.path("allowed").asBoolean(), no::toString);
      assertEquals("read-logs", no.path("auditAnnotations").path("rule").asText());
      JsonNode noOpinion = broker.post("/authorize", null, sar("alice", group)).expect(200).json.path("status");
      assertFalse(noOpinion.path("denied").asBoolean(), noOpinion::toString);

      broker.post("/api/v1/requests/" + id + "/revoke", "alice;oncall-payments", TestBroker.json("reason", "done"))
          .expect(200);
      JsonNode revoked = broker.post("/admission/exec", null, execReview("alice", group, "[\"cat\",\"/var/log/app.log\"]"))
          .expect(200).json.path("response");
      assertFalse(revoked.path("allowed").asBoolean(), revoked::toString);
      assertEquals("broker:grant-state", revoked.path("auditAnnotations").path("rule").asText());
      JsonNode denied = broker.post("/authorize", null, sar("alice", group)).expect(200).json.path("status");
      assertTrue(denied.path("denied").asBoolean(), denied::toString);

      // not a review, another method, a path not served (no rbac section)
      assertEquals(400, broker.post("/admission/exec", null, "{\"x\":").status);
      assertEquals(405, broker.get("/admission/exec", null).status);
      assertEquals(404, broker.post("/admission/rbac", null, "{}").status);
      // the API keeps its paths
      broker.get("/api/v1/requests/" + id, "alice;oncall-payments").expect(200);

      String audit = Files.readString(dir.resolve("audit/audit.jsonl"));
      assertTrue(audit.contains("admission-webhook") && audit.contains("authorization-webhook"), "audit log: " + audit);
    }
  }
}
