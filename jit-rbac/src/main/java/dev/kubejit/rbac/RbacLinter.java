package dev.kubejit.rbac;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import dev.kubejit.api.Lifetimes;
import dev.kubejit.rbac.Defs.BindingDef;
import dev.kubejit.rbac.Defs.RoleDef;
import dev.kubejit.rbac.Defs.SubjectDef;
import dev.kubejit.rbac.Finding.Severity;
import dev.kubejit.rbac.PrivilegeModel.Capability;
import dev.kubejit.rbac.PrivilegeModel.Reach;
import io.kubernetes.client.openapi.ApiClient;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Finds privilege-escalation paths and missing guardrails in RBAC objects (generated ones, any
 * YAML, or a live cluster), and lists every subject holding {@code cluster-admin} or an
 * escalation-capable permission.
 *
 * <p>What counts as privileged is one data model (capabilities with the request shapes that hold
 * them, population groups, privileged built-in roles, aggregation labels), documented in
 * {@code docs/rbac.md}. Role checks: {@code wildcard}, {@code escalation-verb}, {@code
 * secrets-read}, {@code nodes-proxy}, {@code serviceaccount-token}, {@code csr-approval}, {@code
 * workload-write}, {@code rbac-write}, {@code webhook-write} (errors anywhere), {@code pod-exec}
 * (exec, attach, port-forward, proxy, ephemeral containers, pod writes: an error once it reaches
 * beyond one namespace; a warning in {@code kube-system} and on ClusterRoles), {@code aggregation} (an {@code aggregationRule} that can pull in
 * privileged rules), {@code exec-get-only} (warning). Binding checks: {@code user-subject}, {@code
 * broad-subject} (system:authenticated and other population groups), {@code jit-subject}
 * (anything but a non-system Group in a KubeJIT binding), {@code privileged-roleref}, {@code
 * unknown-roleref} (a KubeJIT binding to a role not in the snapshot, not KubeJIT's, or of another
 * grant), {@code pod-exec} (through a
 * ClusterRoleBinding), {@code jit-no-expiry}, {@code jit-expiry-too-long} (measured from the
 * injected clock's now, and from the creation time when one is given, never trusting it to
 * shorten the bound), {@code jit-created-in-future}, {@code malformed}; warning {@code
 * cluster-scoped-jit}. Wildcards are evaluated with Kubernetes semantics, so a {@code *} rule also
 * triggers every specific check it implies; an aggregating ClusterRole is checked with the rules
 * the controller-manager will copy into it from the snapshot's matching ClusterRoles.
 */
public final class RbacLinter {
  /** Allowed clock skew before a creation timestamp counts as lying in the future. */
  static final Duration CLOCK_SKEW = Duration.ofMinutes(5);

  private final Duration maxJitDuration;
  private final Clock clock;

  private RbacLinter(Builder b) {
    this.maxJitDuration = b.maxJitDuration;
    this.clock = b.clock;
  }

  /** Returns a builder; {@link Builder#maxJitDuration(Duration)} is required. */
  public static Builder builder() {
    return new Builder();
  }

  /** The longest lifetime a JIT binding may have. */
  public Duration maxJitDuration() {
    return maxJitDuration;
  }

  /** Lints generated objects. */
  public List<Finding> lint(GeneratedRbac generated) {
    return lint(RbacSnapshot.of(generated));
  }

  /**
   * Lints multi-document YAML.
   *
   * @throws RbacException if the text is not valid YAML
   */
  public List<Finding> lintYaml(String yaml) {
    return lint(RbacSnapshot.fromYaml(yaml));
  }

  /**
   * Lints every RBAC object of a live cluster.
   *
   * @throws RbacException if the cluster cannot be read
   */
  public List<Finding> lintCluster(ApiClient client) {
    return lint(RbacSnapshot.fromCluster(client));
  }

