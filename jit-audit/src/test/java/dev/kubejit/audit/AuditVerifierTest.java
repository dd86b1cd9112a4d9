package dev.kubejit.audit;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.audit.VerificationResult.Problem;
import dev.kubejit.audit.VerificationResult.Status;
import dev.kubejit.testing.FakeClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each kind of tampering, done to real files the way an attacker with shell access would, must be
 * reported at the first sequence number it affects.
 *
 * <p>The log: 20 events with a checkpoint every 5, so seq 1-5 events, 6 checkpoint, 7-11, 12 cp,
 * 13-17, 18 cp, 19-23, 24 cp, 25 seal. Line index i holds seq i+1.
 */
class AuditVerifierTest {
  private static final KeyPair KEY = AuditKeys.generate();
  @TempDir Path dir;
  private Path log;
  private List<String> lines;

  @BeforeEach
  void writeLog() {
    log = dir.resolve("audit.jsonl");
    FakeClock clock = new FakeClock(Events.T0);
    try (FileAuditSink s = FileAuditSink.builder(log).signingKey(KEY).checkpointEvery(5).clock(clock).open()) {
      for (int i = 0; i < 20; i++) {
        clock.set(Events.T0.plusSeconds(i)); // the sink's clock and the broker's agree, as in production
        s.write(List.of(Events.full(i)));
      }
    }
    lines = LogFiles.lines(log);
    assertEquals(25, lines.size());
  }

  private VerificationResult verify() {
    return AuditVerifier.withPublicKey(KEY.getPublic()).verify(List.of(log));
  }

  private void assertTampered(Problem problem, long seq) {
    VerificationResult r = verify();
    assertEquals(Status.TAMPERED, r.status(), r.message());
    assertEquals(problem, r.problem().orElseThrow(), r.message());
    assertEquals(seq, r.firstBadSeq().orElseThrow(), r.message());
  }

  private void rewrite() {
    LogFiles.write(log, lines);
  }

  @Test
  void intactLogIsSealed() {
    VerificationResult r = verify();
    assertEquals(Status.SEALED, r.status(), r.message());
    assertEquals(25, r.lastSeq());
    assertEquals(25, r.lastSignedSeq());
    assertEquals(5, r.checkpoints());
    assertTrue(r.isOk(false));
  }

  @Test
  void modifiedFieldIsReportedAtThatRecord() {
    lines.set(7, lines.get(7).replace("auto-approved for logs", "auto-approved for exec"));
    rewrite();
    assertTampered(Problem.MODIFIED, 8);
  }

  @Test
  void modifiedFirstRecordIsReportedAtSeqOne() {
    lines.set(0, lines.get(0).replace("\"user\":\"alice\"", "\"user\":\"mallory\""));
    rewrite();
    assertTampered(Problem.MODIFIED, 1);
  }

  @Test
  void modifiedLinkIsReportedAtTheRecordHoldingIt() {
    lines.set(7, lines.get(7).replaceFirst("\"prevHash\":\"[0-9a-f]{64}\"", "\"prevHash\":\"" + "ab".repeat(32) + "\""));
    rewrite();
    assertTampered(Problem.MODIFIED, 8);
  }

  @Test
  void nonCanonicalReencodingIsAModification() {
    lines.set(7, lines.get(7).replace("\"seq\":8,", "\"seq\": 8,"));
    rewrite();
    assertTampered(Problem.MODIFIED, 8);
  }

  @Test
  void addedFieldIsAModification() {
    lines.set(7, lines.get(7).replace("\"seq\":8,", "\"seq\":8,\"approvedBy\":\"ceo\","));
    rewrite();
    assertTampered(Problem.MODIFIED, 8);
  }

  @Test
  void deletedRecordIsReportedAtTheFirstMissingSeq() {
    lines.remove(7);
    rewrite();
    assertTampered(Problem.DELETED, 8);
    VerificationResult r = verify();
    assertTrue(r.message().contains("records 8..8 are missing"), r.message());
  }

  @Test
  void deletedRangeIsReportedAtTheFirstMissingSeq() {
    lines.subList(7, 10).clear();
    rewrite();
    assertTampered(Problem.DELETED, 8);
  }

  @Test
  void deletedRecordWithRenumberingButNoRelinkIsCaught() {
    lines.remove(7);
    for (int i = 7; i < lines.size(); i++) {
      lines.set(i, lines.get(i).replaceFirst("^\\{\"seq\":" + (i + 2) + ",", "{\"seq\":" + (i + 1) + ","));
    }
    rewrite();
    assertTampered(Problem.MODIFIED, 8);
  }

  @Test
  void insertedForgedRecordThatLinksIsReportedAtItsSeq() {
    String forged = lines.get(7).replace("auto-approved for logs", "forged");
    lines.add(7, forged); // links to 7 and claims seq 8; the original 8 follows
    rewrite();
    assertTampered(Problem.INSERTED, 8);
  }

  @Test
  void insertedForgedRecordThatDoesNotLinkIsReportedAtItsPosition() {
    String forged = lines.get(7).replace("auto-approved for logs", "forged")
        .replaceFirst("\"prevHash\":\"[0-9a-f]{64}\"", "\"prevHash\":\"" + "cd".repeat(32) + "\"");
    lines.add(7, forged);
    rewrite();
    assertTampered(Problem.INSERTED, 8);
  }

