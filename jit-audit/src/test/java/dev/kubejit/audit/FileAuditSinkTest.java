package dev.kubejit.audit;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.AuditException;
import dev.kubejit.testing.FakeClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileAuditSinkTest {
  private static final KeyPair KEY = AuditKeys.generate();
  @TempDir Path dir;
  private final FakeClock clock = new FakeClock();

  private FileAuditSink.Builder sink(Path base) {
    return FileAuditSink.builder(base).signingKey(KEY).clock(clock);
  }

  private VerificationResult verify(Path base) {
    return AuditVerifier.withPublicKey(KEY.getPublic()).verify(Segments.expand(List.of(base)));
  }

  @Test
  void writesOneCanonicalLinePerEventWithSeqAndChain() throws Exception {
    Path base = dir.resolve("audit.jsonl");
    try (FileAuditSink s = sink(base).open()) {
      assertEquals(2, s.append(Events.batch(0, 2)));
      assertEquals(3, s.append(List.of(Events.full(2))));
    }
    List<String> lines = LogFiles.lines(base);
    assertEquals(4, lines.size(), "3 events + seal");
    assertTrue(lines.get(0).startsWith("{\"seq\":1,\"time\":\"2026-01-01T09:00:00.123456789Z\",\"type\":\"REQUEST_CREATED\","),
        lines.get(0));
    assertTrue(lines.get(0).endsWith(",\"prevHash\":\"" + ChainHash.GENESIS + "\"}"), lines.get(0));
    for (int i = 1; i < lines.size(); i++) {
      assertTrue(lines.get(i).contains("\"prevHash\":\"" + LogFiles.sha256(lines.get(i - 1)) + "\""), "line " + i);
    }
    assertTrue(lines.get(3).contains("\"type\":\"CHECKPOINT\",\"kind\":\"seal\""), lines.get(3));
    assertTrue(lines.get(0).contains("\"command\":\"cat\\n/etc/passwd\""), "newline escaped, one line per event");
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(base)));
    assertEquals(VerificationResult.Status.SEALED, verify(base).status(), verify(base).message());
  }

  @Test
  void parsedEventEqualsTheWrittenEvent() {
    Path base = dir.resolve("a.jsonl");
    AuditEvent e = Events.full(7);
    try (FileAuditSink s = sink(base).open()) {
      s.write(List.of(e, Events.minimal(AuditEventType.POLICY_LOADED, Events.T0)));
    }
    List<AuditRecord> recs = AuditQuery.builder().build().run(List.of(base)).records();
    assertEquals(e, recs.get(0).event().orElseThrow());
    assertEquals(Events.minimal(AuditEventType.POLICY_LOADED, Events.T0).type(), recs.get(1).event().orElseThrow().type());
  }

  @Test
  void resumesAfterRestartContinuingSeqAndChain() {
    Path base = dir.resolve("audit.jsonl");
    try (FileAuditSink s = sink(base).open()) {
      s.write(Events.batch(0, 3));
    }
    try (FileAuditSink s = sink(base).open()) {
      assertEquals(4, s.lastSeq(), "3 events + seal");
      assertEquals(5, s.append(List.of(Events.full(3))));
    }
    VerificationResult r = verify(base);
    assertEquals(VerificationResult.Status.SEALED, r.status(), r.message());
    assertEquals(6, r.lastSeq());
  }

  @Test
  void periodicCheckpointsAreSigned() {
    Path base = dir.resolve("audit.jsonl");
    try (FileAuditSink s = sink(base).checkpointEvery(3).open()) {
      for (int i = 0; i < 7; i++) {
        s.write(List.of(Events.full(i)));
      }
    }
    List<AuditRecord> cps = AuditQuery.builder().type("CHECKPOINT").build().run(List.of(base)).records();
    assertEquals(List.of(4L, 8L, 10L), cps.stream().map(AuditRecord::seq).toList());
    assertEquals(List.of("periodic", "periodic", "seal"), cps.stream().map(c -> c.checkpointKind().orElseThrow()).toList());
    assertEquals(AuditKeys.keyId(KEY.getPublic()), cps.get(0).keyId().orElseThrow());
    VerificationResult r = verify(base);
    assertEquals(10, r.lastSignedSeq());
    assertEquals(3, r.checkpoints());
  }

  @Test
  void rollsBySizeAndTheChainContinuesAcrossFiles() throws Exception {
    Path base = dir.resolve("audit.jsonl");
    try (FileAuditSink s = sink(base).maxFileSize(4096).checkpointEvery(10).open()) {
      for (int i = 0; i < 40; i++) {
        s.write(List.of(Events.full(i)));
      }
    }
    List<Path> files = Segments.expand(List.of(base));
    assertTrue(files.size() >= 5, files.toString());
    for (Path f : files) {
      assertTrue(Files.size(f) <= 4096, f + " is " + Files.size(f));
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
    }
    assertEquals(Segments.segment(base, 2), files.get(1));
    VerificationResult r = verify(base);
    assertEquals(VerificationResult.Status.SEALED, r.status(), r.message());
    assertEquals(45, r.lastSeq(), "40 events, 4 checkpoints, 1 seal");
    // resuming picks the last segment
    try (FileAuditSink s = sink(base).maxFileSize(4096).open()) {
      assertEquals(46, s.append(List.of(Events.full(99))));
    }
    assertEquals(VerificationResult.Status.SEALED, verify(base).status());
  }

  @Test
  void concurrentWritersGetGapFreeSequenceNumbersAndEachBatchStaysContiguous() throws Exception {
    Path base = dir.resolve("audit.jsonl");
    int threads = 8;
    int perThread = 200;
    List<Long> acks = new ArrayList<>();
    try (FileAuditSink s = sink(base).checkpointEvery(50).open()) {
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      List<Future<List<Long>>> fs = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        fs.add(pool.submit(() -> {
          List<Long> mine = new ArrayList<>();
          for (int i = 0; i < perThread; i++) {
            mine.add(s.append(Events.batch(i, 2)));
          }
          return mine;
        }));
      }
      for (Future<List<Long>> f : fs) {
        acks.addAll(f.get());
      }
      pool.shutdown();
    }
    assertEquals(threads * perThread, new HashSet<>(acks).size(), "every batch got its own last seq");
    List<AuditRecord> recs = AuditQuery.builder().build().run(List.of(base)).records();
    assertEquals(threads * perThread * 2, recs.size());
    Set<Long> seqs = new HashSet<>();
    recs.forEach(r -> seqs.add(r.seq()));
    for (long ack : acks) {
      assertTrue(seqs.contains(ack) && seqs.contains(ack - 1), "batch ending at " + ack + " is contiguous");
    }
    VerificationResult r = verify(base);
    assertEquals(VerificationResult.Status.SEALED, r.status(), r.message());
  }

  @Test
  void closedSinkFailsClosed() {
    Path base = dir.resolve("audit.jsonl");
    FileAuditSink s = sink(base).open();
    s.close();
    s.close();
    AuditException e = assertThrows(AuditException.class, () -> s.write(List.of(Events.full(1))));
    assertTrue(e.getMessage().contains("closed"), e.getMessage());
  }

  @Test
  void aFailedWriteIsCutBackAndLaterWritesSucceedOnceTheCauseIsGone() throws Exception {
    Path base = dir.resolve("audit.jsonl");
    Path obstacle = Files.createDirectory(Segments.segment(base, 2)); // the roll target cannot be created
    Files.writeString(obstacle.resolve("not-ours"), "x");
    FileAuditSink s = sink(base).maxFileSize(4096).checkpointEvery(1000).open();
    long acked = 0;
    AuditException failure = null;
    for (int i = 0; i < 100 && failure == null; i++) {
      try {
        acked = s.append(List.of(Events.full(i)));
      } catch (AuditException e) {
        failure = e;
      }
    }
    assertTrue(failure != null && failure.getMessage().contains("cannot write audit log")
        && failure.getMessage().contains("cut back to its last acknowledged record (seq " + acked + ")"),
        String.valueOf(failure));
    long size = Files.size(base);
    // while the cause remains every write fails the same way and leaves the log as it was
    for (int i = 0; i < 3; i++) {
      int n = 1_000_000 + i; // longer than any record that fitted
      AuditException again = assertThrows(AuditException.class, () -> s.write(List.of(Events.full(n))));
      assertTrue(again.getMessage().contains("cut back"), again.getMessage());
      assertEquals(size, Files.size(base));
      assertTrue(Files.exists(obstacle.resolve("not-ours")), "a file the sink did not create is never deleted");
    }
    VerificationResult meanwhile = AuditVerifier.withPublicKey(KEY.getPublic()).verify(List.of(base));
    assertEquals(VerificationResult.Status.OPEN, meanwhile.status(), meanwhile.message());
    assertEquals(acked, meanwhile.lastSeq());
    // the cause gone, the same sink continues the chain
    Files.delete(obstacle.resolve("not-ours"));
    Files.delete(obstacle);
    long next = s.append(List.of(Events.full(500)));
    assertEquals(acked + 1, next, "no sequence number was used by the failed writes");
    s.close();
    VerificationResult r = AuditVerifier.withPublicKey(KEY.getPublic()).verify(Segments.existing(base).values().stream()
        .collect(java.util.stream.Collectors.toList()));
    assertEquals(VerificationResult.Status.SEALED, r.status(), r.message());
    assertTrue(r.lastSeq() > next, r.lastSeq() + " vs " + next);
  }

  @Test
  void aSealThatCannotBeWrittenLeavesTheLogUnsealedButNotTorn() throws Exception {
    Path base = dir.resolve("audit.jsonl");
    FileAuditSink s = sink(base).maxFileSize(4096).checkpointEvery(1000).open();
    Files.createDirectory(Segments.segment(base, 2)); // the roll target cannot be created
    // fill the first segment with small records until one no longer fits: the seal, longer than
    // such a record, must roll, and cannot
    long acked = 0;
    while (true) {
      try {
        acked = s.append(List.of(Events.minimal(AuditEventType.REQUEST_CREATED, Instant.parse("2026-12-03T06:00:00Z"))));
      } catch (AuditException full) {
        break;
      }
    }
    long size = Files.size(base);
    AuditException sealFailed = assertThrows(AuditException.class, s::close);
    assertTrue(sealFailed.getMessage().contains("ends unsealed"), sealFailed.getMessage());
    assertEquals(size, Files.size(base), "no torn seal was left");
    Files.delete(Segments.segment(base, 2));
    VerificationResult r = AuditVerifier.withPublicKey(KEY.getPublic()).verify(List.of(base));
    assertEquals(VerificationResult.Status.OPEN, r.status(), r.message());
    assertEquals(acked, r.lastSeq());
    FileAuditSink reopened = sink(base).maxFileSize(4096).open(); // no truncateTornTail needed
    reopened.close();
  }

  @Test
  void aSecondSinkOnTheSameLogIsRefused() {
    Path base = dir.resolve("audit.jsonl");
    try (FileAuditSink s = sink(base).open()) {
      AuditException e = assertThrows(AuditException.class, () -> sink(base).open());
      assertTrue(e.getMessage().contains("already open"), e.getMessage());
    }
  }

  /** The file as a crash would leave it: records written, no seal (a copy taken while the sink is open). */
  private Path crashImage(int events) throws Exception {
    Path live = dir.resolve("live.jsonl");
    Path image = dir.resolve("audit.jsonl");
    try (FileAuditSink s = sink(live).open()) {
      s.write(Events.batch(0, events));
      Files.copy(live, image);
    }
    return image;
  }

  @Test
  void tornTailIsRefusedByDefaultAndCutWithARecordOnRequest() throws Exception {
    Path base = crashImage(3);
    String torn = "{\"seq\":4,\"time\":\"2026-01-0";
    Files.writeString(base, torn, UTF_8, java.nio.file.StandardOpenOption.APPEND);
    long size = Files.size(base);
    AuditException e = assertThrows(AuditException.class, () -> sink(base).open());
    assertTrue(e.getMessage().contains("torn") && e.getMessage().contains("offset " + (size - torn.length())),
        e.getMessage());
    assertEquals(size, Files.size(base), "refusing changes nothing");
    assertEquals(VerificationResult.Status.TORN_TAIL, verify(base).status());

    try (FileAuditSink s = sink(base).truncateTornTail().open()) {
      assertEquals(4, s.lastSeq(), "recovery checkpoint took seq 4");
      s.write(List.of(Events.full(9)));
    }
    Path side = dir.resolve("audit.jsonl.torn-" + (size - torn.length()));
    assertEquals(torn, Files.readString(side));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(side)));
    AuditRecord recovery = AuditQuery.builder().type("CHECKPOINT").build().run(List.of(base)).records().get(0);
    assertEquals("recovery", recovery.checkpointKind().orElseThrow());
    assertTrue(recovery.json().contains("\"session\":4,") && recovery.json().contains("\"torn\":{\"file\":"
        + "\"audit.jsonl\",\"offset\":" + (size - torn.length()) + ",\"bytes\":" + torn.length() + ",\"sha256\":\""
        + LogFiles.sha256(torn) + "\"}"), recovery.json());
    VerificationResult r = verify(base);
    assertEquals(VerificationResult.Status.SEALED, r.status(), r.message());
  }

  @Test
  void bytesAppendedAfterASealAreCutIntoTheReopenRecord() throws Exception {
    Path base = dir.resolve("audit.jsonl");
    try (FileAuditSink s = sink(base).open()) {
      s.write(Events.batch(0, 3));
    }
    String torn = "garbage";
    Files.writeString(base, torn, UTF_8, java.nio.file.StandardOpenOption.APPEND);
    long size = Files.size(base);
    assertThrows(AuditException.class, () -> sink(base).open());
    assertEquals(size, Files.size(base), "refusing changes nothing");
    try (FileAuditSink s = sink(base).truncateTornTail().open()) {
      assertEquals(4, s.lastSeq(), "the reopen record took the seal's seq 4");
    }
    AuditRecord reopen = AuditQuery.builder().type("CHECKPOINT").build().run(List.of(base)).records().get(0);
    assertEquals("reopen", reopen.checkpointKind().orElseThrow());
    assertTrue(reopen.json().contains("\"bytes\":7,\"sha256\":\"" + LogFiles.sha256(torn) + "\""), reopen.json());
    assertEquals(VerificationResult.Status.SEALED, verify(base).status());
  }

  @Test
  void anUncleanlyClosedLogGetsARecoveryCheckpointOnReopen() {
    Path base = dir.resolve("audit.jsonl");
    FileAuditSink crashed = sink(base).open();
    crashed.write(Events.batch(0, 2));
    // simulate a crash: drop the lock without sealing by copying the file elsewhere
    Path copy = dir.resolve("copy.jsonl");
    try {
      Files.copy(base, copy);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    crashed.close();
    assertEquals(VerificationResult.Status.OPEN, verify(copy).status());
    try (FileAuditSink s = sink(copy).open()) {
      assertEquals(3, s.lastSeq());
    }
    List<AuditRecord> cps = AuditQuery.builder().type("CHECKPOINT").build().run(List.of(copy)).records();
    assertEquals(List.of("recovery", "seal"), cps.stream().map(c -> c.checkpointKind().orElseThrow()).toList());
    assertEquals(VerificationResult.Status.SEALED, verify(copy).status());
  }

  @Test
  void builderIsStrict() {
    Path base = dir.resolve("audit.jsonl");
    IllegalStateException none = assertThrows(IllegalStateException.class, () -> FileAuditSink.builder(base).open());
    assertTrue(none.getMessage().contains("withoutSignatures"), none.getMessage());
    assertThrows(IllegalStateException.class, () -> FileAuditSink.builder(base).signingKey(KEY).withoutSignatures());
    assertThrows(IllegalStateException.class, () -> FileAuditSink.builder(base).signingKey(KEY).signingKey(KEY));
    assertThrows(IllegalStateException.class,
        () -> FileAuditSink.builder(base).withoutSignatures().checkpointEvery(5).open());
    assertThrows(IllegalArgumentException.class, () -> FileAuditSink.builder(base).checkpointEvery(0));
    assertThrows(IllegalArgumentException.class, () -> FileAuditSink.builder(base).maxFileSize(100));
    KeyPair mismatched = new KeyPair(AuditKeys.generate().getPublic(), KEY.getPrivate());
    assertThrows(AuditFormatException.class, () -> FileAuditSink.builder(base).signingKey(mismatched));
    assertFalse(Files.exists(base), "nothing was created");
  }

  @Test
  void unsignedLogStillSealsAndVerifiesItsChain() {
    Path base = dir.resolve("audit.jsonl");
    try (FileAuditSink s = FileAuditSink.builder(base).withoutSignatures().open()) {
      s.write(Events.batch(0, 3));
    }
    VerificationResult r = AuditVerifier.withoutSignatureCheck().verify(List.of(base));
    assertEquals(VerificationResult.Status.SEALED, r.status(), r.message());
    assertTrue(r.message().contains("NOT checked"), r.message());
    VerificationResult withKey = AuditVerifier.withPublicKey(KEY.getPublic()).verify(List.of(base));
    assertEquals(VerificationResult.Problem.BAD_SIGNATURE, withKey.problem().orElseThrow(), withKey.message());
  }

  @Test
  void toStringNeverShowsTheKey() {
    Path base = dir.resolve("audit.jsonl");
    try (FileAuditSink s = sink(base).open()) {
      String text = s.toString();
      assertTrue(text.contains("keyId="), text);
      String privB64 = java.util.Base64.getEncoder().encodeToString(KEY.getPrivate().getEncoded());
      assertFalse(text.contains(privB64.substring(privB64.length() - 20)), text);
    }
  }
}
