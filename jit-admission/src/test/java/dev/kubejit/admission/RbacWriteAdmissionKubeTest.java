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

  /** The corpus's clock: its timestamps are written for 2024-01-01T00:00:00Z. */
  private static final Instant CORPUS_NOW = Instant.parse("2024-01-01T00:00:00Z");
  private static final java.util.regex.Pattern TIMESTAMP =
      java.util.regex.Pattern.compile("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z");

  /** The webhook's clock: the system's, moved ahead by {@link #ahead} when a test needs time to pass. */
  private static final java.util.concurrent.atomic.AtomicReference<Duration> ahead =
      new java.util.concurrent.atomic.AtomicReference<>(Duration.ZERO);
  private static final Clock CLOCK = new Clock() {
    @Override
    public java.time.ZoneId getZone() {
      return java.time.ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Instant instant() {
      return Instant.now().plus(ahead.get());
    }
  };

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
    RbacWriteAdmission webhook = RbacWriteAdmission.builder().lint(RbacWriteAdmissionTest.linter(CLOCK))
        .escalationChecks(true).allowGroups("gitops-controllers").roleLookup(lookup(cp))
        .auditSink(AuditSink.inMemory()).clock(CLOCK).build();
    server = WebhookServer.start(dir, 0, "/admission/rbac", webhook::handle);
    String manifest = WebhookManifest.builder().webhook(WebhookManifest.Webhook.RBAC_WRITES)
        .url(URI.create("https://127.0.0.1:" + server.port() + "/admission/rbac"))
        // 15 s: the test machine is shared and often loaded far beyond its cores.
        .caBundlePem(server.caPem).timeoutSeconds(15).build().yaml();
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
   * RoleLookup}). The corpus's timestamps are moved from its clock (2024-01-01) to now, keeping
   * their distance from it, so that an entry is judged as the corpus means it and not as expired.
   * Each entry must be refused by one of the errors the corpus names for it, except where the API
   * server itself makes the entry impossible: it sets {@code creationTimestamp} on create, so an
   * entry whose finding rests on a forged old creation time becomes an ordinary binding (that case
   * is {@link #extendingAnOldKubeJitBindingBeyondTheCeilingIsRefused}).
   */
  @Test
  void theLintersEscalationCorpusAppliedByANonAllowListedUserIsRefusedWithItsFinding() throws Exception {
    JsonNode corpus = new ObjectMapper(new YAMLFactory()).readTree(Files.readString(Lab.projectFile(
        "jit-rbac/src/test/resources/dev/kubejit/rbac/corpus/escalation-corpus.yaml")));
    Duration shift = Duration.between(CORPUS_NOW, Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
    List<String> serverSetsCreation = List.of("jit-old-creation-long-life");
    int applicable = 0;
    List<String> refusedBy = new ArrayList<>();
    List<String> wrong = new ArrayList<>();
    for (JsonNode entry : corpus) {
      if (entry.has("apply") && !entry.get("apply").asBoolean()) {
        continue;
      }
      applicable++;
      String id = entry.get("id").asText();
      java.util.regex.Matcher ts = TIMESTAMP.matcher(entry.get("objects").asText());
      String objects = ts.replaceAll(m -> Instant.parse(m.group()).plus(shift).toString());
      Kubectl.Result r = Kubectl.run(mallory, objects, "apply", "-f", "-");
      Kubectl.run(cp.adminKubeconfig(), objects, "delete", "--ignore-not-found", "-f", "-");
      java.util.Set<String> expected = new java.util.TreeSet<>();
      entry.get("errors").forEach(e -> expected.add(e.asText()));
      if (r.exit() != 0) {
        assertTrue(r.err().contains("admission webhook \"rbac.kubejit.dev\" denied the request"), r::toString);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("refused by rule ([a-z0-9,-]+)").matcher(r.err());
        assertTrue(m.find(), r::toString);
        List<String> rules = List.of(m.group(1).split(","));
        refusedBy.add(id + "=" + m.group(1));
        if (rules.stream().noneMatch(expected::contains)) {
          wrong.add(id + " refused by " + rules + ", not by any of " + expected);
        }
      } else if (!serverSetsCreation.contains(id)) {
        wrong.add(id + " passed; expected " + expected);
      }
    }
    System.out.println("escalation corpus: " + refusedBy.size() + " of " + applicable + " entries refused at"
        + " admission " + refusedBy);
    assertEquals(List.of(), wrong);
    assertEquals(applicable - serverSetsCreation.size(), refusedBy.size());
  }

  /**
   * The real form of the corpus's {@code jit-old-creation-long-life}: a KubeJIT binding created
   * legitimately, then, hours later, updated to expire two hours from then. Its lifetime, measured
   * from the creation time the API server set, passes the 8-hour ceiling, so the update is refused.
   */
  @Test
  void extendingAnOldKubeJitBindingBeyondTheCeilingIsRefused() throws Exception {
    String name = "jit-extended";
    String labels = "{app.kubernetes.io/managed-by: kubejit, kubejit.dev/grant-id: g-extended}";
    String objects = String.join("\n", "apiVersion: rbac.authorization.k8s.io/v1", "kind: Role",
        "metadata: {name: " + name + ", namespace: " + NS + ", labels: " + labels + "}",
        "rules: [{apiGroups: [\"\"], resources: [pods/log], verbs: [get]}]", "---",
        "apiVersion: rbac.authorization.k8s.io/v1", "kind: RoleBinding",
        "metadata: {name: " + name + ", namespace: " + NS + ", labels: " + labels + ",",
        "  annotations: {kubejit.dev/expires-at: \"" + Instant.now().plus(Duration.ofHours(1))
            .truncatedTo(java.time.temporal.ChronoUnit.SECONDS) + "\"}}",
        "subjects: [{kind: Group, name: \"jit:grant:g-extended\", apiGroup: rbac.authorization.k8s.io}]",
        "roleRef: {kind: Role, name: " + name + ", apiGroup: rbac.authorization.k8s.io}");
    try {
      Kubectl.run(mallory, objects, "apply", "-f", "-").ok();
      ahead.set(Duration.ofHours(7));
      String later = Instant.now().plus(Duration.ofHours(9)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
      assertRefused(Kubectl.run(mallory, null, "-n", NS, "annotate", "--overwrite", "rolebinding", name,
          "kubejit.dev/expires-at=" + later), "jit-expiry-too-long");
      // Two hours from the (moved) now but within 8 h of creation is still fine.
      String fine = Instant.now().plus(Duration.ofHours(7).plusMinutes(30))
          .truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
      Kubectl.run(mallory, null, "-n", NS, "annotate", "--overwrite", "rolebinding", name,
          "kubejit.dev/expires-at=" + fine).ok();
    } finally {
      ahead.set(Duration.ZERO);
      Kubectl.run(cp.adminKubeconfig(), objects, "delete", "--ignore-not-found", "-f", "-");
    }
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
