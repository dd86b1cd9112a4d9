package dev.kubejit.rbac;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import io.kubernetes.client.openapi.models.V1ClusterRole;
import io.kubernetes.client.openapi.models.V1ClusterRoleBinding;
import io.kubernetes.client.openapi.models.V1PolicyRule;
import io.kubernetes.client.openapi.models.V1Role;
import io.kubernetes.client.openapi.models.V1RoleBinding;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RbacGeneratorTest {
  private static final List<String> READ = List.of("get", "list", "watch");

  /** A policy rule written out by hand (no resourceNames unless given). */
  static V1PolicyRule rule(List<String> groups, List<String> resources, List<String> verbs, String... names) {
    V1PolicyRule r = new V1PolicyRule().apiGroups(groups).resources(resources).verbs(verbs);
    if (names.length > 0) {
      r.resourceNames(List.of(names));
    }
    return r;
  }

  static final List<V1PolicyRule> JIT_DEBUG_RULES = List.of(
      rule(List.of(""), List.of("pods", "pods/log"), READ),
      rule(List.of(""), List.of("pods/exec"), List.of("get", "create")));
  static final List<V1PolicyRule> ONCALL_DEBUG_RULES = List.of(
      rule(List.of(""), List.of("pods", "events"), READ),
      rule(List.of(""), List.of("pods/log"), List.of("get")),
      rule(List.of(""), List.of("pods/exec", "pods/portforward"), List.of("get", "create")),
      rule(List.of("apps"), List.of("deployments", "replicasets"), READ));
  static final List<V1PolicyRule> LOGS_READER_RULES = List.of(
      rule(List.of(""), List.of("pods"), List.of("get", "list")),
      rule(List.of(""), List.of("pods/log"), List.of("get")));
  static final List<V1PolicyRule> CLUSTER_READ_RULES = List.of(
      rule(List.of(""), List.of("nodes", "namespaces"), READ));

  private static final RbacLinter LINTER = RbacLinter.builder().maxJitDuration(Duration.ofHours(8))
      .clock(java.time.Clock.fixed(Fixtures.NOW, java.time.ZoneOffset.UTC)).build();

  @Test
  void grantProducesRoleAndBindingToThePerGrantGroup() {
    Grant g = Fixtures.grant("payments", "jit-debug", Fixtures.NOW, Duration.ofMinutes(30));
    GeneratedRbac gen = RbacGenerator.builder(RbacTemplate.jitDebug()).grant(g).justification("INC-42\nfix").generate();
    V1Role role = (V1Role) gen.role();
    V1RoleBinding rb = (V1RoleBinding) gen.binding();
    String name = "kubejit-jit-debug-" + g.id().value();
    assertEquals(name, role.getMetadata().getName());
    assertEquals("payments", role.getMetadata().getNamespace());
    assertEquals(name, rb.getMetadata().getName());
    assertEquals(1, rb.getSubjects().size());
    assertEquals("Group", rb.getSubjects().get(0).getKind());
    assertEquals("jit:grant:" + g.id().value(), rb.getSubjects().get(0).getName());
    assertEquals("Role", rb.getRoleRef().getKind());
    assertEquals(name, rb.getRoleRef().getName());
    assertEquals("kubejit", rb.getMetadata().getLabels().get("app.kubernetes.io/managed-by"));
    assertEquals(g.id().value(), rb.getMetadata().getLabels().get("kubejit.dev/grant-id"));
    assertEquals("2024-01-01T00:30:00Z", rb.getMetadata().getAnnotations().get("kubejit.dev/expires-at"));
    assertEquals(g.requestId().value(), rb.getMetadata().getAnnotations().get("kubejit.dev/request-id"));
    assertEquals("alice@example.com", rb.getMetadata().getAnnotations().get("kubejit.dev/requester"));
    assertEquals("INC-42 fix", rb.getMetadata().getAnnotations().get("kubejit.dev/justification"));
    assertEquals("oncall", rb.getMetadata().getAnnotations().get("kubejit.dev/role"));
    assertEquals(List.of("kubejit.dev/expires-at", "kubejit.dev/request-id", "kubejit.dev/role", "kubejit.dev/requester",
        "kubejit.dev/justification"), List.copyOf(rb.getMetadata().getAnnotations().keySet()));
    assertEquals(rb.getMetadata().getAnnotations(), role.getMetadata().getAnnotations());
    assertTrue(rb.getMetadata().getOwnerReferences() == null || rb.getMetadata().getOwnerReferences().isEmpty());
    assertEquals(JIT_DEBUG_RULES, role.getRules());
    assertEquals(List.of(), LINTER.lint(gen));
  }

  @Test
  void everyBuiltInTemplateHasExactlyItsDocumentedRules() {
    assertEquals(JIT_DEBUG_RULES, RbacTemplate.builtIn("jit-debug").rules());
    assertEquals(ONCALL_DEBUG_RULES, RbacTemplate.builtIn("oncall-debug").rules());
    assertEquals(ONCALL_DEBUG_RULES, RbacTemplate.oncallDebug(false).rules());
    List<V1PolicyRule> withEphemeral = new java.util.ArrayList<>(ONCALL_DEBUG_RULES);
    withEphemeral.add(rule(List.of(""), List.of("pods/ephemeralcontainers"), List.of("update")));
    assertEquals(withEphemeral, RbacTemplate.oncallDebug(true).rules());
    assertEquals(LOGS_READER_RULES, RbacTemplate.builtIn("logs-reader").rules());
    assertEquals(CLUSTER_READ_RULES, RbacTemplate.builtIn("jit-cluster-read").rules());
    assertEquals(List.of(rule(List.of("batch"), List.of("jobs"), List.of("get")),
            rule(List.of(""), List.of("configmaps"), List.of("get", "update"), "app-config")),
        RbacTemplate.builder("custom").rule(List.of("batch"), List.of("jobs"), List.of("get"))
            .rule(List.of(""), List.of("configmaps"), List.of("get", "update"), List.of("app-config")).build().rules());
  }

  @Test
  void bothObjectsNameThePolicyRoleTheGrantWasMadeUnder() {
    Grant g = Fixtures.grant("payments", "jit-debug", Fixtures.NOW, Duration.ofMinutes(30)).toBuilder()
        .role("payments-oncall").build();
    GeneratedRbac gen = RbacGenerator.builder(RbacTemplate.jitDebug()).grant(g).generate();
    assertEquals("payments-oncall", ((V1Role) gen.role()).getMetadata().getAnnotations().get("kubejit.dev/role"));
    assertEquals("payments-oncall", ((V1RoleBinding) gen.binding()).getMetadata().getAnnotations()
        .get("kubejit.dev/role"));
    assertTrue(gen.toYaml().contains("kubejit.dev/role: payments-oncall"), gen.toYaml());
    // without a grant, the role is given explicitly, or the annotation is absent
    RbacGenerator.Builder manual = RbacGenerator.builder(RbacTemplate.jitDebug()).namespace("payments")
        .grantId(g.id()).group("jit:oncall:payments").expiresAt(Fixtures.NOW.plus(Duration.ofMinutes(5)))
        .clock(java.time.Clock.fixed(Fixtures.NOW, java.time.ZoneOffset.UTC));
    assertFalse(((V1RoleBinding) manual.generate().binding()).getMetadata().getAnnotations()
        .containsKey("kubejit.dev/role"));
    assertEquals("db-admin", ((V1RoleBinding) manual.role("db-admin").generate().binding()).getMetadata()
        .getAnnotations().get("kubejit.dev/role"));
    assertThrows(RbacException.class, () -> RbacGenerator.builder(RbacTemplate.jitDebug()).role("two\nlines"));
    assertThrows(RbacException.class, () -> RbacGenerator.builder(RbacTemplate.jitDebug()).role(""));
    assertThrows(RbacException.class, () -> RbacGenerator.builder(RbacTemplate.jitDebug()).grant(g).role("other")
        .generate());
  }

  @Test
  void justificationComesFromTheGrantUnlessSetExplicitly() {
    Grant g = Fixtures.grant("payments", "jit-debug", Fixtures.NOW, Duration.ofMinutes(30)).toBuilder()
        .why("checkout   errors   spiking", "INC-7").build();
    V1RoleBinding rb = (V1RoleBinding) RbacGenerator.builder(RbacTemplate.jitDebug()).grant(g).generate().binding();
    assertEquals("checkout errors spiking", rb.getMetadata().getAnnotations().get("kubejit.dev/justification"));
  }

  @Test
  void podPinnedGrantNamesOnlyThatPod() {
    Grant base = Fixtures.grant("payments", "oncall-debug", Fixtures.NOW, Duration.ofMinutes(30));
    Grant g = base.toBuilder().scope(base.scope().withPod("checkout-7d9f")).build();
    GeneratedRbac gen = RbacGenerator.builder(RbacTemplate.oncallDebug(false)).grant(g).generate();
    assertEquals("checkout-7d9f", gen.pod().orElseThrow());
    // Every rule, written out: events split off unchanged; pod rules named and without list/watch;
    // rules on other API groups untouched.
    assertEquals(List.of(
        rule(List.of(""), List.of("events"), READ),
        rule(List.of(""), List.of("pods"), List.of("get"), "checkout-7d9f"),
        rule(List.of(""), List.of("pods/log"), List.of("get"), "checkout-7d9f"),
        rule(List.of(""), List.of("pods/exec", "pods/portforward"), List.of("get", "create"), "checkout-7d9f"),
        rule(List.of("apps"), List.of("deployments", "replicasets"), READ)), ((V1Role) gen.role()).getRules());
    RbacEvaluator eval = RbacEvaluator.of(RbacSnapshot.of(gen));
    String user = g.holder().user();
    assertTrue(eval.check(AccessQuery.builder(user).groups(g.subjectGroup()).resource("create", "", "pods")
        .subresource("exec").namespace("payments").name("checkout-7d9f").build()).allowed());
    assertFalse(eval.check(AccessQuery.builder(user).groups(g.subjectGroup()).resource("create", "", "pods")
        .subresource("exec").namespace("payments").name("other").build()).allowed());
    assertTrue(eval.check(AccessQuery.builder(user).groups(g.subjectGroup()).resource("list", "", "events")
        .namespace("payments").build()).allowed());
    assertEquals(List.of(), LINTER.lint(gen));
    assertThrows(RbacException.class, () -> RbacGenerator.builder(RbacTemplate.jitDebug()).grant(g).pod("x").generate());
  }

  @Test
  void ownerReferenceIsAddedWithTheRoleUid() {
    Grant g = Fixtures.grant("payments", "jit-debug", Fixtures.NOW, Duration.ofMinutes(30));
    GeneratedRbac gen = RbacGenerator.builder(RbacTemplate.jitDebug()).grant(g).generate();
    V1RoleBinding rb = (V1RoleBinding) gen.binding("1234-uid");
    assertEquals("1234-uid", rb.getMetadata().getOwnerReferences().get(0).getUid());
    assertEquals("Role", rb.getMetadata().getOwnerReferences().get(0).getKind());
    assertEquals(gen.name(), rb.getMetadata().getOwnerReferences().get(0).getName());
  }

  @Test
  void teamGroupCanBeChosenExplicitly() {
    Grant g = Fixtures.grant("payments", "oncall-debug", Fixtures.NOW, Duration.ofMinutes(30));
    GeneratedRbac gen = RbacGenerator.builder(RbacTemplate.oncallDebug(true)).grant(g).group("jit:oncall:payments")
        .generate();
    assertEquals("jit:oncall:payments", ((V1RoleBinding) gen.binding()).getSubjects().get(0).getName());
    assertEquals(1, ((V1RoleBinding) gen.binding()).getSubjects().size());
    List<V1PolicyRule> expected = new java.util.ArrayList<>(ONCALL_DEBUG_RULES);
    expected.add(rule(List.of(""), List.of("pods/ephemeralcontainers"), List.of("update")));
    assertEquals(expected, ((V1Role) gen.role()).getRules());
  }

  @Test
  void namesAreDeterministicAndFitADnsLabel() {
    GrantId id = GrantId.random();
    String longName = "a-very-long-template-name-that-goes-on-and-on-and-on-x";
    String n1 = Names.objectName(longName, id.value());
    assertEquals(n1, Names.objectName(longName, id.value()));
    assertTrue(n1.length() <= 63, n1);
    assertTrue(n1.matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?"), n1);
    assertTrue(n1.endsWith(id.value()));
    String other = Names.objectName(longName.replace("x", "y"), id.value());
    assertFalse(n1.equals(other), "different templates must not collide after shortening");
  }

  @Test
  void clusterScopeOnlyWhenGrantIsClusterWideAndExplicitlyRequested() {
    Grant cluster = Fixtures.grant(null, "jit-cluster-read", Fixtures.NOW, Duration.ofMinutes(30));
    assertThrows(RbacException.class,
        () -> RbacGenerator.builder(RbacTemplate.jitClusterRead()).grant(cluster).generate());
    GeneratedRbac gen = RbacGenerator.builder(RbacTemplate.jitClusterRead()).grant(cluster).clusterScope().generate();
    assertTrue(gen.role() instanceof V1ClusterRole);
    assertTrue(gen.binding() instanceof V1ClusterRoleBinding);
    assertEquals(CLUSTER_READ_RULES, ((V1ClusterRole) gen.role()).getRules());
    assertEquals("ClusterRole", ((V1ClusterRoleBinding) gen.binding()).getRoleRef().getKind());
    assertTrue(gen.clusterScoped());
    List<Finding> f = LINTER.lint(gen);
    assertEquals(1, f.size(), f.toString());
    assertEquals("cluster-scoped-jit", f.get(0).id());
    assertEquals(Finding.Severity.WARNING, f.get(0).severity());

    Grant ns = Fixtures.grant("payments", "jit-cluster-read", Fixtures.NOW, Duration.ofMinutes(30));
    RbacException e = assertThrows(RbacException.class,
        () -> RbacGenerator.builder(RbacTemplate.jitClusterRead()).grant(ns).generate());
    assertTrue(e.getMessage().contains("clusterScope()"), e.getMessage());
    assertThrows(RbacException.class,
        () -> RbacGenerator.builder(RbacTemplate.jitDebug()).grant(ns).clusterScope().generate());
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "Payments", "-x", "x-", "a_b", "a.b", "ns\n", "0123456789012345678901234567890123456789012345678901234567890123"})
  void invalidNamespacesAreRefused(String ns) {
    RbacException e = assertThrows(RbacException.class,
        () -> RbacGenerator.builder(RbacTemplate.jitDebug()).namespace(ns));
    assertTrue(e.getMessage().contains("namespace"), e.getMessage());
    assertFalse(e.getMessage().contains("\n"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "system:masters", "system:authenticated", "team a", "a\nb", "a/b", "-x", "é"})
  void invalidGroupsAreRefused(String group) {
    RbacException e = assertThrows(RbacException.class,
        () -> RbacGenerator.builder(RbacTemplate.jitDebug()).group(group));
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "Debug", "a_b", "x.y", "-a"})
  void invalidRoleNamesAreRefused(String name) {
    assertThrows(RbacException.class, () -> RbacTemplate.builder(name));
  }

  @Test
  void missingInputsAreRefused() {
    assertThrows(RbacException.class, () -> RbacGenerator.builder(RbacTemplate.jitDebug()).namespace("a")
        .group("g").expiresAt(Fixtures.NOW).generate());
    assertThrows(RbacException.class, () -> RbacGenerator.builder(RbacTemplate.jitDebug()).namespace("a")
        .grantId(GrantId.random()).expiresAt(Fixtures.NOW).generate());
    assertThrows(RbacException.class, () -> RbacGenerator.builder(RbacTemplate.jitDebug()).namespace("a")
        .grantId(GrantId.random()).group("g").generate());
    assertThrows(RbacException.class, () -> RbacGenerator.builder(RbacTemplate.jitDebug())
        .grantId(GrantId.random()).group("g").expiresAt(Fixtures.NOW).generate());
    assertThrows(RbacException.class, () -> RbacTemplate.builtIn("cluster-admin"));
    assertThrows(RbacException.class, () -> RbacTemplate.builder("empty").build());
    assertThrows(IllegalStateException.class, () -> RbacGenerator.builder(RbacTemplate.jitDebug()).group("a").group("b"));
  }

  @Test
  void noApiPathBuildsAUserSubject() throws Exception {
    for (java.lang.reflect.Method m : RbacGenerator.Builder.class.getMethods()) {
      assertFalse(m.getName().toLowerCase(java.util.Locale.ROOT).contains("user"), m.getName());
    }
    Grant g = Fixtures.grant("payments", "jit-debug", Fixtures.NOW, Duration.ofMinutes(30));
    for (String t : List.of("oncall-debug", "jit-debug", "logs-reader")) {
      GeneratedRbac gen = RbacGenerator.builder(RbacTemplate.builtIn(t)).grant(g).generate();
      V1RoleBinding rb = (V1RoleBinding) gen.binding();
      assertEquals(1, rb.getSubjects().size());
      assertEquals("Group", rb.getSubjects().get(0).getKind());
      assertEquals(g.subjectGroup(), rb.getSubjects().get(0).getName());
      assertEquals(RbacTemplate.builtIn(t).rules(), ((V1Role) gen.role()).getRules());
    }
  }

  @Test
  void lifetimesAboveTheAbsoluteCapAreRefused() {
    java.time.Clock clock = java.time.Clock.fixed(Fixtures.NOW, java.time.ZoneOffset.UTC);
    GrantId id = GrantId.random();
    GeneratedRbac atCap = RbacGenerator.builder(RbacTemplate.jitDebug()).namespace("a").grantId(id).group("g")
        .expiresAt(Fixtures.NOW.plus(Duration.ofDays(366))).clock(clock).generate();
    assertEquals(Fixtures.NOW.plus(Duration.ofDays(366)), atCap.expiresAt());
    for (java.time.Instant exp : List.of(Fixtures.NOW.plus(Duration.ofDays(366)).plusNanos(1),
        java.time.Instant.parse("2140-01-01T00:00:00Z"))) {
      RbacException e = assertThrows(RbacException.class, () -> RbacGenerator.builder(RbacTemplate.jitDebug())
          .namespace("a").grantId(id).group("g").expiresAt(exp).clock(clock).generate());
      assertTrue(e.getMessage().contains("366 days"), e.getMessage());
    }
    // A grant whose window exceeds the cap is refused whatever the clock says.
    Grant tooLong = Fixtures.grant("payments", "jit-debug", Fixtures.NOW, Duration.ofDays(367));
    RbacException e = assertThrows(RbacException.class,
        () -> RbacGenerator.builder(RbacTemplate.jitDebug()).grant(tooLong).clock(clock).generate());
    assertTrue(e.getMessage().contains("366 days"), e.getMessage());
    // A grant starting in the future that ends more than 366 days from now is refused too.
    Grant later = Fixtures.grant("payments", "jit-debug", Fixtures.NOW.plus(Duration.ofDays(300)), Duration.ofDays(70));
    assertThrows(RbacException.class,
        () -> RbacGenerator.builder(RbacTemplate.jitDebug()).grant(later).clock(clock).generate());
    // An expiry in the past is not a lifetime problem (the reaper removes such bindings).
    assertEquals(Fixtures.NOW.minusSeconds(1), RbacGenerator.builder(RbacTemplate.jitDebug()).namespace("a")
        .grantId(id).group("g").expiresAt(Fixtures.NOW.minusSeconds(1)).clock(clock).generate().expiresAt());
  }

  @Test
  void yamlRoundTripsThroughTheSnapshotParser() {
    Grant g = Fixtures.grant("payments", "oncall-debug", Fixtures.NOW, Duration.ofMinutes(30));
    GeneratedRbac gen = RbacGenerator.builder(RbacTemplate.oncallDebug(false)).grant(g).generate();
    String yaml = gen.toYaml();
    assertTrue(yaml.contains("kind: Role\n"), yaml);
    assertTrue(yaml.contains("kind: RoleBinding\n"), yaml);
    assertFalse(yaml.contains("null"), yaml);
    RbacSnapshot s = RbacSnapshot.fromYaml(yaml);
    assertEquals(1, s.roleCount());
    assertEquals(1, s.bindingCount());
    assertEquals(List.of(), LINTER.lintYaml(yaml));
  }
}
