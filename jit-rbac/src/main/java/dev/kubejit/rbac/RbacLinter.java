package dev.kubejit.rbac;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import dev.kubejit.rbac.Defs.BindingDef;
import dev.kubejit.rbac.Defs.RoleDef;
import dev.kubejit.rbac.Defs.SubjectDef;
import dev.kubejit.rbac.Finding.Severity;
import io.kubernetes.client.openapi.ApiClient;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Finds privilege-escalation paths and missing guardrails in RBAC objects (generated ones, any
 * YAML, or a live cluster), and lists every subject holding {@code cluster-admin} or an
 * escalation-capable permission.
 *
 * <p>Errors: {@code user-subject}, {@code wildcard}, {@code escalation-verb} (escalate, bind,
 * impersonate), {@code secrets-read}, {@code nodes-proxy}, {@code serviceaccount-token},
 * {@code csr-approval}, {@code workload-write} (create/update/patch of pods and workloads),
 * {@code rbac-write}, {@code webhook-write}, {@code privileged-roleref} (cluster-admin, admin,
 * edit), {@code jit-no-expiry}, {@code jit-expiry-too-long}, {@code malformed}. Warnings:
 * {@code cluster-scoped-jit}, {@code exec-get-only}. Wildcards are evaluated with Kubernetes
 * semantics, so a {@code *} rule also triggers every specific check it implies.
 */
public final class RbacLinter {
  private static final List<String> WRITE = List.of("create", "update", "patch");
  private static final List<String> READ = List.of("get", "list", "watch");
  private static final Set<String> PRIVILEGED_ROLES = Set.of("cluster-admin", "admin", "edit");

