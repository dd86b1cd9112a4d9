package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kubejit.rbac.AccessDecision;
import dev.kubejit.rbac.AccessQuery;
import dev.kubejit.rbac.RbacEvaluator;
import dev.kubejit.rbac.RbacSnapshot;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The in-cluster manifests of the stand-alone gateway ({@code deploy/gateway/}), read as they are
 * shipped: the ServiceAccount's RBAC holds no exec, port-forward, attach or impersonation right
 * of its own (by rule and by jit-rbac's evaluator, in the gateway's namespace and in a namespace
 * grants target), only reading AccessRequests; the Deployment runs non-root on a read-only root
 * file system with probes on the health port that its kubejit.yaml (the ConfigMap, read by the
 * same strict reader) configures; the Service exposes the SSH port.
 */
class GatewayManifestsTest {
  static final Path DIR = Path.of("..", "deploy", "gateway");
  static final String NS = "kubejit";
  static List<JsonNode> documents() throws IOException {
    return DeployManifests.documents(files());
  }

  static JsonNode only(List<JsonNode> docs, String kind) {
    return DeployManifests.only(docs, kind, "deploy/gateway");
  }

  static final String SA_USER = "system:serviceaccount:" + NS + ":kubejit-gateway";
  static final Set<String> FORBIDDEN_RESOURCES = Set.of("pods/exec", "pods/portforward", "pods/attach", "*", "pods/*",
      "secrets", "users", "groups", "serviceaccounts");
  static final Set<String> FORBIDDEN_VERBS = Set.of("impersonate", "*", "escalate", "bind");

  static List<Path> files() throws IOException {
    try (Stream<Path> s = Files.list(DIR)) {
      return s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
    }
  }



  @Test
  void noRuleGivesTheGatewayExecPortForwardAttachOrImpersonation() throws IOException {
    List<JsonNode> docs = documents();
    int rules = 0;
    for (JsonNode d : docs) {
      String kind = d.path("kind").asText();
      assertFalse(kind.equals("ClusterRoleBinding"), "the gateway needs nothing cluster-wide");
      if (!kind.equals("Role") && !kind.equals("ClusterRole")) {
        continue;
      }
      for (JsonNode rule : d.path("rules")) {
        rules++;
        for (JsonNode r : rule.path("resources")) {
          assertFalse(FORBIDDEN_RESOURCES.contains(r.asText()), d.path("metadata").path("name") + " grants " + r);
        }
        for (JsonNode v : rule.path("verbs")) {
          assertFalse(FORBIDDEN_VERBS.contains(v.asText()), d.path("metadata").path("name") + " grants verb " + v);
        }
        for (JsonNode g : rule.path("apiGroups")) {
          assertFalse(g.asText().equals("*"), "a wildcard API group in " + d.path("metadata").path("name"));
        }
      }
    }
    assertTrue(rules > 0, "the manifests hold the gateway's Role");

    RbacEvaluator rbac = RbacEvaluator.of(RbacSnapshot.fromFiles(files()));
    for (String ns : List.of(NS, "payments")) {
      for (String target : List.of("pods/exec", "pods/portforward", "pods/attach")) {
        assertDenied(rbac, q("create", "", target).namespace(ns));
        assertDenied(rbac, q("get", "", target).namespace(ns));
      }
      assertDenied(rbac, q("get", "", "secrets").namespace(ns));
      assertDenied(rbac, q("update", "kubejit.dev", "accessrequests/status").namespace(ns));
      assertDenied(rbac, q("create", "kubejit.dev", "accessrequests").namespace(ns));
    }
    for (String target : List.of("users", "groups", "serviceaccounts", "userextras/scopes", "uids")) {
      String group = target.equals("serviceaccounts") ? "" : "authentication.k8s.io";
      assertDenied(rbac, q("impersonate", group, target));
      assertDenied(rbac, q("impersonate", group, target).namespace(NS));
    }
    // What it does hold, so the checks above read the binding at all.
    for (String verb : List.of("get", "list", "watch")) {
      AccessDecision d = rbac.check(q(verb, "kubejit.dev", "accessrequests").namespace(NS).build());
      assertTrue(d.allowed(), d::explanation);
    }
    assertFalse(rbac.check(q("list", "kubejit.dev", "accessrequests").namespace("payments").build()).allowed(),
        "only the store's namespace");
  }

