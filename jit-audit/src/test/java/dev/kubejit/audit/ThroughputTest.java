package dev.kubejit.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Measures durable (fsync'ed) append throughput once and prints it; asserts only that every record
 * arrived and the log verifies, never a timing. The benchmark proper belongs to the benchmark
 * module.
 */
class ThroughputTest {
  private static final KeyPair KEY = AuditKeys.generate();
  @TempDir Path dir;

  @Test
  void measureDurableAppendThroughput() throws Exception {
    measure(1, 2000);
    measure(8, 1000);
    measure(32, 500);
  }

  private void measure(int writers, int perWriter) throws Exception {
    Path log = dir.resolve("t" + writers + ".jsonl");
    long start;
    long elapsed;
    try (FileAuditSink s = FileAuditSink.builder(log).signingKey(KEY).open()) {
      s.write(List.of(Events.full(0))); // warm up
      ExecutorService pool = Executors.newFixedThreadPool(writers);
      List<Future<?>> fs = new ArrayList<>();
      start = System.nanoTime();
      for (int w = 0; w < writers; w++) {
        fs.add(pool.submit(() -> {
          for (int i = 0; i < perWriter; i++) {
            s.write(List.of(Events.full(i)));
          }
          return null;
        }));
      }
      for (Future<?> f : fs) {
        f.get();
      }
      elapsed = System.nanoTime() - start;
      pool.shutdown();
    }
    long n = (long) writers * perWriter;
    VerificationResult r = AuditVerifier.withPublicKey(KEY.getPublic()).verify(List.of(log));
    assertEquals(VerificationResult.Status.SEALED, r.status(), r.message());
    assertEquals(n + 1, AuditQuery.builder().build().run(List.of(log)).records().size());
    System.out.printf("durable append, %2d writer(s), one event per write: %,d records in %d ms = %,.0f records/s%n",
        writers, n, elapsed / 1_000_000, n * 1e9 / elapsed);
  }
}
