package dev.kubejit.store.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.EndCause;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.testing.FakeClock;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * Only the Lease holder sweeps: two replicas (each its own store and broker, running as the shipped
 * Role) share a Lease; requests that fall due are expired by the leader alone, a follower that
 * never led has swept nothing, once the leader closes (releasing the Lease) the follower takes
 * over, and a replica that starts after everyone stopped reconciles first what fell due meanwhile. Waits poll state with a deadline; nothing
 * is asserted after a sleep.
 */
@KubeTest
class LeaderElectedExpiryKubeTest {
  private static void await(String what, BooleanSupplier cond) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(50);
    }
  }

  private static LeaderElectedExpiry expiry(KubeControlPlane cp, JitBroker broker, String ns, String id) {
    return LeaderElectedExpiry.builder(broker, cp.clientFor(StoreCluster.BROKER_USER)).identity(id)
        .leaseNamespace(ns).leaseName("expiry").leaseDuration(Duration.ofSeconds(6))
        .renewDeadline(Duration.ofSeconds(4)).retryPeriod(Duration.ofMillis(500)).interval(Duration.ofMillis(200))
        .build();
  }

  @Test
  void onlyTheLeaderSweepsAndAFollowerTakesOver(KubeControlPlane cp) throws Exception {
    String ns = StoreCluster.namespaceWithRole(cp, "expiry");
    FakeClock clock = new FakeClock(java.time.Instant.now());
    try (KubernetesRequestStore storeA = StoreCluster.store(cp, ns);
        KubernetesRequestStore storeB = StoreCluster.store(cp, ns)) {
      JitBroker a = JitBroker.builder().clock(clock).policy(RacePolicy.policy("payments")).store(storeA)
          .auditSink(AuditSink.inMemory()).rbacProvisioner(RbacProvisioner.inMemory())
          .requestTimeout(Duration.ofMinutes(5)).build();
      JitBroker b = JitBroker.builder().clock(clock).policy(RacePolicy.policy("payments")).store(storeB)
          .auditSink(AuditSink.inMemory()).rbacProvisioner(RbacProvisioner.inMemory())
          .requestTimeout(Duration.ofMinutes(5)).build();
      LeaderElectedExpiry ea = expiry(cp, a, ns, "replica-a");
      ea.start();
      await("replica-a leads and has run its start-up reconcile", () -> ea.isLeader() && ea.sweeps() >= 1);
      LeaderElectedExpiry eb = expiry(cp, b, ns, "replica-b");
      eb.start();
      try {
        List<RequestId> first = submit(a, 5);
        clock.advance(Duration.ofMinutes(6));
        await("the leader expires the first batch", () -> allEnded(storeB, first));
        for (RequestId id : first) {
          assertEquals(EndCause.EXPIRED, storeB.find(id).orElseThrow().endCause().orElseThrow());
        }
        assertEquals(5, ea.expired());
        assertFalse(eb.isLeader());
        assertEquals(0, eb.sweeps(), "a follower never sweeps");

        ea.close();
        await("replica-b takes over once replica-a releases the Lease, and reconciles",
            () -> eb.isLeader() && eb.sweeps() >= 1);
        List<RequestId> second = submit(b, 3);
        clock.advance(Duration.ofMinutes(6));
        await("replica-b expires the second batch", () -> allEnded(storeA, second));
        assertEquals(3, eb.expired());
        for (RequestId id : second) {
          assertEquals(EndCause.EXPIRED, storeA.find(id).orElseThrow().endCause().orElseThrow());
        }

        eb.close();
        List<RequestId> third = submit(a, 2);
        clock.advance(Duration.ofMinutes(6));
        LeaderElectedExpiry ec = expiry(cp, a, ns, "replica-c");
        ec.start();
        try {
          await("replica-c leads and reconciles", () -> allEnded(storeB, third));
          assertEquals(2, ec.expired());
          for (RequestId id : third) {
            assertEquals(EndCause.RECONCILED_AFTER_RESTART, storeB.find(id).orElseThrow().endCause().orElseThrow(),
                "due while no replica led: reconciled");
          }
        } finally {
          ec.close();
        }
      } finally {
        ea.close();
        eb.close();
      }
    }
  }

  @Test
  void builderRefusesMisuse(KubeControlPlane cp) {
    JitBroker broker = JitBroker.builder().policy(RacePolicy.policy("payments")).store(dev.kubejit.api.spi
        .RequestStore.inMemory()).auditSink(AuditSink.inMemory()).rbacProvisioner(RbacProvisioner.inMemory()).build();
    LeaderElectedExpiry.Builder b = LeaderElectedExpiry.builder(broker, cp.adminClient());
    assertThrows(IllegalStateException.class, b::build, "lease namespace is required");
    b.leaseNamespace("default");
    assertThrows(IllegalStateException.class, () -> b.leaseNamespace("other"));
    assertThrows(IllegalArgumentException.class, () -> b.leaseName("Not A Name"));
    assertThrows(IllegalArgumentException.class, () -> b.interval(Duration.ZERO));
    b.leaseDuration(Duration.ofSeconds(2)).renewDeadline(Duration.ofSeconds(3));
    assertThrows(IllegalStateException.class, b::build, "lease duration must exceed the renew deadline");
  }

  private static List<RequestId> submit(JitBroker broker, int n) {
    List<RequestId> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ids.add(broker.submit(RacePolicy.request(1, "payments")).id());
    }
    return ids;
  }

  private static boolean allEnded(KubernetesRequestStore store, List<RequestId> ids) {
    for (RequestId id : ids) {
      RequestRecord r = store.find(id).orElseThrow();
      if (r.state() != RequestState.EXPIRED) {
        return false;
      }
    }
    return true;
  }
}
