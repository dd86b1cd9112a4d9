package dev.kubejit.server;

import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import dev.kubejit.testing.Kubectl;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fault: {@link ClockSkewFaultTest}'s two replicas, one with its clock two minutes ahead, on the
 * Kubernetes store instead of PostgreSQL. There the service's clock follows the API server's
 * {@code Date} (one-second resolution), and the expiry sweep runs on the replica that holds the
 * store's Lease, whichever that is; neither grant may end early, and both end within the sweep
 * interval plus the Lease's retry period and a margin.
 */
@KubeTest
class ClockSkewKubeStoreFaultTest {
  @TempDir Path honestDir;
  @TempDir Path skewedDir;

  @Test
  void aReplicaTwoMinutesAheadExpiresNothingEarlyOnTheKubernetesStore(KubeControlPlane cp) throws Exception {
    Kubectl.run(cp.adminKubeconfig(), null, "apply", "-f", LeaderFailoverKubeTest.deploy("crd-accessrequests.yaml")
        .toString()).ok();
    Kubectl.run(cp.adminKubeconfig(), null, "wait", "--for=condition=Established", "--timeout=60s",
        "crd/accessrequests.kubejit.dev").ok();
    String ns = "skew-" + UUID.randomUUID().toString().substring(0, 8);
    Kubectl.run(cp.adminKubeconfig(), null, "create", "namespace", ns).ok();
    String store = "store:\n  kubernetes:\n    namespace: " + ns + "\n    kubeconfig: " + cp.adminKubeconfig() + "\n";
    ClockSkewFaultTest.twoReplicas("Kubernetes", honestDir, store, skewedDir, store, Duration.ofSeconds(2),
        Duration.ofSeconds(5 + 2 + 10));
  }
}
