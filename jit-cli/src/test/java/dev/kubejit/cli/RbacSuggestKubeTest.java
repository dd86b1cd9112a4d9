package dev.kubejit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.Action;
import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.EndCause;
import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Identity;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.Scope;
import dev.kubejit.audit.FileAuditSink;
import dev.kubejit.audit.KubeAuditEvent;
import dev.kubejit.rbac.KubernetesRbacProvisioner;
import dev.kubejit.rbac.RbacGenerator;
import dev.kubejit.rbac.RbacTemplate;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import dev.kubejit.testing.Kubectl;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.apis.AuthorizationV1Api;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1Container;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1Pod;
import io.kubernetes.client.openapi.models.V1PodSpec;
import io.kubernetes.client.openapi.models.V1ResourceAttributes;
import io.kubernetes.client.openapi.models.V1SubjectAccessReview;
import io.kubernetes.client.openapi.models.V1SubjectAccessReviewSpec;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The suggest loop of issue 20 on a real kube-apiserver: a scripted session (real kubectl) under
 * the broad {@code oncall-debug} template, {@code kubejit rbac suggest} over the API server's own
 * audit log correlated with a KubeJIT log, the narrowed Role applied with kubectl over the grant's
 * Role, and the session run again: every call that was authorised before is authorised again (real
 * calls and SubjectAccessReviews), every permission reported unused is now denied (SARs, and one
 * real call), and what was refused stays refused.
 */
class RbacSuggestKubeTest {
  private static final String NS = "suggest";

  @TempDir Path dir;

  /** The session: kubectl arguments, and whether the broad template authorises them. */
  private static final List<List<String>> SESSION = List.of(
      List.of("get", "pods", "-n", NS),
      List.of("get", "pod", "web-1", "-n", NS, "-o", "name"),
      List.of("get", "events", "-n", NS),
      List.of("get", "secrets", "-n", NS),
      List.of("delete", "pod", "web-1", "-n", NS, "--wait=false"));

  private static List<Integer> runSession(Path kubeconfig) throws Exception {
    List<Integer> exits = new ArrayList<>();
    for (List<String> args : SESSION) {
      exits.add(Kubectl.run(kubeconfig, null, args.toArray(new String[0])).exit());
    }
    return exits;
  }

