package dev.kubejit.audit;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Acknowledged means durable: a separate JVM writes a burst from 8 threads, is killed with SIGKILL
 * mid-burst, and every record it acknowledged must be on disk with the chain intact.
 *
 * <p>SIGKILL tests the process-crash case (the kernel keeps written pages); it cannot simulate a
 * power cut, for which the {@code fsync} before acknowledgement is the guarantee.
 */
class DurabilityTest {
  /** The longest any single wait on the child may take. */
  private static final Duration CHILD_DEADLINE = Duration.ofSeconds(60);
  @TempDir Path dir;

  @Test
  void everyAcknowledgedRecordSurvivesSigkill() throws Exception {
    KeyPair key = AuditKeys.generate();
    Path keyFile = AuditKeys.writePrivateKey(key.getPrivate(), dir.resolve("audit.key"));
    Path log = dir.resolve("audit.jsonl");
    for (int round = 0; round < 2; round++) { // the second round resumes the killed log
      Map<Long, String> acked = runAndKill(log, keyFile, 8, 1500 + round * 500, dir.resolve("child-" + round + ".err"));
      VerificationResult r = AuditVerifier.withPublicKey(key.getPublic()).verify(Segments.expand(List.of(log)));
      assertNotEquals(VerificationResult.Status.TAMPERED, r.status(), r.message());
      assertNotEquals(VerificationResult.Status.SEALED, r.status(), "a killed writer cannot have sealed");
      Map<Long, String> onDisk = new HashMap<>();
      for (AuditRecord rec : AuditQuery.builder().build().run(Segments.expand(List.of(log))).records()) {
        onDisk.put(rec.seq(), rec.event().orElseThrow().id());
      }
      for (Map.Entry<Long, String> a : acked.entrySet()) {
        assertEquals(a.getValue(), onDisk.get(a.getKey()), "acknowledged seq " + a.getKey() + " is on disk");
      }
      long maxAck = acked.keySet().stream().mapToLong(Long::longValue).max().orElseThrow();
      assertTrue(r.lastSeq() >= maxAck, r.lastSeq() + " < " + maxAck);
      System.out.println("round " + round + ": " + acked.size() + " acknowledged, last on disk " + r.lastSeq()
          + ", verifier: " + r);
    }
  }

  private static final String EOF = "\u0000eof";

  /**
   * Starts the writer JVM, reads its acknowledgements (on a reader thread; every wait here has a
   * deadline), SIGKILLs it after {@code killAfter} of them, and returns every acknowledgement it
   * printed. The child's stderr goes to {@code stderr} and is shown with any failure.
   */
  private static Map<Long, String> runAndKill(Path log, Path keyFile, int threads, int killAfter, Path stderr)
      throws Exception {
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p = new ProcessBuilder(java, "-cp", cp, DurabilityWriterMain.class.getName(), log.toString(),
        keyFile.toString(), Integer.toString(threads))
        .redirectError(stderr.toFile()).start();
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
    }, "durability-child-stdout");
    reader.setDaemon(true);
    reader.start();
    Map<Long, String> acked = new HashMap<>();
    try {
      long deadline = System.nanoTime() + CHILD_DEADLINE.toNanos();
      boolean killed = false;
      while (true) {
        long left = deadline - System.nanoTime();
        String line = left <= 0 ? null : lines.poll(left, TimeUnit.NANOSECONDS);
        if (line == null) {
          throw new AssertionError("the writer child " + (killed ? "did not close its output after SIGKILL"
              : "acknowledged only " + acked.size() + " of " + killAfter + " records") + " within " + CHILD_DEADLINE
              + "; its stderr:\n" + stderrOf(stderr));
        }
        if (line.equals(EOF)) {
          break;
        }
        String[] f = line.split(" ");
        if (f.length == 3 && f[0].equals("ack")) {
          acked.put(Long.parseLong(f[1]), f[2]);
          if (acked.size() == killAfter) {
            // SIGKILL via the handle: Process.destroyForcibly() would also close our end of the
            // pipe and lose acknowledgements already written to it.
            assertTrue(p.toHandle().destroyForcibly(), "SIGKILL was sent");
            killed = true;
            deadline = System.nanoTime() + CHILD_DEADLINE.toNanos();
          }
        } else {
          throw new AssertionError("unexpected output from the writer child: " + line + "; its stderr:\n"
              + stderrOf(stderr));
        }
      }
    } finally {
      p.destroyForcibly();
    }
    if (!p.waitFor(CHILD_DEADLINE.toSeconds(), TimeUnit.SECONDS)) {
      throw new AssertionError("the writer child did not exit within " + CHILD_DEADLINE + "; its stderr:\n"
          + stderrOf(stderr));
    }
    reader.join(CHILD_DEADLINE.toMillis());
    assertEquals(137, p.exitValue(), "killed by SIGKILL (128 + 9); its stderr:\n" + stderrOf(stderr));
    assertTrue(acked.size() >= killAfter, "child acknowledged " + acked.size() + "; its stderr:\n" + stderrOf(stderr));
    return acked;
  }

  private static String stderrOf(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file, UTF_8) : "(none)";
    } catch (IOException e) {
      return "(unreadable: " + e + ")";
    }
  }
}
