package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.Grant;
import dev.kubejit.api.Identity;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.Scope;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.InMemoryAuditSink;
import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.policy.PolicyEngine;
import dev.kubejit.policy.PolicyFormat;
import dev.kubejit.policy.PolicyLoader;
import dev.kubejit.rbac.ExpiryReaper;
import dev.kubejit.rbac.KubernetesRbacProvisioner;
import dev.kubejit.store.kubernetes.KubernetesRequestStore;
import dev.kubejit.testing.FakeClock;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.Kubectl;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.RbacAuthorizationV1Api;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.EnumSet;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * etcd stopped and started again (same data directory) under a control plane of the test's own,
 * while grants are live: the Kubernetes request store's informer and the RBAC expiry reaper's
 * informers re-establish their watches by themselves. Proof: a grant activated after the restart
 * through another store instance (another replica) reaches this store's cache, whose lists read
 * only the cache; the reaper deletes the bindings of both grants, the one made before and the one
 * made after the restart, when they expire afterwards (fake clock); the broker's sweep then
 * records both expired.
 */
@Tag("kube")
class EtcdRestartFaultTest {
  private static final Identity ALICE = Identity.of("alice", List.of("oncall-payments")).assertedBy("fault-test");
  private static final Duration WAIT = Duration.ofSeconds(120);

  @TempDir Path dir;

  private static JitBroker broker(FakeClock clock, RequestStore store, KubeControlPlane cp) throws Exception {
    byte[] policy;
    try (InputStream in = EtcdRestartFaultTest.class.getResourceAsStream("/test-policy.json")) {
      policy = in.readAllBytes();
    }
    return JitBroker.builder().clock(clock)
        .policy(PolicyEngine.of(PolicyLoader.parse(policy, PolicyFormat.JSON, "test-policy.json", "t")))
        .store(store).auditSink(AuditSink.inMemory())
        .rbacProvisioner(KubernetesRbacProvisioner.builder(cp.adminClient()).maxGrantDuration(Duration.ofHours(1)).clock(clock).build())
        .build();
  }

  private static Grant activateLogs(JitBroker broker) {
    RequestRecord r = broker.submit(AccessRequest.builder().requester(ALICE).role("oncall-debug").action(Action.LOGS)
        .scope(Scope.namespace("prod", "payments")).duration(Duration.ofMinutes(30)).ticket("INC-22")
        .justification("etcd restart").build());
    return broker.activate(r.id(), ALICE).grant();
  }

  private static int bindingsOf(RbacAuthorizationV1Api rbac, Grant g) throws ApiException {
    return rbac.listNamespacedRoleBinding("payments")
        .labelSelector("app.kubernetes.io/managed-by=kubejit,kubejit.dev/grant-id=" + g.id().value()).execute()
        .getItems().size();
  }

  private static long await(String what, BooleanSupplier condition) throws InterruptedException {
    long t0 = System.nanoTime();
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() - t0 < WAIT.toNanos(), what + " did not happen within " + WAIT);
      Thread.sleep(100);
    }
    return Duration.ofNanos(System.nanoTime() - t0).toMillis();
  }

  private static boolean listed(RequestStore store, RequestId id, RequestState state) {
    return store.list(EnumSet.of(state)).stream().anyMatch(r -> r.id().equals(id));
  }

  @Test
  void theStoreAndTheReaperResumeTheirWatchesAndRemoveBindingsThatExpireAfterTheRestart() throws Exception {
    try (KubeControlPlane cp = KubeControlPlane.start()) {
      Path crd = Files.writeString(dir.resolve("crd.yaml"), KubernetesRequestStore.crdYaml());
      Kubectl.run(cp.adminKubeconfig(), null, "apply", "-f", crd.toString()).ok();
      Kubectl.run(cp.adminKubeconfig(), null, "wait", "--for=condition=Established", "--timeout=60s",
          "crd/accessrequests.kubejit.dev").ok();
      Kubectl.run(cp.adminKubeconfig(), null, "create", "namespace", "payments").ok();
      Kubectl.run(cp.adminKubeconfig(), null, "create", "namespace", "kubejit").ok();
      RbacAuthorizationV1Api rbac = new RbacAuthorizationV1Api(cp.adminClient());
      FakeClock clock = new FakeClock(Instant.now().truncatedTo(ChronoUnit.SECONDS));
      InMemoryAuditSink reaperAudit = AuditSink.inMemory();
      try (KubernetesRequestStore watching = KubernetesRequestStore.builder().clientJavaApiClient(cp.adminClient())
              .namespace("kubejit").build();
          KubernetesRequestStore otherReplica = KubernetesRequestStore.builder()
              .clientJavaApiClient(cp.adminClient()).namespace("kubejit").build();
          ExpiryReaper reaper = ExpiryReaper.builder(cp.adminClient()).auditSink(reaperAudit).clock(clock)
              .clusterName("prod").identity("fault-reaper").build()) {
        reaper.start();
        JitBroker here = broker(clock, watching, cp);
        JitBroker there = broker(clock, otherReplica, cp);
        Grant before = activateLogs(here);
        assertEquals(1, bindingsOf(rbac, before));
        await("the reaper taking the lease", reaper::isLeader);

        long t0 = System.nanoTime();
        cp.restartEtcd(Duration.ofSeconds(3));
        System.out.println("MEASURED etcd down 3 s, stop to API server ready again: "
            + Duration.ofNanos(System.nanoTime() - t0).toMillis() + " ms");

        Grant after = activateLogs(there);
        assertEquals(1, bindingsOf(rbac, after));
        long seen = await("a grant activated by another replica after the restart reaching this store's cache",
            () -> listed(watching, after.requestId(), RequestState.ACTIVE));
        System.out.println("MEASURED after the etcd restart, another replica's activation visible in this store's"
            + " watched cache after " + seen + " ms");

        clock.advance(Duration.ofMinutes(31));
        long reaped = await("the reaper deleting both expired bindings", () -> {
          try {
            return bindingsOf(rbac, before) == 0 && bindingsOf(rbac, after) == 0;
          } catch (ApiException e) {
            return false;
          }
        });
        System.out.println("MEASURED after the etcd restart, both expired bindings deleted by the reaper "
            + reaped + " ms after the (fake) clock passed their expiry (tick 1 s)");
        // The reaper deletes a binding, then its Role, and writes the event after that: wait for it.
        await("the reaper recording both expiries",
            () -> reaperAudit.events(dev.kubejit.api.AuditEventType.GRANT_EXPIRED).size() >= 2);
        assertEquals(2, reaperAudit.events(dev.kubejit.api.AuditEventType.GRANT_EXPIRED).size(),
            reaperAudit.events().toString());

        assertEquals(2, here.expireDue(), "the sweep reads both from the watched cache");
        for (Grant g : List.of(before, after)) {
          assertEquals(RequestState.EXPIRED, watching.find(g.requestId()).orElseThrow().state());
        }
        await("the other replica seeing both expired", () -> listed(otherReplica, before.requestId(),
            RequestState.EXPIRED) && listed(otherReplica, after.requestId(), RequestState.EXPIRED));
      }
    }
  }
}
