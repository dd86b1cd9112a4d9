package dev.kubejit.rbac;

import static java.util.Objects.requireNonNull;

import dev.kubejit.rbac.Defs.BindingDef;
import dev.kubejit.rbac.Defs.RoleDef;
import dev.kubejit.rbac.Defs.SubjectDef;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Answers RBAC questions offline with the API server's semantics, and explains which binding, role
 * and rule allowed a request.
 *
 * <p>Semantics: ClusterRoleBindings are consulted for every request; RoleBindings only for
 * resource requests in their own namespace (a RoleBinding to a ClusterRole grants that role's
 * rules in the binding's namespace only); non-resource URLs are reachable only through
 * ClusterRoleBindings. User subjects match the user name; Group subjects match any of the query's
 * groups; ServiceAccount subjects match {@code system:serviceaccount:<ns>:<name>} (the binding's
 * namespace when the subject has none). A roleRef to a missing role grants nothing. RBAC has no
 * deny rules. ClusterRoles are evaluated with their stored rules, ignoring {@code aggregationRule}
 * (as the API server does).
 *
 * <p>Bindings are indexed by subject (user, group, service-account user name), so a question
 * looks only at the bindings that name one of its subjects, in snapshot order: the binding that
 * answers is the one a scan of all bindings would find first.
 */
public final class RbacEvaluator {
  private final RbacSnapshot snapshot;
  private final List<BindingDef> bindings;
  private final Map<String, RoleDef> roles = new HashMap<>();
  /** Binding positions by the user name a subject matches (User, or ServiceAccount as its user name), ascending. */
  private final Map<String, int[]> byUser;
  /** Binding positions by group name, ascending. */
  private final Map<String, int[]> byGroup;

  private RbacEvaluator(RbacSnapshot snapshot) {
    this.snapshot = snapshot;
    for (RoleDef r : snapshot.roles()) {
      roles.put(r.ref(), r);
    }
    this.bindings = snapshot.bindings();
    Map<String, List<Integer>> users = new HashMap<>();
    Map<String, List<Integer>> groups = new HashMap<>();
    for (int i = 0; i < bindings.size(); i++) {
      BindingDef b = bindings.get(i);
      for (SubjectDef s : b.subjects) {
        String user = userName(b, s);
        if (user != null) {
          add(users, user, i);
        } else if (s.name != null && "Group".equals(s.kind)) {
          add(groups, s.name, i);
        }
      }
    }
    this.byUser = freeze(users);
    this.byGroup = freeze(groups);
  }

  /** The user name a User or ServiceAccount subject matches (as {@link #applies}), or null. */
  private static String userName(BindingDef b, SubjectDef s) {
    if (s.kind == null || s.name == null) {
      return null;
    }
    if (s.kind.equals("User")) {
      return s.name;
    }
    if (s.kind.equals("ServiceAccount")) {
      String ns = s.namespace != null && !s.namespace.isEmpty() ? s.namespace : b.namespace;
      return ns != null && !ns.isEmpty() ? "system:serviceaccount:" + ns + ":" + s.name : null;
    }
    return null;
  }

  private static void add(Map<String, List<Integer>> index, String key, int position) {
    List<Integer> l = index.computeIfAbsent(key, k -> new ArrayList<>());
    if (l.isEmpty() || l.get(l.size() - 1) != position) {
      l.add(position);
    }
  }

  private static Map<String, int[]> freeze(Map<String, List<Integer>> index) {
    Map<String, int[]> out = new HashMap<>();
    index.forEach((k, v) -> out.put(k, v.stream().mapToInt(Integer::intValue).toArray()));
    return out;
  }

  /** Positions of the bindings naming the query's user or one of its groups, ascending, without repeats. */
  private int[] candidates(AccessQuery q) {
    int[] user = byUser.get(q.user());
    int[] out = user == null ? new int[0] : user;
    boolean merged = false;
    for (String g : q.groups()) {
      int[] more = byGroup.get(g);
      if (more != null) {
        int[] both = Arrays.copyOf(out, out.length + more.length);
        System.arraycopy(more, 0, both, out.length, more.length);
        out = both;
        merged = true;
      }
    }
    if (!merged) {
      return out;
    }
    Arrays.sort(out);
    int n = 0;
    for (int i = 0; i < out.length; i++) {
      if (n == 0 || out[n - 1] != out[i]) {
        out[n++] = out[i];
      }
    }
    return Arrays.copyOf(out, n);
  }

  /** Returns an evaluator over the snapshot's roles and bindings. */
  public static RbacEvaluator of(RbacSnapshot snapshot) {
    return new RbacEvaluator(requireNonNull(snapshot, "snapshot"));
  }

  /** Answers the question. */
  public AccessDecision check(AccessQuery q) {
    requireNonNull(q, "query");
    int[] candidates = candidates(q);
    for (int i : candidates) {
      BindingDef b = bindings.get(i);
      if (b.namespace == null) {
        Optional<AccessDecision> d = tryBinding(b, q);
        if (d.isPresent()) {
          return d.get();
        }
      }
    }
    if (!q.isNonResource() && q.namespace().isPresent()) {
      String ns = q.namespace().get();
      for (int i : candidates) {
        BindingDef b = bindings.get(i);
        if (ns.equals(b.namespace)) {
          Optional<AccessDecision> d = tryBinding(b, q);
          if (d.isPresent()) {
            return d.get();
          }
        }
      }
    }
    return AccessDecision.deny();
  }

  private Optional<AccessDecision> tryBinding(BindingDef b, AccessQuery q) {
    if (!applies(b, q)) {
      return Optional.empty();
    }
    RoleDef role = resolve(b);
    if (role == null) {
      return Optional.empty();
    }
    List<Rule> rules = role.rules;
    for (int i = 0; i < rules.size(); i++) {
      Rule r = rules.get(i);
      boolean ok = q.isNonResource()
          ? r.allowsNonResource(q.verb(), q.path().get())
          : r.allows(q.verb(), q.apiGroup(), q.resource(), q.subresource().orElse(null), q.name().orElse(null));
      if (ok) {
        return Optional.of(AccessDecision.allow(b.ref(), role.ref(), i, r.toString()));
      }
    }
    return Optional.empty();
  }

  private RoleDef resolve(BindingDef b) {
    if ("ClusterRole".equals(b.roleKind)) {
      return roles.get("ClusterRole/" + b.roleName);
    }
    if ("Role".equals(b.roleKind) && b.namespace != null) {
      return roles.get("Role/" + b.namespace + "/" + b.roleName);
    }
    return null;
  }

  private static boolean applies(BindingDef b, AccessQuery q) {
    for (SubjectDef s : b.subjects) {
      if (s.kind == null || s.name == null) {
        continue;
      }
      switch (s.kind) {
        case "User":
          if (s.name.equals(q.user())) {
            return true;
          }
          break;
        case "Group":
          if (q.groups().contains(s.name)) {
            return true;
          }
          break;
        case "ServiceAccount":
          String ns = s.namespace != null && !s.namespace.isEmpty() ? s.namespace : b.namespace;
          if (ns != null && !ns.isEmpty() && q.user().equals("system:serviceaccount:" + ns + ":" + s.name)) {
            return true;
          }
          break;
        default:
          break;
      }
    }
    return false;
  }

  @Override
  public String toString() {
    return "RbacEvaluator{" + snapshot + "}";
  }
}
