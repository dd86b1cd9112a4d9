package dev.kubejit.rbac;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import com.google.common.collect.ImmutableSet;
import dev.kubejit.rbac.Defs.Selector;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * KubeJIT's model of what is privileged in Kubernetes RBAC, as data: the capabilities that lead
 * to more access than they name, the group subjects that stand for whole populations, the built-in
 * ClusterRoles that hold such capabilities, and the aggregation labels that pour rules into shared
 * roles. {@link RbacLinter} evaluates these tables; no other code decides what is privileged.
 *
 * <p>Design notes: a {@link Capability} is a list of {@link Probe}s (request shapes such as
 * {@code create pods/exec}); a rule holds the capability when it allows any probe for some name,
 * evaluated with the authorizer's own matching ({@link Rule#grantsSome}), so {@code *} and
 * {@code *}{@code /sub} rules hold every capability they imply. {@link Reach} says where holding it
 * is an escalation: anywhere, or only once it reaches beyond one namespace (exec-like access is
 * what a namespaced JIT grant is for; in every namespace it reaches every service-account token;
 * in {@code kube-system}, whose pods run the controllers, it is warned about, since that is where
 * reviewed break-glass grants go). Sources: the
 * Kubernetes "RBAC good practices" page (privilege-escalation risks), the RBAC API reference, the
 * bootstrap policy the API server creates (checked against a real API server by
 * {@code PrivilegeModelKubeTest}), and the escalation corpus in the tests.
 */
final class PrivilegeModel {
  private PrivilegeModel() {}

  /** Where holding a capability is an escalation. */
  enum Reach {
    /** In any role, bound anywhere. */
    ANYWHERE,
    /**
     * Once it reaches beyond one namespace: through a ClusterRoleBinding, or through a ClusterRole
     * that aggregates into shared roles (a warning in a {@link #SENSITIVE_NAMESPACES sensitive}
     * namespace, where the project's break-glass grants go).
     */
    BEYOND_NAMESPACE
  }

  /**
   * Marks a probe that matches any resource (the rule must name at least one) but only verbs the
   * rule names literally, not through {@code *}: naming escalate, bind or impersonate at all is
   * deliberate, while {@code *} verbs are judged by the precise probes (and the wildcard check).
   */
  static final String NAMED_VERB_ANY_RESOURCE = "<any>";

  /** One request shape; no verbs means any verb the rule names. */
  static final class Probe {
    final ImmutableList<String> verbs;
    final String group;
    final String resource;
    final String subresource;

    private Probe(List<String> verbs, String group, String resource, String subresource) {
      this.verbs = ImmutableList.copyOf(verbs);
      this.group = group;
      this.resource = resource;
      this.subresource = subresource;
    }

    /** The first verb (in probe order) for which {@code r} allows this request for some name, or empty. */
    Optional<String> heldBy(Rule r) {
      if (r.resources.isEmpty() || r.apiGroups.isEmpty() || r.verbs.isEmpty()) {
        return Optional.empty();
      }
      if (resource.equals(NAMED_VERB_ANY_RESOURCE)) {
        for (String v : verbs) {
          if (r.verbs.contains(v)) {
            return Optional.of(v);
          }
        }
        return Optional.empty();
      }
      if (!r.apiGroupMatches(group) || !r.resourceMatches(resource, subresource)) {
        return Optional.empty();
      }
      if (verbs.isEmpty()) {
        return Optional.of(r.verbs.get(0));
      }
      for (String v : verbs) {
        if (r.verbMatches(v)) {
          return Optional.of(v);
        }
      }
      return Optional.empty();
    }

    /** The resource part, such as {@code pods/exec} or {@code deployments.apps}. */
    String target() {
      return resource.equals(NAMED_VERB_ANY_RESOURCE) ? "any resource"
          : (subresource == null ? resource : resource + "/" + subresource) + (group.isEmpty() ? "" : "." + group);
    }

