package dev.kubejit.rbac;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import io.kubernetes.client.openapi.apis.AuthorizationV1Api;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
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

  @Test
  void evaluatorAgreesWithSubjectAccessReview(KubeControlPlane cp) throws Exception {
    String yaml;
    try (InputStream in = getClass().getResourceAsStream("agreement-rbac.yaml")) {
      yaml = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    Kubectl.Result r = Kubectl.run(cp.adminKubeconfig(), yaml, "apply", "-f", "-");
    assertEquals(0, r.exit, r.output);

    AuthorizationV1Api authz = new AuthorizationV1Api(cp.adminClient());
    AccessQuery probe = AccessQuery.builder("alice").resource("create", "", "pods").namespace("team-a").build();
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (!KubernetesRbacProvisioner.sar(authz, probe) && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
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
      boolean server = answers.get(i).get();
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
