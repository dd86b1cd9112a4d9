package dev.kubejit.store.kubernetes;

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

/** Runs the real kubectl against the test control plane, with a deadline; returns exit code and output. */
final class Kubectl {
  private static final long TIMEOUT_SECONDS = 60;

  private Kubectl() {}

  /** Exit code and combined stdout and stderr. */
  static final class Result {
    final int exit;
    final String output;

    Result(int exit, String output) {
      this.exit = exit;
      this.output = output;
    }

    Result ok() {
      if (exit != 0) {
        throw new AssertionError("kubectl failed (" + exit + "): " + output);
      }
      return this;
    }
  }

  static Result run(Path kubeconfig, String stdin, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("kubectl", "--kubeconfig", kubeconfig.toString(),
        "--request-timeout=30s"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    CompletableFuture<String> out = drain(p.getInputStream());
    try (OutputStream o = p.getOutputStream()) {
      if (stdin != null) {
        o.write(stdin.getBytes(StandardCharsets.UTF_8));
      }
    } catch (IOException e) {
      // kubectl exited before reading its input; its output says why.
    }
    if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
      throw new IOException("kubectl did not finish within " + TIMEOUT_SECONDS + " s: " + cmd);
    }
    try {
      return new Result(p.exitValue(), out.get(10, TimeUnit.SECONDS));
    } catch (ExecutionException | TimeoutException e) {
      throw new IOException("cannot read kubectl's output: " + cmd, e);
    }
  }

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
