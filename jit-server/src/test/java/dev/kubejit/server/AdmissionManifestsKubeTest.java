package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import dev.kubejit.testing.Kubectl;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code deploy/admission/} against a real API server: every object of every file, the webhook
 * configurations included, is accepted by {@code kubectl apply --dry-run=server} (schema,
 * defaulting and admission, nothing stored), and with the ServiceAccount and its RBAC applied for
 * real the API server itself answers that the replicas' identity may get any Role or ClusterRole
 * but not list, write, bind or escalate them, may use the store in its namespace only, and may not
 * exec, read secrets or impersonate. The RBAC objects are deleted again in {@code finally}.
 */
@KubeTest
class AdmissionManifestsKubeTest {
  private static final Path DIR = AdmissionManifestsTest.DIR;
  private static final String NS = AdmissionManifestsTest.NS;

  @Test
  void everyManifestAppliesWithServerDryRunAndTheServiceAccountOnlyReadsRoles(KubeControlPlane cp) throws Exception {
    Path admin = cp.adminKubeconfig();
    Kubectl.Result ns = Kubectl.run(admin, null, "create", "namespace", NS);
    if (ns.exit() != 0 && !ns.err().contains("AlreadyExists")) {
      ns.ok();
    }
    // The test control plane is Kubernetes 1.20, which serves PodDisruptionBudget as policy/v1beta1
    // only (policy/v1 came in 1.21). The shipped pdb.yaml is policy/v1, what current clusters serve
    // (v1beta1 is gone since 1.25); here, and only here, it is dry-run as v1beta1, whose spec has the
    // same minAvailable and selector.
    boolean policyV1 = Kubectl.run(admin, null, "api-versions").ok().out().lines().anyMatch("policy/v1"::equals);
    StringBuilder created = new StringBuilder();
    List<Path> files = AdmissionManifestsTest.files();
    assertEquals(8, files.size(), files::toString);
    for (Path f : files) {
      String text = Files.readString(f);
      if (!policyV1 && f.getFileName().toString().equals("pdb.yaml")) {
        assertTrue(text.contains("\napiVersion: policy/v1\n"), text);
        text = text.replace("\napiVersion: policy/v1\n", "\napiVersion: policy/v1beta1\n");
      }
      Kubectl.Result dry = Kubectl.run(admin, text, "apply", "--dry-run=server", "-f", "-");
      assertEquals(0, dry.exit(), f + ": " + dry.err());
      created.append(dry.out());
    }
    for (String object : List.of("serviceaccount/kubejit", "role.rbac.authorization.k8s.io/kubejit-admission-store",
        "rolebinding.rbac.authorization.k8s.io/kubejit-admission-store",
        "clusterrole.rbac.authorization.k8s.io/kubejit-admission-role-lookup",
        "clusterrolebinding.rbac.authorization.k8s.io/kubejit-admission-role-lookup", "configmap/kubejit-config",
        "statefulset.apps/kubejit", "service/kubejit", "poddisruptionbudget.policy/kubejit",
        "validatingwebhookconfiguration.admissionregistration.k8s.io/kubejit-exec",
        "validatingwebhookconfiguration.admissionregistration.k8s.io/kubejit-rbac-guardrails")) {
      assertTrue(created.toString().contains(object + " created (server dry run)"), object + " not in:\n" + created);
    }
    Kubectl.Result nothing = Kubectl.run(admin, null, "-n", NS, "get", "statefulset", "kubejit");
    assertTrue(nothing.exit() != 0 && nothing.err().contains("NotFound"), "a dry run stores nothing");
    Kubectl.Result noWebhook = Kubectl.run(admin, null, "get", "validatingwebhookconfiguration", "kubejit-rbac-guardrails");
    assertTrue(noWebhook.exit() != 0 && noWebhook.err().contains("NotFound"), "a dry run registers no webhook");

    List<String> rbacFiles = List.of("-f", DIR.resolve("serviceaccount.yaml").toString(), "-f",
        DIR.resolve("role.yaml").toString());
    // can-i resolves accessrequests.kubejit.dev through discovery, so the CRD must be there (shared,
    // cluster-wide, applied the same way by the other kube tests in this JVM).
    Kubectl.run(admin, null, "apply", "-f", DIR.resolve("../crd-accessrequests.yaml").normalize().toString()).ok();
    Kubectl.run(admin, null, "wait", "--for=condition=Established", "--timeout=60s",
        "crd/accessrequests.kubejit.dev").ok();
    try {
      Kubectl.run(admin, null, DeployManifests.args(List.of("apply"), rbacFiles)).ok();
      // The RBAC authorizer sees new bindings through its informer a moment after the apply: wait
      // (bounded) until both are in effect, so that every "no" below is the roles' answer.
      assertEquals("yes", awaitYes(admin, "get", "clusterroles.rbac.authorization.k8s.io/cluster-admin"));
      assertEquals("yes", awaitYes(admin, "list", "accessrequests.kubejit.dev", "-n", NS));
      assertEquals("yes", canI(admin, "update", "accessrequests.kubejit.dev", "--subresource=status", "-n", NS));
      assertEquals("yes", canI(admin, "create", "leases.coordination.k8s.io", "-n", NS));
      assertEquals("no", canI(admin, "delete", "accessrequests.kubejit.dev", "-n", NS));
      for (String ns2 : List.of(NS, "payments", "kube-system")) {
        assertEquals("yes", canI(admin, "get", "roles.rbac.authorization.k8s.io/some-role", "-n", ns2), ns2);
        assertEquals("no", canI(admin, "list", "roles.rbac.authorization.k8s.io", "-n", ns2), ns2);
        for (String verb : List.of("create", "update", "delete", "escalate", "bind")) {
          assertEquals("no", canI(admin, verb, "rolebindings.rbac.authorization.k8s.io", "-n", ns2), verb + " in " + ns2);
          assertEquals("no", canI(admin, verb, "roles.rbac.authorization.k8s.io", "-n", ns2), verb + " in " + ns2);
        }
        for (String sub : List.of("exec", "attach", "portforward")) {
          assertEquals("no", canI(admin, "create", "pods", "--subresource=" + sub, "-n", ns2), sub + " in " + ns2);
        }
        assertEquals("no", canI(admin, "get", "secrets", "-n", ns2), "secrets in " + ns2);
      }
      assertEquals("no", canI(admin, "list", "accessrequests.kubejit.dev", "-n", "payments"));
      assertEquals("no", canI(admin, "list", "clusterroles.rbac.authorization.k8s.io"));
      assertEquals("no", canI(admin, "create", "clusterrolebindings.rbac.authorization.k8s.io"));
      for (String target : List.of("users", "groups", "serviceaccounts")) {
        assertEquals("no", canI(admin, "impersonate", target), "impersonate " + target);
      }
    } finally {
      Kubectl.run(admin, null, DeployManifests.args(List.of("delete", "--ignore-not-found"), rbacFiles));
    }
  }

  private static String awaitYes(Path admin, String... args) throws Exception {
    return DeployManifests.awaitYes(admin, AdmissionManifestsTest.SA_USER, AdmissionManifestsTest.NS, args);
  }

  private static String canI(Path admin, String... args) throws Exception {
    return DeployManifests.canI(admin, AdmissionManifestsTest.SA_USER, AdmissionManifestsTest.NS, args);
  }
}
