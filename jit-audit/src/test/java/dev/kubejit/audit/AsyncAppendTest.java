package dev.kubejit.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link FileAuditSink#appendAsync}: ordered, durable on completion, fail-closed, no self-wait. */
class AsyncAppendTest {
  private static final KeyPair KEY = AuditKeys.generate();
  @TempDir Path dir;

  private VerificationResult verify(Path base) {
    return AuditVerifier.withPublicKey(KEY.getPublic()).verify(Segments.expand(List.of(base)));
  }

  @Test
  void manyRecordsInFlightCompleteInCallOrderWithContiguousSequenceNumbers() throws Exception {
    Path base = dir.resolve("audit.jsonl");
    List<CompletableFuture<Long>> fs = new ArrayList<>();
    List<AuditEvent> last;
    try (FileAuditSink s = FileAuditSink.builder(base).signingKey(KEY).checkpointEvery(100).open()) {
      for (int i = 0; i < 500; i++) {
        fs.add(s.appendAsync(Events.batch(2 * i, 2)));
      }
      long previous = 0;
      for (CompletableFuture<Long> f : fs) {
        long seq = f.get(30, TimeUnit.SECONDS);
        assertTrue(seq <= s.lastSeq(), "completed only once durable: " + seq + " <= " + s.lastSeq());
        if (previous > 0) {
          assertTrue(seq > previous, seq + " after " + previous);
        }
        previous = seq;
      }
      last = Events.batch(1000, 1);
      assertTrue(s.append(last) > previous, "a synchronous append follows the async ones");
    }
    List<AuditRecord> recs = AuditQuery.builder().build().run(List.of(base)).records();
    assertEquals(1001, recs.size());
    VerificationResult r = verify(base);
    assertEquals(VerificationResult.Status.SEALED, r.status(), r.message());
  }

  @Test
  void closeWritesWhatIsInFlightAndCompletesEveryFuture() throws Exception {
    Path base = dir.resolve("audit.jsonl");
    List<CompletableFuture<Long>> fs = new ArrayList<>();
    FileAuditSink s = FileAuditSink.builder(base).signingKey(KEY).open();
    for (int i = 0; i < 200; i++) {
      fs.add(s.appendAsync(List.of(Events.full(i))));
    }
    s.close();
    for (CompletableFuture<Long> f : fs) {
      assertTrue(f.isDone() && !f.isCompletedExceptionally(), "done before close returned");
    }
    assertTrue(fs.get(199).get() >= 200);
    assertEquals(200, AuditQuery.builder().build().run(List.of(base)).records().size());
    assertEquals(VerificationResult.Status.SEALED, verify(base).status());
  }

  @Test
  void aClosedSinkFailsTheFutureAndAnEmptyBatchCompletesWithTheLastSeq() throws Exception {
    Path base = dir.resolve("audit.jsonl");
    FileAuditSink s = FileAuditSink.builder(base).signingKey(KEY).open();
    s.append(Events.batch(0, 3));
    assertEquals(3, s.appendAsync(List.of()).get());
    assertThrows(NullPointerException.class, () -> s.appendAsync(null));
    assertThrows(NullPointerException.class, () -> s.appendAsync(Arrays.asList(Events.full(1), null)));
    s.close();
    CompletableFuture<Long> f = s.appendAsync(List.of(Events.full(9)));
    ExecutionException e = assertThrows(ExecutionException.class, f::get);
    assertInstanceOf(AuditException.class, e.getCause());
    assertTrue(e.getCause().getMessage().contains("closed"), e.getCause().getMessage());
    assertEquals(3 + 0, AuditQuery.builder().build().run(List.of(base)).records().size());
  }

