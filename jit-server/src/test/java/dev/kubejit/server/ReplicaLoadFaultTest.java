package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Load: 1,000 requests through two replicas on one PostgreSQL store, each approved twice at once
 * and activated twice at once (one call through each replica), without clusters (RBAC is the
 * subject of {@code ReplicaLoadKubeTest}); see {@link ReplicaLoad} for what is checked.
 */
class ReplicaLoadFaultTest {
  @TempDir Path a;
  @TempDir Path b;

  @Test
  void thousandRequestsApprovalsAndActivationsFromTwoReplicas() throws Exception {
    ReplicaLoad.Result r = new ReplicaLoad(1000, 1000, 32).run(a, b, "", active -> { });
    assertEquals(1000, r.groups.size());
  }
}
