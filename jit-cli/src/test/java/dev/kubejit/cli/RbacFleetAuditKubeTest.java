package dev.kubejit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import io.kubernetes.client.openapi.apis.RbacAuthorizationV1Api;
import io.kubernetes.client.openapi.models.RbacV1Subject;
import io.kubernetes.client.openapi.models.V1ClusterRoleBinding;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1RoleRef;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kubejit rbac audit --all-clusters} over two real control planes named in a {@code
 * kubejit.yaml} made by {@code kubejit init}: each cluster's privileged subjects are listed under
 * it, and a binding KubeJIT manages is marked with its grant id and expiry.
 */
class RbacFleetAuditKubeTest {
  @TempDir Path dir;

  private static void bindClusterAdmin(KubeControlPlane cp, String name, String kind, String subject, V1ObjectMeta meta)
      throws Exception {
    new RbacAuthorizationV1Api(cp.adminClient()).createClusterRoleBinding(new V1ClusterRoleBinding()
        .metadata(meta.name(name))
        .roleRef(new V1RoleRef().apiGroup("rbac.authorization.k8s.io").kind("ClusterRole").name("cluster-admin"))
        .addSubjectsItem(new RbacV1Subject().kind(kind).apiGroup("rbac.authorization.k8s.io").name(subject))).execute();
  }

  @Test
  @KubeTest
  void listsPrivilegedSubjectsPerClusterAndMarksKubeJitGrants(KubeControlPlane prod) throws Exception {
    String suffix = UUID.randomUUID().toString().substring(0, 8);
    String grantId = "g" + suffix;
    bindClusterAdmin(prod, "kubejit-breakglass-" + suffix, "Group", "jit:grant:" + grantId, new V1ObjectMeta()
        .putLabelsItem("app.kubernetes.io/managed-by", "kubejit").putLabelsItem("kubejit.dev/grant-id", grantId)
        .putAnnotationsItem("kubejit.dev/expires-at", "2026-12-02T10:00:00Z"));
    try {
      try (KubeControlPlane staging = KubeControlPlane.start()) {
        bindClusterAdmin(staging, "legacy-admin-" + suffix, "User", "bob", new V1ObjectMeta());
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        assertEquals(0, Main.run(new String[] {"init", dir.resolve("setup").toString()}, new PrintWriter(out, true),
            new PrintWriter(err, true)), err.toString());
        Path config = dir.resolve("setup/kubejit.yaml");
        String yaml = Files.readString(config);
        assertTrue(yaml.contains("clusters: {}"), yaml);
        Files.writeString(config, yaml.replace("clusters: {}", "clusters:\n  prod:\n    kubeconfig: " + prod.adminKubeconfig()
            + "\n  staging:\n    kubeconfig: " + staging.adminKubeconfig() + "\n"));

        out.getBuffer().setLength(0);
        int exit = Main.run(new String[] {"rbac", "audit", "--all-clusters", "--config", config.toString()},
            new PrintWriter(out, true), new PrintWriter(err, true));
        String report = out.toString();
        assertEquals(0, exit, err + report);
        int prodAt = report.indexOf("cluster prod:");
        int stagingAt = report.indexOf("cluster staging:");
        assertTrue(prodAt >= 0 && stagingAt > prodAt, report);
        String prodPart = report.substring(prodAt, stagingAt);
        String stagingPart = report.substring(stagingAt);
        assertTrue(prodPart.matches("(?s).*\n  Group jit:grant:" + grantId + " via ClusterRoleBinding/kubejit-breakglass-"
            + suffix + " -> ClusterRole/cluster-admin \\[cluster-admin, [^\n]*\\] \\[KubeJIT grant \"" + grantId
            + "\", expires \"2026-12-02T10:00:00Z\"\\]\n.*"), prodPart);
        assertTrue(stagingPart.matches("(?s).*\n  User bob via ClusterRoleBinding/legacy-admin-" + suffix
            + " -> ClusterRole/cluster-admin \\[cluster-admin[^\n\\]]*\\]\n.*"), "not marked as a grant: " + stagingPart);
        assertTrue(!stagingPart.contains("jit:grant:" + grantId), "each cluster lists its own subjects");
        assertTrue(prodPart.contains("Group system:masters via ClusterRoleBinding/cluster-admin")
            && stagingPart.contains("Group system:masters via ClusterRoleBinding/cluster-admin"), report);
        assertTrue(report.matches("(?s).*in 2 clusters, [1-9][0-9]* of them KubeJIT grants\n"), report);
      }

    } finally {
      // The control plane is shared with other tests in this JVM, which expect no KubeJIT bindings left behind.
      new RbacAuthorizationV1Api(prod.adminClient()).deleteClusterRoleBinding("kubejit-breakglass-" + suffix).execute();
    }
  }
}
