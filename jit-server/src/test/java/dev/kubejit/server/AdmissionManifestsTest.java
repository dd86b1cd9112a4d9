package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kubejit.admission.WebhookManifest;
import dev.kubejit.rbac.AccessDecision;
import dev.kubejit.rbac.AccessQuery;
import dev.kubejit.rbac.RbacEvaluator;
import dev.kubejit.rbac.RbacSnapshot;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The in-cluster manifests of the webhook replicas ({@code deploy/admission/}), read as they are
 * shipped: two replicas of a StatefulSet with a per-replica audit volume, spread and anti-affine,
 * probed on {@code /readyz} over HTTPS, non-root on a read-only root file system without
 * capabilities; a PodDisruptionBudget keeping one available; the Service on 443 that the webhook
 * configurations name; a kubejit.yaml the strict reader accepts; a ServiceAccount whose RBAC reaches
 * the store's namespace and role reads only; and webhook configurations that are byte for byte what
 * {@code kubejit admission manifest --service kubejit/kubejit:443} renders, without the caBundle.
 *
 * <p>Run with {@code -Dkubejit.writeAdmissionWebhooks=true} to rewrite {@code webhooks/*.yaml}
 * from {@link WebhookManifest} after a change to it; the test then still compares.
 */
class AdmissionManifestsTest {
  static final Path DIR = Path.of("..", "deploy", "admission");
  static final String NS = "kubejit";
  static List<JsonNode> documents(List<Path> files) throws IOException {
    return DeployManifests.documents(files);
  }

  static JsonNode only(List<JsonNode> docs, String kind) {
    return DeployManifests.only(docs, kind, "deploy/admission");
  }

  static final String SA_USER = "system:serviceaccount:" + NS + ":kubejit";
  /** The exec webhook enforces only labelled namespaces (docs/admission.md: never kube-system). */
  static final String EXEC_SELECTOR_KEY = "kubejit.dev/exec-admission";
  static final String EXEC_SELECTOR_VALUE = "enforced";
  /** Any well-formed certificate block: its line is removed from what is compared. */
  private static final String PLACEHOLDER_CA = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";

  static List<Path> files() throws IOException {
    try (Stream<Path> s = Files.walk(DIR)) {
      return s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
    }
  }



  /**
   * What {@code kubejit admission manifest --webhook W --service kubejit/kubejit:443} (and, for
   * exec, {@code --namespace-selector kubejit.dev/exec-admission=enforced}) prints, with the
   * caBundle line removed: the deployer renders it with their CA (docs/admission.md).
   */
  static Map<Path, String> rendered() {
    Map<Path, String> out = new LinkedHashMap<>();
    for (WebhookManifest.Webhook w : WebhookManifest.Webhook.values()) {
      // the CLI's mapping of --service NAMESPACE/NAME:PORT and its defaults (path, timeout 5, name)
      WebhookManifest.Builder b = WebhookManifest.builder().webhook(w).caBundlePem(PLACEHOLDER_CA).timeoutSeconds(5)
          .service(NS, "kubejit", 443, null);
      String file = "rbac.yaml";
      if (w == WebhookManifest.Webhook.EXEC) {
        b.namespaceSelector(EXEC_SELECTOR_KEY, EXEC_SELECTOR_VALUE);
        file = "exec.yaml";
      }
      String yaml = b.build().yaml();
      String withoutCa = yaml.replaceAll("(?m)^    caBundle: .*\\n", "");
      assertEquals(yaml.lines().count() - 1, withoutCa.lines().count(), "exactly the caBundle line is removed");
      out.put(DIR.resolve("webhooks").resolve(file), withoutCa);
    }
    return out;
  }

  @Test
  void theWebhookConfigurationsAreWhatTheCliRendersWithoutACaBundleAndFailClosed() throws IOException {
    Map<Path, String> rendered = rendered();
    if (Boolean.getBoolean("kubejit.writeAdmissionWebhooks")) {
      for (Map.Entry<Path, String> e : rendered.entrySet()) {
        Files.writeString(e.getKey(), e.getValue(), StandardCharsets.UTF_8);
      }
    }
    for (Map.Entry<Path, String> e : rendered.entrySet()) {
      assertEquals(e.getValue(), Files.readString(e.getKey(), StandardCharsets.UTF_8),
          e.getKey() + " differs from WebhookManifest's rendering (rewrite with -Dkubejit.writeAdmissionWebhooks=true)");
    }
    List<Path> webhookFiles;
    try (Stream<Path> s = Files.list(DIR.resolve("webhooks"))) {
      webhookFiles = s.sorted().toList();
    }
    assertEquals(List.copyOf(rendered.keySet()).stream().sorted().toList(), webhookFiles, "no other webhook file");
    List<JsonNode> docs = documents(webhookFiles);
    assertEquals(2, docs.size());
    JsonNode svc = only(documents(files()), "Service");
    for (JsonNode d : docs) {
      assertEquals("ValidatingWebhookConfiguration", d.path("kind").asText());
      for (JsonNode w : d.path("webhooks")) {
        assertEquals("Fail", w.path("failurePolicy").asText(), w.path("name") + " fails closed");
        assertEquals("None", w.path("sideEffects").asText());
        assertTrue(w.path("clientConfig").path("caBundle").isMissingNode(), "no caBundle in " + w.path("name"));
        assertTrue(w.path("clientConfig").path("url").isMissingNode(), "the Service, not a URL");
        JsonNode ref = w.path("clientConfig").path("service");
        assertEquals(svc.path("metadata").path("namespace").asText(), ref.path("namespace").asText());
        assertEquals(svc.path("metadata").path("name").asText(), ref.path("name").asText());
        assertEquals(svc.path("spec").path("ports").get(0).path("port").asInt(), ref.path("port").asInt());
      }
    }
    for (Path f : files()) {
      for (String line : Files.readAllLines(f)) {
        assertFalse(!line.strip().startsWith("#") && line.contains("caBundle"), f + " carries a caBundle: " + line);
      }
    }
  }

  @Test
  void twoSpreadReplicasWithTheirOwnAuditVolumeAndADisruptionBudgetOfOne() throws IOException {
    List<JsonNode> docs = documents(files());
    for (JsonNode d : docs) {
      assertFalse(d.path("apiVersion").asText().isEmpty() || d.path("kind").asText().isEmpty()
          || d.path("metadata").path("name").asText().isEmpty(), "apiVersion, kind and name: " + d);
    }
    JsonNode sts = only(docs, "StatefulSet");
    JsonNode spec = sts.path("spec");
    assertEquals(2, spec.path("replicas").asInt());
    JsonNode labels = spec.path("selector").path("matchLabels");
    JsonNode pod = spec.path("template").path("spec");
    assertEquals("kubejit", pod.path("serviceAccountName").asText());
    JsonNode pdb = only(docs, "PodDisruptionBudget");
    assertEquals(1, pdb.path("spec").path("minAvailable").asInt());
    assertTrue(pdb.path("spec").path("minAvailable").isInt(), "a count, not a percentage");
    assertEquals(labels, pdb.path("spec").path("selector").path("matchLabels"));

    Set<String> spreadKeys = new java.util.HashSet<>();
    for (JsonNode t : pod.path("topologySpreadConstraints")) {
      spreadKeys.add(t.path("topologyKey").asText());
      assertEquals(labels, t.path("labelSelector").path("matchLabels"));
    }
    assertTrue(spreadKeys.contains("kubernetes.io/hostname"), "spread over nodes: " + spreadKeys);
    JsonNode anti = pod.path("affinity").path("podAntiAffinity").path("requiredDuringSchedulingIgnoredDuringExecution");
    assertEquals(1, anti.size(), "never two replicas on one node");
    assertEquals("kubernetes.io/hostname", anti.get(0).path("topologyKey").asText());
    assertEquals(labels, anti.get(0).path("labelSelector").path("matchLabels"));

    JsonNode c = DeployManifests.hardenedContainer(pod);

    JsonNode ready = c.path("readinessProbe").path("httpGet");
    assertEquals("/readyz", ready.path("path").asText());
    assertEquals("HTTPS", ready.path("scheme").asText());
    assertEquals("https", ready.path("port").asText());
    assertEquals("HTTPS", c.path("livenessProbe").path("httpGet").path("scheme").asText());
    int https = -1;
    for (JsonNode p : c.path("ports")) {
      if (p.path("name").asText().equals("https")) {
        https = p.path("containerPort").asInt();
      }
    }

    // kubejit.yaml from the ConfigMap: read strictly, listening with TLS on that port, with the
    // admission section, the store in this namespace and the audit log on the per-replica volume
    List<String> args = new ArrayList<>();
    c.path("args").forEach(a -> args.add(a.asText()));
    assertEquals(List.of("serve", "--config"), args.subList(0, 2));
    Path configFile = Path.of(args.get(2));
    JsonNode cm = only(docs, "ConfigMap");
    Map<String, String> mounts = new LinkedHashMap<>();
    for (JsonNode m : c.path("volumeMounts")) {
      mounts.put(m.path("name").asText(), m.path("mountPath").asText());
      assertTrue(m.path("readOnly").asBoolean() || Set.of("/var/lib/kubejit", "/tmp").contains(m.path("mountPath").asText()),
          "only the audit volume and tmp are writable: " + m);
    }
    String configVolume = null;
    for (JsonNode v : pod.path("volumes")) {
      if (v.path("configMap").path("name").asText().equals(cm.path("metadata").path("name").asText())) {
        configVolume = v.path("name").asText();
      }
    }
    assertEquals(configFile.getParent().toString(), mounts.get(configVolume), "the config file is the ConfigMap's");
    String yaml = cm.path("data").path(configFile.getFileName().toString()).asText();
    ServerConfig config = ServerConfig.parse(yaml.getBytes(StandardCharsets.UTF_8), "configmap.yaml", Path.of("/"));
    assertEquals(https, config.listenPort());
    assertTrue(config.tlsCertificateFile().isPresent(), "the API server calls webhooks over HTTPS only");
    ServerConfig.Admission a = config.admission().orElseThrow();
    assertTrue(a.exec() && a.authorize() && a.rbac().isPresent(), "all three webhooks");
    assertEquals(ServerConfig.Store.Kind.KUBERNETES, config.store().kind());
    assertEquals(NS, config.store().namespace().orElseThrow(), "the Role is in the store's namespace");
    JsonNode claims = spec.path("volumeClaimTemplates");
    assertEquals(1, claims.size());
    String claim = claims.get(0).path("metadata").path("name").asText();
    assertTrue(config.auditDirectory().startsWith(Path.of(mounts.get(claim))), "audit log on the replica's own volume");
    for (JsonNode v : pod.path("volumes")) {
      assertFalse(v.path("name").asText().equals(claim), "the claim template, not a shared volume");
    }

    JsonNode svc = only(docs, "Service");
    assertEquals(1, svc.path("spec").path("ports").size());
    assertEquals(443, svc.path("spec").path("ports").get(0).path("port").asInt());
    assertEquals("https", svc.path("spec").path("ports").get(0).path("targetPort").asText());
    assertEquals(labels, svc.path("spec").path("selector"));
    assertEquals(svc.path("metadata").path("name").asText(), spec.path("serviceName").asText());
    for (JsonNode d : docs) {
      String kind = d.path("kind").asText();
      if (!Set.of("ClusterRole", "ClusterRoleBinding", "ValidatingWebhookConfiguration").contains(kind)) {
        assertEquals(NS, d.path("metadata").path("namespace").asText(), kind + " namespace");
      }
    }
  }

  @Test
  void theServiceAccountReachesTheStoresNamespaceAndReadsRolesOnly() throws IOException {
    RbacEvaluator rbac = RbacEvaluator.of(RbacSnapshot.fromFiles(files()));
    for (String verb : List.of("get", "list", "watch", "create", "update")) {
      assertAllowed(rbac, q(verb, "kubejit.dev", "accessrequests").namespace(NS));
    }
    assertAllowed(rbac, q("update", "kubejit.dev", "accessrequests/status").namespace(NS));
    assertAllowed(rbac, q("create", "coordination.k8s.io", "leases").namespace(NS));
    for (String ns : List.of(NS, "payments", "kube-system")) {
      assertAllowed(rbac, q("get", "rbac.authorization.k8s.io", "roles").namespace(ns).name("r"));
      assertAllowed(rbac, q("get", "rbac.authorization.k8s.io", "clusterroles").name("cluster-admin"));
      assertDenied(rbac, q("list", "rbac.authorization.k8s.io", "roles").namespace(ns));
      for (String res : List.of("roles", "rolebindings", "clusterroles", "clusterrolebindings")) {
        for (String verb : List.of("create", "update", "patch", "delete", "escalate", "bind")) {
          assertDenied(rbac, q(verb, "rbac.authorization.k8s.io", res).namespace(ns));
        }
      }
      for (String target : List.of("pods/exec", "pods/portforward", "pods/attach")) {
        assertDenied(rbac, q("create", "", target).namespace(ns));
        assertDenied(rbac, q("get", "", target).namespace(ns));
      }
      assertDenied(rbac, q("get", "", "secrets").namespace(ns));
      assertDenied(rbac, q("delete", "kubejit.dev", "accessrequests").namespace(ns));
    }
    assertDenied(rbac, q("list", "kubejit.dev", "accessrequests").namespace("payments"));
    assertDenied(rbac, q("create", "coordination.k8s.io", "leases").namespace("payments"));
    for (String target : List.of("users", "groups", "serviceaccounts", "userextras/scopes", "uids")) {
      String group = target.equals("serviceaccounts") ? "" : "authentication.k8s.io";
      assertDenied(rbac, q("impersonate", group, target));
    }
  }

  private static AccessQuery.Builder q(String verb, String group, String target) {
    return AccessQuery.builder(SA_USER).groups("system:serviceaccounts", "system:serviceaccounts:" + NS,
        "system:authenticated").target(verb, group, target);
  }

  private static void assertAllowed(RbacEvaluator rbac, AccessQuery.Builder q) {
    AccessQuery query = q.build();
    AccessDecision d = rbac.check(query);
    assertTrue(d.allowed(), () -> query + " is refused: " + d.explanation());
  }

  private static void assertDenied(RbacEvaluator rbac, AccessQuery.Builder q) {
    AccessQuery query = q.build();
    AccessDecision d = rbac.check(query);
    assertFalse(d.allowed(), () -> query + " is allowed: " + d.explanation());
  }
}
