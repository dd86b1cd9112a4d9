package dev.kubejit.store.kubernetes;

import dev.kubejit.testing.Kubectl;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import dev.kubejit.api.EndCause;
import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What the Kubernetes store adds to the contract, against the real API server: the CRD's schema
 * rejects malformed objects, kubectl shows the printer columns, a replace cannot change the
 * request, a second replica finds a grant before its cache has seen it, an object that was only
 * created (status never written) is a complete record, an object edited into an invalid record is
 * refused on read, and missing permissions are typed errors that name the Role.
 */
@KubeTest
class KubernetesRequestStoreKubeTest {
  private static RequestRecord activated(RequestRecord r) {
    Grant g = Grant.builder().id(GrantId.random()).requestId(r.id()).holder(r.request().requester())
        .role(r.request().role()).action(r.request().action()).scope(r.request().scope())
        .window(Records.T0, Records.T0.plus(Duration.ofMinutes(30))).build();
    return r.toBuilder().state(RequestState.APPROVED).version(r.version() + 1).build().toBuilder()
        .state(RequestState.ACTIVE).grant(g).version(r.version() + 2).build();
  }

  @Test
  void theApiServerRejectsMalformedObjects(KubeControlPlane cp) throws Exception {
    String ns = StoreCluster.namespaceWithRole(cp, "schema");
    RequestRecord r = Records.minimal();
    JsonObject good = new JsonObject();
    good.addProperty("apiVersion", "kubejit.dev/v1alpha1");
    good.addProperty("kind", "AccessRequest");
    JsonObject meta = new JsonObject();
    meta.addProperty("name", r.id().value());
    good.add("metadata", meta);
    good.add("spec", Codec.spec(r));

    JsonObject noRole = good.deepCopy();
    noRole.getAsJsonObject("spec").remove("role");
    JsonObject badState = good.deepCopy();
    badState.getAsJsonObject("spec").getAsJsonObject("initial").addProperty("state", "GRANTED");
    JsonObject badTime = good.deepCopy();
    badTime.getAsJsonObject("spec").addProperty("createdAt", "yesterday");
    JsonObject badName = good.deepCopy();
    badName.getAsJsonObject("metadata").addProperty("name", "not-a-request-id");
    for (JsonObject bad : List.of(noRole, badState, badTime, badName)) {
      // --validate=false: kubectl's own check would stop it first; the API server's schema is tested.
      Kubectl.Result res =
          Kubectl.run(cp.adminKubeconfig(), bad.toString(), "-n", ns, "create", "--validate=false", "-f", "-");
      assertNotEquals(0, res.exit(), "accepted: " + bad);
      assertTrue(res.output().contains("Invalid") || res.output().contains("invalid"), res.output());
    }
    Kubectl.run(cp.adminKubeconfig(), good.toString(), "-n", ns, "create", "-f", "-").ok();

    // Created with kubectl, status never written (as after a crash right after the POST): a whole record.
    try (KubernetesRequestStore store = StoreCluster.store(cp, ns)) {
      assertEquals(r, store.find(r.id()).orElseThrow());
      assertEquals(List.of(r), store.list(EnumSet.of(RequestState.PENDING_APPROVAL)));
      RequestRecord next = activated(r);
      assertTrue(store.replace(r, next));
      assertEquals(next, store.find(r.id()).orElseThrow());
    }
  }

