package dev.kubejit.testing;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * Finds what a {@link KubeNode} runs: the kubelet (built by {@code scripts/testenv.sh --node}), the
 * two image archives ({@code scripts/testnode-images.sh}), containerd, runc and the CNI plugins
 * (Debian packages, {@code scripts/test-deps.sh}) and the tools the node script uses.
 *
 * <p>Kubelet: system property {@code kubejit.nodeassets} (if set, the only place looked in), else
 * environment variable {@code KUBEJIT_NODE_ASSETS}, the control plane's binary directory, then
 * {@code ~/.cache/kubejit/testenv/<version>/}. Images: {@code kubejit.nodeimages} (likewise
 * exclusive), else {@code KUBEJIT_NODE_IMAGES}, then {@code ~/.cache/kubejit/node-images/v1/}.
 * Everything missing is named in one message.
 */
final class NodeAssets {
  static final String PROPERTY = "kubejit.nodeassets";
  static final String ENV = "KUBEJIT_NODE_ASSETS";
  static final String IMAGES_ENV = "KUBEJIT_NODE_IMAGES";
  static final String IMAGES_PROPERTY = "kubejit.nodeimages";
  static final String IMAGES_VERSION = "v1";
  static final String PAUSE_IMAGE = "localhost/kubejit/pause:" + IMAGES_VERSION;
  static final String BUSYBOX_IMAGE = "localhost/kubejit/busybox:" + IMAGES_VERSION;
  static final List<String> TOOLS =
      List.of("containerd", "containerd-shim-runc-v2", "ctr", "runc", "unshare", "ip", "mount", "bash");
  static final List<String> CNI_PLUGINS = List.of("bridge", "host-local", "loopback");
  static final List<String> CNI_DIRS = List.of("/usr/lib/cni", "/opt/cni/bin");

  final Path kubelet;
  final Path images;
  final Path cniBin;

  private NodeAssets(Path kubelet, Path images, Path cniBin) {
    this.kubelet = kubelet;
    this.images = images;
    this.cniBin = cniBin;
  }

  static NodeAssets locate(Path controlPlaneBinaries) {
    return locate(
        System::getProperty,
        System.getenv(),
        Path.of(System.getProperty("user.home")),
        controlPlaneBinaries);
  }

  /** Locates the assets; the parameters exist so the search order can be unit-tested. */
  static NodeAssets locate(
      Function<String, String> properties,
      Map<String, String> env,
      Path home,
      Path controlPlaneBinaries) {
    List<String> problems = new ArrayList<>();
    List<Path> kubeletDirs = new ArrayList<>();
    // A system property is the most specific setting: it is the only place looked in.
    addIfSet(kubeletDirs, properties.apply(PROPERTY));
    if (kubeletDirs.isEmpty()) {
      addIfSet(kubeletDirs, env.get(ENV));
      if (controlPlaneBinaries != null) {
        kubeletDirs.add(controlPlaneBinaries);
      }
      kubeletDirs.add(home.resolve(".cache/kubejit/testenv/" + TestEnvBinaries.DEFAULT_VERSION));
    }
    Path kubelet =
        kubeletDirs.stream().map(d -> d.resolve("kubelet")).filter(NodeAssets::executable)
            .findFirst().orElse(null);
    if (kubelet == null) {
      problems.add(
          "no kubelet: run scripts/testenv.sh --node (or set "
              + ENV
              + " to a directory with a kubelet matching the API server); looked in "
              + kubeletDirs);
    }
    List<Path> imageDirs = new ArrayList<>();
    addIfSet(imageDirs, properties.apply(IMAGES_PROPERTY));
    if (imageDirs.isEmpty()) {
      addIfSet(imageDirs, env.get(IMAGES_ENV));
      imageDirs.add(home.resolve(".cache/kubejit/node-images/" + IMAGES_VERSION));
    }
    Path images =
        imageDirs.stream()
            .filter(d -> nonEmpty(d.resolve("pause.tar")) && nonEmpty(d.resolve("busybox.tar")))
            .findFirst()
            .orElse(null);
    if (images == null) {
      problems.add(
          "no node images (pause.tar, busybox.tar): run scripts/testnode-images.sh; looked in "
              + imageDirs);
    }
    List<String> missingTools = new ArrayList<>();
    for (String tool : TOOLS) {
      if (onPath(tool, env.get("PATH")).isEmpty()) {
        missingTools.add(tool);
      }
    }
    if (!missingTools.isEmpty()) {
      problems.add(
          "not on PATH: "
              + String.join(", ", missingTools)
              + " (scripts/test-deps.sh installs containerd, runc, iproute2, util-linux)");
    }
    Path cni =
        CNI_DIRS.stream()
            .map(Path::of)
            .filter(d -> CNI_PLUGINS.stream().allMatch(p -> executable(d.resolve(p))))
            .findFirst()
            .orElse(null);
    if (cni == null) {
      problems.add(
          "no CNI plugins "
              + CNI_PLUGINS
              + " in "
              + CNI_DIRS
              + " (scripts/test-deps.sh installs containernetworking-plugins)");
    }
    if (!problems.isEmpty()) {
      throw new IllegalStateException(
          "KubeNode cannot start: " + String.join("; ", problems));
    }
    return new NodeAssets(kubelet, images, cni);
  }

  static Optional<Path> onPath(String tool, String path) {
    if (path == null) {
      return Optional.empty();
    }
    for (String dir : path.split(File.pathSeparator)) {
      if (!dir.isEmpty() && executable(Path.of(dir, tool))) {
        return Optional.of(Path.of(dir, tool));
      }
    }
    return Optional.empty();
  }

  private static void addIfSet(List<Path> dirs, String value) {
    if (value != null && !value.isBlank() && !value.contains("${")) {
      dirs.add(Path.of(value.trim()));
    }
  }

  private static boolean executable(Path p) {
    return Files.isRegularFile(p) && Files.isExecutable(p);
  }

  private static boolean nonEmpty(Path p) {
    try {
      return Files.isRegularFile(p) && Files.size(p) > 0;
    } catch (java.io.IOException e) {
      return false;
    }
  }

  @Override
  public String toString() {
    return "NodeAssets[kubelet=" + kubelet + ", images=" + images + ", cni=" + cniBin + "]";
  }
}
