package dev.kubejit.testing;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node started and closed by hand: teardown leaves nothing on the host, and a node that cannot
 * start says why and also leaves nothing.
 */
@KubeTest
class KubeNodeLifecycleTest {
  @TempDir Path tmp;

  @Test
  void closeLeavesNoProcessMountBridgeCgroupOrFile(KubeControlPlane cp) throws Exception {
    List<String> mountsBefore = Files.readAllLines(Path.of("/proc/self/mountinfo"), UTF_8);
    List<String> privatePaths = Stream.of("/run/containerd", "/var/lib/kubelet", "/var/log/pods", "/var/lib/cni")
        .filter(p -> !Files.exists(Path.of(p))).toList();
    KubeNode node = KubeNode.start(cp);
    String bridge = node.bridge();
    List<String> cgroups = node.cgroupDirectories();
    Path dir = node.workDir();
    try {
      node.runPod("node-teardown", "busy", Map.of("/tmp/marker", "x"));
      // While it runs, everything teardown must remove is there, so the checks below can fail.
      assertTrue(Files.exists(Path.of("/sys/class/net", bridge)), "bridge " + bridge);
      assertTrue(cgroups.stream().anyMatch(c -> Files.exists(Path.of(c, "kubepods"))), cgroups.toString());
      assertTrue(pidsInNamespace(node.pidNamespace()) >= 4, "containerd, kubelet, shim, pause, httpd");
      assertFalse(node.leftovers().isEmpty());
      for (String p : privatePaths) {
        assertFalse(Files.exists(Path.of(p)), p + " is private to the node");
      }
    } finally {
      node.close();
    }
    assertEquals(List.of(), node.leftovers());
    assertEquals(0, pidsInNamespace(node.pidNamespace()));
    assertFalse(Files.exists(Path.of("/sys/class/net", bridge)));
    for (String c : cgroups) {
      assertFalse(Files.exists(Path.of(c)), c);
    }
    assertFalse(Files.exists(dir));
    assertEquals(mountsBefore.size(), Files.readAllLines(Path.of("/proc/self/mountinfo"), UTF_8).size(),
        "the host's mount table is unchanged");
    assertEquals(404, assertThrows(ApiException.class,
        () -> new CoreV1Api(cp.adminClient()).readNode(node.name()).execute()).getCode(), "node object deleted");
    assertThrows(IllegalStateException.class, () -> node.runPod("node-teardown", "again", Map.of()));
  }

  @Test
  void aKubeletThatCannotStartFailsWithItsLogAndLeavesNothing(KubeControlPlane cp) throws IOException {
    Path fake = Files.createDirectories(tmp.resolve("assets"));
    Path kubelet = Files.writeString(fake.resolve("kubelet"),
        "#!/bin/sh\necho 'kubelet: simulated failure: no such flag' >&2\nexit 3\n");
    Files.setPosixFilePermissions(kubelet, PosixFilePermissions.fromString("rwx------"));
    String old = System.getProperty(NodeAssets.PROPERTY);
    System.setProperty(NodeAssets.PROPERTY, fake.toString());
    List<String> cgroupRoots;
    try {
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> KubeNode.start(cp));
      assertTrue(e.getMessage().contains("simulated failure: no such flag"), e.getMessage());
      assertTrue(e.getMessage().contains("kubelet exited with code 3"), e.getMessage());
    } finally {
      if (old == null) {
        System.clearProperty(NodeAssets.PROPERTY);
      } else {
        System.setProperty(NodeAssets.PROPERTY, old);
      }
    }
    try (Stream<Path> nets = Files.list(Path.of("/sys/class/net"));
        Stream<Path> cg = Files.list(Path.of("/sys/fs/cgroup/memory"))) {
      assertFalse(nets.anyMatch(p -> p.getFileName().toString().startsWith("kubejit")), "no bridge left");
      cgroupRoots = cg.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("kubejit-node-")).toList();
    }
    assertEquals(List.of(), cgroupRoots, "no cgroup left");
    try (Stream<Path> left = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
      assertFalse(left.anyMatch(p -> p.getFileName().toString().startsWith("kubejit-node-")), "work directory deleted");
    }
  }

  private static long pidsInNamespace(String ns) throws IOException {
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      return procs.filter(p -> p.getFileName().toString().matches("\\d+")).filter(p -> {
        try {
          return ns.equals(Files.readSymbolicLink(p.resolve("ns/pid")).toString());
        } catch (IOException e) {
          return false;
        }
      }).count();
    }
  }
}
