package dev.kubejit.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.util.Statistics;

/**
 * Runs every benchmark of this module and the command-line tools it is compared with, in one run,
 * and prints one table: figure, reference, ratio, target, met. {@code --quick} runs the JMH
 * benchmarks only, one fork with short iterations (under 3 minutes); the default runs two forks
 * with more iterations and then the benchmarks against real peers ({@link StoreBench}, {@link
 * LifecycleBench}); {@code --stores} and {@code --lifecycle} run only those. The JMH log goes to
 * {@code --log FILE} (default {@code target/jmh.log}); the table also to {@code --out FILE}
 * (default {@code target/bench-table.md}).
 */
public final class BenchMain {
  private final boolean quick;
  private final Path log;
  private final String dataDir;
  private final Map<String, Stat> stats = new LinkedHashMap<>();
  /** The one-writer audit rows measured side by side outside JMH ({@link AuditPairs}), or null. */
  private Rows auditPairs;
  /** Quick runs: fewer warm-up calls of each credential operation than Warm's default of 5,000. */
  static final int QUICK_WARM_CALLS = 1_000;
  /** Quick runs: the warm-up by count stops after this long even if it has not made its calls. */
  static final long QUICK_WARM_MILLIS = 3_000;

  private static final java.util.regex.Pattern PERCENTILE = java.util.regex.Pattern.compile("(.*:)?p[0-9.]+");

  /** A figure: the median over all measurement iterations of all forks, with the spread. */
  record Stat(double median, double min, double max, double p50, double p99, String unit) {}

  private BenchMain(boolean quick, Path log, String dataDir) {
    this.quick = quick;
    this.log = log;
    this.dataDir = dataDir;
  }

