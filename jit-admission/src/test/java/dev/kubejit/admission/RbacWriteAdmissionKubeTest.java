package dev.kubejit.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.kubejit.api.Action;
import dev.kubejit.api.EndCause;
import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Identity;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.Scope;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.rbac.KubernetesRbacProvisioner;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import dev.kubejit.testing.Kubectl;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The RBAC write guardrails registered in the real API server: the escalation files of jit-rbac's
 * linter corpus, applied with kubectl by a {@code system:masters} user who is not on the
 * allow-list, are refused with the finding; the allow-listed GitOps identity may write them; the
 * broker's own Role and RoleBinding (jit-rbac's provisioner) pass.
 */
@KubeTest
class RbacWriteAdmissionKubeTest {
  private static final String NS = "rbac-guardrails";
  private static final String CORPUS_NS = "kj-corpus";
  private static final String SECRETS_ROLE = RbacWriteAdmissionTest.SECRETS_ROLE;

  private static WebhookServer server;
  private static KubeControlPlane cp;
  private static Path mallory;
  private static Path gitops;

  @BeforeAll
  static void register(KubeControlPlane controlPlane) throws Exception {
    cp = controlPlane;
    Path dir = Files.createTempDirectory("kubejit-rbac-admission-test");
    for (String ns : List.of(NS, CORPUS_NS)) {
      Kubectl.run(cp.adminKubeconfig(), null, "create", "namespace", ns);
    }
    RbacWriteAdmission webhook = RbacWriteAdmission.builder().lint(RbacWriteAdmissionTest.linter(Clock.systemUTC()))
        .escalationChecks(true).allowGroups("gitops-controllers").roleLookup(lookup(cp))
        .auditSink(AuditSink.inMemory()).build();
    server = WebhookServer.start(dir, 0, "/admission/rbac", webhook::handle);
    String manifest = WebhookManifest.builder().webhook(WebhookManifest.Webhook.RBAC_WRITES)
        .url(URI.create("https://127.0.0.1:" + server.port() + "/admission/rbac"))
        .caBundlePem(server.caPem).timeoutSeconds(5).build().yaml();
    Kubectl.run(cp.adminKubeconfig(), manifest, "apply", "-f", "-").ok();
    mallory = cp.kubeconfigFor("mallory", "system:masters");
    gitops = cp.kubeconfigFor("argocd", "system:masters", "gitops-controllers");
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (true) {
      Kubectl.Result r = Kubectl.run(mallory, SECRETS_ROLE, "apply", "-f", "-");
      if (r.exit() != 0 && r.err().contains("denied the request")) {
        break;
      }
      Kubectl.run(cp.adminKubeconfig(), null, "delete", "clusterrole", "secret-reader", "--ignore-not-found");
      assertFalse(System.nanoTime() > deadline, "the webhook was not consulted within 60 s: " + r);
      Thread.sleep(200);
    }
  }

  /** The role lookup a wiring module writes: a get of the Role or ClusterRole with the broker's credentials. */
  static RoleLookup lookup(KubeControlPlane cp) {
    io.kubernetes.client.openapi.apis.RbacAuthorizationV1Api api =
        new io.kubernetes.client.openapi.apis.RbacAuthorizationV1Api(cp.adminClient());
    io.kubernetes.client.openapi.JSON json = new io.kubernetes.client.openapi.JSON();
    return (kind, ns, name) -> {
      try {
        Object role = "Role".equals(kind) ? api.readNamespacedRole(name, ns).execute()
            : api.readClusterRole(name).execute();
        return java.util.Optional.of(json.serialize(role));
      } catch (io.kubernetes.client.openapi.ApiException e) {
        if (e.getCode() == 404) {
          return java.util.Optional.empty();
        }
        throw new IllegalStateException("HTTP " + e.getCode());
      }
    };
  }

  @AfterAll
  static void unregister() throws Exception {
    if (cp != null) {
      // Before the server goes: with failurePolicy Fail, a dead webhook would block every RBAC write.
      Kubectl.run(cp.adminKubeconfig(), null, "delete", "validatingwebhookconfiguration", "kubejit-rbac-guardrails",
          "--ignore-not-found");
    }
    if (server != null) {
      server.close();
    }
  }

  private static void assertRefused(Kubectl.Result r, String rule) {
    assertNotEquals(0, r.exit(), r::toString);
    assertTrue(r.err().contains("admission webhook \"rbac.kubejit.dev\" denied the request"), r::toString);
    assertTrue(r.err().contains("refused by rule") && r.err().contains(rule), r::toString);
  }

