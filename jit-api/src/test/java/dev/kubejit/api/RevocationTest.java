package dev.kubejit.api;

import static dev.kubejit.api.Fixtures.ALICE;
import static dev.kubejit.api.Fixtures.T0;
import static dev.kubejit.api.Fixtures.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Revoking an active grant records REVOKING before its RBAC is removed; a failed removal leaves it
 * REVOKING (authorising nothing) and the sweep retries until REVOKED.
 */
class RevocationTest {
  private static final CredentialSpec OPAQUE = CredentialSpec.of(CredentialKind.OPAQUE, null, java.util.Map.of());
  private static final Identity COMMANDER = Identity.of("ic", List.of("incident-commanders")).assertedBy("test-idp");
  private final TestClock clock = new TestClock(T0);
  private final InMemoryAuditSink audit = AuditSink.inMemory();
  private final AtomicBoolean auditFails = new AtomicBoolean();
  private final RequestStore store = RequestStore.inMemory();
  private final Flaky rbac = new Flaky();
  private final JitBroker broker = JitBroker.builder().clock(clock).policy(Fixtures.policy()).store(store)
      .auditSink(events -> {
        if (auditFails.get()) {
          throw new AuditException("disk full");
        }
        audit.write(events);
      })
      .rbacProvisioner(rbac).credentialIssuer(CredentialIssuer.inMemory()).adminGroups("incident-commanders")
      .requestTimeout(Duration.ofMinutes(20)).build();

  /** In-memory RBAC whose removal can be made to fail as an unreachable API server does. */
  private final class Flaky implements RbacProvisioner {
    final InMemoryRbacProvisioner memory = RbacProvisioner.inMemory();
    final AtomicBoolean down = new AtomicBoolean();
    final List<String> calls = java.util.Collections.synchronizedList(new ArrayList<>());

    @Override
    public void provision(Grant grant) {
      memory.provision(grant);
    }

    @Override
    public void deprovision(Grant grant, EndCause cause) {
      calls.add("deprovision state=" + store.findByGrant(grant.id()).map(r -> r.state().name()).orElse("none")
          + " audited=" + audit.events().stream().map(e -> e.type().name()).reduce((a, b) -> b).orElse(""));
      if (down.get()) {
        throw new ProvisionerUnavailableException("connection refused", null);
      }
      memory.deprovision(grant, cause);
    }
  }

  private Grant activeGrant() {
    RequestRecord r = broker.submit(request(ALICE, Action.LOGS).duration(Duration.ofMinutes(30)).build());
    return broker.activate(r.id(), ALICE, OPAQUE).grant();
  }

  @Test
  void revokingIsRecordedAndAuditedBeforeTheRemoval() {
    Grant g = activeGrant();
    RequestRecord done = broker.revoke(g.requestId(), ALICE, "fixed");
    assertEquals(RequestState.REVOKED, done.state());
    assertEquals(List.of("deprovision state=REVOKING audited=GRANT_REVOKING"), rbac.calls);
    AuditEvent revoking = audit.events(AuditEventType.GRANT_REVOKING).get(0);
    AuditEvent revoked = audit.events(AuditEventType.GRANT_REVOKED).get(0);
    assertEquals("ACTIVE", revoking.attributes().get("previousState"));
    assertEquals("REVOKING", revoked.attributes().get("previousState"));
    assertEquals("fixed", revoked.reason().orElseThrow());
    assertEquals(T0.toString(), revoked.attributes().get("revokedAt"));
    assertEquals(ALICE.user(), done.endedBy().orElseThrow().user());
    assertEquals(EndCause.REVOKED, done.endCause().orElseThrow());
    assertFalse(rbac.memory.isProvisioned(g.id()));
  }

