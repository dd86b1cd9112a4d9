package dev.kubejit.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Identity;
import dev.kubejit.api.Scope;
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
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end against a real kube-apiserver: a grant is activated in the JIT log, calls are made
 * with a certificate carrying its per-grant group, the grant expires, one more call is made, and
 * the correlation must list exactly the calls inside the window under the grant and the late call
 * outside it. The apiserver's audit log is shared by the test run, so only this grant's unique
 * group is considered.
 */
@KubeTest
class AuditCorrelatorKubeTest {
  @TempDir Path dir;

  @Test
  void listsExactlyTheCallsMadeUnderTheGrantAndFlagsTheLateOne(KubeControlPlane cp) throws Exception {
    GrantId grant = GrantId.random();
    String group = Grant.GROUP_PREFIX + grant.value();
    String ns = "corr-" + grant.value().substring(0, 10);
    ApiClient admin = cp.adminClient();
    new CoreV1Api(admin).createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name(ns))).execute();
    RbacAuthorizationV1Api rbac = new RbacAuthorizationV1Api(admin);
    rbac.createNamespacedRole(ns, new V1Role().metadata(new V1ObjectMeta().name("jit-debug"))
        .rules(List.of(new V1PolicyRule().apiGroups(List.of("")).resources(List.of("pods", "configmaps"))
            .verbs(List.of("get", "list"))))).execute();
    rbac.createNamespacedRoleBinding(ns, new V1RoleBinding().metadata(new V1ObjectMeta().name("jit-debug"))
        .roleRef(new V1RoleRef().apiGroup("rbac.authorization.k8s.io").kind("Role").name("jit-debug"))
        .subjects(List.of(new RbacV1Subject().kind("Group").apiGroup("rbac.authorization.k8s.io").name(group))))
        .execute();
    awaitAllowed(admin, group, ns);

    Path jit = dir.resolve("audit.jsonl");
    Set<String> inside = new HashSet<>();
    String late;
    CoreV1Api alice = new CoreV1Api(cp.clientFor("alice", group));
    try (FileAuditSink sink = FileAuditSink.builder(jit).signingKey(AuditKeys.generate()).open()) {
      Instant from = Instant.now();
      Instant expires = from.plusSeconds(8);
      sink.write(List.of(event(AuditEventType.GRANT_ACTIVATED, from, grant, ns)
          .attribute("grantedAt", from.toString()).attribute("expiresAt", expires.toString())
          .attribute("subjectGroup", group).build()));
      Thread.sleep(20);
      inside.add(auditId(alice.listNamespacedPod(ns).executeWithHttpInfo().getHeaders()));
      inside.add(auditId(alice.listNamespacedConfigMap(ns).executeWithHttpInfo().getHeaders()));
      try {
        alice.readNamespacedConfigMap("missing", ns).execute();
      } catch (ApiException e) {
        assertEquals(404, e.getCode());
        inside.add(auditId(e.getResponseHeaders()));
      }
      try {
        alice.listNamespacedSecret(ns).execute();
      } catch (ApiException e) {
        assertEquals(403, e.getCode());
        inside.add(auditId(e.getResponseHeaders()));
      }
      assertTrue(Instant.now().isBefore(expires.minusMillis(500)), "calls must finish inside the window");
      Thread.sleep(Math.max(0, Duration.between(Instant.now(), expires).toMillis()) + 50);
      sink.write(List.of(event(AuditEventType.GRANT_EXPIRED, Instant.now(), grant, ns)
          .attribute("cause", "EXPIRED").attribute("expiresAt", expires.toString()).build()));
      // The binding was deliberately left in place: this late call succeeds and must be flagged.
      late = auditId(alice.listNamespacedPod(ns).executeWithHttpInfo().getHeaders());
    }
    String lateId = late;
    cp.awaitAuditEvents(e -> lateId.equals(e.auditId()), Duration.ofSeconds(15));

    AuditCorrelator.Result r = AuditCorrelator.correlate(List.of(jit), List.of(cp.auditLogPath()));
    AuditCorrelator.GrantUsage usage = r.grant(grant.value()).orElseThrow();
    assertEquals(inside, usage.calls().stream().map(AuditCorrelator.ApiCall::auditId).collect(Collectors.toSet()));
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
    assertEquals(List.of(late), outsideForGrant);
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
      Thread.sleep(100);
    }
  }

}
