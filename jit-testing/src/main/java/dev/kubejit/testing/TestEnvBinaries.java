package dev.kubejit.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Finds etcd, kube-apiserver and kube-controller-manager in the flat layout of controller-runtime's
 * envtest. Order: system property {@code kubejit.testenv}, environment variable {@code
 * KUBEBUILDER_ASSETS}, then {@code ~/.cache/kubejit/testenv/1.20.2+reflect2-1.0.2/} (the cache key of
 * {@code scripts/testenv.sh}: version plus source patch level); the first directory holding
 * all three executables wins.
 */
final class TestEnvBinaries {
  static final String PROPERTY = "kubejit.testenv";
  static final String ENV = "KUBEBUILDER_ASSETS";
  /** Must equal the cache key {@code scripts/testenv.sh} writes: version + patch level. */
  static final String DEFAULT_VERSION = "1.20.2+reflect2-1.0.2";
  static final List<String> NAMES = List.of("etcd", "kube-apiserver", "kube-controller-manager");

  private final Path dir;

  private TestEnvBinaries(Path dir) {
    this.dir = dir;
  }

  Path etcd() {
    return dir.resolve("etcd");
  }

  Path apiServer() {
    return dir.resolve("kube-apiserver");
  }

  Path controllerManager() {
    return dir.resolve("kube-controller-manager");
  }

  Path directory() {
    return dir;
  }

  /** Locates the binaries from the real system properties and environment. */
  static TestEnvBinaries locate() {
    return locate(System::getProperty, System.getenv(), Path.of(System.getProperty("user.home")));
  }

  /** Locates the binaries; the parameters exist so the search order can be unit-tested. */
  static TestEnvBinaries locate(
      Function<String, String> properties, Map<String, String> env, Path home) {
    List<String> tried = new ArrayList<>();
    List<Path> candidates = new ArrayList<>();
    addCandidate(candidates, tried, "system property " + PROPERTY, properties.apply(PROPERTY));
    addCandidate(candidates, tried, "environment variable " + ENV, env.get(ENV));
    Path cache = home.resolve(".cache/kubejit/testenv/" + DEFAULT_VERSION);
    candidates.add(cache);
    boolean explicit = !candidates.isEmpty() && isSet(properties.apply(PROPERTY));
    for (Path c : candidates) {
      List<String> missing = missingIn(c);
      if (missing.isEmpty()) {
        return new TestEnvBinaries(c);
      }
      tried.add(c + " (missing " + String.join(", ", missing) + ")");
      if (explicit) {
        // -Dkubejit.testenv is the most specific setting: a wrong one fails rather than falling through.
        break;
      }
    }
    throw new IllegalStateException(
        "Kubernetes test binaries (etcd, kube-apiserver, kube-controller-manager) not found. "
            + "Run scripts/testenv.sh from the KubeJIT repository root (it builds or locates them "
            + "and caches them in ~/.cache/kubejit/testenv/"
            + DEFAULT_VERSION
            + "/), or set KUBEBUILDER_ASSETS (or -D"
            + PROPERTY
            + "=...) to a directory containing them. Looked in: "
            + String.join("; ", tried));
  }

  private static boolean isSet(String value) {
    return value != null && !value.isBlank() && !value.contains("${");
  }

  private static void addCandidate(
      List<Path> candidates, List<String> tried, String source, String value) {
    // An unresolved Maven placeholder such as ${env.KUBEBUILDER_ASSETS} counts as unset.
    if (!isSet(value)) {
      return;
    }
    try {
      candidates.add(Path.of(value.trim()));
    } catch (RuntimeException e) {
      tried.add(source + "=" + value + " (not a path)");
    }
  }

  private static List<String> missingIn(Path dir) {
    List<String> missing = new ArrayList<>();
    for (String n : NAMES) {
      Path p = dir.resolve(n);
      if (!Files.isRegularFile(p) || !Files.isExecutable(p)) {
        missing.add(n);
      }
    }
    return missing;
  }

  @Override
  public String toString() {
    return "TestEnvBinaries[" + dir + "]";
  }
}
