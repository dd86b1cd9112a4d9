package dev.kubejit.audit;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.AuditException;
import dev.kubejit.audit.VerificationResult.FindingKind;
import dev.kubejit.audit.VerificationResult.Problem;
import dev.kubejit.audit.VerificationResult.Status;
import dev.kubejit.testing.FakeClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reopening sealed logs, cutting them back (to earlier seals, checkpoints, sessions), the anchor
 * kept outside the log, and timestamps that go backwards. Expected seq numbers follow from the
 * documented rules: a checkpoint after every {@code checkpointEvery} records, a seal on close,
 * and a reopen record that takes the seq of the seal it replaces.
 */
class ReopenAndAnchorTest {
  private static final KeyPair KEY = AuditKeys.generate();
  @TempDir Path dir;
  private final FakeClock clock = new FakeClock(Events.T0);
  private int nextEvent;

  private FileAuditSink.Builder sink(Path log, Path anchor) {
    FileAuditSink.Builder b = FileAuditSink.builder(log).signingKey(KEY).clock(clock).checkpointEvery(5);
    return anchor == null ? b : b.anchor(anchor);
  }

  /** Opens the log (with the anchor, if any), writes {@code events} events one by one, closes it. */
  private void session(Path log, Path anchor, int events) {
    try (FileAuditSink s = sink(log, anchor).open()) {
      for (int i = 0; i < events; i++) {
        s.write(List.of(event()));
      }
    }
  }

  /** An event one second after the previous one; the sink's clock follows, as in production. */
  private AuditEvent event() {
    Instant t = Events.T0.plusSeconds(nextEvent++);
    clock.set(t);
    return AuditEvent.builder(AuditEventType.REQUEST_CREATED, t).attribute("n", Integer.toString(nextEvent)).build();
  }

  private static VerificationResult verify(Path log) {
    return AuditVerifier.withPublicKey(KEY.getPublic()).verify(FileAuditSink.files(List.of(log)));
  }

  private static VerificationResult verify(Path log, Path anchor) {
    return AuditVerifier.withPublicKey(KEY.getPublic()).withAnchor(anchor).verify(FileAuditSink.files(List.of(log)));
  }

  private static void assertTampered(VerificationResult r, Problem p, long seq) {
    assertEquals(Status.TAMPERED, r.status(), r.message());
    assertEquals(p, r.problem().orElseThrow(), r.message());
    assertEquals(seq, r.firstBadSeq().orElseThrow(), r.message());
    assertFalse(r.isOk(true), r.message());
  }

  private Path copy(Path from, String name) throws Exception {
    Path to = dir.resolve(name);
    Files.copy(from, to);
    return to;
  }

  /**
   * The reproduction from the issue: a sealed log (20 events, checkpoints every 5: seal at 25) is
   * reopened with its key, 3 events are written and it is closed (reopen at 25, events 26-28, seal
   * at 29); keeping the first 25 lines, the part the first session wrote, used to verify as SEALED.
   */
  @Test
  void reproduction_cutBackToWhereTheFirstSessionEndedIsNotSealed() {
    Path log = dir.resolve("audit.jsonl");
    Path anchor = dir.resolve("witness/audit.anchor");
    session(log, anchor, 20);
    assertEquals(25, LogFiles.lines(log).size());
    session(log, anchor, 3);
    List<String> lines = LogFiles.lines(log);
    assertEquals(29, lines.size(), "the reopen record replaced the seal; 3 events; a new seal");
    assertTrue(lines.get(24).contains("\"kind\":\"reopen\",\"session\":25,"), lines.get(24));

    Path cut = dir.resolve("cut.jsonl");
    LogFiles.write(cut, lines.subList(0, 25));
    VerificationResult r = verify(cut);
    assertEquals(Status.OPEN, r.status(), r.message());
    assertFalse(r.isOk(false), r.message());
    assertTampered(verify(cut, anchor), Problem.TRUNCATED, 26);
  }

