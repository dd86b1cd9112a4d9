package dev.kubejit.cli;

import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.Decision;
import dev.kubejit.api.Identity;
import dev.kubejit.api.Scope;
import dev.kubejit.api.Use;
import dev.kubejit.policy.Policy;
import dev.kubejit.policy.PolicyEngine;
import dev.kubejit.policy.PolicyException;
import dev.kubejit.policy.PolicyLinter;
import dev.kubejit.policy.PolicyLoader;
import dev.kubejit.policy.PolicyTests;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code kubejit policy lint|check|test}: the tools a policy reviewer needs.
 *
 * <p>Exit codes: {@code check} returns 0 allow, 2 needs approval, 3 deny; {@code lint} and {@code
 * test} return 0 on success and 1 on lint errors, warnings (with {@code --fail-on-warning}) or
 * failed cases; an unreadable or invalid file is 1 and a usage error 64. {@code check --command}
 * decides for the requester given by {@code --user}/{@code --group}: one who is in none of the
 * role's requester groups is denied, as they could never hold the role. {@code diff} returns 0
 * when the new policy only narrows access (or changes nothing), 1 when it widens anything, 2 on an
 * unreadable or invalid policy, corpus or audit log.
 */
@Command(name = "policy", mixinStandardHelpOptions = true,
    description = "Lint, check, test and diff access policies (JSON, XML or YAML).",
    subcommands = {PolicyCommand.Lint.class, PolicyCommand.Check.class, PolicyCommand.Test.class,
        PolicyCommand.Diff.class})
final class PolicyCommand implements Runnable {
  static final int ALLOW = 0;
  static final int NEEDS_APPROVAL = 2;
  static final int DENY = 3;

  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  static Policy load(Path file, String revision) {
    try {
      return PolicyLoader.load(file, revision);
    } catch (PolicyException e) {
      throw new CliException(e.getMessage(), 1);
    } catch (IllegalArgumentException e) {
      throw new CliException(e.getMessage(), 64);
    }
  }

  /** {@code kubejit policy lint FILE}. */
  @Command(name = "lint", mixinStandardHelpOptions = true,
      description = "Validate a policy file and print errors and warnings about risky choices; exit 1 on any error.")
  static final class Lint implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE", description = "The policy file (.json, .xml, .yaml).")
    Path file;

    @Option(names = "--known-user", paramLabel = "USER",
        description = "A user name that must not appear where a group is expected (repeatable).")
    List<String> knownUsers = new ArrayList<>();

