package dev.kubejit.rbac;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs the real kubectl against the test control plane. Every wait has a deadline; the combined
 * stdout and stderr are returned, and included in the error when kubectl does not finish.
 */
final class Kubectl {
  static final long TIMEOUT_SECONDS = 60;

  private Kubectl() {}

  /** Exit code and combined output. */
  static final class Result {
    final int exit;
    final String output;

    Result(int exit, String output) {
      this.exit = exit;
      this.output = output;
    }
  }

  static Result run(Path kubeconfig, String stdin, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("kubectl", "--kubeconfig", kubeconfig.toString(),
        "--request-timeout=30s"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    CompletableFuture<String> out = drain(p.getInputStream());
    CompletableFuture<Void> in = CompletableFuture.runAsync(() -> {
      try (OutputStream o = p.getOutputStream()) {
        if (stdin != null) {
          o.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
      } catch (IOException e) {
        // kubectl exited before reading its input; its output says why.
      }
    });
    if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
      throw new IOException("kubectl did not finish within " + TIMEOUT_SECONDS + " s: " + cmd + "\noutput so far:\n"
          + out.getNow("<unavailable>"));
    }
    try {
      in.get(10, TimeUnit.SECONDS);
      return new Result(p.exitValue(), out.get(10, TimeUnit.SECONDS));
    } catch (ExecutionException | TimeoutException e) {
      throw new IOException("cannot read kubectl's output: " + cmd, e);
    }
  }

  /** Reads a child's stream to the end in the background (so the child never blocks on a full pipe). */
  static CompletableFuture<String> drain(InputStream s) {
    CompletableFuture<String> f = new CompletableFuture<>();
    Thread t = new Thread(() -> {
      try (InputStream in = s) {
        f.complete(new String(in.readAllBytes(), StandardCharsets.UTF_8));
      } catch (IOException e) {
        f.completeExceptionally(e);
      }
    }, "kubectl-output");
    t.setDaemon(true);
    t.start();
    return f;
  }
}
