package dev.kubejit.rbac;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.rbac.Defs.BindingDef;
import dev.kubejit.rbac.Defs.RoleDef;
import dev.kubejit.rbac.Defs.SubjectDef;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The evaluator looks only at the bindings that name one of the query's subjects; this checks,
 * over random snapshots and queries, that it answers exactly as a scan of every binding in
 * snapshot order (the evaluator before the index, kept here as the oracle) does, down to the
 * binding, role and rule it names.
 */
class RbacEvaluatorIndexTest {
  private static final String[] NAMESPACES = {"a", "b", "c"};
  private static final String[] USERS = {"alice", "bob", "system:serviceaccount:a:bot", "system:serviceaccount:b:bot"};
  private static final String[] GROUPS = {"devs", "ops", "system:authenticated", "system:serviceaccounts:a"};

  @Test
  void answersExactlyAsAScanOfEveryBinding() {
    Random rnd = new Random(21);
    int allowed = 0;
    int checked = 0;
    for (int round = 0; round < 20; round++) {
      RbacSnapshot snap = RbacSnapshot.fromYaml(randomSnapshot(rnd, 5 + rnd.nextInt(60)));
      RbacEvaluator eval = RbacEvaluator.of(snap);
      for (int i = 0; i < 200; i++) {
        AccessQuery q = randomQuery(rnd);
        AccessDecision expected = scan(snap, q);
        AccessDecision actual = eval.check(q);
        assertEquals(expected.toString(), actual.toString(), q.toString());
        allowed += actual.allowed() ? 1 : 0;
        checked++;
      }
    }
    assertTrue(allowed > checked / 10 && allowed < checked * 9 / 10, "both outcomes exercised: " + allowed + "/" + checked);
  }

  private static String pick(Random rnd, String[] from) {
    return from[rnd.nextInt(from.length)];
  }

  private static String randomSnapshot(Random rnd, int bindings) {
    StringBuilder b = new StringBuilder();
    b.append("kind: ClusterRole\nmetadata: {name: pods}\nrules:\n- {apiGroups: [''], resources: [pods, pods/log], verbs: [get, list]}\n");
    b.append("---\nkind: ClusterRole\nmetadata: {name: urls}\nrules: [{nonResourceURLs: ['/logs/*'], verbs: [get]}]\n");
    b.append("---\nkind: ClusterRole\nmetadata: {name: cm}\nrules:\n- {apiGroups: [''], resources: [configmaps], verbs: [get]}\n"
        + "- {apiGroups: [''], resources: [pods], verbs: [delete]}\n");
    for (String ns : NAMESPACES) {
      b.append("---\nkind: Role\nmetadata: {name: local, namespace: ").append(ns)
          .append("}\nrules:\n- {apiGroups: [''], resources: [secrets], verbs: [get]}\n");
    }
    String[] roleRefs = {"{kind: ClusterRole, name: pods}", "{kind: ClusterRole, name: urls}", "{kind: ClusterRole, name: cm}",
        "{kind: ClusterRole, name: missing}", "{kind: Role, name: local}"};
    for (int i = 0; i < bindings; i++) {
      boolean cluster = rnd.nextInt(3) == 0;
      b.append("---\nkind: ").append(cluster ? "ClusterRoleBinding" : "RoleBinding").append("\nmetadata: {name: b").append(i);
      if (!cluster) {
        b.append(", namespace: ").append(pick(rnd, NAMESPACES));
      }
      b.append("}\nroleRef: ").append(roleRefs[rnd.nextInt(roleRefs.length)]).append("\nsubjects:\n");
      int subjects = 1 + rnd.nextInt(3);
      for (int s = 0; s < subjects; s++) {
        switch (rnd.nextInt(5)) {
          case 0 -> b.append("- {kind: User, name: '").append(pick(rnd, USERS)).append("'}\n");
          case 1, 2 -> b.append("- {kind: Group, name: '").append(pick(rnd, GROUPS)).append("'}\n");
          case 3 -> b.append("- {kind: ServiceAccount, name: bot").append(rnd.nextBoolean() ? ", namespace: " + pick(rnd, NAMESPACES) : "")
              .append("}\n");
          default -> b.append("- {kind: Robot, name: alice}\n");
        }
      }
    }
    return b.toString();
  }

  private static AccessQuery randomQuery(Random rnd) {
    String user = pick(rnd, USERS);
    List<String> groups = new ArrayList<>();
    for (String g : GROUPS) {
      if (rnd.nextInt(3) == 0) {
        groups.add(g);
      }
    }
    AccessQuery.Builder q = AccessQuery.builder(user).groups(groups).exactGroups();
    switch (rnd.nextInt(4)) {
      case 0 -> q.nonResource("get", "/logs/app");
      case 1 -> q.resource("get", "", "secrets").namespace(pick(rnd, NAMESPACES));
      case 2 -> q.resource(rnd.nextBoolean() ? "get" : "delete", "", "pods").namespace(pick(rnd, NAMESPACES));
      default -> q.resource("get", "", "configmaps").namespace(pick(rnd, NAMESPACES));
    }
    return q.build();
  }

  // ---------------------------------------------------------------- the oracle: scan every binding

  private static AccessDecision scan(RbacSnapshot snapshot, AccessQuery q) {
    Map<String, RoleDef> roles = new HashMap<>();
    for (RoleDef r : snapshot.roles()) {
      roles.put(r.ref(), r);
    }
    for (BindingDef b : snapshot.bindings()) {
      if (b.namespace == null) {
        AccessDecision d = tryBinding(roles, b, q);
        if (d != null) {
          return d;
        }
      }
    }
    if (!q.isNonResource() && q.namespace().isPresent()) {
      for (BindingDef b : snapshot.bindings()) {
        if (q.namespace().get().equals(b.namespace)) {
          AccessDecision d = tryBinding(roles, b, q);
          if (d != null) {
            return d;
          }
        }
      }
    }
    return AccessDecision.deny();
  }

  private static AccessDecision tryBinding(Map<String, RoleDef> roles, BindingDef b, AccessQuery q) {
    boolean applies = false;
    for (SubjectDef s : b.subjects) {
      if (s.kind == null || s.name == null) {
        continue;
      }
      String ns = s.namespace != null && !s.namespace.isEmpty() ? s.namespace : b.namespace;
      applies |= s.kind.equals("User") && s.name.equals(q.user())
          || s.kind.equals("Group") && q.groups().contains(s.name)
          || s.kind.equals("ServiceAccount") && ns != null && !ns.isEmpty()
              && q.user().equals("system:serviceaccount:" + ns + ":" + s.name);
    }
    if (!applies) {
      return null;
    }
    RoleDef role = "ClusterRole".equals(b.roleKind) ? roles.get("ClusterRole/" + b.roleName)
        : "Role".equals(b.roleKind) && b.namespace != null ? roles.get("Role/" + b.namespace + "/" + b.roleName) : null;
    if (role == null) {
      return null;
    }
    for (int i = 0; i < role.rules.size(); i++) {
      Rule r = role.rules.get(i);
      boolean ok = q.isNonResource() ? r.allowsNonResource(q.verb(), q.path().get())
          : r.allows(q.verb(), q.apiGroup(), q.resource(), q.subresource().orElse(null), q.name().orElse(null));
      if (ok) {
        return AccessDecision.allow(b.ref(), role.ref(), i, r.toString());
      }
    }
    return null;
  }
}
