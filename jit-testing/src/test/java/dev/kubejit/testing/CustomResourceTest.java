package dev.kubejit.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.ApiextensionsV1Api;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.apis.CustomObjectsApi;
import io.kubernetes.client.openapi.models.V1CustomResourceDefinition;
import io.kubernetes.client.openapi.models.V1CustomResourceDefinitionNames;
import io.kubernetes.client.openapi.models.V1CustomResourceDefinitionSpec;
import io.kubernetes.client.openapi.models.V1CustomResourceDefinitionVersion;
import io.kubernetes.client.openapi.models.V1CustomResourceValidation;
import io.kubernetes.client.openapi.models.V1JSONSchemaProps;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

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

  @Test
  void customResourcesAreStoredAndSchemaInvalidOnesRefusedWith422(KubeControlPlane cp) throws Exception {
    ApiextensionsV1Api ext = new ApiextensionsV1Api(cp.adminClient());
    V1JSONSchemaProps spec = new V1JSONSchemaProps().type("object").required(List.of("owner", "minutes"))
        .putPropertiesItem("owner", new V1JSONSchemaProps().type("string").minLength(1L))
        .putPropertiesItem("minutes", new V1JSONSchemaProps().type("integer").minimum(1.0).maximum(480.0));
    ext.createCustomResourceDefinition(new V1CustomResourceDefinition()
        .metadata(new V1ObjectMeta().name(PLURAL + "." + GROUP))
        .spec(new V1CustomResourceDefinitionSpec().group(GROUP).scope("Namespaced")
            .names(new V1CustomResourceDefinitionNames().plural(PLURAL).singular("debugsession").kind("DebugSession"))
            .addVersionsItem(new V1CustomResourceDefinitionVersion().name("v1").served(true).storage(true)
                .schema(new V1CustomResourceValidation().openAPIV3Schema(new V1JSONSchemaProps().type("object")
                    .putPropertiesItem("spec", spec))))))
        .execute();
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
    assertEquals(Map.of("owner", "alice", "minutes", 30), read.get("spec"));

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
