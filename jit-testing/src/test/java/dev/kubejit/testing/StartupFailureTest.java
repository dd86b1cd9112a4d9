package dev.kubejit.testing;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StartupFailureTest {
  @TempDir Path bin;

  private void script(String name, String body) throws IOException {
    Path f = Files.writeString(bin.resolve(name), "#!/bin/sh\n" + body + "\n");
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwx------"));
  }

  @Test
  void crashingProcessFailsFastWithItsLogTailAndLeavesNothingBehind() throws IOException {
    script("etcd", "echo 'etcd: simulated disk failure' >&2; exit 3");
    script("kube-apiserver", "echo 'Kubernetes v1.20.2'");
    script("kube-controller-manager", "exit 0");
    String old = System.getProperty(TestEnvBinaries.PROPERTY);
    System.setProperty(TestEnvBinaries.PROPERTY, bin.toString());
    try {
      IllegalStateException e = assertThrows(IllegalStateException.class, KubeControlPlane::start);
      assertTrue(e.getMessage().contains("etcd exited with code 3"), e.getMessage());
      assertTrue(e.getMessage().contains("simulated disk failure"), e.getMessage());
    } finally {
      if (old == null) {
        System.clearProperty(TestEnvBinaries.PROPERTY);
      } else {
        System.setProperty(TestEnvBinaries.PROPERTY, old);
      }
    }
    try (Stream<Path> leftovers = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
      assertFalse(
          leftovers.anyMatch(
              p ->
                  p.getFileName().toString().startsWith("kubejit-controlplane-")
                      && containsLog(p, "simulated disk failure")),
          "work directory was not deleted");
    }
  }

  private static boolean containsLog(Path dir, String text) {
    try {
      return Files.readString(dir.resolve("logs/etcd.log")).contains(text);
    } catch (IOException e) {
      return false;
    }
  }
}
