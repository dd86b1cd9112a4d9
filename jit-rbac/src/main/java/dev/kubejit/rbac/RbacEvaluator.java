package dev.kubejit.rbac;

import static java.util.Objects.requireNonNull;

import dev.kubejit.rbac.Defs.BindingDef;
import dev.kubejit.rbac.Defs.RoleDef;
import dev.kubejit.rbac.Defs.SubjectDef;
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
 */
public final class RbacEvaluator {
  private final RbacSnapshot snapshot;
  private final Map<String, RoleDef> roles = new HashMap<>();

  private RbacEvaluator(RbacSnapshot snapshot) {
    this.snapshot = snapshot;
    for (RoleDef r : snapshot.roles()) {
      roles.put(r.ref(), r);
    }
  }

  /** Returns an evaluator over the snapshot's roles and bindings. */
  public static RbacEvaluator of(RbacSnapshot snapshot) {
    return new RbacEvaluator(requireNonNull(snapshot, "snapshot"));
  }

  /** Answers the question. */
  public AccessDecision check(AccessQuery q) {
    requireNonNull(q, "query");
    for (BindingDef b : snapshot.bindings()) {
      if (b.namespace == null) {
        Optional<AccessDecision> d = tryBinding(b, q);
        if (d.isPresent()) {
          return d.get();
        }
      }
    }
    if (!q.isNonResource() && q.namespace().isPresent()) {
      String ns = q.namespace().get();
      for (BindingDef b : snapshot.bindings()) {
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
