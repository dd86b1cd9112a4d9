package dev.kubejit.server;

import java.util.Deque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Closes what a service opened, newest first (each resource is pushed as it is opened), trying
 * every one even when an earlier one fails.
 */
final class Closing {
  private static final Logger log = LoggerFactory.getLogger(Closing.class);

  private Closing() {}

  /**
   * Closes everything on {@code opened} at shutdown; a failure is logged and, once all were tried,
   * thrown as one {@link IllegalStateException} carrying the first failure (the others suppressed).
   */
  static void closeAll(Deque<AutoCloseable> opened) {
    IllegalStateException failed = null;
    while (!opened.isEmpty()) {
      try {
        opened.pop().close();
      } catch (Exception e) {
        log.warn("closing {} failed: {}", e.getClass().getSimpleName(), e.getMessage());
        if (failed == null) {
          failed = new IllegalStateException("could not close everything cleanly: " + e.getMessage(), e);
        } else {
          failed.addSuppressed(e);
        }
      }
    }
    if (failed != null) {
      throw failed;
    }
  }

  /**
   * Closes everything on {@code opened} after a start-up that failed with {@code cause}, adding each
   * failure to close as suppressed by it, and returns {@code cause} for the caller to throw.
   */
  static RuntimeException closeAfter(RuntimeException cause, Deque<AutoCloseable> opened) {
    while (!opened.isEmpty()) {
      try {
        opened.pop().close();
      } catch (Exception suppressed) {
        cause.addSuppressed(suppressed);
      }
    }
    return cause;
  }
}
