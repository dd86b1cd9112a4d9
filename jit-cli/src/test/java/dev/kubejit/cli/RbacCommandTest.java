package dev.kubejit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.Action;
import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Identity;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.Scope;
import dev.kubejit.rbac.KubernetesRbacProvisioner;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.apis.RbacAuthorizationV1Api;
import io.kubernetes.client.openapi.models.RbacV1Subject;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1RoleBinding;
import io.kubernetes.client.openapi.models.V1RoleRef;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

class RbacCommandTest {
  static final class Run {
    final int exit;
    final String out;
    final String err;

    Run(int exit, String out, String err) {
      this.exit = exit;
      this.out = out;
      this.err = err;
    }
  }

  static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = Main.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    int exit = cli.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void renderLintAndCanI(@TempDir Path dir) throws Exception {
    Run r = run("rbac", "render", "--template", "jit-debug", "--namespace", "payments", "--group", "jit:oncall:payments",
        "--ttl", "30m", "--grant-id", "abcdefghijklmnopqrstuvwxya");
    assertEquals(0, r.exit, r.err);
    assertTrue(r.out.contains("name: kubejit-jit-debug-abcdefghijklmnopqrstuvwxya"), r.out);
    Path f = dir.resolve("grant.yaml");
    Files.writeString(f, r.out);
    Run lint = run("rbac", "lint", f.toString());
    assertEquals(0, lint.exit, lint.out);
    assertTrue(lint.out.contains("0 errors"), lint.out);

    Run yes = run("rbac", "can-i", "--file", f.toString(), "--user", "erin", "--group", "jit:oncall:payments",
        "create", "pods/exec", "-n", "payments");
    assertEquals(0, yes.exit, yes.err);
    assertTrue(yes.out.startsWith("yes: allowed by RoleBinding/payments/kubejit-jit-debug-"), yes.out);
    Run no = run("rbac", "can-i", "--file", f.toString(), "--user", "erin", "--group", "jit:oncall:payments",
        "get", "secrets", "-n", "payments");
    assertEquals(1, no.exit);
    assertEquals("no", no.out.strip());

    assertFalse(r.out.contains("kubejit.dev/role"), r.out);
    Run withRole = run("rbac", "render", "--template", "jit-debug", "--namespace", "payments", "--group",
        "jit:oncall:payments", "--ttl", "30m", "--role", "oncall-debug");
    assertEquals(0, withRole.exit, withRole.err);
    assertEquals(2, withRole.out.lines().filter(l -> l.strip().equals("kubejit.dev/role: oncall-debug")).count(),
        "the Role and the RoleBinding name the policy role: " + withRole.out);
    Run badRole = run("rbac", "render", "--template", "jit-debug", "--namespace", "payments", "--group",
        "jit:oncall:payments", "--ttl", "30m", "--role", "on\ncall");
    assertEquals(1, badRole.exit, badRole.out);
    assertTrue(badRole.err.startsWith("kubejit: policy role must be"), badRole.err);

    Path bad = dir.resolve("bad.yaml");
    Files.writeString(bad, "kind: ClusterRoleBinding\nmetadata: {name: x}\nroleRef: {kind: ClusterRole, name: cluster-admin}\n"
        + "subjects: [{kind: User, name: bob}]\n");
    Run badLint = run("rbac", "lint", bad.toString());
    assertEquals(1, badLint.exit);
    assertTrue(badLint.out.contains("ERROR user-subject"), badLint.out);
    assertTrue(badLint.out.contains("ERROR privileged-roleref"), badLint.out);
  }

  @Test
  void refusalsAreOneLine() {
    Run r = run("rbac", "render", "--template", "jit-debug", "--namespace", "Bad_NS", "--group", "g", "--ttl", "30m");
    assertEquals(1, r.exit);
    assertTrue(r.err.startsWith("kubejit: namespace must be a DNS-1123 label"), r.err);
    assertEquals(1, r.err.strip().lines().count(), r.err);
    Run sys = run("rbac", "render", "--template", "jit-debug", "--namespace", "a", "--group", "system:masters",
        "--ttl", "30m");
    assertEquals(1, sys.exit);
    assertTrue(sys.err.contains("system:"), sys.err);
    Run ttl = run("rbac", "render", "--template", "jit-debug", "--namespace", "a", "--group", "g", "--ttl", "9h");
    assertEquals(1, ttl.exit);
    assertTrue(ttl.err.contains("--ttl 9h exceeds --max-ttl 8h"), ttl.err);
  }

