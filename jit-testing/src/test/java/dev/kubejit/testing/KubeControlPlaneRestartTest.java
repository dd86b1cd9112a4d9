package dev.kubejit.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A control plane of the test's own (never the shared one) whose API server is stopped and started
 * and whose etcd is restarted: same URL and certificates, data kept, clients made before keep
 * working once it is back.
 */
@Tag("kube")
class KubeControlPlaneRestartTest {
  static KubeControlPlane cp;

  @BeforeAll
  static void start() {
    cp = KubeControlPlane.start();
  }

  @AfterAll
  static void stop() {
    if (cp != null) {
      cp.close();
    }
  }

  private static V1ConfigMap configMap(String name, String value) {
    return new V1ConfigMap().metadata(new V1ObjectMeta().name(name).namespace("restart"))
        .data(Map.of("v", value));
  }

  @Test
  void apiServerStopsAndStartsOnTheSamePortWithItsData() throws Exception {
    ApiClient admin = cp.adminClient();
    CoreV1Api core = new CoreV1Api(admin);
    try {
      core.createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name("restart"))).execute();
    } catch (ApiException e) {
      assertEquals(409, e.getCode(), e.getResponseBody());
    }
    core.createNamespacedConfigMap("restart", configMap("before-stop", "1")).execute();
    String url = cp.serverUrl();

    cp.stopApiServer();
    assertFalse(cp.apiServerRunning());
    ApiException down = assertThrows(ApiException.class,
        () -> core.readNamespacedConfigMap("before-stop", "restart").execute());
    assertEquals(0, down.getCode(), "no HTTP answer at all: " + down);
    cp.stopApiServer(); // already stopped: nothing happens

    long t0 = System.nanoTime();
    cp.startApiServer();
    System.out.println("MEASURED kube-apiserver restart to /readyz ok: "
        + Duration.ofNanos(System.nanoTime() - t0).toMillis() + " ms");
    assertTrue(cp.apiServerRunning());
    assertEquals(url, cp.serverUrl());
    assertEquals("1", core.readNamespacedConfigMap("before-stop", "restart").execute().getData().get("v"),
        "the client made before the stop works again and etcd kept the data");
    cp.startApiServer(); // already running: nothing happens
  }

  @Test
  void etcdRestartKeepsTheDataAndTheApiServerRecovers() throws Exception {
    CoreV1Api core = new CoreV1Api(cp.adminClient());
    try {
      core.createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name("restart"))).execute();
    } catch (ApiException e) {
      assertEquals(409, e.getCode(), e.getResponseBody());
    }
    core.createNamespacedConfigMap("restart", configMap("before-etcd", "2")).execute();
    long t0 = System.nanoTime();
    cp.restartEtcd(Duration.ofSeconds(2));
    System.out.println("MEASURED etcd restart (2 s down) to API server /readyz ok: "
        + Duration.ofNanos(System.nanoTime() - t0).toMillis() + " ms");
    assertEquals("2", core.readNamespacedConfigMap("before-etcd", "restart").execute().getData().get("v"));
    core.createNamespacedConfigMap("restart", configMap("after-etcd", "3")).execute();
    assertEquals("3", core.readNamespacedConfigMap("after-etcd", "restart").execute().getData().get("v"));
  }

  @Test
  void misuseIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> cp.restartEtcd(Duration.ofSeconds(-1)));
    assertThrows(NullPointerException.class, () -> cp.restartEtcd(null));
  }
}
