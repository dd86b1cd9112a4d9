package dev.kubejit.rbac;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import io.kubernetes.client.openapi.models.V1PolicyRule;
import java.util.ArrayList;
import java.util.List;

/**
 * A named set of RBAC rules from which a grant's Role (or, for cluster scope, ClusterRole) is
 * generated: one of the built-in seed templates, or custom rules supplied by a policy.
 *
 * <p>Templates are not checked for danger here; {@link RbacLinter} does that and the provisioner
 * refuses to apply generated objects with error findings.
 */
public final class RbacTemplate {
  /** Name of the on-call debugging template (pods, events, logs, exec, port-forward, workloads read). */
  public static final String ONCALL_DEBUG = "oncall-debug";
  /** Name of the minimal JIT debugging template (pods and logs read, exec). */
  public static final String JIT_DEBUG = "jit-debug";
  /** Name of the cluster-wide read template (nodes, namespaces); a ClusterRole. */
  public static final String JIT_CLUSTER_READ = "jit-cluster-read";
  /** Name of the read-only logs template. */
  public static final String LOGS_READER = "logs-reader";

  private static final List<String> CORE = List.of("");
  private static final List<String> READ = List.of("get", "list", "watch");
  /**
   * The verbs of {@code pods/exec} and {@code pods/portforward}: the API server authorises an SPDY
   * stream (an HTTP POST) as {@code create} and a WebSocket upgrade (an HTTP GET) as {@code get}.
   * client-java, and so the KubeJIT gateway, streams over WebSockets only, and kubectl 1.31+ tries
   * WebSockets first; with {@code create} alone the gateway's exec is forbidden (403 on the upgrade).
   */
  private static final List<String> STREAM = List.of("get", "create");

  private final String name;
  private final boolean clusterOnly;
  private final ImmutableList<Rule> rules;

  private RbacTemplate(String name, boolean clusterOnly, List<Rule> rules) {
    this.name = name;
    this.clusterOnly = clusterOnly;
    this.rules = ImmutableList.copyOf(rules);
  }

  /** The {@code oncall-debug} template; with {@code ephemeralContainers} it also allows {@code kubectl debug}. */
  public static RbacTemplate oncallDebug(boolean ephemeralContainers) {
    List<Rule> r = new ArrayList<>();
    r.add(Rule.resource(CORE, List.of("pods", "events"), READ));
    r.add(Rule.resource(CORE, List.of("pods/log"), List.of("get")));
    r.add(Rule.resource(CORE, List.of("pods/exec", "pods/portforward"), STREAM));
    r.add(Rule.resource(List.of("apps"), List.of("deployments", "replicasets"), READ));
    if (ephemeralContainers) {
      r.add(Rule.resource(CORE, List.of("pods/ephemeralcontainers"), List.of("update")));
    }
    return new RbacTemplate(ONCALL_DEBUG, false, r);
  }

  /** The {@code jit-debug} template: pods and pods/log get/list/watch, pods/exec get and create. */
  public static RbacTemplate jitDebug() {
    return new RbacTemplate(JIT_DEBUG, false, List.of(
        Rule.resource(CORE, List.of("pods", "pods/log"), READ),
        Rule.resource(CORE, List.of("pods/exec"), STREAM)));
  }

  /** The {@code jit-cluster-read} ClusterRole template: nodes and namespaces get/list/watch. */
  public static RbacTemplate jitClusterRead() {
    return new RbacTemplate(JIT_CLUSTER_READ, true, List.of(
        Rule.resource(CORE, List.of("nodes", "namespaces"), READ)));
  }

  /** The read-only {@code logs-reader} template: pods get/list, pods/log get. */
  public static RbacTemplate logsReader() {
    return new RbacTemplate(LOGS_READER, false, List.of(
        Rule.resource(CORE, List.of("pods"), List.of("get", "list")),
        Rule.resource(CORE, List.of("pods/log"), List.of("get"))));
  }

