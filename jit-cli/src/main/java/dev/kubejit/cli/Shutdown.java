package dev.kubejit.cli;

import java.util.concurrent.CountDownLatch;

/** How the long-running commands ({@code serve}, {@code gateway serve}) stop on SIGTERM or Ctrl-C. */
final class Shutdown {
  private Shutdown() {}

  /**
   * Registers a shutdown hook that runs {@code close} and then opens the returned latch; the
   * command announces itself and awaits the latch, so it returns only once the service is closed.
   */
  static CountDownLatch closeOnShutdown(Runnable close, String hookThreadName) {
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        close.run();
      } finally {
        stopped.countDown();
      }
    }, hookThreadName));
    return stopped;
  }
}