  @Test
  void replayedOldRecordIsAnInsertion() {
    lines.add(10, lines.get(2)); // a copy of seq 3 after seq 10
    rewrite();
    assertTampered(Problem.INSERTED, 11);
  }

  @Test
  void swappedRecordsAreReordered() {
    String a = lines.get(7);
    lines.set(7, lines.get(8));
    lines.set(8, a);
    rewrite();
    assertTampered(Problem.REORDERED, 8);
  }

  @Test
  void rewrittenChainIsCaughtByTheNextCheckpointSignature() {
    lines.set(7, lines.get(7).replace("auto-approved for logs", "auto-approved for exec"));
    LogFiles.relink(lines, 8);
    rewrite();
    assertTampered(Problem.BAD_SIGNATURE, 7);
    assertTrue(verify().message().contains("checkpoint 12"), verify().message());
  }

  @Test
  void rewrittenChainWithoutAKeyIsNotDetected_theDocumentedLimit() {
    lines.set(7, lines.get(7).replace("auto-approved for logs", "auto-approved for exec"));
    LogFiles.relink(lines, 8);
    rewrite();
    VerificationResult r = AuditVerifier.withoutSignatureCheck().verify(List.of(log));
    assertEquals(Status.SEALED, r.status(), "without the public key only the chain is checked");
    assertTrue(r.message().contains("NOT checked"), r.message());
    assertFalse(r.signaturesChecked());
    assertFalse(r.isOk(false) || r.isOk(true), "an unverified result is never OK");
    assertFalse(r.message().startsWith("OK"), r.message());
  }

  @Test
  void modifiedSealIsCaughtByItsSignature() {
    String edited = lines.get(24).replaceFirst("\"time\":\"2026", "\"time\":\"2025");
    assertNotEquals(lines.get(24), edited);
    lines.set(24, edited);
    rewrite();
    assertTampered(Problem.BAD_SIGNATURE, 25);
  }

  @Test
  void strippedSignatureIsCaught() {
    lines.set(11, lines.get(11).replaceFirst(",\"sig\":\"[^\"]+\"", ""));
    LogFiles.relink(lines, 12);
    rewrite();
    assertTampered(Problem.BAD_SIGNATURE, 7);
  }

  @Test
  void anotherKeyIsRejected() {
    VerificationResult r = AuditVerifier.withPublicKey(AuditKeys.generate().getPublic()).verify(List.of(log));
    assertEquals(Problem.BAD_SIGNATURE, r.problem().orElseThrow());
    assertEquals(1, r.firstBadSeq().orElseThrow());
    assertTrue(r.message().contains("not the given key"), r.message());
  }

  @Test
  void cutTailOfASealedLogIsNotReportedAsSealed() {
    lines.subList(22, 25).clear(); // drop seq 23, checkpoint 24 and the seal
    rewrite();
    VerificationResult r = verify();
    assertEquals(Status.OPEN, r.status(), r.message());
    assertEquals(22, r.lastSeq());
    assertEquals(18, r.lastSignedSeq());
    assertTrue(r.message().contains("tail was cut after seq 22"), r.message());
    assertTrue(!r.isOk(false) && r.isOk(true));
  }

  @Test
  void tornLastLineIsReportedAsSuch() throws Exception {
    Files.writeString(log, "{\"seq\":26,\"time\":\"20", UTF_8, StandardOpenOption.APPEND);
    VerificationResult r = verify();
    assertEquals(Status.TORN_TAIL, r.status(), r.message());
    assertEquals(26, r.firstBadSeq().orElseThrow());
    assertEquals(25, r.lastSeq());
    assertTrue(r.message().contains("torn last line"), r.message());
  }

  @Test
  void garbageLineInTheMiddleIsAModification() {
    lines.set(7, "hello");
    rewrite();
    assertTampered(Problem.MODIFIED, 8);
  }

  @Test
  void deletedOrReorderedFilesOfARolledLogAreCaught() throws Exception {
    Path rolled = dir.resolve("r.jsonl");
    try (FileAuditSink s = FileAuditSink.builder(rolled).signingKey(KEY).maxFileSize(4096).checkpointEvery(10).open()) {
      for (int i = 0; i < 30; i++) {
        s.write(List.of(Events.full(i)));
      }
    }
    List<Path> files = Segments.expand(List.of(rolled));
    assertTrue(files.size() >= 4, files.toString());
    AuditVerifier v = AuditVerifier.withPublicKey(KEY.getPublic());
    assertEquals(Status.SEALED, v.verify(files).status());

    List<Path> swapped = new ArrayList<>(files);
    swapped.set(1, files.get(2));
    swapped.set(2, files.get(1));
    VerificationResult r = v.verify(swapped);
    long firstOfSegment2 = AuditQuery.builder().build().run(List.of(files.get(1))).records().get(0).seq();
    assertEquals(Problem.REORDERED, r.problem().orElseThrow(), r.message());
    assertEquals(firstOfSegment2, r.firstBadSeq().orElseThrow());

    Files.delete(files.get(1));
    VerificationResult d = v.verify(Segments.expand(List.of(rolled)));
    assertEquals(Problem.DELETED, d.problem().orElseThrow(), d.message());
    assertEquals(firstOfSegment2, d.firstBadSeq().orElseThrow());
  }
}
