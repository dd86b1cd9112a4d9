package dev.kubejit.server;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import dev.kubejit.testing.Kubectl;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoordinationV1Api;
import io.kubernetes.client.openapi.apis.RbacAuthorizationV1Api;
import io.kubernetes.client.openapi.models.V1LeaseSpec;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fault: the replica that leads both expiry loops — the broker's sweep ({@code LeaderElectedExpiry},
 * Lease {@code kubejit-broker-expiry} in the store's namespace) and the cluster's binding reaper
 * ({@code ExpiryReaper}, Lease {@code default/kubejit-expiry-reaper}) — is a {@code kubejit serve}
 * in a child JVM, SIGKILLed while a grant is live: no release, no goodbye. The other replica (this
 * JVM, same Kubernetes store and cluster) takes both Leases over once they lapse and ends the grant
 * and its RoleBinding. The bound is the one docs/rbac.md gives for a crashed leader: the takeover
 * comes at least the lease duration and at most that plus two retry periods after the last renewal
 * (measured between the instants the Lease records), plus the same 3 s scheduling margin as
 * jit-rbac's ExpiryReaperKubeTest.
 */
@KubeTest
class LeaderFailoverKubeTest {
  /** The service's Lease settings: LeaderElectedExpiry's and ExpiryReaper's defaults. */
  private static final Duration LEASE = Duration.ofSeconds(15);
  private static final Duration RETRY_WITH_JITTER = Duration.ofMillis(2_000 * 12 / 10);
  private static final Duration SCHEDULING_MARGIN = Duration.ofSeconds(3);
  private static final Duration BOUND = LEASE.plus(RETRY_WITH_JITTER.multipliedBy(2)).plus(SCHEDULING_MARGIN);

  @TempDir Path leaderDir;
  @TempDir Path survivorDir;

  static Path deploy(String file) {
    String root = System.getProperty("kubejit.projectRoot");
    return (root == null ? Path.of("..") : Path.of(root)).resolve("deploy").resolve(file).toAbsolutePath().normalize();
  }

