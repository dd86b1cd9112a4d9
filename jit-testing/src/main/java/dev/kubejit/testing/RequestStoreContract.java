package dev.kubejit.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.ApprovalRequirement;
import dev.kubejit.api.Decision;
import dev.kubejit.api.EndCause;
import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Identity;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.Scope;
import dev.kubejit.api.spi.RequestStore;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link RequestStore} must have for {@link dev.kubejit.api.JitBroker} to be
 * safe across replicas; extend it with {@link #newStore()} returning your (empty) store.
 *
 * <p>Covers insert and lookup, refusal of duplicate ids, compare-and-set on {@link
 * RequestRecord#version()} (a stale write changes nothing), lookup by grant id once a grant is
 * stored, listing by every state and by window end (the expiry sweep's query: inclusive bound,
 * earliest first, terminal records never), 10,000 records, and that exactly one of many concurrent
 * writers from the same version wins. {@link SharedRequestStoreContract} adds what several store
 * instances on one backing store must guarantee.
 */
public abstract class RequestStoreContract {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  /** Creates the test class. */
  protected RequestStoreContract() {}

  /** Returns a new, empty store. */
  protected abstract RequestStore newStore();

  private static RequestRecord pending(Identity who) {
    AccessRequest request = AccessRequest.builder().requester(who).role("oncall-debug").action(Action.EXEC)
        .scope(Scope.namespace("prod", "payments")).ticket("INC-1").build();
    Decision decision = Decision.builder(Decision.Outcome.NEEDS_APPROVAL, "needs approval")
        .grantedDuration(Duration.ofMinutes(30), false)
        .approval(ApprovalRequirement.of(List.of("sre-leads"), 1)).build();
    return RequestRecord.builder().id(RequestId.random()).request(request).decision(decision)
        .state(RequestState.PENDING_APPROVAL).window(T0, T0.plus(Duration.ofHours(1))).version(1).build();
  }

  private static RequestRecord activated(RequestRecord r) {
    Grant g = Grant.builder().id(GrantId.random()).requestId(r.id()).holder(r.request().requester())
        .role(r.request().role()).action(r.request().action()).scope(r.request().scope())
        .window(T0, T0.plus(Duration.ofMinutes(30))).build();
    return r.toBuilder().state(RequestState.ACTIVE).grant(g).version(r.version() + 1).build();
  }

  /** Inserted records are found by id; unknown ids are empty. */
  @Test
  public void insertThenFind() {
    RequestStore store = newStore();
    RequestRecord r = pending(Identity.of("alice", "oncall"));
    store.insert(r);
    assertEquals(r, store.find(r.id()).orElseThrow());
    assertTrue(store.find(RequestId.random()).isEmpty());
  }

  /** A second insert with the same id is refused and leaves the first record. */
  @Test
  public void duplicateInsertIsRefused() {
    RequestStore store = newStore();
    RequestRecord r = pending(Identity.of("alice", "oncall"));
    store.insert(r);
    RequestRecord other = r.toBuilder().version(7).build();
    assertThrows(IllegalStateException.class, () -> store.insert(other));
    assertEquals(r, store.find(r.id()).orElseThrow());
  }

  /** Replace succeeds from the stored version and fails, changing nothing, from a stale one. */
  @Test
  public void replaceIsCompareAndSetOnVersion() {
    RequestStore store = newStore();
    RequestRecord v1 = pending(Identity.of("alice", "oncall"));
    store.insert(v1);
    RequestRecord v2 = activated(v1);
    assertTrue(store.replace(v1, v2));
    assertEquals(v2, store.find(v1.id()).orElseThrow());
    RequestRecord stale = v1.toBuilder().state(RequestState.REVOKED)
        .ended(EndCause.REVOKED, T0, null, "stale").version(2).build();
    assertFalse(store.replace(v1, stale), "a write from version 1 must lose once version 2 is stored");
    assertEquals(v2, store.find(v1.id()).orElseThrow());
  }

  /** Once a record with a grant is stored, it is found by the grant id. */
  @Test
  public void findByGrantAfterActivation() {
    RequestStore store = newStore();
    RequestRecord v1 = pending(Identity.of("alice", "oncall"));
    store.insert(v1);
    RequestRecord v2 = activated(v1);
    store.replace(v1, v2);
    assertEquals(v2, store.findByGrant(v2.grant().orElseThrow().id()).orElseThrow());
    assertTrue(store.findByGrant(GrantId.random()).isEmpty());
  }

  /** Listing returns exactly the records in the asked states. */
  @Test
  public void listByState() {
    RequestStore store = newStore();
    RequestRecord a = pending(Identity.of("alice", "oncall"));
    RequestRecord b = pending(Identity.of("bob", "oncall"));
    store.insert(a);
    store.insert(b);
    store.replace(b, activated(b));
    assertEquals(Set.of(a.id()), ids(store.list(EnumSet.of(RequestState.PENDING_APPROVAL))));
    assertEquals(Set.of(b.id()), ids(store.list(EnumSet.of(RequestState.ACTIVE))));
    assertEquals(Set.of(a.id(), b.id()), ids(store.list(EnumSet.allOf(RequestState.class))));
    assertTrue(store.list(EnumSet.of(RequestState.EXPIRED)).isEmpty());
  }

  /** Of many concurrent replaces from the same version, exactly one wins. */
  @Test
  public void exactlyOneConcurrentWriterWins() throws Exception {
    RequestStore store = newStore();
    RequestRecord v1 = pending(Identity.of("alice", "oncall"));
    store.insert(v1);
    int writers = 32;
    ExecutorService pool = Executors.newFixedThreadPool(writers);
    try {
      CountDownLatch start = new CountDownLatch(1);
      List<Future<Boolean>> results = new ArrayList<>();
      for (int i = 0; i < writers; i++) {
        String reason = "writer-" + i;
        results.add(pool.submit(() -> {
          start.await();
          return store.replace(v1, v1.toBuilder().state(RequestState.REVOKED)
              .ended(EndCause.REVOKED, T0, null, reason).version(2).build());
        }));
      }
      start.countDown();
      int wins = 0;
      for (Future<Boolean> f : results) {
        wins += f.get(30, TimeUnit.SECONDS) ? 1 : 0;
      }
      assertEquals(1, wins);
      assertEquals(2, store.find(v1.id()).orElseThrow().version());
    } finally {
      pool.shutdownNow();
    }
  }

  private static RequestRecord inState(RequestRecord pending, RequestState state, Instant windowEnd) {
    RequestRecord.Builder b = pending.toBuilder().state(state).version(2);
    switch (state) {
      case PENDING_APPROVAL:
      case APPROVED:
        return b.window(pending.createdAt(), windowEnd).build();
      case ACTIVE:
        return b.grant(Grant.builder().id(GrantId.random()).requestId(pending.id())
            .holder(pending.request().requester()).role(pending.request().role())
            .action(pending.request().action()).scope(pending.request().scope())
            .window(T0, windowEnd).build()).build();
      case REVOKING:
        // Due (window end) from the moment of the revocation, which the test puts at windowEnd.
        return b.grant(Grant.builder().id(GrantId.random()).requestId(pending.id())
            .holder(pending.request().requester()).role(pending.request().role())
            .action(pending.request().action()).scope(pending.request().scope())
            .window(T0, windowEnd.plus(Duration.ofHours(1))).build())
            .ended(EndCause.REVOKED, windowEnd, Identity.of("ic", "incident-commanders"), "leaked").build();
      case DENIED:
        return b.ended(EndCause.DENIED, T0, null, "no").build();
      case EXPIRED:
        return b.ended(EndCause.EXPIRED, T0, null, null).build();
      default:
        return b.ended(EndCause.REVOKED, T0, null, "done").build();
    }
  }

  /** Each state lists exactly its records; a set of states lists their union. */
  @Test
  public void listByEveryState() {
    RequestStore store = newStore();
    java.util.Map<RequestState, RequestId> byState = new java.util.EnumMap<>(RequestState.class);
    int i = 0;
    for (RequestState state : RequestState.values()) {
      RequestRecord r = inState(pending(Identity.of("user" + i, "oncall")), state, T0.plus(Duration.ofMinutes(++i)));
      store.insert(r);
      byState.put(state, r.id());
    }
    for (RequestState state : RequestState.values()) {
      assertEquals(Set.of(byState.get(state)), ids(store.list(EnumSet.of(state))), state.name());
    }
    assertEquals(Set.of(byState.get(RequestState.DENIED), byState.get(RequestState.ACTIVE)),
        ids(store.list(EnumSet.of(RequestState.DENIED, RequestState.ACTIVE))));
    assertTrue(store.list(EnumSet.noneOf(RequestState.class)).isEmpty());
  }

  /**
   * Listing by window end returns the open records due by the bound (inclusive), earliest first:
   * a pending or approved record by its request expiry, an active one by its grant's expiry,
   * never a terminal one.
   */
  @Test
  public void listEndingByFollowsTheWindowOfEachState() {
    RequestStore store = newStore();
    RequestRecord pending = inState(pending(Identity.of("p", "oncall")), RequestState.PENDING_APPROVAL,
        T0.plus(Duration.ofMinutes(30)));
    RequestRecord approved = inState(pending(Identity.of("a", "oncall")), RequestState.APPROVED,
        T0.plus(Duration.ofMinutes(10)));
    // The request window of the active one ends late; its grant ends first, and that is what counts.
    RequestRecord active = inState(pending(Identity.of("g", "oncall")), RequestState.ACTIVE,
        T0.plus(Duration.ofMinutes(20)));
    RequestRecord revoked = inState(pending(Identity.of("r", "oncall")), RequestState.REVOKED, null);
    for (RequestRecord r : List.of(pending, approved, active, revoked)) {
      store.insert(r);
    }
    assertTrue(store.listEndingBy(T0.plus(Duration.ofMinutes(10)).minusNanos(1)).isEmpty());
    assertEquals(List.of(approved), store.listEndingBy(T0.plus(Duration.ofMinutes(10))));
    assertEquals(List.of(approved, active), store.listEndingBy(T0.plus(Duration.ofMinutes(20))));
    assertEquals(List.of(approved, active, pending), store.listEndingBy(T0.plus(Duration.ofDays(3650))));
    // A record that ends leaves the list; one that is activated moves to its grant's window.
    assertTrue(store.replace(approved, approved.toBuilder().state(RequestState.EXPIRED)
        .ended(EndCause.EXPIRED, T0, null, null).version(3).build()));
    RequestRecord activatedLate = pending.toBuilder().state(RequestState.ACTIVE).version(3)
        .grant(Grant.builder().id(GrantId.random()).requestId(pending.id()).holder(pending.request().requester())
            .role("oncall-debug").action(Action.EXEC).scope(pending.request().scope())
            .window(T0, T0.plus(Duration.ofMinutes(90))).build()).build();
    assertTrue(store.replace(pending, activatedLate));
    assertEquals(List.of(active), store.listEndingBy(T0.plus(Duration.ofMinutes(60))));
    assertEquals(List.of(active, activatedLate), store.listEndingBy(T0.plus(Duration.ofMinutes(90))));
  }

  /**
   * A grant being revoked (RBAC removal not yet confirmed) keeps who revoked it, when and why, is
   * listed under REVOKING only, is due for the sweep from the time of the revocation on whatever
   * its grant's expiry, and leaves the due list once REVOKED.
   */
  @Test
  public void revokingGrantRoundTripsAndIsDueUntilRevoked() {
    RequestStore store = newStore();
    RequestRecord active = inState(pending(Identity.of("g", "oncall")), RequestState.ACTIVE,
        T0.plus(Duration.ofHours(1)));
    store.insert(active);
    Instant revokedAt = T0.plus(Duration.ofMinutes(5));
    RequestRecord revoking = active.toBuilder().state(RequestState.REVOKING)
        .ended(EndCause.REVOKED, revokedAt, Identity.of("carol", "sre-leads"), "laptop lost").version(3).build();
    assertTrue(store.replace(active, revoking));
    assertEquals(revoking, store.find(active.id()).orElseThrow());
    assertEquals(revoking, store.findByGrant(active.grant().orElseThrow().id()).orElseThrow());
    assertEquals(List.of(revoking), store.list(EnumSet.of(RequestState.REVOKING)));
    assertTrue(store.list(EnumSet.of(RequestState.ACTIVE)).isEmpty());
    assertTrue(store.listEndingBy(revokedAt.minusNanos(1)).isEmpty());
    assertEquals(List.of(revoking), store.listEndingBy(revokedAt));
    assertEquals(List.of(revoking), store.listEndingBy(T0.plus(Duration.ofMinutes(30))),
        "due long before the grant's own expiry");
    RequestRecord revoked = revoking.toBuilder().state(RequestState.REVOKED).version(4).build();
    assertFalse(store.replace(active, revoked), "compare-and-set still holds");
    assertTrue(store.replace(revoking, revoked));
    assertEquals(revoked, store.find(active.id()).orElseThrow());
    assertTrue(store.listEndingBy(T0.plus(Duration.ofDays(1))).isEmpty());
  }

  /** 10,000 records: every one is found, and listing by state and by window end is exact. */
  @Test
  public void tenThousandRecords() {
    RequestStore store = newStore();
    int count = 10_000;
    List<RequestRecord> all = new ArrayList<>(count);
    RequestState[] states = RequestState.values();
    for (int i = 0; i < count; i++) {
      RequestState state = states[i % states.length];
      RequestRecord r = inState(pending(Identity.of("user" + (i % 97), "oncall")), state,
          T0.plus(Duration.ofMinutes(count - i)));
      store.insert(r);
      all.add(r);
    }
    for (RequestState state : states) {
      long expected = all.stream().filter(r -> r.state() == state).count();
      assertEquals(expected, store.list(EnumSet.of(state)).size(), state.name());
    }
    assertEquals(count, store.list(EnumSet.allOf(RequestState.class)).size());
    Instant bound = T0.plus(Duration.ofMinutes(2500));
    List<RequestRecord> due = store.listEndingBy(bound);
    List<RequestRecord> expectedDue = new ArrayList<>();
    for (RequestRecord r : all) {
      if (r.windowEnd().map(w -> !w.isAfter(bound)).orElse(false)) {
        expectedDue.add(r);
      }
    }
    expectedDue.sort(java.util.Comparator.comparing((RequestRecord r) -> r.windowEnd().orElseThrow()));
    assertEquals(expectedDue, due);
    for (int i = 0; i < count; i += 37) {
      RequestRecord r = all.get(i);
      assertEquals(r, store.find(r.id()).orElseThrow());
      if (r.grant().isPresent()) {
        assertEquals(r, store.findByGrant(r.grant().orElseThrow().id()).orElseThrow());
      }
    }
  }

  private static Set<RequestId> ids(List<RequestRecord> records) {
    Set<RequestId> out = new java.util.HashSet<>();
    records.forEach(r -> out.add(r.id()));
    return out;
  }
}
