package dev.kubejit.store.kubernetes;

import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import dev.kubejit.testing.RequestStoreContract;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** The Kubernetes store meets the store contract, running as the shipped Role and nothing more. */
@KubeTest
class KubernetesRequestStoreContractTest extends RequestStoreContract {
  private KubeControlPlane cp;
  private final List<KubernetesRequestStore> opened = new ArrayList<>();

  @BeforeEach
  void controlPlane(KubeControlPlane cp) {
    this.cp = cp;
  }

  @AfterEach
  void closeStores() {
    opened.forEach(KubernetesRequestStore::close);
  }

  @Override
  protected RequestStore newStore() {
    try {
      KubernetesRequestStore s = StoreCluster.store(cp, StoreCluster.namespaceWithRole(cp, "contract"));
      opened.add(s);
      return s;
    } catch (Exception e) {
      throw new AssertionError("cannot prepare a namespace for the store", e);
    }
  }
}
