package dev.kubejit.policy;

import dev.kubejit.policy.internal.StrictReader;
import static java.util.Objects.requireNonNull;

import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.ApprovalRequirement;
import dev.kubejit.api.Decision;
import dev.kubejit.api.Identity;
import dev.kubejit.api.Scope;
import dev.kubejit.api.Use;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Runs a policy test file ({@code kind: AccessPolicyTest}, JSON, YAML or XML): a list of cases,
 * each an access request or a command with the decision it must get, like {@code opa test}. The
 * file format is documented in {@code docs/policy.md}.
 *
 * <p>A malformed test file is a {@link PolicyException} (same strictness as policy files); a case
 * whose decision differs from its expectation is a failed {@link Result}, not an exception.
 */
public final class PolicyTests {
  static final String KIND = "AccessPolicyTest";

  private PolicyTests() {}

  /** The outcome of one case. */
  public static final class Result {
    private final String name;
    private final List<String> mismatches;
    private final Decision decision;

    Result(String name, List<String> mismatches, Decision decision) {
      this.name = name;
      this.mismatches = List.copyOf(mismatches);
      this.decision = decision;
    }

    /** The case's name. */
    public String name() {
      return name;
    }

    /** Whether the decision met every expectation. */
    public boolean passed() {
      return mismatches.isEmpty();
    }

    /** What differed from the expectation (empty when passed). */
    public List<String> mismatches() {
      return mismatches;
    }

    /** The decision the engine made. */
    public Decision decision() {
      return decision;
    }

    @Override
    public String toString() {
      return (passed() ? "PASS " : "FAIL ") + name + (passed() ? "" : ": " + String.join("; ", mismatches));
    }
  }

  /** The outcome of a test file. */
  public static final class Report {
    private final List<Result> results;

    Report(List<Result> results) {
      this.results = List.copyOf(results);
    }

    /** Every case's result, in file order. */
    public List<Result> results() {
      return results;
    }

    /** The number of cases that passed. */
    public int passed() {
      return (int) results.stream().filter(Result::passed).count();
    }

    /** The number of cases that failed. */
    public int failed() {
      return results.size() - passed();
    }

    /** Whether every case passed. */
    public boolean allPassed() {
      return failed() == 0;
    }
  }

  /**
   * Runs the cases of {@code testFile} (format by extension) against {@code engine}.
   *
   * @throws PolicyException if the test file cannot be read or is malformed
   */
  public static Report run(PolicyEngine engine, Path testFile) {
    String source = testFile.toString();
    PolicyFormat format;
    try {
      format = PolicyFormat.ofFileName(testFile.getFileName().toString());
    } catch (IllegalArgumentException e) {
      throw new PolicyException(source, 0, 0, null, e.getMessage(), null);
    }
    return run(engine, PolicyLoader.read(testFile), format, source);
  }

  /**
   * Runs the cases in {@code bytes} against {@code engine}.
   *
   * @throws PolicyException if the test file is malformed
   */
  public static Report run(PolicyEngine engine, byte[] bytes, PolicyFormat format, String sourceName) {
    requireNonNull(engine, "engine");
    List<Case> cases;
    try (StrictReader<PolicyException> r = PolicyReader.open(bytes, format, sourceName, KIND)) {
      cases = new CaseReader(r).read();
    }
    List<Result> results = new ArrayList<>();
    for (Case c : cases) {
      Decision d = c.request != null ? engine.decide(c.request)
          : engine.checkCommand(c.commandRole, c.commandRequester, c.use);
      results.add(new Result(c.name, c.expect.mismatches(d), d));
    }
    return new Report(results);
  }

  private static final class Case {
    String name;
    AccessRequest request;
    String commandRole;
    Identity commandRequester;
    Use use;
    Expect expect;
  }

  private static final class Expect {
    Decision.Outcome decision;
    String rule;
    String reasonContains;
    String reasonCode;
    Duration grantedDuration;
    Boolean clamped;
    Boolean breakGlass;
    List<String> approvers;
    Integer minApprovals;

