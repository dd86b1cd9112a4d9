package dev.kubejit.testing;

import dev.kubejit.api.RequestId;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.spi.RequestStore;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * The child JVM of {@link SharedRequestStoreContract}'s interrupted-write test: opens the store with
 * the named {@link StoreOpener}, then replaces one record with its next version as fast as it can,
 * printing {@code wrote N} after each acknowledged write, until it is killed.
 *
 * <p>Arguments: opener class, request id, maximum writes, then the opener's arguments.
 */
public final class StoreWriterMain {
  private StoreWriterMain() {}

  /**
   * Runs the writer.
   *
   * @throws Exception on any failure; the JVM then exits non-zero
   */
  public static void main(String[] args) throws Exception {
    if (args.length < 3) {
      throw new IllegalArgumentException("usage: StoreWriterMain OPENER REQUEST-ID MAX-WRITES [OPENER-ARGS...]");
    }
    StoreOpener opener = (StoreOpener) Class.forName(args[0]).getConstructor().newInstance();
    RequestId id = RequestId.parse(args[1]);
    long max = Long.parseLong(args[2]);
    List<String> openerArgs = Arrays.asList(args).subList(3, args.length);
    RequestStore store = opener.open(openerArgs);
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    out.println("open");
    for (long i = 0; i < max; i++) {
      RequestRecord current = store.find(id).orElseThrow(() -> new IllegalStateException("no record " + id));
      RequestRecord next = InterruptedWrites.at(current, current.version() + 1);
      if (!store.replace(current, next)) {
        throw new IllegalStateException("lost a compare-and-set with nobody else writing, at version " + current.version());
      }
      out.println("wrote " + next.version());
    }
    out.println("done");
    System.exit(0);
  }
}
