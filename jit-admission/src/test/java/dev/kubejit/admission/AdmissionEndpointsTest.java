package dev.kubejit.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class AdmissionEndpointsTest {
  @Test
  void routesEachWebhookAndAnswersBadRequestsWithoutThrowing() throws Exception {
    Lab lab = new Lab();
    AdmissionEndpoints e = AdmissionEndpoints.builder().exec(lab.webhook)
        .authorizer(RevocationAuthorizer.of(lab.cache, lab.audit, lab.clock)).build();
    assertEquals(Set.of("/admission/exec", "/authorize"), e.paths());
    byte[] review = Lab.JSON.writeValueAsBytes(Lab.execReview(lab.execGrant(), "web-1", List.of("cat", "/etc/shadow")));
    AdmissionEndpoints.Reply ok = e.handle("POST", "/admission/exec", review);
    assertEquals(200, ok.status());
    assertEquals("application/json", ok.contentType());
    JsonNode answer = Lab.JSON.readTree(ok.body());
    assertEquals(false, answer.get("response").get("allowed").asBoolean());

    AdmissionEndpoints.Reply bad = e.handle("POST", "/admission/exec", "{\"x\":".getBytes(StandardCharsets.UTF_8));
    assertEquals(400, bad.status());
    assertEquals("invalid_review", Lab.JSON.readTree(bad.body()).get("error").get("code").asText());
    assertEquals(405, e.handle("GET", "/admission/exec", new byte[0]).status());
    assertEquals(404, e.handle("POST", "/admission/rbac", review).status());
    assertEquals(400, e.handle("POST", "/authorize", new byte[0]).status());
  }

  @Test
  void needsAWebhookAndEachOnlyOnce() {
    assertThrows(IllegalStateException.class, () -> AdmissionEndpoints.builder().build());
    Lab lab = new Lab();
    assertThrows(IllegalStateException.class, () -> AdmissionEndpoints.builder().exec(lab.webhook).exec(lab.webhook));
  }
}
