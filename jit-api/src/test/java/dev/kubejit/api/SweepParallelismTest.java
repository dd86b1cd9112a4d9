package dev.kubejit.api;

import static dev.kubejit.api.Fixtures.ALICE;
import static dev.kubejit.api.Fixtures.T0;
import static dev.kubejit.api.Fixtures.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.CredentialIssuer;
import dev.kubejit.api.spi.InMemoryAuditSink;
import dev.kubejit.api.spi.InMemoryRbacProvisioner;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * One sweep ends the grants that fell due together at the same time, up to {@code
 * sweepParallelism}, each exactly once, and reports a failure without losing the others.
 */
class SweepParallelismTest {
  private static final CredentialSpec OPAQUE = CredentialSpec.of(CredentialKind.OPAQUE, null, Map.of());

  /** RBAC whose removal waits until {@code together} removals are in progress at once (or times out). */
  private static final class Gathering implements RbacProvisioner {
    final InMemoryRbacProvisioner memory = RbacProvisioner.inMemory();
    final CountDownLatch arrived;
    final AtomicInteger inFlight = new AtomicInteger();
    final AtomicInteger maxInFlight = new AtomicInteger();
    volatile boolean gathered = true;

    Gathering(int together) {
      arrived = new CountDownLatch(together);
    }

    @Override
    public void provision(Grant grant) {
      memory.provision(grant);
    }

    @Override
    public void deprovision(Grant grant, EndCause cause) {
      maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
      try {
        arrived.countDown();
        if (!arrived.await(10, TimeUnit.SECONDS)) {
          gathered = false;
        }
        memory.deprovision(grant, cause);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      } finally {
        inFlight.decrementAndGet();
      }
    }
  }

  private static List<Grant> activate(JitBroker broker, int n) {
    List<Grant> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      RequestRecord r = broker.submit(request(ALICE, Action.LOGS).duration(Duration.ofMinutes(30)).build());
      out.add(broker.activate(r.id(), ALICE, OPAQUE).grant());
    }
    return out;
  }

  @Test
  void grantsThatFallDueTogetherAreRemovedAtTheSameTimeAndEachOnce() {
    TestClock clock = new TestClock(T0);
    InMemoryAuditSink audit = AuditSink.inMemory();
    Gathering rbac = new Gathering(6);
    JitBroker broker = JitBroker.builder().clock(clock).policy(Fixtures.policy()).store(RequestStore.inMemory())
        .auditSink(audit).rbacProvisioner(rbac).credentialIssuer(CredentialIssuer.inMemory()).build();
    List<Grant> grants = activate(broker, 6);

    clock.advance(Duration.ofMinutes(31));
    assertEquals(6, broker.expireDue());

    assertTrue(rbac.gathered, "the six removals were not in progress at the same time (default parallelism 8)");
    assertEquals(6, rbac.maxInFlight.get());
    for (Grant g : grants) {
      assertEquals(EndCause.EXPIRED, rbac.memory.removed().get(g.id()));
    }
    assertEquals(6, audit.events(AuditEventType.GRANT_EXPIRED).size());
    assertEquals(0, broker.expireDue(), "nothing is left to end");
  }

  @Test
  void parallelismOneEndsThemOneAfterAnother() {
    TestClock clock = new TestClock(T0);
    Gathering rbac = new Gathering(1);
    JitBroker broker = JitBroker.builder().clock(clock).policy(Fixtures.policy()).store(RequestStore.inMemory())
        .auditSink(AuditSink.inMemory()).rbacProvisioner(rbac).credentialIssuer(CredentialIssuer.inMemory())
        .sweepParallelism(1).build();
    activate(broker, 4);
    clock.advance(Duration.ofMinutes(31));
    assertEquals(4, broker.expireDue());
    assertEquals(1, rbac.maxInFlight.get());
  }

  @Test
  void aFailingRemovalIsRetriedLaterWhileTheOthersEnd() {
    TestClock clock = new TestClock(T0);
    InMemoryAuditSink audit = AuditSink.inMemory();
    InMemoryRbacProvisioner memory = RbacProvisioner.inMemory();
    List<Grant> grants = new ArrayList<>();
    RbacProvisioner flaky = new RbacProvisioner() {
      @Override
      public void provision(Grant grant) {
        memory.provision(grant);
      }

      @Override
      public void deprovision(Grant grant, EndCause cause) {
        if (grant.equals(grants.get(1)) && clock.instant().isBefore(T0.plus(Duration.ofMinutes(40)))) {
          throw new ProvisionerUnavailableException("connection refused", null);
        }
        memory.deprovision(grant, cause);
      }
    };
    JitBroker broker = JitBroker.builder().clock(clock).policy(Fixtures.policy()).store(RequestStore.inMemory())
        .auditSink(audit).rbacProvisioner(flaky).credentialIssuer(CredentialIssuer.inMemory()).build();
    grants.addAll(activate(broker, 3));
    clock.advance(Duration.ofMinutes(31));
    assertEquals(2, broker.expireDue());
    assertTrue(memory.removed().containsKey(grants.get(0).id()));
    assertTrue(memory.isProvisioned(grants.get(1).id()));
    assertTrue(memory.removed().containsKey(grants.get(2).id()));
    clock.advance(Duration.ofMinutes(10));
    assertEquals(1, broker.expireDue());
    assertEquals(3, audit.events(AuditEventType.GRANT_EXPIRED).size());
  }

  @Test
  void parallelismIsBounded() {
    assertThrows(IllegalArgumentException.class, () -> JitBroker.builder().sweepParallelism(0));
    assertThrows(IllegalArgumentException.class, () -> JitBroker.builder().sweepParallelism(65));
    assertThrows(IllegalStateException.class, () -> JitBroker.builder().sweepParallelism(2).sweepParallelism(3));
  }
}