  /**
   * Returns the built-in template with this name ({@code oncall-debug} without ephemeral containers).
   *
   * @throws RbacException if there is no such built-in template
   */
  public static RbacTemplate builtIn(String name) {
    if (name == null) {
      throw new RbacException("template name is required");
    }
    switch (name) {
      case ONCALL_DEBUG:
        return oncallDebug(false);
      case JIT_DEBUG:
        return jitDebug();
      case JIT_CLUSTER_READ:
        return jitClusterRead();
      case LOGS_READER:
        return logsReader();
      default:
        throw new RbacException("unknown RBAC template " + Names.quote(name) + "; built-in templates are "
            + List.of(ONCALL_DEBUG, JIT_DEBUG, JIT_CLUSTER_READ, LOGS_READER));
    }
  }

  /** Returns a builder for a custom template, as supplied by a policy. */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  /** The template's name (a DNS-1123 label). */
  public String name() {
    return name;
  }

  /** Whether the template only makes sense cluster-wide (it grants cluster-scoped resources). */
  public boolean clusterOnly() {
    return clusterOnly;
  }

  /** Fresh copies of the template's rules. */
  List<V1PolicyRule> rules() {
    List<V1PolicyRule> out = new ArrayList<>();
    for (Rule r : rules) {
      out.add(r.toV1());
    }
    return out;
  }

  ImmutableList<Rule> internalRules() {
    return rules;
  }

  @Override
  public String toString() {
    return "RbacTemplate{" + name + (clusterOnly ? " cluster" : "") + " " + rules + "}";
  }

  /** Builds a custom {@link RbacTemplate}; at least one rule is required. */
  public static final class Builder {
    private final String name;
    private final List<Rule> rules = new ArrayList<>();
    private boolean clusterOnly;

    private Builder(String name) {
      this.name = Names.requireRoleName(name);
    }

    /**
     * Adds a resource rule.
     *
     * @throws RbacException if a list is empty or contains a blank entry
     */
    public Builder rule(List<String> apiGroups, List<String> resources, List<String> verbs) {
      return rule(apiGroups, resources, verbs, List.of());
    }

    /**
     * Adds a resource rule limited to the given resource names.
     *
     * @throws RbacException if a list is empty or contains a blank entry
     */
    public Builder rule(List<String> apiGroups, List<String> resources, List<String> verbs, List<String> resourceNames) {
      requireNonNull(apiGroups, "apiGroups");
      check(resources, "resources", false);
      check(verbs, "verbs", false);
      check(resourceNames, "resourceNames", true);
      for (String g : apiGroups) {
        if (g == null || !g.strip().equals(g) || g.chars().anyMatch(Character::isISOControl)) {
          throw new RbacException("invalid apiGroup " + Names.quote(g) + " in template " + name);
        }
      }
      if (apiGroups.isEmpty()) {
        throw new RbacException("apiGroups must not be empty in template " + name + " (use \"\" for the core group)");
      }
      rules.add(new Rule(apiGroups, resources, verbs, resourceNames, null));
      return this;
    }

    /** Marks the template as cluster-only: it is rendered as a ClusterRole and needs cluster scope. */
    public Builder clusterOnly() {
      this.clusterOnly = true;
      return this;
    }

    private void check(List<String> values, String what, boolean mayBeEmpty) {
      requireNonNull(values, what);
      if (!mayBeEmpty && values.isEmpty()) {
        throw new RbacException(what + " must not be empty in template " + name);
      }
      for (String v : values) {
        if (v == null || v.isBlank() || !v.strip().equals(v) || v.chars().anyMatch(Character::isISOControl)) {
          throw new RbacException("invalid entry " + Names.quote(v) + " in " + what + " of template " + name);
        }
      }
    }

    /**
     * Returns the template.
     *
     * @throws RbacException if no rule was added
     */
    public RbacTemplate build() {
      if (rules.isEmpty()) {
        throw new RbacException("template " + name + " has no rules");
      }
      return new RbacTemplate(name, clusterOnly, rules);
    }
  }
}
