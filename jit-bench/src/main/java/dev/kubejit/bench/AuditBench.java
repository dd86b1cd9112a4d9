package dev.kubejit.bench;

import dev.kubejit.api.Action;
import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.Decision;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Identity;
import dev.kubejit.api.RequestId;
import dev.kubejit.audit.AuditKeys;
import dev.kubejit.audit.FileAuditSink;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * Item 6: durable audit records per second through {@link FileAuditSink} (signed checkpoints every
 * 1,000 records, the default) with 1, 8 and 64 concurrent writers of one record each, and one
 * writer using {@link FileAuditSink#appendAsync} with up to 1,024 records in flight; against one
 * {@code write} + {@code fdatasync} per record and against unsynced writes of a line of the same
 * size, in the same directory. The directory is {@code -Dkubejit.bench.dir} (default: the
 * working directory's {@code target/bench-data}).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class AuditBench {
  static final int IN_FLIGHT = 1024;

  static Path dataDir() throws IOException {
    Path root = Path.of(System.getProperty("kubejit.bench.dir", "target/bench-data"));
    Files.createDirectories(root);
    return Files.createTempDirectory(root.toAbsolutePath(), "audit-");
  }

  static void deleteTree(Path dir) throws IOException {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  /** Appends made by {@link #warmSinkCode} (at the JIT's threshold for full optimisation). */
  static final int WARM_APPENDS = 5_000;
  private static volatile boolean sinkCodeWarm;

  /**
   * Warm-up by count for the sink's own code (encoding, hashing, signing checkpoints, the group
   * commit), once per JVM: {@value #WARM_APPENDS} appends to a throwaway signed sink on {@code
   * /dev/shm}, where an fsync costs nothing, so that the measured appends on the real disk run
   * compiled code. Timed warm-up alone makes only a few hundred durable appends, and an
   * interpreted append costs CPU that one {@code fdatasync} does not. Bounded by {@code
   * -Dkubejit.bench.warmMillis} like the other warm-ups; skipped where there is no {@code
   * /dev/shm}.
   */
  static synchronized void warmSinkCode() throws IOException {
    Path shm = Path.of("/dev/shm");
    if (sinkCodeWarm || !Files.isDirectory(shm) || !Files.isWritable(shm)) {
      return;
    }
    Path dir = Files.createTempDirectory(shm, "kubejit-bench-warm-");
    try (FileAuditSink warm = FileAuditSink.builder(dir.resolve("audit.jsonl")).signingKey(AuditKeys.generate()).open()) {
      List<List<AuditEvent>> ev = events(64);
      long start = System.nanoTime();
      for (int i = 0; i < WARM_APPENDS && (Warm.MILLIS <= 0 || System.nanoTime() - start < Warm.MILLIS * 1_000_000); i++) {
        warm.append(ev.get(i & 63));
      }
    } finally {
      deleteTree(dir);
    }
    sinkCodeWarm = true;
  }

  static List<List<AuditEvent>> events(int n) {
    List<List<AuditEvent>> out = new ArrayList<>(n);
    Instant t = Instant.parse("2026-01-01T09:00:00Z");
    for (int i = 0; i < n; i++) {
      out.add(List.of(AuditEvent.builder(AuditEventType.COMMAND_ALLOWED, t.plusMillis(i))
          .actor(Identity.of("alice", List.of("oncall-payments")))
          .requestId(RequestId.random()).grantId(GrantId.random())
          .scope(dev.kubejit.api.Scope.namespace("prod-eu", "payments").withPod("api-0"))
          .action(Action.EXEC)
          .decision(Decision.builder(Decision.Outcome.ALLOW, "tail is allowed by rule tail-logs").ruleId("tail-logs")
              .policy("ab".repeat(32), "git:0123abc").build())
          .attribute("command", "tail -n 100 /var/log/app/payments.log").build()));
    }
    return out;
  }

  /** One sink shared by all writer threads of a run. */
  @State(Scope.Benchmark)
  public static class Sink {
    Path dir;
    FileAuditSink sink;
    final List<List<AuditEvent>> events = events(4096);

    @Setup(Level.Trial)
    public void open() throws IOException {
      warmSinkCode();
      dir = dataDir();
      sink = FileAuditSink.builder(dir.resolve("audit.jsonl")).signingKey(AuditKeys.generate()).open();
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
      sink.close();
      deleteTree(dir);
    }
  }

  /** Per writer thread: which event to write next, and (async) the records in flight. */
  @State(Scope.Thread)
  public static class Writer {
    int next;
    final ArrayDeque<CompletableFuture<Long>> inFlight = new ArrayDeque<>();

    @TearDown(Level.Iteration)
    public void drain() {
      while (!inFlight.isEmpty()) {
        inFlight.poll().join();
      }
    }
  }

  /** A file for the references, and a line as long as one of the sink's event records. */
  @State(Scope.Thread)
  public static class RawFile {
    Path dir;
    FileChannel channel;
    ByteBuffer line;

    @Setup(Level.Trial)
    public void open() throws IOException {
      dir = dataDir();
      List<AuditEvent> one = events(1).get(0);
      Path probe = dir.resolve("probe.jsonl");
      try (FileAuditSink s = FileAuditSink.builder(probe).withoutSignatures().open()) {
        s.write(one);
      }
      String id = one.get(0).id();
      String record = Files.readAllLines(probe).stream().filter(l -> l.contains(id)).findFirst().orElseThrow();
      line = ByteBuffer.wrap((record + "\n").getBytes(StandardCharsets.UTF_8));
      channel = FileChannel.open(dir.resolve("raw.jsonl"), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
      channel.close();
      deleteTree(dir);
    }
  }

  private static long append(Sink s, Writer w) {
    return s.sink.append(s.events.get(w.next++ & 4095));
  }

  @Benchmark
  @Threads(1)
  public long sinkWriters1(Sink s, Writer w) {
    return append(s, w);
  }

  @Benchmark
  @Threads(8)
  public long sinkWriters8(Sink s, Writer w) {
    return append(s, w);
  }

  @Benchmark
  @Threads(64)
  public long sinkWriters64(Sink s, Writer w) {
    return append(s, w);
  }

  /** One writer, asynchronously: a record counts once it is submitted; at most IN_FLIGHT are not yet durable. */
  @Benchmark
  @Threads(1)
  public Object sinkAsync1(Sink s, Writer w) {
    w.inFlight.add(s.sink.appendAsync(s.events.get(w.next++ & 4095)));
    if (w.inFlight.size() > IN_FLIGHT) {
      return w.inFlight.poll().join();
    }
    return null;
  }

  /** Reference: write the line and fdatasync it, one record at a time. */
  @Benchmark
  @Threads(1)
  public long fsyncPerRecord(RawFile f) throws IOException {
    f.line.rewind();
    int n = f.channel.write(f.line);
    f.channel.force(false);
    return n;
  }

  /** Ceiling: write the line, never sync (page cache only). */
  @Benchmark
  @Threads(1)
  public long unsynced(RawFile f) throws IOException {
    f.line.rewind();
    return f.channel.write(f.line);
  }
}
