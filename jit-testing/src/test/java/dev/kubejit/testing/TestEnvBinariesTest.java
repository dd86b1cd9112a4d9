package dev.kubejit.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TestEnvBinariesTest {
  @TempDir Path tmp;

  private Path fakeAssets(String name) throws IOException {
    Path dir = Files.createDirectories(tmp.resolve(name));
    for (String b : TestEnvBinaries.NAMES) {
      Path f = Files.writeString(dir.resolve(b), "#!/bin/sh\n");
      Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwx------"));
    }
    return dir;
  }

  @Test
  void systemPropertyWinsOverEnvironmentAndCache() throws IOException {
    Path prop = fakeAssets("prop");
    Path env = fakeAssets("env");
    TestEnvBinaries b =
        TestEnvBinaries.locate(
            k -> k.equals(TestEnvBinaries.PROPERTY) ? prop.toString() : null,
            Map.of(TestEnvBinaries.ENV, env.toString()),
            tmp.resolve("home"));
    assertEquals(prop, b.directory());
  }

  @Test
  void anIncompleteSystemPropertyDirectoryFailsInsteadOfFallingThrough() throws IOException {
    Path prop = tmp.resolve("empty");
    Files.createDirectories(prop);
    Path env = fakeAssets("env");
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> TestEnvBinaries.locate(
        k -> k.equals(TestEnvBinaries.PROPERTY) ? prop.toString() : null,
        Map.of(TestEnvBinaries.ENV, env.toString()), tmp.resolve("home")));
    assertTrue(e.getMessage().contains(prop.toString()), e.getMessage());
  }

  @Test
  void fallsThroughIncompleteDirectoriesAndUnresolvedPlaceholders() throws IOException {
    Path env = fakeAssets("env");
    Files.delete(env.resolve("etcd"));
    Path home = tmp.resolve("home");
    Path cache = fakeAssets("home/.cache/kubejit/testenv/" + TestEnvBinaries.DEFAULT_VERSION);
    TestEnvBinaries b =
        TestEnvBinaries.locate(
            k -> "${env.KUBEBUILDER_ASSETS}", Map.of(TestEnvBinaries.ENV, env.toString()), home);
    assertEquals(cache, b.directory());
    assertEquals(cache.resolve("kube-apiserver"), b.apiServer());
  }

  @Test
  void missingBinariesExplainHowToGetThem() {
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> TestEnvBinaries.locate(k -> null, Map.of(), tmp.resolve("nohome")));
    assertTrue(e.getMessage().contains("scripts/testenv.sh"), e.getMessage());
    assertTrue(e.getMessage().contains("KUBEBUILDER_ASSETS"), e.getMessage());
  }

  @Test
  void goDurationFormatsWholeSeconds() {
    assertEquals("1h0m0s", KubeControlPlane.goDuration(Duration.ofHours(1)));
    assertEquals("0h1m30s", KubeControlPlane.goDuration(Duration.ofSeconds(90)));
    assertEquals("26h0m0s", KubeControlPlane.goDuration(Duration.ofDays(1).plusHours(2)));
    assertEquals("0h0m1s", KubeControlPlane.goDurationFine(Duration.ofSeconds(1)));
    assertEquals("500ms", KubeControlPlane.goDurationFine(Duration.ofMillis(500)));
    assertEquals("1500ms", KubeControlPlane.goDurationFine(Duration.ofMillis(1500)));
  }
}
