package dev.kubejit.store.kubernetes;

import dev.kubejit.testing.Kubectl;
import dev.kubejit.testing.KubeControlPlane;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.UUID;

/**
 * Prepares the shared test control plane the way an operator would: the shipped CRD applied once
 * (cluster-admin), and per test a fresh namespace holding the shipped Role bound to the user
 * {@link #BROKER_USER}, whose client-certificate identity the store then runs as. Nothing else is
 * granted to that user, so every test that runs a store proves the Role suffices.
 */
final class StoreCluster {
  static final String BROKER_USER = "kubejit-broker";
  private static volatile KubeControlPlane crdInstalledOn;

  private StoreCluster() {}

  static Path deploy(String file) {
    String root = System.getProperty("kubejit.projectRoot");
    Path base = root == null ? Path.of("..") : Path.of(root);
    return base.resolve("deploy").resolve(file).toAbsolutePath().normalize();
  }

  static synchronized void installCrd(KubeControlPlane cp) throws IOException, InterruptedException {
    if (crdInstalledOn == cp) {
      return;
    }
    Kubectl.run(cp.adminKubeconfig(), null, "apply", "-f", deploy(KubernetesRequestStore.CRD_RESOURCE).toString())
        .ok();
    Kubectl.run(cp.adminKubeconfig(), null, "wait", "--for=condition=Established", "--timeout=60s",
        "crd/" + KubernetesRequestStore.CRD_NAME).ok();
    crdInstalledOn = cp;
  }

  /** A new, empty namespace. */
  static String namespace(KubeControlPlane cp, String prefix) throws IOException, InterruptedException {
    String ns = (prefix + "-" + UUID.randomUUID().toString().substring(0, 8)).toLowerCase(Locale.ROOT);
    Kubectl.run(cp.adminKubeconfig(), null, "create", "namespace", ns).ok();
    return ns;
  }

  /** A new namespace with the shipped Role bound to {@link #BROKER_USER}; the CRD installed. */
  static String namespaceWithRole(KubeControlPlane cp, String prefix) throws IOException, InterruptedException {
    installCrd(cp);
    String ns = namespace(cp, prefix);
    Kubectl.run(cp.adminKubeconfig(), null, "-n", ns, "apply", "-f",
        deploy(KubernetesRequestStore.ROLE_RESOURCE).toString()).ok();
    Kubectl.run(cp.adminKubeconfig(), null, "-n", ns, "create", "rolebinding", "kubejit-broker-store",
        "--role=kubejit-broker-store", "--user=" + BROKER_USER).ok();
    return ns;
  }

  static KubernetesRequestStore store(KubeControlPlane cp, String namespace) {
    return KubernetesRequestStore.builder().clientJavaApiClient(cp.clientFor(BROKER_USER)).namespace(namespace)
        .build();
  }
}
