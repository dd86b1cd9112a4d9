package dev.kubejit.rbac;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import org.junit.jupiter.params.provider.ValueSource;

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
    "['']|[pods]|[update]|workload-write",
    "[extensions]|[daemonsets]|[patch]|workload-write",
    "[rbac.authorization.k8s.io]|[roles]|['*']|escalation-verb",
    "[rbac.authorization.k8s.io]|['*']|[create]|rbac-write",
    "['']|[serviceaccounts]|[impersonate]|escalation-verb",
    "[authentication.k8s.io]|[uids]|[impersonate]|escalation-verb",
    "['']|[configmaps]|[impersonate]|escalation-verb",
    "['']|[secrets]|['*']|secrets-read",
    "['*']|[secrets]|[watch]|secrets-read",
    "['']|[nodes/proxy]|[create]|nodes-proxy",
    "[certificates.k8s.io]|[certificatesigningrequests/approval]|[patch]|csr-approval",
    "[certificates.k8s.io]|[signers]|[approve]|csr-approval",
    "[certificates.k8s.io]|[signers]|[sign]|csr-approval",
    "[certificates.k8s.io]|[certificatesigningrequests/nodeclient]|[create]|csr-approval",
    "[admissionregistration.k8s.io]|[validatingwebhookconfigurations]|[delete]|webhook-write",
    "[admissionregistration.k8s.io]|[validatingadmissionpolicies]|[create]|webhook-write",
    "[admissionregistration.k8s.io]|['*']|[patch]|webhook-write",
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
    "['']|[pods/exec, pods/attach, pods/portforward, pods/proxy, services/proxy]|[create, get]",
    "['']|[pods/ephemeralcontainers]|[update, patch]",
    "[rbac.authorization.k8s.io]|[roles, rolebindings]|[get, list, watch]",
    "[certificates.k8s.io]|[certificatesigningrequests]|[create, get]",
    "['']|[nodes/status]|[get]",
  })
  void harmlessRulesAreClean(
String groups, String resources, String verbs) {
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

  /** A Role as the broker makes it: labelled as KubeJIT's, so a KubeJIT binding may refer to it. */
  private static final String POD_READER = "kind: Role\nmetadata: {name: r, namespace: ns, labels: {app.kubernetes.io/managed-by: kubejit}}\n"
      + "rules: [{apiGroups: [''], resources: [pods], verbs: [get]}]\n---\n";

  @Test
  void bindingChecks() {
    String role = "{apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}";
    assertEquals(Set.of("user-subject"), ids(LINTER.lintYaml(POD_READER + binding("RoleBinding",
        "[{kind: User, name: bob, apiGroup: rbac.authorization.k8s.io}]", role, ""))));
    assertEquals(Set.of(), ids(LINTER.lintYaml(POD_READER + binding("RoleBinding",
        "[{kind: Group, name: g, apiGroup: rbac.authorization.k8s.io}]", role, ""))));
    for (String r : List.of("cluster-admin", "admin", "edit", "system:kube-controller-manager", "system:node",
        "system:controller:clusterrole-aggregation-controller", "system:controller:anything-new",
        "system:aggregate-to-edit", "system:certificates.k8s.io:kube-apiserver-client-approver")) {
      assertEquals(Set.of("privileged-roleref"), ids(LINTER.lintYaml(binding("ClusterRoleBinding",
          "[{kind: Group, name: g}]", "{kind: ClusterRole, name: '" + r + "'}", ""))), r);
    }
    for (String r : List.of("view", "system:basic-user", "system:kube-scheduler", "clusteradmin", "Cluster-admin")) {
      assertEquals(Set.of(), ids(LINTER.lintYaml(binding("ClusterRoleBinding", "[{kind: Group, name: g}]",
          "{kind: ClusterRole, name: '" + r + "'}", ""))), r);
    }
    String managed = "  labels: {app.kubernetes.io/managed-by: kubejit}\n";
    assertEquals(Set.of("jit-no-expiry"), ids(LINTER.lintYaml(POD_READER + binding("RoleBinding",
        "[{kind: Group, name: g}]", role, managed))));
    assertEquals(Set.of("jit-no-expiry"), ids(LINTER.lintYaml(POD_READER + binding("RoleBinding",
        "[{kind: Group, name: g}]", role, managed + "  annotations: {kubejit.dev/expires-at: tomorrow}\n"))));
    assertEquals(Set.of("cluster-scoped-jit"), ids(LINTER.lintYaml(
        "kind: ClusterRole\nmetadata: {name: x, labels: {app.kubernetes.io/managed-by: kubejit}}\n"
            + "rules: [{apiGroups: [''], resources: [nodes], verbs: [get]}]\n---\n"
            + binding("ClusterRoleBinding", "[{kind: Group, name: g}]", "{kind: ClusterRole, name: x}",
            managed + "  annotations: {kubejit.dev/expires-at: '2024-01-01T01:00:00Z'}\n"))));
    assertEquals(Set.of("malformed"), ids(LINTER.lintYaml("kind: RoleBinding\nmetadata: {name: x}\n")));
    assertEquals(Set.of("malformed"), ids(LINTER.lintYaml(POD_READER + binding("RoleBinding",
        "[{kind: group, name: g}]", role, ""))));
    assertEquals(Set.of("malformed"), ids(LINTER.lintYaml(binding("ClusterRoleBinding",
        "[{kind: Group, name: g}]", "{kind: Role, name: r}", ""))));
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
    "Group|system:authenticated|broad-subject",
    "Group|system:unauthenticated|broad-subject",
    "Group|system:serviceaccounts|broad-subject",
    "Group|system:serviceaccounts:kube-system|broad-subject",
    "Group|system:serviceaccounts:team-a|broad-subject",
    "Group|system:masters|broad-subject",
    "Group|system:nodes|broad-subject",
    "Group|system:bootstrappers|broad-subject",
    "Group|system:bootstrappers:kubeadm:default-node-token|broad-subject",
    "User|system:anonymous|user-subject",
    "User|alice|user-subject",
  })
  void populationsAndUsersAreRefusedAsSubjects(String kind, String name, String id) {
    List<Finding> f = LINTER.lintYaml(POD_READER + binding("RoleBinding", "[{kind: " + kind + ", name: '" + name
        + "'}]", "{kind: Role, name: r}", ""));
    assertEquals(Set.of(id), ids(f), f.toString());
    // The built-in discovery roles are the only ones a population may hold.
    List<Finding> discovery = LINTER.lintYaml(binding("ClusterRoleBinding", "[{kind: " + kind + ", name: '" + name
        + "'}]", "{kind: ClusterRole, name: 'system:discovery'}", ""));
    assertEquals(kind.equals("Group") ? Set.of() : Set.of("user-subject"), ids(discovery), discovery.toString());
  }

  @Test
  void aPublicRoleNameDoesNotExcuseAPopulationBindingToForgedRules() {
    String yaml = "kind: ClusterRole\nmetadata: {name: 'system:discovery'}\nrules: [{apiGroups: [''], resources:"
        + " [secrets], verbs: [get]}]\n---\n" + binding("ClusterRoleBinding",
        "[{kind: Group, name: 'system:authenticated'}]", "{kind: ClusterRole, name: 'system:discovery'}", "");
    assertEquals(Set.of("secrets-read", "broad-subject"), ids(LINTER.lintYaml(yaml)));
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
    "ServiceAccount|robot",
    "User|alice",
    "Group|system:authenticated",
    "Group|system:kubejit",
    "Group|SYSTEM:masters",
    "Group|team a",
  })
  void jitBindingsNameOnlyTheirOwnGroups(String kind, String name) {
    String yaml = POD_READER + binding("RoleBinding", "[{kind: " + kind + ", name: '" + name + "', namespace: ns}]",
        "{kind: Role, name: r}", "  labels: {app.kubernetes.io/managed-by: kubejit}\n"
            + "  annotations: {kubejit.dev/expires-at: '2024-01-01T01:00:00Z'}\n");
    List<Finding> f = LINTER.lintYaml(yaml);
    assertTrue(ids(f).contains("jit-subject"), f.toString());
    // The same binding to a plain team group is clean.
    assertEquals(List.of(), LINTER.lintYaml(yaml.replace("kind: " + kind + ", name: '" + name + "'",
        "kind: Group, name: 'jit:oncall:ns'")));
  }

  @Test
  void jitBindingToARoleOutsideTheSnapshotIsAnError() {
    String managed = "  labels: {app.kubernetes.io/managed-by: kubejit}\n"
        + "  annotations: {kubejit.dev/expires-at: '2024-01-01T01:00:00Z'}\n";
    assertEquals(Set.of("unknown-roleref"), ids(LINTER.lintYaml(binding("RoleBinding", "[{kind: Group, name: g}]",
        "{kind: Role, name: elsewhere}", managed))));
    assertEquals(Set.of("unknown-roleref"), ids(LINTER.lintYaml(binding("RoleBinding", "[{kind: Group, name: g}]",
        "{kind: ClusterRole, name: view}", managed))));
    assertEquals(Set.of("unknown-roleref", "cluster-scoped-jit"), ids(LINTER.lintYaml(binding("ClusterRoleBinding",
        "[{kind: Group, name: g}]", "{kind: ClusterRole, name: my-role}", managed))));
    // The same binding without the KubeJIT label is someone else's: nothing to say without its role.
    assertEquals(Set.of(), ids(LINTER.lintYaml(binding("ClusterRoleBinding", "[{kind: Group, name: g}]",
        "{kind: ClusterRole, name: my-role}", ""))));
  }

  @Test
  void jitBindingMayReferOnlyToKubeJitsRoleOfTheSameGrant() {
    String binding = binding("RoleBinding", "[{kind: Group, name: g}]", "{kind: Role, name: r}",
        "  labels: {app.kubernetes.io/managed-by: kubejit, kubejit.dev/grant-id: g1}\n"
            + "  annotations: {kubejit.dev/expires-at: '2024-01-01T01:00:00Z'}\n");
    String rule = "rules: [{apiGroups: [''], resources: [pods], verbs: [get]}]\n---\n";
    // The broker's pair: both labelled, the same grant.
    assertEquals(Set.of(), ids(LINTER.lintYaml("kind: Role\nmetadata: {name: r, namespace: ns, labels: "
        + "{app.kubernetes.io/managed-by: kubejit, kubejit.dev/grant-id: g1}}\n" + rule + binding)));
    // A role present in the snapshot but not KubeJIT's (someone's, or a built-in one).
    List<Finding> foreign = LINTER.lintYaml("kind: Role\nmetadata: {name: r, namespace: ns}\n" + rule + binding);
    assertEquals(Set.of("unknown-roleref"), ids(foreign));
    assertTrue(foreign.get(0).message().contains("not KubeJIT's"), foreign.toString());
    // KubeJIT's role, but another grant's: a binding must not borrow it.
    List<Finding> borrowed = LINTER.lintYaml("kind: Role\nmetadata: {name: r, namespace: ns, labels: "
        + "{app.kubernetes.io/managed-by: kubejit, kubejit.dev/grant-id: g2}}\n" + rule + binding);
    assertEquals(Set.of("unknown-roleref"), ids(borrowed));
    assertTrue(borrowed.get(0).message().contains("grant 'g2'") || borrowed.get(0).message().contains("grant \"g2\""),
        borrowed.toString());
    // ... or a KubeJIT role that belongs to no grant.
    assertEquals(Set.of("unknown-roleref"), ids(LINTER.lintYaml("kind: Role\nmetadata: {name: r, namespace: ns, "
        + "labels: {app.kubernetes.io/managed-by: kubejit}}\n" + rule + binding)));
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
    "pods/exec|create", "pods/exec|get", "pods/attach|create", "pods/attach|get", "pods/portforward|create",
    "pods/proxy|get", "pods/proxy|delete", "services/proxy|create", "pods/ephemeralcontainers|patch",
    "pods/ephemeralcontainers|update", "pods|create", "pods|patch", "\"*/exec\"|create",
  })
  void execLikeAccessIsAnErrorOnlyBeyondOneNamespace(String resource, String verb) {
    String cr = "kind: ClusterRole\nmetadata: {name: c}\nrules: [{apiGroups: [''], resources: [" + resource
        + "], verbs: [" + verb + "]}]\n---\n";
    String crb = binding("ClusterRoleBinding", "[{kind: Group, name: g}]", "{kind: ClusterRole, name: c}", "");
    String rbOne = binding("RoleBinding", "[{kind: Group, name: g}]", "{kind: ClusterRole, name: c}", "");
    String rbSystem = rbOne.replace("namespace: ns", "namespace: kube-system");
    List<Finding> cluster = LINTER.lintYaml(cr + crb);
    assertTrue(cluster.stream().anyMatch(x -> x.id().equals("pod-exec") && x.isError()
        && x.kind().equals("ClusterRoleBinding")), cluster.toString());
    // kube-system is where reviewed break-glass grants go: a warning, not an error.
    List<Finding> kubeSystem = LINTER.lintYaml(cr + rbSystem);
    assertTrue(kubeSystem.stream().anyMatch(x -> x.id().equals("pod-exec")
        && x.severity() == Finding.Severity.WARNING && x.kind().equals("RoleBinding")), kubeSystem.toString());
    assertTrue(kubeSystem.stream().noneMatch(x -> x.id().equals("pod-exec") && x.isError()), kubeSystem.toString());
    List<Finding> one = LINTER.lintYaml(cr + rbOne);
    assertTrue(one.stream().noneMatch(x -> x.id().equals("pod-exec") && x.isError()), one.toString());
    assertTrue(one.stream().anyMatch(x -> x.id().equals("pod-exec") && x.kind().equals("ClusterRole")
        && x.severity() == Finding.Severity.WARNING), one.toString());
    // The same rule in a Role of an ordinary namespace is what a JIT grant is for.
    List<Finding> role = LINTER.lintYaml(role("['']", "[" + resource + "]", "[" + verb + "]"));
    assertTrue(role.stream().noneMatch(x -> x.id().equals("pod-exec")), role.toString());
    List<Finding> systemRole = LINTER.lintYaml(role("['']", "[" + resource + "]", "[" + verb + "]")
        .replace("namespace: ns", "namespace: kube-system"));
    assertTrue(systemRole.stream().anyMatch(x -> x.id().equals("pod-exec")
        && x.severity() == Finding.Severity.WARNING), systemRole.toString());
    assertTrue(systemRole.stream().noneMatch(x -> x.id().equals("pod-exec") && x.isError()), systemRole.toString());
  }

  @Test
  void unrelatedSubresourcesAreNotExecLike() {
    String cr = "kind: ClusterRole\nmetadata: {name: c}\nrules: [{apiGroups: [''], resources: [pods/log, pods/status,"
        + " services], verbs: [get, create]}]\n---\n";
    assertEquals(Set.of(), ids(LINTER.lintYaml(cr + binding("ClusterRoleBinding", "[{kind: Group, name: g}]",
        "{kind: ClusterRole, name: c}", ""))));
  }

  @ParameterizedTest
  @ValueSource(strings = {
    "{matchLabels: {rbac.authorization.k8s.io/aggregate-to-admin: 'true'}}",
    "{matchLabels: {rbac.authorization.k8s.io/aggregate-to-edit: 'true'}}",
    "{matchLabels: {rbac.authorization.k8s.io/aggregate-to-view: 'true', x: y}}",
    "{matchLabels: {rbac.authorization.k8s.io/aggregate-to-view: 'false'}}",
    "{matchLabels: {example.com/mine: 'true'}}",
    "{matchExpressions: [{key: rbac.authorization.k8s.io/aggregate-to-admin, operator: Exists}]}",
    "{matchExpressions: [{key: rbac.authorization.k8s.io/aggregate-to-view, operator: In, values: ['true']}]}",
    "{matchExpressions: [{key: anything, operator: DoesNotExist}]}",
    "{}",
    "not-a-map",
    "{matchLabels: [a, b]}",
  })
  void aggregationRulesThatCanPullInPrivilegeAreErrors(String selector) {
    String yaml = "kind: ClusterRole\nmetadata: {name: agg}\naggregationRule:\n  clusterRoleSelectors: [" + selector
        + "]\nrules: []\n";
    List<Finding> f = LINTER.lintYaml(yaml);
    assertEquals(Set.of("aggregation"), ids(f), f.toString());
    assertTrue(f.get(0).isError());
  }

  @Test
  void onlyTheViewAggregationLabelIsVetted() {
    String yaml = "kind: ClusterRole\nmetadata: {name: agg}\naggregationRule:\n  clusterRoleSelectors:\n"
        + "  - matchLabels: {rbac.authorization.k8s.io/aggregate-to-view: \"true\"}\nrules: []\n";
    assertEquals(List.of(), LINTER.lintYaml(yaml));
    assertEquals(List.of(), LINTER.lintYaml("kind: ClusterRole\nmetadata: {name: agg}\naggregationRule: {}\n"));
  }

  @Test
  void aggregatedRulesFromTheSnapshotAreChecked() {
    String yaml = String.join("---\n",
        "kind: ClusterRole\nmetadata: {name: view-like}\naggregationRule:\n  clusterRoleSelectors:\n"
            + "  - matchLabels: {rbac.authorization.k8s.io/aggregate-to-view: \"true\"}\n",
        "kind: ClusterRole\nmetadata: {name: sneaky, labels: {rbac.authorization.k8s.io/aggregate-to-view: \"true\"}}\n"
            + "rules: [{apiGroups: [''], resources: [secrets], verbs: [list]},"
            + " {apiGroups: [''], resources: [pods/exec], verbs: [create]}]\n",
        binding("ClusterRoleBinding", "[{kind: Group, name: g}]", "{kind: ClusterRole, name: view-like}", ""));
    List<Finding> f = LINTER.lintYaml(yaml);
    // view-like inherits secrets-read; sneaky feeds shared roles, so its exec is an error too; the
    // binding grants the aggregated exec in every namespace.
    assertTrue(f.stream().anyMatch(x -> x.name().equals("view-like") && x.id().equals("secrets-read")
        && x.message().contains("sneaky")), f.toString());
    assertTrue(f.stream().anyMatch(x -> x.name().equals("sneaky") && x.id().equals("pod-exec") && x.isError()),
        f.toString());
    assertTrue(f.stream().anyMatch(x -> x.kind().equals("ClusterRoleBinding") && x.id().equals("pod-exec")
        && x.isError()), f.toString());
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
    "['*']|[get]",
    "['/*']|[get]",
    "[/healthz, '*']|[get]",
    "[/metrics]|['*']",
  })
  void wildcardsInNonResourceRulesAreErrors(String urls, String verbs) {
    String yaml = "kind: ClusterRole\nmetadata: {name: c}\nrules: [{nonResourceURLs: " + urls + ", verbs: " + verbs
        + "}]\n";
    assertEquals(Set.of("wildcard"), ids(LINTER.lintYaml(yaml)));
  }

  @Test
  void narrowNonResourcePrefixesAreNotWildcards() {
    assertEquals(List.of(), LINTER.lintYaml("kind: ClusterRole\nmetadata: {name: c}\nrules: [{nonResourceURLs:"
        + " [/api, /api/*, /healthz/*], verbs: [get]}]\n"));
  }

  @Test
  void untrustedNamesAreEscapedInFindings() {
    String yaml = "kind: Role\nmetadata: {name: \"evil\\nERROR forged\", namespace: ns}\n"
        + "rules: [{apiGroups: [''], resources: [\"secrets\\u202e\", secrets], verbs: [get]}]\n";
    List<Finding> f = LINTER.lintYaml(yaml);
    assertEquals(Set.of("secrets-read"), ids(f));
    String text = f.get(0).toString();
    assertFalse(text.contains("\n"), text);
    assertFalse(text.contains("\u202e"), text);
    assertTrue(text.contains("\\u000a") || text.contains("\\n"), text);
  }

  private static String jitBinding(String created, String expires) {
    return POD_READER + binding("RoleBinding", "[{kind: Group, name: g}]", "{kind: Role, name: r}",
        (created == null ? "" : "  creationTimestamp: '" + created + "'\n")
            + "  labels: {app.kubernetes.io/managed-by: kubejit}\n  annotations: {kubejit.dev/expires-at: '" + expires
            + "'}\n");
  }

  @Test
  void expiryBoundaryIsExactlyTheMaximumFromNow() {
    // NOW + 8h exactly: allowed; 1 ns more: refused.
    assertEquals(Set.of(), ids(LINTER.lintYaml(jitBinding(null, "2024-01-01T08:00:00Z"))));
    assertEquals(Set.of("jit-expiry-too-long"), ids(LINTER.lintYaml(jitBinding(null,
        "2024-01-01T08:00:00.000000001Z"))));
    // An expiry already passed is not a lint error (the reaper removes it).
    assertEquals(Set.of(), ids(LINTER.lintYaml(jitBinding("2023-12-31T20:00:00Z", "2023-12-31T21:00:00Z"))));
  }

  @Test
  void aCreationTimestampInTheYamlNeverWidensTheBound() {
    // Issue #9 §3 reproduction: a forged creationTimestamp in 2139 and an expiry 6 h later.
    List<Finding> forged = LINTER.lintYaml(jitBinding("2139-12-31T22:00:00Z", "2140-01-01T04:00:00Z"));
    assertEquals(Set.of("jit-expiry-too-long", "jit-created-in-future"), ids(forged), forged.toString());
    // Created in the (plausible) past, expiring more than 8 h from now: measured from now.
    assertEquals(Set.of("jit-expiry-too-long"), ids(LINTER.lintYaml(jitBinding("2023-12-31T23:00:00Z",
        "2024-01-01T09:00:00Z"))));
    // A creation time only ever adds a finding: 7 h left but 9 h since creation is too long as well.
    assertEquals(Set.of("jit-expiry-too-long"), ids(LINTER.lintYaml(jitBinding("2023-12-31T22:00:00Z",
        "2024-01-01T07:00:00Z"))));
    assertEquals(Set.of(), ids(LINTER.lintYaml(jitBinding("2023-12-31T23:00:00Z", "2024-01-01T07:00:00Z"))));
    // Clock skew: up to 5 minutes in the future is tolerated, more is forged.
    assertEquals(Set.of(), ids(LINTER.lintYaml(jitBinding("2024-01-01T00:05:00Z", "2024-01-01T01:00:00Z"))));
    assertEquals(Set.of("jit-created-in-future"), ids(LINTER.lintYaml(jitBinding("2024-01-01T00:05:01Z",
        "2024-01-01T01:00:00Z"))));
  }

  @Test
  void theLinterReadsNowFromTheInjectedClock() {
    String yaml = jitBinding(null, "2024-06-01T04:00:00Z");
    assertEquals(Set.of("jit-expiry-too-long"), ids(LINTER.lintYaml(yaml)));
    RbacLinter june = RbacLinter.builder().maxJitDuration(Duration.ofHours(8))
        .clock(Clock.fixed(java.time.Instant.parse("2024-06-01T00:00:00Z"), ZoneOffset.UTC)).build();
    assertEquals(Set.of(), ids(june.lintYaml(yaml)));
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
  void auditFollowsTheModel() {
    String yaml = String.join("---\n",
        "kind: ClusterRole\nmetadata: {name: exec}\nrules: [{apiGroups: [''], resources: [pods/exec], verbs: [create]}]\n",
        "kind: ClusterRoleBinding\nmetadata: {name: everywhere}\nroleRef: {kind: ClusterRole, name: exec}\n"
            + "subjects: [{kind: Group, name: 'system:authenticated'}]\n",
        "kind: RoleBinding\nmetadata: {name: one-ns, namespace: a}\nroleRef: {kind: ClusterRole, name: exec}\n"
            + "subjects: [{kind: Group, name: team}]\n",
        "kind: RoleBinding\nmetadata: {name: ctl, namespace: a}\nroleRef: {kind: ClusterRole,"
            + " name: 'system:controller:namespace-controller'}\nsubjects: [{kind: ServiceAccount, name: x}]\n");
    List<PrivilegedSubject> p = LINTER.audit(RbacSnapshot.fromYaml(yaml));
    assertEquals(List.of("Group system:authenticated via ClusterRoleBinding/everywhere -> ClusterRole/exec [pod-exec]",
        "ServiceAccount a/x via RoleBinding/a/ctl -> ClusterRole/system:controller:namespace-controller"
            + " [privileged-roleref]"),
        p.stream().map(PrivilegedSubject::toString).collect(Collectors.toList()));
  }

  @Test
  void builderIsStrict() {
    assertThrows(IllegalStateException.class, () -> RbacLinter.builder().build());
    assertThrows(IllegalArgumentException.class, () -> RbacLinter.builder().maxJitDuration(Duration.ZERO));
    assertThrows(IllegalArgumentException.class, () -> RbacLinter.builder().maxJitDuration(Duration.ofSeconds(-1)));
    IllegalArgumentException cap = assertThrows(IllegalArgumentException.class,
        () -> RbacLinter.builder().maxJitDuration(Duration.ofDays(366).plusNanos(1)));
    assertTrue(cap.getMessage().contains("366 days"), cap.getMessage());
    assertEquals(Duration.ofDays(366), RbacLinter.builder().maxJitDuration(Duration.ofDays(366)).build()
        .maxJitDuration());

    assertThrows(IllegalStateException.class,
        () -> RbacLinter.builder().maxJitDuration(Duration.ofHours(1)).maxJitDuration(Duration.ofHours(2)));
  }
}
