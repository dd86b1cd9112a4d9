package dev.kubejit.rbac;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import io.kubernetes.client.openapi.models.V1ClusterRole;
import io.kubernetes.client.openapi.models.V1ClusterRoleBinding;
import io.kubernetes.client.openapi.models.V1Role;
import io.kubernetes.client.openapi.models.V1RoleBinding;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RbacGeneratorTest {
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
    assertTrue(rb.getMetadata().getOwnerReferences() == null || rb.getMetadata().getOwnerReferences().isEmpty());
    assertEquals(List.of(), LINTER.lint(gen));
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
    for (io.kubernetes.client.openapi.models.V1PolicyRule r : ((V1Role) gen.role()).getRules()) {
      boolean pods = r.getResources().stream().anyMatch(x -> x.equals("pods") || x.startsWith("pods/"));
      if (pods) {
        assertEquals(List.of("checkout-7d9f"), r.getResourceNames(), r.toString());
        assertFalse(r.getVerbs().contains("list") || r.getVerbs().contains("watch"), r.toString());
        assertTrue(r.getResources().stream().allMatch(x -> x.equals("pods") || x.startsWith("pods/")), r.toString());
      }
    }
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
    assertEquals(5, ((V1Role) gen.role()).getRules().size());
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
      V1RoleBinding rb = (V1RoleBinding) RbacGenerator.builder(RbacTemplate.builtIn(t)).grant(g).generate().binding();
      assertTrue(rb.getSubjects().stream().allMatch(s -> s.getKind().equals("Group")));
    }
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