  @Test
  void aSealKeptFromAnEarlierCopyIsCaughtByTheAnchorOnly() throws Exception {
    Path log = dir.resolve("audit.jsonl");
    Path anchor = dir.resolve("witness/audit.anchor");
    session(log, anchor, 20);
    Path backup = copy(log, "backup.jsonl"); // e.g. a log shipper's or backup's copy, sealed at 25
    session(log, anchor, 3);

    // The whole older copy, and the current log cut back with the old seal put back: both are
    // exactly what the log was when it was sealed at 25, so without the anchor they verify.
    Path spliced = dir.resolve("spliced.jsonl");
    List<String> lines = LogFiles.lines(log).subList(0, 24);
    List<String> forged = new ArrayList<>(lines);
    forged.add(LogFiles.lines(backup).get(24));
    LogFiles.write(spliced, forged);
    for (Path p : List.of(backup, spliced)) {
      assertEquals(Status.SEALED, verify(p).status(), "the documented limit without the anchor: " + p);
      VerificationResult r = verify(p, anchor);
      assertTampered(r, Problem.TRUNCATED, 26);
      assertTrue(r.message().contains("seal checkpoint 29"), r.message());
    }
  }

  @Test
  void everyCutOfALogWrittenInSeveralSessionsIsCaught() throws Exception {
    Path log = dir.resolve("audit.jsonl");
    Path anchor = dir.resolve("witness/audit.anchor");
    List<Path> sealedCopies = new ArrayList<>();
    for (int s = 0; s < 4; s++) {
      session(log, anchor, 3 + 2 * s);
      sealedCopies.add(copy(log, "sealed-" + s + ".jsonl"));
    }
    List<String> lines = LogFiles.lines(log);
    assertEquals(Status.SEALED, verify(log, anchor).status(), verify(log, anchor).message());
    List<String> kinds = AuditQuery.builder().type("CHECKPOINT").build().run(List.of(log)).records().stream()
        .map(c -> c.checkpointKind().orElseThrow()).toList();
    assertEquals(1, kinds.stream().filter("seal"::equals).count(), kinds.toString());
    assertEquals(3, kinds.stream().filter("reopen"::equals).count(), kinds.toString());
    Path cut = dir.resolve("cut.jsonl");
    for (int k = 0; k < lines.size(); k++) {
      LogFiles.write(cut, lines.subList(0, k));
      VerificationResult plain = verify(cut);
      assertNotEquals(Status.SEALED, plain.status(), "cut to " + k + " lines: " + plain.message());
      assertFalse(plain.isOk(false), plain.message());
      assertTampered(verify(cut, anchor), Problem.TRUNCATED, k + 1);
    }
    // an earlier seal put back from each earlier sealed copy
    for (Path older : sealedCopies.subList(0, 3)) {
      List<String> old = LogFiles.lines(older);
      List<String> forged = new ArrayList<>(lines.subList(0, old.size() - 1));
      forged.add(old.get(old.size() - 1));
      LogFiles.write(cut, forged);
      assertEquals(Status.SEALED, verify(cut).status());
      assertTampered(verify(cut, anchor), Problem.TRUNCATED, old.size() + 1);
    }
  }