  @Test
  void kubectlShowsRequesterRoleTargetStateAndExpiry(KubeControlPlane cp) throws Exception {
    String ns = StoreCluster.namespaceWithRole(cp, "columns");
    RequestRecord r = Records.minimal();
    RequestRecord full = Records.full();
    try (KubernetesRequestStore store = StoreCluster.store(cp, ns)) {
      store.insert(r);
      store.insert(full.toBuilder().state(RequestState.PENDING_APPROVAL).grant(null).ended(null, null, null, null)
          .version(1).build());
    }
    // The status (and so the STATE column) is written in the background right after the insert.
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    String out;
    String row;
    do {
      out = Kubectl.run(cp.adminKubeconfig(), null, "-n", ns, "get", "accessrequests").ok().output();
      row = out.lines().filter(l -> l.startsWith(full.id().value())).findFirst().orElseThrow();
      if (row.contains("PENDING_APPROVAL")) {
        break;
      }
      Thread.sleep(50);
    } while (System.nanoTime() < deadline);
    String header = out.lines().findFirst().orElseThrow();
    for (String column : List.of("NAME", "REQUESTER", "ROLE", "TARGET-NAMESPACE", "STATE", "EXPIRES")) {
      assertTrue(header.contains(column), header);
    }
    assertTrue(row.matches(".*alice\\s+oncall-debug\\s+payments\\s+PENDING_APPROVAL\\s+.*"), row);
    assertTrue(Kubectl.run(cp.adminKubeconfig(), null, "-n", ns, "get", "jitreq").ok().output()
        .contains(r.id().value()), "short name");
  }

  @Test
  void replaceRefusesToChangeTheRequestAndKeepsTheStoredOne(KubeControlPlane cp) throws Exception {
    String ns = StoreCluster.namespaceWithRole(cp, "immutable");
    try (KubernetesRequestStore store = StoreCluster.store(cp, ns)) {
      RequestRecord r = Records.minimal();
      store.insert(r);
      RequestRecord otherRole = r.toBuilder().request(r.request().toBuilder().role("admin").build())
          .version(2).build();
      assertThrows(IllegalArgumentException.class, () -> store.replace(r, otherRole));
      RequestRecord otherWindow = r.toBuilder().window(r.createdAt(), r.expiresAt().plusSeconds(3600)).version(2)
          .build();
      assertThrows(IllegalArgumentException.class, () -> store.replace(r, otherWindow));
      assertThrows(IllegalArgumentException.class, () -> store.replace(r, r), "the version must increase");
      assertEquals(r, store.find(r.id()).orElseThrow());
    }
  }

  @Test
  void aSecondReplicaFindsTheGrantAndSeesTheWritesOfTheFirst(KubeControlPlane cp) throws Exception {
    String ns = StoreCluster.namespaceWithRole(cp, "replicas");
    try (KubernetesRequestStore a = StoreCluster.store(cp, ns); KubernetesRequestStore b = StoreCluster.store(cp, ns)) {
      RequestRecord r = Records.minimal();
      a.insert(r);
      RequestRecord active = activated(r);
      assertTrue(a.replace(r, active));
      GrantId grant = active.grant().orElseThrow().id();
      // b's cache may not have seen the activation yet: the label finds it, the record is read fresh.
      assertEquals(active, b.findByGrant(grant).orElseThrow());
      assertEquals(active, b.find(r.id()).orElseThrow());
      RequestRecord revoked = active.toBuilder().state(RequestState.REVOKED)
          .ended(EndCause.REVOKED, Records.T0, null, "done").version(active.version() + 1).build();
      assertTrue(b.replace(active, revoked));
      assertFalse(a.replace(active, revoked.toBuilder().ended(EndCause.REVOKED, Records.T0, null, "stale").build()), "a stale replica loses");
      assertEquals(revoked, a.findByGrant(grant).orElseThrow(), "findByGrant never answers from a stale cache");
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (a.list(EnumSet.of(RequestState.REVOKED)).isEmpty()) {
        assertTrue(System.nanoTime() < deadline, "a's cache never saw b's write");
        Thread.sleep(20);
      }
      assertEquals(List.of(revoked), a.list(EnumSet.of(RequestState.REVOKED)));
      assertTrue(a.list(EnumSet.of(RequestState.ACTIVE)).isEmpty());
    }
  }

