package dev.kubejit.policy;

import static java.util.Objects.requireNonNull;

import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.ApprovalRequirement;
import dev.kubejit.api.Decision;
import dev.kubejit.api.Grant;
import dev.kubejit.api.Identity;
import dev.kubejit.api.Scope;
import dev.kubejit.api.Use;
import dev.kubejit.api.spi.AccessPolicy;
import dev.kubejit.policy.Model.ActionRule;
import dev.kubejit.policy.Model.Approval;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Evaluates a loaded {@link Policy}: decides access requests (requesters, namespaces, clusters,
 * justification and ticket, duration ceilings, per-action approval, break-glass) and authorises
 * uses of grants, including argument-aware checks of exec commands.
 *
 * <p>Default deny. Every decision names the deciding rule (a command rule id, {@code
 * <role>/<check>} for request checks, {@code default-deny} or {@code command-syntax}), gives a
 * reason a reviewer can read, and carries the policy digest and revision. A denial of a use (from
 * {@link #authorize} or {@code checkCommand}) starts its reason with a stable code in brackets,
 * such as {@code [path-outside]}; the codes are listed in {@code docs/policy.md}. Command rules are
 * indexed by program name, so deciding a command does not scan unrelated rules. Immutable and
 * thread-safe; never throws for hostile input.
 *
 * <p>The broker, not this class, enforces self-approval, distinct approvers and expiry; see {@link
 * dev.kubejit.api.JitBroker}.
 */
public final class PolicyEngine implements AccessPolicy {
  static final String DEFAULT_DENY = "default-deny";

  private final Policy policy;
  private final Map<String, CompiledRole> roles;

  private PolicyEngine(Policy policy) {
    this.policy = policy;
    Map<String, CompiledRole> m = new HashMap<>();
    for (Model.Role r : policy.document().roles()) {
      m.put(r.name(), new CompiledRole(r));
    }
    this.roles = Map.copyOf(m);
  }

  /** Compiles {@code policy} for evaluation. */
  public static PolicyEngine of(Policy policy) {
    return new PolicyEngine(requireNonNull(policy, "policy"));
  }

  /** The policy this engine evaluates. */
  public Policy policy() {
    return policy;
  }

  @Override
  public Decision decide(AccessRequest request) {
    requireNonNull(request, "request");
    try {
      return decideChecked(request);
    } catch (RuntimeException e) {
      return deny("policy evaluation failed (" + e.getClass().getSimpleName() + "); denied", "policy-error");
    }
  }

  private Decision decideChecked(AccessRequest req) {
    CompiledRole role = roles.get(req.role());
    if (role == null) {
      return deny("no role named " + Text.quote(req.role()) + " in policy " + policy.name(), DEFAULT_DENY);
    }
    String r = role.name();
    String user = req.requester().user();
    if (!req.requester().inAnyGroup(role.requesters)) {
      return deny(user + " is not in any requester group of role " + r + " " + role.spec().requesters(),
          r + "/requesters");
    }
    Scope scope = req.scope();
    if (role.spec().clusters() != null && !Glob.matchesAny(role.spec().clusters(), scope.cluster())) {
      return deny("cluster " + scope.cluster() + " is not allowed for role " + r + " (allowed: "
          + String.join(", ", role.spec().clusters()) + ")", r + "/clusters");
    }
    if (scope.isClusterWide()) {
      if (!role.spec().clusterScope()) {
        return deny("role " + r + " is namespaced; cluster-wide access is not allowed", r + "/clusterScope");
      }
    } else {
      String ns = scope.namespace().orElseThrow();
      if (!Glob.matchesAny(role.spec().namespaces(), ns)) {
        return deny("namespace " + ns + " is not allowed for role " + r + " (allowed: "
            + (role.spec().namespaces().isEmpty() ? "none" : String.join(", ", role.spec().namespaces())) + ")",
            r + "/namespaces");
      }
    }
    ActionRule action = role.actions.get(req.action());
    if (action == null) {
      return deny("action " + req.action() + " is not allowed for role " + r + " (allowed: "
          + String.join(", ", role.spec().actions().keySet()) + ")", r + "/actions");
    }
    String justificationProblem = justificationProblem(role, req);
    if (justificationProblem != null) {
      return deny(justificationProblem, r + "/justification");
    }
    Duration max = role.spec().maxDuration();
    Duration asked = req.duration().orElse(role.spec().defaultDuration());
    boolean clamped = asked.compareTo(max) > 0;
    if (clamped && req.strictDuration()) {
      return deny("requested duration " + asked + " exceeds the maximum " + max + " of role " + r
          + " and the request asked for no clamping", r + "/maxDuration");
    }
    Duration granted = clamped ? max : asked;
    String ruleId = r + "/" + req.action();
    StringBuilder reason = new StringBuilder();
    ApprovalRequirement requirement = null;
    if (action.approval() == Approval.AUTO) {
      reason.append(req.action()).append(" is auto-approved for role ").append(r);
    } else {
      if (action.approvers().isEmpty()) {
        return deny("action " + req.action() + " of role " + r
            + " needs manual approval but the policy names no approvers", ruleId);
      }
      requirement = ApprovalRequirement.of(action.approvers(), action.minApprovals());
      reason.append(req.action()).append(" under role ").append(r).append(" needs ")
          .append(action.minApprovals()).append(action.minApprovals() == 1 ? " approval" : " distinct approvals")
          .append(" from ").append(String.join(", ", action.approvers()));
    }
    reason.append(" for ").append(granted);
    if (clamped) {
      reason.append(" (requested ").append(asked).append(", clamped to the role's maximum)");
    }
    if (role.spec().breakGlass()) {
      reason.append("; BREAK-GLASS: approvers are alerted and a post-incident review is required");
    }
    Decision.Builder b = Decision.builder(
            requirement == null ? Decision.Outcome.ALLOW : Decision.Outcome.NEEDS_APPROVAL, reason.toString())
        .ruleId(ruleId)
        .policy(policy.digest(), policy.revision().orElse(null))
        .grantedDuration(granted, clamped)
        .breakGlass(role.spec().breakGlass())
        .rbacTemplate(role.spec().rbacTemplate());
    if (requirement != null) {
      b.approval(requirement);
    }
    return b.build();
  }

  private static String justificationProblem(CompiledRole role, AccessRequest req) {
    Model.Justification j = role.spec().justification();
    String r = role.name();
    if (role.ticketPattern != null && req.ticket().isPresent()
        && !role.ticketPattern.matcher(req.ticket().get()).matches()) {
      return "ticket " + Text.quote(req.ticket().get()) + " does not match the pattern "
          + role.ticketPattern.pattern() + " of role " + r;
    }
    if (!j.required()) {
      return null;
    }
    if (role.ticketPattern != null) {
      return req.ticket().isPresent() ? null
          : "role " + r + " requires a ticket matching " + role.ticketPattern.pattern();
    }
    return req.justification().isPresent() || req.ticket().isPresent() ? null
        : "role " + r + " requires a justification or a ticket";
  }

  @Override
  public Decision authorize(Grant grant, Use use) {
    requireNonNull(grant, "grant");
    requireNonNull(use, "use");
    try {
      CompiledRole role = roles.get(grant.role());
      if (role == null) {
        return deny(ReasonCode.NO_ROLE, "role " + Text.quote(grant.role()) + " no longer exists in policy "
            + policy.name(), DEFAULT_DENY);
      }
      if (!use.action().equals(grant.action())) {
        return deny(ReasonCode.ACTION_MISMATCH, "the grant is for " + grant.action() + ", not " + use.action(),
            role.name() + "/actions");
      }
      if (!role.actions.containsKey(use.action())) {
        return deny(ReasonCode.ACTION_NOT_ALLOWED, "action " + use.action() + " is no longer allowed for role "
            + role.name(), role.name() + "/actions");
      }
      if (use.action().equals(Action.EXEC)) {
        Decision refused = execOptions(role, use);
        if (refused != null) {
          return refused;
        }
      }
      if (!use.isCommand()) {
        if (use.action().equals(Action.EXEC) && !role.commandsUnrestricted()) {
          return deny(ReasonCode.INTERACTIVE_EXEC, "an interactive exec session is not allowed: role " + role.name()
              + " allows only the commands its rules list", role.name() + "/commands");
        }
        return allow(use.action() + " is what the grant is for", role.name() + "/" + use.action());
      }
      return command(role, use);
    } catch (RuntimeException e) {
      return deny(ReasonCode.POLICY_ERROR, "policy evaluation failed (" + e.getClass().getSimpleName()
          + "); denied", "policy-error");
    }
  }

  /**
   * Decides a command for a role as {@link #authorize} would for an active exec grant of that role,
   * without a grant and without checking who asks; for policy tests ({@code kubejit policy test}).
   * Prefer {@link #checkCommand(String, Identity, Use)}, which also checks the requester.
   */
  public Decision checkCommand(String role, Use use) {
    requireNonNull(role, "role");
    requireNonNull(use, "use");
    return checkCommand(role, null, use);
  }

  /**
   * Decides a command for {@code requester} under {@code role}: denied with rule {@code
   * <role>/requesters} unless the requester is in one of the role's requester groups (who may hold
   * the role at all), then as {@link #authorize} would for an active exec grant of that role; for
   * policy tooling ({@code kubejit policy check --command}).
   */
  public Decision checkCommand(String role, Identity requester, Use use) {
    requireNonNull(role, "role");
    requireNonNull(use, "use");
    try {
      CompiledRole r = roles.get(role);
      if (r == null) {
        return deny(ReasonCode.NO_ROLE, "no role named " + Text.quote(role) + " in policy " + policy.name(),
            DEFAULT_DENY);
      }
      if (requester != null && !requester.inAnyGroup(r.requesters)) {
        return deny(ReasonCode.NOT_REQUESTER, Text.quote(requester.user()) + " is not in any requester group of role "
            + role + " " + r.spec().requesters() + ", so cannot hold it", role + "/requesters");
      }
      if (!use.isCommand()) {
        return deny(ReasonCode.NOT_A_COMMAND, "not a command", CommandSyntax.RULE);
      }
      if (!r.actions.containsKey(Action.EXEC)) {
        return deny(ReasonCode.ACTION_NOT_ALLOWED, "role " + role + " does not allow exec", role + "/actions");
      }
      Decision refused = execOptions(r, use);
      return refused != null ? refused : command(r, use);
    } catch (RuntimeException e) {
      return deny(ReasonCode.POLICY_ERROR, "policy evaluation failed (" + e.getClass().getSimpleName()
          + "); denied", "policy-error");
    }
  }

  /**
   * The role's exec options: the container allow-list (a direct stream without a container is
   * refused, since the API server would pick one; a mediated use that names none is decided on its
   * command) and, for {@code longRunning: gateway-only}, no interactive, attached or long-running
   * stream opened by the API server. Null when they allow the use.
   */
  private Decision execOptions(CompiledRole role, Use use) {
    Model.ExecOptions exec = role.spec().exec();
    String r = role.name();
    if (exec.containers() != null) {
      if (use.container().isPresent() && !exec.containers().contains(use.container().get())) {
        return deny(ReasonCode.CONTAINER_NOT_ALLOWED, "container " + Text.quote(use.container().get())
            + " is not one role " + r + " allows exec into (" + String.join(", ", exec.containers()) + ")",
            r + "/containers");
      }
      if (use.container().isEmpty() && use.stream().isDirect()) {
        return deny(ReasonCode.CONTAINER_NOT_ALLOWED, "role " + r + " allows exec only into "
            + String.join(", ", exec.containers()) + "; the request names no container", r + "/containers");
      }
    }
    if (exec.longRunning() == Model.LongRunning.GATEWAY_ONLY && use.stream().isDirect()) {
      String rule = r + "/longRunning";
      if (use.stream() == Use.Stream.DIRECT_INTERACTIVE) {
        return deny(ReasonCode.LONG_RUNNING, "stdin or a tty keeps the stream open, and role " + r
            + " allows that only through the gateway, which ends sessions at expiry", rule);
      }
      if (!use.isCommand()) {
        return deny(ReasonCode.LONG_RUNNING, "an attached stream runs as long as the container, and role " + r
            + " allows that only through the gateway, which ends sessions at expiry", rule);
      }
      List<String> argv;
      String name;
      try {
        argv = use.argv().isPresent() ? use.argv().get() : CommandSyntax.tokenize(use.commandLine().orElseThrow());
        name = CommandSyntax.check(argv);
      } catch (Refusal e) {
        return null; // the command check refuses it with the syntax rule
      }
      String why = LongRunning.why(name, argv);
      if (why != null) {
        return deny(ReasonCode.LONG_RUNNING, why + ", and role " + r + " allows long-running exec only through"
            + " the gateway, which ends sessions at expiry", rule);
      }
    }
    return null;
  }

  private Decision command(CompiledRole role, Use use) {
    List<String> argv;
    String name;
    try {
      argv = use.argv().isPresent() ? use.argv().get() : CommandSyntax.tokenize(use.commandLine().orElseThrow());
      name = CommandSyntax.check(argv);
    } catch (Refusal r) {
      return deny(r.code(), r.getMessage(), r.ruleId());
    }
    if (role.commandsUnrestricted()) {
      return allow("break-glass role " + role.name() + " does not filter commands; " + name + " is recorded",
          role.name() + "/commands");
    }
    List<CommandRuleMatcher> candidates = role.commandsByName.get(name);
    if (candidates == null) {
      String kind = Runners.kind(name);
      if (kind != null) {
        return deny(ReasonCode.RUNNER, name + " is " + kind + "; it is refused unless a rule of role " + role.name()
            + " names it", DEFAULT_DENY);
      }
      return deny(ReasonCode.NO_RULE, "no rule of role " + role.name() + " allows the command " + name, DEFAULT_DENY);
    }
    List<String> problems = new ArrayList<>();
    ReasonCode first = null;
    for (CommandRuleMatcher m : candidates) {
      CommandRuleMatcher.Mismatch problem = m.mismatch(argv);
      if (problem == null) {
        return allow(name + " is allowed by rule " + m.rule.id(), m.rule.id());
      }
      if (first == null) {
        first = problem.code();
        problems.add("rule " + m.rule.id() + ": " + problem.message());
      } else {
        problems.add("rule " + m.rule.id() + ": " + problem.code().tag(problem.message()));
      }
    }
    return deny(first, String.join("; ", problems), candidates.get(0).rule.id());
  }

  private Decision allow(String reason, String ruleId) {
    return Decision.builder(Decision.Outcome.ALLOW, reason).ruleId(ruleId)
        .policy(policy.digest(), policy.revision().orElse(null)).build();
  }

  private Decision deny(ReasonCode code, String reason, String ruleId) {
    return deny(code.tag(reason), ruleId);
  }

  private Decision deny(String reason, String ruleId) {
    return Decision.builder(Decision.Outcome.DENY, reason).ruleId(ruleId)
        .policy(policy.digest(), policy.revision().orElse(null)).build();
  }

  @Override
  public String toString() {
    return "PolicyEngine{" + policy + "}";
  }
}
