package dev.kubejit.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where KubeNode finds its kubelet and images, and what it says when they are missing. */
class NodeAssetsTest {
  @TempDir Path tmp;

  private Path kubeletIn(String name) throws IOException {
    Path dir = Files.createDirectories(tmp.resolve(name));
    Path f = Files.writeString(dir.resolve("kubelet"), "#!/bin/sh\n");
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwx------"));
    return dir;
  }

  private Path imagesIn(String name) throws IOException {
    Path dir = Files.createDirectories(tmp.resolve(name));
    Files.writeString(dir.resolve("pause.tar"), "x");
    Files.writeString(dir.resolve("busybox.tar"), "x");
    return dir;
  }

  private Map<String, String> env(String... kv) {
    Map<String, String> env = new HashMap<>();
    env.put("PATH", System.getenv("PATH"));
    for (int i = 0; i < kv.length; i += 2) {
      env.put(kv[i], kv[i + 1]);
    }
    return env;
  }

  @Test
  void propertyBeatsEnvironmentBeatsControlPlaneDirectoryBeatsCache() throws IOException {
    Path prop = kubeletIn("prop");
    Path envDir = kubeletIn("env");
    Path cp = kubeletIn("cp");
    Path home = tmp.resolve("home");
    kubeletIn("home/.cache/kubejit/testenv/" + TestEnvBinaries.DEFAULT_VERSION);
    Path images = imagesIn("images");
    Map<String, String> env = env(NodeAssets.ENV, envDir.toString(), NodeAssets.IMAGES_ENV, images.toString());
    assertEquals(prop.resolve("kubelet"),
        NodeAssets.locate(k -> k.equals(NodeAssets.PROPERTY) ? prop.toString() : null, env, home, cp).kubelet);
    assertEquals(envDir.resolve("kubelet"), NodeAssets.locate(k -> null, env, home, cp).kubelet);
    env.remove(NodeAssets.ENV);
    assertEquals(cp.resolve("kubelet"), NodeAssets.locate(k -> null, env, home, cp).kubelet);
    assertEquals(
        home.resolve(".cache/kubejit/testenv/" + TestEnvBinaries.DEFAULT_VERSION + "/kubelet"),
        NodeAssets.locate(k -> "${env.KUBEJIT_NODE_ASSETS}", env, home, tmp.resolve("nothing-here")).kubelet);
    assertEquals(images, NodeAssets.locate(k -> null, env, home, cp).images);
  }

  @Test
  void anExplicitPropertyIsTheOnlyPlaceLookedIn() throws IOException {
    Path empty = Files.createDirectories(tmp.resolve("empty"));
    Map<String, String> env = env(NodeAssets.ENV, kubeletIn("env").toString(),
        NodeAssets.IMAGES_ENV, imagesIn("images").toString());
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> NodeAssets.locate(
        k -> k.equals(NodeAssets.PROPERTY) || k.equals(NodeAssets.IMAGES_PROPERTY) ? empty.toString() : null,
        env, tmp.resolve("home"), kubeletIn("cp")));
    assertTrue(e.getMessage().contains("no kubelet") && e.getMessage().contains("no node images"), e.getMessage());
  }

  @Test
  void imagesFallBackToTheCacheAndIncompleteDirectoriesAreSkipped() throws IOException {
    Path home = tmp.resolve("home");
    Path cached = imagesIn("home/.cache/kubejit/node-images/" + NodeAssets.IMAGES_VERSION);
    Path half = Files.createDirectories(tmp.resolve("half"));
    Files.writeString(half.resolve("pause.tar"), "x");
    NodeAssets a = NodeAssets.locate(k -> null, env(NodeAssets.IMAGES_ENV, half.toString()), home, kubeletIn("cp"));
    assertEquals(cached, a.images);
  }

  @Test
  void everythingMissingIsNamedInOneMessageWithTheScriptsThatProvideIt() {
    Path home = tmp.resolve("empty-home");
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> NodeAssets.locate(k -> null, Map.of("PATH", tmp.resolve("no-bin").toString()), home, null));
    String m = e.getMessage();
    assertTrue(m.startsWith("KubeNode cannot start: "), m);
    assertTrue(m.contains("no kubelet: run scripts/testenv.sh --node"), m);
    assertTrue(m.contains("no node images (pause.tar, busybox.tar): run scripts/testnode-images.sh"), m);
    assertTrue(m.contains("not on PATH: containerd, containerd-shim-runc-v2, ctr, runc, unshare, ip, mount, bash"), m);
  }

  @Test
  void bridgeNamesFitTheKernelLimit() {
    assertEquals("kubejitabcdef", KubeNode.bridgeName("abcdef"));
    assertTrue(KubeNode.bridgeName("abcdef").length() <= 15);
    assertEquals("kubejit-node-abcdef", KubeNode.nodeName("abcdef"));
  }
}