  private static AccessQuery.Builder q(String verb, String group, String target) {
    return AccessQuery.builder(SA_USER).groups("system:serviceaccounts", "system:serviceaccounts:" + NS,
        "system:authenticated").target(verb, group, target);
  }

  private static void assertDenied(RbacEvaluator rbac, AccessQuery.Builder q) {
    AccessQuery query = q.build();
    AccessDecision d = rbac.check(query);
    assertFalse(d.allowed(), () -> query + " is allowed: " + d.explanation());
  }

  @Test
  void theDeploymentRunsNonRootReadOnlyWithProbesOnTheHealthPortItsConfigNames() throws IOException {
    List<JsonNode> docs = documents();
    JsonNode deploy = only(docs, "Deployment");
    JsonNode pod = deploy.path("spec").path("template").path("spec");
    assertEquals("kubejit-gateway", pod.path("serviceAccountName").asText());
    JsonNode c = DeployManifests.hardenedContainer(pod);
    int ssh = -1;
    int health = -1;
    for (JsonNode p : c.path("ports")) {
      if (p.path("name").asText().equals("ssh")) {
        ssh = p.path("containerPort").asInt();
      } else if (p.path("name").asText().equals("health")) {
        health = p.path("containerPort").asInt();
      }
    }
    assertTrue(ssh > 0 && health > 0, "ssh and health ports");
    assertEquals("/readyz", c.path("readinessProbe").path("httpGet").path("path").asText());
    assertEquals("/healthz", c.path("livenessProbe").path("httpGet").path("path").asText());
    for (String probe : List.of("readinessProbe", "livenessProbe", "startupProbe")) {
      assertEquals("health", c.path(probe).path("httpGet").path("port").asText(), probe);
    }
    List<String> args = new ArrayList<>();
    c.path("args").forEach(a -> args.add(a.asText()));
    assertEquals(List.of("gateway", "serve", "--config"), args.subList(0, 3));
    Path configFile = Path.of(args.get(3));

    // The ConfigMap mounted there holds a kubejit.yaml the strict reader accepts, with those ports.
    JsonNode cm = only(docs, "ConfigMap");
    String mountedAt = null;
    for (JsonNode m : c.path("volumeMounts")) {
      for (JsonNode v : pod.path("volumes")) {
        if (v.path("name").equals(m.path("name"))
            && v.path("configMap").path("name").asText().equals(cm.path("metadata").path("name").asText())) {
          mountedAt = m.path("mountPath").asText();
        }
      }
      assertTrue(m.path("readOnly").asBoolean() || Set.of("/var/lib/kubejit", "/tmp").contains(m.path("mountPath").asText()),
          "only data and tmp are writable: " + m);
    }
    assertEquals(configFile.getParent().toString(), mountedAt, "the config file is the ConfigMap's");
    String yaml = cm.path("data").path(configFile.getFileName().toString()).asText();
    ServerConfig config = ServerConfig.parse(yaml.getBytes(StandardCharsets.UTF_8), "configmap.yaml", Path.of("/"));
    ServerConfig.Gateway g = config.gateway().orElseThrow();
    assertEquals(ssh, g.port());
    assertEquals(health, g.healthPort());
    assertEquals("0.0.0.0", g.healthHost(), "the kubelet probes the pod's address");
    assertEquals(ServerConfig.Store.Kind.KUBERNETES, config.store().kind());
    assertEquals(NS, config.store().namespace().orElseThrow(), "the Role is in the store's namespace");
    assertTrue(g.recordings().startsWith("/var/lib/kubejit") && config.auditDirectory().startsWith("/var/lib/kubejit"),
        "audit and recordings on the data volume");

    JsonNode svc = only(docs, "Service");
    assertEquals(1, svc.path("spec").path("ports").size(), "the Service exposes SSH only");
    assertEquals("ssh", svc.path("spec").path("ports").get(0).path("targetPort").asText());
    assertEquals(deploy.path("spec").path("selector").path("matchLabels"), svc.path("spec").path("selector"));
    for (JsonNode d : docs) {
      assertEquals(NS, d.path("metadata").path("namespace").asText(), d.path("kind") + " namespace");
    }
  }
}
