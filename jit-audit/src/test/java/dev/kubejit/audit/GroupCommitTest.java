package dev.kubejit.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditException;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Concurrency correctness of {@link FileAuditSink}'s group commit, where synchronous writers lead
 * commits themselves and the writer thread commits asynchronous work: every acknowledged record is
 * in the verified chain exactly once, at the sequence number it was acknowledged with; one call's
 * events stay contiguous and in order; one thread's calls stay in call order; closing while
 * writers race loses nothing acknowledged. No timing is asserted.
 */
class GroupCommitTest {
  private static final KeyPair KEY = AuditKeys.generate();
  @TempDir Path dir;

  /** n attribute of every event record, by sequence number. */
  private static Map<Long, Integer> numbersBySeq(Path base) {
    Map<Long, Integer> out = new HashMap<>();
    for (AuditRecord r : AuditQuery.builder().build().run(Segments.expand(List.of(base))).records()) {
      AuditEvent e = r.event().orElseThrow();
      assertEquals(null, out.put(r.seq(), Integer.valueOf(e.attributes().get("n"))), "seq " + r.seq() + " twice");
    }
    return out;
  }

  private VerificationResult verify(Path base) {
    return AuditVerifier.withPublicKey(KEY.getPublic()).verify(Segments.expand(List.of(base)));
  }

  @Test
  void concurrentSynchronousAndAsynchronousWritersEachGetTheirOwnContiguousRecordsInCallOrder() throws Exception {
    Path base = dir.resolve("audit.jsonl");
    int threads = 24;
    int calls = 150;
    int perCall = 3;
    // seq acknowledged for the last event of call (thread, i), as thread * 10_000 + i
    Map<Integer, Long> acked = new ConcurrentHashMap<>();
    try (FileAuditSink s = FileAuditSink.builder(base).signingKey(KEY).checkpointEvery(97).maxFileSize(256 * 1024).open()) {
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      CountDownLatch go = new CountDownLatch(1);
      List<Future<?>> fs = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int thread = t;
        fs.add(pool.submit(() -> {
          go.await();
          List<CompletableFuture<Long>> inFlight = new ArrayList<>();
          long previous = 0;
          for (int i = 0; i < calls; i++) {
            int call = thread * 10_000 + i;
            List<AuditEvent> events = new ArrayList<>();
            for (int k = 0; k < perCall; k++) {
              events.add(Events.full(call * perCall + k));
            }
            if (thread % 3 == 0) { // every third thread appends asynchronously, the others synchronously
              CompletableFuture<Long> f = s.appendAsync(events);
              inFlight.add(f);
              f.thenAccept(seq -> acked.put(call, seq));
            } else {
              long seq = s.append(events);
              assertTrue(seq > previous, "call order: " + seq + " after " + previous);
              assertTrue(seq <= s.lastSeq(), "acknowledged only once durable");
              previous = seq;
              acked.put(call, seq);
            }
          }
          for (CompletableFuture<Long> f : inFlight) {
            f.get(60, TimeUnit.SECONDS);
          }
          return null;
        }));
      }
      go.countDown();
      for (Future<?> f : fs) {
        f.get(120, TimeUnit.SECONDS);
      }
      pool.shutdown();
    }
    VerificationResult r = verify(base);
    assertEquals(VerificationResult.Status.SEALED, r.status(), r.message());
    Map<Long, Integer> bySeq = numbersBySeq(base);
    assertEquals(threads * calls * perCall, bySeq.size(), "every event exactly once");
    assertEquals(threads * calls, acked.size());
    for (int t = 0; t < threads; t++) {
      long previous = 0;
      for (int i = 0; i < calls; i++) {
        int call = t * 10_000 + i;
        long last = acked.get(call);
        assertTrue(last > previous, "thread " + t + " call " + i + " in call order");
        previous = last;
        for (int k = 0; k < perCall; k++) { // the call's events end exactly at its acknowledged seq, contiguous
          assertEquals(call * perCall + k, bySeq.get(last - (perCall - 1) + k), "call " + call + " event " + k);
        }
      }
    }
  }

  @Test
  void anInterruptedWriterLeadingACommitDoesNotFailTheSink() throws Exception {
    Path base = dir.resolve("audit.jsonl");
    Path anchor = dir.resolve("anchor").resolve("audit.anchor");
    // Every append here leads its own group (no other writer); checkpoints and the anchor after
    // each record, and segment rolls, put every kind of I/O of a commit on the interrupted thread.
    try (FileAuditSink s = FileAuditSink.builder(base).signingKey(KEY).checkpointEvery(1).maxFileSize(4096)
        .anchor(anchor).open()) {
      for (int i = 0; i < 20; i++) {
        Thread.currentThread().interrupt();
        long seq = s.append(List.of(Events.full(i)));
        assertTrue(Thread.interrupted(), "the interrupt status is kept for the caller");
        assertTrue(seq <= s.lastSeq());
      }
      assertTrue(s.append(List.of(Events.full(99))) > 0, "the sink still works");
    }
    VerificationResult r = AuditVerifier.withPublicKey(KEY.getPublic()).verify(Segments.expand(List.of(base)));
    assertEquals(VerificationResult.Status.SEALED, r.status(), r.message());
    assertEquals(21, numbersBySeq(base).size());
    assertTrue(Segments.expand(List.of(base)).size() > 1, "segments rolled under interrupts");
  }

  @Test
  void closingWhileWritersRaceLosesNothingAcknowledgedAndRefusesTheRest() throws Exception {
    Path base = dir.resolve("audit.jsonl");
    int threads = 16;
    Map<Integer, Long> acked = new ConcurrentHashMap<>();
    List<Throwable> refused = java.util.Collections.synchronizedList(new ArrayList<>());
    FileAuditSink s = FileAuditSink.builder(base).signingKey(KEY).checkpointEvery(50).open();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    CountDownLatch started = new CountDownLatch(threads);
    List<Future<?>> fs = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int thread = t;
      fs.add(pool.submit(() -> {
        started.countDown();
        for (int i = 0; i < 100_000; i++) {
          int n = thread * 1_000_000 + i;
          try {
            if (thread % 2 == 0) {
              acked.put(n, s.append(List.of(Events.full(n))));
            } else {
              acked.put(n, s.appendAsync(List.of(Events.full(n))).get(60, TimeUnit.SECONDS));
            }
          } catch (AuditException | ExecutionException e) {
            refused.add(e instanceof ExecutionException ? e.getCause() : e);
            return null; // refused once closed: stop
          }
        }
        return null;
      }));
    }
    started.await();
    while (acked.size() < 200) {
      Thread.onSpinWait();
    }
    s.close();
    for (Future<?> f : fs) {
      f.get(120, TimeUnit.SECONDS);
    }
    pool.shutdown();
    assertEquals(threads, refused.size(), "every writer was refused after close: " + refused);
    for (Throwable e : refused) {
      assertInstanceOf(AuditException.class, e);
      assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }
    VerificationResult r = verify(base);
    assertEquals(VerificationResult.Status.SEALED, r.status(), r.message());
    Map<Long, Integer> bySeq = numbersBySeq(base);
    assertEquals(acked.size(), bySeq.size(), "what reached the log is exactly what was acknowledged");
    acked.forEach((n, seq) -> assertEquals(n, bySeq.get(seq), "record " + n + " at its acknowledged seq " + seq));
    assertFalse(bySeq.isEmpty());
  }
}
