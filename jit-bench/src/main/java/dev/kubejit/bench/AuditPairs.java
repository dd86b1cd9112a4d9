package dev.kubejit.bench;

import dev.kubejit.api.AuditEvent;
import dev.kubejit.audit.AuditKeys;
import dev.kubejit.audit.FileAuditSink;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Item 6, one writer, outside JMH: {@link FileAuditSink#append} by a single thread and one {@code
 * write} + {@code fdatasync} of a line of the same size per record, measured <em>side by side</em>
 * in alternating rounds in one JVM, on the same disk, so that both see the same disk load (the
 * JMH rows measure them in separate forks, seconds apart, and one fsync costs anywhere from 2 to
 * 15 ms on a shared virtual disk). The ratio is the median of the per-round-pair ratios.
 */
final class AuditPairs {
  interface Op {
    void run() throws IOException;
  }

  private AuditPairs() {}

  static Rows run(boolean quick, Path dataDir) {
    Rows rows = Rows.create();
    String what = "6 audit append, 1 writer, side by side with one fdatasync per record (alternating rounds)";
    Path dir = null;
    try {
      Files.createDirectories(dataDir);
      dir = Files.createTempDirectory(dataDir, "audit-pairs-");
      List<List<AuditEvent>> events = AuditBench.events(4096);
      Path probe = dir.resolve("probe.jsonl");
      String id = events.get(0).get(0).id();
      try (FileAuditSink s = FileAuditSink.builder(probe).withoutSignatures().open()) {
        s.write(events.get(0));
      }
      String record = Files.readAllLines(probe).stream().filter(l -> l.contains(id)).findFirst().orElseThrow();
      ByteBuffer line = ByteBuffer.wrap((record + "\n").getBytes(StandardCharsets.UTF_8));
      int rounds = quick ? 4 : 10;
      long roundNanos = (quick ? 500 : 1000) * 1_000_000L;
      try (FileAuditSink sink = FileAuditSink.builder(dir.resolve("audit.jsonl")).signingKey(AuditKeys.generate()).open();
          FileChannel raw = FileChannel.open(dir.resolve("raw.jsonl"), StandardOpenOption.CREATE_NEW,
              StandardOpenOption.WRITE)) {
        int[] next = {0};
        Op viaSink = () -> sink.append(events.get(next[0]++ & 4095));
        Op fdatasync = () -> {
          line.rewind();
          raw.write(line);
          raw.force(false);
        };
        AuditBench.warmSinkCode(); // by count, on /dev/shm: the measured appends run compiled code
        rate(viaSink, roundNanos / 2); // warm-up, not counted
        rate(fdatasync, roundNanos / 2);
        List<Double> s = new ArrayList<>();
        List<Double> f = new ArrayList<>();
        List<Double> ratios = new ArrayList<>();
        for (int i = 0; i < rounds; i++) {
          boolean sinkFirst = i % 2 == 0;
          double a = rate(sinkFirst ? viaSink : fdatasync, roundNanos);
          double b = rate(sinkFirst ? fdatasync : viaSink, roundNanos);
          double sr = sinkFirst ? a : b;
          double fr = sinkFirst ? b : a;
          s.add(sr);
          f.add(fr);
          ratios.add(sr / fr);
        }
        double ratio = Rows.median(ratios);
        List<Double> sorted = new ArrayList<>(ratios);
        sorted.sort(Double::compare);
        rows.add(what, Rows.rate(s, "/s"), "one fdatasync per record: " + Rows.rate(f, "/s"), ratio,
            String.format(Locale.ROOT, "≥ 1× (pair ratios %.2f..%.2f over %d pairs)", sorted.get(0),
                sorted.get(sorted.size() - 1), rounds), ratio >= 1);
        System.err.printf(Locale.ROOT, "audit pairs: sink %.0f/s, fdatasync %.0f/s, ratio %.2f%n", Rows.median(s),
            Rows.median(f), ratio);
      }
    } catch (IOException | RuntimeException e) {
      rows.notRun(what, "failed: " + e);
    } finally {
      try {
        AuditBench.deleteTree(dir);
      } catch (IOException e) {
        System.err.println("audit pairs: could not delete " + dir + ": " + e);
      }
    }
    return rows;
  }

  /** Runs op for about the given time; returns operations per second. */
  private static double rate(Op op, long nanos) throws IOException {
    long start = System.nanoTime();
    long end = start + nanos;
    long n = 0;
    long now = start;
    while (now < end) {
      op.run();
      n++;
      now = System.nanoTime();
    }
    return n * 1e9 / (now - start);
  }
}