    @Override
    public String toString() {
      return (verbs.isEmpty() ? "any verb" : String.join("|", verbs)) + " " + target();
    }
  }

  /** A permission that leads to more access than it names. */
  static final class Capability {
    final String id;
    final Reach reach;
    final String what;
    final ImmutableList<Probe> probes;

    private Capability(String id, Reach reach, String what, List<Probe> probes) {
      this.id = id;
      this.reach = reach;
      this.what = what;
      this.probes = ImmutableList.copyOf(probes);
    }

    @Override
    public String toString() {
      return id;
    }
  }

  private static final String CORE = "";
  private static final String RBAC = Names.RBAC_GROUP;
  private static final String CERTS = "certificates.k8s.io";
  private static final String ADMISSION = "admissionregistration.k8s.io";
  private static final List<String> READ = List.of("get", "list", "watch");
  private static final List<String> WRITE = List.of("create", "update", "patch");
  private static final List<String> ANY_VERB = List.of();

  private static Probe p(List<String> verbs, String group, String resource) {
    int slash = resource.indexOf('/');
    return slash < 0 ? new Probe(verbs, group, resource, null)
        : new Probe(verbs, group, resource.substring(0, slash), resource.substring(slash + 1));
  }

  private static List<Probe> each(List<String> verbs, String group, String... resources) {
    List<Probe> out = new ArrayList<>();
    for (String r : resources) {
      out.add(p(verbs, group, r));
    }
    return out;
  }

  private static List<Probe> concat(List<List<Probe>> parts) {
    List<Probe> out = new ArrayList<>();
    parts.forEach(out::addAll);
    return out;
  }

  /** Every capability, in report order. */
  static final ImmutableList<Capability> CAPABILITIES = ImmutableList.of(
      new Capability("escalation-verb", Reach.ANYWHERE,
          "escalate, bind or impersonate (grant or assume permissions one does not hold)",
          concat(List.of(each(List.of("escalate", "bind"), RBAC, "roles", "clusterroles"),
              each(List.of("impersonate"), CORE, "users", "groups", "serviceaccounts"),
              each(List.of("impersonate"), "authentication.k8s.io", "uids", "userextras"),
              List.of(new Probe(List.of("escalate", "bind", "impersonate"), "*", NAMED_VERB_ANY_RESOURCE, null))))),
      new Capability("secrets-read", Reach.ANYWHERE, "reading secrets (service-account tokens, credentials)",
          each(READ, CORE, "secrets")),
      new Capability("nodes-proxy", Reach.ANYWHERE, "nodes/proxy (the kubelet API: exec in any pod of the node)",
          each(ANY_VERB, CORE, "nodes/proxy")),
      new Capability("serviceaccount-token", Reach.ANYWHERE, "minting service-account tokens",
          each(List.of("create"), CORE, "serviceaccounts/token")),
      new Capability("csr-approval", Reach.ANYWHERE,
          "approving or signing certificate requests, or requesting auto-approved node client certificates",
          concat(List.of(each(List.of("update", "patch"), CERTS, "certificatesigningrequests/approval"),
              each(List.of("approve", "sign"), CERTS, "signers"),
              each(List.of("create"), CERTS, "certificatesigningrequests/nodeclient")))),
      new Capability("workload-write", Reach.ANYWHERE,
          "creating or changing pods and workloads (run any code as any service account of the namespace)",
          concat(List.of(each(WRITE, CORE, "pods", "replicationcontrollers"),
              each(WRITE, "apps", "deployments", "daemonsets", "statefulsets", "replicasets"),
              each(WRITE, "extensions", "deployments", "daemonsets", "replicasets"),
              each(WRITE, "batch", "jobs", "cronjobs")))),
      new Capability("rbac-write", Reach.ANYWHERE, "writing RBAC objects",
          each(WRITE, RBAC, "roles", "rolebindings", "clusterroles", "clusterrolebindings")),
      new Capability("webhook-write", Reach.ANYWHERE,
          "writing or deleting admission webhooks and policies (intercept or unguard every request)",
          each(List.of("create", "update", "patch", "delete", "deletecollection"), ADMISSION,
              "mutatingwebhookconfigurations", "validatingwebhookconfigurations", "validatingadmissionpolicies",
              "validatingadmissionpolicybindings", "mutatingadmissionpolicies", "mutatingadmissionpolicybindings")),
      new Capability("pod-exec", Reach.BEYOND_NAMESPACE,
          "exec, attach, port-forward or proxy into pods, or add ephemeral containers",
          concat(List.of(each(List.of("create", "get"), CORE, "pods/exec", "pods/attach", "pods/portforward"),
              each(ANY_VERB, CORE, "pods/proxy", "services/proxy"),
              each(List.of("update", "patch"), CORE, "pods/ephemeralcontainers"),
              each(List.of("create", "update", "patch"), CORE, "pods")))));

