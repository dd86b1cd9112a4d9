package dev.kubejit.api;

import static dev.kubejit.api.Fixtures.ALICE;
import static dev.kubejit.api.Fixtures.T0;
import static dev.kubejit.api.Fixtures.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.InMemoryAuditSink;
import dev.kubejit.api.spi.InMemoryMembershipProvisioner;
import dev.kubejit.api.spi.InMemoryRbacProvisioner;
import dev.kubejit.api.spi.MembershipProvisioner;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * RBAC and memberships left by an activation that crashed between provisioning and its record
 * (simulated by an {@link Error} thrown out of the audit sink, which the broker does not catch, so
 * nothing is cleaned up) are removed by the sweep once older than the orphan grace, audit first.
 */
class OrphanReconcileTest {
  private static final Duration GRACE = Duration.ofMinutes(2);

  /** What a SIGKILL looks like from inside: nothing after it runs. */
  private static final class Crash extends Error {
    Crash() {
      super("killed", null, false, false);
    }
  }

  private final TestClock clock = new TestClock(T0);
  private final InMemoryAuditSink audit = AuditSink.inMemory();
  private final AtomicBoolean crashAtActivation = new AtomicBoolean();
  private final AtomicBoolean auditFails = new AtomicBoolean();
  private final InMemoryRbacProvisioner rbac = RbacProvisioner.inMemory();
  private final InMemoryMembershipProvisioner idp = MembershipProvisioner.inMemory();
  private final FlakyStore store = new FlakyStore(RequestStore.inMemory());
  private final JitBroker broker = JitBroker.builder()
      .clock(clock)
      .policy(Fixtures.policy())
      .store(store)
      .auditSink(events -> {
        if (auditFails.get()) {
          throw new AuditException("disk full");
        }
        if (crashAtActivation.get() && events.stream().anyMatch(e -> e.type() == AuditEventType.GRANT_ACTIVATED)) {
          throw new Crash();
        }
        audit.write(events);
      })
      .rbacProvisioner(rbac)
      .membershipProvisioner(idp)
      .orphanGrace(GRACE)
      .build();

  /** The in-memory store, whose lookups can be made to fail. */
  private static final class FlakyStore implements RequestStore {
    final RequestStore delegate;
    final AtomicBoolean lookupsFail = new AtomicBoolean();
    final java.util.Map<GrantId, Integer> byGrantLookups = new java.util.concurrent.ConcurrentHashMap<>();

    FlakyStore(RequestStore delegate) {
      this.delegate = delegate;
    }

    @Override
    public void insert(RequestRecord record) {
      delegate.insert(record);
    }

    @Override
    public Optional<RequestRecord> find(RequestId id) {
      if (lookupsFail.get()) {
        throw new IllegalStateException("database is locked");
      }
      return delegate.find(id);
    }

    @Override
    public Optional<RequestRecord> findByGrant(GrantId id) {
      byGrantLookups.merge(id, 1, Integer::sum);
      if (lookupsFail.get()) {
        throw new IllegalStateException("database is locked");
      }
      return delegate.findByGrant(id);
    }

    @Override
    public boolean replace(RequestRecord expected, RequestRecord updated) {
      return delegate.replace(expected, updated);
    }

    @Override
    public List<RequestRecord> list(Set<RequestState> states) {
      return delegate.list(states);
    }
  }

  /** Submits an auto-approved request and crashes its activation after RBAC and membership; returns the orphan's grant id. */
  private GrantId crashedActivation(RequestRecord r) {
    Set<GrantId> before = rbac.provisioned().keySet();
    crashAtActivation.set(true);
    assertThrows(Crash.class, () -> broker.activate(r.id(), ALICE));
    crashAtActivation.set(false);
    List<GrantId> fresh = rbac.provisioned().keySet().stream().filter(g -> !before.contains(g))
        .collect(Collectors.toList());
    assertEquals(1, fresh.size());
    assertEquals(RequestState.APPROVED, store.find(r.id()).orElseThrow().state(), "the record never changed");
    return fresh.get(0);
  }

