package dev.kubejit.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Identity;
import dev.kubejit.api.Scope;
import dev.kubejit.testing.FakeClock;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.AuthorizationV1Api;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.apis.RbacAuthorizationV1Api;
import io.kubernetes.client.openapi.models.RbacV1Subject;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1PolicyRule;
import io.kubernetes.client.openapi.models.V1ResourceAttributes;
import io.kubernetes.client.openapi.models.V1Role;
import io.kubernetes.client.openapi.models.V1RoleBinding;
import io.kubernetes.client.openapi.models.V1RoleRef;
import io.kubernetes.client.openapi.models.V1SubjectAccessReview;
import io.kubernetes.client.openapi.models.V1SubjectAccessReviewSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end against a real kube-apiserver: calls are made with a certificate carrying a grant's
 * per-grant group, one before the grant's window, four inside it (200, 200, 404, 403) and one
 * after it; the correlation must list exactly the four under the grant and the other two outside.
 *
 * <p>No wall-clock race: the calls are made first, in three phases, each sent after the previous
 * phase's responses arrived. The window is then set from explicit instants, the API server's own
 * receive times of the boundary calls, read from its audit log here: it opens at the first inside
 * call (inclusive) and closes at the late call (exclusive), and the JIT log is written afterwards
 * on a controllable clock. The apiserver's audit log is shared by the test run, so only this
 * grant's unique group is considered.
 */
