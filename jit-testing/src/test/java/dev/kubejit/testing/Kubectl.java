package dev.kubejit.testing;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The preinstalled kubectl, run with a given kubeconfig and no proxy settings. */
final class Kubectl {
  private static final Pattern FORWARDING = Pattern.compile("Forwarding from 127\\.0\\.0\\.1:(\\d+) ->");

  record Result(int exit, String out, String err) {}

  private Kubectl() {}

  static ProcessBuilder builder(Path kubeconfig, List<String> args) {
    List<String> cmd = new ArrayList<>(List.of("kubectl", "--kubeconfig=" + kubeconfig, "--request-timeout=30s"));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd);
    for (String k : List.of("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy", "KUBECONFIG")) {
      pb.environment().remove(k);
    }
    pb.environment().put("HOME", System.getProperty("java.io.tmpdir"));
    return pb;
  }

  static Result run(Path kubeconfig, String stdin, String... args) throws IOException, InterruptedException {
    Process p = builder(kubeconfig, List.of(args)).start();
    CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> read(p.getInputStream()));
    CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
    try (OutputStream in = p.getOutputStream()) {
      if (stdin != null) {
        in.write(stdin.getBytes(UTF_8));
      }
    }
    if (!p.waitFor(90, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("kubectl " + String.join(" ", args) + " did not finish");
    }
    return new Result(p.exitValue(), out.join(), err.join());
  }

  /** A running {@code kubectl port-forward} and the local port it listens on. */
  record PortForward(Process process, int localPort, Path log) implements AutoCloseable {
    @Override
    public void close() throws InterruptedException {
      process.destroy();
      process.waitFor(5, TimeUnit.SECONDS);
      process.destroyForcibly();
    }
  }

  /**
   * Starts {@code kubectl port-forward} to {@code target} (e.g. {@code pod/web}) on a random
   * loopback port and waits until it forwards; throws with kubectl's stderr if it exits first.
   */
  static PortForward portForward(Path kubeconfig, Path workDir, String namespace, String target, int remotePort)
      throws IOException, InterruptedException {
    Path err = Files.createTempFile(workDir, "port-forward", ".err");
    Process p = builder(kubeconfig, List.of("port-forward", "-n", namespace, "--address=127.0.0.1", target, ":" + remotePort))
        .redirectError(err.toFile())
        .start();
    BufferedReader reader = new BufferedReader(new InputStreamReader(p.getInputStream(), UTF_8));
    String line;
    while ((line = reader.readLine()) != null) {
      Matcher m = FORWARDING.matcher(line);
      if (m.find()) {
        CompletableFuture.runAsync(() -> read(p.getInputStream()));
        return new PortForward(p, Integer.parseInt(m.group(1)), err);
      }
    }
    p.waitFor(10, TimeUnit.SECONDS);
    throw new IllegalStateException("kubectl port-forward exited (" + (p.isAlive() ? "running" : p.exitValue())
        + "): " + Files.readString(err, UTF_8));
  }

  private static String read(java.io.InputStream in) {
    try {
      return new String(in.readAllBytes(), UTF_8);
    } catch (IOException e) {
      return "(" + e + ")";
    }
  }
}
