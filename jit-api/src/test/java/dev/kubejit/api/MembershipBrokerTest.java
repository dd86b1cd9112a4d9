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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** The broker drives the identity provider's group membership beside RBAC, with the same ordering. */
class MembershipBrokerTest {
  private final TestClock clock = new TestClock(T0);
  private final InMemoryAuditSink audit = AuditSink.inMemory();
  private final AtomicBoolean auditFails = new AtomicBoolean();
  private final InMemoryRbacProvisioner rbac = RbacProvisioner.inMemory();
  private final RequestStore store = RequestStore.inMemory();
  private final Recording idp = new Recording();
  private final JitBroker broker = newBroker();

  private JitBroker newBroker() {
    return JitBroker.builder()
        .clock(clock)
        .policy(Fixtures.policy())
        .store(store)
        .auditSink(events -> {
          if (auditFails.get()) {
            throw new AuditException("disk full");
          }
          audit.write(events);
        })
        .rbacProvisioner(rbac)
        .membershipProvisioner(idp)
        .requestTimeout(Duration.ofMinutes(20))
        .build();
  }

  /** Records what the broker asked, what the store held at that moment, and can be made to fail. */
  private final class Recording implements MembershipProvisioner {
    final InMemoryMembershipProvisioner memory = MembershipProvisioner.inMemory();
    final List<String> calls = java.util.Collections.synchronizedList(new ArrayList<>());
    final AtomicBoolean addFails = new AtomicBoolean();
    final AtomicBoolean removeFails = new AtomicBoolean();

    @Override
    public void add(GroupMembership m) {
      calls.add("add " + m.grantId() + " rbac=" + rbac.isProvisioned(m.grantId()) + " recorded="
          + store.findByGrant(m.grantId()).isPresent());
      if (addFails.get()) {
        throw new ProvisioningException("identity provider refused " + m);
      }
      memory.add(m);
    }

    @Override
    public void remove(GroupMembership m, EndCause cause) {
      calls.add("remove " + m.grantId() + " " + cause + " rbac=" + rbac.isProvisioned(m.grantId()) + " state="
          + store.findByGrant(m.grantId()).map(r -> r.state().name()).orElse("none"));
      if (removeFails.get()) {
        throw new ProvisioningException("identity provider unreachable");
      }
      memory.remove(m, cause);
    }

    @Override
    public List<GroupMembership> listManaged() {
      return memory.listManaged();
    }
  }

  private Grant activeGrant() {
    RequestRecord r = broker.submit(request(ALICE, Action.LOGS).duration(Duration.ofMinutes(30)).build());
    return broker.activate(r.id(), ALICE).grant();
  }

  @Test
  void activationAddsTheHolderToTheGrantGroupAfterRbacAndBeforeTheRecord() {
    Grant g = activeGrant();
    GroupMembership m = idp.listManaged().get(0);
    assertEquals(GroupMembership.of(g), m);
    assertEquals("alice", m.user());
    assertEquals(g.subjectGroup(), m.group());
    assertEquals(T0.plus(Duration.ofMinutes(30)), m.expiresAt());
    assertEquals(List.of("add " + g.id() + " rbac=true recorded=false"), idp.calls);
  }

  @Test
  void refusedMembershipGrantsNothingAndRemovesRbac() {
    RequestRecord r = broker.submit(request(ALICE, Action.LOGS).build());
    idp.addFails.set(true);
    ProvisioningException e = assertThrows(ProvisioningException.class, () -> broker.activate(r.id(), ALICE));
    assertTrue(e.getMessage().contains("identity provider refused"), e.getMessage());
    assertEquals(RequestState.APPROVED, broker.find(r.id()).orElseThrow().state());
    assertTrue(rbac.provisioned().isEmpty(), "RBAC provisioned for the failed activation is removed");
    assertTrue(idp.listManaged().isEmpty());
    assertTrue(audit.events().stream().noneMatch(ev -> ev.type() == AuditEventType.GRANT_ACTIVATED));
  }

  @Test
  void auditFailureOnActivationRemovesTheMembershipAgain() {
    RequestRecord r = broker.submit(request(ALICE, Action.LOGS).build());
    auditFails.set(true);
    assertThrows(AuditException.class, () -> broker.activate(r.id(), ALICE));
    assertTrue(idp.listManaged().isEmpty());
    assertTrue(rbac.provisioned().isEmpty());
    assertEquals(EndCause.REVOKED, idp.memory.removed().values().iterator().next());
    assertEquals(RequestState.APPROVED, broker.find(r.id()).orElseThrow().state());
  }

  @Test
  void revokeRemovesTheMembershipAfterRbacAndBeforeTheRecord() {
    Grant g = activeGrant();
    broker.revoke(g.requestId(), ALICE, "fixed");
    assertTrue(idp.listManaged().isEmpty());
    assertEquals(EndCause.REVOKED, idp.memory.removed().get(g.id()));
    assertEquals("remove " + g.id() + " REVOKED rbac=false state=REVOKING", idp.calls.get(1));
  }

