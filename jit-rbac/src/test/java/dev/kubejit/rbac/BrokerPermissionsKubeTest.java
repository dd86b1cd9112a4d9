package dev.kubejit.rbac;

import static dev.kubejit.rbac.ExpiryReaperKubeTest.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.EndCause;
import dev.kubejit.api.Grant;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import dev.kubejit.testing.Kubectl;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.apis.AuthorizationV1Api;
import io.kubernetes.client.openapi.apis.RbacAuthorizationV1Api;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The broker's documented permissions ({@code deploy/rbac-kubejit-broker.yaml}), applied as they
 * are with the real kubectl and bound as the file says, are enough for every built-in namespaced
 * template, the verification reviews and the reaper — and no more: an unmanaged namespace, a
 * template beyond the grantable set, secrets and escalation are refused by the API server itself.
 */
@KubeTest
class BrokerPermissionsKubeTest {
  private static final String BROKER = "kubejit-broker";
  private static final String MANAGED = "perm-managed";
  private static final String UNMANAGED = "perm-unmanaged";
  private static final Path MANIFEST = Path.of("..", "deploy", "rbac-kubejit-broker.yaml");

  @BeforeAll
  static void applyManifestAndBindings(KubeControlPlane cp) throws Exception {
    assertTrue(Files.isRegularFile(MANIFEST), "missing " + MANIFEST.toAbsolutePath());
    KubernetesRbacProvisionerKubeTest.namespace(cp.adminClient(), MANAGED);
    KubernetesRbacProvisionerKubeTest.namespace(cp.adminClient(), UNMANAGED);
    Path admin = cp.adminKubeconfig();
    Kubectl.run(admin, null, "apply", "-f", MANIFEST.toString()).ok();
    kubectlIdempotent(admin, "create", "clusterrolebinding", "kubejit-broker-cluster",
        "--clusterrole=kubejit-broker-cluster", "--user=" + BROKER);
    kubectlIdempotent(admin, "-n", MANAGED, "create", "rolebinding", "kubejit-broker",
        "--clusterrole=kubejit-broker-namespace", "--user=" + BROKER);
    kubectlIdempotent(admin, "-n", "default", "create", "rolebinding", "kubejit-broker-lease",
        "--clusterrole=kubejit-broker-lease", "--user=" + BROKER);
  }

  private static void kubectlIdempotent(Path kubeconfig, String... args) throws Exception {
    Kubectl.Result r = Kubectl.run(kubeconfig, null, args);
    if (r.exit() != 0 && !r.err().contains("AlreadyExists")) {
      r.ok();
    }
  }

  private static KubernetesRbacProvisioner broker(KubeControlPlane cp, RbacTemplate... extra) {
    KubernetesRbacProvisioner.Builder b = KubernetesRbacProvisioner.builder(cp.clientFor(BROKER))
        .maxGrantDuration(Duration.ofHours(8))
        .template(RbacTemplate.oncallDebug(true));
    for (RbacTemplate t : extra) {
      b.template(t);
    }
    return b.build();
  }

  private static boolean brokerMay(KubeControlPlane cp, String verb, String group, String resource, String ns) {
    AccessQuery.Builder q = AccessQuery.builder(BROKER).resource(verb, group, resource);
    if (ns != null) {
      q.namespace(ns);
    }
    return KubernetesRbacProvisioner.sar(new AuthorizationV1Api(cp.adminClient()), q.build());
  }

  /** The grant's managed Roles and RoleBindings in {@code ns}, as the admin sees them. */
  private static List<String> managedObjects(KubeControlPlane cp, Grant g, String ns) throws Exception {
    RbacAuthorizationV1Api rbac = new RbacAuthorizationV1Api(cp.adminClient());
    String selector = Names.MANAGED_SELECTOR + "," + Names.GRANT_ID + "=" + g.id().value();
    List<String> out = new java.util.ArrayList<>();
    rbac.listNamespacedRole(ns).labelSelector(selector).execute().getItems()
        .forEach(r -> out.add("Role/" + r.getMetadata().getName()));
    rbac.listNamespacedRoleBinding(ns).labelSelector(selector).execute().getItems()
        .forEach(r -> out.add("RoleBinding/" + r.getMetadata().getName()));
    return out;
  }

