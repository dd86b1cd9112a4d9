package dev.kubejit.testing;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.ApprovalRequirement;
import dev.kubejit.api.Decision;
import dev.kubejit.api.EndCause;
import dev.kubejit.api.Identity;
import dev.kubejit.api.IncompatibleStoreException;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.Scope;
import dev.kubejit.api.spi.RequestStore;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a {@link RequestStore} must guarantee when several store instances — several broker
 * replicas, processes or machines — share one backing store (a database, a Kubernetes API
 * server). Extend it with {@link #newBacking()}; each test gets a new, empty backing store.
 *
 * <ul>
 *   <li>writes of one instance are seen by the others, and compare-and-set holds across them:
 *       of many concurrent writers from the same version, on two instances, exactly one wins;
 *   <li>two instances inserting the same id: exactly one succeeds;
 *   <li>a record written by a newer KubeJIT (a payload format above the code's) is refused with
 *       {@link IncompatibleStoreException}, never half-read, and not overwritten; a backing store
 *       whose schema is newer than the code is refused when a store is opened on it;
 *   <li>a writer in a child JVM SIGKILLed while it writes leaves the record at a version it wrote
 *       whole (old or new, never a mix of two), consistent across lookups by id, grant and window.
 * </ul>
 */
public abstract class SharedRequestStoreContract {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  private static final Duration CHILD_DEADLINE = Duration.ofSeconds(90);
  private static final String EOF = "\u0000eof";

  /** Where the child JVM's standard error goes. */
  @TempDir protected Path tempDir;

  private Backing backing;
  private final List<RequestStore> opened = new ArrayList<>();

  /** Creates the test class. */
  protected SharedRequestStoreContract() {}

  /** A backing store that several store instances share, new and empty for each test. */
  public interface Backing extends AutoCloseable {
    /**
     * Opens a new store instance on this backing store with its own connections or client, as
     * another replica would; the test may open several.
     *
     * @throws IncompatibleStoreException if the backing store's schema is newer than the code
     */
    RequestStore open() throws Exception;

    /**
     * Writes {@code record} over the stored record with the same id the way a newer KubeJIT would:
     * its payload format is one above the highest this code reads, and its version one above the
     * stored one.
     */
    void writeAsNewerFormat(RequestRecord record) throws Exception;

    /** Marks the backing store's schema as written by a newer KubeJIT than this code. */
    void upgradeSchemaBeyondCode() throws Exception;

    /** How a child JVM opens a store on this backing store. */
    ChildStore child();

    /** Releases the backing store (drops the database, deletes the namespace, ...). */
    @Override
    void close() throws Exception;
  }

  /** Returns a new, empty backing store for one test. */
  protected abstract Backing newBacking() throws Exception;

  @BeforeEach
  final void createBacking() throws Exception {
    backing = newBacking();
  }

  @AfterEach
  final void closeBacking() throws Exception {
    for (RequestStore s : opened) {
      if (s instanceof AutoCloseable) {
        ((AutoCloseable) s).close();
      }
    }
    opened.clear();
    if (backing != null) {
      backing.close();
    }
  }

  /** Opens a store instance on the test's backing store; closed after the test if it is closeable. */
  protected final RequestStore open() throws Exception {
    RequestStore s = backing.open();
    opened.add(s);
    return s;
  }

  /** The test's backing store. */
  protected final Backing backing() {
    return backing;
  }

  private static RequestRecord pending(String user) {
    AccessRequest request = AccessRequest.builder().requester(Identity.of(user, "oncall")).role("oncall-debug")
        .action(Action.EXEC).scope(Scope.namespace("prod", "payments")).ticket("INC-1").build();
    Decision decision = Decision.builder(Decision.Outcome.NEEDS_APPROVAL, "needs approval")
        .grantedDuration(Duration.ofMinutes(30), false)
        .approval(ApprovalRequirement.of(List.of("sre-leads"), 1)).build();
    return RequestRecord.builder().id(RequestId.random()).request(request).decision(decision)
        .state(RequestState.PENDING_APPROVAL).window(T0, T0.plus(Duration.ofHours(1))).version(1).build();
  }

  private static RequestRecord revoked(RequestRecord r, String reason) {
    return r.toBuilder().state(RequestState.REVOKED).ended(EndCause.REVOKED, T0, null, reason)
        .version(r.version() + 1).build();
  }

  /** What one instance writes, another reads; a stale write from either loses. */
  @Test
  public void writesAreSharedBetweenInstances() throws Exception {
    RequestStore a = open();
    RequestStore b = open();
    RequestRecord v1 = pending("alice");
    a.insert(v1);
    assertEquals(v1, b.find(v1.id()).orElseThrow());
    RequestRecord v2 = InterruptedWrites.at(v1, 2);
    assertTrue(b.replace(v1, v2));
    assertEquals(v2, a.find(v1.id()).orElseThrow());
    assertEquals(v2, a.findByGrant(v2.grant().orElseThrow().id()).orElseThrow());
    assertEquals(List.of(v2), a.list(EnumSet.of(RequestState.ACTIVE)));
    assertEquals(List.of(v2), a.listEndingBy(v2.windowEnd().orElseThrow()));
    assertFalse(a.replace(v1, revoked(v1, "stale")), "a write from version 1 must lose once version 2 is stored");
    assertEquals(v2, b.find(v1.id()).orElseThrow());
  }

  /** Writers on two instances race from the same version, on many records: one wins each. */
  @Test
  public void concurrentCompareAndSetAcrossInstancesHasOneWinner() throws Exception {
    RequestStore a = open();
    RequestStore b = open();
    int records = 20;
    int writersPerInstance = 8;
    ExecutorService pool = Executors.newFixedThreadPool(2 * writersPerInstance);
    try {
      for (int n = 0; n < records; n++) {
        RequestRecord v1 = pending("user" + n);
        (n % 2 == 0 ? a : b).insert(v1);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<String>> results = new ArrayList<>();
        for (int w = 0; w < 2 * writersPerInstance; w++) {
          RequestStore s = w % 2 == 0 ? a : b;
          String reason = "writer-" + w;
          results.add(pool.submit(() -> {
            start.await();
            return s.replace(v1, revoked(v1, reason)) ? reason : null;
          }));
        }
        start.countDown();
        List<String> winners = new ArrayList<>();
        for (Future<String> f : results) {
          String won = f.get(60, TimeUnit.SECONDS);
          if (won != null) {
            winners.add(won);
          }
        }
        assertEquals(1, winners.size(), "record " + n + ": winners " + winners);
        RequestRecord stored = a.find(v1.id()).orElseThrow();
        assertEquals(revoked(v1, winners.get(0)), stored, "the stored record is the winner's write");
        assertEquals(stored, b.find(v1.id()).orElseThrow());
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /** Two instances inserting the same id at once: exactly one succeeds, the other is refused. */
  @Test
  public void concurrentInsertOfOneIdHasOneWinner() throws Exception {
    RequestStore a = open();
    RequestStore b = open();
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      for (int n = 0; n < 10; n++) {
        RequestRecord r = pending("user" + n);
        RequestRecord fromB = r.toBuilder().reviewRequired(true).build();
        CountDownLatch start = new CountDownLatch(1);
        AtomicInteger refused = new AtomicInteger();
        List<Future<?>> fs = new ArrayList<>();
        for (RequestStore s : List.of(a, b)) {
          RequestRecord mine = s == a ? r : fromB;
          fs.add(pool.submit(() -> {
            start.await();
            try {
              s.insert(mine);
            } catch (IllegalStateException duplicate) {
              refused.incrementAndGet();
            }
            return null;
          }));
        }
        start.countDown();
        for (Future<?> f : fs) {
          f.get(60, TimeUnit.SECONDS);
        }
        assertEquals(1, refused.get(), "exactly one of two inserts of " + r.id() + " is refused");
        RequestRecord stored = a.find(r.id()).orElseThrow();
        assertTrue(stored.equals(r) || stored.equals(fromB), "the stored record is one of the two, whole");
        assertEquals(stored, b.find(r.id()).orElseThrow());
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /** A record a newer KubeJIT wrote is refused by every read, and this code does not overwrite it. */
  @Test
  public void recordWithNewerPayloadFormatIsRefused() throws Exception {
    RequestStore a = open();
    RequestRecord v1 = pending("alice");
    RequestRecord other = pending("bob");
    a.insert(v1);
    a.insert(other);
    backing.writeAsNewerFormat(InterruptedWrites.at(v1, 2));
    RequestStore b = open();
    for (RequestStore s : List.of(a, b)) {
      IncompatibleStoreException e = assertThrows(IncompatibleStoreException.class, () -> s.find(v1.id()));
      assertNotNull(e.getMessage());
      assertTrue(e.getMessage().contains(v1.id().value()), "the message names the record: " + e.getMessage());
      assertThrows(IncompatibleStoreException.class, () -> s.list(EnumSet.allOf(RequestState.class)));
      assertEquals(other, s.find(other.id()).orElseThrow(), "other records stay readable");
    }
    // Whatever replace does (refuse, or lose the compare-and-set), the newer record stays.
    try {
      a.replace(v1, revoked(v1, "old code"));
    } catch (IncompatibleStoreException expected) {
      // refused outright
    }
    assertThrows(IncompatibleStoreException.class, () -> b.find(v1.id()));
  }

  /** A backing store whose schema a newer KubeJIT wrote is refused at open. */
  @Test
  public void newerSchemaIsRefusedAtOpen() throws Exception {
    RequestStore a = open();
    a.insert(pending("alice"));
    backing.upgradeSchemaBeyondCode();
    IncompatibleStoreException e = assertThrows(IncompatibleStoreException.class, () -> open());
    assertNotNull(e.getMessage());
  }

  /**
   * A child JVM replaces one record as fast as it can and is SIGKILLed mid-stream, three times;
   * each time the record is a version that was written whole, at least the last acknowledged one,
   * and every lookup (by id, by grant, by state, by window end) returns that same version.
   */
  @Test
  public void interruptedWriteLeavesOldOrNewNeverAMix() throws Exception {
    RequestStore a = open();
    RequestRecord v1 = pending("alice");
    a.insert(v1);
    long acknowledged = 1;
    for (int round = 0; round < 3; round++) {
      int killAfter = 5 + ThreadLocalRandom.current().nextInt(20);
      acknowledged = Math.max(acknowledged, writeAndKill(v1.id(), killAfter, round));
      RequestStore fresh = open();
      RequestRecord stored = fresh.find(v1.id()).orElseThrow();
      assertTrue(stored.version() >= acknowledged,
          "round " + round + ": version " + stored.version() + " is older than the acknowledged " + acknowledged);
      RequestRecord expected = stored.version() == 1 ? v1 : InterruptedWrites.at(v1, stored.version());
      assertEquals(expected, stored, "round " + round + ": the record is one version, written whole");
      if (stored.version() > 1) {
        assertEquals(stored, fresh.findByGrant(stored.grant().orElseThrow().id()).orElseThrow());
        assertTrue(fresh.findByGrant(InterruptedWrites.grantId(v1, stored.version() + 1)).isEmpty(),
            "no lookup sees the interrupted next version");
        assertEquals(List.of(stored), fresh.list(EnumSet.of(RequestState.ACTIVE)));
        assertEquals(List.of(stored), fresh.listEndingBy(stored.windowEnd().orElseThrow()));
        assertTrue(fresh.listEndingBy(stored.windowEnd().orElseThrow().minusNanos(1)).isEmpty());
      }
      acknowledged = stored.version();
    }
  }

  private long writeAndKill(RequestId id, int killAfter, int round) throws Exception {
    ChildStore child = backing.child();
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(java, "-cp", cp, StoreWriterMain.class.getName(),
        child.openerClass(), id.value(), "1000000"));
    cmd.addAll(child.args());
    Path stderr = tempDir.resolve("writer-" + round + ".err");
    Process p = new ProcessBuilder(cmd).redirectError(stderr.toFile()).start();
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), UTF_8))) {
        for (String line = r.readLine(); line != null; line = r.readLine()) {
          lines.add(line);
        }
      } catch (IOException e) {
        lines.add("read error: " + e);
      } finally {
        lines.add(EOF);
      }
    }, "store-writer-stdout");
    reader.setDaemon(true);
    reader.start();
    long last = 0;
    int writes = 0;
    boolean killed = false;
    try {
      long deadline = System.nanoTime() + CHILD_DEADLINE.toNanos();
      while (true) {
        long left = deadline - System.nanoTime();
        String line = left <= 0 ? null : lines.poll(left, TimeUnit.NANOSECONDS);
        if (line == null) {
          fail("the writer child " + (killed ? "did not close its output after SIGKILL" : "wrote only " + writes
              + " of " + killAfter + " versions") + " within " + CHILD_DEADLINE + "; stderr:\n" + read(stderr));
        }
        if (line.equals(EOF)) {
          break;
        }
        if (line.startsWith("wrote ")) {
          last = Long.parseLong(line.substring(6));
          writes++;
          if (writes == killAfter && !killed) {
            // Let the next write get under way, then SIGKILL (destroyForcibly on the handle keeps
            // our end of the pipe open, so acknowledgements already printed are still read).
            Thread.sleep(ThreadLocalRandom.current().nextInt(3));
            assertTrue(p.toHandle().destroyForcibly(), "SIGKILL was sent");
            killed = true;
          }
        } else if (!line.equals("open")) {
          fail("unexpected output from the writer child: " + line + "; stderr:\n" + read(stderr));
        }
      }
      assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the writer child ended");
      assertTrue(killed, "the writer child ended before it was killed; stderr:\n" + read(stderr));
      assertEquals(137, p.exitValue(), "the writer child died of SIGKILL; stderr:\n" + read(stderr));
      return last;
    } finally {
      p.destroyForcibly();
    }
  }

  private static String read(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file) : "(none)";
    } catch (IOException e) {
      return "(unreadable: " + e + ")";
    }
  }
}