  /** Lints a snapshot; findings are ordered by object, then by check. */
  public List<Finding> lint(RbacSnapshot snapshot) {
    List<Finding> out = new ArrayList<>();
    for (String p : snapshot.problems()) {
      int sp = p.indexOf(' ');
      int colon = p.indexOf(':');
      String kind = p.substring(0, sp);
      String ref = p.substring(sp + 1, colon);
      int slash = ref.indexOf('/');
      out.add(new Finding("malformed", Severity.ERROR, kind, slash < 0 ? null : ref.substring(0, slash),
          ref.substring(slash + 1), p.substring(colon + 2)));
    }
    Index idx = new Index(snapshot);
    for (RoleDef r : snapshot.roles()) {
      for (Check c : roleChecks(r, idx)) {
        out.add(new Finding(c.id, c.severity, r.kind, r.namespace, r.name, c.message));
      }
    }
    for (BindingDef b : snapshot.bindings()) {
      out.addAll(bindingFindings(b, idx));
    }
    return ImmutableList.copyOf(out);
  }

  /** Whether any finding is an error. */
  public static boolean hasErrors(List<Finding> findings) {
    return findings.stream().anyMatch(Finding::isError);
  }

  /**
   * Lists every subject bound to {@code cluster-admin}, to a privileged built-in role, or to a
   * role with an escalation-capable permission where the binding reaches (any error-level role
   * check; exec-like access through a ClusterRoleBinding), with the binding and role.
   */
  public List<PrivilegedSubject> audit(RbacSnapshot snapshot) {
    Index idx = new Index(snapshot);
    List<PrivilegedSubject> out = new ArrayList<>();
    for (BindingDef b : snapshot.bindings()) {
      Set<String> reasons = new LinkedHashSet<>();
      if ("ClusterRole".equals(b.roleKind) && "cluster-admin".equals(b.roleName)) {
        reasons.add("cluster-admin");
      }
      RoleDef role = idx.role(b);
      if (role != null) {
        for (Check c : roleChecks(role, idx)) {
          if (c.severity == Severity.ERROR) {
            reasons.add(c.id);
          }
        }
        if (beyondNamespace(b)) {
          for (Hit h : idx.hits(role)) {
            if (h.cap.reach == Reach.BEYOND_NAMESPACE) {
              reasons.add(h.cap.id);
            }
          }
        }
      }
      if ("ClusterRole".equals(b.roleKind) && PrivilegeModel.privilegedRole(b.roleName).isPresent()) {
        reasons.add("privileged-roleref");
      }
      if (reasons.isEmpty()) {
        continue;
      }
      for (SubjectDef s : b.subjects) {
        String sns = "ServiceAccount".equals(s.kind)
            ? (s.namespace == null || s.namespace.isEmpty() ? b.namespace : s.namespace) : null;
        out.add(new PrivilegedSubject(String.valueOf(s.kind), String.valueOf(s.name), sns, b.kind, b.namespace,
            b.name, b.roleKind, b.roleName, List.copyOf(reasons)));
      }
    }
    return ImmutableList.copyOf(out);
  }

  /**
   * Audits a live cluster.
   *
   * @throws RbacException if the cluster cannot be read
   */
  public List<PrivilegedSubject> auditCluster(ApiClient client) {
    return audit(RbacSnapshot.fromCluster(client));
  }

  /** Whether the binding grants beyond one ordinary namespace. */
  private static boolean beyondNamespace(BindingDef b) {
    return b.namespace == null || PrivilegeModel.SENSITIVE_NAMESPACES.contains(b.namespace);
  }

  private static final Set<String> SUBJECT_KINDS = Set.of("User", "Group", "ServiceAccount");

