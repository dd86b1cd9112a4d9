package dev.kubejit.rbac;

import dev.kubejit.testing.Kubectl;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import io.kubernetes.client.openapi.apis.AuthorizationV1Api;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * The key test: the offline evaluator must agree with the real API server's SubjectAccessReview on
 * every one of a large, seeded set of questions over realistic roles and bindings plus the
 * cluster's built-in bootstrap policy.
 */
@KubeTest
class RbacEvaluatorAgreementTest {
  private static final String[][] USERS = {
    {"alice"}, {"bob", "devs"}, {"carol"}, {"dave", "readers"}, {"erin", "ops"},
    {"system:serviceaccount:team-b:robot"}, {"system:serviceaccount:team-b:builder"},
    {"system:serviceaccount:team-a:ci"}, {"frank", "metrics"}, {"gina", "batchers"},
    {"hank", "viewers", "devs"}, {"system:anonymous"}, {"nobody"},
  };
  private static final String[] VERBS = {"get", "list", "watch", "create", "update", "patch", "delete"};
  private static final String[][] RESOURCES = {
    {"", "pods", null}, {"", "pods", "log"}, {"", "pods", "exec"}, {"", "pods", "portforward"},
    {"", "events", null}, {"", "secrets", null}, {"", "configmaps", null}, {"apps", "deployments", null},
    {"apps", "deployments", "scale"}, {"apps", "replicasets", "scale"}, {"extensions", "deployments", null},
    {"batch", "jobs", null}, {"batch", "cronjobs", null}, {"", "nodes", null}, {"", "namespaces", null},
    {"apps", "statefulsets", "scale"}, {"", "replicationcontrollers", "scale"},
  };
  private static final String[] NAMESPACES = {"team-a", "team-b", null};
  private static final String[] NAMES = {null, "app-config", "db-pass", "web-1"};
  private static final String[] PATHS = {
    "/kj-metrics", "/kj-metrics/x", "/kj-logs/", "/kj-logs/app", "/kj-logs", "/healthz", "/healthz/etcd",
    "/version", "/api", "/apis/apps", "/openapi/v2", "/metrics", "/livez", "/readyz",
  };

  /**
   * One request per binding that only that binding's first subject and its role's first rule
   * can allow, derived from the YAML by hand-written rules (not by the evaluator under test).
   */
  static Optional<AccessQuery> probe(Defs.BindingDef b, Defs.RoleDef role) {
    if (role == null || role.rules.isEmpty() || b.subjects.isEmpty()) {
      return Optional.empty();
    }
    Defs.SubjectDef s = b.subjects.get(0);
    AccessQuery.Builder q;
    switch (s.kind) {
      case "User":
        q = AccessQuery.builder(s.name);
        break;
      case "Group":
        q = AccessQuery.builder("kj-probe").groups(s.name);
        break;
      default:
        String ns = s.namespace == null || s.namespace.isEmpty() ? b.namespace : s.namespace;
        q = AccessQuery.builder("system:serviceaccount:" + ns + ":" + s.name);
        break;
    }
    q.exactGroups();
    Rule r = role.rules.get(0);
    String verb = r.verbs.stream().filter(v -> !v.equals("*")).findFirst().orElse("get");
    if (!r.nonResourceURLs.isEmpty()) {
      String url = r.nonResourceURLs.get(0);
      return Optional.of(q.nonResource(verb, url.endsWith("*") ? url.substring(0, url.length() - 1) + "x" : url)
          .build());
    }
    String group = r.apiGroups.get(0).equals("*") ? "" : r.apiGroups.get(0);
    String res = r.resources.get(0).equals("*") ? "pods" : r.resources.get(0).replace("*/", "deployments/");
    int slash = res.indexOf('/');
    q.resource(verb, group, slash < 0 ? res : res.substring(0, slash));
    if (slash >= 0) {
      q.subresource(res.substring(slash + 1));
    }
    q.namespace(b.namespace == null ? "team-a" : b.namespace);
    if (!r.resourceNames.isEmpty()) {
      q.name(r.resourceNames.get(0));
    }
    return Optional.of(q.build());
  }