  @Test
  void anObjectEditedIntoAnInvalidRecordIsRefusedOnRead(KubeControlPlane cp) throws Exception {
    String ns = StoreCluster.namespaceWithRole(cp, "tampered");
    try (KubernetesRequestStore store = StoreCluster.store(cp, ns)) {
      RequestRecord r = Records.minimal();
      store.insert(r);
      // Schema-valid, but an ACTIVE record without a grant is not a record.
      JsonObject patch = new JsonObject();
      JsonObject status = Codec.lifecycle(r);
      status.addProperty("state", "ACTIVE");
      status.addProperty("version", 9);
      patch.add("status", status);
      Kubectl.run(cp.adminKubeconfig(), null, "-n", ns, "patch", "accessrequest", r.id().value(),
          "--subresource=status", "--type=merge", "-p", patch.toString()).ok();
      KubernetesStoreException e = assertThrows(KubernetesStoreException.class, () -> store.find(r.id()));
      assertTrue(e.getMessage().contains(r.id().value()) && e.getMessage().contains("grant"), e.getMessage());
      assertThrows(KubernetesStoreException.class, () -> store.replace(r, activated(r)));
    }
  }

  @Test
  void missingPermissionsAreTypedErrorsThatNameTheRole(KubeControlPlane cp) throws Exception {
    StoreCluster.installCrd(cp);
    String bare = StoreCluster.namespace(cp, "norole");
    KubernetesStoreException e = assertThrows(KubernetesStoreException.class,
        () -> KubernetesRequestStore.builder().clientJavaApiClient(cp.clientFor(StoreCluster.BROKER_USER))
            .namespace(bare).startTimeout(Duration.ofSeconds(5)).build());
    assertEquals(403, e.httpStatus());
    assertTrue(e.getMessage().contains(KubernetesRequestStore.ROLE_RESOURCE), e.getMessage());

    // The shipped Role without "update" on the status subresource: reads work, transitions do not.
    String ns = StoreCluster.namespace(cp, "noupdate");
    String role = KubernetesRequestStore.roleYaml().replace("resources: [accessrequests/status]\n    verbs: [update]",
        "resources: [accessrequests/status]\n    verbs: [get]");
    assertNotEquals(KubernetesRequestStore.roleYaml(), role);
    Kubectl.run(cp.adminKubeconfig(), role, "-n", ns, "apply", "-f", "-").ok();
    Kubectl.run(cp.adminKubeconfig(), null, "-n", ns, "create", "rolebinding", "store", "--role=kubejit-broker-store",
        "--user=" + StoreCluster.BROKER_USER).ok();
    try (KubernetesRequestStore store = StoreCluster.store(cp, ns)) {
      RequestRecord r = Records.minimal();
      store.insert(r);
      assertEquals(r, store.find(r.id()).orElseThrow());
      KubernetesStoreException denied = assertThrows(KubernetesStoreException.class,
          () -> store.replace(r, activated(r)));
      assertEquals(403, denied.httpStatus());
      assertEquals(r, store.find(r.id()).orElseThrow());
    }
  }

  @Test
  void builderRefusesMisuse() {
    assertThrows(IllegalStateException.class, () -> KubernetesRequestStore.builder().namespace("a").build());
    assertThrows(IllegalStateException.class,
        () -> KubernetesRequestStore.builder().kubeconfig(Path.of("x")).build(), "namespace is required");
    assertThrows(IllegalStateException.class,
        () -> KubernetesRequestStore.builder().kubeconfig(Path.of("x")).kubeconfig(Path.of("y")));
    assertThrows(IllegalStateException.class, () -> KubernetesRequestStore.builder().namespace("a").namespace("b"));
    assertThrows(IllegalArgumentException.class, () -> KubernetesRequestStore.builder().namespace("Not_A_Name"));
    assertThrows(IllegalArgumentException.class, () -> KubernetesRequestStore.builder().cacheLagLimit(Duration.ZERO));
    KubernetesStoreException e = assertThrows(KubernetesStoreException.class,
        () -> KubernetesRequestStore.builder().kubeconfig(Path.of("/nonexistent/kubeconfig")).namespace("a").build());
    assertTrue(e.getMessage().contains("/nonexistent/kubeconfig"), e.getMessage());
  }
}