  private List<Finding> bindingFindings(BindingDef b, Index idx) {
    List<Finding> out = new ArrayList<>();
    boolean cluster = b.namespace == null;
    boolean roleKindOk = "ClusterRole".equals(b.roleKind) || ("Role".equals(b.roleKind) && !cluster);
    if (!roleKindOk) {
      out.add(f("malformed", Severity.ERROR, b, "roleRef kind " + Names.safe(b.roleKind) + " is not valid in a "
          + b.kind));
    }
    RoleDef role = roleKindOk ? idx.role(b) : null;
    for (SubjectDef s : b.subjects) {
      if (s.kind == null || !SUBJECT_KINDS.contains(s.kind) || s.name == null || s.name.isEmpty()) {
        out.add(f("malformed", Severity.ERROR, b, "subject " + Names.safe(s.kind) + " " + Names.safe(s.name)
            + " is not a User, Group or ServiceAccount with a name"));
      }
    }
    for (SubjectDef s : b.subjects) {
      if ("User".equals(s.kind)) {
        out.add(f("user-subject", Severity.ERROR, b, "binds user " + Names.quote(s.name)
            + "; bind groups or ServiceAccounts, never individual users"));
      }
    }
    for (SubjectDef s : b.subjects) {
      if ("Group".equals(s.kind) && PrivilegeModel.broadGroup(s.name) && !publicRole(b, role, idx)) {
        out.add(f("broad-subject", Severity.ERROR, b, "binds group " + Names.quote(s.name) + ", which stands for a"
            + " whole population, to " + b.roleKind + " " + Names.safe(b.roleName)
            + "; populations may hold only the built-in discovery roles " + PrivilegeModel.PUBLIC_ROLES));
      }
    }
    if ("ClusterRole".equals(b.roleKind)) {
      PrivilegeModel.privilegedRole(b.roleName).ifPresent(why -> out.add(f("privileged-roleref", Severity.ERROR, b,
          "roleRef is the built-in ClusterRole " + Names.safe(b.roleName) + " (" + why + ")")));
    }
    if (role != null && beyondNamespace(b)) {
      for (Hit h : idx.hits(role)) {
        if (h.cap.reach == Reach.BEYOND_NAMESPACE) {
          out.add(cluster
              ? f(h.cap.id, Severity.ERROR, b, "grants " + h.describe() + " in every namespace through " + role.kind
                  + " " + Names.safe(role.name) + " " + h.at())
              : f(h.cap.id, Severity.WARNING, b, "grants " + h.describe() + " in the sensitive namespace "
                  + b.namespace + " (its pods hold the controllers' tokens): acceptable only as a reviewed"
                  + " break-glass grant; through " + role.kind + " " + Names.safe(role.name) + " " + h.at()));
        }
      }
    }
    if (b.managed()) {
      out.addAll(jitFindings(b, role, roleKindOk));
    }
    return out;
  }

