package dev.kubejit.gateway;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.kubejit.api.Action;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.Decision;
import dev.kubejit.api.Grant;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.Use;
import io.kubernetes.client.Exec;
import io.kubernetes.client.PodLogs;
import io.kubernetes.client.openapi.ApiClient;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides and runs one command of the gateway language for a login: the grant is checked again
 * (active, held, this cluster), the use is decided by {@link JitBroker#authorize} (the grant role's
 * command rules, the same engine as {@code kubejit policy check}; the broker audits the decision),
 * then run with client-java as the grant's own identity ({@link GrantClients}). Output goes to the
 * SSH channel and to an asciicast recording; the execution (exit status, bytes, duration,
 * recording and its SHA-256) is audited. Refusals print {@code kubejit: refused by rule R: why} on
 * stderr and end with {@link #EXIT_REFUSED}.
 */
final class Runner {
  /** Exit status of a refusal (policy, grant state, scope) or of a command cut at grant end. */
  static final int EXIT_REFUSED = 77;
  /** Exit status of a command line the gateway cannot parse. */
  static final int EXIT_USAGE = 64;
  /** Exit status when the gateway could not reach Kubernetes, the broker or the audit log. */
  static final int EXIT_UNAVAILABLE = 69;

  private static final Logger log = LoggerFactory.getLogger(Runner.class);

  private final JitBroker broker;
  private final GrantClients clients;
  private final GatewayAudit audit;
  private final Clock clock;
  private final String cluster;
  private final Path recordings;
  private final AtomicLong sequence = new AtomicLong();
  private final GatewayCounters counters;

  Runner(JitBroker broker, GrantClients clients, GatewayAudit audit, Clock clock, String cluster, Path recordings,
      GatewayCounters counters) {
    this.counters = counters;
    this.broker = broker;
    this.clients = clients;
    this.audit = audit;
    this.clock = clock;
    this.cluster = cluster;
    this.recordings = recordings;
  }

  /** A command in progress, which the expiry watch can cut. */
  static final class Running {
    private final AtomicReference<String> cut = new AtomicReference<>();
    private volatile Process process;
    private volatile InputStream stream;
    private volatile OutputStream err;
    private volatile java.util.function.Consumer<String> onCut;

    /** Something to run with the message when this is cut (line mode ends its channel). */
    void onCut(java.util.function.Consumer<String> action) {
      this.onCut = action;
    }

    /** Ends the command with {@code message} on stderr; idempotent. */
    void cut(String message) {
      if (!cut.compareAndSet(null, message)) {
        return;
      }
      java.util.function.Consumer<String> action = onCut;
      if (action != null) {
        action.accept(message);
      }
      OutputStream e = err;
      if (e != null) {
        try {
          e.write(("\nkubejit: " + message + "\n").getBytes(UTF_8));
          e.flush();
        } catch (IOException ignored) {
          // the channel is going away anyway
        }
      }
      Process p = process;
      if (p != null) {
        p.destroy();
      }
      InputStream s = stream;
      if (s != null) {
        try {
          s.close();
        } catch (IOException ignored) {
          // closing is the point
        }
      }
    }

    boolean wasCut() {
      return cut.get() != null;
    }
  }

  int run(Login login, String sshSessionId, CommandLine cmd, InputStream in, OutputStream out, OutputStream err,
      Running running) {
    running.err = err;
    Optional<RequestRecord> found;
    try {
      found = broker.findByGrant(login.grant);
    } catch (RuntimeException e) {
      log.warn("grant lookup for {} failed: {}", login.grant, e.toString());
      return refuse(login, null, cmd, "gateway:store", "the grant store failed; refused", err, sshSessionId);
    }
    if (found.isEmpty() || found.get().grant().isEmpty()) {
      return refuse(login, null, cmd, "broker:unknown-grant", "grant " + login.grant + " is unknown", err, sshSessionId);
    }
    RequestRecord rec = found.get();
    Grant grant = rec.grant().get();
    Optional<String> problem = CertificateLogin.GrantCheck.problem(rec, grant, login.holder, cluster, clock.instant());
    if (problem.isPresent()) {
      String[] rr = problem.get().split(" ", 2);
      return refuse(login, rec, cmd, rr[0], rr[1], err, sshSessionId);
    }
    String container = cmd.container().orElse(null);
    Use use = cmd.kind == CommandLine.Kind.EXEC
        ? Use.command(cmd.argv).in(cmd.pod, container)
        : Use.action(Action.LOGS).in(cmd.pod, container);
    Decision d;
    try {
      if (cmd.stdin) {
        Decision interactive = broker.authorize(grant.id(), login.holder, Use.action(Action.EXEC).in(cmd.pod, container));
        if (!interactive.isAllowed()) {
          return refused(err, interactive.ruleId().orElse("policy:default-deny"), "stdin requested: " + interactive.reason());
        }
      }
      d = broker.authorize(grant.id(), login.holder, use);
    } catch (RuntimeException e) {
      log.warn("authorize {} on grant {} failed; refusing: {}", use, grant.id(), e.toString());
      return refused(err, "gateway:decision", "the decision could not be made or recorded ("
          + e.getClass().getSimpleName() + "); refused");
    }
    if (!d.isAllowed()) {
      return refused(err, d.ruleId().orElse("policy:default-deny"), d.reason());
    }
    counters.commandAllowed();
    String namespace = grant.scope().namespace().orElseThrow();
    long n = sequence.incrementAndGet();
    Instant started = clock.instant();
    long t0 = System.nanoTime();
    Path file = recordings.resolve(grant.id().value()).resolve(sshSessionId.substring(0, Math.min(16, sshSessionId.length()))
        + "-" + n + ".cast");
    Counting cout;
    Counting cerr;
    AtomicLong bytesIn = new AtomicLong();
    int exit;
    String failure = null;
    Recording recording;
    try {
      recording = Recording.create(file, started, login.principal + "@kubejit " + describe(cmd));
    } catch (RuntimeException e) {
      return refused(err, "gateway:recording", "the session could not be recorded; refused");
    }
    cout = new Counting(out, recording);
    cerr = new Counting(err, recording);
    try {
      ApiClient client = clients.forGrant(grant);
      if (cmd.kind == CommandLine.Kind.EXEC) {
        exit = exec(client, namespace, cmd, in, cout, cerr, bytesIn, running);
      } else {
        exit = logs(client, namespace, cmd, cout, running);
      }
    } catch (Exception e) {
      failure = e instanceof StreamFailed ? e.getMessage()
          : e.getClass().getSimpleName() + (e instanceof io.kubernetes.client.openapi.ApiException
          ? " " + ((io.kubernetes.client.openapi.ApiException) e).getCode() : "");
      log.warn("{} on grant {} failed: {}", describe(cmd), grant.id(), e.toString());
      exit = EXIT_UNAVAILABLE;
      if (!running.wasCut()) {
        writeQuietly(cerr, "kubejit: " + describe(cmd) + " failed: " + failure + "\n");
      }
    }
    if (running.wasCut()) {
      exit = EXIT_REFUSED;
    }
    recording.close();
    Map<String, String> attrs = new LinkedHashMap<>();
    attrs.put("sshSessionId", sshSessionId);
    attrs.put("pod", cmd.pod);
    attrs.put("namespace", namespace);
    if (container != null) {
      attrs.put("container", container);
    }
    attrs.put("command", use.describe());
    attrs.put("exitStatus", Integer.toString(exit));
    attrs.put("bytesIn", Long.toString(bytesIn.get()));
    attrs.put("bytesOut", Long.toString(cout.count.get()));
    attrs.put("bytesErr", Long.toString(cerr.count.get()));
    attrs.put("startedAt", started.toString());
    attrs.put("durationMs", Long.toString(Duration.ofNanos(System.nanoTime() - t0).toMillis()));
    attrs.put("recording", file.toString());
    attrs.put("recordingSha256", recording.sha256());
    attrs.put("cut", Boolean.toString(running.wasCut()));
    if (failure != null) {
      attrs.put("failure", failure);
    }
    try {
      audit.write(audit.event(AuditEventType.USE_ALLOWED, "execution", login, rec).action(use.action())
          .outcome(Decision.Outcome.ALLOW).ruleId(d.ruleId().orElse(null)), attrs);
    } catch (RuntimeException e) {
      log.error("could not audit the execution of {} on grant {}: {}", describe(cmd), grant.id(), e.toString());
      writeQuietly(cerr, "kubejit: the execution could not be recorded in the audit log\n");
      return EXIT_UNAVAILABLE;
    }
    return exit;
  }

  private int exec(ApiClient client, String namespace, CommandLine cmd, InputStream in, OutputStream out,
      OutputStream err, AtomicLong bytesIn, Running running) throws Exception {
    Exec exec = new Exec(client);
    // client-java's default prints the stack trace and ends the process with -1975219, which an SSH
    // exit status (8 bits) shows as 77, the refusal code: keep the failure and say what it was.
    AtomicReference<Throwable> streamFailure = new AtomicReference<>();
    exec.setOnUnhandledError(t -> streamFailure.compareAndSet(null, t));
    Process p = exec.exec(namespace, cmd.pod, cmd.argv.toArray(String[]::new),
        cmd.container().orElse(null), cmd.stdin, false);
    running.process = p;
    if (running.wasCut()) {
      p.destroy();
    }
    Thread o = pump(p.getInputStream(), out, null, "stdout");
    Thread e = pump(p.getErrorStream(), err, null, "stderr");
    Thread i = null;
    if (cmd.stdin && in != null) {
      OutputStream pin = p.getOutputStream();
      i = pump(in, pin, bytesIn, "stdin");
    } else {
      p.getOutputStream().close();
    }
    // Bounded waits, so a cut never depends on the websocket noticing the close.
    while (!p.waitFor(200, java.util.concurrent.TimeUnit.MILLISECONDS)) {
      if (running.wasCut()) {
        p.destroy();
        return EXIT_REFUSED;
      }
    }
    int code = p.exitValue();
    o.join(5000);
    e.join(5000);
    if (i != null) {
      i.interrupt();
    }
    Throwable failed = streamFailure.get();
    if (failed != null) {
      throw new StreamFailed(failed);
    }
    return code;
  }

  /**
   * The exec stream could not be opened or broke, e.g. the API server answered the WebSocket
   * upgrade with {@code 403 Forbidden} because the grant's Role lacks {@code get pods/exec}.
   */
  static final class StreamFailed extends IOException {
    private static final long serialVersionUID = 1L;

    StreamFailed(Throwable cause) {
      // the message is okhttp's ("Expected HTTP 101 response but was '403 Forbidden'"): no secret
      super("the exec stream failed: " + cause.getClass().getSimpleName()
          + (cause.getMessage() == null ? "" : " (" + cause.getMessage() + ")"), cause);
    }
  }

  private int logs(ApiClient client, String namespace, CommandLine cmd, OutputStream out, Running running)
      throws Exception {
    Integer tail = cmd.tail().isPresent() ? cmd.tail().getAsInt() : null;
    if (!cmd.follow) {
      // PodLogs always follows; a one-shot read is the plain pods/log GET.
      String text = new io.kubernetes.client.openapi.apis.CoreV1Api(client).readNamespacedPodLog(cmd.pod, namespace)
          .container(cmd.container().orElse(null)).tailLines(tail).execute();
      byte[] bytes = (text == null ? "" : text).getBytes(UTF_8);
      out.write(bytes, 0, bytes.length);
      out.flush();
      return 0;
    }
    InputStream s = new PodLogs(client).streamNamespacedPodLog(namespace, cmd.pod, cmd.container().orElse(null), null,
        tail, false);
    running.stream = s;
    if (running.wasCut()) {
      s.close();
    }
    try (s) {
      copy(s, out, null);
    } catch (IOException e) {
      if (!running.wasCut()) {
        throw e;
      }
    }
    return 0;
  }

  private static Thread pump(InputStream from, OutputStream to, AtomicLong counter, String name) {
    Thread t = new Thread(() -> {
      try {
        copy(from, to, counter);
        if (counter != null) {
          to.close();
        }
      } catch (IOException ignored) {
        // the other side closed; the exit status tells the story
      }
    }, "kubejit-gateway-" + name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  private static void copy(InputStream from, OutputStream to, AtomicLong counter) throws IOException {
    byte[] buf = new byte[8192];
    int r;
    while ((r = from.read(buf)) >= 0) {
      if (r > 0) {
        to.write(buf, 0, r);
        to.flush();
        if (counter != null) {
          counter.addAndGet(r);
        }
      }
    }
  }

  private int refuse(Login login, RequestRecord rec, CommandLine cmd, String rule, String reason, OutputStream err,
      String sshSessionId) {
    try {
      audit.write(audit.refusal("decision", login, rec, rule, reason), Map.of("sshSessionId", sshSessionId,
          "pod", cmd.pod, "command", describe(cmd)));
    } catch (RuntimeException e) {
      log.error("could not audit a refusal: {}", e.toString());
    }
    return refused(err, rule, reason);
  }

  /** Reports a refused command on stderr and counts it. */
  private int refused(OutputStream err, String rule, String reason) {
    counters.commandRefused();
    return report(err, rule, reason);
  }

  static int report(OutputStream err, String rule, String reason) {
    writeQuietly(err, "kubejit: refused by rule " + rule + ": " + reason + "\n");
    return EXIT_REFUSED;
  }

  static void writeQuietly(OutputStream err, String text) {
    try {
      err.write(text.getBytes(UTF_8));
      err.flush();
    } catch (IOException ignored) {
      // nothing more can be said to a closed channel
    }
  }

  static String describe(CommandLine cmd) {
    if (cmd.kind == CommandLine.Kind.EXEC) {
      return "exec " + cmd.pod + " -- " + Use.command(cmd.argv).describe();
    }
    return "logs " + cmd.pod + (cmd.follow ? " --follow" : "");
  }

  /** Counts what passes and copies it into the recording. */
  private static final class Counting extends OutputStream {
    final OutputStream out;
    final Recording recording;
    final AtomicLong count = new AtomicLong();

    Counting(OutputStream out, Recording recording) {
      this.out = out;
      this.recording = recording;
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) throws IOException {
      recording.output(b, off, len);
      count.addAndGet(len);
      out.write(b, off, len);
    }

    @Override
    public void flush() throws IOException {
      out.flush();
    }
  }
}