    @Option(names = "--fail-on-warning", description = "Exit 1 if there is any warning.")
    boolean failOnWarning;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      Policy policy = load(file, null);
      List<PolicyLinter.Warning> findings = PolicyLinter.lint(policy, Set.copyOf(knownUsers));
      for (PolicyLinter.Warning w : findings) {
        out.println(file + ":" + w);
      }
      long errors = findings.stream().filter(w -> w.severity() == PolicyLinter.Severity.ERROR).count();
      long warnings = findings.size() - errors;
      out.println("policy " + policy.name() + " is valid: " + policy.roleNames().size() + " role(s), "
          + errors + " error(s), " + warnings + " warning(s), sha256:" + policy.digest());
      out.flush();
      return errors > 0 || failOnWarning && warnings > 0 ? 1 : 0;
    }
  }

  /** {@code kubejit policy check FILE --role R ...}. */
  @Command(name = "check", mixinStandardHelpOptions = true,
      description = "Decide one request or one command; exit 0 allow, 2 needs approval, 3 deny.")
  static final class Check implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE", description = "The policy file.")
    Path file;

    @Option(names = "--role", required = true, paramLabel = "ROLE", description = "The policy role.")
    String role;

    @Option(names = "--user", paramLabel = "USER", defaultValue = "policy-check",
        description = "Requester, for requests and commands (default: ${DEFAULT-VALUE}).")
    String user;

    @Option(names = "--group", paramLabel = "GROUP",
        description = "Requester group (repeatable); a command is denied unless one is a requester group of the role.")
    List<String> groups = new ArrayList<>();

    @Option(names = "--revision", paramLabel = "REV", description = "Source revision recorded in the decision.")
    String revision;

    @ArgGroup(exclusive = true, multiplicity = "1")
    What what;

    static final class What {
      @Option(names = "--command", paramLabel = "LINE", description = "A command line to run in an exec session.")
      String command;

      @ArgGroup(exclusive = false)
      RequestOptions request;
    }

    static final class RequestOptions {
      @Option(names = "--action", required = true, paramLabel = "ACTION", description = "logs, exec, portforward, ...")
      String action;

      @Option(names = "--namespace", paramLabel = "NS", description = "Namespace; omit for cluster scope.")
      String namespace;

      @Option(names = "--cluster", paramLabel = "CLUSTER", defaultValue = "default", description = "Cluster (default: ${DEFAULT-VALUE}).")
      String cluster;

      @Option(names = "--duration", paramLabel = "DURATION", description = "30m, 1h30m, 45s or ISO-8601 (PT30M).")
      String duration;

      @Option(names = "--ticket", paramLabel = "TICKET", description = "Linked ticket, e.g. INC-42.")
      String ticket;

      @Option(names = "--justification", paramLabel = "TEXT", description = "Why access is needed.")
      String justification;

      @Option(names = "--strict-duration", description = "Refuse rather than clamp a duration above the maximum.")
      boolean strictDuration;
    }

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PolicyEngine engine = PolicyEngine.of(load(file, revision));
      Decision d;
      try {
        if (what.command != null) {
          d = engine.checkCommand(role, Identity.of(user, groups).assertedBy("cli"), Use.commandLine(what.command));
        } else {
          RequestOptions r = what.request;
          AccessRequest.Builder b = AccessRequest.builder()
              .requester(Identity.of(user, groups).assertedBy("cli"))
              .role(role)
              .action(Action.of(r.action))
              .scope(r.namespace == null ? Scope.cluster(r.cluster) : Scope.namespace(r.cluster, r.namespace))
              .strictDuration(r.strictDuration);
          if (r.duration != null) {
            b.duration(parseDuration(r.duration));
          }
          if (r.ticket != null) {
            b.ticket(r.ticket);
          }
          if (r.justification != null) {
            b.justification(r.justification);
          }
          d = engine.decide(b.build());
        }
      } catch (IllegalArgumentException e) {
        throw new CliException(e.getMessage(), 64);
      }
      out.println(d.outcome() + " [" + d.ruleId().orElse("-") + "]: " + d.reason());
      d.grantedDuration().ifPresent(g -> out.println("  duration: " + g + (d.durationClamped() ? " (clamped)" : "")));
      d.approval().ifPresent(a -> out.println("  approval: " + a));
      if (d.breakGlass()) {
        out.println("  break-glass: yes");
      }
      d.rbacTemplate().ifPresent(t -> out.println("  rbac template: " + t));
      out.println("  policy: " + engine.policy().name() + " sha256:" + d.policyDigest().orElse("-")
          + d.policyRevision().map(rev -> " @" + rev).orElse(""));
      out.flush();
      switch (d.outcome()) {
        case ALLOW:
          return ALLOW;
        case NEEDS_APPROVAL:
          return NEEDS_APPROVAL;
        default:
          return DENY;
      }
    }
  }

  static Duration parseDuration(String s) {
    return Durations.parse(s, "duration");
  }

  /** {@code kubejit policy test FILE TESTS}. */
  @Command(name = "test", mixinStandardHelpOptions = true,
      description = "Run a policy test file (kind: AccessPolicyTest); exit 1 if any case fails.")
  static final class Test implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE", description = "The policy file.")
    Path file;

    @Parameters(index = "1", paramLabel = "TESTS", description = "The test file (.json, .xml, .yaml).")
    Path tests;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PolicyEngine engine = PolicyEngine.of(load(file, null));
      PolicyTests.Report report;
      try {
        report = PolicyTests.run(engine, tests);
      } catch (PolicyException e) {
        throw new CliException(e.getMessage(), 1);
      }
      for (PolicyTests.Result r : report.results()) {
        out.println(r);
      }
      out.println(report.passed() + " passed, " + report.failed() + " failed");
      out.flush();
      return report.allPassed() ? 0 : 1;
    }
  }

  /** {@code kubejit policy diff OLD NEW [--against LOG...] [--corpus FILE...] [--format F]}. */
  @Command(name = "diff", mixinStandardHelpOptions = true,
      description = {"What a policy change does to access: roles, requesters, approvals, justification, TTLs, "
          + "break-glass and command rules (each with an argv whose outcome flips); with --against, the recorded "
          + "decisions that would change.",
          "Exit 0 if NEW only narrows access, 1 if it widens anything, 2 on errors."})
  static final class Diff implements Callable<Integer> {
    static final int NARROWS_ONLY = 0;
    static final int WIDENS = 1;
    static final int ERROR = 2;

    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "OLD", description = "The policy before the change.")
    Path oldFile;

    @Parameters(index = "1", paramLabel = "NEW", description = "The policy after the change.")
    Path newFile;

    @Option(names = "--against", arity = "1..*", paramLabel = "LOG",
        description = "KubeJIT audit log(s) whose request and command decisions are replayed under NEW.")
    List<Path> against = new ArrayList<>();

    @Option(names = "--corpus", paramLabel = "FILE",
        description = "Command lines to probe besides those generated from the rules: a JSON array of strings or of "
            + "objects with a \"line\" (the allow/deny corpora), or a text file with one line per command (repeatable).")
    List<Path> corpus = new ArrayList<>();

    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "text",
        description = "text, json or markdown (default: ${DEFAULT-VALUE}).")
    String format;

    @Option(names = "--old-revision", paramLabel = "REV", description = "Source revision of OLD, shown in the output.")
    String oldRevision;

    @Option(names = "--new-revision", paramLabel = "REV", description = "Source revision of NEW, shown in the output.")
    String newRevision;

    @Override
    public Integer call() {
      if (!List.of("text", "json", "markdown").contains(format)) {
        throw new CliException("--format must be text, json or markdown: " + format, 64);
      }
      Policy before = loadOrError(oldFile, oldRevision);
      Policy after = loadOrError(newFile, newRevision);
      dev.kubejit.policy.PolicyDiff.Builder b = dev.kubejit.policy.PolicyDiff.between(before, after);
      for (Path c : corpus) {
        List<List<String>> argvs = new ArrayList<>();
        b.corpus(readCorpus(c, argvs));
        b.corpusArgv(argvs);
      }
      if (!against.isEmpty()) {
        b.against(readEvents(against));
      }
      dev.kubejit.policy.PolicyDiff diff = b.compute();
      PrintWriter out = spec.commandLine().getOut();
      switch (format) {
        case "json":
          out.print(diff.toJson());
          break;
        case "markdown":
          out.print(diff.toMarkdown());
          break;
        default:
          out.print(diff.toText());
      }
      out.flush();
      return diff.widens() ? WIDENS : NARROWS_ONLY;
    }

    private static Policy loadOrError(Path file, String revision) {
      try {
        return PolicyLoader.load(file, revision);
      } catch (PolicyException | IllegalArgumentException e) {
        throw new CliException(e.getMessage(), ERROR);
      }
    }

    /** Reads command lines (returned) and argv entries (added to {@code argvs}). */
    static List<String> readCorpus(Path file, List<List<String>> argvs) {
      String text;
      try {
        text = java.nio.file.Files.readString(file, java.nio.charset.StandardCharsets.UTF_8);
      } catch (java.io.IOException | RuntimeException e) {
        throw new CliException("cannot read corpus " + file + ": " + e.getMessage(), ERROR);
      }
      List<String> lines = new ArrayList<>();
      if (text.stripLeading().startsWith("[")) {
        com.fasterxml.jackson.databind.JsonNode root;
        try {
          root = new com.fasterxml.jackson.databind.ObjectMapper().readTree(text);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
          throw new CliException("corpus " + file + " is not valid JSON: " + e.getOriginalMessage(), ERROR);
        }
        int i = 0;
        for (com.fasterxml.jackson.databind.JsonNode n : root) {
          if (n.isTextual()) {
            lines.add(n.asText());
          } else if (n.isObject() && n.path("line").isTextual()) {
            lines.add(n.get("line").asText());
          } else if (n.isObject() && n.path("argv").isArray() && n.get("argv").size() > 0) {
            List<String> argv = new ArrayList<>();
            for (com.fasterxml.jackson.databind.JsonNode w : n.get("argv")) {
              if (!w.isTextual()) {
                throw new CliException("corpus " + file + ": entry " + i + " has a non-string argv word", ERROR);
              }
              argv.add(w.asText());
            }
            argvs.add(argv);
          } else {
            throw new CliException("corpus " + file + ": entry " + i + " is neither a string nor an object with a "
                + "\"line\" or \"argv\"", ERROR);
          }
          i++;
        }
      } else {
        for (String l : text.split("\n")) {
          if (!l.isBlank() && !l.startsWith("#")) {
            lines.add(l);
          }
        }
      }
      return lines;
    }

    static List<dev.kubejit.api.AuditEvent> readEvents(List<Path> files) {
      List<dev.kubejit.api.AuditEvent> events = new ArrayList<>();
      try {
        dev.kubejit.audit.AuditQuery q = dev.kubejit.audit.AuditQuery.builder().build();
        for (List<Path> log : AuditCommand.logs(files)) {
          for (dev.kubejit.audit.AuditRecord r : q.run(log).records()) {
            r.event().ifPresent(events::add);
          }
        }
      } catch (RuntimeException e) {
        throw new CliException("cannot read audit log " + files + ": " + e.getMessage(), ERROR);
      }
      return events;
    }
  }
}
