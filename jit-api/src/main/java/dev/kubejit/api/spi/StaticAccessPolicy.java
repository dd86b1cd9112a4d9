package dev.kubejit.api.spi;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableMap;
import com.google.common.collect.ImmutableSet;
import com.google.common.hash.Hashing;
import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.ApprovalRequirement;
import dev.kubejit.api.Decision;
import dev.kubejit.api.Grant;
import dev.kubejit.api.Lifetimes;
import dev.kubejit.api.Use;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A small policy held in memory: roles with requester groups, namespaces, duration ceilings and a
 * per-action approval mode, plus an allow-list of exact command names.
 *
 * <p>It is meant for tests, demos and simple embeddings; the policy-as-code engine in {@code
 * jit-policy} is the production implementation (argument-aware command rules, tickets, files
 * under review). Decisions carry a digest of the rule set so audit records still say which
 * version decided.
 */
public final class StaticAccessPolicy implements AccessPolicy {
  private final ImmutableMap<String, Role> roles;
  private final String digest;

  private StaticAccessPolicy(Map<String, Role> roles) {
    this.roles = ImmutableMap.copyOf(roles);
    this.digest = Hashing.sha256().hashString(this.roles.toString(), StandardCharsets.UTF_8).toString();
  }

  static Builder builder() {
    return new Builder();
  }

  /** SHA-256 of the rule set's canonical rendering. */
  public String digest() {
    return digest;
  }

  @Override
  public Decision decide(AccessRequest request) {
    Role role = roles.get(request.role());
    if (role == null) {
      return deny("no role named " + request.role(), null);
    }
    String rule = "role:" + role.name;
    if (!request.requester().inAnyGroup(role.requesters)) {
      return deny(request.requester().user() + " is not in any requester group of role " + role.name
          + " " + role.requesters, rule);
    }
    if (request.scope().isClusterWide()) {
      if (!role.clusterScope) {
        return deny("role " + role.name + " is namespaced; a namespace is required", rule);
      }
    } else if (!role.namespaces.contains("*")
        && !role.namespaces.contains(request.scope().namespace().orElseThrow())) {
      return deny("namespace " + request.scope().namespace().orElseThrow() + " is not allowed for role "
          + role.name, rule);
    }
    if (role.requireJustification && request.justification().isEmpty() && request.ticket().isEmpty()) {
      return deny("role " + role.name + " requires a justification or ticket", rule);
    }
    ApprovalMode mode = role.actions.get(request.action());
    if (mode == null) {
      return deny("action " + request.action() + " is not allowed for role " + role.name, rule);
    }
    Duration asked = request.duration().orElse(role.defaultDuration);
    boolean clamped = asked.compareTo(role.maxDuration) > 0;
    if (clamped && request.strictDuration()) {
      return deny("requested " + asked + " exceeds the maximum " + role.maxDuration + " of role " + role.name, rule);
    }
    Duration granted = clamped ? role.maxDuration : asked;
    Decision.Builder b = Decision.builder(
            mode.requirement == null ? Decision.Outcome.ALLOW : Decision.Outcome.NEEDS_APPROVAL,
            (mode.requirement == null ? "auto-approved " : "needs approval for ") + request.action()
                + " under role " + role.name + (clamped ? "; duration clamped to " + granted : ""))
        .ruleId(rule + "/" + request.action())
        .policy(digest, null)
        .grantedDuration(granted, clamped)
        .breakGlass(role.breakGlass)
        .rbacTemplate(role.rbacTemplate);
    if (mode.requirement != null) {
      b.approval(mode.requirement);
    }
    return b.build();
  }

  @Override
  public Decision authorize(Grant grant, Use use) {
    Role role = roles.get(grant.role());
    if (role == null) {
      return deny("role " + grant.role() + " no longer exists", null);
    }
    if (!use.isCommand()) {
      return use.action().equals(grant.action())
          ? Decision.builder(Decision.Outcome.ALLOW, use.action() + " is what the grant is for")
              .ruleId("role:" + role.name + "/" + use.action()).policy(digest, null).build()
          : deny("the grant is for " + grant.action() + ", not " + use.action(), "role:" + role.name);
    }
    if (!grant.action().equals(Action.EXEC)) {
      return deny("the grant is for " + grant.action() + ", not exec", "role:" + role.name);
    }
    List<String> argv = use.argv().orElse(null);
    if (argv == null) {
      return deny("the static policy takes argv only, not a command line", "role:" + role.name);
    }
    if (!role.commands.contains(argv.get(0))) {
      return deny("command " + argv.get(0) + " is not allowed", "role:" + role.name);
    }
    return Decision.builder(Decision.Outcome.ALLOW, "command " + argv.get(0) + " is allowed")
        .ruleId("role:" + role.name + "/command:" + argv.get(0)).policy(digest, null).build();
  }

  private Decision deny(String reason, String rule) {
    return Decision.builder(Decision.Outcome.DENY, reason).ruleId(rule).policy(digest, null).build();
  }

  private static final class ApprovalMode {
    final ApprovalRequirement requirement;

    ApprovalMode(ApprovalRequirement requirement) {
      this.requirement = requirement;
    }

    @Override
    public String toString() {
      return requirement == null ? "auto" : "manual(" + requirement + ")";
    }
  }

  private static final class Role {
    final String name;
    final ImmutableSet<String> requesters;
    final ImmutableSet<String> namespaces;
    final boolean clusterScope;
    final Duration defaultDuration;
    final Duration maxDuration;
    final boolean requireJustification;
    final boolean breakGlass;
    final String rbacTemplate;
    final ImmutableMap<Action, ApprovalMode> actions;
    final ImmutableSet<String> commands;