  @Test
  void theSurvivorTakesOverBothExpiryLoopsFromASigkilledLeader(KubeControlPlane cp) throws Exception {
    Kubectl.run(cp.adminKubeconfig(), null, "apply", "-f", deploy("crd-accessrequests.yaml").toString()).ok();
    Kubectl.run(cp.adminKubeconfig(), null, "wait", "--for=condition=Established", "--timeout=60s",
        "crd/accessrequests.kubejit.dev").ok();
    String ns = "failover-" + UUID.randomUUID().toString().substring(0, 8);
    Kubectl.run(cp.adminKubeconfig(), null, "create", "namespace", ns).ok();
    cp.ensureNamespace("payments");
    String store = "store:\n  kubernetes:\n    namespace: " + ns + "\n    kubeconfig: " + cp.adminKubeconfig() + "\n";
    String clusters = "clusters:\n  prod:\n    kubeconfig: " + cp.adminKubeconfig() + "\n";
    CoordinationV1Api leases = new CoordinationV1Api(cp.adminClient());
    RbacAuthorizationV1Api rbac = new RbacAuthorizationV1Api(cp.adminClient());

    TestBroker.prepare(leaderDir);
    Path config = TestBroker.writeConfig(leaderDir, "authentication:\n  devHeader:\n    header: X-KubeJIT-User\n",
        clusters, store, TestBroker.freePort());
    Path stderr = leaderDir.resolve("leader.stderr");
    String cp0 = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    Process leader = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", cp0,
        ServeMain.class.getName(), config.toString()).redirectError(stderr.toFile()).start();
    TestBroker survivor = null;
    try {
      String ready = firstLine(leader, Duration.ofSeconds(120), stderr);
      assertTrue(ready.startsWith("READY "), ready + "\n" + Files.readString(stderr));
      String sweeper = await("the child leads the broker's sweep", Duration.ofSeconds(60),
          () -> holder(leases, ns, "kubejit-broker-expiry"));
      String reaper = await("the child leads the cluster's reaper", Duration.ofSeconds(60),
          () -> holder(leases, "default", "kubejit-expiry-reaper"));
      assertEquals(sweeper, reaper, "one replica, one identity");

      survivor = TestBroker.replica(survivorDir, store, clusters, Clock.systemUTC());
      String alice = "alice;oncall-payments";
      String body = TestBroker.json("role", "oncall-debug", "action", "exec", "cluster", "prod", "namespace", "payments",
          "duration", "PT10S", "ticket", "INC-22", "reason", "failover");
      String id = survivor.post("/api/v1/requests", alice, body).expect(201).json.path("id").asText();
      survivor.post("/api/v1/requests/" + id + "/approve", "carol;sre-leads", "").expect(200);
      JsonNode act = survivor.post("/api/v1/requests/" + id + "/activate", alice,
          TestBroker.json("csr", TestBroker.csr("alice"))).expect(200).json;
      String group = act.path("grant").path("group").asText();
      Instant expiresAt = Instant.parse(act.path("grant").path("expiresAt").asText());
      assertTrue(bindingExists(rbac, group), "the grant's RoleBinding exists");
      assertEquals(sweeper, holder(leases, ns, "kubejit-broker-expiry"), "the child still leads");

      leader.toHandle().destroyForcibly();
      assertTrue(leader.waitFor(10, TimeUnit.SECONDS), "the child did not die");
      Instant killed = Instant.now();
      assertEquals(137, leader.exitValue(), "killed with SIGKILL");
      // The child sweeps every 5 s: the grant must still be live when it dies, so that only the survivor can end it.
      assertTrue(killed.isBefore(expiresAt), "the child was killed at " + killed + ", after the grant was due at "
          + expiresAt + " (the machine is too slow for this test's 10 s grant)");
      assertEquals("ACTIVE", survivor.get("/api/v1/requests/" + id, alice).expect(200).json.path("state").asText());
      V1LeaseSpec sweepHeld = lease(leases, ns, "kubejit-broker-expiry");
      V1LeaseSpec reapHeld = lease(leases, "default", "kubejit-expiry-reaper");
      assertEquals(sweeper, sweepHeld.getHolderIdentity(), "a killed leader cannot release its Lease");
      assertEquals(sweeper, reapHeld.getHolderIdentity(), "a killed leader cannot release its Lease");

      TestBroker s = survivor;
      String newSweeper = await("the survivor takes the sweep over", Duration.ofSeconds(60), () -> {
        String h = holder(leases, ns, "kubejit-broker-expiry");
        return h != null && !h.equals(sweeper) ? h : null;
      });
      String newReaper = await("the survivor takes the reaper over", Duration.ofSeconds(60), () -> {
        String h = holder(leases, "default", "kubejit-expiry-reaper");
        return h != null && !h.equals(sweeper) ? h : null;
      });
      assertEquals(newSweeper, newReaper);
      JsonNode ended = awaitNode("the grant ends", Duration.ofSeconds(60), () -> {
        JsonNode r = s.get("/api/v1/requests/" + id, alice).expect(200).json;
        return r.path("state").asText().equals("ACTIVE") ? null : r;
      });
      awaitTrue("the RoleBinding is gone", Duration.ofSeconds(30), () -> !bindingExists(rbac, group));
      Instant bindingGone = Instant.now();

      Instant sweepTaken = lease(leases, ns, "kubejit-broker-expiry").getAcquireTime().toInstant();
      Duration sweepGap = Duration.between(sweepHeld.getRenewTime().toInstant(), sweepTaken);
      Duration reapGap = Duration.between(reapHeld.getRenewTime().toInstant(),
          lease(leases, "default", "kubejit-expiry-reaper").getAcquireTime().toInstant());
      Instant endedAt = Instant.parse(ended.path("ended").path("at").asText());
      Instant due = expiresAt.isAfter(killed) ? expiresAt : killed;
      System.out.println("MEASURED leader failover (SIGKILL of the leading replica): broker sweep Lease taken over "
          + sweepGap.toMillis() + " ms after its last renewal, reaper Lease " + reapGap.toMillis()
          + " ms (lease 15 s, retry 2 s; bound " + BOUND.toMillis() + " ms); the grant, due "
          + Duration.between(killed, expiresAt).toMillis() + " ms after the kill, ended "
          + Duration.between(due, endedAt).toMillis() + " ms after max(kill, due) as "
          + ended.path("ended").path("cause").asText() + ", its RoleBinding seen gone "
          + Duration.between(due, bindingGone).toMillis() + " ms after it");
      assertEquals("EXPIRED", ended.path("state").asText(), ended.toString());
      for (Duration gap : List.of(sweepGap, reapGap)) {
        assertTrue(gap.compareTo(LEASE) >= 0, "taken over " + gap + " after the last renewal, before the lease ran out");
        assertTrue(gap.compareTo(BOUND) <= 0, "taken over " + gap + " after the last renewal; bound " + BOUND);
      }
      assertFalse(endedAt.isBefore(expiresAt), "not expired early");
      // The new leader reconciles at once, and sweeps every 5 s after that.
      Instant latest = (sweepTaken.isAfter(expiresAt) ? sweepTaken : expiresAt).plus(Duration.ofSeconds(5)).plus(SCHEDULING_MARGIN);
      assertFalse(endedAt.isAfter(latest), "the grant ended " + endedAt + ", after " + latest);
      assertNotEquals(sweeper, newSweeper);
    } finally {
      leader.destroyForcibly();
      leader.waitFor(10, TimeUnit.SECONDS);
      if (survivor != null) {
        survivor.close();
      }
      for (var rb : rbac.listNamespacedRoleBinding("payments").labelSelector("kubejit.dev/grant-id").execute().getItems()) {
        rbac.deleteNamespacedRoleBinding(rb.getMetadata().getName(), "payments").execute();
      }
      for (var r : rbac.listNamespacedRole("payments").labelSelector("kubejit.dev/grant-id").execute().getItems()) {
        rbac.deleteNamespacedRole(r.getMetadata().getName(), "payments").execute();
      }
    }
  }

  private static boolean bindingExists(RbacAuthorizationV1Api rbac, String group) throws ApiException {
    return rbac.listNamespacedRoleBinding("payments").execute().getItems().stream().anyMatch(rb ->
        rb.getSubjects() != null && rb.getSubjects().stream().anyMatch(s -> group.equals(s.getName())));
  }

  private static V1LeaseSpec lease(CoordinationV1Api leases, String ns, String name) throws ApiException {
    return leases.readNamespacedLease(name, ns).execute().getSpec();
  }

  private static String holder(CoordinationV1Api leases, String ns, String name) {
    try {
      String h = lease(leases, ns, name).getHolderIdentity();
      return h == null || h.isEmpty() ? null : h;
    } catch (ApiException e) {
      return null;
    }
  }

  @FunctionalInterface
  interface Probe<T> {
    T get() throws Exception;
  }

  private static <T> T await(String what, Duration timeout, Probe<T> probe) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      T v = probe.get();
      if (v != null) {
        return v;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout + " waiting until " + what);
      }
      Thread.sleep(100);
    }
  }

  private static JsonNode awaitNode(String what, Duration timeout, Probe<JsonNode> probe) throws Exception {
    return await(what, timeout, probe);
  }

  private static void awaitTrue(String what, Duration timeout, Probe<Boolean> probe) throws Exception {
    await(what, timeout, () -> probe.get() ? Boolean.TRUE : null);
  }

  /** Waits for the child's READY line; its stdout is drained to the end on a daemon thread. */
  private static String firstLine(Process p, Duration timeout, Path stderr) throws Exception {
    CompletableFuture<String> ready = new CompletableFuture<>();
    Thread t = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), UTF_8))) {
        for (String l = r.readLine(); l != null; l = r.readLine()) {
          if (l.startsWith("READY ")) {
            ready.complete(l);
          }
        }
        ready.complete("EOF");
      } catch (Exception e) {
        ready.completeExceptionally(e);
      }
    }, "serve-child-stdout");
    t.setDaemon(true);
    t.start();
    try {
      return ready.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new AssertionError("the child was not ready within " + timeout + "; its stderr:\n"
          + Files.readString(stderr), e);
    }
  }
}