  @Test
  void failedRemovalLeavesTheGrantRevokingUntilTheSweepSucceeds() {
    Grant g = activeGrant();
    idp.removeFails.set(true);
    RequestRecord r = broker.revoke(g.requestId(), ALICE, "fixed");
    assertEquals(RequestState.REVOKING, r.state(), "recorded as revoking while the identity provider still has the member");
    assertEquals(r, broker.find(g.requestId()).orElseThrow());
    assertTrue(idp.memory.isMember(g.id()));
    assertFalse(rbac.isProvisioned(g.id()), "RBAC, the immediate revocation, is already gone");
    assertFalse(broker.authorize(g.id(), ALICE, Use.action(Action.LOGS)).isAllowed());
    assertEquals(0, broker.expireDue(), "the sweep retries and fails again");
    assertEquals(RequestState.REVOKING, broker.find(g.requestId()).orElseThrow().state());
    idp.removeFails.set(false);
    assertEquals(1, broker.expireDue());
    RequestRecord done = broker.find(g.requestId()).orElseThrow();
    assertEquals(RequestState.REVOKED, done.state());
    assertEquals("alice", done.endedBy().orElseThrow().user());
    assertFalse(idp.memory.isMember(g.id()));
  }

  @Test
  void expiryRemovesTheMembership() {
    Grant g = activeGrant();
    clock.advance(Duration.ofMinutes(29));
    assertEquals(0, broker.expireDue());
    assertTrue(idp.memory.isMember(g.id()));
    clock.advance(Duration.ofMinutes(1));
    assertEquals(1, broker.expireDue());
    assertEquals(EndCause.EXPIRED, idp.memory.removed().get(g.id()));
  }

  @Test
  void aRestartedBrokerReconcilesMembershipsThatFellDueWhileItWasDown() {
    Grant g = activeGrant();
    clock.advance(Duration.ofHours(2));
    JitBroker restarted = newBroker();
    assertEquals(1, restarted.reconcile());
    assertEquals(EndCause.RECONCILED_AFTER_RESTART, idp.memory.removed().get(g.id()));
    assertEquals(RequestState.EXPIRED, restarted.find(g.requestId()).orElseThrow().state());
  }

  @Test
  void sweepRemovesMembershipsLeftBehindButNotThoseOfActivationsInFlight() {
    Grant ended = activeGrant();
    broker.revoke(ended.requestId(), ALICE, "done");
    // A crash left the ended grant's membership behind, and two memberships of grants the store does not know.
    idp.memory.add(GroupMembership.of(ended));
    GroupMembership strayExpired = GroupMembership.of(GrantId.random(), "bob", "jit:grant:x", T0);
    GroupMembership inFlight = GroupMembership.of(GrantId.random(), "carol", "jit:grant:y", T0.plusSeconds(600));
    idp.memory.add(strayExpired);
    idp.memory.add(inFlight);

    assertEquals(0, broker.reconcile(), "no request or grant ended in this sweep");
    assertEquals(List.of(inFlight), idp.listManaged(),
        "a membership of an unknown grant stays until its expiry (its activation may be running elsewhere)");
    assertEquals(EndCause.REVOKED, idp.memory.removed().get(ended.id()), "removed with its grant's end cause");
    assertEquals(EndCause.RECONCILED_AFTER_RESTART, idp.memory.removed().get(strayExpired.grantId()));
    long recorded = audit.events().stream().filter(e -> e.type() == AuditEventType.GRANT_RECONCILED
        && e.attributes().containsKey("membership")).count();
    assertEquals(2, recorded);

    clock.advance(Duration.ofMinutes(10));
    broker.expireDue();
    assertTrue(idp.listManaged().isEmpty());
    assertEquals(EndCause.EXPIRED, idp.memory.removed().get(inFlight.grantId()));
  }

  @Test
  void sweepKeepsTheMembershipOfAnActiveGrant() {
    Grant g = activeGrant();
    broker.reconcile();
    broker.expireDue();
    assertTrue(idp.memory.isMember(g.id()));
  }

  @Test
  void unreachableProviderDuringTheSweepIsRetriedLater() {
    Grant g = activeGrant();
    broker.revoke(g.requestId(), ALICE, "done");
    idp.memory.add(GroupMembership.of(g));
    idp.removeFails.set(true);
    assertEquals(0, broker.expireDue());
    assertTrue(idp.memory.isMember(g.id()));
    idp.removeFails.set(false);
    broker.expireDue();
    assertFalse(idp.memory.isMember(g.id()));
  }

  @Test
  void membershipRefusesInvisibleCharactersInNames() {
    assertThrows(IllegalArgumentException.class,
        () -> GroupMembership.of(GrantId.random(), "ali\u200bce", "jit:grant:x", T0));
  }

  @Test
  void membershipProvisionerIsSetOnce() {
    JitBroker.Builder b = JitBroker.builder().membershipProvisioner(MembershipProvisioner.inMemory());
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> b.membershipProvisioner(MembershipProvisioner.inMemory()));
    assertTrue(e.getMessage().contains("already set"), e.getMessage());
  }
}
