package dev.kubejit.rbac;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RbacLinterTest {
  private static final RbacLinter LINTER = RbacLinter.builder().maxJitDuration(Duration.ofHours(8))
      .clock(Clock.fixed(Fixtures.NOW, ZoneOffset.UTC)).build();

  static String role(String apiGroups, String resources, String verbs) {
    return "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r, namespace: ns}\nrules:\n"
        + "- apiGroups: " + apiGroups + "\n  resources: " + resources + "\n  verbs: " + verbs + "\n";
  }

  static Set<String> ids(List<Finding> f) {
    return f.stream().map(Finding::id).collect(Collectors.toSet());
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
    "['']|[pods]|['*']|wildcard",
    "['']|['*']|[get]|wildcard",
    "['*']|[pods]|[get]|wildcard",
    "[rbac.authorization.k8s.io]|[clusterroles]|[escalate]|escalation-verb",
    "[rbac.authorization.k8s.io]|[roles]|[bind]|escalation-verb",
    "['']|[users, groups]|[impersonate]|escalation-verb",
    "['']|[secrets]|[get]|secrets-read",
    "['']|[secrets]|[list]|secrets-read",
    "['']|[secrets]|[watch]|secrets-read",
    "['']|[nodes/proxy]|[get]|nodes-proxy",
    "['']|[serviceaccounts/token]|[create]|serviceaccount-token",
    "[certificates.k8s.io]|[certificatesigningrequests/approval]|[update]|csr-approval",
    "['']|[pods]|[create]|workload-write",
    "['']|[replicationcontrollers]|[patch]|workload-write",
    "[apps]|[deployments]|[update]|workload-write",
    "[apps]|[daemonsets]|[create]|workload-write",
    "[apps]|[statefulsets]|[create]|workload-write",
    "[apps]|[replicasets]|[create]|workload-write",
    "[batch]|[jobs]|[create]|workload-write",
    "[batch]|[cronjobs]|[patch]|workload-write",
    "[rbac.authorization.k8s.io]|[rolebindings]|[create]|rbac-write",
    "[rbac.authorization.k8s.io]|[clusterroles]|[patch]|rbac-write",
    "[admissionregistration.k8s.io]|[mutatingwebhookconfigurations]|[create]|webhook-write",
    "[admissionregistration.k8s.io]|[validatingwebhookconfigurations]|[update]|webhook-write",
    "['']|['*/proxy']|[get]|nodes-proxy",
  })
  void escalationPathsAreErrors(String groups, String resources, String verbs, String id) {
    List<Finding> f = LINTER.lintYaml(role(groups, resources, verbs));
    assertTrue(ids(f).contains(id), f.toString());
    Finding hit = f.stream().filter(x -> x.id().equals(id)).findFirst().orElseThrow();
    assertEquals(Finding.Severity.ERROR, hit.severity());
    assertEquals("Role", hit.kind());
    assertEquals("ns", hit.namespace().orElseThrow());
    assertEquals("r", hit.name());
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
    "['']|[pods, pods/log]|[get, list, watch]",
    "['']|[secrets]|[delete]",
    "['']|[pods/exec]|[create]",
    "[apps]|[deployments]|[get, list]",
    "['']|[configmaps]|[get]",
    "[apps]|[pods]|[create]",
  })
  void harmlessRulesAreClean(String groups, String resources, String verbs) {
    assertEquals(List.of(), LINTER.lintYaml(role(groups, resources, verbs)));
  }

  @Test
  void execWithGetButNotCreateIsAWarning() {
    List<Finding> f = LINTER.lintYaml(role("['']", "[pods/exec]", "[get]"));
    assertEquals(List.of("exec-get-only"), f.stream().map(Finding::id).collect(Collectors.toList()));
    assertEquals(Finding.Severity.WARNING, f.get(0).severity());
  }

  static String binding(String kind, String subjects, String roleRef, String meta) {
    return "apiVersion: rbac.authorization.k8s.io/v1\nkind: " + kind + "\nmetadata:\n  name: b\n"
        + (kind.equals("RoleBinding") ? "  namespace: ns\n" : "") + meta
        + "subjects: " + subjects + "\nroleRef: " + roleRef + "\n";
  }

  @Test
  void bindingChecks() {
    String role = "{apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}";
    assertEquals(Set.of("user-subject"), ids(LINTER.lintYaml(binding("RoleBinding",
        "[{kind: User, name: bob, apiGroup: rbac.authorization.k8s.io}]", role, ""))));
    assertEquals(Set.of(), ids(LINTER.lintYaml(binding("RoleBinding",
        "[{kind: Group, name: g, apiGroup: rbac.authorization.k8s.io}]", role, ""))));
    for (String r : List.of("cluster-admin", "admin", "edit")) {
      assertEquals(Set.of("privileged-roleref"), ids(LINTER.lintYaml(binding("ClusterRoleBinding",
          "[{kind: Group, name: g}]", "{kind: ClusterRole, name: " + r + "}", ""))));
    }
    String managed = "  labels: {app.kubernetes.io/managed-by: kubejit}\n";
    assertEquals(Set.of("jit-no-expiry"), ids(LINTER.lintYaml(binding("RoleBinding", "[{kind: Group, name: g}]",
        role, managed))));
    assertEquals(Set.of("jit-no-expiry"), ids(LINTER.lintYaml(binding("RoleBinding", "[{kind: Group, name: g}]",
        role, managed + "  annotations: {kubejit.dev/expires-at: tomorrow}\n"))));
    assertEquals(Set.of("cluster-scoped-jit"), ids(LINTER.lintYaml(binding("ClusterRoleBinding",
        "[{kind: Group, name: g}]", "{kind: ClusterRole, name: x}",
        managed + "  annotations: {kubejit.dev/expires-at: '2024-01-01T01:00:00Z'}\n"))));
    assertEquals(Set.of("malformed"), ids(LINTER.lintYaml("kind: RoleBinding\nmetadata: {name: x}\n")));
  }

  @Test
  void expiryBoundaryIsExactlyTheMaximum() {
    String role = "{kind: Role, name: r}";
    String managed = "  labels: {app.kubernetes.io/managed-by: kubejit}\n  annotations: {kubejit.dev/expires-at: '%s'}\n";
    // NOW + 8h exactly: allowed; 1 ns more: refused.
    assertEquals(Set.of(), ids(LINTER.lintYaml(binding("RoleBinding", "[{kind: Group, name: g}]", role,
        String.format(managed, "2024-01-01T08:00:00Z")))));
    assertEquals(Set.of("jit-expiry-too-long"), ids(LINTER.lintYaml(binding("RoleBinding", "[{kind: Group, name: g}]",
        role, String.format(managed, "2024-01-01T08:00:00.000000001Z")))));
    // With a creation timestamp the maximum is measured from creation, not from now.
    assertEquals(Set.of(), ids(LINTER.lintYaml(binding("RoleBinding", "[{kind: Group, name: g}]", role,
        "  creationTimestamp: '2024-01-01T05:00:00Z'\n" + String.format(managed, "2024-01-01T12:00:00Z")))));
  }

  @Test
  void multiDocumentYamlWithOtherKindsAndLists() {
    String yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n"
        + "apiVersion: v1\nkind: List\nitems:\n- " + role("['*']", "['*']", "['*']").replace("\n", "\n  ")
        + "\n---\n# comment only\n";
    List<Finding> f = LINTER.lintYaml(yaml);
    assertTrue(ids(f).contains("wildcard"), f.toString());
    assertTrue(ids(f).contains("secrets-read"), f.toString());
    assertThrows(RbacException.class, () -> LINTER.lintYaml("a: [\n"));
    assertThrows(RbacException.class, () -> LINTER.lintYaml("!!java.io.File x\n"));
  }

  @Test
  void auditListsSubjectsOfPrivilegedBindings() {
    String yaml = String.join("---\n",
        "kind: ClusterRole\nmetadata: {name: cluster-admin}\nrules: [{apiGroups: ['*'], resources: ['*'], verbs: ['*']}]\n",
        "kind: ClusterRoleBinding\nmetadata: {name: crb}\nroleRef: {kind: ClusterRole, name: cluster-admin}\n"
            + "subjects: [{kind: User, name: bob}, {kind: Group, name: admins}]\n",
        "kind: Role\nmetadata: {name: sec, namespace: a}\nrules: [{apiGroups: [''], resources: [secrets], verbs: [list]}]\n",
        "kind: RoleBinding\nmetadata: {name: rb, namespace: a}\nroleRef: {kind: Role, name: sec}\n"
            + "subjects: [{kind: ServiceAccount, name: robot}]\n",
        "kind: Role\nmetadata: {name: ok, namespace: a}\nrules: [{apiGroups: [''], resources: [pods], verbs: [get]}]\n",
        "kind: RoleBinding\nmetadata: {name: fine, namespace: a}\nroleRef: {kind: Role, name: ok}\n"
            + "subjects: [{kind: Group, name: viewers}]\n");
    List<PrivilegedSubject> p = LINTER.audit(RbacSnapshot.fromYaml(yaml));
    assertEquals(3, p.size(), p.toString());
    assertEquals("User", p.get(0).subjectKind());
    assertEquals("bob", p.get(0).subjectName());
    assertEquals("crb", p.get(0).bindingName());
    assertTrue(p.get(0).reasons().contains("cluster-admin"));
    assertEquals("Group", p.get(1).subjectKind());
    assertEquals("ServiceAccount", p.get(2).subjectKind());
    assertEquals("a", p.get(2).subjectNamespace().orElseThrow());
    assertEquals(List.of("secrets-read"), p.get(2).reasons());
  }

  @Test
  void builderIsStrict() {
    assertThrows(IllegalStateException.class, () -> RbacLinter.builder().build());
    assertThrows(IllegalArgumentException.class, () -> RbacLinter.builder().maxJitDuration(Duration.ZERO));
    assertThrows(IllegalStateException.class,
        () -> RbacLinter.builder().maxJitDuration(Duration.ofHours(1)).maxJitDuration(Duration.ofHours(2)));
  }
}
