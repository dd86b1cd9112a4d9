package dev.kubejit.store.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.audit.AuditKeys;
import dev.kubejit.audit.AuditVerifier;
import dev.kubejit.audit.VerificationResult;
import dev.kubejit.rbac.KubernetesRbacProvisioner;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.apis.RbacAuthorizationV1Api;
import io.kubernetes.client.openapi.models.V1Role;
import io.kubernetes.client.openapi.models.V1RoleBinding;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two brokers in separate JVMs share one Kubernetes store (each running as the shipped Role only)
 * and race on the same 500 requests: approve, deny, activate, revoke and expire from both sides,
 * with real RBAC provisioning. Afterwards every request has ended as its plan allows, no request
 * was activated twice, exactly one Role and RoleBinding exist per live grant and none for any
 * other, and each replica's signed audit log verifies; counting across both logs (aborted
 * transitions excluded), each request has exactly one activation (where its plan activates) and
 * exactly one end.
 */
@KubeTest
class ReplicaRaceKubeTest {
  private static final int REQUESTS = 500;
  private static final Set<String> ENDS = Set.of("REQUEST_DENIED", "REQUEST_EXPIRED", "REQUEST_REVOKED",
      "GRANT_EXPIRED", "GRANT_REVOKED", "GRANT_RECONCILED");

  @TempDir Path dir;

  @Test
  void twoReplicasInSeparateJvmsRaceOnFiveHundredRequests(KubeControlPlane cp) throws Exception {
    String ns = StoreCluster.namespaceWithRole(cp, "race");
    String target = StoreCluster.namespace(cp, "race-target");
    long started = System.nanoTime();
    List<RequestId> ids = new ArrayList<>();
    try (KubernetesRequestStore store = StoreCluster.store(cp, ns)) {
      JitBroker submitter = JitBroker.builder().clock(Clock.systemUTC()).policy(RacePolicy.policy(target))
          .store(store).auditSink(AuditSink.inMemory()).rbacProvisioner(RbacProvisioner.inMemory()).build();
      ExecutorService pool = Executors.newFixedThreadPool(4);
      try {
        List<Future<RequestId>> submitted = new ArrayList<>();
        for (int i = 0; i < REQUESTS; i++) {
          int n = i;
          submitted.add(pool.submit(() -> submitter.submit(RacePolicy.request(n, target)).id()));
        }
        for (Future<RequestId> f : submitted) {
          ids.add(f.get(5, TimeUnit.MINUTES));
        }
      } finally {
        pool.shutdownNow();
      }
    }
    long submittedAt = System.nanoTime();
    Path idsFile = dir.resolve("ids.txt");
    Files.write(idsFile, ids.stream().map(RequestId::value).toList());
    Path storeKubeconfig = cp.kubeconfigFor(StoreCluster.BROKER_USER);
    Process a = replica(cp, storeKubeconfig, ns, target, idsFile, "a");
    Process b = replica(cp, storeKubeconfig, ns, target, idsFile, "b");
    String outA = finish(a, "a");
    String outB = finish(b, "b");
    long racedAt = System.nanoTime();

    ApiClient admin = cp.adminClient();
    Map<RequestId, RequestRecord> finals = new HashMap<>();
    try (KubernetesRequestStore store = StoreCluster.store(cp, ns)) {
      for (RequestId id : ids) {
        finals.put(id, store.find(id).orElseThrow());
      }
      assertEquals(REQUESTS, store.list(EnumSet.allOf(RequestState.class)).size());
    }
    Set<String> liveGrants = new HashSet<>();
    for (int i = 0; i < REQUESTS; i++) {
      RequestRecord r = finals.get(ids.get(i));
      Set<RequestState> allowed = switch (RacePolicy.plan(i)) {
        case 0, 3 -> Set.of(RequestState.REVOKED);
        case 1 -> Set.of(RequestState.DENIED, RequestState.REVOKED);
        case 2 -> Set.of(RequestState.EXPIRED);
        default -> Set.of(RequestState.ACTIVE);
      };
      assertTrue(allowed.contains(r.state()), "request " + i + " (plan " + RacePolicy.plan(i) + ") ended " + r);
      if (r.state() == RequestState.ACTIVE) {
        liveGrants.add(r.grant().orElseThrow().id().value());
      }
    }

    RbacAuthorizationV1Api rbac = new RbacAuthorizationV1Api(admin);
    Map<String, Integer> roles = new TreeMap<>();
    for (V1Role role : rbac.listNamespacedRole(target).labelSelector("kubejit.dev/grant-id").execute().getItems()) {
      roles.merge(role.getMetadata().getLabels().get("kubejit.dev/grant-id"), 1, Integer::sum);
    }
    Map<String, Integer> bindings = new TreeMap<>();
    for (V1RoleBinding binding : rbac.listNamespacedRoleBinding(target).labelSelector("kubejit.dev/grant-id")
        .execute().getItems()) {
      bindings.merge(binding.getMetadata().getLabels().get("kubejit.dev/grant-id"), 1, Integer::sum);
    }
    assertEquals(REQUESTS / 5, liveGrants.size());
    assertEquals(liveGrants, roles.keySet(), "one Role per live grant, none for others");
    assertEquals(liveGrants, bindings.keySet(), "one RoleBinding per live grant, none for others");
    assertTrue(roles.values().stream().allMatch(n -> n == 1), roles.toString());
    assertTrue(bindings.values().stream().allMatch(n -> n == 1), bindings.toString());

    Map<String, Integer> activations = new HashMap<>();
    Map<String, Integer> ends = new HashMap<>();
    for (String side : List.of("a", "b")) {
      Path log = dir.resolve("audit-" + side + ".jsonl");
      VerificationResult v = AuditVerifier.withPublicKey(AuditKeys.readPublicKey(dir.resolve("audit-" + side + ".pub")))
          .verify(List.of(log));
      assertEquals(VerificationResult.Status.SEALED, v.status(), side + ": " + v.message());
      count(log, activations, ends);
    }
    for (int i = 0; i < REQUESTS; i++) {
      String id = ids.get(i).value();
      int plan = RacePolicy.plan(i);
      boolean activates = plan == 0 || plan == 2 || plan == 4;
      assertEquals(activates ? 1 : 0, activations.getOrDefault(id, 0), "activations of request " + i);
      assertEquals(plan == 4 ? 0 : 1, ends.getOrDefault(id, 0), "ends of request " + i);
    }

    // The live grants end too, through the store, and their RBAC goes with them.
    try (KubernetesRequestStore store = StoreCluster.store(cp, ns)) {
      JitBroker closer = JitBroker.builder().clock(Clock.systemUTC()).policy(RacePolicy.policy(target)).store(store)
          .auditSink(AuditSink.inMemory()).rbacProvisioner(KubernetesRbacProvisioner.builder(admin)
              .maxGrantDuration(Duration.ofHours(1)).build()).build();
      for (RecordedGrant g : live(finals)) {
        assertEquals(RequestState.REVOKED, closer.revoke(g.id, RacePolicy.CAROL, "race over").state());
      }
      assertTrue(store.list(EnumSet.of(RequestState.ACTIVE, RequestState.APPROVED, RequestState.PENDING_APPROVAL))
          .isEmpty());
    }
    assertTrue(rbac.listNamespacedRoleBinding(target).labelSelector("kubejit.dev/grant-id").execute().getItems()
        .isEmpty());
    System.out.printf("replica race: %d requests submitted in %d ms, raced in %d ms%n  a: %s%n  b: %s%n", REQUESTS,
        (submittedAt - started) / 1_000_000, (racedAt - submittedAt) / 1_000_000, outA.strip(), outB.strip());
  }