  private RequestRecord submit() {
    return broker.submit(request(ALICE, Action.LOGS).duration(Duration.ofMinutes(30)).build());
  }

  private List<AuditEvent> reconciled(GrantId g) {
    return audit.events().stream().filter(e -> e.type() == AuditEventType.GRANT_RECONCILED
        && e.grantId().equals(Optional.of(g))).collect(Collectors.toList());
  }

  @Test
  void anOrphanOlderThanTheGraceIsRemovedOnceWithOneAuditEvent() {
    RequestRecord r = submit();
    GrantId orphan = crashedActivation(r);
    assertTrue(reconciled(orphan).isEmpty());

    clock.advance(GRACE);
    assertEquals(0, broker.reconcile(), "no request or grant ended");
    assertFalse(rbac.isProvisioned(orphan), "removed at the grace");
    assertEquals(EndCause.RECONCILED_AFTER_RESTART, rbac.removed().get(orphan));
    List<AuditEvent> events = reconciled(orphan);
    assertEquals(1, events.size(), events.toString());
    AuditEvent e = events.get(0);
    assertEquals(Optional.of(r.id()), e.requestId());
    assertEquals("true", e.attributes().get("orphan"));
    assertEquals("RECONCILED_AFTER_RESTART", e.attributes().get("cause"));
    assertEquals(T0.toString(), e.attributes().get("createdAt"));
    assertEquals(T0.plus(Duration.ofMinutes(30)).toString(), e.attributes().get("expiresAt"));
    assertTrue(e.attributes().containsKey("rbacObjects"));

    broker.expireDue();
    clock.advance(Duration.ofMinutes(1));
    broker.expireDue();
    assertEquals(1, reconciled(orphan).stream().filter(x -> x.attributes().containsKey("rbacObjects")).count(),
        "recorded once");
    assertEquals(RequestState.APPROVED, store.find(r.id()).orElseThrow().state(), "the request may be activated again");
  }

  @Test
  void anOrphanYoungerThanTheGraceIsLeft() {
    GrantId orphan = crashedActivation(submit());
    clock.advance(GRACE.minusSeconds(1));
    broker.reconcile();
    assertTrue(rbac.isProvisioned(orphan), "its activation may still be running on another replica");
    assertTrue(reconciled(orphan).isEmpty());

    clock.advance(Duration.ofSeconds(1));
    broker.expireDue();
    assertFalse(rbac.isProvisioned(orphan));
  }

  @Test
  void theRbacOfAKnownGrantIsLeft() {
    RequestRecord r = submit();
    Grant active = broker.activate(r.id(), ALICE).grant();
    RequestRecord revokedRequest = submit();
    Grant revoked = broker.activate(revokedRequest.id(), ALICE).grant();
    broker.revoke(revokedRequest.id(), ALICE, "done");
    clock.advance(GRACE.plus(Duration.ofMinutes(5)));
    broker.expireDue();
    assertTrue(rbac.isProvisioned(active.id()), "an ACTIVE grant keeps its RBAC");
    assertTrue(idp.isMember(active.id()), "and its membership");
    assertTrue(reconciled(active.id()).isEmpty());
    assertEquals(EndCause.REVOKED, rbac.removed().get(revoked.id()), "a revoked grant's RBAC went with its revocation");
    assertTrue(reconciled(revoked.id()).isEmpty());
  }

  @Test
  void aGrantTheStoreKnowsIsLookedUpOnceNotOnEverySweep() {
    // Without memberships, so that every lookup counted here is the orphan pass's.
    JitBroker plain = JitBroker.builder().clock(clock).policy(Fixtures.policy()).store(store).auditSink(audit)
        .rbacProvisioner(rbac).orphanGrace(GRACE).build();
    Grant active = plain.activate(plain.submit(request(ALICE, Action.LOGS).duration(Duration.ofMinutes(30)).build())
        .id(), ALICE).grant();
    clock.advance(GRACE.plus(Duration.ofMinutes(1)));
    store.byGrantLookups.clear();
    plain.expireDue();
    assertEquals(1, store.byGrantLookups.getOrDefault(active.id(), 0), "looked up once it is old enough to judge");
    plain.expireDue();
    plain.expireDue();
    assertEquals(1, store.byGrantLookups.getOrDefault(active.id(), 0), "a grant the store knows stays known");
    assertTrue(rbac.isProvisioned(active.id()));
    assertTrue(reconciled(active.id()).isEmpty());
  }