  @Test
  void anIoFailureFailsThePendingFuturesAndTheChainContinuesOnceItsCauseIsGone() throws Exception {
    Path base = dir.resolve("audit.jsonl");
    Files.createDirectory(Segments.segment(base, 2)); // the roll target cannot be created
    FileAuditSink s = FileAuditSink.builder(base).signingKey(KEY).maxFileSize(4096).open();
    List<CompletableFuture<Long>> fs = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      fs.add(s.appendAsync(List.of(Events.full(i))));
    }
    long acked = 0;
    int failed = 0;
    for (CompletableFuture<Long> f : fs) {
      try {
        acked = Math.max(acked, f.get(30, TimeUnit.SECONDS));
      } catch (ExecutionException e) {
        assertInstanceOf(AuditException.class, e.getCause());
        failed++;
      }
    }
    assertTrue(failed > 0, "the roll failed");
    // the failed groups were cut back: the log takes records until one needs the roll again
    int k = 0;
    while (true) {
      try {
        acked = s.appendAsync(List.of(Events.full(1_000_000 + k++))).get(30, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        assertTrue(e.getCause().getMessage().contains("cut back"), e.getCause().getMessage());
        break;
      }
      assertTrue(k < 100, "the roll never failed again");
    }
    ExecutionException later = assertThrows(ExecutionException.class,
        () -> s.appendAsync(List.of(Events.full(2_000_000))).get());
    assertTrue(later.getCause().getMessage().contains("cut back"), later.getCause().getMessage());
    Files.delete(Segments.segment(base, 2));
    assertEquals(acked + 1, s.appendAsync(List.of(Events.full(1))).get(30, TimeUnit.SECONDS),
        "the cause gone, the chain continues after the last acknowledged record");
    s.close();
    VerificationResult r = verify(base);
    assertEquals(VerificationResult.Status.SEALED, r.status(), r.message());
    assertTrue(r.lastSeq() > acked, r.lastSeq() + " vs " + acked);
  }

  @Test
  void aSynchronousAppendFromAStageOnTheWriterThreadIsRefusedInsteadOfDeadlocking() throws Exception {
    Path base = dir.resolve("audit.jsonl");
    int[] queuedTotal = new int[1];
    try (FileAuditSink s = FileAuditSink.builder(base).signingKey(KEY).open()) {
      // A backlog, so that the stage is attached before the last future completes (on the writer
      // thread). On a fast disk the writer can drain it first, and the stage then runs at once on
      // this thread: that attempt appends nothing and the next one adds a backlog.
      java.util.concurrent.atomic.AtomicReference<String> ranOn = new java.util.concurrent.atomic.AtomicReference<>();
      CompletableFuture<Long> last = null;
      CompletableFuture<Long> nested = null;
      int queued = 0;
      String self = Thread.currentThread().getName();
      for (int attempt = 0; attempt < 50 && (nested == null || self.equals(ranOn.get())); attempt++) {
        ranOn.set(null);
        for (int i = 0; i < 2000; i++) {
          last = s.appendAsync(List.of(Events.full(queued++)));
        }
        nested = last.thenApply(seq -> {
          ranOn.set(Thread.currentThread().getName());
          return self.equals(ranOn.get()) ? -1L : s.append(List.of(Events.full(-1)));
        });
      }
      assertFalse(self.equals(ranOn.get()), "the writer drained every backlog before the stage was attached");
      queuedTotal[0] = queued;
      CompletionException e = assertThrows(CompletionException.class, nested::join);
      assertInstanceOf(IllegalStateException.class, e.getCause());
      assertTrue(ranOn.get().startsWith("kubejit-audit-writer"), ranOn.get());
      // The writer is unharmed, and asynchronous stages may append.
      long lastSeq = last.get();
      long next = last.thenComposeAsync(seq -> s.appendAsync(List.of(Events.full(-2)))).get(30, TimeUnit.SECONDS);
      assertTrue(next > lastSeq, next + " > " + lastSeq);
      assertTrue(s.append(List.of(Events.full(-3))) > next);
    }
    assertEquals(VerificationResult.Status.SEALED, verify(base).status());
    assertEquals(queuedTotal[0] + 2, AuditQuery.builder().build().run(List.of(base)).records().size(),
        "the refused append wrote nothing");
  }
}