  public static void main(String[] args) throws Exception {
    boolean quick = false;
    Path log = Path.of("target/jmh.log");
    Path out = Path.of("target/bench-table.md");
    String only = null;
    boolean stores = false;
    boolean lifecycle = false;
    String child = null;
    Path childOut = null;
    List<String> childClasses = List.of();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--child" -> child = args[++i];
        case "--child-out" -> childOut = Path.of(args[++i]);
        case "--child-classes" -> childClasses = List.of(args[++i].split(","));
        case "--quick" -> quick = true;
        case "--log" -> log = Path.of(args[++i]);
        case "--out" -> out = Path.of(args[++i]);
        case "--only" -> only = args[++i];
        case "--stores" -> stores = true;
        case "--lifecycle" -> lifecycle = true;
        default -> throw new IllegalArgumentException("unknown argument " + args[i]
            + "; known: --quick, --log FILE, --out FILE, --only REGEX, --stores, --lifecycle");
      }
    }
    boolean jmh = !stores && !lifecycle;
    if (jmh && !quick && only == null) {
      stores = true;
      lifecycle = true;
    }
    String dataDir = Path.of(System.getProperty("kubejit.bench.dir", "target/bench-data")).toAbsolutePath().toString();
    if (child != null) {
      new BenchMain(true, log, dataDir).child(child, childClasses, childOut);
      return;
    }
    BenchMain m = new BenchMain(quick, log, dataDir);
    long t0 = System.nanoTime();
    Tools tools = null;
    Path data = Path.of(dataDir);
    Files.createDirectories(data);
    if (jmh) {
      m.runAll(only);
      if (only == null || "AuditBench".matches(only)) {
        System.err.println("running AuditPairs (one writer and one fdatasync per record, alternating) ...");
        m.auditPairs = AuditPairs.run(quick, data);
      }
      tools = Tools.measure(quick ? 5 : 30);
    }
    Rows peers = Rows.create();
    if (stores) {
      System.err.println("running StoreBench (SQLite, PostgreSQL, Kubernetes store) ...");
      peers.rows().addAll(StoreBench.run(false, data).rows());
    } else {
      peers.notRun("7 stores (CAS transitions)", "not in this run; scripts/bench.sh --stores or the full run");
    }
    if (lifecycle) {
      System.err.println("running LifecycleBench (broker against kube-apiserver) ...");
      // -Dkubejit.bench.liveGrants=10,100 (default 10,100,1000) and -Dkubejit.bench.heapGrants=N
      // (default 10,000; 0 skips it) shorten a run; the rows say what was measured.
      List<Integer> live = java.util.Arrays.stream(System.getProperty("kubejit.bench.liveGrants", "10,100,1000").split(","))
          .map(String::strip).map(Integer::valueOf).toList();
      peers.rows().addAll(LifecycleBench.run(live, Integer.getInteger("kubejit.bench.heapGrants", 10_000), data).rows());
    } else {
      peers.notRun("8 lifecycle against the control plane", "not in this run; scripts/bench.sh --lifecycle or the full run");
    }
    String table = m.table(tools, peers);
    long secs = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
    String text = table + "\n(" + (!jmh ? "peers only" : quick
        ? "--quick: one JVM per family of benchmark classes, 3 x 0.5 s measured after 1 x 0.5 s warm-up and " + QUICK_WARM_CALLS
            + " warm-up calls (at most " + QUICK_WARM_MILLIS / 1000 + " s)"
        : "2 forks, 5 x 1 s measured after 4 x 1 s warm-up") + " per benchmark; spread = min..max over the measured iterations; "
        + "ran " + secs + " s)\n";
    System.out.print(text);
    if (out.getParent() != null) {
      Files.createDirectories(out.getParent());
    }
    Files.writeString(out, text, StandardCharsets.UTF_8);
  }

  static final String[] CLASSES = {"X509Bench", "SshBench", "JwtBench", "PolicyBench", "RbacBench", "AuditBench",
      "AdmissionBench"};
  /**
   * Quick runs: the benchmark classes that share a JVM, by the code they exercise: the credential
   * issuers (Bouncy Castle's signatures), the decisions (policy engine, RBAC evaluator, exec
   * admission, which uses the policy engine), the audit sink.
   */
  static final Map<String, List<String>> FAMILIES = Map.of(
      "credentials", List.of("X509Bench", "SshBench", "JwtBench"),
      "decisions", List.of("PolicyBench", "RbacBench", "AdmissionBench"),
      "audit", List.of("AuditBench"));

  private void runAll(String only) throws RunnerException, IOException, InterruptedException {
    if (log.getParent() != null) {
      Files.createDirectories(log.getParent());
    }
    if (quick) {
      for (String family : List.of("credentials", "decisions", "audit")) {
        List<String> selected = FAMILIES.get(family).stream().filter(c -> only == null || c.matches(only)).toList();
        if (!selected.isEmpty()) {
          System.err.println("running " + String.join(", ", selected) + " (one JVM) ...");
          long t0 = System.nanoTime();
          runChild(family, selected);
          System.err.printf(Locale.ROOT, "%s took %d s%n", family, TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0));
        }
      }
      return;
    }
    for (String c : CLASSES) {
      if (only != null && !c.matches(only)) {
        continue;
      }
      System.err.println("running " + c + " ...");
      long t0 = System.nanoTime();
      for (RunResult r : new Runner(options(c, List.of(c), false).build()).run()) {
        record(r);
      }
      System.err.printf(Locale.ROOT, "%s took %d s%n", c, TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0));
    }
  }

  /**
   * The JMH options for one benchmark class. Full runs: two forks (a clean JVM per benchmark and
   * parameter), 4 x 1 s warm-up, 5 x 1 s measured. Quick runs: the class runs in a JVM of its own
   * ({@link #runChild}) with no further forks, one 0.5 s warm-up iteration after the credential
   * benchmarks' warm-up by count (1,000 calls, at most {@link #QUICK_WARM_MILLIS} ms), three 0.5 s
   * measured iterations: enough for a median and a spread, not for fork-to-fork variation.
   */
  private ChainedOptionsBuilder options(String name, List<String> classes, boolean inProcess) {
    ChainedOptionsBuilder o = new OptionsBuilder()
        .jvmArgsAppend("-Dkubejit.bench.dir=" + dataDir, "-Xmx1g")
        .shouldFailOnError(true)
        .output(log.resolveSibling(log.getFileName() + "." + name).toString());
    for (String c : classes) {
      o.include("dev\\.kubejit\\.bench\\." + c + "\\..*");
    }
    if (quick) {
      o.forks(inProcess ? 0 : 1).warmupIterations(1).warmupTime(TimeValue.milliseconds(500))
          .measurementIterations(3).measurementTime(TimeValue.milliseconds(500));
    } else {
      o.forks(2).warmupIterations(4).warmupTime(TimeValue.seconds(1))
          .measurementIterations(5).measurementTime(TimeValue.seconds(1));
    }
    return o;
  }

  /**
   * Quick runs: one JVM per family of benchmark classes ({@link #FAMILIES}: 3 instead of one per
   * benchmark and parameter, 19), in which JMH runs the benchmarks one after the other without
   * forking; the child writes its figures to a file that this process reads. Benchmarks of a
   * family share JIT profiles (the price of the shorter run); different families never do.
   */
  private void runChild(String c, List<String> classes) throws IOException, InterruptedException {
    Path statsFile = Files.createTempFile(log.toAbsolutePath().getParent(), "stats-" + c + "-", ".tsv");
    Path childLog = log.resolveSibling(log.getFileName() + "." + c + ".stderr");
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx1g", "-Dkubejit.bench.dir=" + dataDir, "-Dkubejit.bench.warmCalls=" + QUICK_WARM_CALLS,
        "-Dkubejit.bench.warmMillis=" + QUICK_WARM_MILLIS));
    if (System.getProperty("jmh.ignoreLock") != null) {
      cmd.add("-Djmh.ignoreLock=" + System.getProperty("jmh.ignoreLock"));
    }
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), BenchMain.class.getName(), "--child", c,
        "--child-classes", String.join(",", classes), "--child-out", statsFile.toString(), "--log", log.toString()));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.to(childLog.toFile())).start();
    int rc = p.waitFor();
    try {
      if (rc != 0) {
        throw new IllegalStateException(c + " failed (exit " + rc + "); see " + childLog + " and "
            + log.resolveSibling(log.getFileName() + "." + c));
      }
      for (String line : Files.readAllLines(statsFile, StandardCharsets.UTF_8)) {
        String[] f = line.split("\t");
        stats.put(f[0], new Stat(Double.parseDouble(f[1]), Double.parseDouble(f[2]), Double.parseDouble(f[3]),
            Double.parseDouble(f[4]), Double.parseDouble(f[5]), f[6]));
      }
    } finally {
      Files.deleteIfExists(statsFile);
    }
  }

  /** In the child JVM of {@link #runChild}: runs one class without forking and writes its figures. */
  private void child(String c, List<String> classes, Path out) throws RunnerException, IOException {
    for (RunResult r : new Runner(options(c, classes, true).build()).run()) {
      record(r);
    }
    StringBuilder b = new StringBuilder();
    stats.forEach((k, v) -> b.append(k).append('\t').append(v.median()).append('\t').append(v.min()).append('\t')
        .append(v.max()).append('\t').append(v.p50()).append('\t').append(v.p99()).append('\t').append(v.unit())
        .append('\n'));
    Files.writeString(out, b.toString(), StandardCharsets.UTF_8);
  }

  private void record(RunResult r) {
    String name = r.getParams().getBenchmark().replaceFirst("^dev\\.kubejit\\.bench\\.", "");
    String cls = name.substring(0, name.indexOf('.'));
    StringBuilder params = new StringBuilder();
    for (String p : r.getParams().getParamsKeys()) {
      params.append('[').append(r.getParams().getParam(p)).append(']');
    }
    // A JMH group (figure and floor on their own threads in the same iterations) reports each
    // method as a secondary result; any other benchmark has only its primary result.
    // Sample-time benchmarks also report their percentiles as secondary results ("p0.99",
    // "allow10:p0.99"); those are not methods of a group.
    Map<String, List<Double>> scores = new LinkedHashMap<>();
    for (BenchmarkResult b : r.getBenchmarkResults()) {
      for (IterationResult i : b.getIterationResults()) {
        Map<String, org.openjdk.jmh.results.Result> methods = new LinkedHashMap<>();
        i.getSecondaryResults().forEach((label, res) -> {
          if (!PERCENTILE.matcher(label).matches()) {
            methods.put(label, res);
          }
        });
        if (methods.isEmpty()) {
          scores.computeIfAbsent(name, k -> new ArrayList<>()).add(i.getPrimaryResult().getScore());
        } else {
          methods.forEach((label, res) ->
              scores.computeIfAbsent(cls + "." + label, k -> new ArrayList<>()).add(res.getScore()));
        }
      }
    }
    scores.forEach((key, list) -> {
      list.sort(Double::compare);
      double median = list.size() % 2 == 1 ? list.get(list.size() / 2)
          : (list.get(list.size() / 2 - 1) + list.get(list.size() / 2)) / 2;
      String label = key.substring(key.indexOf('.') + 1);
      Statistics all = r.getSecondaryResults().containsKey(label) ? r.getSecondaryResults().get(label).getStatistics()
          : r.getPrimaryResult().getStatistics();
      stats.put(key + params, new Stat(median, list.get(0), list.get(list.size() - 1),
          all.getPercentile(50), all.getPercentile(99), r.getPrimaryResult().getScoreUnit()));
    });
  }

  private Stat s(String key) {
    Stat st = stats.get(key);
    if (st == null) {
      throw new MissingResult(key);
    }
    return st;
  }

  // ------------------------------------------------------------------ the table

  private final List<String[]> rows = new ArrayList<>();

  private void row(String what, String figure, String reference, double ratio, String target, Boolean met) {
    rows.add(new String[] {what, figure, reference, Double.isNaN(ratio) ? "—" : fmtRatio(ratio), target,
        met == null ? "—" : met ? "yes" : "**no**"});
  }

  private static String fmtRatio(double r) {
    return r >= 100 ? String.format(Locale.ROOT, "%,.0f×", r) : r >= 10 ? String.format(Locale.ROOT, "%.1f×", r)
        : String.format(Locale.ROOT, "%.2f", r);
  }

  private static String rate(Stat s, String unit) {
    return String.format(Locale.ROOT, "%,.0f %s (%,.0f..%,.0f)", s.median(), unit, s.min(), s.max());
  }

  private static String ns(double nanos) {
    return nanos >= 10_000 ? String.format(Locale.ROOT, "%,.0f µs", nanos / 1000)
        : String.format(Locale.ROOT, "%.2f µs", nanos / 1000);
  }

  interface Section {
    void run();
  }

  /** Adds a section's rows, or none if one of its benchmarks was not run (--only). */
  private void section(Section s) {
    int before = rows.size();
    try {
      s.run();
    } catch (MissingResult e) {
      System.err.println("table: leaving out a section, " + e.getMessage() + "; have " + stats.keySet());
      rows.subList(before, rows.size()).clear();
    }
  }

  static final class MissingResult extends RuntimeException {
    private static final long serialVersionUID = 1L;

    MissingResult(String key) {
      super("no result for " + key);
    }
  }

  private String table(Tools tools, Rows peers) {
    if (tools != null) {
      section(() -> x509(tools));
      section(() -> ssh(tools));
      section(this::jwt);
      section(this::policy);
      section(this::rbac);
      section(this::audit);
      section(this::admission);
    }
    for (Rows.Row r : peers.rows()) {
      row(r.what(), r.figure(), r.reference(), r.ratio(), r.target(), r.met());
    }
    StringBuilder b = new StringBuilder();
    b.append("| # / what | figure: median (min..max) | reference | ratio | target | met? |\n");
    b.append("|---|---|---|---|---|---|\n");
    for (String[] r : rows) {
      b.append("| ").append(String.join(" | ", r)).append(" |\n");
    }
    return b.toString();
  }

  private void x509(Tools tools) {
    for (String t : List.of("ED25519", "ECDSA_P256")) {
      String label = t.equals("ED25519") ? "Ed25519" : "P-256";
      Stat issue = s("X509Bench.issueFromCsr[" + t + "]");
      Stat floor = s("X509Bench.verifyPlusSign[" + t + "]");
      Stat sameKey = stats.get("X509Bench.verifyPlusSignSameKey[" + t + "]");
      Stat jdk = stats.get("X509Bench.verifyPlusSignJdk[" + t + "]");
      row("1 X.509 from CSR, " + label + " CA and key, certs/s", rate(issue, "/s"),
          "CSR key decode + verify + cert sign (BC), side by side: " + rate(floor, "/s"),
          issue.median() / floor.median(), "≥ 0.8", issue.median() / floor.median() >= 0.8);
      if (sameKey != null) {
        row("1 … floor with the decoded CSR key object reused (a per-key cache no new CSR hits; other group)",
            rate(issue, "/s"), "BC verify + sign, same key object: " + rate(sameKey, "/s"),
            issue.median() / sameKey.median(), "— (reference)", null);
      }
      if (jdk != null) {
        row("1 … floor with the JDK provider (SunEC; other group)", rate(issue, "/s"),
            "JDK key decode + verify + sign: " + rate(jdk, "/s"), issue.median() / jdk.median(),
            "— (provider choice)", null);
      }
      double opensslMs = t.equals("ED25519") ? tools.opensslEd25519Ms : tools.opensslP256Ms;
      row("1 X.509 from CSR, " + label + ", vs `openssl x509 -req` per certificate", rate(issue, "/s"),
          String.format(Locale.ROOT, "%,.1f ms/process = %,.0f /s", opensslMs, 1000 / opensslMs),
          issue.median() * opensslMs / 1000, "≥ 100×", issue.median() * opensslMs / 1000 >= 100);
    }
  }

  private void ssh(Tools tools) {
    Stat ssh = s("SshBench.sign");
    Stat raw = s("SshBench.rawEd25519Sign");
    row("2 OpenSSH user cert, Ed25519 CA, certs/s", rate(ssh, "/s"), "Ed25519 sign (BC): " + rate(raw, "/s"),
        ssh.median() / raw.median(), "≥ 0.8", ssh.median() / raw.median() >= 0.8);
    row("2 OpenSSH user cert vs `ssh-keygen -s` per certificate", rate(ssh, "/s"),
        String.format(Locale.ROOT, "%,.1f ms/process = %,.0f /s", tools.sshKeygenMs, 1000 / tools.sshKeygenMs),
        ssh.median() * tools.sshKeygenMs / 1000, "≥ 100×", ssh.median() * tools.sshKeygenMs / 1000 >= 100);
  }

  private void jwt() {
    Stat mint = s("JwtBench.mint");
    Stat verify = s("JwtBench.verify");
    Stat rs = s("JwtBench.rawSign");
    Stat rv = s("JwtBench.rawVerify");
    row("3 JWT mint (EdDSA), tokens/s", rate(mint, "/s"), "Ed25519 sign (BC): " + rate(rs, "/s"), mint.median() / rs.median(),
        "— (none set; 0.8 as for certs)", null);
    row("3 JWT verify (EdDSA), tokens/s", rate(verify, "/s"), "Ed25519 verify (BC): " + rate(rv, "/s"),
        verify.median() / rv.median(), "— (none set; 0.8 as for certs)", null);
  }

  private void policy() {
    Stat a10 = s("PolicyBench.allow10");
    for (String n : List.of("10", "100", "1000", "10000")) {
      Stat a = s("PolicyBench.allow" + n);
      Stat d = s("PolicyBench.deny" + n);
      String fig = "allow p50 " + ns(a.p50()) + ", p99 " + ns(a.p99()) + "; deny p50 " + ns(d.p50()) + ", p99 " + ns(d.p99())
          + String.format(Locale.ROOT, "; %,.0f allows/s (1/mean)", 1e9 / a.median());
      if (n.equals("1000")) {
        double worst = Math.max(a.p99(), d.p99());
        row("4 checkCommand, 1,000 rules", fig, "target", Double.NaN, "p99 ≤ 5 µs", worst <= 5000);
      } else if (n.equals("10000")) {
        double ratio = a.p50() / a10.p50();
        row("4 checkCommand, 10,000 rules", fig, "allow p50 at 10 rules: " + ns(a10.p50()), ratio, "≤ 2× of 10 rules",
            ratio <= 2);
      } else {
        row("4 checkCommand, " + n + " rules", fig, "", Double.NaN, "", null);
      }
    }
  }

  private void rbac() {
    Stat r100 = s("RbacBench.allow100");
    Stat d100 = s("RbacBench.deny100");
    for (String n : List.of("100", "1000", "10000")) {
      Stat a = s("RbacBench.allow" + n);
      Stat d = s("RbacBench.deny" + n);
      String fig = "allow " + ns(a.median()) + " (" + ns(a.min()) + ".." + ns(a.max()) + "); deny " + ns(d.median());
      if (n.equals("100")) {
        row("5 offline RBAC can-i, 100 bindings", fig, "", Double.NaN, "", null);
      } else {
        double growth = Math.max(a.median() / r100.median(), d.median() / d100.median());
        int x = Integer.parseInt(n) / 100;
        row("5 offline RBAC can-i, " + String.format(Locale.ROOT, "%,d", Integer.parseInt(n)) + " bindings", fig,
            "cost at 100 bindings (" + x + "× fewer)", growth, "sub-linear: ≤ √" + x + " = " + fmtRatio(Math.sqrt(x)),
            growth <= Math.sqrt(x));
      }
    }
  }

  private void admission() {
    Stat none = s("AdmissionBench.userWithoutGrant");
    for (String c : List.of("allowedCommand", "refusedCommand", "refusedLongRunning")) {
      Stat a = s("AdmissionBench." + c);
      row("9 exec admission decision, " + c + ", 1,000 grants", "p50 " + ns(a.p50()) + ", p99 " + ns(a.p99()),
          "no-grant path p50 " + ns(none.p50()), a.p50() / none.p50(), "p99 < 1 ms", a.p99() < 1_000_000);
    }
  }

  private void audit() {
    Stat fsync = s("AuditBench.fsyncPerRecord");
    Stat unsynced = s("AuditBench.unsynced");
    String ref = "one fdatasync per record: " + rate(fsync, "/s");
    for (String w : List.of("1", "8", "64")) {
      Stat a = s("AuditBench.sinkWriters" + w);
      double ratio = a.median() / fsync.median();
      String target = w.equals("64") ? "≥ 20×" : w.equals("1") ? "≥ 1×" : "";
      Boolean met = w.equals("64") ? Boolean.valueOf(ratio >= 20) : w.equals("1") ? Boolean.valueOf(ratio >= 1) : null;
      row("6 audit append, " + w + " writer" + (w.equals("1") ? "" : "s") + ", durable records/s", rate(a, "/s"), ref, ratio,
          target, met);
      if (w.equals("1") && auditPairs != null) {
        for (Rows.Row r : auditPairs.rows()) {
          row(r.what(), r.figure(), r.reference(), r.ratio(), r.target(), r.met());
        }
      }
    }
    Stat async = s("AuditBench.sinkAsync1");
    row("6 audit appendAsync, 1 writer, ≤ 1,024 in flight", rate(async, "/s"), ref, async.median() / fsync.median(), "≥ 1×",
        async.median() / fsync.median() >= 1);
    Stat best = s("AuditBench.sinkWriters64");
    row("6 audit ceiling: unsynced writes", rate(best, "/s") + " (64 writers)", "unsynced write(): " + rate(unsynced, "/s"),
        best.median() / unsynced.median(), "— (ceiling)", null);
  }
}
