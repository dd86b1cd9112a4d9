package dev.kubejit.testing;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The preinstalled {@code kubectl}, run as a test would run it by hand: with one kubeconfig (the
 * admin's from {@link KubeControlPlane#adminKubeconfig()}, or an engineer's JIT kubeconfig), no
 * proxy variables, no {@code KUBECONFIG} from the environment, and a deadline on every wait.
 *
 * <pre>{@code
 * Kubectl.Result r = Kubectl.run(aliceKubeconfig, null, "exec", "-n", "payments", "api-0", "--", "cat", "/var/log/app.log");
 * assertEquals(0, r.exit(), r.output());
 * }</pre>
 */
public final class Kubectl {
  private static final long TIMEOUT_SECONDS = 90;
  private static final Pattern FORWARDING = Pattern.compile("Forwarding from 127\\.0\\.0\\.1:(\\d+) ->");
  private static final List<String> CLEARED_ENV =
      List.of("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy", "KUBECONFIG");

  private Kubectl() {}

  /**
   * Runs {@code kubectl --kubeconfig=KUBECONFIG --request-timeout=30s ARGS...}, writes {@code stdin}
   * (if not null) to its standard input, and waits for it to exit.
   *
   * @throws IOException if kubectl cannot start, or does not finish within 90 seconds (the message
   *     carries the command and what it printed so far)
   */
  public static Result run(Path kubeconfig, String stdin, String... args) throws IOException, InterruptedException {
    List<String> cmd = command(kubeconfig, List.of(args));
    Process p = processBuilder(cmd).start();
    CompletableFuture<String> out = drain(p.getInputStream(), "kubectl-stdout");
    CompletableFuture<String> err = drain(p.getErrorStream(), "kubectl-stderr");
    try (OutputStream in = p.getOutputStream()) {
      if (stdin != null) {
        in.write(stdin.getBytes(UTF_8));
      }
    } catch (IOException e) {
      // kubectl exited before reading its input; its output says why.
    }
    if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
      throw new IOException("kubectl did not finish within " + TIMEOUT_SECONDS + " s: " + cmd + "\noutput so far:\n"
          + out.getNow("") + err.getNow(""));
    }
    try {
      return new Result(p.exitValue(), out.get(10, TimeUnit.SECONDS), err.get(10, TimeUnit.SECONDS));
    } catch (ExecutionException | TimeoutException e) {
      throw new IOException("cannot read kubectl's output: " + cmd, e);
    }
  }

  /**
   * Starts {@code kubectl port-forward} to {@code target} (for example {@code pod/web}) on a random
   * loopback port and returns once it forwards; kubectl's standard error goes to a file in {@code
   * workDir}, whose content is in the exception if kubectl exits first.
   */
  public static PortForward portForward(Path kubeconfig, Path workDir, String namespace, String target, int remotePort)
      throws IOException, InterruptedException {
    Path err = Files.createTempFile(workDir, "port-forward", ".err");
    Process p = processBuilder(command(kubeconfig,
            List.of("port-forward", "-n", namespace, "--address=127.0.0.1", target, ":" + remotePort)))
        .redirectError(err.toFile())
        .start();
    BufferedReader reader = new BufferedReader(new InputStreamReader(p.getInputStream(), UTF_8));
    String line;
    while ((line = reader.readLine()) != null) {
      Matcher m = FORWARDING.matcher(line);
      if (m.find()) {
        drain(p.getInputStream(), "kubectl-port-forward");
        return new PortForward(p, Integer.parseInt(m.group(1)));
      }
    }
    p.waitFor(10, TimeUnit.SECONDS);
    throw new IllegalStateException("kubectl port-forward exited (" + (p.isAlive() ? "running" : p.exitValue())
        + "): " + Files.readString(err, UTF_8));
  }

  private static List<String> command(Path kubeconfig, List<String> args) {
    List<String> cmd = new ArrayList<>(List.of("kubectl", "--kubeconfig=" + Objects.requireNonNull(kubeconfig, "kubeconfig"),
        "--request-timeout=30s"));
    cmd.addAll(args);
    return cmd;
  }

  private static ProcessBuilder processBuilder(List<String> cmd) {
    ProcessBuilder pb = new ProcessBuilder(cmd);
    CLEARED_ENV.forEach(pb.environment()::remove);
    pb.environment().put("HOME", System.getProperty("java.io.tmpdir"));
    return pb;
  }

  /** Reads a child's stream to the end on a daemon thread, so the child never blocks on a full pipe. */
  private static CompletableFuture<String> drain(InputStream s, String name) {
    CompletableFuture<String> f = new CompletableFuture<>();
    Thread t = new Thread(() -> {
      try (InputStream in = s) {
        f.complete(new String(in.readAllBytes(), UTF_8));
      } catch (IOException e) {
        f.completeExceptionally(e);
      }
    }, name);
    t.setDaemon(true);
    t.start();
    return f;
  }

  /** What a finished kubectl returned: exit code, standard output and standard error. */
  public static final class Result {
    private final int exit;
    private final String out;
    private final String err;

    private Result(int exit, String out, String err) {
      this.exit = exit;
      this.out = out;
      this.err = err;
    }

    /** The exit code. */
    public int exit() {
      return exit;
    }

    /** Standard output. */
    public String out() {
      return out;
    }

    /** Standard error. */
    public String err() {
      return err;
    }

    /** Standard output followed by standard error, for assertions and failure messages. */
    public String output() {
      return out + err;
    }

    /**
     * Returns this result if kubectl exited with 0.
     *
     * @throws AssertionError with kubectl's output otherwise
     */
    public Result ok() {
      if (exit != 0) {
        throw new AssertionError("kubectl failed (" + exit + "): " + output());
      }
      return this;
    }

    @Override
    public String toString() {
      return "Kubectl.Result{exit=" + exit + ", output=" + output() + "}";
    }
  }

  /** A running {@code kubectl port-forward}; {@link #close()} stops it. */
  public static final class PortForward implements AutoCloseable {
    private final Process process;
    private final int localPort;

    private PortForward(Process process, int localPort) {
      this.process = process;
      this.localPort = localPort;
    }

    /** The loopback port that forwards to the pod. */
    public int localPort() {
      return localPort;
    }

    /** Stops kubectl (SIGTERM, then SIGKILL after 5 seconds). */
    @Override
    public void close() throws InterruptedException {
      process.destroy();
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
      }
    }
  }
}