  /** Waits until the authoriser allows a probe for every binding that grants anything, or fails naming the rest. */
  static void awaitEveryBindingVisible(AuthorizationV1Api authz, RbacSnapshot applied, RbacSnapshot cluster)
      throws InterruptedException {
    Map<String, Defs.RoleDef> roles = new HashMap<>();
    for (Defs.RoleDef r : cluster.roles()) {
      roles.put(r.ref(), r);
    }
    for (Defs.RoleDef r : applied.roles()) {
      roles.put(r.ref(), r);
    }
    Map<String, AccessQuery> probes = new TreeMap<>();
    List<String> grantNothing = new ArrayList<>();
    for (Defs.BindingDef b : applied.bindings()) {
      String key = "ClusterRole".equals(b.roleKind) ? "ClusterRole/" + b.roleName : "Role/" + b.namespace + "/" + b.roleName;
      Optional<AccessQuery> q = probe(b, roles.get(key));
      if (q.isPresent()) {
        probes.put(b.ref(), q.get());
      } else {
        grantNothing.add(b.ref());
      }
    }
    // The dangling binding's role does not exist; the built-in view role is empty until the
    // aggregation controller fills it (the shared control plane does not run it).
    Defs.RoleDef view = roles.get("ClusterRole/view");
    List<String> expectedNothing = new ArrayList<>(List.of("RoleBinding/team-b/dangling"));
    if (view == null || view.rules.isEmpty()) {
      expectedNothing.add(0, "RoleBinding/team-a/viewers");
    }
    assertEquals(expectedNothing, grantNothing, "bindings without a probe");
    assertEquals(applied.bindingCount() - expectedNothing.size(), probes.size());
    assertTrue(probes.size() >= 9, "too few probes: " + probes.size());
    long deadline = System.nanoTime() + 60_000_000_000L;
    Set<String> pending = new TreeSet<>(probes.keySet());
    while (true) {
      pending.removeIf(k -> KubernetesRbacProvisioner.sar(authz, probes.get(k)));
      if (pending.isEmpty()) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("bindings not visible to the authoriser after 60 s: " + pending.stream()
            .map(k -> k + " (" + probes.get(k) + ")").collect(Collectors.joining("; ")));
      }
      Thread.sleep(100);
    }
  }

  @Test
  void evaluatorAgreesWithSubjectAccessReview(KubeControlPlane cp) throws Exception {
    String yaml;
    try (InputStream in = getClass().getResourceAsStream("agreement-rbac.yaml")) {
      yaml = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    Kubectl.Result r = Kubectl.run(cp.adminKubeconfig(), yaml, "apply", "-f", "-");
    assertEquals(0, r.exit(), r.output());

    AuthorizationV1Api authz = new AuthorizationV1Api(cp.adminClient());
    awaitEveryBindingVisible(authz, RbacSnapshot.fromYaml(yaml), RbacSnapshot.fromCluster(cp.adminClient()));
    RbacEvaluator evaluator = RbacEvaluator.of(RbacSnapshot.fromCluster(cp.adminClient()));

    List<AccessQuery> queries = new ArrayList<>();
    Random rnd = new Random(20240101L);
    for (int i = 0; i < 1500; i++) {
      String[] u = USERS[rnd.nextInt(USERS.length)];
      String[] res = RESOURCES[rnd.nextInt(RESOURCES.length)];
      AccessQuery.Builder b = AccessQuery.builder(u[0]).groups(List.of(u).subList(1, u.length))
          .resource(VERBS[rnd.nextInt(VERBS.length)], res[0], res[1]);
      if (res[2] != null) {
        b.subresource(res[2]);
      }
      String ns = NAMESPACES[rnd.nextInt(NAMESPACES.length)];
      if (ns != null) {
        b.namespace(ns);
      }
      String name = NAMES[rnd.nextInt(NAMES.length)];
      if (name != null) {
        b.name(name);
      }
      queries.add(b.build());
    }
    for (String[] u : USERS) {
      for (String p : PATHS) {
        for (String v : new String[] {"get", "post"}) {
          queries.add(AccessQuery.builder(u[0]).groups(List.of(u).subList(1, u.length)).nonResource(v, p).build());
        }
      }
    }

    ExecutorService pool = Executors.newFixedThreadPool(8);
    List<Future<Boolean>> answers = new ArrayList<>();
    for (AccessQuery q : queries) {
      answers.add(pool.submit(() -> KubernetesRbacProvisioner.sar(authz, q)));
    }
    int agree = 0;
    int allowed = 0;
    List<String> disagreements = new ArrayList<>();
    for (int i = 0; i < queries.size(); i++) {
      boolean server = answers.get(i).get(60, java.util.concurrent.TimeUnit.SECONDS);
      AccessDecision local = evaluator.check(queries.get(i));
      if (server == local.allowed()) {
        agree++;
      } else {
        disagreements.add(queries.get(i) + " server=" + server + " local=" + local);
      }
      if (server) {
        allowed++;
      }
    }
    pool.shutdown();
    System.out.println("RBAC evaluator vs SubjectAccessReview: " + agree + "/" + queries.size()
        + " agree (" + allowed + " allowed, " + (queries.size() - allowed) + " denied)");
    assertEquals(List.of(), disagreements);
    assertEquals(queries.size(), agree);
    assertTrue(queries.size() >= 500);
    assertTrue(allowed >= 100, "too few allowed answers to be meaningful: " + allowed);
    assertTrue(queries.size() - allowed >= 100, "too few denied answers to be meaningful");
  }
}
