package dev.kubejit.audit;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs real tools (jq, sha256sum, openssl, bash) for tests: stdout and stderr go to files in the
 * test's own directory, every wait has a deadline, and a failure shows the command's stderr.
 */
final class Tools {
  static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);
  private static final AtomicInteger COUNTER = new AtomicInteger();

  /** What a finished command left. */
  record Outcome(int exit, String stdout, String stderr, String command) {
    String describe() {
      return command + " exited " + exit + "; stderr: " + stderr + "; stdout: " + stdout;
    }
  }

  private Tools() {}

  /** Runs {@code cmd} in {@code dir} and returns its stdout; fails unless it exits 0 within the default timeout. */
  static String run(Path dir, String... cmd) {
    Outcome o = outcome(dir, DEFAULT_TIMEOUT, cmd);
    if (o.exit() != 0) {
      throw new AssertionError(o.describe());
    }
    return o.stdout();
  }

  /** Runs {@code bash -c script} in {@code dir} (arguments as $1, $2, ...) and returns its stdout; must exit 0. */
  static String bash(Path dir, String script, String... args) {
    String[] cmd = new String[args.length + 4];
    cmd[0] = "bash";
    cmd[1] = "-c";
    cmd[2] = "set -euo pipefail; " + script;
    cmd[3] = "bash";
    System.arraycopy(args, 0, cmd, 4, args.length);
    return run(dir, cmd);
  }

  /** Runs {@code cmd} in {@code dir}; kills it and fails (showing its stderr) if it runs past {@code timeout}. */
  static Outcome outcome(Path dir, Duration timeout, String... cmd) {
    int n = COUNTER.incrementAndGet();
    Path out = dir.resolve(".tool-" + n + ".out");
    Path err = dir.resolve(".tool-" + n + ".err");
    String command = String.join(" ", List.of(cmd));
    try {
      Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectInput(ProcessBuilder.Redirect.from(
          Path.of("/dev/null").toFile())).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
        throw new AssertionError(command + " did not finish within " + timeout + "; stderr: "
            + Files.readString(err, UTF_8));
      }
      Outcome o = new Outcome(p.exitValue(), Files.readString(out, UTF_8), Files.readString(err, UTF_8), command);
      Files.delete(out);
      Files.delete(err);
      return o;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + command, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while running " + command, e);
    }
  }
}
