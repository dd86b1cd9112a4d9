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
import io.kubernetes.client.openapi.apis.RbacAuthorizationV1Api;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

@KubeTest
class ExpiryReaperKubeTest {
  private static final Duration LEASE = Duration.ofSeconds(4);
  private static final Duration RENEW = Duration.ofSeconds(3);
  private static final Duration RETRY = Duration.ofSeconds(1);

  static void await(String what, Duration timeout, BooleanSupplier cond) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(50);
    }
  }

  static List<AuditEvent> eventsFor(InMemoryAuditSink sink, Grant g) {
    return sink.events().stream().filter(e -> e.grantId().map(g.id()::equals).orElse(false))
        .collect(Collectors.toList());
  }

  private static boolean bindingExists(KubeControlPlane cp, Grant g, String template) {
    try {
      new RbacAuthorizationV1Api(cp.adminClient())
          .readNamespacedRoleBinding("kubejit-" + template + "-" + g.id().value(), g.scope().namespace().get())
          .execute();
      return true;
    } catch (ApiException e) {
      if (e.getCode() == 404) {
        return false;
      }
      throw new IllegalStateException(e);
    }
  }

  private static ExpiryReaper reaper(KubeControlPlane cp, String id, String lease, AuditSink sink,
      java.time.Clock clock) {
    return ExpiryReaper.builder(cp.adminClient()).auditSink(sink).clock(clock).clusterName("test")
        .identity(id).lease("default", lease).leaderElection(LEASE, RENEW, RETRY).tick(Duration.ofMillis(200))
        .build();
  }

  private static KubernetesRbacProvisioner provisioner(KubeControlPlane cp, java.time.Clock clock) {
    return KubernetesRbacProvisioner.builder(cp.adminClient()).maxGrantDuration(Duration.ofHours(8)).clock(clock)
        .build();
  }

  @Test
  void shortTtlIsReapedAndAccessTurnsDenied(KubeControlPlane cp) throws Exception {
    KubernetesRbacProvisionerKubeTest.namespace(cp.adminClient(), "reap-a");
    java.time.Clock clock = java.time.Clock.systemUTC();
    Grant g = Fixtures.grant("reap-a", "jit-debug", clock.instant(), Duration.ofSeconds(4));
    provisioner(cp, clock).provision(g);
    assertTrue(KubernetesRbacProvisionerKubeTest.can(cp, g, "create", "pods", "exec", "reap-a"));
    InMemoryAuditSink sink = AuditSink.inMemory();
    try (ExpiryReaper r = reaper(cp, "reaper-ttl", "lease-ttl", sink, clock)) {
      r.start();
      await("reaper deletes the binding", Duration.ofSeconds(30), () -> !bindingExists(cp, g, "jit-debug"));
      Instant deletedAt = Instant.now();
      assertFalse(deletedAt.isBefore(g.expiresAt()), "deleted before expiry: " + deletedAt);
      await("SAR turns denied", Duration.ofSeconds(10),
          () -> !KubernetesRbacProvisionerKubeTest.can(cp, g, "create", "pods", "exec", "reap-a"));
      await("audit event", Duration.ofSeconds(5), () -> !eventsFor(sink, g).isEmpty());
      AuditEvent e = eventsFor(sink, g).get(0);
      assertEquals(AuditEventType.GRANT_EXPIRED, e.type());
      assertEquals("EXPIRED", e.attributes().get("cause"));
      assertEquals("reaper-ttl", e.attributes().get("reaper"));
      assertEquals(1, eventsFor(sink, g).size());
      assertThrows(ApiException.class, () -> new RbacAuthorizationV1Api(cp.adminClient())
          .readNamespacedRole("kubejit-jit-debug-" + g.id().value(), "reap-a").execute());
    }
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
    r1.close();
    clock.advance(Duration.ofMinutes(30)); // both g1 and g2 expire while no reaper runs
    assertTrue(bindingExists(cp, g1, "logs-reader"));
    assertTrue(bindingExists(cp, g2, "jit-debug"));

    InMemoryAuditSink second = AuditSink.inMemory();
    try (ExpiryReaper r2 = reaper(cp, "reaper-restart-2", "lease-restart", second, clock)) {
      r2.start(); // the first replica's lease must run out before this one leads
      await("reconciliation", Duration.ofSeconds(30),
          () -> !bindingExists(cp, g1, "logs-reader") && !bindingExists(cp, g2, "jit-debug"));
      await("audit events", Duration.ofSeconds(5),
          () -> eventsFor(second, g1).size() == 1 && eventsFor(second, g2).size() == 1);
      for (Grant g : List.of(g1, g2)) {
        AuditEvent e = eventsFor(second, g).get(0);
        assertEquals(AuditEventType.GRANT_RECONCILED, e.type());
        assertEquals("RECONCILED_AFTER_RESTART", e.attributes().get("cause"));
      }
      assertTrue(bindingExists(cp, live, "oncall-debug"), "an unexpired grant must stay");
      // Expiry boundary on the fake clock: 1 ns before expiry it stays, at expiry it goes.
      clock.set(live.expiresAt().minusNanos(1));
      Thread.sleep(1000);
      assertTrue(bindingExists(cp, live, "oncall-debug"), "reaped 1 ns before expiry");
      clock.set(live.expiresAt());
      await("reaped exactly at expiry", Duration.ofSeconds(10), () -> !bindingExists(cp, live, "oncall-debug"));
      await("audit event", Duration.ofSeconds(5), () -> eventsFor(second, live).size() == 1);
      assertEquals(AuditEventType.GRANT_EXPIRED, eventsFor(second, live).get(0).type());
    }
    assertEquals(List.of(), eventsFor(first, g1));
  }

  @Test
  void onlyTheLeaderDeletesAndAFollowerTakesOver(KubeControlPlane cp) throws Exception {
    KubernetesRbacProvisionerKubeTest.namespace(cp.adminClient(), "reap-c");
    java.time.Clock clock = java.time.Clock.systemUTC();
    InMemoryAuditSink sinkA = AuditSink.inMemory();
    InMemoryAuditSink sinkB = AuditSink.inMemory();
    ExpiryReaper a = reaper(cp, "reaper-a", "lease-ha", sinkA, clock);
    ExpiryReaper b = reaper(cp, "reaper-b", "lease-ha", sinkB, clock);
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
      assertFalse(b.isLeader());
      assertEquals(List.of(), eventsFor(sinkB, g1));
      assertEquals(List.of(), eventsFor(sinkB, g2));

      long t0 = System.nanoTime();
      a.close();
      await("b takes over", Duration.ofSeconds(30), b::isLeader);
      long takeoverMs = (System.nanoTime() - t0) / 1_000_000;
      System.out.println("Leader takeover after stopping the leader: " + takeoverMs + " ms (lease duration "
          + LEASE.toMillis() + " ms, retry period " + RETRY.toMillis() + " ms)");
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
   * A leader that crashes (SIGKILL: no Lease release, no goodbye) is replaced once its Lease
   * expires. The follower counts the lease from when it observed the last renewal (client-java,
   * like client-go), so the bound from the crash is the lease duration plus up to two retry
   * periods (the last renewal may precede the crash by one, the follower's next try follows the
   * expiry by one), plus scheduling slack.
   */
  @Test
  void aFollowerTakesOverFromACrashedLeaderWithinTheLease(KubeControlPlane cp) throws Exception {
    String javaBin = java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process leader = new ProcessBuilder(javaBin, "-cp", System.getProperty("java.class.path"),
        ReaperProcess.class.getName(), cp.adminKubeconfig().toString(), "reaper-crashing", "lease-crash",
        Long.toString(LEASE.toMillis()), Long.toString(RENEW.toMillis()), Long.toString(RETRY.toMillis()))
        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    ExpiryReaper follower = reaper(cp, "reaper-follower", "lease-crash", AuditSink.inMemory(),
        java.time.Clock.systemUTC());
    try (java.io.BufferedReader out = new java.io.BufferedReader(
        new java.io.InputStreamReader(leader.getInputStream(), java.nio.charset.StandardCharsets.UTF_8))) {
      assertEquals("LEADER", out.readLine(), "the child reaper should lead first");
      follower.start();
      Thread.sleep(2 * RETRY.toMillis());
      assertFalse(follower.isLeader(), "a live leader keeps its Lease");
      long t0 = System.nanoTime();
      leader.toHandle().destroyForcibly();
      assertTrue(leader.waitFor(10, java.util.concurrent.TimeUnit.SECONDS));
      assertEquals(137, leader.exitValue(), "killed with SIGKILL");
      await("follower takes over", Duration.ofSeconds(30), follower::isLeader);
      long takeoverMs = (System.nanoTime() - t0) / 1_000_000;
      System.out.println("Leader takeover after SIGKILL of the leader: " + takeoverMs + " ms (lease duration "
          + LEASE.toMillis() + " ms, retry period " + RETRY.toMillis() + " ms)");
      assertTrue(takeoverMs <= LEASE.plus(RETRY.multipliedBy(2)).plusSeconds(2).toMillis(),
          "takeover took " + takeoverMs + " ms; the bound is the lease duration plus two retry periods");
    } finally {
      leader.destroyForcibly();
      follower.close();
    }
  }
}