  @Test
  void removingOrUndoingTheReopenRecordIsCaught() throws Exception {
    Path log = dir.resolve("audit.jsonl");
    session(log, null, 7); // 1-5 events, 6 periodic, 7-8 events, 9 seal
    Path sealed = copy(log, "sealed.jsonl");
    session(log, null, 2); // 9 reopen, 10-11 events, 12 seal
    List<String> lines = LogFiles.lines(log);
    assertTrue(lines.get(8).contains("\"kind\":\"reopen\""), lines.get(8));

    List<String> removed = new ArrayList<>(lines);
    removed.remove(8);
    LogFiles.write(log, removed);
    assertTampered(verify(log), Problem.DELETED, 9);

    List<String> renumbered = new ArrayList<>(removed);
    for (int i = 8; i < renumbered.size(); i++) {
      renumbered.set(i, renumbered.get(i).replaceFirst("^\\{\"seq\":" + (i + 2) + ",", "{\"seq\":" + (i + 1) + ","));
    }
    LogFiles.relink(renumbered, 8);
    LogFiles.write(log, renumbered);
    assertTampered(verify(log), Problem.BAD_SIGNATURE, 7);

    List<String> sealBack = new ArrayList<>(lines);
    sealBack.set(8, LogFiles.lines(sealed).get(8)); // the original seal instead of the reopen record
    LogFiles.write(log, sealBack);
    assertTampered(verify(log), Problem.MODIFIED, 9); // the record at 9 is not the one record 10 links to
  }

  @Test
  void recordsAppendedAfterTheSealAreCaught() {
    Path log = dir.resolve("audit.jsonl");
    session(log, null, 3); // seal at 4
    List<String> lines = LogFiles.lines(log);
    String forged = "{\"seq\":5,\"time\":\"2026-01-01T09:00:09.000000000Z\",\"type\":\"POLICY_LOADED\",\"id\":\""
        + "abcdefghijklmnopqrstuvwxyz\",\"prevHash\":\"" + LogFiles.sha256(lines.get(3)) + "\"}";
    lines.add(forged);
    LogFiles.write(log, lines);
    assertTampered(verify(log), Problem.INSERTED, 5);
  }

  @Test
  void anOlderAnchorIsCaught() throws Exception {
    Path log = dir.resolve("audit.jsonl");
    Path anchor = dir.resolve("witness/audit.anchor");
    try (FileAuditSink s = sink(log, anchor).open()) {
      for (int i = 0; i < 5; i++) {
        s.write(List.of(event()));
      }
      copy(anchor, "periodic.anchor"); // names the periodic checkpoint at 6
      s.write(List.of(event()));
    }
    Path sealedAnchor = copy(anchor, "sealed.anchor"); // names the seal at 8
    session(log, anchor, 2); // 8 reopen, 9-10, 11 seal
    assertEquals(Status.SEALED, verify(log, anchor).status());
    VerificationResult r = verify(log, dir.resolve("periodic.anchor"));
    assertTampered(r, Problem.ANCHOR_MISMATCH, 8);
    assertTrue(r.message().contains("older than the log"), r.message());
    assertTampered(verify(log, sealedAnchor), Problem.ANCHOR_MISMATCH, 11);
  }

  @Test
  void anAnchorOfAnotherLogOrKeyOrEditedIsCaught() throws Exception {
    Path log = dir.resolve("audit.jsonl");
    Path anchor = dir.resolve("witness/audit.anchor");
    session(log, anchor, 6);
    Path other = dir.resolve("other.jsonl");
    Path otherAnchor = dir.resolve("witness/other.anchor");
    session(other, otherAnchor, 6); // same key, same length, other events
    VerificationResult r = verify(log, otherAnchor);
    assertTampered(r, Problem.ANCHOR_MISMATCH, 1);
    assertTrue(r.message().contains("another log"), r.message());

    KeyPair otherKey = AuditKeys.generate();
    Path foreign = dir.resolve("foreign.jsonl");
    Path foreignAnchor = dir.resolve("witness/foreign.anchor");
    try (FileAuditSink s = FileAuditSink.builder(foreign).signingKey(otherKey).clock(clock).anchor(foreignAnchor)
        .open()) {
      s.write(List.of(event()));
    }
    VerificationResult k = verify(log, foreignAnchor);
    assertEquals(Problem.ANCHOR_MISMATCH, k.problem().orElseThrow(), k.message());
    assertTrue(k.message().contains("not signed by the given key"), k.message());

    // Edit the anchor to claim less (as if to cover a cut): the signature no longer verifies.
    String text = Files.readString(anchor, UTF_8);
    String edited = text.replace("\"seq\":8,", "\"seq\":7,");
    assertNotEquals(text, edited);
    Files.writeString(anchor, edited, UTF_8);
    VerificationResult e = verify(log, anchor);
    assertEquals(Problem.ANCHOR_MISMATCH, e.problem().orElseThrow(), e.message());
    assertTrue(e.message().contains("not signed by the given key"), e.message());

    Files.writeString(anchor, text.replace("{\"type\"", "{ \"type\""), UTF_8);
    AuditFormatException nonCanonical = assertThrows(AuditFormatException.class, () -> verify(log, anchor));
    assertTrue(nonCanonical.getMessage().contains("canonical"), nonCanonical.getMessage());
    Files.writeString(anchor, "hello\n", UTF_8);
    assertThrows(AuditFormatException.class, () -> verify(log, anchor));
    AuditFormatException missing = assertThrows(AuditFormatException.class,
        () -> verify(log, dir.resolve("nope.anchor")));
    assertTrue(missing.getMessage().contains("anchor file not found"), missing.getMessage());
  }

