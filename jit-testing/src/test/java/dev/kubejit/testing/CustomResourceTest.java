package dev.kubejit.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.ApiextensionsV1Api;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.apis.CustomObjectsApi;
import io.kubernetes.client.openapi.models.V1CustomResourceDefinition;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Custom resources on the test API server. Kubernetes 1.20 vendors a reflect2 that crashes the API
 * server under Go 1.18+ on the first custom resource; scripts/testenv.sh patches it, and this test
 * is what notices if an unpatched binary comes back.
 */
@KubeTest
class CustomResourceTest {
  private static final String GROUP = "testing.kubejit.dev";
  private static final String PLURAL = "debugsessions";
  private static final String NS = "crd-test";

  @TempDir Path tmp;

  @Test
  void customResourcesAreStoredAndSchemaInvalidOnesRefusedWith422(KubeControlPlane cp) throws Exception {
    // YAML through kubectl: client-java's schema model would send empty "dependencies" maps,
    // which the API server rightly refuses.
    Path crd = Files.writeString(tmp.resolve("crd.yaml"), String.join("\n",
        "apiVersion: apiextensions.k8s.io/v1",
        "kind: CustomResourceDefinition",
        "metadata: {name: " + PLURAL + "." + GROUP + "}",
        "spec:",
        "  group: " + GROUP,
        "  scope: Namespaced",
        "  names: {plural: " + PLURAL + ", singular: debugsession, kind: DebugSession}",
        "  versions:",
        "  - name: v1",
        "    served: true",
        "    storage: true",
        "    schema:",
        "      openAPIV3Schema:",
        "        type: object",
        "        properties:",
        "          spec:",
        "            type: object",
        "            required: [owner, minutes]",
        "            properties:",
        "              owner: {type: string, minLength: 1}",
        "              minutes: {type: integer, minimum: 1, maximum: 480}",
        ""));
    Kubectl.Result applied = Kubectl.run(cp.adminKubeconfig(), null, "apply", "-f", crd.toString());
    assertEquals(0, applied.exit(), applied.err());
    ApiextensionsV1Api ext = new ApiextensionsV1Api(cp.adminClient());
    awaitEstablished(ext);
    new CoreV1Api(cp.adminClient()).createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name(NS))).execute();
    CustomObjectsApi objects = new CustomObjectsApi(cp.adminClient());

    // The CRD becomes served a moment after Established; retry only the 404 of that window.
    Map<String, Object> valid = session("ok", Map.of("owner", "alice", "minutes", 30));
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (true) {
      try {
        objects.createNamespacedCustomObject(GROUP, "v1", NS, PLURAL, valid).execute();
        break;
      } catch (ApiException e) {
        if (e.getCode() != 404 || System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(200);
      }
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> read = (Map<String, Object>) objects.getNamespacedCustomObject(GROUP, "v1", NS, PLURAL, "ok").execute();
    @SuppressWarnings("unchecked")
    Map<String, Object> storedSpec = (Map<String, Object>) read.get("spec");
    assertEquals("alice", storedSpec.get("owner"));
    assertEquals(30, ((Number) storedSpec.get("minutes")).intValue()); // JSON numbers come back as Double
    assertEquals(2, storedSpec.size(), storedSpec.toString());

    ApiException invalid = assertThrows(ApiException.class, () -> objects.createNamespacedCustomObject(
        GROUP, "v1", NS, PLURAL, session("bad", Map.of("owner", "", "minutes", "forever"))).execute());
    assertEquals(422, invalid.getCode(), invalid.getResponseBody());
    assertTrue(invalid.getResponseBody().contains("spec.minutes"), invalid.getResponseBody());
    assertEquals(404, assertThrows(ApiException.class,
        () -> objects.getNamespacedCustomObject(GROUP, "v1", NS, PLURAL, "bad").execute()).getCode());

    // Listing iterates the stored map: exactly where the unpatched reflect2 crashed the server.
    @SuppressWarnings("unchecked")
    List<Object> items = (List<Object>) ((Map<String, Object>) objects
        .listNamespacedCustomObject(GROUP, "v1", NS, PLURAL).execute()).get("items");
    assertEquals(1, items.size());
    new CoreV1Api(cp.adminClient()).listNamespace().execute(); // the API server is still up
  }

  private static Map<String, Object> session(String name, Map<String, Object> spec) {
    return Map.of("apiVersion", GROUP + "/v1", "kind", "DebugSession",
        "metadata", Map.of("name", name), "spec", spec);
  }

  private static void awaitEstablished(ApiextensionsV1Api ext) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      V1CustomResourceDefinition crd = ext.readCustomResourceDefinition(PLURAL + "." + GROUP).execute();
      if (crd.getStatus() != null && crd.getStatus().getConditions() != null && crd.getStatus().getConditions()
          .stream().anyMatch(c -> "Established".equals(c.getType()) && "True".equals(c.getStatus()))) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("CRD not Established within 30 s");
  }
}
