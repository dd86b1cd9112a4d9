package dev.kubejit.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.Grant;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class RevocationAuthorizerTest {
  static byte[] sar(String apiVersion, String user, List<String> groups) throws Exception {
    ObjectNode root = Lab.JSON.createObjectNode().put("apiVersion", apiVersion).put("kind", "SubjectAccessReview");
    ObjectNode spec = root.putObject("spec").put("user", user);
    groups.forEach(spec.putArray(apiVersion.endsWith("v1beta1") ? "group" : "groups")::add);
    spec.putObject("resourceAttributes").put("verb", "list").put("resource", "pods").put("namespace", "payments");
    return Lab.JSON.writeValueAsBytes(root);
  }

  static JsonNode status(RevocationAuthorizer a, byte[] body) throws Exception {
    return Lab.JSON.readTree(a.handle(body)).get("status");
  }

  @Test
  void deniesEndedGrantsAndOtherwiseGivesNoOpinion() throws Exception {
    Lab lab = new Lab();
    RevocationAuthorizer a = RevocationAuthorizer.of(lab.cache, lab.audit, lab.clock);
    Grant g = lab.execGrant();
    for (String v : List.of("authorization.k8s.io/v1", "authorization.k8s.io/v1beta1")) {
      JsonNode active = status(a, sar(v, "alice", List.of(g.subjectGroup(), "system:authenticated")));
      assertFalse(active.get("allowed").asBoolean());
      assertFalse(active.has("denied"), active::toString);
      JsonNode other = status(a, sar(v, "mallory", List.of(g.subjectGroup())));
      assertTrue(other.get("denied").asBoolean(), other::toString);
      assertTrue(other.get("reason").asText().contains("does not hold grant"), other::toString);
      JsonNode noGrant = status(a, sar(v, "bob", List.of("system:authenticated")));
      assertFalse(noGrant.has("denied"));
      assertFalse(noGrant.get("allowed").asBoolean(), "it never allows");
    }
    lab.broker.revoke(g.requestId(), Lab.CAROL, "done");
    JsonNode revoked = status(a, sar("authorization.k8s.io/v1", "alice", List.of(g.subjectGroup())));
    assertTrue(revoked.get("denied").asBoolean());
    assertTrue(revoked.get("reason").asText().contains("REVOKED"), revoked::toString);
    assertTrue(lab.audit.events(AuditEventType.USE_DENIED).stream()
        .anyMatch(e -> "authorization-webhook".equals(e.attributes().get("enforcedBy"))
            && g.id().equals(e.grantId().orElse(null))));
    Grant expiring = lab.execGrant();
    lab.clock.advance(expiring.duration());
    assertTrue(status(a, sar("authorization.k8s.io/v1", "alice", List.of(expiring.subjectGroup())))
        .get("reason").asText().contains("not active now"));
    assertTrue(status(a, sar("authorization.k8s.io/v1", "alice", List.of("jit:grant:aaaaaaaaaaaaaaaaaaaaaaaaaa")))
        .get("reason").asText().contains("unknown"));
  }

  @Test
  void malformedReviewsAreTypedErrors() {
    Lab lab = new Lab();
    RevocationAuthorizer a = RevocationAuthorizer.of(lab.cache, lab.audit, lab.clock);
    for (String body : List.of("", "x", "{}", "{\"apiVersion\":\"authorization.k8s.io/v1\",\"kind\":\"SubjectAccessReview\"}")) {
      assertThrows(MalformedAdmissionReviewException.class, () -> a.handle(body.getBytes(StandardCharsets.UTF_8)));
    }
  }

  @Test
  void rendersTheApiServersWebhookKubeconfig() throws Exception {
    String ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    String kc = RevocationAuthorizer.apiServerKubeconfig(java.net.URI.create("https://broker.example:8443/authorize"), ca);
    assertTrue(kc.contains("server: \"https://broker.example:8443/authorize\""), kc);
    assertTrue(kc.contains(java.util.Base64.getEncoder().encodeToString(ca.getBytes(StandardCharsets.US_ASCII))), kc);
    assertThrows(IllegalArgumentException.class,
        () -> RevocationAuthorizer.apiServerKubeconfig(java.net.URI.create("http://x/authorize"), ca));
    assertEquals(-1, kc.indexOf("PRIVATE"));
  }

  @Test
  void theProvisionersOwnVerificationGetsNoOpinionButNoOtherGroup() throws Exception {
    Lab lab = new Lab();
    RevocationAuthorizer a = RevocationAuthorizer.of(lab.cache, lab.audit, lab.clock);
    String id = dev.kubejit.api.GrantId.random().value();
    JsonNode check = status(a, sar("authorization.k8s.io/v1", "kubejit:verify:" + id, List.of("jit:grant:" + id)));
    assertFalse(check.has("denied"), check::toString);
    String other = dev.kubejit.api.GrantId.random().value();
    JsonNode forged = status(a, sar("authorization.k8s.io/v1", "kubejit:verify:" + id, List.of("jit:grant:" + other)));
    assertTrue(forged.get("denied").asBoolean(), forged::toString);
  }
}
