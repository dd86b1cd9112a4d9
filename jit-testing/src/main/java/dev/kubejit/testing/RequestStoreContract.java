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
 * stored, listing by state, and that exactly one of many concurrent writers from the same version
 * wins.
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

  private static Set<RequestId> ids(List<RequestRecord> records) {
    Set<RequestId> out = new java.util.HashSet<>();
    records.forEach(r -> out.add(r.id()));
    return out;
  }
}
