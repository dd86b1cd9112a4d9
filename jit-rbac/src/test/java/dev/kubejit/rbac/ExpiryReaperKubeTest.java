package dev.kubejit.rbac;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.Grant;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.InMemoryAuditSink;
import dev.kubejit.testing.FakeClock;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoordinationV1Api;
import io.kubernetes.client.openapi.apis.RbacAuthorizationV1Api;
import io.kubernetes.client.openapi.models.V1LeaseSpec;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The expiry reaper against the real API server.
 *
 * <p>No sleep stands in for synchronisation: "nothing happened" is asserted after the reaper has
 * completed several worker passes, or after the follower has made several election attempts (test
 * seams counting them); deletion times come from the API server's audit log; takeover is measured
 * between instants written in the Lease itself (the old holder's last renewal or the release, and
 * the new holder's acquisition). Margins are generous because several builds share a small machine:
 * {@link #SCHEDULING_MARGIN} is added to every upper bound and documented where used.
 */
@KubeTest
class ExpiryReaperKubeTest {
  private static final Duration LEASE = Duration.ofSeconds(4);
  private static final Duration RENEW = Duration.ofSeconds(3);
  private static final Duration RETRY = Duration.ofSeconds(1);
  private static final Duration TICK = Duration.ofMillis(200);
  /** Slack for JVM, API-server and scheduling latency on a loaded shared machine (several seconds on purpose). */
  private static final Duration SCHEDULING_MARGIN = Duration.ofSeconds(3);
  /** client-java's elector waits up to 1.2 retry periods between attempts (jitter factor 1.2). */
  private static final Duration RETRY_WITH_JITTER = Duration.ofMillis(RETRY.toMillis() * 12 / 10);

  static void await(String what, Duration timeout, BooleanSupplier cond) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for " + what);
      }
      Thread.sleep(50);
    }
  }

  /** Waits until the reaper has completed {@code n} more worker passes (each reads the clock afresh). */
  static void awaitPasses(ExpiryReaper r, int n) throws InterruptedException {
    long target = r.completedPasses() + n;
    await(n + " reaper passes", Duration.ofSeconds(30), () -> r.completedPasses() >= target);
  }

  static List<AuditEvent> eventsFor(InMemoryAuditSink sink, Grant g) {
    return sink.events().stream().filter(e -> e.grantId().map(g.id()::equals).orElse(false))
        .collect(Collectors.toList());
  }

  private static String name(Grant g, String template) {
    return "kubejit-" + template + "-" + g.id().value();
  }

  private static boolean bindingExists(KubeControlPlane cp, Grant g, String template) {
    try {
      new RbacAuthorizationV1Api(cp.adminClient())
          .readNamespacedRoleBinding(name(g, template), g.scope().namespace().get()).execute();
      return true;
    } catch (ApiException e) {
      if (e.getCode() == 404) {
        return false;
      }
      throw new IllegalStateException(e);
    }
  }

  private static V1LeaseSpec lease(KubeControlPlane cp, String name) throws ApiException {
    return new CoordinationV1Api(cp.adminClient()).readNamespacedLease(name, "default").execute().getSpec();
  }

  private static ExpiryReaper reaper(KubeControlPlane cp, String id, String lease, AuditSink sink, Clock clock) {
    return reaper(cp, id, lease, sink, clock, LEASE, RENEW);
  }

  private static ExpiryReaper reaper(KubeControlPlane cp, String id, String lease, AuditSink sink, Clock clock,
      Duration leaseDuration, Duration renew) {
    return ExpiryReaper.builder(cp.adminClient()).auditSink(sink).clock(clock).clusterName("test")
        .identity(id).leaseNamespace("default").leaseName(lease)
        .leaseDuration(leaseDuration).renewDeadline(renew).retryPeriod(RETRY).tick(TICK).build();
  }

  private static KubernetesRbacProvisioner provisioner(KubeControlPlane cp, Clock clock) {
    return KubernetesRbacProvisioner.builder(cp.adminClient()).maxGrantDuration(Duration.ofHours(8)).clock(clock)
        .build();
  }

  @Test
  void shortTtlIsReapedAtExpiryAndAccessTurnsDenied(KubeControlPlane cp) throws Exception {
    KubernetesRbacProvisionerKubeTest.namespace(cp.adminClient(), "reap-a");
    Clock clock = Clock.systemUTC();
    Grant g = Fixtures.grant("reap-a", "jit-debug", clock.instant(), Duration.ofSeconds(4));
    provisioner(cp, clock).provision(g);
    assertTrue(KubernetesRbacProvisionerKubeTest.can(cp, g, "create", "pods", "exec", "reap-a"));
    InMemoryAuditSink sink = AuditSink.inMemory();
    try (ExpiryReaper r = reaper(cp, "reaper-ttl", "lease-ttl", sink, clock)) {
      r.start();
      await("reaper deletes the binding", Duration.ofSeconds(30), () -> !bindingExists(cp, g, "jit-debug"));
      // When the API server says the delete happened (its audit log, not our polling).
      List<dev.kubejit.audit.KubeAuditEvent> deletes = cp.awaitAuditEvents(dev.kubejit.audit.KubeAuditEvent::parse, (dev.kubejit.audit.KubeAuditEvent e) -> "delete".equals(e.verb())
          && "rolebindings".equals(e.resource()) && name(g, "jit-debug").equals(e.name()) && e.code() == 200,
          Duration.ofSeconds(10));
      assertEquals(1, deletes.size(), deletes.toString());
      Instant deletedAt = deletes.get(0).stageTimestamp();
      assertFalse(deletedAt.isBefore(g.expiresAt()), "deleted at " + deletedAt + ", before expiry " + g.expiresAt());
      // The worker wakes at the expiry (at most one tick late); the margin covers the delete itself.
      assertTrue(deletedAt.isBefore(g.expiresAt().plus(TICK).plus(SCHEDULING_MARGIN)),
          "deleted at " + deletedAt + ", long after expiry " + g.expiresAt());
      await("SAR turns denied", Duration.ofSeconds(10),
          () -> !KubernetesRbacProvisionerKubeTest.can(cp, g, "create", "pods", "exec", "reap-a"));
      await("audit event", Duration.ofSeconds(5), () -> !eventsFor(sink, g).isEmpty());
      AuditEvent e = eventsFor(sink, g).get(0);
      assertEquals(AuditEventType.GRANT_EXPIRED, e.type());
      assertEquals("EXPIRED", e.attributes().get("cause"));
      assertEquals("reaper-ttl", e.attributes().get("reaper"));
      assertFalse(e.time().isBefore(g.expiresAt()), e.toString());
      assertEquals(1, eventsFor(sink, g).size());
      assertEquals(404, assertThrows(ApiException.class, () -> new RbacAuthorizationV1Api(cp.adminClient())
          .readNamespacedRole(name(g, "jit-debug"), "reap-a").execute()).getCode());
    }
  }

  private static boolean roleExists(KubeControlPlane cp, Grant g, String template) {
    try {
      new RbacAuthorizationV1Api(cp.adminClient())
          .readNamespacedRole(name(g, template), g.scope().namespace().get()).execute();
      return true;
    } catch (ApiException e) {
      if (e.getCode() == 404) {
        return false;
      }
      throw new IllegalStateException(e);
    }
  }

  /**
   * A broker killed between creating a grant's Role and its RoleBinding leaves a Role that no
   * binding names (CrashMidActivationFaultTest, kill point "role"): the leader deletes it at its
   * expiry, and reconcileOnce after a restart, each with one event for the grant.
   */
  @Test
  void anOrphanedRoleIsDeletedAtItsExpiryAndByReconcileOnce(KubeControlPlane cp) throws Exception {
    KubernetesRbacProvisionerKubeTest.namespace(cp.adminClient(), "reap-o");
    FakeClock clock = new FakeClock(Instant.now());
    Grant g1 = Fixtures.grant("reap-o", "jit-debug", clock.instant(), Duration.ofMinutes(10));
    Grant g2 = Fixtures.grant("reap-o", "logs-reader", clock.instant(), Duration.ofMinutes(20));
    KubernetesRbacProvisioner p = provisioner(cp, clock);
    RbacAuthorizationV1Api rbac = new RbacAuthorizationV1Api(cp.adminClient());
    for (Grant g : List.of(g1, g2)) {
      p.provision(g);
      String template = g == g1 ? "jit-debug" : "logs-reader";
      rbac.deleteNamespacedRoleBinding(name(g, template), "reap-o").execute();
      assertFalse(bindingExists(cp, g, template));
      assertTrue(roleExists(cp, g, template));
    }
    InMemoryAuditSink sink = AuditSink.inMemory();
    try (ExpiryReaper r = reaper(cp, "reaper-orphan", "lease-orphan", sink, clock)) {
      r.start();
      String role1 = "Role/reap-o/" + name(g1, "jit-debug");
      await("the orphaned roles are queued", Duration.ofSeconds(15),
          () -> r.queuedRoles().containsAll(List.of(role1, "Role/reap-o/" + name(g2, "logs-reader"))));
      awaitPasses(r, 3);
      assertTrue(roleExists(cp, g1, "jit-debug"), "deleted before its expiry");
      assertEquals(List.of(), eventsFor(sink, g1));
      clock.set(g1.expiresAt());
      await("the orphaned role is deleted at its expiry", Duration.ofSeconds(15),
          () -> !roleExists(cp, g1, "jit-debug"));
      await("audit event", Duration.ofSeconds(5), () -> eventsFor(sink, g1).size() == 1);
      AuditEvent e = eventsFor(sink, g1).get(0);
      assertEquals(AuditEventType.GRANT_EXPIRED, e.type());
      assertEquals(role1, e.attributes().get("role"));
      assertEquals("EXPIRED", e.attributes().get("cause"));
      awaitPasses(r, 3);
      assertEquals(1, eventsFor(sink, g1).size());
      assertTrue(roleExists(cp, g2, "logs-reader"), "the later orphan is not due yet");
    }
    clock.set(g2.expiresAt().plusSeconds(1));
    InMemoryAuditSink restart = AuditSink.inMemory();
    ExpiryReaper once = reaper(cp, "reaper-orphan-2", "lease-orphan", restart, clock);
    assertTrue(once.reconcileOnce() >= 1);
    assertFalse(roleExists(cp, g2, "logs-reader"));
    assertEquals(1, eventsFor(restart, g2).size());
    assertEquals(AuditEventType.GRANT_RECONCILED, eventsFor(restart, g2).get(0).type());
    assertEquals("Role/reap-o/" + name(g2, "logs-reader"), eventsFor(restart, g2).get(0).attributes().get("role"));
    once.reconcileOnce();
    assertEquals(1, eventsFor(restart, g2).size(), "a second reconciliation finds nothing of the grant");
  }

  @Test
  void grantsThatExpiredWhileStoppedAreReconciledOnRestart(KubeControlPlane cp) throws Exception {
    KubernetesRbacProvisionerKubeTest.namespace(cp.adminClient(), "reap-b");
    FakeClock clock = new FakeClock(Instant.now());
    InMemoryAuditSink first = AuditSink.inMemory();
    ExpiryReaper r1 = reaper(cp, "reaper-restart-1", "lease-restart", first, clock);
    r1.start();
    await("leadership", Duration.ofSeconds(15), r1::isLeader);
    Grant g1 = Fixtures.grant("reap-b", "logs-reader", clock.instant(), Duration.ofMinutes(10));
    Grant g2 = Fixtures.grant("reap-b", "jit-debug", clock.instant(), Duration.ofMinutes(20));
    Grant live = Fixtures.grant("reap-b", "oncall-debug", clock.instant(), Duration.ofHours(2));
    KubernetesRbacProvisioner p = provisioner(cp, clock);
    p.provision(g1);
    p.provision(g2);
    p.provision(live);
    String liveRef = "RoleBinding/reap-b/" + name(live, "oncall-debug");
    await("r1 queues every grant", Duration.ofSeconds(15), () -> r1.queuedBindings().containsAll(List.of(liveRef,
        "RoleBinding/reap-b/" + name(g1, "logs-reader"), "RoleBinding/reap-b/" + name(g2, "jit-debug"))));
    awaitPasses(r1, 3);
    assertEquals(List.of(), eventsFor(first, g1), "nothing is due yet");
    r1.close();
    clock.advance(Duration.ofMinutes(30)); // both g1 and g2 expire while no reaper runs
    assertTrue(bindingExists(cp, g1, "logs-reader"));
    assertTrue(bindingExists(cp, g2, "jit-debug"));

    InMemoryAuditSink second = AuditSink.inMemory();
    try (ExpiryReaper r2 = reaper(cp, "reaper-restart-2", "lease-restart", second, clock)) {
      r2.start();
      await("reconciliation", Duration.ofSeconds(30),
          () -> !bindingExists(cp, g1, "logs-reader") && !bindingExists(cp, g2, "jit-debug"));
      await("audit events", Duration.ofSeconds(5),
          () -> eventsFor(second, g1).size() == 1 && eventsFor(second, g2).size() == 1);
      for (Grant g : List.of(g1, g2)) {
        AuditEvent e = eventsFor(second, g).get(0);
        assertEquals(AuditEventType.GRANT_RECONCILED, e.type());
        assertEquals("RECONCILED_AFTER_RESTART", e.attributes().get("cause"));
      }
      // Expiry boundary on the fake clock: 1 ns before expiry it stays (checked after several
      // complete passes with that clock, with the binding observably queued), at expiry it goes.
      await("r2 queues the live grant", Duration.ofSeconds(15), () -> r2.queuedBindings().contains(liveRef));
      clock.set(live.expiresAt().minusNanos(1));
      awaitPasses(r2, 3);
      assertTrue(bindingExists(cp, live, "oncall-debug"), "reaped 1 ns before expiry");
      assertTrue(r2.queuedBindings().contains(liveRef));
      assertEquals(List.of(), eventsFor(second, live));
      clock.set(live.expiresAt());
      await("reaped exactly at expiry", Duration.ofSeconds(10), () -> !bindingExists(cp, live, "oncall-debug"));
      await("audit event", Duration.ofSeconds(5), () -> eventsFor(second, live).size() == 1);
      assertEquals(AuditEventType.GRANT_EXPIRED, eventsFor(second, live).get(0).type());
    }
    assertEquals(List.of(), eventsFor(first, g1));
    assertEquals(List.of(), eventsFor(first, live));
  }

  @Test
  void onlyTheLeaderDeletesAndAFollowerTakesOverOnACleanStop(KubeControlPlane cp) throws Exception {
    KubernetesRbacProvisionerKubeTest.namespace(cp.adminClient(), "reap-c");
    Clock clock = Clock.systemUTC();
    InMemoryAuditSink sinkA = AuditSink.inMemory();
    InMemoryAuditSink sinkB = AuditSink.inMemory();
    // A long lease, so that a takeover well before it could expire proves the clean stop released it.
    Duration longLease = Duration.ofSeconds(20);
    Duration longRenew = Duration.ofSeconds(15);
    ExpiryReaper a = reaper(cp, "reaper-a", "lease-ha", sinkA, clock, longLease, longRenew);
    ExpiryReaper b = reaper(cp, "reaper-b", "lease-ha", sinkB, clock, longLease, longRenew);
    try {
      a.start();
      await("a leads", Duration.ofSeconds(15), a::isLeader);
      b.start();
      KubernetesRbacProvisioner p = provisioner(cp, clock);
      Grant g1 = Fixtures.grant("reap-c", "jit-debug", clock.instant(), Duration.ofSeconds(3));
      Grant g2 = Fixtures.grant("reap-c", "logs-reader", clock.instant(), Duration.ofSeconds(3));
      p.provision(g1);
      p.provision(g2);
      await("leader reaps", Duration.ofSeconds(30),
          () -> !bindingExists(cp, g1, "jit-debug") && !bindingExists(cp, g2, "logs-reader"));
      await("leader events", Duration.ofSeconds(5),
          () -> eventsFor(sinkA, g1).size() == 1 && eventsFor(sinkA, g2).size() == 1);
      long attempts = b.electionAttempts();
      await("b to keep trying", Duration.ofSeconds(15), () -> b.electionAttempts() >= attempts + 2);
      assertFalse(b.isLeader());
      assertEquals(List.of(), eventsFor(sinkB, g1));
      assertEquals(List.of(), eventsFor(sinkB, g2));

      Instant lastRenewByA = lease(cp, "lease-ha").getRenewTime().toInstant();
      a.close();
      Instant closed = Instant.now();
      V1LeaseSpec released = lease(cp, "lease-ha");
      assertTrue(released.getHolderIdentity() == null || "reaper-b".equals(released.getHolderIdentity()),
          "a clean stop clears the holder: " + released);
      await("b takes over", Duration.ofSeconds(30), b::isLeader);
      V1LeaseSpec taken = lease(cp, "lease-ha");
      assertEquals("reaper-b", taken.getHolderIdentity());
      Instant acquired = taken.getAcquireTime().toInstant();
      System.out.println("Takeover after a clean stop: " + Duration.between(closed, acquired).toMillis()
          + " ms after close() returned (retry period " + RETRY.toMillis() + " ms, lease " + longLease.toMillis()
          + " ms)");
      // b's next attempt after the release takes over: at most one jittered retry period, plus margin.
      assertTrue(!acquired.isAfter(closed.plus(RETRY_WITH_JITTER).plus(SCHEDULING_MARGIN)),
          "acquired " + acquired + ", closed " + closed);
      // Without the release b would have had to wait for the lease to run out.
      assertTrue(acquired.isBefore(lastRenewByA.plus(longLease)), "acquired " + acquired + ", last renewal "
          + lastRenewByA);
      Grant g3 = Fixtures.grant("reap-c", "jit-debug", clock.instant(), Duration.ofSeconds(2));
      p.provision(g3);
      await("new leader reaps", Duration.ofSeconds(30), () -> !bindingExists(cp, g3, "jit-debug"));
      await("new leader event", Duration.ofSeconds(5), () -> eventsFor(sinkB, g3).size() == 1);
      assertEquals(List.of(), eventsFor(sinkA, g3));
    } finally {
      a.close();
      b.close();
    }
  }

  /**
   * A leader that crashes (SIGKILL: no release, no goodbye) is replaced once its Lease expires.
   * The follower counts the lease from when it observed the last renewal (client-java, like
   * client-go), so, measured between the instants the Lease itself records, the takeover comes no
   * earlier than the lease duration after the last renewal, and no later than that plus two retry
   * periods (the follower's read of the renewal trails it by up to one, its first attempt after the
   * expiry by up to one more), plus {@link #SCHEDULING_MARGIN}.
   */
  @Test
  void aFollowerTakesOverFromACrashedLeaderWithinTheLease(KubeControlPlane cp, @TempDir Path dir) throws Exception {
    String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Path stderr = dir.resolve("leader.stderr");
    Process leader = new ProcessBuilder(javaBin, "-cp", System.getProperty("java.class.path"),
        ReaperProcess.class.getName(), cp.adminKubeconfig().toString(), "reaper-crashing", "lease-crash",
        Long.toString(LEASE.toMillis()), Long.toString(RENEW.toMillis()), Long.toString(RETRY.toMillis()))
        .redirectError(stderr.toFile()).start();
    ExpiryReaper follower = reaper(cp, "reaper-follower", "lease-crash", AuditSink.inMemory(), Clock.systemUTC());
    try {
      String first = firstLine(leader, Duration.ofSeconds(60), stderr);
      assertEquals("LEADER", first, "the child reaper should lead first; its stderr:\n" + read(stderr));
      follower.start();
      long attempts = follower.electionAttempts();
      await("the follower to try three times", Duration.ofSeconds(20), () -> follower.electionAttempts() >= attempts + 3);
      assertFalse(follower.isLeader(), "a live leader keeps its Lease");
      assertTrue(leader.isAlive(), "the child died early; its stderr:\n" + read(stderr));
      assertEquals("reaper-crashing", lease(cp, "lease-crash").getHolderIdentity());

      leader.toHandle().destroyForcibly();
      assertTrue(leader.waitFor(10, TimeUnit.SECONDS), "the child did not die; its stderr:\n" + read(stderr));
      assertEquals(137, leader.exitValue(), "killed with SIGKILL");
      V1LeaseSpec held = lease(cp, "lease-crash");
      assertEquals("reaper-crashing", held.getHolderIdentity(), "a crashed leader cannot release its Lease");
      Instant lastRenewal = held.getRenewTime().toInstant();

      await("follower takes over", Duration.ofSeconds(30), follower::isLeader);
      V1LeaseSpec taken = lease(cp, "lease-crash");
      assertEquals("reaper-follower", taken.getHolderIdentity());
      Instant acquired = taken.getAcquireTime().toInstant();
      Duration gap = Duration.between(lastRenewal, acquired);
      System.out.println("Takeover after SIGKILL of the leader: " + gap.toMillis() + " ms after its last renewal"
          + " (lease duration " + LEASE.toMillis() + " ms, retry period " + RETRY.toMillis() + " ms)");
      assertTrue(gap.compareTo(LEASE) >= 0, "the follower took over " + gap + " after the last renewal, before the"
          + " lease of " + LEASE + " ran out");
      Duration bound = LEASE.plus(RETRY_WITH_JITTER.multipliedBy(2)).plus(SCHEDULING_MARGIN);
      assertTrue(gap.compareTo(bound) <= 0, "takeover took " + gap + " after the last renewal; bound " + bound);
    } finally {
      leader.destroyForcibly();
      leader.waitFor(10, TimeUnit.SECONDS);
      follower.close();
    }
  }

  /** The child's first stdout line, with a deadline; on failure the message carries its stderr. */
  private static String firstLine(Process p, Duration timeout, Path stderr) throws Exception {
    CompletableFuture<String> line = new CompletableFuture<>();
    Thread t = new Thread(() -> {
      try {
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        line.complete(r.readLine());
      } catch (IOException e) {
        line.completeExceptionally(e);
      }
    }, "reaper-child-stdout");
    t.setDaemon(true);
    t.start();
    try {
      return line.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new AssertionError("the child reaper printed nothing within " + timeout + " (alive=" + p.isAlive()
          + "); its stderr:\n" + read(stderr), e);
    }
  }

  private static String read(Path file) {
    try {
      String s = Files.readString(file, StandardCharsets.UTF_8);
      return s.length() <= 6000 ? s : "..." + s.substring(s.length() - 6000);
    } catch (IOException e) {
      return "<cannot read " + file + ": " + e + ">";
    }
  }
}