  @Test
  void theSinkRefusesToContinueALogThatNoLongerReachesItsAnchor() throws Exception {
    Path log = dir.resolve("audit.jsonl");
    Path anchor = dir.resolve("witness/audit.anchor");
    session(log, anchor, 20);
    Path backup = copy(log, "backup.jsonl");
    session(log, anchor, 3);
    List<String> lines = LogFiles.lines(log);

    // (a) the older copy put in place; (b) a cut in the middle of the last session
    for (List<String> content : List.of(LogFiles.lines(backup), lines.subList(0, 27))) {
      LogFiles.write(log, content);
      byte[] before = Files.readAllBytes(log);
      byte[] anchorBefore = Files.readAllBytes(anchor);
      AuditException e = assertThrows(AuditException.class, () -> sink(log, anchor).open());
      assertTrue(e.getMessage().contains("refusing to open"), e.getMessage());
      assertArrayEquals(before, Files.readAllBytes(log), "refusing changes nothing");
      assertArrayEquals(anchorBefore, Files.readAllBytes(anchor));
    }
    // Without an anchor the sink would continue (and the cut would become permanent): documented.
    LogFiles.write(log, lines);
    assertEquals(Status.SEALED, verify(log, anchor).status());
  }

  @Test
  void theSinkRefusesAMissingAnchorUnlessAdoptedAndAMissingLogWhoseAnchorExists() throws Exception {
    Path log = dir.resolve("audit.jsonl");
    Path anchor = dir.resolve("witness/audit.anchor");
    session(log, null, 3);
    AuditException missing = assertThrows(AuditException.class, () -> sink(log, anchor).open());
    assertTrue(missing.getMessage().contains("adoptUnanchoredLog"), missing.getMessage());
    assertFalse(Files.exists(anchor));
    try (FileAuditSink s = sink(log, anchor).adoptUnanchoredLog().open()) {
      assertTrue(Files.exists(anchor), "the reopen record's anchor is written on open");
      s.write(List.of(event()));
    }
    assertEquals(Status.SEALED, verify(log, anchor).status(), verify(log, anchor).message());
    assertTrue(verify(log, anchor).isOk(false));

    Files.delete(log);
    AuditException gone = assertThrows(AuditException.class, () -> sink(log, anchor).open());
    assertTrue(gone.getMessage().contains("deleted or moved"), gone.getMessage());
    assertFalse(Files.exists(log), "nothing was created");

    Path other = dir.resolve("other.jsonl");
    session(other, null, 2);
    AuditException foreign = assertThrows(AuditException.class,
        () -> sink(other, anchor).adoptUnanchoredLog().open());
    assertTrue(foreign.getMessage().contains("another log"), foreign.getMessage());
  }