  private List<Finding> jitFindings(BindingDef b, RoleDef role, boolean roleKindOk) {
    List<Finding> out = new ArrayList<>();
    for (SubjectDef s : b.subjects) {
      if (!"Group".equals(s.kind)) {
        out.add(f("jit-subject", Severity.ERROR, b, "JIT binding names " + Names.safe(s.kind) + " "
            + Names.quote(s.name) + "; KubeJIT binds only its own groups"));
      } else if (s.name != null && s.name.toLowerCase(Locale.ROOT).startsWith("system:")) {
        out.add(f("jit-subject", Severity.ERROR, b, "JIT binding names the built-in group " + Names.quote(s.name)));
      } else if (!validGroup(s.name)) {
        out.add(f("jit-subject", Severity.ERROR, b, "JIT binding names the group " + Names.quote(s.name)
            + ", which KubeJIT would never generate"));
      }
    }
    if (roleKindOk && role == null) {
      out.add(f("unknown-roleref", Severity.ERROR, b, "JIT binding refers to " + Names.safe(b.roleKind) + " "
          + Names.safe(b.roleName) + ", which is not among the objects checked; a JIT binding must refer to its"
          + " own, checked role"));
    } else if (roleKindOk && !Names.MANAGED_BY_VALUE.equals(role.labels.get(Names.MANAGED_BY))) {
      out.add(f("unknown-roleref", Severity.ERROR, b, "JIT binding refers to " + Names.safe(b.roleKind) + " "
          + Names.safe(b.roleName) + ", which is not KubeJIT's (no " + Names.MANAGED_BY + "=" + Names.MANAGED_BY_VALUE
          + " label); KubeJIT binds only the role it creates for the grant"));
    } else if (roleKindOk && b.labels.containsKey(Names.GRANT_ID)
        && !b.labels.get(Names.GRANT_ID).equals(role.labels.get(Names.GRANT_ID))) {
      out.add(f("unknown-roleref", Severity.ERROR, b, "JIT binding of grant " + Names.quote(b.labels.get(Names.GRANT_ID))
          + " refers to " + Names.safe(b.roleKind) + " " + Names.safe(b.roleName) + ", which belongs to "
          + (role.labels.containsKey(Names.GRANT_ID) ? "grant " + Names.quote(role.labels.get(Names.GRANT_ID)) : "no grant")
          + "; KubeJIT binds only the role it creates for the same grant"));
    }
    if (b.namespace == null) {
      out.add(f("cluster-scoped-jit", Severity.WARNING, b, "JIT binding is cluster-wide; prefer a RoleBinding"));
    }
    Instant now = clock.instant();
    if (b.created != null && b.created.isAfter(now.plus(CLOCK_SKEW))) {
      out.add(f("jit-created-in-future", Severity.ERROR, b, "creationTimestamp " + b.created + " lies after now ("
          + now + "); the API server never sets that, so the object is forged"));
    }
    String exp = b.annotations.get(Names.EXPIRES_AT);
    if (exp == null) {
      out.add(f("jit-no-expiry", Severity.ERROR, b, "JIT binding has no " + Names.EXPIRES_AT + " annotation"));
      return out;
    }
    Instant at;
    try {
      at = Instant.parse(exp);
    } catch (DateTimeParseException e) {
      out.add(f("jit-no-expiry", Severity.ERROR, b, Names.EXPIRES_AT + " is not an RFC 3339 UTC instant: "
          + Names.quote(exp)));
      return out;
    }
    if (Duration.between(now, at).compareTo(maxJitDuration) > 0) {
      out.add(f("jit-expiry-too-long", Severity.ERROR, b, "expires at " + at + ", more than " + maxJitDuration
          + " after now (" + now + ")"));
    } else if (b.created != null && Duration.between(b.created, at).compareTo(maxJitDuration) > 0) {
      out.add(f("jit-expiry-too-long", Severity.ERROR, b, "expires at " + at + ", more than " + maxJitDuration
          + " after its creation (" + b.created + ")"));
    }
    return out;
  }

  private static boolean validGroup(String g) {
    try {
      Names.requireGroup(g);
      return true;
    } catch (RbacException e) {
      return false;
    }
  }

  /** Whether the binding's role is a built-in discovery role that a population may hold. */
  private static boolean publicRole(BindingDef b, RoleDef role, Index idx) {
    if (!"ClusterRole".equals(b.roleKind) || !PrivilegeModel.PUBLIC_ROLES.contains(b.roleName)) {
      return false;
    }
    if (role == null) {
      return true;
    }
    return idx.hits(role).isEmpty() && roleChecks(role, idx).stream().noneMatch(Check::isError);
  }

  private static Finding f(String id, Severity s, BindingDef b, String msg) {
    return new Finding(id, s, b.kind, b.namespace, b.name, msg);
  }

  /** A finding before it is attached to an object. */
  static final class Check {
    final String id;
    final Severity severity;
    final String message;

    Check(String id, Severity severity, String message) {
      this.id = id;
      this.severity = severity;
      this.message = message;
    }

    boolean isError() {
      return severity == Severity.ERROR;
    }
  }

  /** A rule of a role's effective rules, and the role it comes from when aggregated. */
  static final class SourcedRule {
    final Rule rule;
    final int index;
    final String from;

