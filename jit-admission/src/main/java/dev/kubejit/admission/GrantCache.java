package dev.kubejit.admission;

import static java.util.Objects.requireNonNull;

import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Notification;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.spi.Notifier;
import dev.kubejit.api.spi.RequestStore;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The grants an admission webhook decides from, held in memory so that the API server, which waits
 * for the webhook on every exec, gets an answer without a store round trip.
 *
 * <p>How it stays correct:
 *
 * <ul>
 *   <li>Every {@code refreshInterval} it replaces its snapshot with the store's {@link
 *       RequestState#ACTIVE} records; a grant activated elsewhere is also found on first use, by
 *       one {@link RequestStore#findByGrant} (a miss is never answered "allowed" from memory).
 *   <li>It is a {@link Notifier}: given the broker's notifications (compose it with the chat
 *       notifier), a revocation or expiry in this process takes effect at once, before the next
 *       refresh. A grant once seen ended is never brought back by a refresh that read the store
 *       before it ended, because ending is final in the lifecycle.
 *   <li>Expiry needs no refresh at all: the webhook checks {@link Grant#isActiveAt} against its
 *       clock on every decision.
 * </ul>
 *
 * <p>The honest limit: a revocation made by <em>another</em> broker replica reaches this cache at
 * the next refresh (or never reaches it if that replica's notifications are not delivered here), so
 * the refresh interval bounds how long a revoked grant may still pass admission; RBAC removal and,
 * where configured, the authorization webhook stop it independently. Thread-safe.
 */
public final class GrantCache implements Notifier, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(GrantCache.class);

  private final RequestStore store;
  private final Clock clock;
  private final Duration refreshInterval;
  private final ScheduledExecutorService scheduler;
  private volatile Map<GrantId, RequestRecord> snapshot = Map.of();
  /** Open records learnt between refreshes (store misses, notifications); consulted before the snapshot. */
  private final Map<GrantId, RequestRecord> recent = new ConcurrentHashMap<>();
  /** Records seen ended; consulted first, pruned once the grant's window is over. */
  private final Map<GrantId, RequestRecord> ended = new ConcurrentHashMap<>();
  private volatile Instant lastRefresh;

  private GrantCache(RequestStore store, Clock clock, Duration refreshInterval, boolean background) {
    this.store = requireNonNull(store, "store");
    this.clock = requireNonNull(clock, "clock");
    this.refreshInterval = requireNonNull(refreshInterval, "refreshInterval");
    if (refreshInterval.isNegative() || refreshInterval.isZero() || refreshInterval.compareTo(Duration.ofHours(1)) > 0) {
      throw new IllegalArgumentException("refresh interval must be positive and at most 1 hour: " + refreshInterval);
    }
    refresh();
    if (background) {
      this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "kubejit-grant-cache");
        t.setDaemon(true);
        return t;
      });
      long millis = refreshInterval.toMillis();
      scheduler.scheduleWithFixedDelay(this::refreshQuietly, millis, millis, TimeUnit.MILLISECONDS);
    } else {
      this.scheduler = null;
    }
  }

  /**
   * Loads the active grants from {@code store} now and then every {@code refreshInterval} on a
   * daemon thread until {@link #close()}.
   *
   * @throws IllegalArgumentException if the interval is not positive or longer than one hour
   * @throws RuntimeException what the store throws on the first load (nothing is started)
   */
  public static GrantCache start(RequestStore store, Clock clock, Duration refreshInterval) {
    return new GrantCache(store, clock, refreshInterval, true);
  }

  /**
   * Loads the active grants from {@code store} now; the caller calls {@link #refresh()} when it
   * likes (for tests and for hosts with their own scheduler).
   */
  public static GrantCache manual(RequestStore store, Clock clock) {
    return new GrantCache(store, clock, Duration.ofHours(1), false);
  }

  /**
   * Replaces the snapshot with the store's active grants now.
   *
   * @throws RuntimeException what the store throws; the previous snapshot stays
   */
  public void refresh() {
    Instant started = clock.instant();
    Map<GrantId, RequestRecord> next = new HashMap<>();
    for (RequestRecord r : store.list(EnumSet.of(RequestState.ACTIVE))) {
      Optional<Grant> g = r.grant();
      if (g.isPresent() && !ended.containsKey(g.get().id())) {
        next.put(g.get().id(), r);
      }
    }
    snapshot = Map.copyOf(next);
    // What was learnt before this refresh is in the snapshot now, or no longer active; a miss
    // costs one store read.
    recent.clear();
    ended.values().removeIf(r -> !r.grant().orElseThrow().expiresAt().isAfter(started));
    lastRefresh = started;
  }

  private void refreshQuietly() {
    try {
      refresh();
    } catch (RuntimeException e) {
      log.warn("grant cache refresh failed; keeping the snapshot of {}: {}", lastRefresh, e.toString());
    }
  }

  /**
   * The latest known record of the grant: an ended one first, then memory, else the store (the
   * answer is remembered until the next refresh). Empty if the store does not know it.
   *
   * @throws RuntimeException what the store throws on a miss
   */
  public Optional<RequestRecord> find(GrantId id) {
    requireNonNull(id, "id");
    RequestRecord r = ended.get(id);
    if (r == null) {
      r = recent.get(id);
    }
    if (r == null) {
      r = snapshot.get(id);
    }
    if (r != null) {
      return Optional.of(r);
    }
    Optional<RequestRecord> loaded = store.findByGrant(id);
    loaded.ifPresent(this::learn);
    return loaded;
  }

  /** Applies a broker notification: an ended grant is ended here at once, an activated one known. */
  @Override
  public void notify(Notification notification) {
    learn(requireNonNull(notification, "notification").record());
  }

  private void learn(RequestRecord r) {
    Optional<Grant> g = r.grant();
    if (g.isEmpty()) {
      return;
    }
    GrantId id = g.get().id();
    // REVOKING authorises nothing and leads only to REVOKED: it is as final here as an end.
    if (r.state().isTerminal() || r.state() == RequestState.REVOKING) {
      ended.put(id, r);
      recent.remove(id);
    } else if (!ended.containsKey(id)) {
      recent.merge(id, r, (old, now) -> now.version() >= old.version() ? now : old);
    }
  }

  /** When the last successful refresh started, for health checks. */
  public Instant lastRefresh() {
    return lastRefresh;
  }

  /** How many active grants the snapshot holds. */
  public int size() {
    return snapshot.size();
  }

  /** Stops the background refresh, if any. */
  @Override
  public void close() {
    if (scheduler != null) {
      scheduler.shutdownNow();
    }
  }

  @Override
  public String toString() {
    return "GrantCache{" + snapshot.size() + " active, refreshed " + lastRefresh + " every " + refreshInterval + "}";
  }
}