  @Test
  void aReopenInterruptedBetweenCuttingTheSealAndWritingItsRecordIsFinishedOnTheNextOpen() throws Exception {
    Path log = dir.resolve("audit.jsonl");
    Path anchor = dir.resolve("witness/audit.anchor");
    session(log, anchor, 3); // seal at 4
    List<String> lines = LogFiles.lines(log);
    String sealHash = LogFiles.sha256(lines.get(3));
    LogFiles.write(log, lines.subList(0, 3)); // what the lift leaves if the process dies right after the cut
    assertTampered(verify(log, anchor), Problem.TRUNCATED, 4); // indistinguishable from a cut until reopened
    try (FileAuditSink s = sink(log, anchor).open()) {
      assertEquals(4, s.lastSeq());
    }
    List<String> after = LogFiles.lines(log);
    assertTrue(after.get(3).contains("\"kind\":\"reopen\"") && after.get(3).contains("\"lifted\":\"" + sealHash + "\""),
        after.get(3));
    VerificationResult r = verify(log, anchor);
    assertTrue(r.isOk(false), r.message());
  }

  @Test
  void aReopenInterruptedBeforeItsAnchorWasReplacedStillFits() throws Exception {
    Path log = dir.resolve("audit.jsonl");
    Path anchor = dir.resolve("witness/audit.anchor");
    session(log, anchor, 3); // seal at 4
    Path sealAnchor = copy(anchor, "seal.anchor");
    Path image = dir.resolve("image.jsonl");
    Path imageAnchor = dir.resolve("witness/image.anchor");
    try (FileAuditSink s = sink(log, anchor).open()) {
      s.write(List.of(event()));
      Files.copy(log, image); // reopen at 4, event 5; the anchor as it was before the reopen
      Files.copy(sealAnchor, imageAnchor);
    }
    VerificationResult r = verify(image, imageAnchor);
    assertEquals(Status.OPEN, r.status(), r.message());
    assertTrue(r.isOk(true), r.message());
    try (FileAuditSink s = sink(image, imageAnchor).open()) {
      assertEquals(6, s.lastSeq(), "recovery at 6");
    }
    assertTrue(verify(image, imageAnchor).isOk(false), verify(image, imageAnchor).message());
  }

  @Test
  void anchorsFollowRolledFilesAndAnEmptySealedLog() throws Exception {
    Path log = dir.resolve("audit.jsonl");
    Path anchor = dir.resolve("witness/audit.anchor");
    try (FileAuditSink s = FileAuditSink.builder(log).signingKey(KEY).clock(clock).anchor(anchor).open()) {
      assertEquals(0, s.lastSeq());
    }
    assertEquals(1, LogFiles.lines(log).size(), "an empty log is sealed at 1");
    try (FileAuditSink s = FileAuditSink.builder(log).signingKey(KEY).clock(clock).anchor(anchor).maxFileSize(4096)
        .checkpointEvery(4).open()) {
      for (int i = 0; i < 40; i++) {
        clock.set(Events.T0.plusSeconds(i));
        s.write(List.of(Events.full(i)));
      }
    }
    List<Path> files = FileAuditSink.files(List.of(log));
    assertTrue(files.size() >= 3, files.toString());
    assertTrue(Files.readString(anchor).contains("\"segment\":" + files.size() + ","), Files.readString(anchor));
    assertTrue(verify(log, anchor).isOk(false), verify(log, anchor).message());
    Files.delete(files.get(files.size() - 1));
    assertEquals(Problem.TRUNCATED, verify(log, anchor).problem().orElseThrow());
  }

  private static AuditEvent filler(int chars) {
    return AuditEvent.builder(AuditEventType.POLICY_LOADED, Events.T0).attribute("pad", "x".repeat(chars)).build();
  }

