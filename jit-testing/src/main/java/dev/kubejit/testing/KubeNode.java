package dev.kubejit.testing;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1ConfigMapVolumeSource;
import io.kubernetes.client.openapi.models.V1Container;
import io.kubernetes.client.openapi.models.V1ContainerPort;
import io.kubernetes.client.openapi.models.V1ContainerStatus;
import io.kubernetes.client.openapi.models.V1ExecAction;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1Node;
import io.kubernetes.client.openapi.models.V1NodeCondition;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1Pod;
import io.kubernetes.client.openapi.models.V1PodCondition;
import io.kubernetes.client.openapi.models.V1PodSpec;
import io.kubernetes.client.openapi.models.V1Probe;
import io.kubernetes.client.openapi.models.V1Volume;
import io.kubernetes.client.openapi.models.V1VolumeMount;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A real Kubernetes node for tests: containerd, runc and a kubelet registered to a {@link
 * KubeControlPlane}, so that {@code kubectl exec}, {@code logs} and {@code port-forward} reach a
 * running container. In a {@link KubeTest} class, declare a {@code KubeNode} parameter to get one
 * node per test class (started on first use, torn down when the class ends); or call {@link
 * #start(KubeControlPlane)} and {@link #close()} yourself.
 *
 * <p>Needs root, cgroup controllers and the assets that {@code scripts/test-deps.sh}, {@code
 * scripts/testenv.sh --node} and {@code scripts/testnode-images.sh} provide. containerd and the
 * kubelet run inside their own mount and PID namespaces with private {@code /run}, {@code
 * /var/lib} and {@code /var/log}; {@link #close()} kills that PID namespace and removes the CNI
 * bridge {@code kubejit<id>} and the cgroups under {@code /kubejit-node-<id>}, and fails if anything
 * is left. There is no scheduler: pods run on this node because {@link #runPod} names it.
 * Instances are thread-safe.
 */
public final class KubeNode implements AutoCloseable {
  private static final Duration NODE_READY_TIMEOUT = Duration.ofSeconds(120);
  private static final Duration POD_READY_TIMEOUT = Duration.ofSeconds(90);
  private static final Duration TEARDOWN_TIMEOUT = Duration.ofSeconds(20);
  private static final long STOP_GRACE_MILLIS = 3_000;
  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  private static final Pattern FILE_PATH = Pattern.compile("(/[A-Za-z0-9._-]+)+");
  private static final String FILES_MOUNT = "/kubejit/files";
  private static final int MAX_FILES = 64;
  private static final int HTTP_PORT = 8080;
  private static final String CGROUP_FS = "/sys/fs/cgroup";
  /** Host paths containerd, the kubelet or CNI would write to if the namespaces leaked. */
  private static final List<String> WATCHED_HOST_PATHS =
      List.of(
          "/run/containerd",
          "/var/lib/containerd",
          "/var/lib/kubelet",
          "/var/lib/cni",
          "/var/log/pods",
          "/var/log/containers",
          "/etc/cni/net.d",
          "/opt/containerd",
          "/run/netns",
          "/usr/libexec/kubernetes");
  private static final SecureRandom RANDOM = new SecureRandom();

  private final KubeControlPlane controlPlane;
  private final String id;
  private final String name;
  private final String nodeIp;
  private final Path dir;
  private final ManagedProcess process;
  private final String pidNamespace;
  private final String mountNamespace;
  private final List<String> cgroupDirs;
  private final List<String> hostPathsBefore;
  private final Thread shutdownHook;
  private final List<String[]> pods = new CopyOnWriteArrayList<>();
  private final AtomicBoolean closed = new AtomicBoolean();

  private KubeNode(
      KubeControlPlane controlPlane,
      String id,
      String nodeIp,
      Path dir,
      ManagedProcess process,
      String pidNamespace,
      String mountNamespace,
      List<String> cgroupDirs,
      List<String> hostPathsBefore,
      Thread shutdownHook) {
    this.controlPlane = controlPlane;
    this.id = id;
    this.name = nodeName(id);
    this.nodeIp = nodeIp;
    this.dir = dir;
    this.process = process;
    this.pidNamespace = pidNamespace;
    this.mountNamespace = mountNamespace;
    this.cgroupDirs = cgroupDirs;
    this.hostPathsBefore = hostPathsBefore;
    this.shutdownHook = shutdownHook;
  }

  /**
   * Checks, without starting anything, that {@link #start(KubeControlPlane)} would find its assets
   * (the kubelet, the two images, containerd, runc, the CNI plugins and tools) and runs as root.
   *
   * @throws IllegalStateException naming everything missing and the script or environment variable
   *     that provides it ({@code scripts/testenv.sh --node}, {@code scripts/testnode-images.sh},
   *     {@code scripts/test-deps.sh}, {@code KUBEJIT_NODE_ASSETS}, {@code KUBEJIT_NODE_IMAGES})
   */
  public static void requireAssets() {
    Path controlPlaneBinaries;
    try {
      controlPlaneBinaries = TestEnvBinaries.locate().directory();
    } catch (IllegalStateException e) {
      controlPlaneBinaries = null; // then only KUBEJIT_NODE_ASSETS and the cache are looked in
    }
    NodeAssets.locate(controlPlaneBinaries);
    requireRoot();
  }

  /**
   * Starts containerd and a kubelet registered to {@code controlPlane} and waits until the node is
   * Ready.
   *
   * @throws IllegalStateException if an asset is missing, the process is not root, or the node
   *     does not become Ready (the message carries the tails of the containerd and kubelet logs);
   *     whatever was started is torn down first
   */
  public static KubeNode start(KubeControlPlane controlPlane) {
    requireNonNull(controlPlane, "controlPlane");
    long t0 = System.nanoTime();
    NodeAssets assets = NodeAssets.locate(controlPlane.binaries().directory());
    requireRoot();
    String id = HexFormat.of().formatHex(randomBytes(3));
    String name = nodeName(id);
    String nodeIp = hostAddress();
    List<String> hostPathsBefore = existingWatchedPaths();
    Path dir = SecureFiles.createTempDir("kubejit-node-");
    List<String> cgroupDirs = new ArrayList<>();
    ManagedProcess[] started = new ManagedProcess[1];
    Thread hook =
        new Thread(
            () -> {
              if (started[0] != null) {
                ManagedProcess.stopAll(List.of(started[0]), 1_000);
              }
              removeBridge(id);
              removeCgroups(cgroupDirs, Duration.ofSeconds(3));
              SecureFiles.deleteTree(dir);
            },
            "kubejit-node-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    boolean ok = false;
    try {
      Path logs = SecureFiles.createDir(dir.resolve("logs"));
      Path pki = SecureFiles.createDir(dir.resolve("pki"));
      Path cni = SecureFiles.createDir(dir.resolve("cni"));
      SecureFiles.createDir(dir.resolve("volume-plugins"));
      TestPki.Issued client = controlPlane.pki().issueClient("system:node:" + name, List.of("system:nodes"));
      TestPki.Issued serving = controlPlane.pki().issueServer(name, List.of(name), List.of(nodeIp));
      Path ca = SecureFiles.writePrivate(pki.resolve("ca.crt"), controlPlane.caCertificatePem());
      Path crt = SecureFiles.writePrivate(pki.resolve("kubelet.crt"), serving.certificatePem());
      Path key = SecureFiles.writePrivate(pki.resolve("kubelet.key"), serving.keyPem());
      Path kubeconfig =
          SecureFiles.writePrivate(
              dir.resolve("kubelet.kubeconfig"),
              KubeControlPlane.kubeconfigYaml(
                  controlPlane.serverUrl(), controlPlane.caCertificate(), client));
      int port = freePort(nodeIp);
      String cgroupRoot = "/" + name;
      Path kubeletConfig =
          SecureFiles.writePrivate(
              dir.resolve("kubelet.yaml"), kubeletConfig(nodeIp, port, ca, crt, key, cgroupRoot, dir));
      SecureFiles.writePrivate(dir.resolve("containerd.toml"), containerdConfig(assets, cni));
      SecureFiles.writePrivate(cni.resolve("10-kubejit.conflist"), cniConfig(id));
      Path script = dir.resolve("kubenode.sh");
      try (InputStream in = KubeNode.class.getResourceAsStream("kubenode.sh")) {
        SecureFiles.writePrivate(script, new String(requireNonNull(in, "kubenode.sh").readAllBytes(), UTF_8));
      }
      cgroupDirs.addAll(createCgroups(name));

      List<String> command =
          new ArrayList<>(
              List.of(
                  "unshare",
                  "--mount",
                  "--pid",
                  "--fork",
                  "--kill-child",
                  "--mount-proc",
                  "--propagation",
                  "private",
                  "bash",
                  script.toString(),
                  dir.toString(),
                  assets.images.toString(),
                  assets.kubelet.toString()));
      command.addAll(
          List.of(
              "--config=" + kubeletConfig,
              "--kubeconfig=" + kubeconfig,
              "--container-runtime=remote",
              "--container-runtime-endpoint=unix:///run/containerd/containerd.sock",
              "--runtime-request-timeout=2m",
              "--hostname-override=" + name,
              "--node-ip=" + nodeIp,
              "--node-labels=kubejit.dev/test-node=true",
              "--root-dir=/var/lib/kubelet",
              "--cert-dir=" + pki,
              "--pod-infra-container-image=" + NodeAssets.PAUSE_IMAGE,
              // Lowering it needs CAP_SYS_RESOURCE, which root on these machines lacks.
              "--oom-score-adj=0",
              "--v=2"));
      ManagedProcess p =
          ManagedProcess.start("kubenode", command, dir, logs.resolve("kubenode.log"), KubeControlPlane.childEnv());
      started[0] = p;
      String[] namespaces = namespacesOfChild(p, logs);
      KubeNode node =
          new KubeNode(
              controlPlane, id, nodeIp, dir, p, namespaces[0], namespaces[1], List.copyOf(cgroupDirs),
              hostPathsBefore, hook);
      node.awaitReady();
      ok = true;
      System.getLogger(KubeNode.class.getName())
          .log(
              System.Logger.Level.INFO,
              "KubeJIT test node {0} ({1}:{2}) Ready in {3} ms (work dir {4})",
              name,
              nodeIp,
              String.valueOf(port),
              TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0),
              dir);
      return node;
    } catch (IOException e) {
      throw new UncheckedIOException("KubeNode cannot start: " + e.getMessage(), e);
    } finally {
      if (!ok) {
        if (started[0] != null) {
          ManagedProcess.stopAll(List.of(started[0]), STOP_GRACE_MILLIS);
        }
        deleteNodeObject(controlPlane, name);
        removeBridge(id);
        removeCgroups(cgroupDirs, TEARDOWN_TIMEOUT);
        SecureFiles.deleteTree(dir);
        ManagedProcess.removeShutdownHook(hook);
      }
    }
  }

  /** The node's name, {@code kubejit-node-<id>}; pods run here by naming it in {@code nodeName}. */
  public String name() {
    return name;
  }

  /** The host address the kubelet serves on and reports as its InternalIP (never loopback). */
  public String nodeIp() {
    return nodeIp;
  }

  /**
   * Runs pod {@code name} in {@code namespace} (created if missing) on this node and waits until it
   * is Ready: one container from the local busybox image ({@code imagePullPolicy: Never}) that
   * first writes {@code files} (absolute path to UTF-8 content, e.g. {@code /var/log/app.log}), then
   * runs {@code busybox httpd} on port 8080 serving {@code /www} ({@code /www/index.html} names the
   * pod unless {@code files} sets it). The files travel in a ConfigMap {@code <name>-files}, so the
   * kubelet fetches them through the Node authorizer like any real pod's configuration.
   *
   * @throws IllegalArgumentException if a name is not a DNS label, a path is not absolute and
   *     plain ({@code [A-Za-z0-9._-]} segments), or there are more than 64 files; nothing is created
   * @throws IllegalStateException if the pod is not Ready in time (the message carries its status
   *     and the kubelet log's tail) or the API server refuses it
   */
  public void runPod(String namespace, String name, Map<String, String> files) {
    requireNonNull(namespace, "namespace");
    requireNonNull(name, "name");
    requireNonNull(files, "files");
    checkLabel("namespace", namespace);
    checkLabel("pod name", name);
    if (name.length() > 57) {
      throw new IllegalArgumentException("pod name longer than 57 characters: " + name);
    }
    if (files.size() > MAX_FILES) {
      throw new IllegalArgumentException("at most " + MAX_FILES + " files, got " + files.size());
    }
    Map<String, String> data = new LinkedHashMap<>();
    StringBuilder script =
        new StringBuilder("set -e; mkdir -p /www; echo 'kubejit test pod ")
            .append(namespace)
            .append('/')
            .append(name)
            .append("' > /www/index.html; ");
    int i = 0;
    for (Map.Entry<String, String> f : files.entrySet()) {
      String path = requireNonNull(f.getKey(), "file path");
      requireNonNull(f.getValue(), "content of " + path);
      if (!FILE_PATH.matcher(path).matches()
          || Stream.of(path.split("/")).anyMatch(s -> s.equals(".") || s.equals(".."))
          || path.startsWith("/kubejit/")
          || path.startsWith("/proc/")
          || path.startsWith("/sys/")
          || path.startsWith("/dev/")) {
        throw new IllegalArgumentException(
            "file path must be absolute with plain segments, outside /kubejit, /proc, /sys and"
                + " /dev: "
                + path);
      }
      String k = "f" + i++;
      data.put(k, f.getValue());
      String parent = path.substring(0, path.lastIndexOf('/'));
      if (!parent.isEmpty()) {
        script.append("mkdir -p ").append(parent).append("; ");
      }
      script.append("cp ").append(FILES_MOUNT).append('/').append(k).append(' ').append(path).append("; ");
    }
    script
        .append("echo 'kubejit test pod ")
        .append(name)
        .append(" serving on :")
        .append(HTTP_PORT)
        .append("'; exec httpd -f -v -p ")
        .append(HTTP_PORT)
        .append(" -h /www");
    ensureOpen();
    CoreV1Api api = new CoreV1Api(controlPlane.adminClient());
    try {
      try {
        api.createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name(namespace))).execute();
      } catch (ApiException e) {
        if (e.getCode() != 409) {
          throw e;
        }
      }
      String configMap = name + "-files";
      api.createNamespacedConfigMap(
              namespace,
              new V1ConfigMap()
                  .metadata(new V1ObjectMeta().name(configMap).putLabelsItem("kubejit.dev/test-node", this.name))
                  .data(data))
          .execute();
      pods.add(new String[] {namespace, name});
      V1Container container =
          new V1Container()
              .name("app")
              .image(NodeAssets.BUSYBOX_IMAGE)
              .imagePullPolicy("Never")
              .command(List.of("/bin/sh", "-c", script.toString()))
              .addPortsItem(new V1ContainerPort().name("http").containerPort(HTTP_PORT))
              .addVolumeMountsItem(new V1VolumeMount().name("files").mountPath(FILES_MOUNT).readOnly(true))
              .readinessProbe(
                  new V1Probe()
                      // Inside the pod's own network namespace: no traffic leaves the pod.
                      .exec(
                          new V1ExecAction()
                              .command(List.of("wget", "-q", "-O", "/dev/null", "http://127.0.0.1:" + HTTP_PORT + "/")))
                      .periodSeconds(1)
                      .timeoutSeconds(5));
      V1Pod pod =
          new V1Pod()
              .metadata(new V1ObjectMeta().name(name).putLabelsItem("kubejit.dev/test-node", this.name))
              .spec(
                  new V1PodSpec()
                      .nodeName(this.name)
                      .restartPolicy("Always")
                      .dnsPolicy("Default")
                      .enableServiceLinks(false)
                      .automountServiceAccountToken(false)
                      .terminationGracePeriodSeconds(1L)
                      .addContainersItem(container)
                      .addVolumesItem(
                          new V1Volume().name("files").configMap(new V1ConfigMapVolumeSource().name(configMap))));
      api.createNamespacedPod(namespace, pod).execute();
      awaitPodReady(api, namespace, name);
    } catch (ApiException e) {
      throw new IllegalStateException(
          "KubeNode cannot run pod " + namespace + "/" + name + ": HTTP " + e.getCode() + " " + e.getResponseBody(), e);
    }
  }

  private void awaitPodReady(CoreV1Api api, String namespace, String pod) throws ApiException {
    long deadline = System.nanoTime() + POD_READY_TIMEOUT.toNanos();
    String last = "not read yet";
    while (System.nanoTime() < deadline) {
      checkAlive("waiting for pod " + namespace + "/" + pod);
      V1Pod p = api.readNamespacedPod(pod, namespace).execute();
      if (p.getStatus() != null) {
        List<V1PodCondition> conditions = Optional.ofNullable(p.getStatus().getConditions()).orElse(List.of());
        if (conditions.stream().anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()))) {
          return;
        }
        last = describe(p);
      }
      ManagedProcess.sleep(250);
    }
    throw new IllegalStateException(
        "pod "
            + namespace
            + "/"
            + pod
            + " not Ready on "
            + name
            + " within "
            + POD_READY_TIMEOUT.toSeconds()
            + " s ("
            + last
            + ")\n--- tail of kubelet log ---\n"
            + tail("kubelet.log"));
  }

  private static String describe(V1Pod p) {
    StringBuilder sb = new StringBuilder("phase ").append(p.getStatus().getPhase());
    for (V1ContainerStatus cs : Optional.ofNullable(p.getStatus().getContainerStatuses()).orElse(List.of())) {
      sb.append(", ").append(cs.getName()).append(" ready=").append(cs.getReady());
      if (cs.getState() != null && cs.getState().getWaiting() != null) {
        sb.append(" waiting ")
            .append(cs.getState().getWaiting().getReason())
            .append(": ")
            .append(cs.getState().getWaiting().getMessage());
      }
      if (cs.getState() != null && cs.getState().getTerminated() != null) {
        sb.append(" terminated ").append(cs.getState().getTerminated().getReason())
            .append(" exit ").append(cs.getState().getTerminated().getExitCode());
      }
    }
    return sb.toString();
  }

  private void awaitReady() {
    ApiClient admin = controlPlane.adminClient();
    CoreV1Api api = new CoreV1Api(admin);
    long deadline = System.nanoTime() + NODE_READY_TIMEOUT.toNanos();
    String last = "not registered yet";
    while (System.nanoTime() < deadline) {
      checkAlive("waiting for node " + name + " to become Ready");
      try {
        V1Node n = api.readNode(name).execute();
        List<V1NodeCondition> conditions =
            n.getStatus() == null ? List.of() : Optional.ofNullable(n.getStatus().getConditions()).orElse(List.of());
        for (V1NodeCondition c : conditions) {
          if ("Ready".equals(c.getType())) {
            if ("True".equals(c.getStatus())) {
              return;
            }
            last = "Ready=" + c.getStatus() + ": " + c.getReason() + " " + c.getMessage();
          }
        }
      } catch (ApiException e) {
        last = e.getCode() == 404 ? "not registered yet" : "HTTP " + e.getCode();
      }
      ManagedProcess.sleep(250);
    }
    throw new IllegalStateException(
        "KubeNode " + name + " not Ready within " + NODE_READY_TIMEOUT.toSeconds() + " s (" + last + ")" + logTails());
  }

  private void checkAlive(String what) {
    if (!process.isAlive()) {
      throw new IllegalStateException(
          "KubeNode "
              + name
              + " stopped while "
              + what
              + " (exit code "
              + process.exitCodeOrMinusOne()
              + ")"
              + logTails());
    }
  }

  private String logTails() {
    return "\n--- tail of node script log ---\n"
        + process.tail()
        + "\n--- tail of containerd log ---\n"
        + tail("containerd.log")
        + "\n--- tail of kubelet log ---\n"
        + tail("kubelet.log");
  }

  private String tail(String log) {
    Path file = dir.resolve("logs").resolve(log);
    try {
      if (!Files.exists(file)) {
        return "(no log)";
      }
      List<String> lines = Files.readAllLines(file, UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException | UncheckedIOException e) {
      return "(cannot read " + file + ": " + e + ")";
    }
  }

  /**
   * Deletes the pods and ConfigMaps {@link #runPod} created and the Node object, kills the node's PID
   * namespace (containerd, kubelet, shims, containers), removes the bridge and cgroups and deletes
   * the work directory.
   *
   * @throws IllegalStateException if something is left afterwards (a process, mount, bridge, cgroup
   *     or host path), naming it
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      CoreV1Api api = new CoreV1Api(controlPlane.adminClient());
      for (String[] pod : pods) {
        try {
          api.deleteNamespacedPod(pod[1], pod[0]).gracePeriodSeconds(0).execute();
        } catch (ApiException e) {
          // Already gone, or the control plane is shutting down; nothing else depends on it.
        }
        try {
          api.deleteNamespacedConfigMap(pod[1] + "-files", pod[0]).execute();
        } catch (ApiException e) {
          // Same.
        }
      }
    } catch (IllegalStateException e) {
      // The control plane is already closed: its objects went with it.
    }
    deleteNodeObject(controlPlane, name);
    ManagedProcess.stopAll(List.of(process), STOP_GRACE_MILLIS);
    awaitNamespacesGone(TEARDOWN_TIMEOUT);
    removeBridge(id);
    removeCgroups(cgroupDirs, TEARDOWN_TIMEOUT);
    SecureFiles.deleteTree(dir);
    ManagedProcess.removeShutdownHook(shutdownHook);
    List<String> left = leftovers();
    if (!left.isEmpty()) {
      throw new IllegalStateException("KubeNode " + name + " left behind: " + String.join("; ", left));
    }
  }

  /** What this node would leave on the host if teardown failed; empty once {@link #close()} is done. */
  List<String> leftovers() {
    List<String> left = new ArrayList<>();
    for (long pid : pidsIn("pid", pidNamespace)) {
      left.add("process " + pid + " in the node's PID namespace");
    }
    for (long pid : pidsIn("mnt", mountNamespace)) {
      left.add("process " + pid + " in the node's mount namespace");
    }
    if (Files.exists(Path.of("/sys/class/net", bridgeName(id)))) {
      left.add("network interface " + bridgeName(id));
    }
    for (String c : cgroupDirs) {
      if (Files.exists(Path.of(c))) {
        left.add("cgroup " + c);
      }
    }
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"), UTF_8)) {
        if (line.contains(dir.toString()) || line.contains("kubejit-node")) {
          left.add("host mount " + line);
        }
      }
    } catch (IOException e) {
      left.add("cannot read /proc/self/mountinfo: " + e);
    }
    for (String p : existingWatchedPaths()) {
      if (!hostPathsBefore.contains(p)) {
        left.add("host path " + p);
      }
    }
    if (Files.exists(dir)) {
      left.add("work directory " + dir);
    }
    return left;
  }

  String bridge() {
    return bridgeName(id);
  }

  List<String> cgroupDirectories() {
    return cgroupDirs;
  }

  String pidNamespace() {
    return pidNamespace;
  }

  Path workDir() {
    return dir;
  }

  @Override
  public String toString() {
    return "KubeNode[" + name + ", " + nodeIp + ", dir=" + dir + (closed.get() ? ", closed" : "") + "]";
  }

  private void ensureOpen() {
    if (closed.get()) {
      throw new IllegalStateException("KubeNode " + name + " is closed");
    }
  }

  private void awaitNamespacesGone(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline
        && (!pidsIn("pid", pidNamespace).isEmpty() || !pidsIn("mnt", mountNamespace).isEmpty())) {
      ManagedProcess.sleep(100);
    }
  }

  // ---------------------------------------------------------------- host plumbing

  static String nodeName(String id) {
    return "kubejit-node-" + id;
  }

  static String bridgeName(String id) {
    return "kubejit" + id; // at most 15 characters (IFNAMSIZ - 1)
  }

  private static void requireRoot() {
    try {
      Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
      if (!Integer.valueOf(0).equals(uid)) {
        throw new IllegalStateException(
            "KubeNode cannot start: it needs root (mount and PID namespaces, cgroups, a bridge); uid is " + uid);
      }
    } catch (IOException | UnsupportedOperationException e) {
      throw new IllegalStateException("KubeNode cannot start: cannot determine the user id (" + e + ")", e);
    }
  }

  /**
   * The host's own IPv4 address on the interface of the default route (as {@code ip route} shows
   * it); the kubelet refuses a loopback node IP, and the apiserver must reach it.
   */
  static String hostAddress() {
    String routes = run(List.of("ip", "-4", "-o", "route", "show", "default"));
    Matcher dev = Pattern.compile("\\bdev (\\S+)").matcher(routes);
    String wanted = dev.find() ? dev.group(1) : null;
    String addrs = run(List.of("ip", "-4", "-o", "addr", "show", "scope", "global"));
    Matcher m = Pattern.compile("(?m)^\\d+:\\s+(\\S+)\\s+inet (\\d+\\.\\d+\\.\\d+\\.\\d+)/").matcher(addrs);
    String fallback = null;
    while (m.find()) {
      String ifname = m.group(1);
      String ip = m.group(2);
      if (ip.startsWith("127.") || ifname.startsWith("kubejit")) {
        continue;
      }
      if (ifname.equals(wanted)) {
        return ip;
      }
      if (fallback == null) {
        fallback = ip;
      }
    }
    if (fallback != null) {
      return fallback;
    }
    throw new IllegalStateException(
        "KubeNode cannot start: no non-loopback IPv4 address for the kubelet's --node-ip (ip addr: "
            + routes.strip()
            + " / "
            + addrs.strip()
            + ")");
  }

  private static int freePort(String ip) {
    try (ServerSocket s = new ServerSocket()) {
      s.bind(new InetSocketAddress(InetAddress.getByName(ip), 0));
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot find a free port on " + ip, e);
    }
  }

  /** Creates {@code /<name>} in every cgroup hierarchy, ready to hold tasks; returns the paths. */
  private static List<String> createCgroups(String name) throws IOException {
    List<String> created = new ArrayList<>();
    Path root = Path.of(CGROUP_FS);
    if (Files.exists(root.resolve("cgroup.controllers"))) { // cgroup v2, unified
      Path d = root.resolve(name);
      Files.createDirectory(d);
      created.add(d.toString());
      return created;
    }
    try (DirectoryStream<Path> hierarchies = Files.newDirectoryStream(root)) {
      for (Path h : hierarchies) {
        if (Files.isSymbolicLink(h) || !Files.exists(h.resolve("cgroup.procs"))) {
          continue;
        }
        Path d = h.resolve(name);
        Files.createDirectory(d);
        created.add(d.toString());
        for (String f : List.of("cpuset.cpus", "cpuset.mems")) {
          if (Files.exists(h.resolve(f))) {
            Files.writeString(d.resolve(f), Files.readString(h.resolve(f), UTF_8).strip() + "\n", UTF_8);
          }
        }
      }
    }
    if (created.isEmpty()) {
      throw new IllegalStateException("KubeNode cannot start: no cgroup hierarchy under " + CGROUP_FS);
    }
    return created;
  }

  /** Removes the cgroup trees, deepest first, retrying while the kernel still releases tasks. */
  private static void removeCgroups(List<String> roots, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    for (String r : roots) {
      Path root = Path.of(r);
      while (Files.exists(root)) {
        List<Path> dirs;
        try (Stream<Path> walk = Files.walk(root)) {
          dirs = walk.filter(Files::isDirectory).sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList();
        } catch (IOException | UncheckedIOException e) {
          dirs = List.of();
        }
        for (Path d : dirs) {
          try {
            Files.delete(d); // rmdir: a cgroup directory holds only kernel files
          } catch (IOException e) {
            // Busy (tasks still exiting) or already gone; retried below.
          }
        }
        if (!Files.exists(root) || System.nanoTime() > deadline) {
          break;
        }
        ManagedProcess.sleep(100);
      }
    }
  }

  private static void removeBridge(String id) {
    if (Files.exists(Path.of("/sys/class/net", bridgeName(id)))) {
      run(List.of("ip", "link", "delete", bridgeName(id)));
    }
  }

  private static void deleteNodeObject(KubeControlPlane controlPlane, String name) {
    try {
      new CoreV1Api(controlPlane.adminClient()).deleteNode(name).execute();
    } catch (ApiException | IllegalStateException e) {
      // Not registered, or the control plane is closed already.
    }
  }

  private static List<String> existingWatchedPaths() {
    return WATCHED_HOST_PATHS.stream().filter(p -> Files.exists(Path.of(p))).toList();
  }

  /** PIDs (host view) of processes whose {@code /proc/<pid>/ns/<kind>} is {@code namespace}. */
  private static List<Long> pidsIn(String kind, String namespace) {
    List<Long> pids = new ArrayList<>();
    try (DirectoryStream<Path> proc = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
      for (Path p : proc) {
        try {
          if (namespace.equals(Files.readSymbolicLink(p.resolve("ns").resolve(kind)).toString())) {
            pids.add(Long.parseLong(p.getFileName().toString()));
          }
        } catch (IOException | UnsupportedOperationException e) {
          // The process exited while we looked.
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list /proc", e);
    }
    return pids;
  }

  /** The PID and mount namespaces ({@code pid:[...]}, {@code mnt:[...]}) of unshare's child. */
  private static String[] namespacesOfChild(ManagedProcess unshare, Path logs) {
    Path children = Path.of("/proc", Long.toString(unshare.pid()), "task", Long.toString(unshare.pid()), "children");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    String mine;
    try {
      mine = Files.readSymbolicLink(Path.of("/proc/self/ns/pid")).toString();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    while (System.nanoTime() < deadline) {
      if (!unshare.isAlive()) {
        throw new IllegalStateException(
            "KubeNode cannot start: unshare exited with code " + unshare.exitCodeOrMinusOne() + ":\n" + unshare.tail());
      }
      try {
        String text = Files.readString(children, UTF_8).strip();
        if (!text.isEmpty()) {
          Path child = Path.of("/proc", text.split("\\s+")[0]);
          String pid = Files.readSymbolicLink(child.resolve("ns/pid")).toString();
          String mnt = Files.readSymbolicLink(child.resolve("ns/mnt")).toString();
          if (!pid.equals(mine)) {
            return new String[] {pid, mnt};
          }
        }
      } catch (IOException e) {
        // Not forked yet.
      }
      ManagedProcess.sleep(20);
    }
    throw new IllegalStateException("KubeNode cannot start: unshare forked no child within 10 s; log " + logs);
  }

  private static String run(List<String> command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), UTF_8);
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException(String.join(" ", command) + " did not finish");
      }
      if (p.exitValue() != 0) {
        throw new IllegalStateException(String.join(" ", command) + " failed (" + p.exitValue() + "): " + out.strip());
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + command.get(0), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private static void checkLabel(String what, String value) {
    if (!DNS_LABEL.matcher(value).matches()) {
      throw new IllegalArgumentException(what + " must be a DNS label (RFC 1123): " + value);
    }
  }

  private static byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    RANDOM.nextBytes(b);
    return b;
  }



  // ---------------------------------------------------------------- configuration files

  private static String kubeletConfig(
      String nodeIp, int port, Path ca, Path crt, Path key, String cgroupRoot, Path dir) {
    return String.join(
        "\n",
        "apiVersion: kubelet.config.k8s.io/v1beta1",
        "kind: KubeletConfiguration",
        "address: " + nodeIp,
        "port: " + port,
        "readOnlyPort: 0",
        "healthzPort: 0",
        "tlsCertFile: " + crt,
        "tlsPrivateKeyFile: " + key,
        "authentication:",
        "  anonymous: {enabled: false}",
        "  webhook: {enabled: false}",
        "  x509: {clientCAFile: " + ca + "}",
        // As in production: the kubelet asks the API server (SubjectAccessReview) whether a caller
        // may use nodes/proxy and friends, so a test-CA certificate (a JIT user's, say) cannot
        // bypass RBAC by calling the kubelet directly. The API server itself is system:masters.
        "authorization:",
        "  mode: Webhook",
        "  webhook: {cacheAuthorizedTTL: 0s, cacheUnauthorizedTTL: 0s}",
        "cgroupDriver: cgroupfs",
        "cgroupRoot: " + cgroupRoot,
        "cgroupsPerQOS: true",
        "enforceNodeAllocatable: [pods]",
        "failSwapOn: false",
        "makeIPTablesUtilChains: false",
        "protectKernelDefaults: false",
        "resolvConf: \"\"",
        "hairpinMode: none",
        "volumePluginDir: " + dir.resolve("volume-plugins"),
        "staticPodPath: \"\"",
        "serializeImagePulls: false",
        "imageGCHighThresholdPercent: 100",
        "imageGCLowThresholdPercent: 99",
        "evictionHard: {memory.available: 1Mi, nodefs.available: 1%, nodefs.inodesFree: 1%,"
            + " imagefs.available: 1%}",
        "nodeStatusUpdateFrequency: 4s",
        "syncFrequency: 10s",
        "");
  }

  private static String containerdConfig(NodeAssets assets, Path cniConf) {
    return String.join(
        "\n",
        "version = 2",
        "root = \"/var/lib/containerd\"",
        "state = \"/run/containerd\"",
        "disabled_plugins = [\"io.containerd.snapshotter.v1.btrfs\", \"io.containerd.snapshotter.v1.zfs\","
            + " \"io.containerd.snapshotter.v1.devmapper\", \"io.containerd.snapshotter.v1.aufs\","
            + " \"io.containerd.tracing.processor.v1.otlp\", \"io.containerd.internal.v1.tracing\"]",
        "[grpc]",
        "  address = \"/run/containerd/containerd.sock\"",
        "[plugins.\"io.containerd.internal.v1.opt\"]",
        "  path = \"/var/lib/containerd-opt\"",
        "[plugins.\"io.containerd.grpc.v1.cri\"]",
        "  sandbox_image = \"" + NodeAssets.PAUSE_IMAGE + "\"",
        // Without CAP_SYS_RESOURCE runc cannot lower oom_score_adj and every sandbox fails.
        "  restrict_oom_score_adj = true",
        "  stream_server_address = \"127.0.0.1\"",
        "  stream_server_port = \"0\"",
        "  [plugins.\"io.containerd.grpc.v1.cri\".containerd]",
        "    snapshotter = \"overlayfs\"",
        "    default_runtime_name = \"runc\"",
        "    [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]",
        "      runtime_type = \"io.containerd.runc.v2\"",
        "  [plugins.\"io.containerd.grpc.v1.cri\".cni]",
        "    bin_dir = \"" + assets.cniBin + "\"",
        "    conf_dir = \"" + cniConf + "\"",
        "");
  }

  /**
   * A bridge without an address (no gateway, no masquerading, no iptables): pods get an address in
   * a /24 of 10.244.0.0/16 that only their own network namespace uses; exec, logs and port-forward
   * reach them through the kubelet and containerd, not over the network.
   */
  private static String cniConfig(String id) {
    int subnet = Integer.parseInt(id.substring(0, 2), 16);
    return "{\"cniVersion\": \"0.4.0\", \"name\": \"kubejit\", \"plugins\": [{\"type\": \"bridge\","
        + " \"bridge\": \""
        + bridgeName(id)
        + "\", \"isGateway\": false, \"ipMasq\": false, \"hairpinMode\": false, \"ipam\":"
        + " {\"type\": \"host-local\", \"ranges\": [[{\"subnet\": \"10.244."
        + subnet
        + ".0/24\"}]]}}]}\n";
  }
}