  /** Namespaces in which {@link Reach#BEYOND_NAMESPACE} capabilities are warned about even in a Role. */
  static final ImmutableSet<String> SENSITIVE_NAMESPACES = ImmutableSet.of("kube-system");

  /** Groups that stand for populations rather than a team: everyone, every service account, every node, the admins. */
  static final ImmutableSet<String> BROAD_GROUPS = ImmutableSet.of("system:authenticated", "system:unauthenticated",
      "system:serviceaccounts", "system:masters", "system:nodes", "system:bootstrappers", "system:anonymous");

  /** Prefixes of further population groups ({@code system:serviceaccounts:<ns>}: every account of a namespace). */
  static final ImmutableList<String> BROAD_GROUP_PREFIXES = ImmutableList.of("system:serviceaccounts:",
      "system:bootstrappers:");

  /**
   * Built-in ClusterRoles a population group may be bound to: discovery, public information and
   * self-review only (the API server's own bootstrap bindings).
   */
  static final ImmutableSet<String> PUBLIC_ROLES = ImmutableSet.of("system:basic-user", "system:discovery",
      "system:public-info-viewer", "system:service-account-issuer-discovery");

  /**
   * Built-in ClusterRoles that hold escalation paths, with why, for bindings whose role is not in
   * the snapshot (and for every binding to them, since the API server restores their bootstrap
   * rules). {@code PrivilegeModelKubeTest} checks this list against the bootstrap roles of a real
   * API server.
   */
  static final ImmutableMap<String, String> PRIVILEGED_ROLES = ImmutableMap.<String, String>builder()
      .put("cluster-admin", "every permission")
      .put("admin", "aggregates namespace administration: secrets, exec, workloads, RBAC in the namespace")
      .put("edit", "aggregates secrets, exec and workload writes")
      .put("system:aggregate-to-admin", "RBAC writes, aggregated into admin")
      .put("system:aggregate-to-edit", "secrets, exec, workload writes, service-account impersonation")
      .put("system:kube-controller-manager", "secrets, service-account tokens, every controller's permissions")
      .put("system:node", "secrets, pods and service-account tokens of the node's pods")
      .put("system:kubelet-api-admin", "the kubelet API of every node (nodes/proxy)")
      .put("system:certificates.k8s.io:certificatesigningrequests:nodeclient",
          "node client certificates, approved automatically")
      .put("system:certificates.k8s.io:kube-apiserver-client-approver", "approves client certificates")
      .put("system:certificates.k8s.io:kube-apiserver-client-kubelet-approver", "approves kubelet certificates")
      .put("system:certificates.k8s.io:kubelet-serving-approver", "approves kubelet serving certificates")
      .put("system:certificates.k8s.io:legacy-unknown-approver", "approves legacy certificates")
      .build();

  /** Name prefixes of built-in ClusterRoles treated as privileged (each controller's own role). */
  static final ImmutableList<String> PRIVILEGED_ROLE_PREFIXES = ImmutableList.of("system:controller:");

