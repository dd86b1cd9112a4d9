package dev.kubejit.store.kubernetes;

import dev.kubejit.testing.Kubectl;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.testing.ChildStore;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import dev.kubejit.testing.SharedRequestStoreContract;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.apis.ApisApi;
import io.kubernetes.client.openapi.models.V1APIGroup;
import com.google.gson.JsonObject;
import io.kubernetes.client.util.generic.KubernetesApiResponse;
import io.kubernetes.client.util.generic.dynamic.DynamicKubernetesObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Several Kubernetes store instances (and a child JVM) on one namespace of the test API server,
 * each running as the shipped Role only, meet the shared-store contract. A newer payload is a
 * status with {@code format} above the code's, written by the cluster admin; a newer schema is the
 * CRD serving a newer version ({@code v1alpha2}, preferred by discovery), which the backing
 * removes again when the test ends.
 */
@KubeTest
class KubernetesSharedRequestStoreContractTest extends SharedRequestStoreContract {
  private final KubeControlPlane cp;

  /** The control plane comes through the constructor: the contract's own set-up runs before ours. */
  KubernetesSharedRequestStoreContractTest(KubeControlPlane cp) {
    this.cp = cp;
  }

  @Override
  protected Backing newBacking() throws Exception {
    KubeControlPlane plane = cp;
    String ns = StoreCluster.namespaceWithRole(plane, "shared");
    Path kubeconfig = plane.kubeconfigFor(StoreCluster.BROKER_USER);
    return new Backing() {
      private boolean upgraded;

      @Override
      public RequestStore open() {
        return StoreCluster.store(plane, ns);
      }

      @Override
      public void writeAsNewerFormat(RequestRecord record) throws Exception {
        AccessRequestApi api = new AccessRequestApi(plane.adminClient(), ns);
        KubernetesApiResponse<DynamicKubernetesObject> current = api.get(record.id().value());
        current.throwsApiException();
        JsonObject raw = current.getObject().getRaw();
        JsonObject status = Codec.lifecycle(record);
        status.addProperty("format", Codec.FORMAT + 1);
        raw.add("status", status);
        api.replaceStatus(record.id().value(), raw).throwsApiException();
      }

      @Override
      public void upgradeSchemaBeyondCode() throws Exception {
        upgraded = true;
        String crd = KubernetesRequestStore.crdYaml();
        String v2 = crd.substring(crd.indexOf("    - name: v1alpha1")).replace("name: v1alpha1", "name: v1alpha2")
            .replace("storage: true", "storage: false");
        Kubectl.run(plane.adminKubeconfig(), crd + v2, "replace", "-f", "-").ok();
        awaitPreferred(plane.adminClient(), "v1alpha2");
      }

      @Override
      public ChildStore child() {
        return ChildStore.of(KubeStoreOpener.class, List.of(kubeconfig.toString(), ns));
      }

      @Override
      public void close() throws Exception {
        if (upgraded) {
          Kubectl.run(plane.adminKubeconfig(), KubernetesRequestStore.crdYaml(), "replace", "-f", "-").ok();
          awaitPreferred(plane.adminClient(), KubernetesRequestStore.VERSION);
        }
      }
    };
  }

  private static void awaitPreferred(ApiClient admin, String version) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (true) {
      for (V1APIGroup g : new ApisApi(admin).getAPIVersions().execute().getGroups()) {
        if (KubernetesRequestStore.GROUP.equals(g.getName()) && version.equals(g.getPreferredVersion().getVersion())) {
          return;
        }
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("discovery never preferred " + KubernetesRequestStore.GROUP + "/" + version);
      }
      Thread.sleep(100);
    }
  }
}