  @Test
  void rbacNamingARequestTheStoreDoesNotKnowIsLeftToItsExpiry() {
    // Another installation's grant in the same cluster, or one made by hand: not this store's to judge.
    Grant foreign = Grant.builder().id(GrantId.random()).requestId(RequestId.random()).holder(ALICE)
        .role("oncall-debug").action(Action.LOGS).scope(Fixtures.PAYMENTS)
        .window(T0, T0.plus(Duration.ofMinutes(30))).build();
    rbac.provision(foreign);
    clock.advance(GRACE.plus(Duration.ofMinutes(1)));
    broker.reconcile();
    assertTrue(rbac.isProvisioned(foreign.id()));
    assertTrue(reconciled(foreign.id()).isEmpty());
  }

  @Test
  void aStoreThatCannotBeReadRemovesNothing() {
    GrantId orphan = crashedActivation(submit());
    clock.advance(GRACE);
    store.lookupsFail.set(true);
    broker.expireDue();
    assertTrue(rbac.isProvisioned(orphan), "fail closed: nothing removed without the store's answer");
    assertTrue(idp.isMember(orphan));
    assertTrue(reconciled(orphan).isEmpty());

    store.lookupsFail.set(false);
    broker.expireDue();
    assertFalse(rbac.isProvisioned(orphan), "the next sweep retries");
    assertEquals(1, reconciled(orphan).stream().filter(x -> x.attributes().containsKey("rbacObjects")).count());
  }

  @Test
  void nothingIsRemovedUnrecorded() {
    GrantId orphan = crashedActivation(submit());
    clock.advance(GRACE);
    auditFails.set(true);
    broker.expireDue();
    assertTrue(rbac.isProvisioned(orphan), "audit before act: no record, no removal");

    auditFails.set(false);
    broker.expireDue();
    assertFalse(rbac.isProvisioned(orphan));
  }

  @Test
  void anOrphanedMembershipGoesOneGraceAfterTheBrokerFirstSawIt() {
    GrantId orphan = crashedActivation(submit());
    assertTrue(idp.isMember(orphan));
    broker.reconcile(); // first seen now: memberships carry no creation time
    clock.advance(GRACE.minusSeconds(1));
    broker.expireDue();
    assertTrue(idp.isMember(orphan), "younger than the grace by this broker's sight");

    clock.advance(Duration.ofSeconds(1));
    broker.expireDue();
    assertFalse(idp.isMember(orphan));
    assertEquals(EndCause.RECONCILED_AFTER_RESTART, idp.removed().get(orphan));
    List<AuditEvent> events = reconciled(orphan).stream().filter(e -> e.attributes().containsKey("membership"))
        .collect(Collectors.toList());
    assertEquals(1, events.size(), events.toString());
    assertEquals("true", events.get(0).attributes().get("orphan"));
    assertEquals(T0.toString(), events.get(0).attributes().get("unknownSince"));
  }

  @Test
  void theGraceIsBoundedAndSetOnce() {
    JitBroker.Builder b = JitBroker.builder();
    assertThrows(IllegalArgumentException.class, () -> b.orphanGrace(Duration.ofSeconds(-1)));
    assertThrows(IllegalArgumentException.class, () -> b.orphanGrace(Duration.ofHours(24).plusSeconds(1)));
    assertThrows(IllegalArgumentException.class, () -> b.orphanGrace(null));
    b.orphanGrace(Duration.ZERO);
    assertThrows(IllegalStateException.class, () -> b.orphanGrace(Duration.ofMinutes(1)));
  }
}
