package dev.kubejit.rbac;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.rbac.RbacSuggestion.Call;
import dev.kubejit.rbac.RbacSuggestion.Permission;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link RbacSuggestion} on recorded calls; the real-cluster loop is {@code RbacSuggestKubeTest} (jit-cli). */
class RbacSuggestionTest {
  private static final RbacTemplate ONCALL = RbacTemplate.oncallDebug(false);

  private static Call call(String group, String resource, String sub, String verb, String name, int code) {
    return new Call(group, resource, sub, verb, "payments", name, code);
  }

  private static final List<Call> CALLS = List.of(
      call("", "pods", null, "list", null, 200),
      call("", "pods", null, "get", "web-1", 200),
      call("", "pods", null, "get", "web-2", 404),
      call("", "pods", "log", "get", "web-1", 200),
      call("", "events", null, "list", null, 200),
      call("apps", "deployments", null, "get", "api", 200),
      call("", "secrets", null, "list", null, 403),
      call("", "secrets", null, "list", null, 403),
      call("", "pods", null, "delete", "web-1", 403),
      call("authorization.k8s.io", "selfsubjectaccessreviews", null, "create", null, 201),
      call("", null, null, "get", null, 200));

  @Test
  void minimalRulesUnusedAndRefused() {
    RbacSuggestion s = RbacSuggestion.suggest(ONCALL, CALLS, false);
    assertEquals(6, s.authorisedCalls());
    String text = s.toText();
    assertTrue(text.contains("- apiGroups: [\"\"], resources: [events], verbs: [list]"), text);
    assertTrue(text.contains("- apiGroups: [\"\"], resources: [pods], verbs: [get, list]"), text);
    assertTrue(text.contains("- apiGroups: [\"\"], resources: [pods/log], verbs: [get]"), text);
    assertTrue(text.contains("- apiGroups: [\"apps\"], resources: [deployments], verbs: [get]"), text);
    assertEquals(List.of(
        new Permission("", "pods", "watch"), new Permission("", "events", "get"), new Permission("", "events", "watch"),
        new Permission("", "pods/exec", "get"), new Permission("", "pods/exec", "create"),
        new Permission("", "pods/portforward", "get"), new Permission("", "pods/portforward", "create"),
        new Permission("apps", "deployments", "list"), new Permission("apps", "deployments", "watch"),
        new Permission("apps", "replicasets", "get"), new Permission("apps", "replicasets", "list"),
        new Permission("apps", "replicasets", "watch")), s.unused());
    assertEquals(3, s.refused().size());
    assertTrue(text.contains("2× secrets list payments/* → 403"), text);
    assertEquals(1, s.outsideTemplate().size(), "the self review is allowed by another binding");
    String yaml = s.roleYaml("narrowed", "payments");
    assertTrue(yaml.contains("kind: Role") && yaml.contains("namespace: payments")
        && yaml.contains("kubejit.dev/suggested-from: oncall-debug"), yaml);
  }

  @Test
  void resourceNamesLimitOnlyVerbsThatNameAnObject() {
    RbacSuggestion s = RbacSuggestion.suggest(ONCALL, CALLS, true);
    String text = s.toText();
    assertTrue(text.contains("resources: [events, pods], verbs: [list]\n"), text);
    assertTrue(text.contains("resources: [pods], verbs: [get], resourceNames: [web-1, web-2]"), text);
    assertTrue(text.contains("resources: [pods/log], verbs: [get], resourceNames: [web-1]"), text);
  }

  @Test
  void nothingUsedMeansNothingToApply() {
    RbacSuggestion s = RbacSuggestion.suggest(ONCALL, List.of(call("", "secrets", null, "get", "x", 403)), false);
    assertTrue(s.narrowed().isEmpty());
    assertEquals(17, s.unused().size(), "every permission of oncall-debug, pods/exec and pods/portforward with get and create");
    assertThrows(IllegalStateException.class, () -> s.roleYaml("x", "payments"));
  }
}