  @Test
  void aFailedRemovalIsReportedRevokingAndTheSweepRetriesUntilItSucceeds() {
    Grant g = activeGrant();
    rbac.down.set(true);
    clock.advance(Duration.ofMinutes(1));
    RequestRecord r = broker.revoke(g.requestId(), ALICE, "leaked laptop");
    assertEquals(RequestState.REVOKING, r.state());
    assertEquals(r, broker.find(g.requestId()).orElseThrow());
    assertTrue(rbac.memory.isProvisioned(g.id()), "the API server is down: the binding is still there");
    assertTrue(audit.events(AuditEventType.GRANT_REVOKED).isEmpty());

    // It authorises nothing, issues nothing, and shows up as neither active nor ended.
    Decision d = broker.authorize(g.id(), ALICE, Use.action(Action.LOGS));
    assertFalse(d.isAllowed());
    assertTrue(d.reason().contains("REVOKING"), d.reason());
    InvalidTransitionException reissue = assertThrows(InvalidTransitionException.class,
        () -> broker.reissue(g.id(), ALICE, OPAQUE));
    assertTrue(reissue.getMessage().contains("is being revoked"), reissue.getMessage());
    assertTrue(broker.list(EnumSet.of(RequestState.ACTIVE)).isEmpty());
    assertEquals(1, broker.list(EnumSet.of(RequestState.REVOKING)).size());
    assertThrows(InvalidTransitionException.class, () -> broker.expire(g.requestId()),
        "expiry does not overtake a revocation");

    for (int i = 0; i < 3; i++) {
      clock.advance(Duration.ofSeconds(10));
      assertEquals(0, broker.expireDue());
      assertEquals(RequestState.REVOKING, broker.find(g.requestId()).orElseThrow().state());
    }
    assertEquals(1 + 3, rbac.calls.size(), "one removal at revoke, one per sweep: " + rbac.calls);

    rbac.down.set(false);
    clock.advance(Duration.ofSeconds(10));
    assertEquals(1, broker.expireDue());
    RequestRecord done = broker.find(g.requestId()).orElseThrow();
    assertEquals(RequestState.REVOKED, done.state());
    assertEquals(T0.plus(Duration.ofMinutes(1)), done.endedAt().orElseThrow(), "ended when it was revoked");
    assertEquals("leaked laptop", done.endReason().orElseThrow());
    assertFalse(rbac.memory.isProvisioned(g.id()));
    assertEquals(1, audit.events(AuditEventType.GRANT_REVOKED).size());
    assertEquals(0, broker.expireDue(), "nothing left to do");
    assertThrows(InvalidTransitionException.class, () -> broker.revoke(g.requestId(), ALICE, "again"));
  }

  @Test
  void revokingARevokingGrantAgainRetriesAtOnceKeepingTheFirstRevoker() {
    Grant g = activeGrant();
    rbac.down.set(true);
    assertEquals(RequestState.REVOKING, broker.revoke(g.requestId(), ALICE, "first").state());
    rbac.down.set(false);
    RequestRecord done = broker.revoke(g.requestId(), COMMANDER, "second");
    assertEquals(RequestState.REVOKED, done.state());
    assertEquals("alice", done.endedBy().orElseThrow().user());
    assertEquals("first", done.endReason().orElseThrow());
  }

  @Test
  void anAuditFailureAfterTheRemovalLeavesItRevokingForTheSweep() {
    Grant g = activeGrant();
    rbac.down.set(true);
    broker.revoke(g.requestId(), ALICE, "x");
    rbac.down.set(false);
    auditFails.set(true);
    assertEquals(0, broker.expireDue());
    assertFalse(rbac.memory.isProvisioned(g.id()));
    assertEquals(RequestState.REVOKING, broker.find(g.requestId()).orElseThrow().state());
    auditFails.set(false);
    assertEquals(1, broker.expireDue());
    assertEquals(RequestState.REVOKED, broker.find(g.requestId()).orElseThrow().state());
  }

  @Test
  void expiryWithAFailingRemovalKeepsTheGrantActiveButPastItsWindowAndRetries() {
    Grant g = activeGrant();
    rbac.down.set(true);
    clock.set(g.expiresAt());
    assertEquals(0, broker.expireDue());
    RequestRecord r = broker.find(g.requestId()).orElseThrow();
    assertEquals(RequestState.ACTIVE, r.state(), "nothing is recorded before the removal succeeds");
    assertFalse(broker.authorize(g.id(), ALICE, Use.action(Action.LOGS)).isAllowed(), "past its window");
    rbac.down.set(false);
    assertEquals(1, broker.expireDue());
    assertEquals(RequestState.EXPIRED, broker.find(g.requestId()).orElseThrow().state());
  }

  @Test
  void revokingRecordsAreCheckedForTheirGrantAndTime() {
    Grant g = activeGrant();
    RequestRecord active = broker.find(g.requestId()).orElseThrow();
    assertThrows(IllegalArgumentException.class, () -> active.toBuilder().state(RequestState.REVOKING).build(),
        "no end cause");
    assertThrows(IllegalArgumentException.class, () -> active.toBuilder().state(RequestState.REVOKING)
        .ended(EndCause.EXPIRED, T0, null, null).build());
    assertThrows(IllegalArgumentException.class, () -> active.toBuilder().state(RequestState.REVOKING)
        .ended(EndCause.REVOKED, null, null, null).build());
    RequestRecord ok = active.toBuilder().state(RequestState.REVOKING).ended(EndCause.REVOKED, T0, ALICE, null).build();
    assertEquals(T0, ok.windowEnd().orElseThrow(), "always due for the sweep");
    assertFalse(RequestState.REVOKING.isTerminal());
    assertFalse(RequestState.REVOKING.authorises());
    assertTrue(RequestState.ACTIVE.authorises());
    assertEquals(EnumSet.of(RequestState.EXPIRED, RequestState.REVOKING), RequestState.ACTIVE.successors());
    assertEquals(EnumSet.of(RequestState.REVOKED), RequestState.REVOKING.successors());
  }
}
