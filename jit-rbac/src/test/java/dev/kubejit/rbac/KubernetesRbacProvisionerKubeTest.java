package dev.kubejit.rbac;

import dev.kubejit.testing.Kubectl;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.EndCause;
import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.ManagedRbac;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.AuthorizationV1Api;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.apis.RbacAuthorizationV1Api;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1Role;
import io.kubernetes.client.openapi.models.V1RoleBinding;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

@KubeTest
class KubernetesRbacProvisionerKubeTest {
  static void namespace(ApiClient admin, String ns) throws ApiException {
    try {
      new CoreV1Api(admin).createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name(ns))).execute();
    } catch (ApiException e) {
      if (e.getCode() != 409) {
        throw e;
      }
    }
  }

  static boolean can(KubeControlPlane cp, Grant g, String verb, String resource, String sub, String ns) {
    AccessQuery.Builder b = AccessQuery.builder(g.holder().user()).groups(g.subjectGroup()).exactGroups()
        .resource(verb, "", resource).namespace(ns);
    if (sub != null) {
      b.subresource(sub);
    }
    return KubernetesRbacProvisioner.sar(new AuthorizationV1Api(cp.adminClient()), b.build());
  }

  private static KubernetesRbacProvisioner provisioner(KubeControlPlane cp) {
    return KubernetesRbacProvisioner.builder(cp.adminClient()).maxGrantDuration(Duration.ofHours(8)).build();
  }

  static boolean canNamed(KubeControlPlane cp, Grant g, String verb, String resource, String sub, String ns,
      String name) {
    AccessQuery.Builder b = AccessQuery.builder(g.holder().user()).groups(g.subjectGroup()).exactGroups()
        .resource(verb, "", resource).namespace(ns).name(name);
    if (sub != null) {
      b.subresource(sub);
    }
    return KubernetesRbacProvisioner.sar(new AuthorizationV1Api(cp.adminClient()), b.build());
  }

  @Test
  void podPinnedGrantReachesOnlyThatPod(KubeControlPlane cp) throws Exception {
    namespace(cp.adminClient(), "prov-pin");
    Grant base = Fixtures.grant("prov-pin", "oncall-debug", Instant.now(), Duration.ofMinutes(30));
    Grant g = base.toBuilder().scope(base.scope().withPod("checkout-7d9f")).build();
    provisioner(cp).provision(g); // its own SubjectAccessReview verification includes the pinned checks
    assertTrue(canNamed(cp, g, "create", "pods", "exec", "prov-pin", "checkout-7d9f"));
    assertTrue(canNamed(cp, g, "get", "pods", "log", "prov-pin", "checkout-7d9f"));
    assertTrue(canNamed(cp, g, "get", "pods", null, "prov-pin", "checkout-7d9f"));
    assertFalse(canNamed(cp, g, "create", "pods", "exec", "prov-pin", "payments-db-0"));
    assertFalse(canNamed(cp, g, "get", "pods", "log", "prov-pin", "payments-db-0"));
    assertFalse(can(cp, g, "list", "pods", null, "prov-pin"));
    assertTrue(can(cp, g, "list", "events", null, "prov-pin"), "context that names no pod stays readable");
    provisioner(cp).deprovision(g, EndCause.REVOKED);
  }

  @Test
  void grantAllowsThenRevokeDenies(KubeControlPlane cp) throws Exception {
    namespace(cp.adminClient(), "prov-a");
    Grant g = Fixtures.grant("prov-a", "jit-debug", Instant.now(), Duration.ofMinutes(30));
    KubernetesRbacProvisioner p = provisioner(cp);
    assertFalse(can(cp, g, "create", "pods", "exec", "prov-a"));
    p.provision(g);
    assertTrue(can(cp, g, "create", "pods", "exec", "prov-a"));
    assertTrue(can(cp, g, "get", "pods", "log", "prov-a"));
    assertFalse(can(cp, g, "get", "secrets", null, "prov-a"));
    assertFalse(can(cp, g, "create", "pods", "exec", "default"));

    RbacAuthorizationV1Api rbac = new RbacAuthorizationV1Api(cp.adminClient());
    String name = "kubejit-jit-debug-" + g.id().value();
    V1Role role = rbac.readNamespacedRole(name, "prov-a").execute();
    V1RoleBinding rb = rbac.readNamespacedRoleBinding(name, "prov-a").execute();
    assertEquals(role.getMetadata().getUid(), rb.getMetadata().getOwnerReferences().get(0).getUid());

    p.provision(g); // idempotent: replaces the existing objects
    assertEquals(role.getMetadata().getUid(), rbac.readNamespacedRole(name, "prov-a").execute().getMetadata().getUid());

    p.deprovision(g, EndCause.REVOKED);
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (can(cp, g, "create", "pods", "exec", "prov-a") && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    assertFalse(can(cp, g, "create", "pods", "exec", "prov-a"));
    p.deprovision(g, EndCause.REVOKED); // 404 counts as done
    assertEquals(404, assertThrows(ApiException.class,
        () -> rbac.readNamespacedRole(name, "prov-a").execute()).getCode());
  }

  @Test
  void conflictsOnApplyAreRetried(KubeControlPlane cp) throws Exception {
    namespace(cp.adminClient(), "prov-b");
    Grant g = Fixtures.grant("prov-b", "logs-reader", Instant.now(), Duration.ofMinutes(30));
    KubernetesRbacProvisioner p = provisioner(cp);
    p.provision(g);
    RbacAuthorizationV1Api rbac = new RbacAuthorizationV1Api(cp.adminClient());
    String name = "kubejit-logs-reader-" + g.id().value();
    AtomicBoolean raced = new AtomicBoolean();
    // A concurrent writer updates the role between our read and our replace: the replace gets 409.
    p.ops().beforeReplace = () -> {
      if (raced.compareAndSet(false, true)) {
        try {
          V1Role r = rbac.readNamespacedRole(name, "prov-b").execute();
          r.getMetadata().putAnnotationsItem("touched-by", "concurrent-writer");
          rbac.replaceNamespacedRole(name, "prov-b", r).execute();
        } catch (ApiException e) {
          throw new IllegalStateException(e);
        }
      }
    };
    int before = p.conflictRetries();
    p.provision(g);
    assertTrue(raced.get());
    assertTrue(p.conflictRetries() > before, "the 409 must have been retried");
    assertTrue(can(cp, g, "get", "pods", "log", "prov-b"));
    V1Role after = rbac.readNamespacedRole(name, "prov-b").execute();
    assertFalse(after.getMetadata().getAnnotations().containsKey("touched-by"), "our replace won after the retry");
    p.deprovision(g, EndCause.REVOKED);
  }

  @Test
  void foreignObjectsAreNeverReplaced(KubeControlPlane cp) throws Exception {
    namespace(cp.adminClient(), "prov-c");
    Grant g = Fixtures.grant("prov-c", "jit-debug", Instant.now(), Duration.ofMinutes(30));
    RbacAuthorizationV1Api rbac = new RbacAuthorizationV1Api(cp.adminClient());
    String name = "kubejit-jit-debug-" + g.id().value();
    rbac.createNamespacedRole("prov-c", new V1Role().metadata(new V1ObjectMeta().name(name))).execute();
    RbacException e = assertThrows(RbacException.class, () -> provisioner(cp).provision(g));
    assertTrue(e.getMessage().contains("not managed by KubeJIT"), e.getMessage());
    assertTrue(rbac.readNamespacedRole(name, "prov-c").execute().getRules() == null, "the foreign role is untouched");
  }

  /**
   * A loopback server socket that accepts and immediately closes every connection, counting them:
   * a client pointed at it proves whether any request was attempted.
   */
  static final class ConnectionRecorder implements AutoCloseable {
    final java.net.ServerSocket socket;
    final java.util.concurrent.atomic.AtomicInteger accepted = new java.util.concurrent.atomic.AtomicInteger();
    private final Thread acceptor;

    ConnectionRecorder() throws java.io.IOException {
      socket = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
      acceptor = new Thread(() -> {
        while (!socket.isClosed()) {
          try (java.net.Socket s = socket.accept()) {
            accepted.incrementAndGet();
          } catch (java.io.IOException e) {
            // closed
          }
        }
      }, "connection-recorder");
      acceptor.setDaemon(true);
      acceptor.start();
    }

    String url() {
      return "https://127.0.0.1:" + socket.getLocalPort();
    }

    /**
     * Connections made before this call, excluding a sentinel connection opened here: the kernel
     * queues connections in order, so once the sentinel is accepted every earlier one has been.
     */
    int connectionsSoFar() throws Exception {
      int before = accepted.get();
      try (java.net.Socket sentinel = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(),
          socket.getLocalPort())) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (accepted.get() <= before) {
          if (System.nanoTime() > deadline) {
            throw new AssertionError("the recorder did not accept its sentinel connection within 10 s");
          }
          Thread.sleep(10);
        }
      }
      return accepted.get() - 1;
    }

    @Override
    public void close() throws Exception {
      socket.close();
      acceptor.join(5000);
    }
  }

  @Test
  void invalidInputAndLinterErrorsAreRefusedBeforeAnyApiCall() throws Exception {
    try (ConnectionRecorder server = new ConnectionRecorder()) {
      ApiClient recorded = new ApiClient().setBasePath(server.url());
      KubernetesRbacProvisioner p = KubernetesRbacProvisioner.builder(recorded).maxGrantDuration(Duration.ofHours(1))
          .retries(1, Duration.ofMillis(1))
          .template(RbacTemplate.builder("secret-peek").rule(java.util.List.of(""), java.util.List.of("secrets"),
              java.util.List.of("get")).build())
          .template(RbacTemplate.builder("exec-everywhere").rule(java.util.List.of(""),
              java.util.List.of("pods/exec"), java.util.List.of("create")).clusterOnly().build())
          .allowClusterScope()
          .build();
      java.util.Map<String, org.junit.jupiter.api.function.Executable> refusals = new java.util.LinkedHashMap<>();
      java.util.Map<String, String> expected = new java.util.LinkedHashMap<>();
      refusals.put("lint", () -> p.provision(Fixtures.grant("x", "secret-peek", Instant.now(), Duration.ofMinutes(5))));
      expected.put("lint", "ERROR secrets-read Role x/kubejit-secret-peek-");
      refusals.put("cluster-exec", () -> p.provision(Fixtures.grant(null, "exec-everywhere", Instant.now(),
          Duration.ofMinutes(5))));
      expected.put("cluster-exec", "ERROR pod-exec ClusterRoleBinding kubejit-exec-everywhere-");
      refusals.put("too-long", () -> p.provision(Fixtures.grant("x", "jit-debug", Instant.now(), Duration.ofHours(2))));
      expected.put("too-long", "ERROR jit-expiry-too-long RoleBinding x/kubejit-jit-debug-");
      refusals.put("beyond-cap", () -> p.provision(Fixtures.grant("x", "jit-debug", Instant.now(),
          Duration.ofDays(400))));
      expected.put("beyond-cap", "more than the absolute maximum lifetime of 366 days");
      refusals.put("template", () -> p.provision(Fixtures.grant("x", "no-such-template", Instant.now(),
          Duration.ofMinutes(5))));
      expected.put("template", "unknown RBAC template \"no-such-template\"");
      refusals.put("no-template", () -> p.provision(Fixtures.grant("x", null, Instant.now(), Duration.ofMinutes(5))));
      expected.put("no-template", "names no RBAC template and no default template is set");
      refusals.put("cluster-not-requested", () -> p.provision(Fixtures.grant(null, "jit-debug", Instant.now(),
          Duration.ofMinutes(5))));
      expected.put("cluster-not-requested", "ERROR pod-exec ClusterRoleBinding kubejit-jit-debug-");
      KubernetesRbacProvisioner namespacedOnly = KubernetesRbacProvisioner.builder(recorded)
          .maxGrantDuration(Duration.ofHours(1)).build();
      refusals.put("cluster-not-allowed", () -> namespacedOnly.provision(Fixtures.grant(null, "jit-cluster-read",
          Instant.now(), Duration.ofMinutes(5))));
      expected.put("cluster-not-allowed", "was not built with allowClusterScope()");
      for (java.util.Map.Entry<String, org.junit.jupiter.api.function.Executable> r : refusals.entrySet()) {
        RbacException e = assertThrows(RbacException.class, r.getValue(), r.getKey());
        assertTrue(e.getMessage().contains(expected.get(r.getKey())), r.getKey() + ": " + e.getMessage());
      }
      assertEquals(0, server.connectionsSoFar(), "a refused grant must not reach the API server");

      // Control: the recorder does see a client that really calls the API (so the zero above can fail).
      // It drops every connection, which the provisioner reports as an unreachable API server.
      assertThrows(dev.kubejit.api.ProvisionerUnavailableException.class, () -> p.deprovision(Fixtures.grant("x", "jit-debug", Instant.now(),
          Duration.ofMinutes(5)), EndCause.REVOKED));
      assertTrue(server.connectionsSoFar() >= 1, "the recorder saw no connection from a real API call");
    }
  }

  @Test
  void maxGrantDurationIsCappedAtTheAbsoluteMaximum() {
    ApiClient c = new ApiClient();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> KubernetesRbacProvisioner.builder(c).maxGrantDuration(Duration.ofDays(366).plusSeconds(1)));
    assertTrue(e.getMessage().contains("366 days"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> KubernetesRbacProvisioner.builder(c)
        .maxGrantDuration(Duration.ZERO));
    KubernetesRbacProvisioner.builder(c).maxGrantDuration(Duration.ofDays(366)).build();
  }

  @Test
  void clusterScopedGrantWhenExplicitlyAllowed(KubeControlPlane cp) throws Exception {
    Grant g = Fixtures.grant(null, "jit-cluster-read", Instant.now(), Duration.ofMinutes(30));
    KubernetesRbacProvisioner p = KubernetesRbacProvisioner.builder(cp.adminClient())
        .maxGrantDuration(Duration.ofHours(8)).allowClusterScope().build();
    p.provision(g);
    AccessQuery nodes = AccessQuery.builder("x").groups(g.subjectGroup()).exactGroups().resource("list", "", "nodes")
        .build();
    assertTrue(KubernetesRbacProvisioner.sar(new AuthorizationV1Api(cp.adminClient()), nodes));
    p.deprovision(g, EndCause.REVOKED);
    assertEquals(404, assertThrows(ApiException.class, () -> new RbacAuthorizationV1Api(cp.adminClient())
        .readClusterRoleBinding("kubejit-jit-cluster-read-" + g.id().value()).execute()).getCode());
  }

  @Test
  void renderedYamlIsAcceptedByKubectlApply(KubeControlPlane cp) throws Exception {
    namespace(cp.adminClient(), "prov-d");
    Grant g = Fixtures.grant("prov-d", "oncall-debug", Instant.now(), Duration.ofMinutes(30));
    GeneratedRbac gen = RbacGenerator.builder(RbacTemplate.oncallDebug(true)).grant(g).group("jit:oncall:prov-d")
        .justification("INC-7: checkout \"latency\"\n").generate();
    Kubectl.Result r = Kubectl.run(cp.adminKubeconfig(), gen.toYaml(), "apply", "-f", "-");
    assertEquals(0, r.exit(), r.output());
    assertTrue(r.output().contains("role.rbac.authorization.k8s.io/" + gen.name() + " created"), r.output());
    assertTrue(r.output().contains("rolebinding.rbac.authorization.k8s.io/" + gen.name() + " created"), r.output());
    Kubectl.Result again = Kubectl.run(cp.adminKubeconfig(), gen.toYaml(), "apply", "-f", "-");
    assertEquals(0, again.exit(), again.output());
    assertTrue(again.output().contains("unchanged"), again.output());
    java.nio.file.Path erin = cp.kubeconfigFor("erin", "jit:oncall:prov-d");
    Kubectl.Result canI = Kubectl.run(erin, null, "auth", "can-i", "create", "pods", "--subresource=exec", "-n", "prov-d");
    long deadline = System.nanoTime() + 10_000_000_000L; // the authorizer's cache lags the write briefly
    while (!canI.output().strip().equals("yes") && System.nanoTime() < deadline) {
      Thread.sleep(100);
      canI = Kubectl.run(erin, null, "auth", "can-i", "create", "pods", "--subresource=exec", "-n", "prov-d");
    }
    assertEquals("yes", canI.output().strip());
    Kubectl.Result cannot = Kubectl.run(cp.kubeconfigFor("erin", "jit:oncall:prov-d"), null,
        "auth", "can-i", "get", "secrets", "-n", "prov-d");
    assertEquals("no", cannot.output().strip());
  }

  @Test
  void listManagedReportsEachGrantWithItsRequestCreationAndExpiryAndRemovesOneByIt(KubeControlPlane cp)
      throws Exception {
    String ns = "prov-list";
    namespace(cp.adminClient(), ns);
    KubernetesRbacProvisioner p = provisioner(cp);
    RbacAuthorizationV1Api rbac = new RbacAuthorizationV1Api(cp.adminClient());
    Grant g1 = Fixtures.grant(ns, "jit-debug", Instant.now(), Duration.ofMinutes(30));
    Grant g2 = Fixtures.grant(ns, "logs-reader", Instant.now(), Duration.ofMinutes(20));
    GrantId handMade = GrantId.random();
    String handName = "kubejit-hand-" + handMade.value();
    try {
      p.provision(g1);
      p.provision(g2);
      // A managed Role made by hand, whose request-id annotation is not a request id.
      rbac.createNamespacedRole(ns, new V1Role().metadata(new V1ObjectMeta().name(handName)
          .labels(Map.of("app.kubernetes.io/managed-by", "kubejit", "kubejit.dev/grant-id", handMade.value()))
          .annotations(Map.of("kubejit.dev/request-id", "not a request", "kubejit.dev/expires-at", "soon"))))
          .execute();

      Map<GrantId, ManagedRbac> listed = inNamespace(p, ns);
      assertEquals(3, listed.size(), listed.toString());
      for (Grant g : List.of(g1, g2)) {
        ManagedRbac m = listed.get(g.id());
        assertEquals(Optional.of(g.requestId()), m.requestId(), m.toString());
        assertEquals(Optional.of(ns), m.namespace());
        assertEquals(Optional.of(g.expiresAt()), m.expiresAt());
        String name = "kubejit-" + g.rbacTemplate().orElseThrow() + "-" + g.id().value();
        assertEquals(List.of("RoleBinding/" + ns + "/" + name, "Role/" + ns + "/" + name), m.objects());
        V1Role role = rbac.readNamespacedRole(name, ns).execute();
        V1RoleBinding binding = rbac.readNamespacedRoleBinding(name, ns).execute();
        Instant oldest = java.util.Collections.min(List.of(role.getMetadata().getCreationTimestamp().toInstant(),
            binding.getMetadata().getCreationTimestamp().toInstant()));
        assertEquals(oldest, m.createdAt(), "the oldest object's server-set creation time");
      }
      ManagedRbac hand = listed.get(handMade);
      assertEquals(Optional.empty(), hand.requestId(), "an unreadable request id is reported as absent");
      assertEquals(Optional.empty(), hand.expiresAt(), "and so is an unreadable expiry");

      p.deprovision(listed.get(g1.id()), EndCause.RECONCILED_AFTER_RESTART);
      String n1 = "kubejit-jit-debug-" + g1.id().value();
      assertEquals(404, assertThrows(ApiException.class, () -> rbac.readNamespacedRoleBinding(n1, ns).execute())
          .getCode());
      assertEquals(404, assertThrows(ApiException.class, () -> rbac.readNamespacedRole(n1, ns).execute()).getCode());
      p.deprovision(listed.get(g1.id()), EndCause.RECONCILED_AFTER_RESTART); // gone already counts as removed
      Map<GrantId, ManagedRbac> after = inNamespace(p, ns);
      assertEquals(java.util.Set.of(g2.id(), handMade), after.keySet(), "only that grant's objects went");
    } finally {
      p.deprovision(g1, EndCause.REVOKED);
      p.deprovision(g2, EndCause.REVOKED);
      try {
        rbac.deleteNamespacedRole(handName, ns).execute();
      } catch (ApiException gone) {
        // removed already
      }
    }
  }

  private static Map<GrantId, ManagedRbac> inNamespace(KubernetesRbacProvisioner p, String ns) {
    return p.listManaged().stream().filter(m -> m.namespace().equals(Optional.of(ns)))
        .collect(Collectors.toMap(ManagedRbac::grantId, m -> m));
  }
}