  @ParameterizedTest
  @CsvSource({
    "999999h,999999h,--ttl", "30m,999999h,--max-ttl", "PT8785H,PT8785H,--ttl", "8785h,9000h,--ttl",
    "527041m,527041m,--ttl", "31622401s,31622401s,--ttl",
  })
  void lifetimesBeyondTheAbsoluteCapAreRefused(String ttl, String max, String which) {
    // Issue #9 §6: --ttl 999999h --max-ttl 999999h rendered an expiry in the year 2140.
    Run r = run("rbac", "render", "--template", "jit-debug", "--namespace", "default", "--group", "g", "--ttl", ttl,
        "--max-ttl", max);
    assertEquals(1, r.exit, r.out);
    assertEquals("", r.out);
    assertTrue(r.err.startsWith("kubejit: " + which + " "), r.err);
    assertTrue(r.err.contains("exceeds the absolute maximum lifetime of 366 days"), r.err);
    assertEquals(1, r.err.strip().lines().count(), r.err);
  }

  @Test
  void theAbsoluteCapItselfIsAllowed() {
    java.time.Instant before = java.time.Instant.now();
    Run r = run("rbac", "render", "--template", "jit-debug", "--namespace", "default", "--group", "g", "--ttl", "8784h",
        "--max-ttl", "8784h");
    java.time.Instant after = java.time.Instant.now();
    assertEquals(0, r.exit, r.err);
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("kubejit.dev/expires-at: '?([0-9TZ:.-]+)'?").matcher(r.out);
    assertTrue(m.find(), r.out);
    java.time.Instant exp = java.time.Instant.parse(m.group(1));
    assertTrue(!exp.isBefore(before.plus(java.time.Duration.ofDays(366)).minusSeconds(1))
        && !exp.isAfter(after.plus(java.time.Duration.ofDays(366))), exp.toString());
  }

  @Test
  void lintRefusesMaxTtlBeyondTheCap(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("empty.yaml");
    Files.writeString(f, "kind: ConfigMap\nmetadata: {name: x}\n");
    Run r = run("rbac", "lint", "--max-ttl", "9000h", f.toString());
    assertEquals(1, r.exit);
    assertTrue(r.err.contains("366 days"), r.err);
    Run ok = run("rbac", "lint", "--max-ttl", "8784h", f.toString());
    assertEquals(0, ok.exit, ok.err);
    assertTrue(ok.out.contains("0 findings, 0 errors"), ok.out);
  }

