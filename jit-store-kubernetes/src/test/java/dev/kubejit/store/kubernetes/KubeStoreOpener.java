package dev.kubejit.store.kubernetes;

import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.testing.StoreOpener;
import java.nio.file.Path;
import java.util.List;

/** Opens a Kubernetes store in the shared contract's child JVM. Args: kubeconfig, namespace. */
public final class KubeStoreOpener implements StoreOpener {
  /** Creates the opener. */
  public KubeStoreOpener() {}

  @Override
  public RequestStore open(List<String> args) {
    return KubernetesRequestStore.builder().kubeconfig(Path.of(args.get(0))).namespace(args.get(1)).build();
  }
}