  @Test
  void aReopenRecordTakesItsSealsPlaceEvenWhenTheFileIsFull() throws Exception {
    // Measure: one filler event and its seal; then size the filler so that the seal just fits
    // into 4096 bytes and the (longer) reopen record would not.
    Path probe = dir.resolve("probe.jsonl");
    try (FileAuditSink s = FileAuditSink.builder(probe).signingKey(KEY).clock(clock).open()) {
      s.write(List.of(filler(0)));
    }
    List<String> p = LogFiles.lines(probe);
    int pad = 4096 - p.get(0).length() - 1 - p.get(1).length() - 1 - 10;
    Path log = dir.resolve("audit.jsonl");
    Path anchor = dir.resolve("witness/audit.anchor");
    FileAuditSink.Builder b = FileAuditSink.builder(log).signingKey(KEY).clock(clock).anchor(anchor).maxFileSize(4096);
    try (FileAuditSink s = b.open()) {
      s.write(List.of(filler(pad)));
    }
    assertEquals(4086, Files.size(log), "the seal fit with 10 bytes to spare");
    String sealAnchor = Files.readString(anchor);
    assertTrue(sealAnchor.contains("\"segment\":1,"), sealAnchor);
    try (FileAuditSink s = FileAuditSink.builder(log).signingKey(KEY).clock(clock).anchor(anchor).maxFileSize(4096)
        .open()) {
      assertTrue(Files.size(log) > 4096, "the reopen record stayed in the seal's file");
      assertFalse(Files.exists(Segments.segment(log, 2)));
      String reopened = Files.readString(anchor);
      assertTrue(reopened.contains("\"kind\":\"reopen\",\"segment\":1,"), reopened);
      s.write(List.of(event())); // the next record rolls over
    }
    assertTrue(Files.exists(Segments.segment(log, 2)));
    assertTrue(verify(log, anchor).isOk(false), verify(log, anchor).message());
  }

  @Test
  void theAnchoredCheckpointMustBeWhereTheAnchorSays() throws Exception {
    Path log = dir.resolve("audit.jsonl");
    Path anchor = dir.resolve("witness/audit.anchor");
    session(log, anchor, 6); // one file, seal at 8
    List<String> lines = LogFiles.lines(log);
    LogFiles.write(log, lines.subList(0, 4));
    LogFiles.write(dir.resolve("audit.jsonl.2"), lines.subList(4, 8)); // same records, split differently
    assertEquals(Status.SEALED, verify(log).status(), "the records themselves are intact");
    VerificationResult r = verify(log, anchor);
    assertTampered(r, Problem.ANCHOR_MISMATCH, 8);
    assertTrue(r.message().contains("re-split"), r.message());
    assertThrows(AuditException.class, () -> sink(log, anchor).open());
  }

  @Test
  void oneLogHasOneKey() {
    Path log = dir.resolve("audit.jsonl");
    session(log, null, 2);
    AuditException other = assertThrows(AuditException.class,
        () -> FileAuditSink.builder(log).signingKey(AuditKeys.generate()).open());
    assertTrue(other.getMessage().contains("a log is verified against one key"), other.getMessage());
    AuditException unsigned = assertThrows(AuditException.class,
        () -> FileAuditSink.builder(log).withoutSignatures().open());
    assertTrue(unsigned.getMessage().contains("writes unsigned checkpoints"), unsigned.getMessage());
    assertEquals(Status.SEALED, verify(log).status());
  }

  @Test
  void theSessionACheckpointNamesIsCheckedEvenWithoutSignatures() {
    Path log = dir.resolve("audit.jsonl");
    for (int s = 0; s < 2; s++) {
      try (FileAuditSink sink = FileAuditSink.builder(log).withoutSignatures().clock(clock).open()) {
        sink.write(List.of(event(), event()));
      }
    }
    List<String> lines = LogFiles.lines(log); // 1-2, 3 reopen (session 3), 4-5, 6 seal (session 3)
    assertTrue(lines.get(5).contains("\"kind\":\"seal\",\"session\":3,"), lines.get(5));
    lines.set(5, lines.get(5).replace("\"session\":3,", "\"session\":1,")); // "never reopened"
    LogFiles.write(log, lines);
    VerificationResult r = AuditVerifier.withoutSignatureCheck().verify(List.of(log));
    assertEquals(Problem.MODIFIED, r.problem().orElseThrow(), r.message());
    assertEquals(6, r.firstBadSeq().orElseThrow());
  }