@KubeTest
class AuditCorrelatorKubeTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration AUDIT_LAG = Duration.ofSeconds(15);
  @TempDir Path dir;

  @Test
  void listsExactlyTheCallsMadeInsideTheWindowAndFlagsTheOthers(KubeControlPlane cp) throws Exception {
    GrantId grant = GrantId.random();
    String group = Grant.GROUP_PREFIX + grant.value();
    String ns = "corr-" + grant.value().substring(0, 10);
    ApiClient admin = cp.adminClient();
    new CoreV1Api(admin).createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name(ns))).execute();
    try {
      correlate(cp, admin, grant, group, ns);
    } finally {
      new CoreV1Api(admin).deleteNamespace(ns).execute(); // the control plane is shared by the test run
    }
  }

  private void correlate(KubeControlPlane cp, ApiClient admin, GrantId grant, String group, String ns)
      throws Exception {
    RbacAuthorizationV1Api rbac = new RbacAuthorizationV1Api(admin);
    rbac.createNamespacedRole(ns, new V1Role().metadata(new V1ObjectMeta().name("jit-debug"))
        .rules(List.of(new V1PolicyRule().apiGroups(List.of("")).resources(List.of("pods", "configmaps"))
            .verbs(List.of("get", "list"))))).execute();
    rbac.createNamespacedRoleBinding(ns, new V1RoleBinding().metadata(new V1ObjectMeta().name("jit-debug"))
        .roleRef(new V1RoleRef().apiGroup("rbac.authorization.k8s.io").kind("Role").name("jit-debug"))
        .subjects(List.of(new RbacV1Subject().kind("Group").apiGroup("rbac.authorization.k8s.io").name(group))))
        .execute();
    awaitAllowed(admin, group, ns);
    CoreV1Api alice = new CoreV1Api(cp.clientFor("alice", group));

    // Phase 1: before the window. The binding exists, so the call succeeds, and must be flagged.
    String early = auditId(alice.listNamespacedPod(ns).executeWithHttpInfo().getHeaders());
    // Phase 2: inside the window.
    Set<String> inside = new HashSet<>();
    inside.add(auditId(alice.listNamespacedPod(ns).executeWithHttpInfo().getHeaders()));
    inside.add(auditId(alice.listNamespacedConfigMap(ns).executeWithHttpInfo().getHeaders()));
    ApiException notFound = assertThrows(ApiException.class, () -> alice.readNamespacedConfigMap("missing", ns).execute());
    assertEquals(404, notFound.getCode());
    inside.add(auditId(notFound.getResponseHeaders()));
    ApiException forbidden = assertThrows(ApiException.class, () -> alice.listNamespacedSecret(ns).execute());
    assertEquals(403, forbidden.getCode());
    inside.add(auditId(forbidden.getResponseHeaders()));
    assertEquals(4, inside.size(), inside.toString());
    // Phase 3: after the window (the binding was deliberately left in place).
    String late = auditId(alice.listNamespacedPod(ns).executeWithHttpInfo().getHeaders());

    Set<String> all = new HashSet<>(inside);
    all.add(early);
    all.add(late);
    for (String id : all) {
      cp.awaitAuditEvents(KubeAuditEvent::parse, (KubeAuditEvent e) -> id.equals(e.auditId()) && "ResponseComplete".equals(e.stage()), AUDIT_LAG);
    }
    Map<String, Instant> received = receivedTimes(cp.auditLogPath(), all);
    Instant firstInside = inside.stream().map(received::get).min(Instant::compareTo).orElseThrow();
    Instant lastInside = inside.stream().map(received::get).max(Instant::compareTo).orElseThrow();
    assertTrue(received.get(early).isBefore(firstInside) && lastInside.isBefore(received.get(late)),
        "each phase was sent after the previous one's responses arrived, so the API server must have received them "
            + "in that order: " + received);

    Instant grantedAt = firstInside;
    Instant expiresAt = received.get(late);
    Path jit = dir.resolve("audit.jsonl");
    FakeClock broker = new FakeClock(grantedAt);
    try (FileAuditSink sink = FileAuditSink.builder(jit).signingKey(AuditKeys.generate()).clock(broker).open()) {
      sink.write(List.of(event(AuditEventType.GRANT_ACTIVATED, grantedAt, grant, ns)
          .attribute("grantedAt", grantedAt.toString()).attribute("expiresAt", expiresAt.toString())
          .attribute("subjectGroup", group).build()));
      broker.set(expiresAt);
      sink.write(List.of(event(AuditEventType.GRANT_EXPIRED, expiresAt, grant, ns)
          .attribute("cause", "EXPIRED").attribute("expiresAt", expiresAt.toString()).build()));
    }

    AuditCorrelator.Result r = AuditCorrelator.correlate(List.of(jit), List.of(cp.auditLogPath()));
    AuditCorrelator.GrantUsage usage = r.grant(grant.value()).orElseThrow();
    assertEquals(inside, usage.calls().stream().map(AuditCorrelator.ApiCall::auditId).collect(Collectors.toSet()),
        "the window is [first inside call, late call): both boundaries exactly");
    assertEquals(grantedAt, usage.from());
    assertEquals(expiresAt, usage.until());
    assertEquals("alice", usage.user());
    assertEquals("GRANT_EXPIRED", usage.endedBy().orElseThrow());
    Map<Integer, Long> codes = usage.calls().stream()
        .collect(Collectors.groupingBy(AuditCorrelator.ApiCall::code, Collectors.counting()));
    assertEquals(Map.of(200, 2L, 404, 1L, 403, 1L), codes);
    AuditCorrelator.ApiCall missing = usage.calls().stream().filter(c -> c.code() == 404).findFirst().orElseThrow();
    assertEquals("get", missing.verb());
    assertEquals("configmaps", missing.resource());
    assertEquals(ns, missing.namespace());
    assertEquals("missing", missing.name());
    List<String> outsideForGrant = r.outside().stream().filter(c -> c.groups().contains(group))
        .map(AuditCorrelator.ApiCall::auditId).toList();
    assertEquals(List.of(early, late), outsideForGrant, "before activation and at expiry, in time order");
  }

  /** The {@code requestReceivedTimestamp} of each final-stage event, read from the raw audit log. */
  private static Map<String, Instant> receivedTimes(Path auditLog, Set<String> ids) throws Exception {
    Map<String, Instant> out = new HashMap<>();
    for (String line : Files.readAllLines(auditLog, StandardCharsets.UTF_8)) {
      if (line.isBlank()) {
        continue;
      }
      JsonNode n;
      try {
        n = JSON.readTree(line);
      } catch (java.io.IOException e) {
        continue; // the API server may be writing the last line
      }
      String id = n.path("auditID").asText();
      if (ids.contains(id) && "ResponseComplete".equals(n.path("stage").asText())) {
        out.put(id, Instant.parse(n.path("requestReceivedTimestamp").asText()));
      }
    }
    assertEquals(ids, out.keySet(), "every call is in the API server's audit log");
    return out;
  }

  private static AuditEvent.Builder event(AuditEventType type, Instant t, GrantId grant, String ns) {
    return AuditEvent.builder(type, t).grantId(grant).scope(Scope.namespace("test", ns))
        .actor(Identity.of("alice", "oncall")).attribute("requester", "alice");
  }

  private static String auditId(Map<String, List<String>> headers) {
    for (Map.Entry<String, List<String>> h : headers.entrySet()) {
      if (h.getKey().equalsIgnoreCase("Audit-Id")) {
        return h.getValue().get(0);
      }
    }
    throw new AssertionError("no Audit-Id header in " + headers.keySet());
  }

  private static void awaitAllowed(ApiClient admin, String group, String ns) throws Exception {
    AuthorizationV1Api authz = new AuthorizationV1Api(admin);
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (true) {
      V1SubjectAccessReview sar = new V1SubjectAccessReview().spec(new V1SubjectAccessReviewSpec().user("alice")
          .groups(List.of(group)).resourceAttributes(new V1ResourceAttributes().namespace(ns).verb("list")
              .resource("pods")));
      if (Boolean.TRUE.equals(authz.createSubjectAccessReview(sar).execute().getStatus().getAllowed())) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("RBAC never allowed " + group + " to list pods in " + ns);
      }
      Thread.sleep(100); // poll interval; the deadline above bounds the wait
    }
  }

}
