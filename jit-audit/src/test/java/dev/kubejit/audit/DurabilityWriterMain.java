package dev.kubejit.audit;

import dev.kubejit.api.AuditEvent;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/**
 * Child process for {@link DurabilityTest}: writes single-event batches from several threads
 * until killed (or until its stdin closes) and prints {@code ack <seq> <eventId>} (flushed) as soon
 * as each write returns.
 */
public final class DurabilityWriterMain {
  private DurabilityWriterMain() {}

  /** Args: log path, private key PEM, thread count. */
  public static void main(String[] args) throws Exception {
    FileAuditSink sink = FileAuditSink.builder(Path.of(args[0])).signingKey(AuditKeys.readKeyPair(Path.of(args[1])))
        .checkpointEvery(100).maxFileSize(256 * 1024).truncateTornTail().open();
    PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false, "UTF-8");
    int threads = Integer.parseInt(args[2]);
    for (int t = 0; t < threads; t++) {
      int id = t;
      Thread th = new Thread(() -> {
        for (int i = 0; ; i++) {
          AuditEvent e = Events.full(id * 1_000_000 + i);
          long seq = sink.append(List.of(e));
          synchronized (out) {
            out.println("ack " + seq + " " + e.id());
            out.flush();
          }
        }
      });
      th.start();
    }
    // Runs until the test kills it; if the test JVM dies first, stdin reaches EOF and this exits.
    while (System.in.read() >= 0) {
      // discard
    }
    System.exit(3);
  }
}
