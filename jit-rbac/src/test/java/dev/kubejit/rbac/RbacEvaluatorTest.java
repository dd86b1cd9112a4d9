package dev.kubejit.rbac;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class RbacEvaluatorTest {
  private static final RbacEvaluator EVAL = RbacEvaluator.of(RbacSnapshot.fromYaml(String.join("---\n",
      "kind: ClusterRole\nmetadata: {name: reader}\nrules:\n"
          + "- {apiGroups: [''], resources: [pods, pods/log], verbs: [get]}\n"
          + "- {apiGroups: [apps], resources: ['*/scale'], verbs: [update]}\n"
          + "- {apiGroups: [''], resources: [configmaps], resourceNames: [cfg], verbs: [get]}\n",
      "kind: ClusterRole\nmetadata: {name: urls}\nrules: [{nonResourceURLs: ['/logs/*', /m], verbs: [get]}]\n",
      "kind: RoleBinding\nmetadata: {name: rb, namespace: a}\nroleRef: {kind: ClusterRole, name: reader}\n"
          + "subjects: [{kind: Group, name: devs}, {kind: ServiceAccount, name: bot}]\n",
      "kind: ClusterRoleBinding\nmetadata: {name: crb}\nroleRef: {kind: ClusterRole, name: urls}\n"
          + "subjects: [{kind: Group, name: system:authenticated}]\n")));

  private static AccessQuery.Builder q(String user, String... groups) {
    return AccessQuery.builder(user).groups(groups);
  }

  @Test
  void roleBindingToClusterRoleIsScopedToItsNamespace() {
    AccessDecision d = EVAL.check(q("u", "devs").resource("get", "", "pods").subresource("log").namespace("a").build());
    assertTrue(d.allowed());
    assertEquals("RoleBinding/a/rb", d.binding().orElseThrow());
    assertEquals("ClusterRole/reader", d.role().orElseThrow());
    assertEquals(0, d.ruleIndex().getAsInt());
    assertFalse(EVAL.check(q("u", "devs").resource("get", "", "pods").namespace("b").build()).allowed());
    assertFalse(EVAL.check(q("u", "devs").resource("get", "", "pods").build()).allowed());
  }

  @Test
  void subresourceWildcardsAndResourceNames() {
    assertTrue(EVAL.check(q("u", "devs").resource("update", "apps", "deployments").subresource("scale").namespace("a")
        .build()).allowed());
    assertFalse(EVAL.check(q("u", "devs").resource("update", "apps", "deployments").namespace("a").build()).allowed());
    assertTrue(EVAL.check(q("u", "devs").resource("get", "", "configmaps").name("cfg").namespace("a").build()).allowed());
    assertFalse(EVAL.check(q("u", "devs").resource("get", "", "configmaps").namespace("a").build()).allowed());
    assertFalse(EVAL.check(q("u", "devs").resource("get", "", "configmaps").name("other").namespace("a").build())
        .allowed());
  }

  @Test
  void serviceAccountsAndAuthenticatedGroup() {
    assertTrue(EVAL.check(q("system:serviceaccount:a:bot").resource("get", "", "pods").namespace("a").build())
        .allowed());
    assertFalse(EVAL.check(q("system:serviceaccount:b:bot").resource("get", "", "pods").namespace("a").build())
        .allowed());
    AccessQuery sa = q("system:serviceaccount:a:bot").nonResource("get", "/m").build();
    assertTrue(sa.groups().contains("system:serviceaccounts:a"));
    assertTrue(EVAL.check(sa).allowed());
    assertTrue(EVAL.check(q("x").nonResource("get", "/logs/app").build()).allowed());
    assertFalse(EVAL.check(q("x").nonResource("get", "/logs").build()).allowed());
    assertFalse(EVAL.check(q("x").exactGroups().nonResource("get", "/m").build()).allowed());
    assertFalse(EVAL.check(q("system:anonymous").nonResource("get", "/m").build()).allowed());
    assertFalse(EVAL.check(q("x").nonResource("post", "/m").build()).allowed());
  }

  @Test
  void queryBuilderIsStrict() {
    assertThrows(IllegalStateException.class, () -> AccessQuery.builder("u").build());
    assertThrows(IllegalArgumentException.class, () -> AccessQuery.builder("u").nonResource("get", "m"));
    assertThrows(IllegalStateException.class, () -> AccessQuery.builder("u").nonResource("get", "/m").namespace("a")
        .build());
    assertThrows(IllegalArgumentException.class, () -> AccessQuery.builder("u\n"));
  }

  /** The kubectl-style target ("pods/log", "/healthz") has one parser, AccessQuery.Builder.target. */
  @Test
  void targetParsesResourceSubresourceAndUrls() {
    AccessQuery log = AccessQuery.builder("alice").target("get", "", "pods/log").namespace("a").build();
    assertEquals("pods", log.resource());
    assertEquals("log", log.subresource().orElseThrow());
    assertFalse(log.isNonResource());
    AccessQuery deploy = AccessQuery.builder("alice").target("list", "apps", "deployments").build();
    assertEquals("apps", deploy.apiGroup());
    assertTrue(deploy.subresource().isEmpty());
    AccessQuery healthz = AccessQuery.builder("alice").target("get", "", "/healthz").build();
    assertTrue(healthz.isNonResource());
    assertEquals("/healthz", healthz.path().orElseThrow());
    for (String bad : new String[] {"", "pods/", "/pods"}) {
      assertThrows(RuntimeException.class, () -> AccessQuery.builder("alice").target("get", "", bad).namespace("a").build(), bad);
    }
    assertThrows(IllegalStateException.class, () -> AccessQuery.builder("alice").target("get", "", "pods").target("get", "", "pods"));
  }
}