    List<String> mismatches(Decision d) {
      List<String> m = new ArrayList<>();
      if (d.outcome() != decision) {
        m.add("expected " + wire(decision) + " but got " + wire(d.outcome()) + " (" + d.reason() + ")");
      }
      if (rule != null && !d.ruleId().equals(Optional.of(rule))) {
        m.add("expected rule " + rule + " but got " + d.ruleId().orElse("none"));
      }
      if (reasonContains != null && !d.reason().contains(reasonContains)) {
        m.add("expected the reason to contain " + Text.quote(reasonContains) + " but it is " + Text.quote(d.reason()));
      }
      if (reasonCode != null && !d.reason().startsWith("[" + reasonCode + "] ")) {
        ReasonCode got = ReasonCode.of(d.reason());
        m.add("expected reason code " + reasonCode + " but got " + (got == null ? "none" : got.wire()));
      }
      if (grantedDuration != null && !d.grantedDuration().equals(Optional.of(grantedDuration))) {
        m.add("expected grantedDuration " + grantedDuration + " but got " + d.grantedDuration().map(Duration::toString).orElse("none"));
      }
      if (clamped != null && d.durationClamped() != clamped) {
        m.add("expected clamped " + clamped + " but got " + d.durationClamped());
      }
      if (breakGlass != null && d.breakGlass() != breakGlass) {
        m.add("expected breakGlass " + breakGlass + " but got " + d.breakGlass());
      }
      if (approvers != null && !d.approval().map(ApprovalRequirement::approverGroups).map(Set::copyOf)
          .equals(Optional.of(Set.copyOf(approvers)))) {
        m.add("expected approvers " + approvers + " but got " + d.approval().map(a -> a.approverGroups().toString()).orElse("none"));
      }
      if (minApprovals != null && !d.approval().map(ApprovalRequirement::minApprovals).equals(Optional.of(minApprovals))) {
        m.add("expected minApprovals " + minApprovals + " but got " + d.approval().map(a -> "" + a.minApprovals()).orElse("none"));
      }
      return m;
    }
  }

  private static boolean isReasonCode(String s) {
    for (ReasonCode c : ReasonCode.values()) {
      if (c.wire().equals(s)) {
        return true;
      }
    }
    return false;
  }

  static String wire(Decision.Outcome o) {
    return o == Decision.Outcome.NEEDS_APPROVAL ? "needs-approval" : o.name().toLowerCase(Locale.ROOT);
  }

  /** Reads the test file with the same strictness as policies. */
  private static final class CaseReader {
    private final StrictReader<PolicyException> r;
    private final Set<String> names = new HashSet<>();

    CaseReader(StrictReader<PolicyException> r) {
      this.r = r;
    }

    List<Case> read() {
      List<Case> cases = new ArrayList<>();
      boolean[] seen = new boolean[3];
      r.root((n, p) -> {
        switch (n) {
          case "apiVersion":
            seen[0] = true;
            if (!PolicyReader.API_VERSION.equals(r.string(p))) {
              throw r.error(p, "apiVersion must be " + PolicyReader.API_VERSION);
            }
            break;
          case "kind":
            seen[1] = true;
            if (!KIND.equals(r.string(p))) {
              throw r.error(p, "kind must be " + KIND);
            }
            break;
          case "cases":
            seen[2] = true;
            cases.addAll(r.list(p, "case", this::testCase));
            break;
          default:
            throw r.unknown(p, n, "apiVersion, kind, cases");
        }
      });
      if (!seen[0] || !seen[1] || !seen[2]) {
        throw r.errorAt("", "apiVersion, kind and cases are required");
      }
      if (cases.isEmpty()) {
        throw r.errorAt("/cases", "a test file needs at least one case");
      }
      return cases;
    }

    private Case testCase(String path) {
      Case c = new Case();
      r.object(path, (n, p) -> {
        switch (n) {
          case "name":
            c.name = r.string(p);
            if (c.name.isBlank() || !names.add(c.name)) {
              throw r.error(p, "case names must be non-blank and unique: " + Text.quote(c.name));
            }
            break;
          case "request":
            c.request = request(p);
            break;
          case "command":
            command(p, c);
            break;
          case "expect":
            c.expect = expect(p);
            break;
          default:
            throw r.unknown(p, n, "name, request, command, expect");
        }
      });
      if (c.name == null || c.expect == null || (c.request == null) == (c.use == null)) {
        throw r.errorAt(path, "a case needs a name, an expect, and exactly one of request or command");
      }
      return c;
    }