    SourcedRule(Rule rule, int index, String from) {
      this.rule = rule;
      this.index = index;
      this.from = from;
    }

    String at() {
      return "rule " + index + " " + rule + (from == null ? "" : " of ClusterRole " + Names.safe(from)
          + " (aggregated)");
    }
  }

  /** A capability held by one rule, with the request shape that witnesses it. */
  static final class Hit {
    final Capability cap;
    final SourcedRule rule;
    final PrivilegeModel.Probe probe;
    final String verb;

    Hit(Capability cap, SourcedRule rule, PrivilegeModel.Probe probe, String verb) {
      this.cap = cap;
      this.rule = rule;
      this.probe = probe;
      this.verb = verb;
    }

    String describe() {
      return cap.what + " ('" + Names.safe(verb) + "' on " + probe.target() + ")";
    }

    String at() {
      return rule.at();
    }
  }

  /**
   * The snapshot's roles by reference, with each role's effective rules: its stored rules plus,
   * for an aggregating ClusterRole, the rules of every ClusterRole in the snapshot that its
   * selectors match (transitively, as the aggregation controller converges).
   */
  static final class Index {
    private final Map<String, RoleDef> roles = new HashMap<>();
    private final List<RoleDef> clusterRoles = new ArrayList<>();
    private final Map<String, List<SourcedRule>> effective = new HashMap<>();
    private final Map<String, List<Hit>> hits = new HashMap<>();

    Index(RbacSnapshot snapshot) {
      for (RoleDef r : snapshot.roles()) {
        roles.putIfAbsent(r.ref(), r);
        if (r.namespace == null) {
          clusterRoles.add(r);
        }
      }
    }

    RoleDef role(BindingDef b) {
      String key = "ClusterRole".equals(b.roleKind) ? "ClusterRole/" + b.roleName
          : "Role/" + b.namespace + "/" + b.roleName;
      return roles.get(key);
    }

    List<SourcedRule> effectiveRules(RoleDef role) {
      return effective.computeIfAbsent(role.ref(), k -> {
        List<SourcedRule> out = new ArrayList<>();
        for (int i = 0; i < role.rules.size(); i++) {
          out.add(new SourcedRule(role.rules.get(i), i, null));
        }
        if (role.aggregated()) {
          Set<String> seen = new LinkedHashSet<>();
          seen.add(role.name);
          collect(role, seen, out);
        }
        return out;
      });
    }

    private void collect(RoleDef aggregator, Set<String> seen, List<SourcedRule> out) {
      for (RoleDef c : clusterRoles) {
        if (seen.contains(c.name) || aggregator.aggregation.stream().noneMatch(s -> s.matches(c.labels))) {
          continue;
        }
        seen.add(c.name);
        for (int i = 0; i < c.rules.size(); i++) {
          out.add(new SourcedRule(c.rules.get(i), i, c.name));
        }
        if (c.aggregated()) {
          collect(c, seen, out);
        }
      }
    }

    List<Hit> hits(RoleDef role) {
      return hits.computeIfAbsent(role.ref(), k -> {
        List<Hit> out = new ArrayList<>();
        for (SourcedRule sr : effectiveRules(role)) {
          if (!sr.rule.nonResourceURLs.isEmpty() && sr.rule.resources.isEmpty()) {
            continue;
          }
          for (Capability cap : PrivilegeModel.CAPABILITIES) {
            for (PrivilegeModel.Probe p : cap.probes) {
              Optional<String> verb = p.heldBy(sr.rule);
              if (verb.isPresent()) {
                out.add(new Hit(cap, sr, p, verb.get()));
                break;
              }
            }
          }
        }
        return out;
      });
    }
  }

  /** Whether a ClusterRole carries a label that aggregates it into other (shared) roles. */
  private static boolean aggregatesIntoOthers(RoleDef role) {
    return role.labels.keySet().stream().anyMatch(k -> k.startsWith(PrivilegeModel.AGGREGATE_PREFIX));
  }

