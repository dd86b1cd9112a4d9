package dev.kubejit.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The one parser of the API server's audit.k8s.io/v1 Event lines (a line as kube-apiserver 1.20 writes it). */
class KubeAuditEventTest {
  static final String LINE = "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\","
      + "\"auditID\":\"5f3c\",\"stage\":\"ResponseComplete\",\"requestURI\":\"/api/v1/namespaces/payments/pods/web-1/log?container=app\","
      + "\"verb\":\"get\",\"user\":{\"username\":\"alice\",\"groups\":[\"jit:grant:g1\",\"system:authenticated\"]},"
      + "\"sourceIPs\":[\"127.0.0.1\"],\"objectRef\":{\"resource\":\"pods\",\"namespace\":\"payments\",\"name\":\"web-1\","
      + "\"apiVersion\":\"v1\",\"subresource\":\"log\"},\"responseStatus\":{\"metadata\":{},\"code\":200},"
      + "\"requestReceivedTimestamp\":\"2026-03-01T10:00:00.123456Z\",\"stageTimestamp\":\"2026-03-01T10:00:00.200000Z\","
      + "\"annotations\":{\"authorization.k8s.io/decision\":\"allow\"}}";

  @Test
  void parsesTheFieldsKubeJitUses() {
    KubeAuditEvent e = KubeAuditEvent.parse(LINE);
    assertEquals("5f3c", e.auditId());
    assertEquals("ResponseComplete", e.stage());
    assertEquals(2, e.stageRank());
    assertEquals("alice", e.username());
    assertEquals(List.of("jit:grant:g1", "system:authenticated"), e.groups());
    assertEquals("get", e.verb());
    assertEquals("pods", e.resource());
    assertEquals("log", e.subresource());
    assertEquals("payments", e.namespace());
    assertEquals("web-1", e.name());
    assertEquals(200, e.code());
    assertEquals(Map.of("authorization.k8s.io/decision", "allow"), e.annotations());
    assertEquals(Instant.parse("2026-03-01T10:00:00.123456Z"), e.time().orElseThrow());
    assertEquals(Instant.parse("2026-03-01T10:00:00.200000Z"), e.stageTimestamp());
  }

  @Test
  void timeFallsBackToTheStageTimestamp() {
    KubeAuditEvent e = KubeAuditEvent.parse(LINE.replace("\"requestReceivedTimestamp\":\"2026-03-01T10:00:00.123456Z\",", ""));
    assertEquals(Instant.parse("2026-03-01T10:00:00.200000Z"), e.time().orElseThrow());
  }

  @Test
  void refusesWhatIsNotAnAuditEvent() {
    for (String bad : new String[] {"not json", "[]", "{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\"}",
        "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1beta1\",\"auditID\":\"x\"}",
        "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\"}",
        LINE.replace("2026-03-01T10:00:00.123456Z", "yesterday")}) {
      AuditFormatException e = assertThrows(AuditFormatException.class, () -> KubeAuditEvent.parse(bad), bad);
      assertTrue(e.getMessage().startsWith("line ") || e.getMessage().startsWith("requestReceivedTimestamp"), e.getMessage());
    }
    assertThrows(AuditFormatException.class, () -> KubeAuditEvent.parse(null));
  }
}