    Role(RoleBuilder b) {
      this.name = b.name;
      this.requesters = ImmutableSet.copyOf(b.requesters);
      this.namespaces = ImmutableSet.copyOf(b.namespaces);
      this.clusterScope = b.clusterScope;
      this.defaultDuration = b.defaultDuration;
      this.maxDuration = b.maxDuration;
      this.requireJustification = b.requireJustification;
      this.breakGlass = b.breakGlass;
      this.rbacTemplate = b.rbacTemplate;
      this.actions = ImmutableMap.copyOf(b.actions);
      this.commands = ImmutableSet.copyOf(b.commands);
      if (requesters.isEmpty()) {
        throw new IllegalArgumentException("role " + name + " needs at least one requester group");
      }
      if (actions.isEmpty()) {
        throw new IllegalArgumentException("role " + name + " allows no action");
      }
      if (namespaces.isEmpty() && !clusterScope) {
        throw new IllegalArgumentException("role " + name + " allows no namespace");
      }
      if (defaultDuration.compareTo(maxDuration) > 0) {
        throw new IllegalArgumentException(
            "role " + name + ": default duration " + defaultDuration + " exceeds maximum " + maxDuration);
      }
    }

    @Override
    public String toString() {
      return name + "{requesters=" + requesters + ", namespaces=" + namespaces + ", cluster=" + clusterScope
          + ", default=" + defaultDuration + ", max=" + maxDuration + ", justification=" + requireJustification
          + ", breakGlass=" + breakGlass + ", rbac=" + rbacTemplate + ", actions=" + actions
          + ", commands=" + commands + "}";
    }
  }

  /** Configures one role. */
  public static final class RoleBuilder {
    private final String name;
    private ImmutableSet<String> requesters = ImmutableSet.of();
    private ImmutableSet<String> namespaces = ImmutableSet.of();
    private boolean clusterScope;
    private Duration defaultDuration = Duration.ofMinutes(30);
    private Duration maxDuration = Duration.ofHours(1);
    private boolean requireJustification = true;
    private boolean breakGlass;
    private String rbacTemplate;
    private final Map<Action, ApprovalMode> actions = new LinkedHashMap<>();
    private ImmutableSet<String> commands = ImmutableSet.of();

    private RoleBuilder(String name) {
      this.name = name;
    }

    /** Groups whose members may request this role. */
    public RoleBuilder requesters(String... groups) {
      this.requesters = ImmutableSet.copyOf(groups);
      return this;
    }

    /** Namespaces the role may be requested in; {@code "*"} for any. */
    public RoleBuilder namespaces(String... namespaces) {
      this.namespaces = ImmutableSet.copyOf(namespaces);
      return this;
    }

    /** Allows cluster-wide scope. */
    public RoleBuilder clusterScope(boolean allowed) {
      this.clusterScope = allowed;
      return this;
    }

    /** Sets the default and maximum durations. */
    public RoleBuilder durations(Duration defaultDuration, Duration maxDuration) {
      this.defaultDuration = Lifetimes.requireWithinCap(defaultDuration, "default duration");
      this.maxDuration = Lifetimes.requireWithinCap(maxDuration, "maximum duration");
      return this;
    }

    /** Whether a justification or ticket is required (default true). */
    public RoleBuilder requireJustification(boolean required) {
      this.requireJustification = required;
      return this;
    }

    /** Marks the role as break-glass. */
    public RoleBuilder breakGlass(boolean breakGlass) {
      this.breakGlass = breakGlass;
      return this;
    }

    /** Sets the RBAC template to provision. */
    public RoleBuilder rbacTemplate(String template) {
      this.rbacTemplate = requireNonNull(template);
      return this;
    }

    /** Allows an action without approval. */
    public RoleBuilder auto(Action action) {
      put(action, new ApprovalMode(null));
      return this;
    }

    /** Allows an action with {@code minApprovals} distinct approvers from {@code approverGroups}. */
    public RoleBuilder manual(Action action, int minApprovals, String... approverGroups) {
      put(action, new ApprovalMode(ApprovalRequirement.of(Arrays.asList(approverGroups), minApprovals)));
      return this;
    }

    /** Allows these exact command names in exec sessions (no arguments are checked). */
    public RoleBuilder commands(String... names) {
      this.commands = ImmutableSet.copyOf(names);
      return this;
    }

    private void put(Action action, ApprovalMode mode) {
      if (actions.putIfAbsent(requireNonNull(action), mode) != null) {
        throw new IllegalStateException("action " + action + " was already configured for role " + name);
      }
    }
  }

  /** Builds a {@link StaticAccessPolicy}. */
  public static final class Builder {
    private final Map<String, Role> roles = new LinkedHashMap<>();

    private Builder() {}

    /** Adds a role. */
    public Builder role(String name, Consumer<RoleBuilder> configure) {
      RoleBuilder rb = new RoleBuilder(requireNonNull(name));
      configure.accept(rb);
      if (roles.containsKey(name)) {
        throw new IllegalStateException("role " + name + " was already defined");
      }
      roles.put(name, new Role(rb));
      return this;
    }

    /** Returns the policy. */
    public StaticAccessPolicy build() {
      if (roles.isEmpty()) {
        throw new IllegalStateException("a policy needs at least one role");
      }
      return new StaticAccessPolicy(roles);
    }
  }
}
