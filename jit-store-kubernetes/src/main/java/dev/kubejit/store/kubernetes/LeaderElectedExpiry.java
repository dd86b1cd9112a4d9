package dev.kubejit.store.kubernetes;

import static java.util.Objects.requireNonNull;

import dev.kubejit.api.JitBroker;
import io.kubernetes.client.extended.leaderelection.LeaderElectionConfig;
import io.kubernetes.client.extended.leaderelection.LeaderElector;
import io.kubernetes.client.extended.leaderelection.resourcelock.LeaseLock;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoordinationV1Api;
import io.kubernetes.client.openapi.models.V1Lease;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a broker's expiry sweep on exactly one replica at a time: replicas compete for a {@code
 * coordination.k8s.io/v1} Lease (client-java-extended's {@link LeaderElector}, as jit-rbac's
 * ExpiryReaper does), and only the holder sweeps.
 *
 * <p>On becoming leader the replica calls {@link JitBroker#reconcile()} once (what fell due while
 * no replica led is recorded as reconciled after restart), then {@link JitBroker#expireDue()}
 * every {@code interval} until it loses the Lease or is closed. A sweep that throws is logged and
 * retried at the next interval; the broker's compare-and-set makes a sweep that overlaps a
 * replica's own transition (or a late sweep of a replica that just lost the Lease) harmless.
 * Closing a leader releases the Lease (clears its holder) so another replica takes over at its next
 * attempt rather than after the Lease expires.
 */
public final class LeaderElectedExpiry implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LeaderElectedExpiry.class);
  private static final Pattern NAME = Pattern.compile("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?");

  private final JitBroker broker;
  private final ApiClient client;
  private final String identity;
  private final String leaseNamespace;
  private final String leaseName;
  private final Duration leaseDuration;
  private final Duration renewDeadline;
  private final Duration retryPeriod;
  private final Duration interval;
  private final AtomicLong sweeps = new AtomicLong();
  private final AtomicLong expired = new AtomicLong();
  private volatile boolean leading;
  private volatile boolean closed;
  private LeaderElector elector;
  private Thread electionThread;
  private Thread worker;

  private LeaderElectedExpiry(Builder b) {
    this.broker = b.broker;
    this.client = b.client;
    this.identity = b.identity;
    this.leaseNamespace = b.leaseNamespace;
    this.leaseName = b.leaseName;
    this.leaseDuration = b.leaseDuration;
    this.renewDeadline = b.renewDeadline;
    this.retryPeriod = b.retryPeriod;
    this.interval = b.interval;
  }

  /** Returns a builder for this broker; {@code client} talks to the API server holding the Lease. */
  public static Builder builder(JitBroker broker, ApiClient client) {
    return new Builder(broker, client);
  }

  /** This replica's identity in the Lease. */
  public String identity() {
    return identity;
  }

  /** Whether this replica holds the Lease and sweeps. */
  public boolean isLeader() {
    return leading;
  }

  /** Completed sweeps on this replica (reconcile included). */
  public long sweeps() {
    return sweeps.get();
  }

  /** Requests and grants this replica's sweeps expired or reconciled. */
  public long expired() {
    return expired.get();
  }

  /**
   * Starts competing for the Lease in a background thread; returns at once.
   *
   * @throws IllegalStateException if already started or closed
   */
  public synchronized void start() {
    if (closed || electionThread != null) {
      throw new IllegalStateException("expiry " + identity + " was already started or closed");
    }
    elector = new LeaderElector(new LeaderElectionConfig(
        new LeaseLock(leaseNamespace, leaseName, identity, client), leaseDuration, renewDeadline, retryPeriod),
        e -> LOG.warn("leader election error in {}: {}", identity, e.toString()));
    electionThread = new Thread(() -> {
      try {
        elector.run(this::onStartLeading, this::onStopLeading);
      } catch (RuntimeException e) {
        LOG.warn("leader election of {} ended: {}", identity, e.toString());
      } finally {
        onStopLeading();
      }
    }, "kubejit-expiry-election-" + identity);
    electionThread.setDaemon(true);
    electionThread.start();
  }

  private synchronized void onStartLeading() {
    if (closed || leading) {
      return;
    }
    leading = true;
    LOG.info("expiry {} is now the leader", identity);
    worker = new Thread(this::work, "kubejit-expiry-" + identity);
    worker.setDaemon(true);
    worker.start();
  }

  private void onStopLeading() {
    Thread w;
    synchronized (this) {
      if (!leading) {
        return;
      }
      leading = false;
      w = worker;
      worker = null;
    }
    LOG.info("expiry {} stopped leading", identity);
    if (w != null && w != Thread.currentThread()) {
      w.interrupt();
      try {
        w.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void work() {
    boolean first = true;
    while (leading && !closed && !Thread.currentThread().isInterrupted()) {
      try {
        expired.addAndGet(first ? broker.reconcile() : broker.expireDue());
        first = false;
      } catch (RuntimeException e) {
        LOG.warn("expiry sweep on {} failed; retrying in {}: {}", identity, interval, e.toString());
      }
      sweeps.incrementAndGet();
      try {
        Thread.sleep(interval.toMillis());
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /** Stops competing and sweeping and, if this replica led, releases the Lease; idempotent. */
  @Override
  public void close() {
    LeaderElector e;
    Thread t;
    boolean wasLeading;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      e = elector;
      t = electionThread;
      wasLeading = leading;
    }
    if (e != null) {
      e.close();
    }
    onStopLeading();
    if (wasLeading) {
      release();
    }
    if (t != null) {
      t.interrupt();
      try {
        t.join(5000);
      } catch (InterruptedException ie) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void release() {
    CoordinationV1Api coordination = new CoordinationV1Api(client);
    try {
      V1Lease lease = coordination.readNamespacedLease(leaseName, leaseNamespace).execute();
      if (lease.getSpec() != null && identity.equals(lease.getSpec().getHolderIdentity())) {
        lease.getSpec().setHolderIdentity(null);
        coordination.replaceNamespacedLease(leaseName, leaseNamespace, lease).execute();
      }
    } catch (ApiException ex) {
      LOG.warn("expiry {} could not release Lease {}/{}: HTTP {}; it lapses after {}", identity, leaseNamespace,
          leaseName, ex.getCode(), leaseDuration);
    }
  }

  @Override
  public String toString() {
    return "LeaderElectedExpiry{" + identity + (leading ? " leader" : "") + " lease=" + leaseNamespace + "/"
        + leaseName + "}";
  }

  /** Builds a {@link LeaderElectedExpiry}; each option may be set once. */
  public static final class Builder {
    private final JitBroker broker;
    private final ApiClient client;
    private String identity;
    private String leaseNamespace;
    private String leaseName;
    private Duration leaseDuration;
    private Duration renewDeadline;
    private Duration retryPeriod;
    private Duration interval;

    private Builder(JitBroker broker, ApiClient client) {
      this.broker = requireNonNull(broker, "broker");
      this.client = requireNonNull(client, "client");
    }

    /** This replica's identity in the Lease (default: a random one); a DNS-1123 subdomain. */
    public Builder identity(String identity) {
      this.identity = once(this.identity, name(identity, "identity"), "identity");
      return this;
    }

    /** The Lease's namespace (required; usually the store's). */
    public Builder leaseNamespace(String namespace) {
      this.leaseNamespace = once(this.leaseNamespace, name(namespace, "lease namespace"), "lease namespace");
      return this;
    }

    /** The Lease's name (default {@code kubejit-broker-expiry}). */
    public Builder leaseName(String name) {
      this.leaseName = once(this.leaseName, name(name, "lease name"), "lease name");
      return this;
    }

    /** How long a Lease holds without renewal (default 15 s; must exceed the renew deadline). */
    public Builder leaseDuration(Duration d) {
      this.leaseDuration = once(this.leaseDuration, positive(d, "lease duration"), "lease duration");
      return this;
    }

    /** How long the leader tries to renew before it steps down (default 10 s; must exceed the retry period). */
    public Builder renewDeadline(Duration d) {
      this.renewDeadline = once(this.renewDeadline, positive(d, "renew deadline"), "renew deadline");
      return this;
    }

    /** How often replicas try to acquire or renew the Lease (default 2 s). */
    public Builder retryPeriod(Duration d) {
      this.retryPeriod = once(this.retryPeriod, positive(d, "retry period"), "retry period");
      return this;
    }

    /** How often the leader sweeps (default 5 s). */
    public Builder interval(Duration d) {
      this.interval = once(this.interval, positive(d, "interval"), "interval");
      return this;
    }

    private static <T> T once(T current, T value, String what) {
      if (current != null) {
        throw new IllegalStateException(what + " was already set to " + current);
      }
      return value;
    }

    private static String name(String s, String what) {
      if (s == null || !NAME.matcher(s).matches()) {
        throw new IllegalArgumentException(what + " must be a DNS-1123 name: " + Codec.safe(s));
      }
      return s;
    }

    private static Duration positive(Duration d, String what) {
      if (d == null || d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(what + " must be positive: " + d);
      }
      return d;
    }

    /**
     * Returns the expiry loop (not started).
     *
     * @throws IllegalStateException if the lease namespace is missing, or the durations are not
     *     ordered lease duration &gt; renew deadline &gt; retry period
     */
    public LeaderElectedExpiry build() {
      if (leaseNamespace == null) {
        throw new IllegalStateException("leaseNamespace is required");
      }
      Builder b = new Builder(broker, client);
      b.identity = identity == null ? "kubejit-expiry-" + UUID.randomUUID() : identity;
      b.leaseNamespace = leaseNamespace;
      b.leaseName = leaseName == null ? "kubejit-broker-expiry" : leaseName;
      b.leaseDuration = leaseDuration == null ? Duration.ofSeconds(15) : leaseDuration;
      b.renewDeadline = renewDeadline == null ? Duration.ofSeconds(10) : renewDeadline;
      b.retryPeriod = retryPeriod == null ? Duration.ofSeconds(2) : retryPeriod;
      b.interval = interval == null ? Duration.ofSeconds(5) : interval;
      if (b.leaseDuration.compareTo(b.renewDeadline) <= 0 || b.renewDeadline.compareTo(b.retryPeriod) <= 0) {
        throw new IllegalStateException("leader election needs leaseDuration > renewDeadline > retryPeriod: "
            + b.leaseDuration + ", " + b.renewDeadline + ", " + b.retryPeriod);
      }
      return new LeaderElectedExpiry(b);
    }
  }
}
