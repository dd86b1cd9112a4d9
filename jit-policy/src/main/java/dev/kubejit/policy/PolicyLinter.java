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
 * Reports legal but risky policy choices that a reviewer should look at; invalid files are the
 * loader's job ({@link PolicyLoader} refuses them). Each finding has a stable code, a severity
 * ({@link Severity#ERROR} for choices that let exec do anything or reach credentials or the whole
 * filesystem, {@link Severity#WARNING} otherwise), the path of the field, and a message naming the
 * role or rule and the reason.
 *
 * <p>Codes: {@code user-as-group}, {@code long-max-duration}, {@code exec-auto-approved}, {@code
 * wildcard-namespace}, {@code manual-without-approvers}, {@code commands-without-exec}; for command
 * rules {@code runner-allowed} (a shell, wrapper, interpreter, editor or pager), {@code
 * writes-files} (cp, mv, dd, tee, ...), {@code option-runs-programs} ({@code rg --pre}, {@code
 * find -exec}, {@code tar --to-command}, {@code ssh -o}, ...), {@code option-reads-file-list}
 * ({@code grep -f}, {@code --files-from}, {@code tar -T}, ...), {@code option-writes-files}
 * ({@code sort -o}, {@code --output}, ...), {@code option-abbreviates-hazard} (a declared long
 * option that getopt_long would read as an abbreviation of a dangerous one), {@code
 * option-kind-undeclared} (a value option in shorthand form), {@code operands-ambiguous} (a
 * non-path operand before paths without {@code patternOptions}), {@code whole-filesystem} ({@code
 * paths: [/]}) and {@code sensitive-path} ({@code /proc}, {@code /etc}, {@code /var/run/secrets},
 * ... or a directory that contains one). The knowledge is data (see {@code Hazards}, {@code
 * Runners}); docs/policy.md lists it.
 */
public final class PolicyLinter {
  static final Duration LONG = Duration.ofHours(8);

  private PolicyLinter() {}

  /** How bad a finding is. */
  public enum Severity {
    /** Worth a reviewer's look. */
    WARNING,
    /** Lets exec do anything, or reach credentials or every file; {@code kubejit policy lint} fails. */
    ERROR
  }

  /** One finding: a code, a severity, the path of the field, its line and column when known, and a message. */
  public static final class Warning {
    private final Severity severity;
    private final String code;
    private final String path;
    private final int line;
    private final int column;
    private final String message;

    Warning(Severity severity, String code, String path, int[] at, String message) {
      this.severity = severity;
      this.code = code;
      this.path = path;
      this.line = at == null ? 0 : at[0];
      this.column = at == null ? 0 : at[1];
      this.message = message;
    }

    /** Whether this is an error or a warning. */
    public Severity severity() {
      return severity;
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
      return (line > 0 ? line + ":" + column + ": " : "") + (severity == Severity.ERROR ? "error[" : "warning[")
          + code + "] at " + path + ": " + message;
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
        out.add(warn(policy, Severity.WARNING, "long-max-duration", rp + "/maxDuration", rp, "role " + r.name() + " allows "
            + r.maxDuration() + ", more than " + LONG + "; JIT access should be short"));
      }
      if (!r.breakGlass()) {
        for (int n = 0; n < r.namespaces().size(); n++) {
          if (r.namespaces().get(n).startsWith("*")) {
            out.add(warn(policy, Severity.WARNING, "wildcard-namespace", rp + "/namespaces/" + n, rp, "role " + r.name()
                + " matches namespaces with " + Text.quote(r.namespaces().get(n))
                + " outside break-glass; name the namespaces or a team prefix such as payments-*"));
          }
        }
      }
      for (Map.Entry<String, ActionRule> e : r.actions().entrySet()) {
        String ap = rp + "/actions/" + e.getKey();
        ActionRule a = e.getValue();
        if (a.approval() == Approval.AUTO && e.getKey().equals("exec") && !r.breakGlass()) {
          out.add(warn(policy, Severity.WARNING, "exec-auto-approved", ap + "/approval", rp, "role " + r.name()
              + " auto-approves exec outside break-glass; exec usually needs a second person"));
        }
        if (a.approval() == Approval.MANUAL) {
          if (a.approvers().isEmpty()) {
            out.add(warn(policy, Severity.WARNING, "manual-without-approvers", ap, rp, "action " + e.getKey() + " of role " + r.name()
                + " needs manual approval but names no approvers; every request for it is denied"));
          }
          groups(policy, out, a.approvers(), ap + "/approvers", "approver", knownUsers);
        }
      }
      if (!r.commands().isEmpty() && !r.actions().containsKey("exec")) {
        out.add(warn(policy, Severity.WARNING, "commands-without-exec", rp + "/commands", rp, "role " + r.name()
            + " lists command rules but does not allow exec; they never apply"));
      }
      for (int c = 0; c < r.commands().size(); c++) {
        commandRule(policy, out, r.commands().get(c), rp + "/commands/allow/" + c, rp);
      }
    }
    return List.copyOf(out);
  }

  private static void commandRule(Policy policy, List<Warning> out, CommandRule rule, String cp, String rp) {
    String cmd = rule.command();
    String id = "rule " + rule.id() + " allows " + cmd;
    String kind = Runners.kind(cmd);
    if (kind != null) {
      String note = Runners.note(cmd);
      out.add(warn(policy, Runners.isError(cmd) ? Severity.ERROR : Severity.WARNING, "runner-allowed",
          cp + "/command", rp, id + ", " + kind + (note == null ? "" : " (" + note + ")")
              + "; it can run other programs, so the other rules no longer bound exec"));
    } else if (Hazards.writer(cmd) != null) {
      out.add(warn(policy, Severity.WARNING, "writes-files", cp + "/command", rp, id + ", which "
          + Hazards.writer(cmd) + "; exec sessions are for reading"));
    }
    for (String o : rule.declaredOptions()) {
      boolean takesValue = rule.flagsWithValue().containsKey(o);
      String field = cp + (takesValue ? "/flagsWithValue" : "/flags");
      Hazards.Hazard h = Hazards.option(cmd, o, takesValue);
      if (h != null) {
        out.add(warn(policy, h.error() ? Severity.ERROR : Severity.WARNING, h.kind().lintCode, field, rp,
            id + " " + o + ", which " + h.why()));
        continue;
      }
      if (o.startsWith("--")) {
        for (Map.Entry<String, Hazards.Hazard> e : Hazards.longOptions(cmd).entrySet()) {
          if (e.getKey().length() > o.length() && e.getKey().startsWith(o)) {
            Hazards.Hazard d = e.getValue();
            out.add(warn(policy, d.error() ? Severity.ERROR : Severity.WARNING, "option-abbreviates-hazard", field,
                rp, id + " " + o + ", which getopt_long reads as " + e.getKey() + " when that is the program's only "
                    + "option starting with it; " + e.getKey() + " " + d.why()));
            break;
          }
        }
      }
    }
    int ambiguous = rule.ambiguousOperand();
    if (ambiguous >= 0) {
      out.add(warn(policy, Severity.WARNING, "operands-ambiguous", cp + "/operands", rp, "rule " + rule.id()
          + " has operand " + (ambiguous + 1) + " (" + rule.operands().get(ambiguous) + ") before a path operand"
          + (ambiguous == 0 ? " without patternOptions" : "") + ", so every command using an option is refused; "
          + (ambiguous == 0 ? "declare the options that supply the pattern (patternOptions: [-e, --regexp, -f, --file], "
              + "or [] if none)" : "only the first operand may be a non-path operand before paths")));
    }
    for (Map.Entry<String, Model.ValueOption> e : rule.flagsWithValue().entrySet()) {
      if (e.getValue().kind() == Model.ArgKind.UNDECLARED) {
        out.add(warn(policy, Severity.WARNING, "option-kind-undeclared", cp + "/flagsWithValue", rp, "rule "
            + rule.id() + " does not say whether the value of " + e.getKey() + " is required or optional; only "
            + "the attached form (" + (e.getKey().startsWith("--") ? e.getKey() + "=VALUE" : e.getKey() + "VALUE")
            + ") is accepted. Write {type: " + e.getValue().type().wireName() + ", argument: required|optional} "
            + "as the program's documentation says"));
      }
    }
    for (int i = 0; i < rule.paths().size(); i++) {
      String p = rule.paths().get(i);
      String dir = p.length() > 1 && p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
      String field = cp + "/paths/" + i;
      if (dir.equals("/")) {
        out.add(warn(policy, Severity.ERROR, "whole-filesystem", field, rp, "rule " + rule.id()
            + " allows every path (" + Text.quote(p) + "), including credentials and /proc"));
        continue;
      }
      Hazards.Sensitive worst = null;
      boolean ancestor = false;
      for (Hazards.Sensitive s : Hazards.SENSITIVE) {
        boolean inside = dir.equals(s.prefix()) || dir.startsWith(s.prefix() + "/");
        boolean contains = s.prefix().startsWith(dir + "/");
        if ((inside || contains) && (worst == null || s.error() && !worst.error())) {
          worst = s;
          ancestor = contains;
        }
      }
      if (worst != null) {
        out.add(warn(policy, worst.error() ? Severity.ERROR : Severity.WARNING, "sensitive-path", field, rp,
            "rule " + rule.id() + " allows " + Text.quote(p) + (ancestor ? ", which contains " : ", which is under ")
                + worst.prefix() + "; " + worst.prefix() + " " + worst.why()));
      }
    }
  }

  private static void groups(Policy policy, List<Warning> out, List<String> groups, String path, String what,
      Set<String> knownUsers) {
    for (int g = 0; g < groups.size(); g++) {
      String name = groups.get(g);
      if (name.contains("@") || name.startsWith("user:") || knownUsers.contains(name)) {
        out.add(warn(policy, Severity.WARNING, "user-as-group", path + "/" + g, path, Text.quote(name) + " looks like an individual user; "
            + what + "s should be groups managed by the identity provider"));
      }
    }
  }

  private static Warning warn(Policy policy, Severity severity, String code, String path, String fallback,
      String message) {
    int[] at = policy.location(path);
    return new Warning(severity, code, path, at != null ? at : policy.location(fallback), message);
  }
}