  @Test
  void escalationsAreRefusedWithTheFindingUnlessTheAuthorIsAllowListed() throws Exception {
    assertRefused(Kubectl.run(mallory, RbacWriteAdmissionTest.CLUSTER_ADMIN_CRB, "apply", "-f", "-"),
        "privileged-roleref");
    assertRefused(Kubectl.run(mallory, RbacWriteAdmissionTest.ESCALATE_ROLE, "apply", "-f", "-"), "escalation-verb");
    assertRefused(Kubectl.run(mallory, RbacWriteAdmissionTest.NODES_PROXY, "apply", "-f", "-"), "nodes-proxy");
    assertEquals(1, Kubectl.run(cp.adminKubeconfig(), null, "get", "clusterrolebinding", "devs-admin").exit(),
        "the refused binding must not exist");
    Kubectl.run(gitops, RbacWriteAdmissionTest.CLUSTER_ADMIN_CRB, "apply", "-f", "-").ok();
    Kubectl.run(cp.adminKubeconfig(), null, "delete", "clusterrolebinding", "devs-admin").ok();
    // A KubeJIT-looking binding without an expiry is refused even for the allow-listed author.
    String fake = RbacWriteAdmissionTest.jitBinding(null, "Group", "jit:grant:x").replace("namespace: payments",
        "namespace: " + NS);
    assertRefused(Kubectl.run(gitops, fake, "apply", "-f", "-"), "jit-no-expiry");
  }

  /**
   * Every applicable entry of jit-rbac's escalation corpus, applied with kubectl by a user off the
   * allow-list: kubectl writes the entry's objects in order, so a binding reaches the webhook after
   * its role exists, and the webhook lints the two together (the role read back through {@link
   * RoleLookup}). Entries that still pass are listed.
   */
  @Test
  void theLintersEscalationCorpusAppliedByANonAllowListedUserIsRefused() throws Exception {
    JsonNode corpus = new ObjectMapper(new YAMLFactory()).readTree(Files.readString(Lab.projectFile(
        "jit-rbac/src/test/resources/dev/kubejit/rbac/corpus/escalation-corpus.yaml")));
    int applicable = 0;
    List<String> refusedBy = new ArrayList<>();
    List<String> passed = new ArrayList<>();
    for (JsonNode entry : corpus) {
      if (entry.has("apply") && !entry.get("apply").asBoolean()) {
        continue;
      }
      applicable++;
      String objects = entry.get("objects").asText();
      Kubectl.Result r = Kubectl.run(mallory, objects, "apply", "-f", "-");
      Kubectl.run(cp.adminKubeconfig(), objects, "delete", "--ignore-not-found", "-f", "-");
      if (r.exit() != 0) {
        assertTrue(r.err().contains("admission webhook \"rbac.kubejit.dev\" denied the request"), r::toString);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("refused by rule ([a-z0-9,-]+)").matcher(r.err());
        assertTrue(m.find(), r::toString);
        refusedBy.add(entry.get("id").asText() + "=" + m.group(1));
      } else {
        passed.add(entry.get("id").asText());
      }
    }
    System.out.println("escalation corpus: " + refusedBy.size() + " of " + applicable + " entries refused at"
        + " admission " + refusedBy + "; passed: " + passed);
    assertTrue(refusedBy.size() >= 35, "fewer corpus entries refused than without the role lookup: " + refusedBy);
  }

  @Test
  void theBrokersOwnRoleAndBindingPass() throws Exception {
    Instant now = Instant.now();
    Grant g = Grant.builder().id(GrantId.random()).requestId(RequestId.random()).holder(Identity.of("alice"))
        .role("oncall-debug").action(Action.EXEC).scope(Scope.namespace("prod", NS))
        .window(now, now.plus(Duration.ofMinutes(30))).rbacTemplate("oncall-debug").build();
    KubernetesRbacProvisioner broker = KubernetesRbacProvisioner.builder(cp.clientFor("kubejit-broker",
        "system:masters")).maxGrantDuration(Duration.ofHours(8)).build();
    broker.provision(g);
    Kubectl.Result bindings = Kubectl.run(cp.adminKubeconfig(), null, "-n", NS, "get", "rolebindings",
        "-l", "kubejit.dev/grant-id=" + g.id().value(), "-o", "name").ok();
    assertFalse(bindings.out().isBlank(), bindings::toString);
    broker.deprovision(g, EndCause.REVOKED);
  }
}