  /** (apiGroup, resource) pairs whose create/update/patch allows running code or changing controllers. */
  private static final String[][] WORKLOADS = {
    {"", "pods"}, {"", "replicationcontrollers"},
    {"apps", "deployments"}, {"apps", "daemonsets"}, {"apps", "statefulsets"}, {"apps", "replicasets"},
    {"extensions", "deployments"}, {"extensions", "daemonsets"}, {"extensions", "replicasets"},
    {"batch", "jobs"}, {"batch", "cronjobs"},
  };
  private static final String[][] RBAC_OBJECTS = {
    {Names.RBAC_GROUP, "roles"}, {Names.RBAC_GROUP, "rolebindings"},
    {Names.RBAC_GROUP, "clusterroles"}, {Names.RBAC_GROUP, "clusterrolebindings"},
  };
  private static final String[][] WEBHOOKS = {
    {"admissionregistration.k8s.io", "mutatingwebhookconfigurations"},
    {"admissionregistration.k8s.io", "validatingwebhookconfigurations"},
  };

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
    for (RoleDef r : snapshot.roles()) {
      for (Check c : roleChecks(r)) {
        out.add(new Finding(c.id, c.severity, r.kind, r.namespace, r.name, c.message));
      }
    }
    for (BindingDef b : snapshot.bindings()) {
      out.addAll(bindingFindings(b));
    }
    return ImmutableList.copyOf(out);
  }

  /** Whether any finding is an error. */
  public static boolean hasErrors(List<Finding> findings) {
    return findings.stream().anyMatch(Finding::isError);
  }

  /**
   * Lists every subject bound to {@code cluster-admin} or to a role with an escalation-capable
   * permission (any error-level rule check), with the binding and role.
   */
  public List<PrivilegedSubject> audit(RbacSnapshot snapshot) {
    Map<String, RoleDef> roles = new HashMap<>();
    for (RoleDef r : snapshot.roles()) {
      roles.put(r.ref(), r);
    }
    List<PrivilegedSubject> out = new ArrayList<>();
    for (BindingDef b : snapshot.bindings()) {
      String key = "ClusterRole".equals(b.roleKind) ? "ClusterRole/" + b.roleName
          : "Role/" + b.namespace + "/" + b.roleName;
      RoleDef role = roles.get(key);
      Set<String> reasons = new LinkedHashSet<>();
      if ("ClusterRole".equals(b.roleKind) && "cluster-admin".equals(b.roleName)) {
        reasons.add("cluster-admin");
      }
      if (role != null) {
        for (Check c : roleChecks(role)) {
          if (c.severity == Severity.ERROR) {
            reasons.add(c.id);
          }
        }
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

  private List<Finding> bindingFindings(BindingDef b) {
    List<Finding> out = new ArrayList<>();
    for (SubjectDef s : b.subjects) {
      if ("User".equals(s.kind)) {
        out.add(f("user-subject", Severity.ERROR, b, "binds user " + Names.quote(s.name)
            + "; bind groups or ServiceAccounts, never individual users"));
      }
    }
    if ("ClusterRole".equals(b.roleKind) && PRIVILEGED_ROLES.contains(b.roleName)) {
      out.add(f("privileged-roleref", Severity.ERROR, b, "roleRef is the built-in ClusterRole " + b.roleName));
    }
    if (b.managed()) {
      if (b.namespace == null) {
        out.add(f("cluster-scoped-jit", Severity.WARNING, b, "JIT binding is cluster-wide; prefer a RoleBinding"));
      }
      String exp = b.annotations.get(Names.EXPIRES_AT);
      if (exp == null) {
        out.add(f("jit-no-expiry", Severity.ERROR, b, "JIT binding has no " + Names.EXPIRES_AT + " annotation"));
      } else {
        Instant at;
        try {
          at = Instant.parse(exp);
        } catch (DateTimeParseException e) {
          at = null;
        }
        if (at == null) {
          out.add(f("jit-no-expiry", Severity.ERROR, b, Names.EXPIRES_AT + " is not an RFC 3339 UTC instant: "
              + Names.quote(exp)));
        } else {
          Instant base = b.created != null ? b.created : clock.instant();
          if (Duration.between(base, at).compareTo(maxJitDuration) > 0) {
            out.add(f("jit-expiry-too-long", Severity.ERROR, b, "expires at " + exp + ", more than "
                + maxJitDuration + " after " + base));
          }
        }
      }
    }
    return out;
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
  }

  /** The rule-level checks of one role, in rule order. */
  static List<Check> roleChecks(RoleDef role) {
    List<Check> out = new ArrayList<>();
    boolean execGet = false;
    boolean execCreate = false;
    for (int i = 0; i < role.rules.size(); i++) {
      Rule r = role.rules.get(i);
      String at = "rule " + i + " " + r;
      if (r.verbs.contains("*") || r.resources.contains("*") || r.apiGroups.contains("*")) {
        out.add(new Check("wildcard", Severity.ERROR, "'*' in verbs, resources or apiGroups: " + at));
      }
      if (!r.nonResourceURLs.isEmpty() && r.resources.isEmpty()) {
        continue;
      }
      List<String> esc = new ArrayList<>();
      for (String v : List.of("escalate", "bind", "impersonate")) {
        if (r.verbMatches(v)) {
          esc.add(v);
        }
      }
      if (!esc.isEmpty()) {
        out.add(new Check("escalation-verb", Severity.ERROR, "allows verbs " + esc + ": " + at));
      }
      if (anyVerb(r, READ, "", "secrets", null)) {
        out.add(new Check("secrets-read", Severity.ERROR, "allows reading secrets: " + at));
      }
      if (r.apiGroupMatches("") && r.resourceMatches("nodes", "proxy") && !r.verbs.isEmpty()) {
        out.add(new Check("nodes-proxy", Severity.ERROR, "allows nodes/proxy (kubelet API access): " + at));
      }
      if (r.grantsSome("create", "", "serviceaccounts", "token")) {
        out.add(new Check("serviceaccount-token", Severity.ERROR, "allows creating serviceaccounts/token: " + at));
      }
      if (anyVerb(r, List.of("update", "patch"), "certificates.k8s.io", "certificatesigningrequests", "approval")) {
        out.add(new Check("csr-approval", Severity.ERROR, "allows approving certificatesigningrequests: " + at));
      }
      List<String> w = writes(r, WORKLOADS);
      if (!w.isEmpty()) {
        out.add(new Check("workload-write", Severity.ERROR, "allows create/update/patch of " + w + ": " + at));
      }
      List<String> rb = writes(r, RBAC_OBJECTS);
      if (!rb.isEmpty()) {
        out.add(new Check("rbac-write", Severity.ERROR, "allows create/update/patch of " + rb + ": " + at));
      }
      List<String> wh = writes(r, WEBHOOKS);
      if (!wh.isEmpty()) {
        out.add(new Check("webhook-write", Severity.ERROR, "allows create/update/patch of " + wh + ": " + at));
      }
      execGet |= r.grantsSome("get", "", "pods", "exec");
      execCreate |= r.grantsSome("create", "", "pods", "exec");
    }
    if (execGet && !execCreate) {
      out.add(new Check("exec-get-only", Severity.WARNING, "pods/exec is granted with 'get' but not 'create';"
          + " older API servers allowed exec over WebSocket with 'get' (kubernetes#78741): grant 'create'"));
    }
    return out;
  }

  private static boolean anyVerb(Rule r, List<String> verbs, String group, String resource, String sub) {
    for (String v : verbs) {
      if (r.grantsSome(v, group, resource, sub)) {
        return true;
      }
    }
    return false;
  }

  private static List<String> writes(Rule r, String[][] targets) {
    List<String> hit = new ArrayList<>();
    for (String[] t : targets) {
      if (anyVerb(r, WRITE, t[0], t[1], null)) {
        hit.add(t[0].isEmpty() ? t[1] : t[1] + "." + t[0]);
      }
    }
    return hit;
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

    /** Sets the longest lifetime a JIT binding may have (required, positive). */
    public Builder maxJitDuration(Duration max) {
      requireNonNull(max, "maxJitDuration");
      if (max.isNegative() || max.isZero()) {
        throw new IllegalArgumentException("maxJitDuration must be positive: " + max);
      }
      if (this.maxJitDuration != null) {
        throw new IllegalStateException("maxJitDuration was already set to " + this.maxJitDuration);
      }
      this.maxJitDuration = max;
      return this;
    }

    /** Sets the clock used for bindings without a creation timestamp (default: system UTC). */
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
