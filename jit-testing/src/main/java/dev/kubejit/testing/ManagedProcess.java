package dev.kubejit.testing;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** One child process whose stdout and stderr go to a log file; never inherits the JVM's IO. */
final class ManagedProcess {
  private static final int TAIL_BYTES = 6 * 1024;

  private final String name;
  private final Path log;
  private final Process process;

  private ManagedProcess(String name, Path log, Process process) {
    this.name = name;
    this.log = log;
    this.process = process;
  }

  /**
   * Starts {@code command} with output appended to {@code log}; null values in {@code extraEnv}
   * unset a variable.
   */
  static ManagedProcess start(
      String name, List<String> command, Path workDir, Path log, Map<String, String> extraEnv) {
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.directory(workDir.toFile());
    pb.redirectErrorStream(true);
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    pb.redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
    // A null value removes the variable from the inherited environment.
    extraEnv.forEach(
        (k, v) -> {
          if (v == null) {
            pb.environment().remove(k);
          } else {
            pb.environment().put(k, v);
          }
        });
    try {
      return new ManagedProcess(name, log, pb.start());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + name + " (" + command.get(0) + ")", e);
    }
  }

  String name() {
    return name;
  }

  Path log() {
    return log;
  }

  long pid() {
    return process.pid();
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** Exit code, or -1 if still running. */
  int exitCodeOrMinusOne() {
    return process.isAlive() ? -1 : process.exitValue();
  }

  /** Sends SIGTERM without waiting. */
  void terminate() {
    process.destroy();
  }

  /** Waits up to {@code millis} for the process to exit; returns whether it has. */
  boolean awaitExit(long millis) {
    try {
      return process.waitFor(Math.max(0, millis), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return !process.isAlive();
    }
  }

  /** Sends SIGKILL without waiting. */
  void kill() {
    process.destroyForcibly();
  }

  /**
   * Stops a group of processes: SIGTERM to all, up to {@code graceMillis} for them to exit, then
   * SIGKILL to the rest and a short wait for the kernel to reap them.
   */
  static void stopAll(List<ManagedProcess> processes, long graceMillis) {
    processes.forEach(ManagedProcess::terminate);
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(graceMillis);
    for (ManagedProcess p : processes) {
      p.awaitExit(TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
    }
    for (ManagedProcess p : processes) {
      if (p.isAlive()) {
        p.kill();
        p.awaitExit(2_000);
      }
    }
  }

  /** The last few kilobytes of the log, for error messages. */
  String tail() {
    try {
      if (!Files.exists(log)) {
        return "(no log)";
      }
      try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "r")) {
        long len = f.length();
        long from = Math.max(0, len - TAIL_BYTES);
        byte[] buf = new byte[(int) (len - from)];
        f.seek(from);
        f.readFully(buf);
        String s = new String(buf, StandardCharsets.UTF_8);
        if (from > 0) {
          int nl = s.indexOf('\n');
          s = "..." + (nl >= 0 ? s.substring(nl) : s);
        }
        return s;
      }
    } catch (IOException e) {
      return "(cannot read " + log + ": " + e + ")";
    }
  }

  /** Whether the log mentions a port clash, which justifies one retry with fresh ports. */
  boolean logMentionsPortClash() {
    return tail().contains("address already in use");
  }

  @Override
  public String toString() {
    return name + "[pid=" + process.pid() + ", log=" + log + "]";
  }

  /** Removes a shutdown hook unless the JVM is already shutting down (then the hook runs or has run). */
  static void removeShutdownHook(Thread hook) {
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // The JVM is shutting down; the hook runs or has run.
    }
  }

  /** Sleeps; an interrupt is restored and ends the wait with an exception. */
  static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