  private record RecordedGrant(RequestId id) {}

  private static List<RecordedGrant> live(Map<RequestId, RequestRecord> finals) {
    List<RecordedGrant> out = new ArrayList<>();
    finals.forEach((id, r) -> {
      if (r.state() == RequestState.ACTIVE) {
        out.add(new RecordedGrant(id));
      }
    });
    return out;
  }

  /** Counts activations and ends per request, leaving out events of aborted transitions. */
  private static void count(Path log, Map<String, Integer> activations, Map<String, Integer> ends)
      throws Exception {
    List<JsonObject> events = new ArrayList<>();
    Set<String> aborted = new HashSet<>();
    for (String line : Files.readAllLines(log)) {
      JsonObject e = JsonParser.parseString(line).getAsJsonObject();
      events.add(e);
      if ("TRANSITION_ABORTED".equals(e.get("type").getAsString())) {
        for (String id : e.getAsJsonObject("attributes").get("abortedEventIds").getAsString().split(",")) {
          aborted.add(id);
        }
      }
    }
    for (JsonObject e : events) {
      String type = e.get("type").getAsString();
      if (!e.has("requestId") || aborted.contains(e.get("id").getAsString())) {
        continue;
      }
      String rid = e.get("requestId").getAsString();
      if ("GRANT_ACTIVATED".equals(type)) {
        activations.merge(rid, 1, Integer::sum);
      } else if (ENDS.contains(type)) {
        ends.merge(rid, 1, Integer::sum);
      }
    }
  }

  private Process replica(KubeControlPlane cp, Path storeKubeconfig, String ns, String target, Path ids, String side)
      throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    return new ProcessBuilder(java, "-Xmx384m", "-cp", System.getProperty("java.class.path"),
        ReplicaProcess.class.getName(), storeKubeconfig.toString(), cp.adminKubeconfig().toString(), ns, target,
        ids.toString(), side, dir.toString())
        .redirectErrorStream(true).redirectOutput(dir.resolve("replica-" + side + ".out").toFile()).start();
  }

  private String finish(Process p, String side) throws Exception {
    File out = dir.resolve("replica-" + side + ".out").toFile();
    if (!p.waitFor(10, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new AssertionError("replica " + side + " did not finish:\n" + tail(out));
    }
    String text = Files.readString(out.toPath());
    assertEquals(0, p.exitValue(), "replica " + side + " failed:\n" + tail(out));
    return text.lines().filter(l -> l.startsWith("RESULT")).findFirst().orElse("<no RESULT line>");
  }

  private static String tail(File f) throws Exception {
    List<String> lines = Files.readAllLines(f.toPath());
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
  }
}
