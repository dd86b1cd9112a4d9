package dev.kubejit.store.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.EndCause;
import dev.kubejit.api.Grant;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.Use;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.InMemoryAuditSink;
import dev.kubejit.rbac.KubernetesRbacProvisioner;
import dev.kubejit.testing.FakeClock;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A broker restarted on the same AccessRequests continues where the last one stopped: a pending
 * request can be approved, an active grant authorises until it expires, and {@link
 * JitBroker#reconcile()} records what expired while no broker ran. Nothing but the custom
 * resources carries state across the restart (new store, new broker, new audit sink). The clock
 * is a fake one that starts now, so the real RBAC provisioner's expiry checks hold.
 */
@KubeTest
class BrokerRestartKubeTest {
  private static JitBroker broker(KubeControlPlane cp, KubernetesRequestStore store, String target, Clock clock,
      AuditSink audit) {
    return JitBroker.builder().clock(clock).policy(RacePolicy.policy(target)).store(store).auditSink(audit)
        .rbacProvisioner(KubernetesRbacProvisioner.builder(cp.adminClient()).maxGrantDuration(Duration.ofHours(1))
            .clock(clock).build())
        .build();
  }

  @Test
  void aRestartedBrokerContinues(KubeControlPlane cp) throws Exception {
    String ns = StoreCluster.namespaceWithRole(cp, "restart");
    String target = StoreCluster.namespace(cp, "restart-target");
    FakeClock clock = new FakeClock(Instant.now());
    RequestRecord pending;
    RequestRecord active;
    RequestRecord expiring;
    try (KubernetesRequestStore store = StoreCluster.store(cp, ns)) {
      JitBroker first = broker(cp, store, target, clock, AuditSink.inMemory());
      pending = first.submit(RacePolicy.request(1, target));
      active = first.submit(RacePolicy.request(4, target));
      expiring = first.submit(RacePolicy.request(2, target));
      first.approve(active.id(), RacePolicy.CAROL, "ok");
      first.activate(active.id(), RacePolicy.requester(4));
      first.approve(expiring.id(), RacePolicy.CAROL, "ok");
      first.activate(expiring.id(), RacePolicy.requester(2));
    }
    clock.advance(RacePolicy.SHORT.plusSeconds(1));

    InMemoryAuditSink audit = AuditSink.inMemory();
    try (KubernetesRequestStore store = StoreCluster.store(cp, ns)) {
      JitBroker second = broker(cp, store, target, clock, audit);
      assertEquals(List.of(pending.id()), second.pendingFor(RacePolicy.DAVE).stream().map(RequestRecord::id).toList());
      assertEquals(RequestState.APPROVED, second.approve(pending.id(), RacePolicy.DAVE, "after restart").state());

      Grant grant = second.find(active.id()).orElseThrow().grant().orElseThrow();
      assertTrue(second.authorize(grant.id(), RacePolicy.requester(4), Use.action(dev.kubejit.api.Action.EXEC))
          .isAllowed());

      assertEquals(1, second.reconcile());
      RequestRecord reconciled = second.find(expiring.id()).orElseThrow();
      assertEquals(RequestState.EXPIRED, reconciled.state());
      assertEquals(EndCause.RECONCILED_AFTER_RESTART, reconciled.endCause().orElseThrow());
      assertEquals(1, audit.events(AuditEventType.GRANT_RECONCILED).size());
      assertEquals(RequestState.ACTIVE, second.find(active.id()).orElseThrow().state());

      clock.advance(Duration.ofMinutes(31));
      assertTrue(!second.authorize(grant.id(), RacePolicy.requester(4), Use.action(dev.kubejit.api.Action.EXEC))
          .isAllowed(), "an expired grant no longer authorises");
      assertEquals(1, second.expireDue());
      assertEquals(RequestState.EXPIRED, second.find(active.id()).orElseThrow().state());
    }
  }
}
