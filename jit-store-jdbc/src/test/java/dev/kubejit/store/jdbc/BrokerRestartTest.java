package dev.kubejit.store.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.EndCause;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Identity;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.Scope;
import dev.kubejit.api.Use;
import dev.kubejit.api.spi.AccessPolicy;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.InMemoryAuditSink;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.testing.FakeClock;
import dev.kubejit.testing.PostgresServer;
import dev.kubejit.testing.PostgresTest;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A broker stopped and started again on the same store (a SQLite file, a PostgreSQL database)
 * carries on: a pending request can be approved by the new broker, an active grant authorises
 * until it expires, and {@code reconcile()} records what expired while no broker ran.
 */
class BrokerRestartTest {
  private static final Instant T0 = Instant.parse("2026-05-01T08:00:00Z");
  private static final Identity ALICE = Identity.of("alice", List.of("oncall-payments")).assertedBy("idp");
  private static final Identity BOB = Identity.of("bob", List.of("oncall-payments")).assertedBy("idp");
  private static final Identity CAROL = Identity.of("carol", List.of("sre-leads")).assertedBy("idp");

  @TempDir Path dir;

  @Test
  void continuesOnTheSameSqliteFile() {
    Path file = dir.resolve("kubejit.db");
    restartScenario(() -> JdbcRequestStore.builder().sqlite(file).build());
  }

  @Test
  @PostgresTest
  void continuesOnTheSamePostgresDatabase(PostgresServer server) throws Exception {
    Backings.Postgres db = new Backings.Postgres(server, dir);
    try {
      restartScenario(db::open);
    } finally {
      db.close();
    }
  }

  private static JitBroker broker(RequestStore store, FakeClock clock, InMemoryAuditSink audit) {
    return JitBroker.builder().clock(clock).store(store).auditSink(audit).rbacProvisioner(RbacProvisioner.inMemory())
        .policy(AccessPolicy.staticRules().role("oncall-debug", r -> r.requesters("oncall-payments")
            .namespaces("payments").durations(Duration.ofMinutes(15), Duration.ofHours(1))
            .manual(Action.EXEC, 1, "sre-leads").auto(Action.LOGS).commands("cat")).build())
        .requestTimeout(Duration.ofHours(2)).build();
  }

  private static AccessRequest request(Identity who, Action action, Duration d) {
    return AccessRequest.builder().requester(who).role("oncall-debug").action(action)
        .scope(Scope.namespace("prod", "payments")).duration(d).ticket("INC-7").build();
  }

  private static void restartScenario(Supplier<JdbcRequestStore> open) {
    FakeClock clock = new FakeClock(T0);
    RequestRecord pending;
    RequestRecord longLived;
    RequestRecord shortLived;
    GrantId longGrant;
    try (JdbcRequestStore store = open.get()) {
      JitBroker before = broker(store, clock, AuditSink.inMemory());
      pending = before.submit(request(ALICE, Action.EXEC, Duration.ofMinutes(30)));
      longLived = before.submit(request(ALICE, Action.LOGS, Duration.ofHours(1)));
      longGrant = before.activate(longLived.id(), ALICE).grant().id();
      shortLived = before.submit(request(BOB, Action.LOGS, Duration.ofMinutes(15)));
      before.activate(shortLived.id(), BOB);
    }
    // Down for 20 minutes: the short grant ends while no broker runs.
    clock.advance(Duration.ofMinutes(20));
    InMemoryAuditSink audit = AuditSink.inMemory();
    try (JdbcRequestStore store = open.get()) {
      JitBroker after = broker(store, clock, audit);
      assertEquals(1, after.reconcile());
      RequestRecord reconciled = store.find(shortLived.id()).orElseThrow();
      assertEquals(RequestState.EXPIRED, reconciled.state());
      assertEquals(EndCause.RECONCILED_AFTER_RESTART, reconciled.endCause().orElseThrow());
      assertEquals(1, audit.events(dev.kubejit.api.AuditEventType.GRANT_RECONCILED).size());

      assertEquals(List.of(pending.id()), after.pendingFor(CAROL).stream().map(RequestRecord::id).toList());
      assertEquals(RequestState.APPROVED, after.approve(pending.id(), CAROL, "after restart").state());

      Use logs = Use.action(Action.LOGS);
      dev.kubejit.api.Decision d = after.authorize(longGrant, ALICE, logs);
      assertTrue(d.isAllowed(), "the grant made before the restart still works: " + d);
      clock.set(T0.plus(Duration.ofHours(1)));
      assertFalse(after.authorize(longGrant, ALICE, logs).isAllowed(), "a grant that expires now has expired");
      assertEquals(1, after.expireDue(), "the long grant expires");
      assertEquals(RequestState.EXPIRED, store.find(longLived.id()).orElseThrow().state());
      clock.set(T0.plus(Duration.ofHours(2)));
      assertEquals(1, after.expireDue(), "the approved but never activated request expires with its window");
      assertTrue(store.listEndingBy(T0.plus(Duration.ofDays(365))).isEmpty());
    }
  }
}