  /** The rule-level checks of one role, in rule order. */
  static List<Check> roleChecks(RoleDef role, Index idx) {
    List<Check> out = new ArrayList<>();
    boolean cluster = role.namespace == null;
    boolean sensitive = !cluster && PrivilegeModel.SENSITIVE_NAMESPACES.contains(role.namespace);
    boolean feedsShared = cluster && aggregatesIntoOthers(role);
    if (role.aggregated()) {
      for (Defs.Selector s : role.aggregation) {
        PrivilegeModel.aggregationDanger(s).ifPresent(why -> out.add(new Check("aggregation", Severity.ERROR,
            "aggregationRule selector " + s + " makes the controller-manager copy into this role " + why)));
      }
    }
    for (SourcedRule sr : idx.effectiveRules(role)) {
      if (PrivilegeModel.wildcard(sr.rule)) {
        out.add(new Check("wildcard", Severity.ERROR, "'*' in verbs, resources, apiGroups or nonResourceURLs: "
            + sr.at()));
      }
    }
    boolean execGet = false;
    boolean execCreate = false;
    for (Hit h : idx.hits(role)) {
      if (h.cap.reach == Reach.ANYWHERE) {
        out.add(new Check(h.cap.id, Severity.ERROR, "allows " + h.describe() + ": " + h.at()));
      } else if (sensitive) {
        out.add(new Check(h.cap.id, Severity.WARNING, "allows " + h.describe() + " in the sensitive namespace "
            + role.namespace + " (its pods hold the controllers' tokens): acceptable only as a reviewed break-glass"
            + " grant: " + h.at()));
      } else if (feedsShared) {
        out.add(new Check(h.cap.id, Severity.ERROR, "allows " + h.describe() + " and is labelled for aggregation"
            + " into shared roles: " + h.at()));
      } else if (cluster) {
        out.add(new Check(h.cap.id, Severity.WARNING, "allows " + h.describe() + ": acceptable only through"
            + " RoleBindings in single namespaces; an error once bound by a ClusterRoleBinding: " + h.at()));
      }
    }
    for (SourcedRule sr : idx.effectiveRules(role)) {
      execGet |= sr.rule.grantsSome("get", "", "pods", "exec");
      execCreate |= sr.rule.grantsSome("create", "", "pods", "exec");
    }
    if (execGet && !execCreate) {
      out.add(new Check("exec-get-only", Severity.WARNING, "pods/exec is granted with 'get' but not 'create';"
          + " older API servers allowed exec over WebSocket with 'get' (kubernetes#78741): grant 'create'"));
    }
    return out;
  }

  @Override
  public String toString() {
    return "RbacLinter{maxJitDuration=" + maxJitDuration + "}";
  }

  /** Builds an {@link RbacLinter}. */
  public static final class Builder {
    private Duration maxJitDuration;
    private Clock clock = Clock.systemUTC();

    private Builder() {}

    /**
     * Sets the longest lifetime a JIT binding may have (required).
     *
     * @throws IllegalArgumentException if not positive or above {@link Lifetimes#ABSOLUTE_MAX}
     */
    public Builder maxJitDuration(Duration max) {
      requireNonNull(max, "maxJitDuration");
      Lifetimes.requireWithinCap(max, "maxJitDuration");
      if (this.maxJitDuration != null) {
        throw new IllegalStateException("maxJitDuration was already set to " + this.maxJitDuration);
      }
      this.maxJitDuration = max;
      return this;
    }

    /** Sets the clock whose now bounds every JIT binding's expiry (default: system UTC). */
    public Builder clock(Clock clock) {
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Returns the linter.
     *
     * @throws IllegalStateException if maxJitDuration was not set
     */
    public RbacLinter build() {
      if (maxJitDuration == null) {
        throw new IllegalStateException("maxJitDuration is required");
      }
      return new RbacLinter(this);
    }
  }
}
