package dev.kubejit.rbac;

import dev.kubejit.testing.KubeControlPlane;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A second kube-controller-manager that runs only the ClusterRole aggregation controller (the
 * shared test control plane runs the CSR, namespace and garbage-collector controllers only), so
 * tests can watch the real controller fill an {@code aggregationRule}. Its output goes to a log
 * file in the test's own directory; every wait on it has a deadline and failures include the log.
 */
final class AggregationController implements AutoCloseable {
  private final Process process;
  private final Path log;

  private AggregationController(Process process, Path log) {
    this.process = process;
    this.log = log;
  }

  static AggregationController start(KubeControlPlane cp, Path dir) throws IOException, InterruptedException {
    Path bin = cp.controllerManagerBinary();
    Path versionOut = dir.resolve("kcm-version.txt");
    Process v = new ProcessBuilder(bin.toString(), "--version").redirectErrorStream(true)
        .redirectOutput(versionOut.toFile()).start();
    if (!v.waitFor(30, TimeUnit.SECONDS)) {
      v.destroyForcibly();
      throw new IllegalStateException(bin + " --version did not finish within 30 s");
    }
    String version = Files.readString(versionOut, StandardCharsets.UTF_8);
    Matcher m = Pattern.compile("v1\\.(\\d+)\\.").matcher(version);
    if (!m.find()) {
      throw new IllegalStateException("cannot parse the version of " + bin + ": " + version);
    }
    List<String> cmd = new ArrayList<>(List.of(bin.toString(), "--kubeconfig=" + cp.adminKubeconfig(),
        "--controllers=clusterrole-aggregation", "--leader-elect=false", "--secure-port=0"));
    if (Integer.parseInt(m.group(1)) < 24) {
      cmd.add("--port=0");
    }
    Path log = dir.resolve("aggregation-controller.log");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    return new AggregationController(p, log);
  }

  /** Fails with the controller's log if it has exited. */
  void requireAlive() {
    if (!process.isAlive()) {
      throw new AssertionError("the aggregation controller exited with " + process.exitValue() + ":\n" + logTail());
    }
  }

  String logTail() {
    try {
      String s = Files.readString(log, StandardCharsets.UTF_8);
      return s.length() <= 4000 ? s : "..." + s.substring(s.length() - 4000);
    } catch (IOException e) {
      return "<cannot read " + log + ": " + e + ">";
    }
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        throw new IllegalStateException("the aggregation controller did not stop:\n" + logTail());
      }
    }
  }
}
