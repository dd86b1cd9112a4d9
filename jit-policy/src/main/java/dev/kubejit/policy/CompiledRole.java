package dev.kubejit.policy;

import dev.kubejit.api.Action;
import dev.kubejit.policy.Model.ActionRule;
import dev.kubejit.policy.Model.Role;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/** A role prepared for evaluation: sets for membership, a compiled ticket pattern, rules indexed by command name. */
final class CompiledRole {
  private final Role role;
  final Set<String> requesters;
  final Pattern ticketPattern;
  final Map<Action, ActionRule> actions;
  final Map<String, List<CommandRuleMatcher>> commandsByName;

  CompiledRole(Role role) {
    this.role = role;
    this.requesters = Set.copyOf(role.requesters());
    this.ticketPattern = role.justification().ticketPattern() == null ? null
        : Pattern.compile(role.justification().ticketPattern());
    Map<Action, ActionRule> a = new HashMap<>();
    role.actions().forEach((k, v) -> a.put(Action.of(k), v));
    this.actions = Map.copyOf(a);
    Map<String, List<CommandRuleMatcher>> byName = new HashMap<>();
    for (Model.CommandRule c : role.commands()) {
      byName.computeIfAbsent(c.command(), k -> new ArrayList<>()).add(new CommandRuleMatcher(c));
    }
    Map<String, List<CommandRuleMatcher>> frozen = new HashMap<>();
    byName.forEach((k, v) -> frozen.put(k, List.copyOf(v)));
    this.commandsByName = Map.copyOf(frozen);
  }

  Role spec() {
    return role;
  }

  String name() {
    return role.name();
  }

  /** Break-glass roles without command rules do not filter commands. */
  boolean commandsUnrestricted() {
    return role.breakGlass() && role.commands().isEmpty();
  }
}