  @Test
  @KubeTest
  void suggestApplyAndRerunKeepsTheSuccessesAndDeniesTheUnused(KubeControlPlane cp) throws Exception {
    ApiClient admin = cp.adminClient();
    CoreV1Api core = new CoreV1Api(admin);
    core.createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name(NS))).execute();
    core.createNamespacedPod(NS, new V1Pod().metadata(new V1ObjectMeta().name("web-1"))
        .spec(new V1PodSpec().addContainersItem(new V1Container().name("web").image("registry.k8s.io/pause:3.10"))))
        .execute();
    Instant now = Instant.now();
    Grant grant = Grant.builder().id(GrantId.random()).requestId(RequestId.random())
        .holder(Identity.of("alice", "oncall-payments")).role("oncall-debug").action(Action.EXEC)
        .scope(Scope.namespace("prod", NS)).window(now.minusSeconds(60), now.plus(Duration.ofHours(1)))
        .rbacTemplate(RbacTemplate.ONCALL_DEBUG).build();
    KubernetesRbacProvisioner provisioner = KubernetesRbacProvisioner.builder(admin).maxGrantDuration(Duration.ofHours(8))
        .build();
    provisioner.provision(grant);
    try {
      String roleName = RbacGenerator.builder(RbacTemplate.builtIn(RbacTemplate.ONCALL_DEBUG)).grant(grant).generate().name();
      Path jit = dir.resolve("jit/audit.jsonl");
      try (FileAuditSink s = FileAuditSink.builder(jit).withoutSignatures().open()) {
        s.write(List.of(AuditEvent.builder(AuditEventType.GRANT_ACTIVATED, grant.grantedAt()).grantId(grant.id())
            .actor(grant.holder()).attribute("role", "oncall-debug").attribute("requester", "alice")
            .attribute("subjectGroup", grant.subjectGroup()).attribute("grantedAt", grant.grantedAt().toString())
            .attribute("expiresAt", grant.expiresAt().toString()).build()));
      }
      Path alice = cp.kubeconfigFor("alice", grant.subjectGroup());

      List<Integer> before = runSession(alice);
      assertEquals(List.of(0, 0, 0), before.subList(0, 3), "the broad template authorises the reads");
      assertNotEquals(0, before.get(3), "secrets are not in the template");
      assertNotEquals(0, before.get(4), "deleting pods is not in the template");
      cp.awaitAuditEvents(KubeAuditEvent::parse, e -> "delete".equals(e.verb()) && e.groups().contains(grant.subjectGroup())
          && "ResponseComplete".equals(e.stage()), Duration.ofSeconds(30));

      Path roleYaml = dir.resolve("role.yaml");
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      int exit = Main.run(new String[] {"rbac", "suggest", "--k8s", cp.auditLogPath().toString(), "--jit", jit.toString(),
          "--grant", grant.id().toString(), "--template", "oncall-debug", "--role-yaml", roleYaml.toString(),
          "--role-name", roleName}, new PrintWriter(out, true), new PrintWriter(err, true));
      String report = out.toString();
      assertEquals(0, exit, err + report);
      assertTrue(report.contains("- apiGroups: [\"\"], resources: [events], verbs: [list]"), report);
      assertTrue(report.contains("- apiGroups: [\"\"], resources: [pods], verbs: [get, list]"), report);
      for (String unused : List.of("pods watch", "pods/log get", "pods/exec create", "pods/portforward create",
          "apps/deployments get", "apps/replicasets list", "events get")) {
        assertTrue(report.contains("\n  " + unused + "\n"), unused + " not reported unused in\n" + report);
      }
      assertTrue(report.contains("secrets list " + NS + "/* → 403"), report);
      assertTrue(report.contains("pods delete " + NS + "/web-1 → 403"), report);

      Kubectl.run(cp.adminKubeconfig(), null, "apply", "-f", roleYaml.toString()).ok();

      List<Integer> after = runSession(alice);
      assertEquals(List.of(0, 0, 0), after.subList(0, 3), "every authorised call is authorised again");
      assertNotEquals(0, after.get(3));
      assertNotEquals(0, after.get(4));
      AuthorizationV1Api authz = new AuthorizationV1Api(admin);
      assertTrue(sar(authz, grant.subjectGroup(), "", "pods", null, "list"));
      assertTrue(sar(authz, grant.subjectGroup(), "", "pods", null, "get"));
      assertTrue(sar(authz, grant.subjectGroup(), "", "events", null, "list"));
      assertEquals(false, sar(authz, grant.subjectGroup(), "", "pods", null, "watch"));
      assertEquals(false, sar(authz, grant.subjectGroup(), "", "pods", "log", "get"));
      assertEquals(false, sar(authz, grant.subjectGroup(), "", "pods", "exec", "create"));
      assertEquals(false, sar(authz, grant.subjectGroup(), "", "pods", "portforward", "create"));
      assertEquals(false, sar(authz, grant.subjectGroup(), "apps", "deployments", null, "get"));
      assertEquals(false, sar(authz, grant.subjectGroup(), "", "events", null, "get"));
      assertNotEquals(0, Kubectl.run(alice, null, "get", "deployments", "-n", NS).exit(),
          "a permission the session never used is gone");

    } finally {
      // Other tests in this JVM share the control plane and expect no KubeJIT bindings left behind.
      provisioner.deprovision(grant, EndCause.REVOKED);
    }
  }

  private static boolean sar(AuthorizationV1Api authz, String group, String apiGroup, String resource, String sub,
      String verb) throws Exception {
    V1SubjectAccessReview r = authz.createSubjectAccessReview(new V1SubjectAccessReview().spec(
        new V1SubjectAccessReviewSpec().user("alice").groups(List.of(group)).resourceAttributes(
            new V1ResourceAttributes().namespace(NS).group(apiGroup).resource(resource).subresource(sub).verb(verb))))
        .execute();
    return Boolean.TRUE.equals(r.getStatus().getAllowed());
  }
}
