package dev.kubejit.api;

import static dev.kubejit.api.Fixtures.ALICE;
import static dev.kubejit.api.Fixtures.T0;
import static dev.kubejit.api.Fixtures.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.InMemoryAuditSink;
import dev.kubejit.api.spi.InMemoryRbacProvisioner;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.RepeatedTest;

/**
 * 100 threads race approve, revoke and expire on one request; whatever the interleaving, the
 * request ends in exactly one terminal state and the audit trail has exactly one event per
 * transition that was actually taken (each successful call), none after the terminal one.
 */
class BrokerConcurrencyTest {
  private static final int THREADS = 100;
  private final ExecutorService pool = Executors.newFixedThreadPool(THREADS);
  private final TestClock clock = new TestClock(T0);
  private final InMemoryAuditSink audit = AuditSink.inMemory();
  private final InMemoryRbacProvisioner rbac = RbacProvisioner.inMemory();
  private final JitBroker broker = JitBroker.builder().clock(clock).policy(Fixtures.policy()).store(RequestStore.inMemory()).auditSink(audit)
      .rbacProvisioner(rbac).requestTimeout(Duration.ofMinutes(20)).adminGroups("incident-commanders").build();

  @AfterEach
  void stop() throws InterruptedException {
    pool.shutdownNow();
    assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
  }

  private enum Op { APPROVE, REVOKE, EXPIRE }

  private Map<Op, AtomicInteger> race(RequestId id, int approvers, int revokers, int expirers) throws Exception {
    assertEquals(THREADS, approvers + revokers + expirers);
    Map<Op, AtomicInteger> wins = new ConcurrentHashMap<>();
    for (Op op : Op.values()) {
      wins.put(op, new AtomicInteger());
    }
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> futures = new ArrayList<>();
    Identity ic = Identity.of("ivan", List.of("incident-commanders")).assertedBy("test-idp");
    for (int i = 0; i < THREADS; i++) {
      Op op = i % 5 < 3 && approvers-- > 0 ? Op.APPROVE : revokers-- > 0 ? Op.REVOKE : Op.EXPIRE;
      Identity approver = Identity.of("approver-" + i, List.of("sre-leads")).assertedBy("test-idp");
      futures.add(pool.submit(() -> {
        start.await();
        try {
          switch (op) {
            case APPROVE:
              broker.approve(id, approver, null);
              break;
            case REVOKE:
              broker.revoke(id, ic, "race");
              break;
            default:
              broker.expire(id);
          }
          wins.get(op).incrementAndGet();
        } catch (InvalidTransitionException | ApprovalRefusedException expected) {
          // lost the race
        }
        return null;
      }));
    }
    start.countDown();
    for (Future<?> f : futures) {
      f.get(30, TimeUnit.SECONDS);
    }
    return wins;
  }

  private List<AuditEvent> eventsOf(RequestId id) {
    return audit.events().stream().filter(e -> e.requestId().orElse(null) == id || id.equals(e.requestId().orElse(null)))
        .collect(Collectors.toList());
  }

  private void assertNothingAfterTerminal(List<AuditEvent> events) {
    int terminalAt = -1;
    for (int i = 0; i < events.size(); i++) {
      switch (events.get(i).type()) {
        case REQUEST_REVOKED:
        case REQUEST_EXPIRED:
        case REQUEST_DENIED:
        case GRANT_REVOKED:
        case GRANT_EXPIRED:
          if (terminalAt >= 0) {
            fail("two terminal events: " + events);
          }
          terminalAt = i;
          break;
        default:
          if (terminalAt >= 0 && events.get(i).type() != AuditEventType.USE_DENIED
              && events.get(i).type() != AuditEventType.COMMAND_DENIED) {
            fail("event after terminal one: " + events);
          }
      }
    }
    assertTrue(terminalAt >= 0, "no terminal event in " + events);
  }