  /** The aggregation label key prefix of the API server's bootstrap roles. */
  static final String AGGREGATE_PREFIX = "rbac.authorization.k8s.io/aggregate-to-";

  /** Aggregation labels whose target is read-only (the bootstrap {@code view} role). */
  static final ImmutableSet<String> SAFE_AGGREGATION_LABELS = ImmutableSet.of(AGGREGATE_PREFIX + "view");

  /** Aggregation labels whose target roles are privileged. */
  static final ImmutableSet<String> PRIVILEGED_AGGREGATION_LABELS = ImmutableSet.of(AGGREGATE_PREFIX + "admin",
      AGGREGATE_PREFIX + "edit", AGGREGATE_PREFIX + "cluster-admin", AGGREGATE_PREFIX + "cluster-reader");

  /** Whether {@code group} stands for a population ({@link #BROAD_GROUPS}, {@link #BROAD_GROUP_PREFIXES}). */
  static boolean broadGroup(String group) {
    if (group == null) {
      return false;
    }
    String g = group.toLowerCase(Locale.ROOT);
    return BROAD_GROUPS.contains(g) || BROAD_GROUP_PREFIXES.stream().anyMatch(g::startsWith);
  }

  /** Why the built-in ClusterRole {@code name} is privileged, or empty if the model does not list it. */
  static Optional<String> privilegedRole(String name) {
    if (name == null) {
      return Optional.empty();
    }
    String why = PRIVILEGED_ROLES.get(name);
    if (why != null) {
      return Optional.of(why);
    }
    for (String p : PRIVILEGED_ROLE_PREFIXES) {
      if (name.startsWith(p)) {
        return Optional.of("a controller's role (controllers hold escalate, bind, secrets or wildcard permissions)");
      }
    }
    return Optional.empty();
  }

  /**
   * Whether a rule contains a {@code *} wildcard: in verbs, apiGroups or resources (including
   * {@code *}{@code /sub}), or a non-resource URL that matches every path ({@code *}, {@code /*}).
   */
  static boolean wildcard(Rule r) {
    if (r.verbs.contains("*") || r.apiGroups.contains("*")) {
      return true;
    }
    for (String res : r.resources) {
      if (res.contains("*")) {
        return true;
      }
    }
    for (String u : r.nonResourceURLs) {
      if (u.endsWith("*")) {
        String prefix = u.substring(0, u.length() - 1);
        if (prefix.isEmpty() || prefix.equals("/")) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Why an aggregation selector is dangerous, or empty if it selects only read-only roles: a
   * selector is safe only when it is exactly one {@link #SAFE_AGGREGATION_LABELS} label equal to
   * {@code "true"}; one that mentions a privileged label is named as such; any other selector
   * (an empty one selects every ClusterRole) cannot be vetted, and anyone who may label a
   * ClusterRole can pour rules into it.
   */
  static Optional<String> aggregationDanger(Selector s) {
    if (s.unreadable) {
      return Optional.of("an unreadable selector (treated as selecting every ClusterRole)");
    }
    if (s.matchExpressions.isEmpty() && s.matchLabels.size() == 1) {
      Map.Entry<String, String> e = s.matchLabels.entrySet().iterator().next();
      if (SAFE_AGGREGATION_LABELS.contains(e.getKey()) && "true".equals(e.getValue())) {
        return Optional.empty();
      }
    }
    if (s.matchLabels.isEmpty() && s.matchExpressions.isEmpty()) {
      return Optional.of("an empty selector, which selects every ClusterRole");
    }
    for (String k : s.keys()) {
      if (PRIVILEGED_AGGREGATION_LABELS.contains(k)) {
        return Optional.of("the rules of privileged roles (" + Names.safe(k) + ")");
      }
    }
    return Optional.of("every ClusterRole labelled " + s + ", now or later (cannot be vetted)");
  }
}