  /** Issue #9 §3: each of these linted with 0 errors before. */
  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
    "exec-crb|pod-exec",
    "ephemeral-patch|pod-exec",
    "authenticated|broad-subject",
    "unauthenticated|broad-subject",
    "aggregation-controller|privileged-roleref",
    "aggregate-to-admin|aggregation",
    "forged-created|jit-expiry-too-long",
    "non-resource-wildcard|wildcard",
    "serviceaccount-jit|jit-subject",
  })
  void lintFindsTheReportedEscalations(String which, String id, @TempDir Path dir) throws Exception {
    String crb = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: b\n";
    String jit = "  labels: {app.kubernetes.io/managed-by: kubejit}\n";
    String exp = "  annotations: {kubejit.dev/expires-at: '" + java.time.Instant.now().plusSeconds(600) + "'}\n";
    String yaml;
    switch (which) {
      case "exec-crb":
        yaml = "kind: ClusterRole\nmetadata: {name: r}\nrules: [{apiGroups: [''], resources: [pods/exec], verbs: [create]}]"
            + "\n---\n" + crb + jit + exp + "subjects: [{kind: Group, name: g}]\nroleRef: {kind: ClusterRole, name: r}\n";
        break;
      case "ephemeral-patch":
        yaml = "kind: ClusterRole\nmetadata: {name: r}\nrules: [{apiGroups: [''], resources: [pods/ephemeralcontainers],"
            + " verbs: [patch]}]\n---\n" + crb + "subjects: [{kind: Group, name: g}]\nroleRef: {kind: ClusterRole, name: r}\n";
        break;
      case "authenticated":
      case "unauthenticated":
        yaml = "kind: ClusterRole\nmetadata: {name: r}\nrules: [{apiGroups: [''], resources: [configmaps], verbs: [get]}]"
            + "\n---\n" + crb + "subjects: [{kind: Group, name: 'system:" + which + "'}]\nroleRef: {kind: ClusterRole, name: r}\n";
        break;
      case "aggregation-controller":
        yaml = crb + "subjects: [{kind: Group, name: g}]\n"
            + "roleRef: {kind: ClusterRole, name: 'system:controller:clusterrole-aggregation-controller'}\n";
        break;
      case "aggregate-to-admin":
        yaml = "kind: ClusterRole\nmetadata: {name: r}\naggregationRule:\n  clusterRoleSelectors:\n"
            + "  - matchLabels: {rbac.authorization.k8s.io/aggregate-to-admin: 'true'}\nrules: []\n";
        break;
      case "forged-created":
        yaml = "kind: Role\nmetadata: {name: r, namespace: a}\nrules: [{apiGroups: [''], resources: [pods/log], verbs: [get]}]"
            + "\n---\nkind: RoleBinding\nmetadata:\n  name: b\n  namespace: a\n  creationTimestamp: '2139-12-31T22:00:00Z'\n"
            + jit + "  annotations: {kubejit.dev/expires-at: '2140-01-01T04:00:00Z'}\n"
            + "subjects: [{kind: Group, name: g}]\nroleRef: {kind: Role, name: r}\n";
        break;
      case "non-resource-wildcard":
        yaml = "kind: ClusterRole\nmetadata: {name: r}\nrules: [{nonResourceURLs: ['*'], verbs: [get]}]\n";
        break;
      default:
        yaml = "kind: Role\nmetadata: {name: r, namespace: a}\nrules: [{apiGroups: [''], resources: [pods/log], verbs: [get]}]"
            + "\n---\nkind: RoleBinding\nmetadata:\n  name: b\n  namespace: a\n" + jit + exp
            + "subjects: [{kind: ServiceAccount, name: robot, namespace: a}]\nroleRef: {kind: Role, name: r}\n";
        break;
    }
    Path f = dir.resolve(which + ".yaml");
    Files.writeString(f, yaml);
    Run r = run("rbac", "lint", f.toString());
    assertEquals(1, r.exit, r.out);
    assertTrue(r.out.contains("ERROR " + id + " "), r.out);
    assertFalse(r.out.contains(" 0 errors"), r.out);
  }

  private static Grant grant(String ns, String template, Instant from, Instant until) {
    return Grant.builder().id(GrantId.random()).requestId(RequestId.random())
        .holder(Identity.of("alice@example.com", "oncall")).role("oncall").action(Action.EXEC)
        .scope(ns == null ? Scope.cluster("prod") : Scope.namespace("prod", ns)).window(from, until)
        .rbacTemplate(template).build();
  }

  private static V1ObjectMeta managed(String name, String ns, String expiresAt) {
    V1ObjectMeta m = new V1ObjectMeta().name(name).namespace(ns)
        .putLabelsItem("app.kubernetes.io/managed-by", "kubejit");
    if (expiresAt != null) {
      m.putAnnotationsItem("kubejit.dev/expires-at", expiresAt);
    }
    return m;
  }

  private static V1RoleBinding binding(V1ObjectMeta meta) {
    return new V1RoleBinding().metadata(meta)
        .roleRef(new V1RoleRef().apiGroup("rbac.authorization.k8s.io").kind("ClusterRole").name("view"))
        .subjects(List.of(new RbacV1Subject().kind("Group").apiGroup("rbac.authorization.k8s.io").name("jit:x")));
  }

  private static boolean exists(RbacAuthorizationV1Api rbac, String kind, String ns, String name) throws ApiException {
    try {
      if (kind.equals("ClusterRoleBinding")) {
        rbac.readClusterRoleBinding(name).execute();
      } else {
        rbac.readNamespacedRoleBinding(name, ns).execute();
      }
      return true;
    } catch (ApiException e) {
      if (e.getCode() == 404) {
        return false;
      }
      throw e;
    }
  }

  private static Set<String> managedBindings(RbacAuthorizationV1Api rbac) throws ApiException {
    Set<String> out = new TreeSet<>();
    rbac.listRoleBindingForAllNamespaces().labelSelector("app.kubernetes.io/managed-by=kubejit").execute().getItems()
        .forEach(b -> out.add("RoleBinding/" + b.getMetadata().getNamespace() + "/" + b.getMetadata().getName()));
    rbac.listClusterRoleBinding().labelSelector("app.kubernetes.io/managed-by=kubejit").execute().getItems()
        .forEach(b -> out.add("ClusterRoleBinding/" + b.getMetadata().getName()));
    return out;
  }

  @Test
  @KubeTest
  void auditAgainstTheRealApiServer(KubeControlPlane cp) {
    Run audit = run("rbac", "audit", "--kubeconfig", cp.adminKubeconfig().toString());
    assertEquals(0, audit.exit, audit.err);
    assertTrue(audit.out.contains("Group system:masters via ClusterRoleBinding/cluster-admin -> ClusterRole/cluster-admin"),
        audit.out);
    assertTrue(audit.out.contains("ServiceAccount kube-system/clusterrole-aggregation-controller via"
        + " ClusterRoleBinding/system:controller:clusterrole-aggregation-controller"), audit.out);
    assertFalse(audit.out.contains("system:discovery ["), audit.out);
  }

  /**
   * {@code reap --once} against the real API server deletes exactly the managed bindings that are
   * expired, carry no parseable expiry, or claim a lifetime beyond the absolute cap; it leaves live
   * grants and bindings KubeJIT does not manage alone.
   */
  @Test
  @KubeTest
  void reapOnceDeletesExactlyTheExpiredManagedBindings(KubeControlPlane cp) throws Exception {
    ApiClient admin = cp.adminClient();
    String ns = "cli-reap";
    new CoreV1Api(admin).createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name(ns))).execute();
    RbacAuthorizationV1Api rbac = new RbacAuthorizationV1Api(admin);
    assertEquals(Set.of(), managedBindings(rbac), "the cluster must hold no other KubeJIT bindings");
    Instant now = Instant.now();
    KubernetesRbacProvisioner p = KubernetesRbacProvisioner.builder(admin).maxGrantDuration(Duration.ofHours(8))
        .allowClusterScope().build();
    Grant expired = grant(ns, "jit-debug", now.minus(Duration.ofHours(2)), now.minus(Duration.ofHours(1)));
    Grant expiredCluster = grant(null, "jit-cluster-read", now.minus(Duration.ofHours(2)), now.minusSeconds(1));
    Grant live = grant(ns, "logs-reader", now, now.plus(Duration.ofHours(1)));
    p.provision(expired);
    p.provision(expiredCluster);
    p.provision(live);
    // Managed bindings made by hand: no expiry, an unparseable one, one beyond the 366-day cap.
    rbac.createNamespacedRoleBinding(ns, binding(managed("no-expiry", ns, null))).execute();
    rbac.createNamespacedRoleBinding(ns, binding(managed("bad-expiry", ns, "tomorrow"))).execute();
    rbac.createNamespacedRoleBinding(ns, binding(managed("year-2140", ns, "2140-01-01T04:00:00Z"))).execute();
    // A binding KubeJIT does not manage, with an expired-looking annotation: not ours, never touched.
    rbac.createNamespacedRoleBinding(ns, binding(new V1ObjectMeta().name("foreign").namespace(ns)
        .putAnnotationsItem("kubejit.dev/expires-at", "2020-01-01T00:00:00Z"))).execute();

    String expiredName = "kubejit-jit-debug-" + expired.id().value();
    String clusterName = "kubejit-jit-cluster-read-" + expiredCluster.id().value();
    String liveName = "kubejit-logs-reader-" + live.id().value();
    Set<String> expectedDeleted = new TreeSet<>(Set.of("RoleBinding/" + ns + "/" + expiredName,
        "ClusterRoleBinding/" + clusterName, "RoleBinding/" + ns + "/no-expiry", "RoleBinding/" + ns + "/bad-expiry",
        "RoleBinding/" + ns + "/year-2140"));
    Set<String> all = new TreeSet<>(expectedDeleted);
    all.add("RoleBinding/" + ns + "/" + liveName);
    assertEquals(all, managedBindings(rbac));

    Run reap = run("rbac", "reap", "--kubeconfig", cp.adminKubeconfig().toString(), "--once", "--cluster", "test");
    assertEquals(0, reap.exit, reap.err);
    assertTrue(reap.out.contains("\n5 expired bindings deleted"), reap.out);
    Set<String> reported = new TreeSet<>();
    for (String line : reap.out.lines().filter(l -> l.startsWith("GRANT_")).toList()) {
      reported.add(line.split(" ")[1]);
      assertTrue(line.startsWith("GRANT_RECONCILED ") && line.contains(" cause=RECONCILED_AFTER_RESTART"), line);
    }
    assertEquals(expectedDeleted, reported, reap.out);
    assertTrue(reap.out.lines().anyMatch(l -> l.contains("/year-2140 ") && l.contains("expiryRefused=\"beyond the"
        + " absolute maximum lifetime of 366 days\"")), reap.out);
    assertTrue(reap.out.lines().anyMatch(l -> l.contains(expiredName) && l.contains(" grant=" + expired.id())),
        reap.out);

    assertEquals(Set.of("RoleBinding/" + ns + "/" + liveName), managedBindings(rbac));
    assertTrue(exists(rbac, "RoleBinding", ns, liveName));
    assertTrue(exists(rbac, "RoleBinding", ns, "foreign"));
    assertFalse(exists(rbac, "RoleBinding", ns, expiredName));
    assertFalse(exists(rbac, "ClusterRoleBinding", null, clusterName));
    assertEquals(404, org.junit.jupiter.api.Assertions.assertThrows(ApiException.class,
        () -> rbac.readNamespacedRole(expiredName, ns).execute()).getCode(), "the expired grant's role goes too");
    assertEquals(404, org.junit.jupiter.api.Assertions.assertThrows(ApiException.class,
        () -> rbac.readClusterRole(clusterName).execute()).getCode());
    rbac.readNamespacedRole(liveName, ns).execute();

    Run again = run("rbac", "reap", "--kubeconfig", cp.adminKubeconfig().toString(), "--once");
    assertEquals(0, again.exit, again.err);
    assertEquals("0 expired bindings deleted", again.out.strip());
    p.deprovision(live, dev.kubejit.api.EndCause.REVOKED);
  }
}
