package dev.kubejit.api;

import static dev.kubejit.api.Fixtures.ALICE;
import static dev.kubejit.api.Fixtures.CAROL;
import static dev.kubejit.api.Fixtures.T0;
import static dev.kubejit.api.Fixtures.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.InMemoryAuditSink;
import dev.kubejit.api.spi.InMemoryRbacProvisioner;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Two broker replicas share one store and sweep at the same moment: replica A reads a due record,
 * replica B expires it before A writes, A's compare-and-set loses. A's sweep must shrug that off
 * (B expired it), carry on with the rest, and leave exactly one expiry recorded.
 */
class ReplicaSweepRaceTest {
  private final TestClock clock = new TestClock(T0);
  private final RequestStore shared = RequestStore.inMemory();
  private final InMemoryAuditSink auditA = AuditSink.inMemory();
  private final InMemoryAuditSink auditB = AuditSink.inMemory();
  private final InMemoryRbacProvisioner rbac = RbacProvisioner.inMemory();
  private final JitBroker replicaB = broker(shared, auditB);

  private JitBroker broker(RequestStore store, InMemoryAuditSink audit) {
    return JitBroker.builder().clock(clock).policy(Fixtures.policy()).store(store).auditSink(audit)
        .rbacProvisioner(rbac).requestTimeout(Duration.ofMinutes(20)).build();
  }

  @Test
  void sweepToleratesAReplicaThatExpiredTheRecordFirst() {
    JitBroker replicaA = broker(new RacingStore(shared, replicaB), auditA);
    RequestRecord active = replicaA.submit(request(ALICE, Action.EXEC).duration(Duration.ofMinutes(30)).build());
    replicaA.approve(active.id(), CAROL, null);
    GrantId grant = replicaA.activate(active.id(), ALICE).grant().id();
    RequestRecord pending = replicaA.submit(request(ALICE, Action.EXEC).duration(Duration.ofMinutes(30)).build());
    clock.advance(Duration.ofHours(2));

    int expiredByA = replicaA.expireDue();

    // B expired the first record A tried to write; A expired the other one and did not throw.
    assertEquals(1, expiredByA);
    assertEquals(RequestState.EXPIRED, shared.find(active.id()).orElseThrow().state());
    assertEquals(RequestState.EXPIRED, shared.find(pending.id()).orElseThrow().state());
    assertTrue(rbac.removed().containsKey(grant));
    int expiriesA = auditA.events(AuditEventType.GRANT_EXPIRED).size() + auditA.events(AuditEventType.REQUEST_EXPIRED).size();
    int expiriesB = auditB.events(AuditEventType.GRANT_EXPIRED).size() + auditB.events(AuditEventType.REQUEST_EXPIRED).size();
    assertEquals(1, expiriesB, "B expired exactly the record it raced for");
    // A's losing write is recorded as aborted in A's chain, so A's log holds no second expiry that took effect.
    assertEquals(1, auditA.events(AuditEventType.TRANSITION_ABORTED).size());
    assertEquals(2, expiriesA + expiriesB - auditA.events(AuditEventType.TRANSITION_ABORTED).size());
    assertEquals(0, replicaA.expireDue(), "nothing is left to expire");
  }

  @Test
  void sweepReadsOnlyWhatIsDueThroughTheStoreIndex() {
    JitBroker replica = broker(shared, auditA);
    RequestRecord early = replica.submit(request(ALICE, Action.EXEC).duration(Duration.ofMinutes(30)).build());
    clock.advance(Duration.ofMinutes(10));
    RequestRecord late = replica.submit(request(ALICE, Action.EXEC).duration(Duration.ofMinutes(30)).build());
    Instant firstEnd = early.windowEnd().orElseThrow();
    assertEquals(List.of(early.id()), ids(shared.listEndingBy(firstEnd)));
    assertEquals(List.of(early.id(), late.id()), ids(shared.listEndingBy(late.windowEnd().orElseThrow())));
    assertTrue(shared.listEndingBy(firstEnd.minusNanos(1)).isEmpty());
    clock.set(firstEnd);
    assertEquals(1, replica.expireDue());
    assertTrue(shared.find(early.id()).orElseThrow().windowEnd().isEmpty(), "a terminal record has no window");
    assertEquals(List.of(late.id()), ids(shared.listEndingBy(late.windowEnd().orElseThrow())));
  }

  private static List<RequestId> ids(List<RequestRecord> records) {
    List<RequestId> out = new ArrayList<>();
    records.forEach(r -> out.add(r.id()));
    return out;
  }

  /** Lets the other replica sweep just before this replica's first write. */
  private static final class RacingStore implements RequestStore {
    private final RequestStore delegate;
    private final JitBroker other;
    private final AtomicBoolean raced = new AtomicBoolean();
    private volatile boolean armed;

    RacingStore(RequestStore delegate, JitBroker other) {
      this.delegate = delegate;
      this.other = other;
    }

    @Override
    public void insert(RequestRecord record) {
      delegate.insert(record);
    }

    @Override
    public Optional<RequestRecord> find(RequestId id) {
      return delegate.find(id);
    }

    @Override
    public Optional<RequestRecord> findByGrant(GrantId id) {
      return delegate.findByGrant(id);
    }

    @Override
    public boolean replace(RequestRecord expected, RequestRecord updated) {
      if (armed && updated.state().isTerminal() && raced.compareAndSet(false, true)) {
        // The other replica expires exactly this record first (its sweep sees only what is due).
        other.expire(expected.id());
      }
      return delegate.replace(expected, updated);
    }

    @Override
    public List<RequestRecord> list(Set<RequestState> states) {
      return delegate.list(states);
    }

    @Override
    public List<RequestRecord> listEndingBy(Instant end) {
      armed = true;
      return delegate.listEndingBy(end);
    }
  }
}