  @RepeatedTest(10)
  void pendingRequestRacedByApproversRevokersAndEarlyExpirers() throws Exception {
    RequestRecord r = broker.submit(request(ALICE, Action.PORT_FORWARD).build()); // needs 2 approvals
    Map<Op, AtomicInteger> wins = race(r.id(), 60, 20, 20);

    RequestRecord end = broker.find(r.id()).orElseThrow();
    assertEquals(RequestState.REVOKED, end.state(), "revoke is always possible before a terminal state");
    assertEquals(1, wins.get(Op.REVOKE).get());
    assertEquals(0, wins.get(Op.EXPIRE).get(), "nothing was due");
    List<AuditEvent> events = eventsOf(r.id());
    assertNothingAfterTerminal(events);
    long votes = events.stream().filter(e -> e.type() == AuditEventType.APPROVAL_RECORDED
        || e.type() == AuditEventType.REQUEST_APPROVED).count();
    assertEquals(wins.get(Op.APPROVE).get(), votes, "one audit event per successful approval");
    assertTrue(events.stream().filter(e -> e.type() == AuditEventType.REQUEST_APPROVED).count() <= 1);
    assertEquals(1 + wins.get(Op.APPROVE).get() + 1, end.version(), "one version per transition");
    assertEquals(wins.get(Op.APPROVE).get(), end.approvals().size());
    assertTrue(end.approvals().size() <= 2, "votes stop once approved: " + end.approvals().size());
    assertEquals(1 + votes + 1, events.size(), "created + votes + revoked: " + events);
  }

  @RepeatedTest(10)
  void expiredRequestRacedByApproversRevokersAndExpirers() throws Exception {
    RequestRecord r = broker.submit(request(ALICE, Action.EXEC).build());
    clock.set(r.expiresAt());
    Map<Op, AtomicInteger> wins = race(r.id(), 60, 20, 20);

    RequestRecord end = broker.find(r.id()).orElseThrow();
    assertEquals(0, wins.get(Op.APPROVE).get(), "an expired request takes no approval");
    assertEquals(1, wins.get(Op.REVOKE).get() + wins.get(Op.EXPIRE).get(), "exactly one terminal transition");
    assertEquals(wins.get(Op.REVOKE).get() == 1 ? RequestState.REVOKED : RequestState.EXPIRED, end.state());
    List<AuditEvent> events = eventsOf(r.id());
    assertEquals(2, events.size(), events.toString());
    assertNothingAfterTerminal(events);
  }

  @RepeatedTest(10)
  void activeGrantRacedByRevokersAndExpirers() throws Exception {
    RequestRecord r = broker.submit(request(ALICE, Action.LOGS).build());
    Grant g = broker.activate(r.id(), ALICE).grant();
    clock.set(g.expiresAt());
    CountDownLatch start = new CountDownLatch(1);
    AtomicInteger revoked = new AtomicInteger();
    AtomicInteger expired = new AtomicInteger();
    AtomicInteger allowedUses = new AtomicInteger();
    List<Future<?>> futures = new ArrayList<>();
    for (int i = 0; i < THREADS; i++) {
      int kind = i % 3;
      futures.add(pool.submit(() -> {
        start.await();
        try {
          if (kind == 0) {
            broker.revoke(r.id(), ALICE, "race");
            revoked.incrementAndGet();
          } else if (kind == 1) {
            broker.expire(r.id());
            expired.incrementAndGet();
          } else if (broker.authorize(g.id(), ALICE, Use.action(Action.LOGS)).isAllowed()) {
            allowedUses.incrementAndGet();
          }
        } catch (InvalidTransitionException lost) {
          // lost the race
        }
        return null;
      }));
    }
    start.countDown();
    for (Future<?> f : futures) {
      f.get(30, TimeUnit.SECONDS);
    }
    assertEquals(1, revoked.get() + expired.get());
    assertEquals(0, allowedUses.get(), "a grant expiring exactly now authorises nothing");
    assertEquals(revoked.get() == 1 ? EndCause.REVOKED : EndCause.EXPIRED, rbac.removed().get(g.id()));
    List<AuditEvent> events = eventsOf(r.id());
    assertNothingAfterTerminal(events);
    assertEquals(1, events.stream().filter(e -> e.type() == AuditEventType.GRANT_REVOKED
        || e.type() == AuditEventType.GRANT_EXPIRED).count());
  }
}