  @Test
  void timestampsGoingBackwardsBeyondTheToleranceAreFindings() {
    Path log = dir.resolve("audit.jsonl");
    Instant t = Events.T0;
    try (FileAuditSink s = sink(log, null).open()) {
      clock.set(t.plusSeconds(21));
      s.write(List.of(at(t.plusSeconds(10)), at(t.plusSeconds(20)), at(t.plusSeconds(12)), at(t.plusSeconds(17)),
          at(t.plusSeconds(21))));
    }
    VerificationResult r = verify(log);
    assertEquals(Status.SEALED, r.status(), r.message());
    assertEquals(List.of(3L), r.findings().stream().map(VerificationResult.Finding::seq).toList(), r.message());
    VerificationResult.Finding f = r.findings().get(0);
    assertEquals(FindingKind.TIME_WENT_BACKWARDS, f.kind());
    assertEquals(2, f.earlierSeq());
    assertTrue(f.message().contains("PT8S"), f.message());
    assertFalse(r.isOk(false), "a finding fails verification");
    AuditVerifier strict = AuditVerifier.withPublicKey(KEY.getPublic()).withTimeTolerance(Duration.ZERO);
    assertEquals(List.of(3L, 4L), strict.verify(List.of(log)).findings().stream()
        .map(VerificationResult.Finding::seq).toList());
    AuditVerifier lax = AuditVerifier.withPublicKey(KEY.getPublic()).withTimeTolerance(Duration.ofSeconds(8));
    assertTrue(lax.verify(List.of(log)).isOk(false), "exactly at the tolerance is fine");
    assertThrows(IllegalArgumentException.class,
        () -> AuditVerifier.withoutSignatureCheck().withTimeTolerance(Duration.ofMillis(-1)));

    // a sink whose clock stepped back when the log was reopened
    clock.set(t.minusSeconds(60));
    try (FileAuditSink s = sink(log, null).open()) {
      assertEquals(7, s.lastSeq());
    }
    VerificationResult back = verify(log);
    assertEquals(List.of(3L, 7L, 8L), back.findings().stream().map(VerificationResult.Finding::seq).toList());
  }

  private static AuditEvent at(Instant t) {
    return AuditEvent.builder(AuditEventType.REQUEST_CREATED, t).build();
  }

  @Test
  void builderRefusesAnchorMisuse() {
    Path log = dir.resolve("audit.jsonl");
    assertThrows(IllegalStateException.class,
        () -> FileAuditSink.builder(log).withoutSignatures().anchor(dir.resolve("a.anchor")).open());
    assertThrows(IllegalStateException.class, () -> FileAuditSink.builder(log).signingKey(KEY).adoptUnanchoredLog()
        .open());
    assertThrows(IllegalStateException.class,
        () -> FileAuditSink.builder(log).anchor(dir.resolve("a")).anchor(dir.resolve("b")));
    for (String name : List.of("audit.jsonl", "audit.jsonl.2", "audit.jsonl.lock")) {
      assertThrows(IllegalArgumentException.class, () -> FileAuditSink.builder(log).anchor(dir.resolve(name)));
    }
    assertThrows(IllegalStateException.class,
        () -> AuditVerifier.withoutSignatureCheck().withAnchor(dir.resolve("a")).withAnchor(dir.resolve("b")));
    assertFalse(Files.exists(log), "nothing was created");
  }
}
