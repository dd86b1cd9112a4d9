package dev.kubejit.rbac;

import static java.util.Objects.requireNonNull;

import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.EndCause;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Lifetimes;
import dev.kubejit.api.Scope;
import dev.kubejit.api.spi.AuditSink;
import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.extended.leaderelection.LeaderElectionConfig;
import io.kubernetes.client.extended.leaderelection.LeaderElectionRecord;
import io.kubernetes.client.extended.leaderelection.LeaderElector;
import io.kubernetes.client.extended.leaderelection.Lock;
import io.kubernetes.client.extended.leaderelection.resourcelock.LeaseLock;
import io.kubernetes.client.informer.ResourceEventHandler;
import io.kubernetes.client.informer.SharedIndexInformer;
import io.kubernetes.client.informer.SharedInformerFactory;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoordinationV1Api;
import io.kubernetes.client.openapi.models.V1ClusterRole;
import io.kubernetes.client.openapi.models.V1ClusterRoleBinding;
import io.kubernetes.client.openapi.models.V1ClusterRoleBindingList;
import io.kubernetes.client.openapi.models.V1ClusterRoleList;
import io.kubernetes.client.openapi.models.V1Lease;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1Role;
import io.kubernetes.client.openapi.models.V1RoleBinding;
import io.kubernetes.client.openapi.models.V1RoleBindingList;
import io.kubernetes.client.openapi.models.V1RoleList;
import io.kubernetes.client.openapi.models.V1RoleRef;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes KubeJIT-managed bindings (and their roles) when their {@code kubejit.dev/expires-at}
 * passes, with the cluster as the only source of truth, and emits an audit event per deletion.
 *
 * <p>Only the leader acts: replicas compete for a {@code coordination.k8s.io/v1} Lease through
 * client-java-extended's {@link LeaderElector}. On becoming leader the reaper starts informers
 * (list + watch, label selector {@code app.kubernetes.io/managed-by=kubejit}) for RoleBindings and
 * ClusterRoleBindings that feed a queue ordered by expiry; a worker deletes each binding when the
 * injected clock reaches its expiry (re-checking at least every {@code tick}). Bindings that had
 * already expired when leadership began are deleted at once with cause
 * {@link EndCause#RECONCILED_AFTER_RESTART} (event {@link AuditEventType#GRANT_RECONCILED});
 * later ones with {@link EndCause#EXPIRED} ({@link AuditEventType#GRANT_EXPIRED}). A managed
 * binding whose expiry annotation is missing or unparseable, or lies beyond {@link
 * Lifetimes#ABSOLUTE_MAX} from now or from the binding's creation, is treated as expired (fail
 * closed; the event carries attribute {@code expiryRefused}).
 * An event is emitted only by the replica whose delete succeeded (a delete whose answer was lost
 * and whose retry met 404 counts as succeeded: a rare second record beats a missing one); if the
 * sink fails the event is kept and retried on the next tick. Losing leadership stops the informers and the worker.
 *
 * <p>Managed Roles and ClusterRoles are watched too. A role is normally deleted with its binding;
 * one whose expiry has passed while no managed binding of its grant exists (a broker that crashed
 * between creating the role and the binding, or a reaper that crashed between deleting the binding
 * and the role) is an orphan and is deleted on its own, with the same event types and an attribute
 * {@code role} instead of {@code binding}. While a binding of the grant still exists the role is
 * left to that binding's deletion and looked at again one tick later.
 */
public final class ExpiryReaper implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ExpiryReaper.class);

  private final ApiClient client;
  private final RbacOps ops;
  private final AuditSink sink;
  private final Clock clock;
  private final String clusterName;
  private final String identity;
  private final String leaseNamespace;
  private final String leaseName;
  private final Duration leaseDuration;
  private final Duration renewDeadline;
  private final Duration retryPeriod;
  private final Duration tick;

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final PriorityQueue<Entry> queue = new PriorityQueue<>();
  private final Map<String, Entry> byUid = new HashMap<>();
  private final List<AuditEvent> pending = new CopyOnWriteArrayList<>();
  private volatile boolean leading;
  private volatile boolean closed;
  /** Completed worker passes (test seam: "nothing happened" is asserted after passes, never after a sleep). */
  private final AtomicLong passes = new AtomicLong();
  /** Lease reads by the elector, one per acquire or renew attempt (test seam). */
  private final AtomicLong electionAttempts = new AtomicLong();
  private volatile Instant leaderSince;
  private Thread electionThread;
  private LeaderElector elector;
  private Thread worker;
  private SharedInformerFactory factory;

  private ExpiryReaper(Builder b) {
    this.client = b.client;
    this.ops = new RbacOps(b.client, 6, Duration.ofMillis(100));
    this.sink = b.sink;
    this.clock = b.clock;
    this.clusterName = b.clusterName;
    this.identity = b.identity;
    this.leaseNamespace = b.leaseNamespace;
    this.leaseName = b.leaseName;
    this.leaseDuration = b.leaseDuration;
    this.renewDeadline = b.renewDeadline;
    this.retryPeriod = b.retryPeriod;
    this.tick = b.tick;
  }

  /** Returns a builder; the audit sink and cluster name are required. */
  public static Builder builder(ApiClient client) {
    return new Builder(client);
  }

  /** This replica's identity in the Lease. */
  public String identity() {
    return identity;
  }

  /** Whether this replica currently holds the Lease and acts. */
  public boolean isLeader() {
    return leading;
  }

  /**
   * Starts competing for leadership in a background thread; returns at once.
   *
   * @throws IllegalStateException if already started or closed
   */
  public synchronized void start() {
    if (closed || electionThread != null) {
      throw new IllegalStateException("reaper " + identity + " was already started or closed");
    }
    Lock leaseLock = new CountingLock(new LeaseLock(leaseNamespace, leaseName, identity, client), electionAttempts);
    elector = new LeaderElector(new LeaderElectionConfig(leaseLock, leaseDuration, renewDeadline, retryPeriod),
        e -> LOG.warn("leader election error in {}: {}", identity, e.toString()));
    electionThread = new Thread(() -> {
      try {
        elector.run(this::onStartLeading, this::onStopLeading);
      } catch (RuntimeException e) {
        LOG.warn("leader election of {} ended: {}", identity, e.toString());
      } finally {
        onStopLeading();
      }
    }, "kubejit-reaper-election-" + identity);
    electionThread.setDaemon(true);
    electionThread.start();
  }

  /**
   * Deletes, once and without leader election, every managed binding whose expiry has passed, then
   * every expired managed role left without a binding of its grant (cause {@link
   * EndCause#RECONCILED_AFTER_RESTART}); returns how many bindings and orphaned roles were deleted.
   *
   * @throws RbacException if the cluster cannot be read
   */
  public int reconcileOnce() {
    Instant now = clock.instant();
    List<Entry> expired = new ArrayList<>();
    try {
      for (V1RoleBinding b : ops.retrying("list", () -> ops.api().listRoleBindingForAllNamespaces()
          .labelSelector(Names.MANAGED_SELECTOR).execute()).getItems()) {
        Entry e = Entry.of(b, b.getRoleRef(), now);
        if (!e.expiresAt.isAfter(now)) {
          expired.add(e);
        }
      }
      for (V1ClusterRoleBinding b : ops.retrying("list", () -> ops.api().listClusterRoleBinding()
          .labelSelector(Names.MANAGED_SELECTOR).execute()).getItems()) {
        Entry e = Entry.of(b, b.getRoleRef(), now);
        if (!e.expiresAt.isAfter(now)) {
          expired.add(e);
        }
      }
    } catch (ApiException e) {
      throw new RbacException("cannot list managed bindings: HTTP " + e.getCode() + " " + Kube.reason(e), e);
    }
    int n = 0;
    for (Entry e : expired) {
      if (reap(e, EndCause.RECONCILED_AFTER_RESTART)) {
        n++;
      }
    }
    // Roles after bindings: most expired roles went with their binding just now; what is left is orphaned.
    List<Entry> expiredRoles = new ArrayList<>();
    try {
      for (V1Role r : ops.retrying("list", () -> ops.api().listRoleForAllNamespaces()
          .labelSelector(Names.MANAGED_SELECTOR).execute()).getItems()) {
        Entry e = Entry.of(r, null, now);
        if (!e.expiresAt.isAfter(now)) {
          expiredRoles.add(e);
        }
      }
      for (V1ClusterRole r : ops.retrying("list", () -> ops.api().listClusterRole()
          .labelSelector(Names.MANAGED_SELECTOR).execute()).getItems()) {
        Entry e = Entry.of(r, null, now);
        if (!e.expiresAt.isAfter(now)) {
          expiredRoles.add(e);
        }
      }
    } catch (ApiException e) {
      throw new RbacException("cannot list managed roles: HTTP " + e.getCode() + " " + Kube.reason(e), e);
    }
    for (Entry e : expiredRoles) {
      if (reapOrphanRole(e, EndCause.RECONCILED_AFTER_RESTART) == RoleOutcome.DELETED) {
        n++;
      }
    }
    flushPending();
    return n;
  }

  private void onStartLeading() {
    synchronized (this) {
      if (closed || leading) {
        return;
      }
      leaderSince = clock.instant();
      leading = true;
      LOG.info("reaper {} is now the leader", identity);
      factory = new SharedInformerFactory(client);
      SharedIndexInformer<V1RoleBinding> rb = factory.sharedIndexInformerFor(
          params -> ops.api().listRoleBindingForAllNamespaces().labelSelector(Names.MANAGED_SELECTOR)
              .resourceVersion(params.resourceVersion).timeoutSeconds(params.timeoutSeconds).watch(params.watch)
              .buildCall(null),
          V1RoleBinding.class, V1RoleBindingList.class);
      rb.addEventHandler(new Handler<>(b -> b.getRoleRef()));
      SharedIndexInformer<V1ClusterRoleBinding> crb = factory.sharedIndexInformerFor(
          params -> ops.api().listClusterRoleBinding().labelSelector(Names.MANAGED_SELECTOR)
              .resourceVersion(params.resourceVersion).timeoutSeconds(params.timeoutSeconds).watch(params.watch)
              .buildCall(null),
          V1ClusterRoleBinding.class, V1ClusterRoleBindingList.class);
      crb.addEventHandler(new Handler<>(b -> b.getRoleRef()));
      SharedIndexInformer<V1Role> roles = factory.sharedIndexInformerFor(
          params -> ops.api().listRoleForAllNamespaces().labelSelector(Names.MANAGED_SELECTOR)
              .resourceVersion(params.resourceVersion).timeoutSeconds(params.timeoutSeconds).watch(params.watch)
              .buildCall(null),
          V1Role.class, V1RoleList.class);
      roles.addEventHandler(new Handler<V1Role>(r -> null));
      SharedIndexInformer<V1ClusterRole> clusterRoles = factory.sharedIndexInformerFor(
          params -> ops.api().listClusterRole().labelSelector(Names.MANAGED_SELECTOR)
              .resourceVersion(params.resourceVersion).timeoutSeconds(params.timeoutSeconds).watch(params.watch)
              .buildCall(null),
          V1ClusterRole.class, V1ClusterRoleList.class);
      clusterRoles.addEventHandler(new Handler<V1ClusterRole>(r -> null));
      factory.startAllRegisteredInformers();
      worker = new Thread(this::work, "kubejit-reaper-worker-" + identity);
      worker.setDaemon(true);
      worker.start();
    }
  }

  private void onStopLeading() {
    Thread w;
    SharedInformerFactory f;
    synchronized (this) {
      if (!leading) {
        return;
      }
      leading = false;
      w = worker;
      f = factory;
      worker = null;
      factory = null;
    }
    LOG.info("reaper {} stopped leading", identity);
    if (f != null) {
      f.stopAllRegisteredInformers();
    }
    lock.lock();
    try {
      queue.clear();
      byUid.clear();
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    if (w != null && w != Thread.currentThread()) {
      w.interrupt();
      try {
        w.join(5000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Feeds the queue from informer events. */
  private final class Handler<T extends KubernetesObject> implements ResourceEventHandler<T> {
    private final java.util.function.Function<T, V1RoleRef> roleRef;

    Handler(java.util.function.Function<T, V1RoleRef> roleRef) {
      this.roleRef = roleRef;
    }

    @Override
    public void onAdd(T obj) {
      enqueue(Entry.of(obj, roleRef.apply(obj), clock.instant()));
    }

    @Override
    public void onUpdate(T oldObj, T newObj) {
      enqueue(Entry.of(newObj, roleRef.apply(newObj), clock.instant()));
    }

    @Override
    public void onDelete(T obj, boolean deletedFinalStateUnknown) {
      lock.lock();
      try {
        Entry e = byUid.remove(obj.getMetadata().getUid());
        if (e != null) {
          queue.remove(e);
        }
      } finally {
        lock.unlock();
      }
    }
  }

  private void enqueue(Entry e) {
    lock.lock();
    try {
      Entry old = byUid.put(e.uid, e);
      if (old != null) {
        queue.remove(old);
      }
      queue.add(e);
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  private void work() {
    while (leading && !closed && !Thread.currentThread().isInterrupted()) {
      Entry due = null;
      lock.lock();
      try {
        Entry head = queue.peek();
        Instant now = clock.instant();
        if (head != null && !head.expiresAt.isAfter(now)) {
          due = queue.poll();
          byUid.remove(due.uid);
        } else {
          long waitMs = tick.toMillis();
          if (head != null) {
            waitMs = Math.max(1, Math.min(waitMs, Duration.between(now, head.expiresAt).toMillis()));
          }
          changed.await(waitMs, java.util.concurrent.TimeUnit.MILLISECONDS);
        }
      } catch (InterruptedException ie) {
        return;
      } finally {
        lock.unlock();
      }
      if (due != null && leading) {
        EndCause cause = due.expiresAt.isBefore(leaderSince) ? EndCause.RECONCILED_AFTER_RESTART : EndCause.EXPIRED;
        try {
          if (due.isRole()) {
            if (reapOrphanRole(due, cause) == RoleOutcome.BINDING_REMAINS) {
              due.retryAfter(clock.instant().plus(tick));
              enqueue(due);
            }
          } else {
            reap(due, cause);
          }
        } catch (RuntimeException ex) {
          LOG.warn("reaper {} could not delete {}: {}; retrying later", identity, due, ex.getMessage());
          due.retryAfter(clock.instant().plus(tick));
          enqueue(due);
        }
      }
      flushPending();
      passes.incrementAndGet();
    }
  }

  /** Number of completed worker passes (each reads the clock once and handles what is due). */
  long completedPasses() {
    return passes.get();
  }

  /** Number of times the elector read the Lease (one per acquire or renew attempt). */
  long electionAttempts() {
    return electionAttempts.get();
  }

  /** The bindings waiting in the expiry queue, as {@code Kind/namespace/name}. */
  java.util.Set<String> queuedBindings() {
    return queued(false);
  }

  /** The roles waiting in the expiry queue, as {@code Kind/namespace/name}. */
  java.util.Set<String> queuedRoles() {
    return queued(true);
  }

  private java.util.Set<String> queued(boolean roles) {
    lock.lock();
    try {
      java.util.Set<String> out = new java.util.TreeSet<>();
      for (Entry e : queue) {
        if (e.isRole() == roles) {
          out.add(e.toString());
        }
      }
      return out;
    } finally {
      lock.unlock();
    }
  }

  /** A {@link Lock} that counts reads: the elector reads the Lease once per attempt. */
  private static final class CountingLock implements Lock {
    private final Lock delegate;
    private final AtomicLong reads;

    CountingLock(Lock delegate, AtomicLong reads) {
      this.delegate = delegate;
      this.reads = reads;
    }

    @Override
    public LeaderElectionRecord get() throws ApiException {
      reads.incrementAndGet();
      return delegate.get();
    }

    @Override
    public boolean create(LeaderElectionRecord record) {
      return delegate.create(record);
    }

    @Override
    public boolean update(LeaderElectionRecord record) {
      return delegate.update(record);
    }

    @Override
    public String identity() {
      return delegate.identity();
    }

    @Override
    public String describe() {
      return delegate.describe();
    }
  }

  /** Deletes the binding, then its role if it belongs to the same grant; emits the event if this call deleted it. */
  private boolean reap(Entry e, EndCause cause) {
    boolean deleted = ops.delete(e.kind, e.namespace, e.name, e.uid);
    if (!deleted) {
      return false;
    }
    String roleUid = deleteRole(e);
    if (roleUid != null) {
      forget(roleUid);
    }
    Instant now = clock.instant();
    AuditEvent.Builder ev = AuditEvent.builder(
        cause == EndCause.RECONCILED_AFTER_RESTART ? AuditEventType.GRANT_RECONCILED : AuditEventType.GRANT_EXPIRED,
        now)
        .reason("RBAC binding removed by the expiry reaper")
        .attribute("cause", cause.name())
        .attribute("binding", e.toString())
        .attribute("expiresAt", e.rawExpiry == null ? "missing" : Names.sanitize(e.rawExpiry))
        .attribute("reaper", identity);
    describe(ev, e);
    pending.add(ev.build());
    LOG.info("reaper {} deleted {} ({})", identity, e, cause);
    return true;
  }

  /**
   * What {@link #reapOrphanRole} did: deleted the role, found it gone already, or left it because a
   * managed binding of its grant still exists (that binding's deletion takes the role with it).
   */
  enum RoleOutcome {
    DELETED,
    GONE,
    BINDING_REMAINS
  }

  /**
   * Deletes an expired managed role if no managed binding of its grant exists, and emits the event
   * if this call deleted it. A role without a grant-id label has no binding to wait for.
   */
  private RoleOutcome reapOrphanRole(Entry e, EndCause cause) {
    if (e.grantId != null && bindingOfGrantExists(e)) {
      LOG.debug("reaper {}: {} expired but a binding of grant {} remains; it goes with the binding", identity, e,
          e.grantId);
      return RoleOutcome.BINDING_REMAINS;
    }
    if (!ops.delete(e.kind, e.namespace, e.name, e.uid)) {
      return RoleOutcome.GONE;
    }
    Instant now = clock.instant();
    AuditEvent.Builder ev = AuditEvent.builder(
        cause == EndCause.RECONCILED_AFTER_RESTART ? AuditEventType.GRANT_RECONCILED : AuditEventType.GRANT_EXPIRED,
        now)
        .reason("orphaned RBAC role (no binding of its grant) removed by the expiry reaper")
        .attribute("cause", cause.name())
        .attribute("role", e.toString())
        .attribute("expiresAt", e.rawExpiry == null ? "missing" : Names.sanitize(e.rawExpiry))
        .attribute("reaper", identity);
    describe(ev, e);
    pending.add(ev.build());
    LOG.info("reaper {} deleted orphaned {} ({})", identity, e, cause);
    return RoleOutcome.DELETED;
  }

  /** Whether a managed binding labelled with the entry's grant id exists in the entry's namespace (or cluster-wide). */
  private boolean bindingOfGrantExists(Entry e) {
    String selector = Names.MANAGED_SELECTOR + "," + Names.GRANT_ID + "=" + e.grantId;
    try {
      if (e.namespace != null) {
        return !ops.retrying("list", () -> ops.api().listNamespacedRoleBinding(e.namespace).labelSelector(selector)
            .execute()).getItems().isEmpty();
      }
      return !ops.retrying("list", () -> ops.api().listClusterRoleBinding().labelSelector(selector).execute())
          .getItems().isEmpty();
    } catch (ApiException ex) {
      throw new RbacException("cannot list the bindings of grant " + Names.sanitize(e.grantId) + ": HTTP "
          + ex.getCode() + " " + Kube.reason(ex), ex);
    }
  }

  /** Drops a queued entry (a role deleted together with its binding). */
  private void forget(String uid) {
    lock.lock();
    try {
      Entry old = byUid.remove(uid);
      if (old != null) {
        queue.remove(old);
      }
    } finally {
      lock.unlock();
    }
  }

  /** Adds the grant id (or the raw label) and the scope of {@code e} to an event. */
  private void describe(AuditEvent.Builder ev, Entry e) {
    if (e.refused != null) {
      ev.attribute("expiryRefused", e.refused);
    }
    if (e.grantId != null) {
      try {
        ev.grantId(GrantId.parse(e.grantId));
      } catch (IllegalArgumentException bad) {
        ev.attribute("grantIdLabel", Names.sanitize(e.grantId));
      }
    }
    try {
      ev.scope(e.namespace == null ? Scope.cluster(clusterName) : Scope.namespace(clusterName, e.namespace));
    } catch (IllegalArgumentException bad) {
      LOG.debug("no scope for {}", e);
    }
  }

  /** Deletes the binding's role if it belongs to the same grant; returns the deleted role's uid, or null. */
  private String deleteRole(Entry e) {
    if (e.roleName == null) {
      return null;
    }
    try {
      V1ObjectMeta meta;
      if ("Role".equals(e.roleKind) && e.namespace != null) {
        V1Role r = ops.retrying("read", () -> ops.api().readNamespacedRole(e.roleName, e.namespace).execute());
        meta = r.getMetadata();
      } else if ("ClusterRole".equals(e.roleKind) && e.namespace == null) {
        V1ClusterRole r = ops.retrying("read", () -> ops.api().readClusterRole(e.roleName).execute());
        meta = r.getMetadata();
      } else {
        return null;
      }
      Map<String, String> labels = meta.getLabels();
      if (labels != null && Names.MANAGED_BY_VALUE.equals(labels.get(Names.MANAGED_BY)) && e.grantId != null
          && e.grantId.equals(labels.get(Names.GRANT_ID))) {
        ops.delete(e.roleKind, e.namespace, e.roleName, meta.getUid());
        return meta.getUid();
      }
    } catch (ApiException ex) {
      if (ex.getCode() != 404) {
        LOG.warn("reaper {} could not delete role of {}: HTTP {}; it is deleted as an orphan once due", identity, e,
            ex.getCode());
      }
    }
    return null;
  }

  private void flushPending() {
    if (pending.isEmpty()) {
      return;
    }
    List<AuditEvent> batch = new ArrayList<>(pending);
    try {
      sink.write(batch);
      pending.removeAll(batch);
    } catch (RuntimeException ex) {
      LOG.error("reaper {} could not write {} audit events, will retry: {}", identity, batch.size(), ex.toString());
    }
  }

  /**
   * Stops competing and the worker, and, if this replica led, releases the Lease (clears its
   * holder, so a follower takes over at its next attempt instead of waiting for the Lease to
   * expire); idempotent.
   */
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
    flushPending();
  }

  /**
   * Clears the holder of the Lease if it still names this replica (optimistic concurrency: a
   * replica that took over meanwhile makes the replace fail, which is fine). client-java's elector
   * treats a Lease without holder as free.
   */
  private void release() {
    CoordinationV1Api coordination = new CoordinationV1Api(client);
    try {
      V1Lease lease = coordination.readNamespacedLease(leaseName, leaseNamespace).execute();
      if (lease.getSpec() != null && identity.equals(lease.getSpec().getHolderIdentity())) {
        lease.getSpec().setHolderIdentity(null);
        coordination.replaceNamespacedLease(leaseName, leaseNamespace, lease).execute();
        LOG.info("reaper {} released Lease {}/{}", identity, leaseNamespace, leaseName);
      }
    } catch (ApiException ex) {
      LOG.warn("reaper {} could not release Lease {}/{}: HTTP {}; it expires after {}", identity, leaseNamespace,
          leaseName, ex.getCode(), leaseDuration);
    }
  }

  @Override
  public String toString() {
    return "ExpiryReaper{" + identity + (leading ? " leader" : "") + " lease=" + leaseNamespace + "/" + leaseName + "}";
  }

  /** A managed binding, or a managed role, in the expiry queue. */
  static final class Entry implements Comparable<Entry> {
    final String kind;
    final String namespace;
    final String name;
    final String uid;
    final String grantId;
    final String roleKind;
    final String roleName;
    final String rawExpiry;
    final String refused;
    Instant expiresAt;

    private Entry(String kind, String namespace, String name, String uid, String grantId, String roleKind,
        String roleName, String rawExpiry, String refused, Instant expiresAt) {
      this.kind = kind;
      this.namespace = namespace;
      this.name = name;
      this.uid = uid;
      this.grantId = grantId;
      this.roleKind = roleKind;
      this.roleName = roleName;
      this.rawExpiry = rawExpiry;
      this.refused = refused;
      this.expiresAt = expiresAt;
    }

    /** Whether this is a Role or ClusterRole (not a binding). */
    boolean isRole() {
      return "Role".equals(kind) || "ClusterRole".equals(kind);
    }

    /**
     * Reads a managed binding (or, with {@code ref} null, a managed Role or ClusterRole). Its expiry is due at once (fail closed) when the annotation is
     * missing or unparseable, or when it lies more than {@link Lifetimes#ABSOLUTE_MAX} after
     * {@code now} or after the binding's server-set creation time: no KubeJIT grant lives that long.
     */
    static Entry of(KubernetesObject o, V1RoleRef ref, Instant now) {
      V1ObjectMeta m = o.getMetadata();
      String raw = m.getAnnotations() == null ? null : m.getAnnotations().get(Names.EXPIRES_AT);
      Instant at = Instant.EPOCH;
      String refused = null;
      if (raw == null) {
        refused = "missing";
      } else {
        try {
          at = Instant.parse(raw);
        } catch (DateTimeParseException e) {
          refused = "unparseable";
          at = Instant.EPOCH;
        }
      }
      if (refused == null) {
        Instant created = m.getCreationTimestamp() == null ? null : m.getCreationTimestamp().toInstant();
        if (Duration.between(now, at).compareTo(Lifetimes.ABSOLUTE_MAX) > 0
            || (created != null && Duration.between(created, at).compareTo(Lifetimes.ABSOLUTE_MAX) > 0)) {
          refused = "beyond the absolute maximum lifetime of " + Lifetimes.ABSOLUTE_MAX.toDays() + " days";
          at = Instant.EPOCH;
        }
      }
      String kind = o instanceof V1ClusterRoleBinding ? "ClusterRoleBinding"
          : o instanceof V1ClusterRole ? "ClusterRole"
          : o instanceof V1Role ? "Role"
          : "RoleBinding";
      boolean clusterScoped = o instanceof V1ClusterRoleBinding || o instanceof V1ClusterRole;
      return new Entry(kind, clusterScoped ? null : m.getNamespace(), m.getName(), m.getUid(),
          m.getLabels() == null ? null : m.getLabels().get(Names.GRANT_ID), ref == null ? null : ref.getKind(),
          ref == null ? null : ref.getName(), raw, refused, at);
    }

    void retryAfter(Instant t) {
      this.expiresAt = t;
    }

    /** Earliest expiry first; at the same expiry bindings before roles (a binding's deletion takes its role along). */
    @Override
    public int compareTo(Entry o) {
      int c = expiresAt.compareTo(o.expiresAt);
      if (c == 0) {
        c = Boolean.compare(isRole(), o.isRole());
      }
      return c != 0 ? c : uid.compareTo(o.uid);
    }

    @Override
    public String toString() {
      return kind + "/" + (namespace == null ? "" : namespace + "/") + name;
    }
  }

  /** Builds an {@link ExpiryReaper}. */
  public static final class Builder {
    private final ApiClient client;
    private AuditSink sink;
    private Clock clock = Clock.systemUTC();
    private String clusterName;
    private String identity = "kubejit-reaper-" + UUID.randomUUID();
    private String leaseNamespace = "default";
    private String leaseName = "kubejit-expiry-reaper";
    private Duration leaseDuration = Duration.ofSeconds(15);
    private Duration renewDeadline = Duration.ofSeconds(10);
    private Duration retryPeriod = Duration.ofSeconds(2);
    private Duration tick = Duration.ofSeconds(1);

    private Builder(ApiClient client) {
      this.client = requireNonNull(client, "client");
    }

    /** Where deletion events go (required). */
    public Builder auditSink(AuditSink sink) {
      this.sink = requireNonNull(sink, "sink");
      return this;
    }

    /** The clock that decides expiry (default: system UTC). */
    public Builder clock(Clock clock) {
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    /** The cluster name recorded in audit scopes (required). */
    public Builder clusterName(String clusterName) {
      this.clusterName = Scope.cluster(requireNonNull(clusterName, "clusterName")).cluster();
      return this;
    }

    /** This replica's identity in the Lease (default: a random one). */
    public Builder identity(String identity) {
      this.identity = Names.requireRoleName(identity);
      return this;
    }

    /** The Lease's namespace (default {@code default}). */
    public Builder leaseNamespace(String namespace) {
      this.leaseNamespace = Names.requireNamespace(namespace);
      return this;
    }

    /** The Lease's name (default {@code kubejit-expiry-reaper}). */
    public Builder leaseName(String name) {
      this.leaseName = Names.requireRoleName(name);
      return this;
    }

    /**
     * How long a Lease is valid without renewal before another replica may take it (default 15 s;
     * must exceed {@link #renewDeadline}).
     */
    public Builder leaseDuration(Duration leaseDuration) {
      this.leaseDuration = positive(leaseDuration, "lease duration");
      return this;
    }

    /** How long the leader keeps trying to renew before it steps down (default 10 s; must exceed {@link #retryPeriod}). */
    public Builder renewDeadline(Duration renewDeadline) {
      this.renewDeadline = positive(renewDeadline, "renew deadline");
      return this;
    }

    /** How often replicas try to acquire or renew the Lease (default 2 s). */
    public Builder retryPeriod(Duration retryPeriod) {
      this.retryPeriod = positive(retryPeriod, "retry period");
      return this;
    }

    private static Duration positive(Duration d, String what) {
      if (d == null || d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(what + " must be positive: " + d);
      }
      return d;
    }

    /** The longest the worker waits before re-reading the clock (default 1 s). */
    public Builder tick(Duration tick) {
      if (tick.isNegative() || tick.isZero()) {
        throw new IllegalArgumentException("tick must be positive: " + tick);
      }
      this.tick = tick;
      return this;
    }

    /**
     * Returns the reaper (not started).
     *
     * @throws IllegalStateException if the audit sink or cluster name is missing, or the
     *     leader-election durations are not ordered lease duration > renew deadline > retry period
     */
    public ExpiryReaper build() {
      if (sink == null) {
        throw new IllegalStateException("auditSink is required");
      }
      if (clusterName == null) {
        throw new IllegalStateException("clusterName is required");
      }
      if (leaseDuration.compareTo(renewDeadline) <= 0 || renewDeadline.compareTo(retryPeriod) <= 0) {
        throw new IllegalStateException("leader election needs leaseDuration > renewDeadline > retryPeriod: "
            + leaseDuration + ", " + renewDeadline + ", " + retryPeriod);
      }
      return new ExpiryReaper(this);
    }
  }
}