  @Test
  void everyBuiltInNamespacedTemplateIsProvisionedAndRemovedWithExactlyTheseRights(KubeControlPlane cp)
      throws Exception {
    KubernetesRbacProvisioner p = broker(cp);
    for (String template : List.of(RbacTemplate.ONCALL_DEBUG, RbacTemplate.JIT_DEBUG, RbacTemplate.LOGS_READER)) {
      Grant g = Fixtures.grant(MANAGED, template, Instant.now(), Duration.ofMinutes(30));
      p.provision(g); // includes the provisioner's own SubjectAccessReview verification
      assertEquals(2, managedObjects(cp, g, MANAGED).size(), template);
      assertTrue(KubernetesRbacProvisionerKubeTest.can(cp, g, "get", "pods", "log", MANAGED), template);
      p.deprovision(g, EndCause.REVOKED);
      assertEquals(List.of(), managedObjects(cp, g, MANAGED), template);
    }
  }

  @Test
  void anUnmanagedNamespaceIsRefusedByTheApiServerAndLeavesNothing(KubeControlPlane cp) throws Exception {
    Grant g = Fixtures.grant(UNMANAGED, RbacTemplate.JIT_DEBUG, Instant.now(), Duration.ofMinutes(30));
    RbacException e = assertThrows(RbacException.class, () -> broker(cp).provision(g));
    assertTrue(e.getMessage().contains("403"), e.getMessage());
    assertEquals(List.of(), managedObjects(cp, g, UNMANAGED));
    assertFalse(KubernetesRbacProvisionerKubeTest.can(cp, g, "create", "pods", "exec", UNMANAGED));
  }

  @Test
  void aTemplateBeyondTheGrantableSetIsRefusedAsEscalation(KubeControlPlane cp) throws Exception {
    RbacTemplate services = RbacTemplate.builder("service-reader")
        .rule(List.of(""), List.of("services", "endpoints"), List.of("get", "list")).build();
    Grant g = Fixtures.grant(MANAGED, "service-reader", Instant.now(), Duration.ofMinutes(30));
    RbacException e = assertThrows(RbacException.class, () -> broker(cp, services).provision(g));
    assertTrue(e.getMessage().contains("403"), e.getMessage());
    assertEquals(List.of(), managedObjects(cp, g, MANAGED));
  }

  @Test
  void theBrokerHoldsNoSecretsNoEscalationAndNothingClusterWideBeyondWatching(KubeControlPlane cp) {
    assertFalse(brokerMay(cp, "get", "", "secrets", MANAGED));
    assertFalse(brokerMay(cp, "list", "", "secrets", null));
    assertFalse(brokerMay(cp, "escalate", "rbac.authorization.k8s.io", "roles", MANAGED));
    assertFalse(brokerMay(cp, "bind", "rbac.authorization.k8s.io", "roles", MANAGED));
    assertFalse(brokerMay(cp, "create", "rbac.authorization.k8s.io", "clusterrolebindings", null));
    assertFalse(brokerMay(cp, "create", "rbac.authorization.k8s.io", "rolebindings", UNMANAGED));
    assertFalse(brokerMay(cp, "impersonate", "", "users", null));
    assertFalse(brokerMay(cp, "create", "", "pods", MANAGED));
    assertTrue(brokerMay(cp, "watch", "rbac.authorization.k8s.io", "rolebindings", null));
    assertTrue(brokerMay(cp, "create", "rbac.authorization.k8s.io", "rolebindings", MANAGED));
  }

  @Test
  void theReaperElectsItselfWatchesAndDeletesWithTheseRights(KubeControlPlane cp) throws Exception {
    Clock clock = Clock.systemUTC();
    Grant g = Fixtures.grant(MANAGED, RbacTemplate.JIT_DEBUG, clock.instant(), Duration.ofSeconds(3));
    broker(cp).provision(g);
    ApiClient brokerClient = cp.clientFor(BROKER);
    try (ExpiryReaper r = ExpiryReaper.builder(brokerClient).auditSink(AuditSink.inMemory()).clock(clock)
        .clusterName("perm").identity("perm-reaper").leaseNamespace("default").leaseName("perm-reaper")
        .leaseDuration(Duration.ofSeconds(4)).renewDeadline(Duration.ofSeconds(3))
        .retryPeriod(Duration.ofMillis(500)).tick(Duration.ofMillis(500)).build()) {
      r.start();
      await("leadership under the lease role", Duration.ofSeconds(20), r::isLeader);
      await("the reaper deletes the expired grant", Duration.ofSeconds(30),
          () -> {
            try {
              return managedObjects(cp, g, MANAGED).isEmpty();
            } catch (Exception e) {
              throw new IllegalStateException(e);
            }
          });
    }
    assertFalse(KubernetesRbacProvisionerKubeTest.can(cp, g, "create", "pods", "exec", MANAGED));
  }
}
