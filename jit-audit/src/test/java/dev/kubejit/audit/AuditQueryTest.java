package dev.kubejit.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Identity;
import dev.kubejit.api.Scope;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditQueryTest {
  private static final Instant T = Instant.parse("2026-01-01T10:00:00Z");
  private static final GrantId G = GrantId.random();
  @TempDir Path dir;
  private Path log;

  @BeforeEach
  void write() {
    log = dir.resolve("audit.jsonl");
    try (FileAuditSink s = FileAuditSink.builder(log).signingKey(AuditKeys.generate()).maxFileSize(4096).open()) {
      s.write(List.of(
          AuditEvent.builder(AuditEventType.REQUEST_CREATED, T).actor(Identity.of("alice", "oncall"))
              .scope(Scope.namespace("prod", "payments")).attribute("requester", "alice").build(),
          AuditEvent.builder(AuditEventType.GRANT_ACTIVATED, T.plusSeconds(10)).actor(Identity.of("alice", "oncall"))
              .grantId(G).scope(Scope.namespace("prod", "payments")).attribute("requester", "alice").build(),
          AuditEvent.builder(AuditEventType.GRANT_EXPIRED, T.plusSeconds(20)).grantId(G)
              .scope(Scope.namespace("prod", "payments")).attribute("requester", "alice").build(),
          AuditEvent.builder(AuditEventType.REQUEST_CREATED, T.plusSeconds(30)).actor(Identity.of("bob", "oncall"))
              .scope(Scope.namespace("prod", "orders")).build()));
      for (int i = 0; i < 10; i++) {
        s.write(List.of(Events.full(i))); // rolls into several files
      }
    }
  }

  private List<Long> seqs(AuditQuery q) {
    return q.run(Segments.expand(List.of(log))).records().stream().map(AuditRecord::seq).toList();
  }

  @Test
  void filtersCombine() {
    assertEquals(List.of(1L, 2L, 3L), seqs(AuditQuery.builder().namespace("payments").since(T).until(T.plusSeconds(30)).build()));
    assertEquals(List.of(3L), seqs(AuditQuery.builder().user("alice").type("GRANT_EXPIRED").build()),
        "the broker expired it, but it is alice's grant");
    assertEquals(List.of(2L, 3L), seqs(AuditQuery.builder().grant(G.value()).build()));
    assertEquals(List.of(4L), seqs(AuditQuery.builder().user("bob").build()));
    assertEquals(List.of(2L), seqs(AuditQuery.builder().since(T.plusSeconds(10)).until(T.plusSeconds(20)).build()),
        "since inclusive, until exclusive");
    assertEquals(14, seqs(AuditQuery.builder().build()).size(), "checkpoints excluded by default");
    assertEquals(List.of(15L), seqs(AuditQuery.builder().type("CHECKPOINT").build()));
  }

  @Test
  void badInputIsRefusedWithTheValue() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> AuditQuery.builder().type("GRANT_EXPLODED"));
    assertTrue(e.getMessage().contains("\"GRANT_EXPLODED\""), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> AuditQuery.builder().since(T).until(T).build());
    assertThrows(IllegalStateException.class, () -> AuditQuery.builder().user("a").user("b"));
  }

  @Test
  void tornLastLineIsSkippedAndReportedAndGarbageIsAnError() throws Exception {
    List<Path> files = Segments.expand(List.of(log));
    Path last = files.get(files.size() - 1);
    Files.writeString(last, "{\"seq\":99", java.nio.file.StandardOpenOption.APPEND);
    AuditQuery.Result r = AuditQuery.builder().build().run(files);
    assertEquals(14, r.records().size());
    assertTrue(r.tornTail().orElseThrow().contains("torn last line"), r.tornTail().toString());
    Files.writeString(files.get(0), "not json\n", java.nio.file.StandardOpenOption.APPEND);
    AuditFormatException e = assertThrows(AuditFormatException.class, () -> AuditQuery.builder().build().run(files));
    assertTrue(e.getMessage().contains(files.get(0) + " line"), e.getMessage());
  }

  @Test
  void jqReadsTheLog() {
    assertTrue(Files.isExecutable(Path.of("/usr/bin/jq")), "jq is missing: run scripts/test-deps.sh (scripts/test.sh does)");
    String out = Tools.run(dir, "jq", "-r", "select(.grantId == \"" + G.value() + "\") | \"\\(.seq) \\(.type)\"",
        log.toString());
    assertEquals("2 GRANT_ACTIVATED\n3 GRANT_EXPIRED\n", out);
  }
}
