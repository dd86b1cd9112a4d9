package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import dev.kubejit.testing.Kubectl;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code deploy/gateway/} against a real API server: every object is accepted by
 * {@code kubectl apply --dry-run=server} (schema, defaulting and admission, nothing stored), and
 * with the ServiceAccount, Role and RoleBinding applied for real the API server itself answers
 * that the gateway's identity may read AccessRequests in its namespace and may not exec, attach,
 * port-forward or impersonate anywhere. The RBAC objects are deleted again in {@code finally}.
 */
@KubeTest
class GatewayManifestsKubeTest {
  private static final Path DIR = GatewayManifestsTest.DIR;

  @Test
  void theManifestsApplyWithServerDryRunAndTheServiceAccountCannotExec(KubeControlPlane cp) throws Exception {
    Path admin = cp.adminKubeconfig();
    Kubectl.Result ns = Kubectl.run(admin, null, "create", "namespace", GatewayManifestsTest.NS);
    if (ns.exit() != 0 && !ns.err().contains("AlreadyExists")) {
      ns.ok();
    }
    Kubectl.Result dry = Kubectl.run(admin, null, "apply", "--dry-run=server", "-f", DIR.toString());
    assertEquals(0, dry.exit(), dry.err());
    for (String object : List.of("serviceaccount/kubejit-gateway", "role.rbac.authorization.k8s.io/kubejit-gateway-store",
        "rolebinding.rbac.authorization.k8s.io/kubejit-gateway-store", "deployment.apps/kubejit-gateway",
        "service/kubejit-gateway", "configmap/kubejit-gateway-config", "persistentvolumeclaim/kubejit-gateway-data")) {
      assertTrue(dry.out().contains(object + " created (server dry run)"), object + " not in:\n" + dry.out());
    }
    Kubectl.Result nothing = Kubectl.run(admin, null, "-n", GatewayManifestsTest.NS, "get", "deployment", "kubejit-gateway");
    assertTrue(nothing.exit() != 0 && nothing.err().contains("NotFound"), "a dry run stores nothing");

    List<String> rbacFiles = List.of("-f", DIR.resolve("serviceaccount.yaml").toString(), "-f",
        DIR.resolve("role.yaml").toString());
    // kubectl auth can-i resolves "accessrequests.kubejit.dev" through discovery; without the CRD it
    // warns and asks about a core-group resource of that literal name, which no Role grants. The
    // CRD is cluster-wide and shared by the other kube tests in this JVM (they apply it the same way).
    Kubectl.run(admin, null, "apply", "-f", DIR.resolve("../crd-accessrequests.yaml").normalize().toString()).ok();
    Kubectl.run(admin, null, "wait", "--for=condition=Established", "--timeout=60s",
        "crd/accessrequests.kubejit.dev").ok();
    try {
      Kubectl.run(admin, null, DeployManifests.args(List.of("apply"), rbacFiles)).ok();
      // The API server's RBAC authorizer sees a new RoleBinding through its informer cache, a moment
      // after the apply returns: wait (bounded) until the binding is in effect, so that every "no"
      // below is the Role's answer and not that of a binding the authorizer has not seen yet.
      assertEquals("yes", awaitYes(admin, "list", "accessrequests.kubejit.dev", "-n", GatewayManifestsTest.NS));
      assertEquals("yes", canI(admin, "watch", "accessrequests.kubejit.dev", "-n", GatewayManifestsTest.NS));
      assertEquals("no", canI(admin, "update", "accessrequests.kubejit.dev", "-n", GatewayManifestsTest.NS));
      for (String ns2 : List.of(GatewayManifestsTest.NS, "payments", "default")) {
        for (String sub : List.of("exec", "attach", "portforward")) {
          assertEquals("no", canI(admin, "create", "pods", "--subresource=" + sub, "-n", ns2), sub + " in " + ns2);
          assertEquals("no", canI(admin, "get", "pods", "--subresource=" + sub, "-n", ns2), sub + " in " + ns2);
        }
        assertEquals("no", canI(admin, "get", "secrets", "-n", ns2));
      }
      for (String target : List.of("users", "groups", "serviceaccounts", "userextras.authentication.k8s.io/scopes",
          "uids.authentication.k8s.io")) {
        assertEquals("no", canI(admin, "impersonate", target), "impersonate " + target);
      }
    } finally {
      Kubectl.run(admin, null, DeployManifests.args(List.of("delete", "--ignore-not-found"), rbacFiles));
    }
  }

  private static String awaitYes(Path admin, String... args) throws Exception {
    return DeployManifests.awaitYes(admin, GatewayManifestsTest.SA_USER, GatewayManifestsTest.NS, args);
  }

  private static String canI(Path admin, String... args) throws Exception {
    return DeployManifests.canI(admin, GatewayManifestsTest.SA_USER, GatewayManifestsTest.NS, args);
  }
}
