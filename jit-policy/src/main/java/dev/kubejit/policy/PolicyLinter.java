package dev.kubejit.policy;

import static java.util.Objects.requireNonNull;

import dev.kubejit.policy.Model.ActionRule;
import dev.kubejit.policy.Model.Approval;
import dev.kubejit.policy.Model.CommandRule;
import dev.kubejit.policy.Model.Role;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Warns about legal but risky policy choices that a reviewer should look at; errors are the
 * loader's job ({@link PolicyLoader} refuses invalid files).
 *
 * <p>Warnings (codes): {@code user-as-group} (a requester or approver looks like a user: contains
 * {@code @}, starts with {@code user:}, or is in the caller's known-users set), {@code
 * long-max-duration} (maxDuration above 8 hours), {@code exec-auto-approved} (outside
 * break-glass), {@code wildcard-namespace} (a namespace pattern starting with {@code *} outside
 * break-glass), {@code manual-without-approvers}, {@code runner-allowed} (a rule names a shell,
 * interpreter or wrapper), {@code find-action-allowed} (a {@code find} rule lists {@code -exec},
 * {@code -delete}, ...), {@code commands-without-exec} (command rules in a role that cannot exec).
 */
public final class PolicyLinter {
  static final Duration LONG = Duration.ofHours(8);

  private PolicyLinter() {}

  /** One warning: a code, the path of the field, its line and column when known, and a message. */
  public static final class Warning {
    private final String code;
    private final String path;
    private final int line;
    private final int column;
    private final String message;

    Warning(String code, String path, int[] at, String message) {
      this.code = code;
      this.path = path;
      this.line = at == null ? 0 : at[0];
      this.column = at == null ? 0 : at[1];
      this.message = message;
    }

    /** A stable identifier such as {@code exec-auto-approved}. */
    public String code() {
      return code;
    }

    /** The JSON-pointer-like path of the field. */
    public String path() {
      return path;
    }

    /** The 1-based line, or 0 when unknown. */
    public int line() {
      return line;
    }

    /** The 1-based column, or 0 when unknown. */
    public int column() {
      return column;
    }

    /** What is risky and why. */
    public String message() {
      return message;
    }

    @Override
    public String toString() {
      return (line > 0 ? line + ":" + column + ": " : "") + "warning[" + code + "] at " + path + ": " + message;
    }
  }

  /** Lints {@code policy}. */
  public static List<Warning> lint(Policy policy) {
    return lint(policy, Set.of());
  }

  /** Lints {@code policy}, also flagging any name in {@code knownUsers} used where a group is expected. */
  public static List<Warning> lint(Policy policy, Set<String> knownUsers) {
    requireNonNull(policy, "policy");
    requireNonNull(knownUsers, "knownUsers");
    List<Warning> out = new ArrayList<>();
    List<Role> roles = policy.document().roles();
    for (int i = 0; i < roles.size(); i++) {
      Role r = roles.get(i);
      String rp = "/roles/" + i;
      groups(policy, out, r.requesters(), rp + "/requesters", "requester", knownUsers);
      if (r.maxDuration().compareTo(LONG) > 0) {
        out.add(warn(policy, "long-max-duration", rp + "/maxDuration", rp, "role " + r.name() + " allows "
            + r.maxDuration() + ", more than " + LONG + "; JIT access should be short"));
      }
      if (!r.breakGlass()) {
        for (int n = 0; n < r.namespaces().size(); n++) {
          if (r.namespaces().get(n).startsWith("*")) {
            out.add(warn(policy, "wildcard-namespace", rp + "/namespaces/" + n, rp, "role " + r.name()
                + " matches namespaces with " + Text.quote(r.namespaces().get(n))
                + " outside break-glass; name the namespaces or a team prefix such as payments-*"));
          }
        }
      }
      for (Map.Entry<String, ActionRule> e : r.actions().entrySet()) {
        String ap = rp + "/actions/" + e.getKey();
        ActionRule a = e.getValue();
        if (a.approval() == Approval.AUTO && e.getKey().equals("exec") && !r.breakGlass()) {
          out.add(warn(policy, "exec-auto-approved", ap + "/approval", rp, "role " + r.name()
              + " auto-approves exec outside break-glass; exec usually needs a second person"));
        }
        if (a.approval() == Approval.MANUAL) {
          if (a.approvers().isEmpty()) {
            out.add(warn(policy, "manual-without-approvers", ap, rp, "action " + e.getKey() + " of role " + r.name()
                + " needs manual approval but names no approvers; every request for it is denied"));
          }
          groups(policy, out, a.approvers(), ap + "/approvers", "approver", knownUsers);
        }
      }
      if (!r.commands().isEmpty() && !r.actions().containsKey("exec")) {
        out.add(warn(policy, "commands-without-exec", rp + "/commands", rp, "role " + r.name()
            + " lists command rules but does not allow exec; they never apply"));
      }
      for (int c = 0; c < r.commands().size(); c++) {
        CommandRule rule = r.commands().get(c);
        String cp = rp + "/commands/allow/" + c;
        String kind = Runners.kind(rule.command());
        if (kind != null) {
          out.add(warn(policy, "runner-allowed", cp + "/command", rp, "rule " + rule.id() + " allows "
              + rule.command() + ", " + kind + "; it can run anything, so the other rules no longer bound exec"));
        }
        if (rule.command().equals("find")) {
          for (String f : rule.flags()) {
            if (Runners.FIND_ACTIONS.contains(f)) {
              out.add(warn(policy, "find-action-allowed", cp + "/flags", rp, "rule " + rule.id() + " allows find "
                  + f + ", which runs commands or writes/deletes files"));
            }
          }
          for (String f : rule.flagsWithValue().keySet()) {
            if (Runners.FIND_ACTIONS.contains(f)) {
              out.add(warn(policy, "find-action-allowed", cp + "/flagsWithValue", rp, "rule " + rule.id()
                  + " allows find " + f + ", which runs commands or writes/deletes files"));
            }
          }
        }
      }
    }
    return List.copyOf(out);
  }

  private static void groups(Policy policy, List<Warning> out, List<String> groups, String path, String what,
      Set<String> knownUsers) {
    for (int g = 0; g < groups.size(); g++) {
      String name = groups.get(g);
      if (name.contains("@") || name.startsWith("user:") || knownUsers.contains(name)) {
        out.add(warn(policy, "user-as-group", path + "/" + g, path, Text.quote(name) + " looks like an individual user; "
            + what + "s should be groups managed by the identity provider"));
      }
    }
  }

  private static Warning warn(Policy policy, String code, String path, String fallback, String message) {
    int[] at = policy.location(path);
    return new Warning(code, path, at != null ? at : policy.location(fallback), message);
  }
}
