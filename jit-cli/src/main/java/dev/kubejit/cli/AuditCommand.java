package dev.kubejit.cli;

import dev.kubejit.audit.AuditCorrelator;
import dev.kubejit.audit.AuditKeys;
import dev.kubejit.audit.AuditQuery;
import dev.kubejit.audit.AuditRecord;
import dev.kubejit.audit.AuditVerifier;
import dev.kubejit.audit.FileAuditSink;
import dev.kubejit.audit.VerificationResult;
import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.SafeText;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code kubejit audit}: verify, query and correlate KubeJIT audit logs. */
@Command(name = "audit", mixinStandardHelpOptions = true,
    description = "Verify, query and correlate KubeJIT audit logs (see docs/audit.md).",
    subcommands = {AuditCommand.Verify.class, AuditCommand.Query.class, AuditCommand.Correlate.class})
final class AuditCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** Exit codes of {@code verify}. */
  static final int OPEN = 3;
  static final int TORN = 4;
  static final int TAMPERED = 5;
  static final int UNVERIFIED = 6;
  static final int TIME_WENT_BACKWARDS = 7;

  @Command(name = "verify", mixinStandardHelpOptions = true,
      description = {"Check the hash chain, sequence numbers, writer sessions and checkpoint signatures of a log, "
          + "and (with --anchor) that it reaches exactly the checkpoint its anchor names.",
          "Exit codes (the first that applies):",
          "  5  TAMPERED (also TRUNCATED: cut behind its anchor; ANCHOR_MISMATCH)",
          "  4  TORN: intact up to an incomplete last line",
          "  3  OPEN: intact but not sealed (0 with --allow-open)",
          "  7  TIME: a record is stamped before an earlier one beyond --time-tolerance",
          "  6  UNVERIFIED: no --public-key, signatures were not checked",
          "  0  sealed (or open with --allow-open), every signature verified",
          "  1  unreadable log, key or anchor file;  64  usage error"})
  static final class Verify implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "FILE",
        description = "The log(s): a file of a log stands for all its segments; files of different logs (one per "
            + "broker replica) are verified one by one, each as its own chain.")
    List<Path> files;

    @Option(names = "--public-key", paramLabel = "KEY", description = "Ed25519 public key (PEM) that signed the checkpoints.")
    Path publicKey;

    @Option(names = "--anchor", paramLabel = "FILE",
        description = "The anchor file the sink keeps (FileAuditSink.Builder.anchor): detects a log cut back to any "
            + "earlier point, including an earlier seal.")
    Path anchor;

    @Option(names = "--time-tolerance", paramLabel = "DURATION",
        description = "How far a record's time may lie before an earlier record's (default 5s; e.g. 500ms, 30s, 2m, "
            + "PT1M).")
    String timeTolerance;

    @Option(names = "--allow-open", description = "Accept a log without a seal (still being written, or crashed).")
    boolean allowOpen;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      AuditVerifier v = publicKey == null ? AuditVerifier.withoutSignatureCheck()
          : AuditVerifier.withPublicKey(AuditKeys.readPublicKey(publicKey));
      if (timeTolerance != null) {
        v = v.withTimeTolerance(duration("--time-tolerance", timeTolerance));
      }
      if (anchor != null) {
        v = v.withAnchor(anchor);
      }
      List<List<Path>> logs = logs(files);
      if (anchor != null && logs.size() > 1) {
        throw new CliException("--anchor belongs to one log; verify that log on its own (given " + logs.size()
            + " logs)", 64);
      }
      int code = 0;
      for (List<Path> log : logs) {
        VerificationResult r = v.verify(log);
        code = worse(code, exitCode(r, allowOpen));
        String label = !r.signaturesChecked() && r.status() != VerificationResult.Status.TAMPERED
            ? "UNVERIFIED (" + r.status() + ")" : r.status().name();
        out.println((logs.size() > 1 ? log.get(0) + ": " : "") + label + ": " + r.message());
        for (VerificationResult.Finding f : r.findings()) {
          out.println("  " + f.kind() + ": " + f.message());
        }
      }
      out.flush();
      return code;
    }

    /** Of two exit codes, the one listed first in the help (TAMPERED before TORN before OPEN ...). */
    static int worse(int a, int b) {
      List<Integer> order = List.of(TAMPERED, TORN, OPEN, TIME_WENT_BACKWARDS, UNVERIFIED, 0);
      return order.indexOf(a) <= order.indexOf(b) ? a : b;
    }

    static int exitCode(VerificationResult r, boolean allowOpen) {
      switch (r.status()) {
        case TAMPERED:
          return TAMPERED;
        case TORN_TAIL:
          return TORN;
        case OPEN:
          if (!allowOpen) {
            return OPEN;
          }
          break;
        default:
          break;
      }
      if (!r.findings().isEmpty()) {
        return TIME_WENT_BACKWARDS;
      }
      if (!r.signaturesChecked()) {
        return UNVERIFIED;
      }
      return r.isOk(allowOpen) ? 0 : TAMPERED;
    }
  }

  @Command(name = "query", mixinStandardHelpOptions = true, description = "Print records matching every filter.")
  static final class Query implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "FILE",
        description = "The log(s); records of several logs (one per broker replica) are merged by time, each line "
            + "then starts with its log's file.")
    List<Path> files;

    @Option(names = "--user", paramLabel = "U", description = "Actor or requester.") String user;
    @Option(names = "--namespace", paramLabel = "NS") String namespace;
    @Option(names = "--grant", paramLabel = "ID") String grant;
    @Option(names = "--type", paramLabel = "T", description = "An event type, or CHECKPOINT.") String type;
    @Option(names = "--since", paramLabel = "TIME", description = "RFC 3339, inclusive.") String since;
    @Option(names = "--until", paramLabel = "TIME", description = "RFC 3339, exclusive.") String until;
    @Option(names = "--json", description = "Print the matching lines as stored (JSON lines, for jq).") boolean json;

    @Override
    public Integer call() {
      AuditQuery.Builder b = AuditQuery.builder();
      try {
        if (user != null) {
          b.user(user);
        }
        if (namespace != null) {
          b.namespace(namespace);
        }
        if (grant != null) {
          b.grant(grant);
        }
        if (type != null) {
          b.type(type);
        }
        if (since != null) {
          b.since(time("--since", since));
        }
        if (until != null) {
          b.until(time("--until", until));
        }
      } catch (IllegalArgumentException e) {
        throw new CliException(e.getMessage(), 64);
      }
      AuditQuery q;
      try {
        q = b.build();
      } catch (IllegalArgumentException e) {
        throw new CliException(e.getMessage(), 64);
      }
      List<List<Path>> logs = logs(files);
      List<Map.Entry<Path, AuditRecord>> merged = new ArrayList<>();
      List<String> torn = new ArrayList<>();
      for (List<Path> log : logs) {
        AuditQuery.Result r = q.run(log);
        r.records().forEach(rec -> merged.add(Map.entry(log.get(0), rec)));
        r.tornTail().ifPresent(torn::add);
      }
      // Stable: records of one time keep the order of the logs given, and their order within a log.
      merged.sort(Comparator.comparing(e -> e.getValue().time()));
      PrintWriter out = spec.commandLine().getOut();
      for (Map.Entry<Path, AuditRecord> e : merged) {
        String line = json ? e.getValue().json() : describe(e.getValue());
        out.println(logs.size() > 1 && !json ? e.getKey() + "\t" + line : line);
      }
      out.flush();
      torn.forEach(t -> spec.commandLine().getErr().println("kubejit: warning: " + t));
      spec.commandLine().getErr().flush();
      return 0;
    }

    private static String describe(AuditRecord r) {
      StringBuilder sb = new StringBuilder().append(r.seq()).append('\t').append(r.time()).append('\t').append(r.type());
      if (r.event().isEmpty()) {
        return sb.append('\t').append(r.checkpointKind().orElse("")).toString();
      }
      AuditEvent e = r.event().get();
      sb.append('\t').append(e.actor().map(a -> a.user()).orElse("-"));
      sb.append('\t').append(e.scope().map(Object::toString).orElse("-"));
      sb.append('\t').append(e.grantId().map(Object::toString).orElse("-"));
      e.reason().ifPresent(x -> sb.append('\t').append(x));
      return sb.toString();
    }
  }

  @Command(name = "correlate", mixinStandardHelpOptions = true,
      description = "For each grant, list the Kubernetes API calls made under it; then calls by JIT identities "
          + "outside any active grant window.")
  static final class Correlate implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--jit", arity = "1..*", required = true, paramLabel = "FILE",
        description = "KubeJIT audit log(s); the logs of several broker replicas are merged by time.")
    List<Path> jit;

    @Option(names = "--k8s", arity = "1..*", required = true, paramLabel = "FILE",
        description = "kube-apiserver audit log(s), audit.k8s.io/v1 JSON lines.")
    List<Path> k8s;

    @Override
    public Integer call() {
      AuditCorrelator.Result r = AuditCorrelator.correlate(FileAuditSink.files(jit), k8s);
      PrintWriter out = spec.commandLine().getOut();
      for (AuditCorrelator.GrantUsage g : r.grants()) {
        out.println("grant " + g.grantId() + " user=" + g.user() + " group=" + g.subjectGroup() + " from=" + g.from()
            + " until=" + (g.until().equals(Instant.MAX) ? "-" : g.until()) + " ended=" + g.endedBy().orElse("-")
            + " calls=" + g.calls().size());
        g.calls().forEach(c -> out.println("  " + call(c)));
      }
      out.println("outside any active grant window: " + r.outside().size());
      r.outside().forEach(c -> out.println("  " + call(c) + " user=" + c.user() + " groups=" + c.groups()));
      out.flush();
      return 0;
    }

    private static String call(AuditCorrelator.ApiCall c) {
      return c.time() + " " + c.verb() + " " + c.resourcePath() + " " + (c.namespace() == null ? "-" : c.namespace())
          + "/" + (c.name() == null ? "-" : c.name()) + " " + c.code() + " auditID=" + c.auditId();
    }
  }

  /** The distinct logs the paths name, each as its files in segment order, in the order first named. */
  static List<List<Path>> logs(List<Path> paths) {
    Map<Path, List<Path>> logs = new LinkedHashMap<>();
    for (Path p : paths) {
      List<Path> files = FileAuditSink.files(List.of(p));
      logs.putIfAbsent(files.get(0).toAbsolutePath().normalize(), files);
    }
    return new ArrayList<>(logs.values());
  }

  static Instant time(String option, String value) {
    try {
      return OffsetDateTime.parse(value).toInstant();
    } catch (DateTimeParseException e) {
      throw new CliException(option + " is not an RFC 3339 time (e.g. 2026-01-01T09:00:00Z): " + value, 64);
    }
  }

  private static final Pattern SIMPLE_DURATION = Pattern.compile("([0-9]{1,9})(ms|s|m|h)");

  /** Parses {@code 500ms}, {@code 5s}, {@code 2m}, {@code 1h} or an ISO-8601 duration ({@code PT5S}); not negative. */
  static Duration duration(String option, String value) {
    Matcher m = SIMPLE_DURATION.matcher(value);
    Duration d;
    if (m.matches()) {
      long n = Long.parseLong(m.group(1));
      switch (m.group(2)) {
        case "ms":
          d = Duration.ofMillis(n);
          break;
        case "s":
          d = Duration.ofSeconds(n);
          break;
        case "m":
          d = Duration.ofMinutes(n);
          break;
        default:
          d = Duration.ofHours(n);
          break;
      }
    } else {
      try {
        d = Duration.parse(value);
      } catch (DateTimeParseException e) {
        throw new CliException(option + " is not a duration (e.g. 500ms, 5s, 2m, PT5S): "
            + SafeText.quote(value), 64);
      }
    }
    if (d.isNegative()) {
      throw new CliException(option + " must not be negative: " + SafeText.quote(value), 64);
    }
    return d;
  }
}
