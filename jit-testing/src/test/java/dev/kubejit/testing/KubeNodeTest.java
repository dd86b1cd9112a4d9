package dev.kubejit.testing;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1Node;
import io.kubernetes.client.openapi.models.V1Pod;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real node (containerd + runc + kubelet) on the shared control plane: the pod runs, and exec,
 * logs and port-forward go through the API server and the kubelet into the container.
 */
@KubeTest
class KubeNodeTest {
  private static final String NS = "node-test";
  private static final String APP_LOG = "2026-12-01T10:00:00Z ERROR payment 42 failed\n";

  @TempDir Path tmp;

  /** One pod for the whole class, on the class's node. */
  @BeforeAll
  static void runWebPod(KubeNode node) {
    Map<String, String> files = new LinkedHashMap<>();
    files.put("/var/log/app.log", APP_LOG);
    files.put("/etc/shadow", "root:KUBEJIT-SHADOW-MARKER:19000:0:99999:7:::\n");
    node.runPod(NS, "web", files);
  }

  @Test
  void nodeIsRegisteredReadyWithItsHostAddressAndThePodRunsOnIt(KubeControlPlane cp, KubeNode node) throws Exception {
    CoreV1Api api = new CoreV1Api(cp.adminClient());
    V1Node n = api.readNode(node.name()).execute();
    assertTrue(n.getStatus().getConditions().stream()
        .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus())));
    assertTrue(n.getStatus().getAddresses().stream()
        .anyMatch(a -> "InternalIP".equals(a.getType()) && a.getAddress().equals(node.nodeIp())));
    assertFalse(node.nodeIp().startsWith("127."), node.nodeIp());
    V1Pod pod = api.readNamespacedPod("web", NS).execute();
    assertEquals(node.name(), pod.getSpec().getNodeName());
    assertEquals("Running", pod.getStatus().getPhase());
    assertTrue(pod.getStatus().getPodIP() != null && !pod.getStatus().getPodIP().isEmpty());
  }

  @Test
  void theKubeletIsHeldByTheNodeAuthorizer(KubeControlPlane cp, KubeNode node) throws Exception {
    CoreV1Api admin = new CoreV1Api(cp.adminClient());
    admin.createNamespacedConfigMap(NS, new io.kubernetes.client.openapi.models.V1ConfigMap()
        .metadata(new io.kubernetes.client.openapi.models.V1ObjectMeta().name("unrelated"))
        .putDataItem("k", "v")).execute();
    CoreV1Api asNode = new CoreV1Api(cp.clientFor("system:node:" + node.name(), "system:nodes"));
    // What its own pod references, it may read; anything else, it may not.
    assertEquals("web-files", asNode.readNamespacedConfigMap("web-files", NS).execute().getMetadata().getName());
    assertEquals(403, assertThrows(ApiException.class,
        () -> asNode.readNamespacedConfigMap("unrelated", NS).execute()).getCode());
    CoreV1Api asOtherNode = new CoreV1Api(cp.clientFor("system:node:kubejit-node-other", "system:nodes"));
    assertEquals(403, assertThrows(ApiException.class,
        () -> asOtherNode.readNamespacedConfigMap("web-files", NS).execute()).getCode());
  }

  @Test
  void theKubeletAsksTheApiServerWhoMayCallIt(KubeControlPlane cp, KubeNode node) throws Exception {
    int port = new CoreV1Api(cp.adminClient()).readNode(node.name()).execute()
        .getStatus().getDaemonEndpoints().getKubeletEndpoint().getPort();
    URI pods = URI.create("https://" + node.nodeIp() + ":" + port + "/pods");
    assertEquals(200, kubeletStatus(cp, cp.pki().issueClient("direct-admin", List.of("system:masters")), pods));
    // A certificate from the same CA without RBAC for nodes/proxy: the kubelet's webhook says no.
    assertEquals(403, kubeletStatus(cp, cp.pki().issueClient("mallory", List.of("oncall-payments")), pods));
    assertEquals(401, kubeletStatus(cp, null, pods), "anonymous requests are not authenticated");
  }

  private static int kubeletStatus(KubeControlPlane cp, TestPki.Issued client, URI uri) throws Exception {
    HttpClient http = HttpClient.newBuilder().proxy(HttpClient.Builder.NO_PROXY)
        .sslContext(TestPki.sslContext(cp.caCertificate(), client)).build();
    return http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(20)).build(),
        HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  @Test
  void execRunsInTheContainerWithAndWithoutStdin(KubeControlPlane cp, KubeNode node) throws Exception {
    Kubectl.Result cat = Kubectl.run(cp.adminKubeconfig(), null, "exec", "-n", NS, "web", "--", "cat", "/var/log/app.log");
    assertEquals(0, cat.exit(), cat.err());
    assertEquals(APP_LOG, cat.out());
    Kubectl.Result shadow = Kubectl.run(cp.adminKubeconfig(), null, "exec", "-n", NS, "web", "--", "cat", "/etc/shadow");
    assertTrue(shadow.out().contains("KUBEJIT-SHADOW-MARKER"), shadow.out() + shadow.err());
    Kubectl.Result echo = Kubectl.run(cp.adminKubeconfig(), "ping through stdin\n", "exec", "-i", "-n", NS, "web", "--", "cat");
    assertEquals(0, echo.exit(), echo.err());
    assertEquals("ping through stdin\n", echo.out());
    Kubectl.Result fail = Kubectl.run(cp.adminKubeconfig(), null, "exec", "-n", NS, "web", "--", "sh", "-c", "exit 7");
    assertEquals(7, fail.exit(), "the container's exit code comes back: " + fail.err());
  }

  @Test
  void logsComeFromTheContainer(KubeControlPlane cp, KubeNode node) throws Exception {
    Kubectl.Result logs = Kubectl.run(cp.adminKubeconfig(), null, "logs", "-n", NS, "web");
    assertEquals(0, logs.exit(), logs.err());
    assertTrue(logs.out().contains("kubejit test pod web serving on :8080"), logs.out());
  }

  @Test
  void portForwardReachesTheHttpServerInThePod(KubeControlPlane cp, KubeNode node) throws Exception {
    try (Kubectl.PortForward pf = Kubectl.portForward(cp.adminKubeconfig(), tmp, NS, "pod/web", 8080)) {
      HttpClient http = HttpClient.newBuilder().proxy(HttpClient.Builder.NO_PROXY).build();
      HttpResponse<String> r = http.send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + pf.localPort() + "/"))
              .timeout(Duration.ofSeconds(20)).build(),
          HttpResponse.BodyHandlers.ofString(UTF_8));
      assertEquals(200, r.statusCode());
      assertEquals("kubejit test pod " + NS + "/web\n", r.body());
    }
  }

  @Test
  void badPodRequestsAreRefusedBeforeAnythingIsCreated(KubeControlPlane cp, KubeNode node) throws Exception {
    assertThrows(IllegalArgumentException.class, () -> node.runPod(NS, "Web_1", Map.of()));
    assertThrows(IllegalArgumentException.class, () -> node.runPod("Bad NS", "ok", Map.of()));
    assertThrows(IllegalArgumentException.class, () -> node.runPod(NS, "bad1", Map.of("var/log/x", "relative")));
    assertThrows(IllegalArgumentException.class, () -> node.runPod(NS, "bad2", Map.of("/var/../etc/x", "dots")));
    assertThrows(IllegalArgumentException.class, () -> node.runPod(NS, "bad3", Map.of("/tmp/a b", "space")));
    assertThrows(IllegalArgumentException.class, () -> node.runPod(NS, "bad4", Map.of("/proc/x", "proc")));
    CoreV1Api api = new CoreV1Api(cp.adminClient());
    for (String name : new String[] {"bad1", "bad2", "bad3", "bad4"}) {
      assertEquals(404, assertThrows(ApiException.class, () -> api.readNamespacedPod(name, NS).execute()).getCode());
      assertEquals(404, assertThrows(ApiException.class,
          () -> api.readNamespacedConfigMap(name + "-files", NS).execute()).getCode());
    }
  }
}
