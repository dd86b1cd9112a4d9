package dev.kubejit.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.InMemoryAuditSink;
import dev.kubejit.rbac.RbacLinter;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The RBAC write guardrails with jit-rbac's real linter behind the port, as a host wires it. */
class RbacWriteAdmissionTest {
  static final Instant NOW = Instant.parse("2026-12-02T04:00:00Z");
  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  /** The adapter a wiring module writes: jit-rbac's linter behind jit-admission's port. */
  static RbacLint linter(Clock clock) {
    RbacLinter l = RbacLinter.builder().maxJitDuration(Duration.ofHours(8)).clock(clock).build();
    return json -> l.lintYaml(json).stream()
        .map(f -> RbacLint.Finding.of(f.id(), f.isError(), f.message())).collect(Collectors.toList());
  }

  final InMemoryAuditSink audit = AuditSink.inMemory();
  final Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);

  RbacWriteAdmission webhook(boolean escalation) {
    return RbacWriteAdmission.builder().lint(linter(clock)).escalationChecks(escalation)
        .allowUsers("system:serviceaccount:kubejit:broker").allowGroups("gitops-controllers")
        .auditSink(audit).clock(clock).build();
  }

  static byte[] review(String operation, String yaml, String user, String... groups) throws Exception {
    JsonNode obj = YAML.readTree(yaml);
    String kind = obj.get("kind").asText();
    String resource = kind.toLowerCase(java.util.Locale.ROOT) + "s";
    ObjectNode root = Lab.JSON.createObjectNode().put("apiVersion", "admission.k8s.io/v1").put("kind", "AdmissionReview");
    ObjectNode req = root.putObject("request").put("uid", UUID.randomUUID().toString()).put("operation", operation)
        .put("name", obj.path("metadata").path("name").asText());
    if (obj.path("metadata").has("namespace")) {
      req.put("namespace", obj.path("metadata").path("namespace").asText());
    }
    req.putObject("resource").put("group", "rbac.authorization.k8s.io").put("version", "v1").put("resource", resource);
    ObjectNode ui = req.putObject("userInfo").put("username", user);
    var g = ui.putArray("groups");
    for (String s : groups) {
      g.add(s);
    }
    ObjectNode withServerFields = (ObjectNode) obj;
    ((ObjectNode) withServerFields.get("metadata")).put("uid", UUID.randomUUID().toString())
        .putArray("managedFields").addObject().put("manager", "kubectl");
    req.set("object", withServerFields);
    return Lab.JSON.writeValueAsBytes(root);
  }

  static JsonNode call(RbacWriteAdmission w, byte[] review) throws Exception {
    return Lab.JSON.readTree(w.handle(review));
  }

  static void assertRefused(JsonNode answer, String rule) {
    JsonNode resp = answer.get("response");
    assertFalse(resp.get("allowed").asBoolean(), answer::toString);
    String message = resp.get("status").get("message").asText();
    assertTrue(message.contains("refused by rule") && message.contains(rule), message);
  }

  static void assertAllowed(JsonNode answer) {
    assertTrue(answer.get("response").get("allowed").asBoolean(), answer::toString);
  }

  static final String CLUSTER_ADMIN_CRB = String.join("\n",
      "apiVersion: rbac.authorization.k8s.io/v1", "kind: ClusterRoleBinding", "metadata: {name: devs-admin}",
      "subjects: [{kind: Group, name: devs, apiGroup: rbac.authorization.k8s.io}]",
      "roleRef: {kind: ClusterRole, name: cluster-admin, apiGroup: rbac.authorization.k8s.io}");
  static final String ESCALATE_ROLE = String.join("\n",
      "apiVersion: rbac.authorization.k8s.io/v1", "kind: ClusterRole", "metadata: {name: role-writer}",
      "rules: [{apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [escalate, bind]}]");
  static final String SECRETS_ROLE = String.join("\n",
      "apiVersion: rbac.authorization.k8s.io/v1", "kind: ClusterRole", "metadata: {name: secret-reader}",
      "rules: [{apiGroups: [\"\"], resources: [secrets], verbs: [get, list]}]");
  static final String NODES_PROXY = String.join("\n",
      "apiVersion: rbac.authorization.k8s.io/v1", "kind: ClusterRole", "metadata: {name: node-proxy}",
      "rules: [{apiGroups: [\"\"], resources: [nodes/proxy], verbs: [get, create]}]");

  static String jitBinding(String expiresAt, String subjectKind, String subjectName) {
    return String.join("\n",
        "apiVersion: rbac.authorization.k8s.io/v1", "kind: RoleBinding",
        "metadata:", "  name: kubejit-abc", "  namespace: payments",
        "  labels: {app.kubernetes.io/managed-by: kubejit}",
        expiresAt == null ? "  annotations: {}" : "  annotations: {kubejit.dev/expires-at: \"" + expiresAt + "\"}",
        "subjects: [{kind: " + subjectKind + ", name: \"" + subjectName + "\"" + ("User".equals(subjectKind) ? "" : ", apiGroup: rbac.authorization.k8s.io") + "}]",
        "roleRef: {kind: Role, name: kubejit-abc, apiGroup: rbac.authorization.k8s.io}");
  }

  @Test
  void escalationsByAnAuthorOutsideTheAllowListAreRefusedWithTheFinding() throws Exception {
    RbacWriteAdmission w = webhook(true);
    assertRefused(call(w, review("CREATE", CLUSTER_ADMIN_CRB, "mallory", "system:masters")), "privileged-roleref");
    assertRefused(call(w, review("UPDATE", ESCALATE_ROLE, "mallory", "system:masters")), "escalation-verb");
    assertRefused(call(w, review("CREATE", SECRETS_ROLE, "mallory")), "secrets-read");
    assertRefused(call(w, review("CREATE", NODES_PROXY, "mallory")), "nodes-proxy");
    assertEquals(4, audit.events(AuditEventType.USE_DENIED).size());
    assertEquals("rbac-write-webhook", audit.events().get(0).attributes().get("enforcedBy"));
    assertEquals("privileged-roleref", audit.events().get(0).ruleId().orElseThrow());
  }

  @Test
  void theAllowListAndTheSwitchExemptFromEscalationChecksOnly() throws Exception {
    assertAllowed(call(webhook(true), review("CREATE", CLUSTER_ADMIN_CRB, "system:serviceaccount:kubejit:broker")));
    assertAllowed(call(webhook(true), review("CREATE", CLUSTER_ADMIN_CRB, "argocd", "gitops-controllers")));
    assertAllowed(call(webhook(false), review("CREATE", CLUSTER_ADMIN_CRB, "mallory")));
    // ... but not from the KubeJIT checks.
    assertRefused(call(webhook(true), review("CREATE", jitBinding(null, "Group", "jit:grant:x"),
        "system:serviceaccount:kubejit:broker")), "jit-no-expiry");
    assertRefused(call(webhook(false), review("CREATE", jitBinding(null, "Group", "jit:grant:x"), "mallory")),
        "jit-no-expiry");
  }

  @Test
  void kubejitLabelledBindingsNeedAnExpiryWithinTheCeilingAndAGroup() throws Exception {
    RbacWriteAdmission w = webhook(false);
    assertAllowed(call(w, review("CREATE", jitBinding("2026-12-02T05:00:00Z", "Group", "jit:grant:abc"), "broker")));
    assertRefused(call(w, review("CREATE", jitBinding("2026-12-03T05:00:00Z", "Group", "jit:grant:abc"), "broker")),
        "jit-expiry-too-long");
    assertRefused(call(w, review("UPDATE", jitBinding("2026-12-02T05:00:00Z", "User", "alice"), "broker")),
        "jit-subject");
  }

  @Test
  void otherRequestsGetNoOpinion() throws Exception {
    byte[] exec = Lab.JSON.writeValueAsBytes(Lab.review("admission.k8s.io/v1", "exec", "payments", "web",
        "alice", List.of(), Lab.exec(List.of("id"), false, false)));
    JsonNode answer = Lab.JSON.readTree(webhook(true).handle(exec));
    assertAllowed(answer);
    assertEquals("no-opinion", answer.get("response").get("auditAnnotations").get("decision").asText());
  }

  @Test
  void aFailingLinterRefuses() throws Exception {
    RbacWriteAdmission w = RbacWriteAdmission.builder().lint(json -> {
      throw new IllegalStateException("boom");
    }).auditSink(audit).build();
    assertRefused(call(w, review("CREATE", SECRETS_ROLE, "mallory")), "lint-error");
  }

  static final String EXEC_CLUSTER_ROLE = String.join("\n",
      "apiVersion: rbac.authorization.k8s.io/v1", "kind: ClusterRole", "metadata: {name: pod-exec}",
      "rules: [{apiGroups: [\"\"], resources: [pods/exec], verbs: [create]}]");
  static final String EXEC_CRB = String.join("\n",
      "apiVersion: rbac.authorization.k8s.io/v1", "kind: ClusterRoleBinding", "metadata: {name: devs-exec}",
      "subjects: [{kind: Group, name: devs, apiGroup: rbac.authorization.k8s.io}]",
      "roleRef: {kind: ClusterRole, name: pod-exec, apiGroup: rbac.authorization.k8s.io}");

  RbacWriteAdmission withLookup(java.util.Map<String, String> roles) {
    return RbacWriteAdmission.builder().lint(linter(clock)).escalationChecks(true)
        .allowGroups("gitops-controllers").auditSink(audit).clock(clock)
        .roleLookup((kind, ns, name) -> {
          String yaml = roles.get(kind + "/" + (ns == null ? "" : ns + "/") + name);
          try {
            return yaml == null ? java.util.Optional.empty()
                : java.util.Optional.of(Lab.JSON.writeValueAsString(YAML.readTree(yaml)));
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        }).build();
  }

  @Test
  void aBindingIsLintedTogetherWithTheRoleItRefersTo() throws Exception {
    // alone, the ClusterRoleBinding names a custom role the webhook cannot judge: it passes
    assertAllowed(call(webhook(true), review("CREATE", EXEC_CRB, "mallory")));
    RbacWriteAdmission w = withLookup(java.util.Map.of("ClusterRole/pod-exec", EXEC_CLUSTER_ROLE));
    JsonNode refused = call(w, review("CREATE", EXEC_CRB, "mallory", "system:masters"));
    assertRefused(refused, "pod-exec");
    assertAllowed(call(w, review("CREATE", EXEC_CRB, "argocd", "gitops-controllers")));
    // a binding to a role that does not exist is left to RBAC, unless it claims to be KubeJIT's
    assertAllowed(call(withLookup(java.util.Map.of()), review("CREATE", EXEC_CRB, "mallory")));
    assertRefused(call(withLookup(java.util.Map.of()), review("CREATE",
        jitBinding("2026-12-02T05:00:00Z", "Group", "jit:grant:abc"), "argocd", "gitops-controllers")),
        "unknown-roleref");
    String ownRole = String.join("\n", "apiVersion: rbac.authorization.k8s.io/v1", "kind: Role",
        "metadata: {name: kubejit-abc, namespace: payments, labels: {app.kubernetes.io/managed-by: kubejit}}",
        "rules: [{apiGroups: [\"\"], resources: [pods, pods/log], verbs: [get, list]}]");
    assertAllowed(call(withLookup(java.util.Map.of("Role/payments/kubejit-abc", ownRole)), review("CREATE",
        jitBinding("2026-12-02T05:00:00Z", "Group", "jit:grant:abc"), "mallory")));
    // A KubeJIT binding to a role that exists but is not KubeJIT's (or is another grant's) is a forgery,
    // refused even for the allow-listed author.
    String foreignRole = ownRole.replace(", labels: {app.kubernetes.io/managed-by: kubejit}", "");
    assertRefused(call(withLookup(java.util.Map.of("Role/payments/kubejit-abc", foreignRole)), review("CREATE",
        jitBinding("2026-12-02T05:00:00Z", "Group", "jit:grant:abc"), "argocd", "gitops-controllers")),
        "unknown-roleref");
    String otherGrants = ownRole.replace("labels: {app.kubernetes.io/managed-by: kubejit}",
        "labels: {app.kubernetes.io/managed-by: kubejit, kubejit.dev/grant-id: other}");
    assertRefused(call(withLookup(java.util.Map.of("Role/payments/kubejit-abc", otherGrants)), review("CREATE",
        jitBinding("2026-12-02T05:00:00Z", "Group", "jit:grant:abc").replace(
            "labels: {app.kubernetes.io/managed-by: kubejit}",
            "labels: {app.kubernetes.io/managed-by: kubejit, kubejit.dev/grant-id: abc}"), "mallory")),
        "unknown-roleref");
  }

  @Test
  void aKubejitBindingCreatedAlreadyExpiredIsRefused() throws Exception {
    assertRefused(call(webhook(false), review("CREATE", jitBinding("2026-12-02T03:59:59Z", "Group", "jit:grant:abc"),
        "broker")), "jit-expired");
    // an update of a binding that has since expired (the reaper removes it) is not refused for that
    assertAllowed(call(webhook(false), review("UPDATE", jitBinding("2026-12-02T03:59:59Z", "Group", "jit:grant:abc"),
        "broker")));
  }

  @Test
  void aFailingLookupRefuses() throws Exception {
    RbacWriteAdmission w = RbacWriteAdmission.builder().lint(linter(clock)).auditSink(audit).clock(clock)
        .roleLookup((k, n, name) -> {
          throw new IllegalStateException("api server down");
        }).build();
    assertRefused(call(w, review("CREATE", EXEC_CRB, "mallory")), "lint-error");
  }

  // Per-role ceilings: oncall-debug 1h, break-glass 15m; the linter's global ceiling is 8h.
  static final java.util.Map<String, Duration> CEILINGS = java.util.Map.of("oncall-debug", Duration.ofHours(1),
      "break-glass", Duration.ofMinutes(15));

  RbacWriteAdmission withCeilings(boolean escalation) {
    return RbacWriteAdmission.builder().lint(linter(clock)).escalationChecks(escalation)
        .allowUsers("system:serviceaccount:kubejit:broker").allowGroups("gitops-controllers")
        .auditSink(audit).clock(clock).roleCeilings(CEILINGS).build();
  }

  /** A KubeJIT binding naming {@code role} (none when null), created at {@code created} (absent when null). */
  static String roleBinding(String role, String expiresAt, String created) {
    String ann = "kubejit.dev/expires-at: \"" + expiresAt + "\"" + (role == null ? "" : ", kubejit.dev/role: " + role);
    return jitBinding(expiresAt, "Group", "jit:grant:abc")
        .replace("annotations: {kubejit.dev/expires-at: \"" + expiresAt + "\"}", "annotations: {" + ann + "}")
        .replace("  namespace: payments", "  namespace: payments"
            + (created == null ? "" : "\n  creationTimestamp: \"" + created + "\""));
  }

  static String message(JsonNode answer) {
    return answer.get("response").get("status").get("message").asText();
  }

  @Test
  void aKubejitBindingWithinItsRolesCeilingIsAllowed() throws Exception {
    RbacWriteAdmission w = withCeilings(true);
    assertAllowed(call(w, review("CREATE", roleBinding("oncall-debug", "2026-12-02T05:00:00Z", null),
        "system:serviceaccount:kubejit:broker")));
    assertAllowed(call(w, review("CREATE", roleBinding("oncall-debug", "2026-12-02T05:00:00Z",
        "2026-12-02T04:00:00Z"), "system:serviceaccount:kubejit:broker")));
    assertAllowed(call(w, review("CREATE", roleBinding("break-glass", "2026-12-02T04:15:00Z", null), "argocd",
        "gitops-controllers")));
    // the skew allowance, to the second
    assertAllowed(call(w, review("CREATE", roleBinding("break-glass", "2026-12-02T04:17:00Z", null), "broker")));
    assertRefused(call(w, review("CREATE", roleBinding("break-glass", "2026-12-02T04:17:01Z", null), "broker")),
        "jit-role-expiry-too-long");
    assertEquals(Duration.ofMinutes(2), RbacWriteAdmission.CEILING_SKEW);
  }

  @Test
  void aKubejitBindingBeyondItsRolesCeilingIsRefusedWithTheRoleTheCeilingAndTheLifetime() throws Exception {
    RbacWriteAdmission w = withCeilings(false);
    // 90 minutes: within the global 8h, beyond oncall-debug's hour
    JsonNode refused = call(w, review("CREATE", roleBinding("oncall-debug", "2026-12-02T05:30:00Z", null), "mallory"));
    assertRefused(refused, "jit-role-expiry-too-long");
    String m = message(refused);
    assertTrue(m.contains("\"oncall-debug\"") && m.contains("\"PT1H\"") && m.contains("\"PT1H30M\""), m);
    assertEquals("jit-role-expiry-too-long", audit.events(AuditEventType.USE_DENIED).get(0).ruleId().orElseThrow());
    // measured from the creation time: an update of an old binding cannot stretch it
    assertRefused(call(w, review("UPDATE", roleBinding("oncall-debug", "2026-12-02T04:30:00Z",
        "2026-12-02T03:00:00Z"), "mallory")), "jit-role-expiry-too-long");
    assertAllowed(call(w, review("UPDATE", roleBinding("oncall-debug", "2026-12-02T04:30:00Z",
        "2026-12-02T03:30:00Z"), "mallory")));
    // the same binding passes without per-role ceilings: only the global one applies then
    assertAllowed(call(webhook(false), review("CREATE", roleBinding("oncall-debug", "2026-12-02T05:30:00Z", null),
        "mallory")));
  }

  @Test
  void aKubejitBindingWithoutARoleOrWithAnUnknownRoleIsRefused() throws Exception {
    RbacWriteAdmission w = withCeilings(false);
    JsonNode missing = call(w, review("CREATE", roleBinding(null, "2026-12-02T04:10:00Z", null), "mallory"));
    assertRefused(missing, "jit-unknown-role");
    assertTrue(message(missing).contains("kubejit.dev/role"), message(missing));
    JsonNode unknown = call(w, review("CREATE", roleBinding("cluster-admin", "2026-12-02T04:10:00Z", null),
        "mallory"));
    assertRefused(unknown, "jit-unknown-role");
    assertTrue(message(unknown).contains("\"cluster-admin\""), message(unknown));
    // without per-role ceilings the annotation is not required
    assertAllowed(call(webhook(false), review("CREATE", roleBinding(null, "2026-12-02T04:10:00Z", null),
        "mallory")));
  }

  @Test
  void perRoleCeilingsBindAllowListedAuthorsToo() throws Exception {
    RbacWriteAdmission w = withCeilings(true);
    assertRefused(call(w, review("CREATE", roleBinding("break-glass", "2026-12-02T05:00:00Z", null),
        "system:serviceaccount:kubejit:broker")), "jit-role-expiry-too-long");
    assertRefused(call(w, review("CREATE", roleBinding("nobody", "2026-12-02T04:05:00Z", null), "argocd",
        "gitops-controllers")), "jit-unknown-role");
    assertRefused(call(w, review("UPDATE", roleBinding(null, "2026-12-02T04:05:00Z", null),
        "system:serviceaccount:kubejit:broker")), "jit-unknown-role");
  }

  @Test
  void perRoleCeilingsLeaveOtherBindingsAlone() throws Exception {
    RbacWriteAdmission w = withCeilings(false);
    // not KubeJIT-labelled: no role annotation needed, no lifetime bound
    assertAllowed(call(w, review("CREATE", EXEC_CRB, "mallory")));
    assertAllowed(call(w, review("CREATE", CLUSTER_ADMIN_CRB, "mallory")));
    assertAllowed(call(w, review("CREATE", SECRETS_ROLE, "mallory")));
    // a role (not a binding) carrying KubeJIT's label is not bound by the ceilings
    String ownRole = String.join("\n", "apiVersion: rbac.authorization.k8s.io/v1", "kind: Role",
        "metadata: {name: kubejit-abc, namespace: payments, labels: {app.kubernetes.io/managed-by: kubejit}}",
        "rules: [{apiGroups: [\"\"], resources: [pods/log], verbs: [get]}]");
    assertAllowed(call(w, review("CREATE", ownRole, "mallory")));
  }

  @Test
  void aMalformedExpiryIsRefusedAsBeforeByTheLinter() throws Exception {
    String malformed = roleBinding("oncall-debug", "tomorrow", null);
    JsonNode with = call(withCeilings(true), review("CREATE", malformed, "system:serviceaccount:kubejit:broker"));
    JsonNode without = call(webhook(true), review("CREATE", malformed, "system:serviceaccount:kubejit:broker"));
    assertRefused(with, "jit-no-expiry");
    assertFalse(message(with).contains("jit-role-expiry-too-long"), message(with));
    assertEquals(without.get("response").get("auditAnnotations").get("rule"),
        with.get("response").get("auditAnnotations").get("rule"));
  }

  @Test
  void roleCeilingsRefusesMisuse() {
    var b = RbacWriteAdmission.builder();
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> b.roleCeilings(java.util.Map.of()));
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> b.roleCeilings(java.util.Map.of("r", Duration.ZERO)));
    org.junit.jupiter.api.Assertions.assertThrows(NullPointerException.class, () -> b.roleCeilings(null));
  }
}
