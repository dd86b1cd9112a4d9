package dev.kubejit.rbac;

import dev.kubejit.testing.Kubectl;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.rbac.Defs.RoleDef;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.apis.AuthorizationV1Api;
import io.kubernetes.client.openapi.apis.RbacAuthorizationV1Api;
import io.kubernetes.client.openapi.models.V1ClusterRole;
import io.kubernetes.client.openapi.models.V1ClusterRoleBinding;
import io.kubernetes.client.openapi.models.V1RoleBinding;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checks the linter's model of "privileged" against a real API server: every permission the
 * escalation corpus is about is really granted (SubjectAccessReview), the dangerous neighbours of
 * the clean corpus are really refused, the ClusterRole aggregation controller really fills the
 * aggregating roles the linter flags, and the model's list of privileged built-in roles matches the
 * bootstrap policy the API server creates.
 */
@KubeTest
class PrivilegeModelKubeTest {
  private static final String NS = "kj-corpus";
  private static final Duration VISIBLE = Duration.ofSeconds(120);

  static void await(String what, Duration timeout, BooleanSupplier cond, java.util.function.Supplier<String> detail)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting for " + what + ": "
            + detail.get());
      }
      Thread.sleep(200);
    }
  }

  private static List<Corpus.Entry> applicable() {
    List<Corpus.Entry> all = new ArrayList<>(Corpus.load("escalation-corpus.yaml"));
    all.addAll(Corpus.load("clean-corpus.yaml"));
    return all.stream().filter(e -> e.apply).collect(Collectors.toList());
  }

  @Test
  void corpusPermissionsAreRealAndAggregationIsFilledByTheController(KubeControlPlane cp, @TempDir Path dir)
      throws Exception {
    ApiClient admin = cp.adminClient();
    KubernetesRbacProvisionerKubeTest.namespace(admin, NS);
    AuthorizationV1Api authz = new AuthorizationV1Api(admin);
    RbacAuthorizationV1Api rbac = new RbacAuthorizationV1Api(admin);
    List<Corpus.Entry> entries = applicable();
    String yaml = entries.stream().map(e -> e.objects).collect(Collectors.joining("\n---\n"));
    try (AggregationController controller = AggregationController.start(cp, dir)) {
      try {
        Kubectl.Result applied = Kubectl.run(cp.adminKubeconfig(), yaml, "apply", "-f", "-");
        assertEquals(0, applied.exit(), applied.output());

        // 1. Everything each entry is about is really granted (aggregated ones once the controller filled them).
        Map<String, Corpus.Request> allows = new TreeMap<>();
        for (Corpus.Entry e : entries) {
          for (int i = 0; i < e.allows.size(); i++) {
            allows.put(e.id + "#" + i, e.allows.get(i));
          }
        }
        assertTrue(allows.size() >= 50, "too few witnesses: " + allows.size());
        Set<String> pending = new TreeSet<>(allows.keySet());
        await("every corpus permission to be granted by the API server", VISIBLE, () -> {
          controller.requireAlive();
          pending.removeIf(k -> KubernetesRbacProvisioner.sar(authz, allows.get(k).query()));
          return pending.isEmpty();
        }, () -> pending.stream().map(k -> k + " " + allows.get(k)).collect(Collectors.joining("; "))
            + "\naggregation controller log:\n" + controller.logTail());

        // 2. With every binding visible, the dangerous neighbours of the clean entries are refused.
        List<String> wronglyAllowed = new ArrayList<>();
        int denies = 0;
        for (Corpus.Entry e : entries) {
          for (Corpus.Request r : e.denies) {
            denies++;
            if (KubernetesRbacProvisioner.sar(authz, r.query())) {
              wronglyAllowed.add(e.id + " " + r);
            }
          }
        }
        assertTrue(denies >= 15, "too few refusals checked: " + denies);
        assertEquals(List.of(), wronglyAllowed);

        // 3. The aggregating roles the linter flags from empty YAML rules were filled by the controller,
        // and the filled rules hold what the linter warned about.
        V1ClusterRole filledAdmin = rbac.readClusterRole("aggregate-to-admin").execute();
        assertFalse(filledAdmin.getRules() == null || filledAdmin.getRules().isEmpty(),
            "the controller did not fill aggregate-to-admin");
        RbacLinter linter = EscalationCorpusTest.LINTER;
        Set<String> filledIds = linter.lint(RbacSnapshot.of(List.of(filledAdmin))).stream()
            .filter(Finding::isError).map(Finding::id).collect(Collectors.toCollection(TreeSet::new));
        assertTrue(filledIds.containsAll(Set.of("aggregation", "rbac-write", "secrets-read", "workload-write")),
            "filled aggregate-to-admin: " + filledIds);
        V1ClusterRole filledView = rbac.readClusterRole("clean-aggregate-to-view").execute();
        assertFalse(filledView.getRules() == null || filledView.getRules().isEmpty(),
            "the controller did not fill clean-aggregate-to-view");
        List<Finding> viewFindings = linter.lint(RbacSnapshot.of(List.of(filledView)));
        assertFalse(RbacLinter.hasErrors(viewFindings), "aggregate-to-view filled with: " + viewFindings);

        // 4. In a cluster the creation time is the server's: the forged 2139 timestamp was not kept.
        V1RoleBinding forged = rbac.readNamespacedRoleBinding("jit-forged-future-creation", NS).execute();
        Instant created = forged.getMetadata().getCreationTimestamp().toInstant();
        assertTrue(created.isBefore(Instant.now().plusSeconds(300)), "server kept a forged timestamp: " + created);
      } finally {
        Kubectl.Result deleted = Kubectl.run(cp.adminKubeconfig(), yaml, "delete", "--ignore-not-found",
            "--wait=true", "-f", "-");
        assertEquals(0, deleted.exit(), deleted.output());
        // The controller takes the corpus's exec rule out of the built-in view again before it stops.
        await("the built-in view role to lose the corpus's aggregated exec rule", VISIBLE,
            () -> !KubernetesRbacProvisioner.sar(authz, AccessQuery.builder("u").groups("kjc:probe-view")
                .exactGroups().resource("create", "", "pods").subresource("exec").namespace(NS).build())
                && !viewHasExec(rbac), controller::logTail);
      }
    }
  }

  private static boolean viewHasExec(RbacAuthorizationV1Api rbac) {
    try {
      V1ClusterRole view = rbac.readClusterRole("view").execute();
      return view.getRules() != null && view.getRules().stream()
          .anyMatch(r -> r.getResources() != null && r.getResources().contains("pods/exec"));
    } catch (io.kubernetes.client.openapi.ApiException e) {
      throw new IllegalStateException("cannot read ClusterRole view: HTTP " + e.getCode(), e);
    }
  }

  @Test
  void privilegedBuiltInRolesMatchTheBootstrapPolicy(KubeControlPlane cp) throws Exception {
    RbacAuthorizationV1Api rbac = new RbacAuthorizationV1Api(cp.adminClient());
    List<V1ClusterRole> bootstrap = rbac.listClusterRole().labelSelector("kubernetes.io/bootstrapping=rbac-defaults")
        .execute().getItems();
    assertTrue(bootstrap.size() >= 40, "too few bootstrap ClusterRoles: " + bootstrap.size());
    RbacSnapshot snapshot = RbacSnapshot.of(bootstrap);
    RbacLinter.Index idx = new RbacLinter.Index(snapshot);
    Map<String, Set<String>> byRules = new TreeMap<>();
    for (RoleDef r : snapshot.roles()) {
      Set<String> why = new TreeSet<>();
      RbacLinter.roleChecks(r, idx).stream().filter(RbacLinter.Check::isError).forEach(c -> why.add(c.id));
      idx.hits(r).forEach(h -> why.add(h.cap.id));
      if (!why.isEmpty()) {
        byRules.put(r.name, why);
      }
    }
    Set<String> names = snapshot.roles().stream().map(r -> r.name).collect(Collectors.toCollection(TreeSet::new));
    System.out.println("Bootstrap ClusterRoles privileged by their rules: " + byRules);

    List<String> unlisted = byRules.keySet().stream().filter(n -> PrivilegeModel.privilegedRole(n).isEmpty())
        .map(n -> n + " " + byRules.get(n)).collect(Collectors.toList());
    assertEquals(List.of(), unlisted, "bootstrap roles with privileged rules that the model's data does not list");
    List<String> overListed = PrivilegeModel.PRIVILEGED_ROLES.keySet().stream()
        .filter(n -> names.contains(n) && !byRules.containsKey(n)).collect(Collectors.toList());
    assertEquals(List.of(), overListed, "roles the model lists as privileged whose bootstrap rules are harmless");
    for (String n : PrivilegeModel.PUBLIC_ROLES) {
      if (names.contains(n)) {
        assertFalse(byRules.containsKey(n), n + " is a discovery role for populations but holds " + byRules.get(n));
      }
    }
    for (String n : List.of("cluster-admin", "admin", "edit", "system:kube-controller-manager", "system:node",
        "system:controller:clusterrole-aggregation-controller", "system:aggregate-to-edit")) {
      assertTrue(byRules.containsKey(n), n + " should hold privileged rules on " + cp.serverUrl());
    }
    for (String n : List.of("view", "system:basic-user", "system:discovery", "system:public-info-viewer",
        "system:kube-scheduler", "system:node-proxier", "system:heapster")) {
      assertTrue(names.contains(n), n + " is a bootstrap ClusterRole");
      assertFalse(byRules.containsKey(n), n + " holds " + byRules.get(n));
    }

    // The API server's own population bindings go to discovery roles only (and system:masters to cluster-admin).
    List<V1ClusterRoleBinding> bindings = rbac.listClusterRoleBinding()
        .labelSelector("kubernetes.io/bootstrapping=rbac-defaults").execute().getItems();
    List<String> populationBindings = new ArrayList<>();
    for (V1ClusterRoleBinding b : bindings) {
      if (b.getSubjects() == null) {
        continue;
      }
      b.getSubjects().stream().filter(s -> "Group".equals(s.getKind()) && PrivilegeModel.broadGroup(s.getName()))
          .forEach(s -> populationBindings.add(s.getName() + "->" + b.getRoleRef().getName()));
    }
    assertTrue(populationBindings.contains("system:masters->cluster-admin"), populationBindings.toString());
    assertTrue(populationBindings.contains("system:authenticated->system:discovery"), populationBindings.toString());
    List<String> outsidePublic = populationBindings.stream()
        .filter(s -> !s.equals("system:masters->cluster-admin"))
        .filter(s -> !PrivilegeModel.PUBLIC_ROLES.contains(s.substring(s.indexOf("->") + 2)))
        .collect(Collectors.toList());
    assertEquals(List.of(), outsidePublic, "bootstrap population bindings outside the model's public roles");
  }
}
