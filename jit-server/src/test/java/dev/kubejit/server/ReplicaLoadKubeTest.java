package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.RbacAuthorizationV1Api;
import io.kubernetes.client.openapi.models.V1Role;
import io.kubernetes.client.openapi.models.V1RoleBinding;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Load with RBAC: 1,000 requests through two replicas on one PostgreSQL store, each approved twice
 * at once; {@value #ACTIVATIONS} of them activated twice at once against the real control plane
 * (each activation creates, verifies by SubjectAccessReview and later removes a Role and
 * RoleBinding, so all 1,000 would take too long on the test machine). While they are live there is
 * exactly one RoleBinding and one Role per won activation and none for anything else; after the
 * revocations none is left. See {@link ReplicaLoad} for the other checks.
 */
@KubeTest
class ReplicaLoadKubeTest {
  static final int ACTIVATIONS = 100;
  private static final String GRANT_LABEL = "kubejit.dev/grant-id";
  private static final String REQUEST_ANNOTATION = "kubejit.dev/request-id";

  @TempDir Path a;
  @TempDir Path b;

  @Test
  void thousandRequestsWithRacingActivationsAgainstRealRbac(KubeControlPlane cp) throws Exception {
    cp.ensureNamespace("payments");
    RbacAuthorizationV1Api rbac = new RbacAuthorizationV1Api(cp.adminClient());
    String clusters = "clusters:\n  prod:\n    kubeconfig: " + cp.adminKubeconfig() + "\n";
    Set<String> ours = ConcurrentHashMap.newKeySet();
    try {
      ReplicaLoad.Result r = new ReplicaLoad(1000, ACTIVATIONS, 32).run(a, b, clusters, active -> {
        ours.addAll(active.requestIds);
        try {
          Map<String, Integer> bindings = new HashMap<>();
          for (V1RoleBinding rb : own(rbac.listNamespacedRoleBinding("payments").labelSelector(GRANT_LABEL).execute()
              .getItems(), ours)) {
            for (var s : rb.getSubjects()) {
              bindings.merge(s.getName(), 1, Integer::sum);
            }
          }
          Set<String> groups = new HashSet<>(active.groups.values());
          assertEquals(groups, bindings.keySet(), "RoleBindings exist for exactly the won activations");
          bindings.forEach((g, n) -> assertEquals(1, n, "RoleBindings for " + g));
          Map<String, Integer> roles = new HashMap<>();
          for (V1Role role : own(rbac.listNamespacedRole("payments").labelSelector(GRANT_LABEL).execute().getItems(),
              ours)) {
            roles.merge(role.getMetadata().getLabels().get(GRANT_LABEL), 1, Integer::sum);
          }
          assertEquals(groups.size(), roles.size(), "one Role per grant");
          roles.forEach((g, n) -> assertEquals(1, n, "Roles of grant " + g));
          System.out.println("MEASURED replica load RBAC: " + bindings.size() + " RoleBindings and " + roles.size()
              + " Roles for " + groups.size() + " won activations, no duplicates");
        } catch (ApiException e) {
          throw new AssertionError("cannot list RBAC: HTTP " + e.getCode(), e);
        }
      });
      assertEquals(ACTIVATIONS, r.groups.size());
      assertEquals(List.of(), own(rbac.listNamespacedRoleBinding("payments").labelSelector(GRANT_LABEL).execute()
          .getItems(), ours), "no RoleBinding left after the revocations");
      assertEquals(List.of(), own(rbac.listNamespacedRole("payments").labelSelector(GRANT_LABEL).execute().getItems(),
          ours), "no Role left after the revocations");
    } finally {
      for (V1RoleBinding rb : own(rbac.listNamespacedRoleBinding("payments").labelSelector(GRANT_LABEL).execute()
          .getItems(), ours)) {
        rbac.deleteNamespacedRoleBinding(rb.getMetadata().getName(), "payments").execute();
      }
      for (V1Role role : own(rbac.listNamespacedRole("payments").labelSelector(GRANT_LABEL).execute().getItems(),
          ours)) {
        rbac.deleteNamespacedRole(role.getMetadata().getName(), "payments").execute();
      }
    }
  }

  /**
   * The objects made for this run's requests. Other tests in this JVM share the control plane and
   * the namespace, so only the request-id annotation, which every activation of a request (winner
   * or loser) writes on its Role and RoleBinding, tells this run's objects from theirs.
   */
  private static <T extends KubernetesObject> List<T> own(List<T> items, Set<String> requestIds) {
    List<T> out = new ArrayList<>();
    for (T item : items) {
      Map<String, String> ann = item.getMetadata().getAnnotations();
      if (ann != null && requestIds.contains(ann.get(REQUEST_ANNOTATION))) {
        out.add(item);
      }
    }
    return out;
  }
}