    private AccessRequest request(String path) {
      String[] s = new String[8];
      List<List<String>> groups = new ArrayList<>();
      Boolean[] strict = new Boolean[1];
      r.object(path, (n, p) -> {
        switch (n) {
          case "user": s[0] = r.string(p); break;
          case "role": s[1] = r.string(p); break;
          case "action": s[2] = r.string(p); break;
          case "cluster": s[3] = r.string(p); break;
          case "namespace": s[4] = r.string(p); break;
          case "duration": s[5] = r.string(p); break;
          case "ticket": s[6] = r.string(p); break;
          case "justification": s[7] = r.string(p); break;
          case "groups": groups.add(r.stringList(p, "group")); break;
          case "strictDuration": strict[0] = r.bool(p); break;
          default:
            throw r.unknown(p, n, "user, groups, role, action, cluster, namespace, duration, ticket, justification, strictDuration");
        }
      });
      try {
        List<String> g = groups.isEmpty() ? List.of() : groups.get(0);
        String justification = s[7];
        if (s[0] == null || s[1] == null || s[2] == null) {
          throw r.errorAt(path, "a request needs user, role and action");
        }
        String cluster = s[3] == null ? "default" : s[3];
        AccessRequest.Builder b = AccessRequest.builder().requester(Identity.of(s[0], g).assertedBy("policy-test"))
            .role(s[1]).action(Action.of(s[2]))
            .scope(s[4] == null ? Scope.cluster(cluster) : Scope.namespace(cluster, s[4]));
        if (s[5] != null) {
          b.duration(duration(path + "/duration", s[5]));
        }
        if (s[6] != null) {
          b.ticket(s[6]);
        }
        if (justification != null) {
          b.justification(justification);
        }
        if (strict[0] != null) {
          b.strictDuration(strict[0]);
        }
        return b.build();
      } catch (IllegalArgumentException e) {
        throw r.errorAt(path, "invalid request: " + e.getMessage());
      }
    }

    private Duration duration(String path, String s) {
      try {
        return Duration.parse(s);
      } catch (DateTimeParseException e) {
        throw r.errorAt(path, "not an ISO-8601 duration such as PT30M: " + Text.quote(s));
      }
    }

    private void command(String path, Case c) {
      String[] line = new String[2];
      List<List<String>> argv = new ArrayList<>();
      List<List<String>> groups = new ArrayList<>();
      r.object(path, (n, p) -> {
        switch (n) {
          case "role": c.commandRole = r.string(p); break;
          case "line": line[0] = r.string(p); break;
          case "argv": argv.add(r.stringList(p, "arg")); break;
          case "user": line[1] = r.string(p); break;
          case "groups": groups.add(r.stringList(p, "group")); break;
          default:
            throw r.unknown(p, n, "role, line, argv, user, groups");
        }
      });
      if (c.commandRole == null || (line[0] == null) == argv.isEmpty()) {
        throw r.errorAt(path, "a command needs a role and exactly one of line or argv");
      }
      if (line[1] == null && !groups.isEmpty()) {
        throw r.errorAt(path, "groups need a user");
      }
      try {
        c.use = line[0] != null ? Use.commandLine(line[0]) : Use.command(argv.get(0));
        if (line[1] != null) {
          c.commandRequester = Identity.of(line[1], groups.isEmpty() ? List.of() : groups.get(0)).assertedBy("policy-test");
        }
      } catch (IllegalArgumentException e) {
        throw r.errorAt(path, "invalid command: " + e.getMessage());
      }
    }

    private Expect expect(String path) {
      Expect e = new Expect();
      r.object(path, (n, p) -> {
        switch (n) {
          case "decision":
            String d = r.string(p);
            switch (d) {
              case "allow": e.decision = Decision.Outcome.ALLOW; break;
              case "deny": e.decision = Decision.Outcome.DENY; break;
              case "needs-approval": e.decision = Decision.Outcome.NEEDS_APPROVAL; break;
              default:
                throw r.error(p, "decision is allow, deny or needs-approval, not " + Text.quote(d));
            }
            break;
          case "rule": e.rule = r.string(p); break;
          case "reasonContains": e.reasonContains = r.string(p); break;
          case "reasonCode":
            e.reasonCode = r.string(p);
            if (!isReasonCode(e.reasonCode)) {
              throw r.error(p, "unknown reason code " + Text.quote(e.reasonCode) + " (see docs/policy.md)");
            }
            break;
          case "grantedDuration": e.grantedDuration = duration(p, r.string(p)); break;
          case "clamped": e.clamped = r.bool(p); break;
          case "breakGlass": e.breakGlass = r.bool(p); break;
          case "approvers": e.approvers = r.stringList(p, "group"); break;
          case "minApprovals": e.minApprovals = r.integer(p, 1, 100); break;
          default:
            throw r.unknown(p, n, "decision, rule, reasonContains, reasonCode, grantedDuration, clamped, breakGlass, "
                + "approvers, minApprovals");
        }
      });
      if (e.decision == null) {
        throw r.errorAt(path, "expect.decision is required");
      }
      return e;
    }
  }
}
