package dev.kubejit.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Identity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Window boundaries, stage selection and identity matching on synthetic Kubernetes audit events. */
class AuditCorrelatorTest {
  private static final Instant FROM = Instant.parse("2026-01-01T10:00:00Z");
  private static final Instant EXPIRES = Instant.parse("2026-01-01T10:30:00Z");
  private static final GrantId G = GrantId.random();
  private static final String GROUP = "jit:grant:" + G.value();
  @TempDir Path dir;
  private final List<String> kube = new ArrayList<>();

  private void call(String id, String stage, Instant t, String user, String groups, int code) {
    kube.add("{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"" + id
        + "\",\"stage\":\"" + stage + "\",\"requestURI\":\"/api/v1/namespaces/payments/pods/api-0/log\",\"verb\":\"get\","
        + "\"user\":{\"username\":\"" + user + "\",\"groups\":[" + groups + "]},\"objectRef\":{\"resource\":\"pods\","
        + "\"namespace\":\"payments\",\"name\":\"api-0\",\"subresource\":\"log\"},\"responseStatus\":{\"code\":" + code
        + "},\"requestReceivedTimestamp\":\"" + t + "\",\"stageTimestamp\":\"" + t.plusMillis(3) + "\"}");
  }

  private AuditCorrelator.Result run(boolean revokedEarly) throws Exception {
    Path jit = dir.resolve("audit.jsonl");
    try (FileAuditSink s = FileAuditSink.builder(jit).withoutSignatures().open()) {
      s.write(List.of(AuditEvent.builder(AuditEventType.GRANT_ACTIVATED, FROM).grantId(G)
          .actor(Identity.of("alice", "oncall")).attribute("requester", "alice").attribute("subjectGroup", GROUP)
          .attribute("grantedAt", FROM.toString()).attribute("expiresAt", EXPIRES.toString()).build()));
      Instant end = revokedEarly ? FROM.plusSeconds(600) : EXPIRES.plusSeconds(20);
      s.write(List.of(AuditEvent.builder(revokedEarly ? AuditEventType.GRANT_REVOKED : AuditEventType.GRANT_EXPIRED, end)
          .grantId(G).build()));
    }
    Path k = dir.resolve("kube.log");
    Files.writeString(k, String.join("\n", kube) + "\n");
    return AuditCorrelator.correlate(List.of(jit), List.of(k));
  }

  private static List<String> ids(List<AuditCorrelator.ApiCall> calls) {
    return calls.stream().map(AuditCorrelator.ApiCall::auditId).toList();
  }

  @Test
  void windowIsHalfOpenToTheNanosecond() throws Exception {
    String g = "\"" + GROUP + "\",\"system:authenticated\"";
    call("before", "ResponseComplete", FROM.minusNanos(1), "alice", g, 200);
    call("atStart", "ResponseComplete", FROM, "alice", g, 200);
    call("lastNano", "ResponseComplete", EXPIRES.minusNanos(1), "alice", g, 200);
    call("atExpiry", "ResponseComplete", EXPIRES, "alice", g, 200);
    AuditCorrelator.Result r = run(false);
    assertEquals(List.of("atStart", "lastNano"), ids(r.grant(G.value()).orElseThrow().calls()));
    assertEquals(List.of("before", "atExpiry"), ids(r.outside()));
    assertEquals(EXPIRES, r.grant(G.value()).orElseThrow().until(), "expiry before the late GRANT_EXPIRED event");
  }

  @Test
  void revocationEndsTheWindowEarly() throws Exception {
    String g = "\"" + GROUP + "\"";
    call("early", "ResponseComplete", FROM.plusSeconds(10), "alice", g, 200);
    call("afterRevoke", "ResponseComplete", FROM.plusSeconds(601), "alice", g, 200);
    AuditCorrelator.Result r = run(true);
    assertEquals(List.of("early"), ids(r.grant(G.value()).orElseThrow().calls()));
    assertEquals(List.of("afterRevoke"), ids(r.outside()));
    assertEquals("GRANT_REVOKED", r.grant(G.value()).orElseThrow().endedBy().orElseThrow());
  }

  @Test
  void usesTheFinalStagePerAuditId() throws Exception {
    String g = "\"" + GROUP + "\"";
    call("exec", "ResponseStarted", FROM.plusSeconds(5), "alice", g, 101);
    call("exec", "ResponseComplete", FROM.plusSeconds(5), "alice", g, 101);
    call("watch", "ResponseStarted", FROM.plusSeconds(6), "alice", g, 200);
    AuditCorrelator.Result r = run(false);
    assertEquals(List.of("exec", "watch"), ids(r.grant(G.value()).orElseThrow().calls()));
    assertEquals(2, r.kubeEvents());
    assertEquals("pods/log", r.grant(G.value()).orElseThrow().calls().get(0).resourcePath());
  }

  @Test
  void matchesOtherJitGroupsByUserAndIgnoresNonJitIdentities() throws Exception {
    call("byUser", "ResponseComplete", FROM.plusSeconds(5), "alice", "\"jit:oncall:payments\"", 200);
    call("otherUser", "ResponseComplete", FROM.plusSeconds(5), "bob", "\"jit:oncall:payments\"", 200);
    call("unknownGrant", "ResponseComplete", FROM.plusSeconds(5), "alice",
        "\"jit:grant:" + GrantId.random().value() + "\"", 200);
    call("normal", "ResponseComplete", FROM.plusSeconds(5), "alice", "\"oncall-payments\"", 200);
    AuditCorrelator.Result r = run(false);
    assertEquals(List.of("byUser"), ids(r.grant(G.value()).orElseThrow().calls()));
    assertEquals(List.of("otherUser", "unknownGrant"), ids(r.outside()).stream().sorted().toList());
  }

  @Test
  void rejectsAFileThatIsNotAKubernetesAuditLog() throws Exception {
    kube.add("{\"kind\":\"Pod\",\"apiVersion\":\"v1\"}");
    AuditFormatException e = assertThrows(AuditFormatException.class, () -> run(false));
    assertTrue(e.getMessage().contains("kube.log line 1") && e.getMessage().contains("\"Pod\""), e.getMessage());
  }

  @Test
  void skipsAnIncompleteLastLineOfTheKubeLog() throws Exception {
    call("ok", "ResponseComplete", FROM.plusSeconds(5), "alice", "\"" + GROUP + "\"", 200);
    Path k = dir.resolve("kube.log");
    run(false);
    Files.writeString(k, "{\"kind\":\"Ev", java.nio.file.StandardOpenOption.APPEND);
    AuditCorrelator.Result r = AuditCorrelator.correlate(List.of(dir.resolve("audit.jsonl")), List.of(k));
    assertEquals(List.of("ok"), ids(r.grant(G.value()).orElseThrow().calls()));
  }
}
