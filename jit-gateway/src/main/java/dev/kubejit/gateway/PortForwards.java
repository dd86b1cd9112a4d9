package dev.kubejit.gateway;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.kubejit.api.Action;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.Decision;
import dev.kubejit.api.Grant;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.Use;
import io.kubernetes.client.PortForward;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.Pair;
import io.kubernetes.client.util.WebSocketStreamHandler;
import io.kubernetes.client.util.WebSockets;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.server.session.ServerSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides and opens the Kubernetes port-forwards behind {@code direct-tcpip} channels ({@code ssh
 * -N -L 18080:POD.NAMESPACE:8080 alice@gateway}).
 *
 * <p>Design notes. Before every channel: the session's grant is read again and must be active,
 * held by the login's holder and for this cluster ({@link CertificateLogin.GrantCheck}, as before
 * every command); the host must name a pod of the grant's namespace ({@link ForwardTarget}); then
 * the use {@code portforward} on that pod is decided by {@link JitBroker#authorize}, the same engine
 * and the same audit record as an exec: a grant for another action is refused by the role's action
 * rule ({@code <role>/actions}), a pod outside a pod-pinned grant by {@code broker:pod-scope}. The
 * policy has no notion of ports, so any port of an allowed pod may be forwarded. The forward itself
 * is client-java's port-forward over a WebSocket ({@link PortForward.PortForwardResult}) with the
 * grant's own short-lived client certificate ({@link GrantClients}), one WebSocket per channel, so
 * that the API server authorises {@code create pods/portforward} for the grant's group at every
 * connection and its audit log names the grant's user. The gateway keeps the WebSocket's handler so
 * that it can end the forward: when the channel closes, when the pod's side ends, or when {@link
 * LiveSessions} cuts the session at grant end. Refusals by the gateway's own checks are audited
 * here ({@code gatewayEvent=decision}); refusals by the policy are the broker's records. An open
 * forward is audited when it opens ({@code forward-open}: pod, port, the deciding rule) and when it
 * ends ({@code forward-close}: bytes each way, duration, whether it was cut, the kubelet's error if
 * any). The open fails closed if its audit record cannot be written.
 */
final class PortForwards {
  private static final Logger log = LoggerFactory.getLogger(PortForwards.class);
  /** How long the WebSocket handshake and the kubelet's first frames may take. */
  private static final Duration OPEN_TIMEOUT = Duration.ofSeconds(30);
  private static final int MAX_ERROR_TEXT = 2048;

  private final JitBroker broker;
  private final GrantClients clients;
  private final GatewayAudit audit;
  private final LiveSessions live;
  private final Clock clock;
  private final String cluster;
  private final ExecutorService executor;

  PortForwards(JitBroker broker, GrantClients clients, GatewayAudit audit, LiveSessions live, Clock clock,
      String cluster, ExecutorService executor) {
    this.broker = broker;
    this.clients = clients;
    this.audit = audit;
    this.live = live;
    this.clock = clock;
    this.cluster = cluster;
    this.executor = executor;
  }

  ExecutorService executor() {
    return executor;
  }

  /** Why a forward was not opened; its message is what the client reads in the open failure. */
  static final class Refused extends Exception {
    private static final long serialVersionUID = 1L;
    final String rule;
    final int reasonCode;

    Refused(String rule, String reason, int reasonCode) {
      super("kubejit: refused by rule " + rule + ": " + reason);
      this.rule = rule;
      this.reasonCode = reasonCode;
    }

    /** Kubernetes (or the grant's client certificate) failed: "connect failed". */
    static Refused failed(String what) {
      return new Refused("gateway:kubernetes", what, SshConstants.SSH_OPEN_CONNECT_FAILED);
    }
  }

  /**
   * Decides the forward of {@code host:port} for the session's login and opens it.
   *
   * @throws Refused when a check, the policy, Kubernetes or the audit log refuses it
   */
  Forward open(ServerSession session, String host, long port, String originator) throws Refused {
    Login login = session.getAttribute(Login.KEY);
    String sid = CertificateLogin.sessionId(session);
    Map<String, String> attrs = new LinkedHashMap<>();
    attrs.put("sshSessionId", sid);
    attrs.put("forwardHost", Text.quote(String.valueOf(host)));
    attrs.put("port", Long.toString(port));
    attrs.put("originator", Text.quote(String.valueOf(originator)));
    attrs.put("command", "portforward " + Text.quote(String.valueOf(host)) + ":" + port);
    if (login == null) {
      throw refuse(null, null, "gateway:login", "no certificate login on this session", attrs);
    }
    Optional<RequestRecord> found;
    try {
      found = broker.findByGrant(login.grant);
    } catch (RuntimeException e) {
      log.warn("grant lookup for {} failed; refusing a forward: {}", login.grant, e.toString());
      throw refuse(login, null, "gateway:store", "the grant store failed; refused", attrs);
    }
    if (found.isEmpty() || found.get().grant().isEmpty()) {
      throw refuse(login, null, "broker:unknown-grant", "grant " + login.grant + " is unknown", attrs);
    }
    RequestRecord rec = found.get();
    Grant grant = rec.grant().get();
    Optional<String> problem = CertificateLogin.GrantCheck.problem(rec, grant, login.holder, cluster, clock.instant());
    if (problem.isPresent()) {
      String[] rr = problem.get().split(" ", 2);
      throw refuse(login, rec, rr[0], rr[1], attrs);
    }
    String namespace = grant.scope().namespace().orElseThrow();
    ForwardTarget target;
    try {
      target = ForwardTarget.parse(host, port, namespace);
    } catch (IllegalArgumentException e) {
      throw refuse(login, rec, ForwardTarget.RULE, e.getMessage(), attrs);
    }
    attrs.put("pod", target.pod);
    attrs.put("namespace", namespace);
    Use use = Use.action(Action.PORT_FORWARD).in(target.pod, null);
    Decision d;
    try {
      d = broker.authorize(grant.id(), login.holder, use);
    } catch (RuntimeException e) {
      log.warn("authorize {} on grant {} failed; refusing: {}", use, grant.id(), e.toString());
      throw new Refused("gateway:decision", "the decision could not be made or recorded ("
          + e.getClass().getSimpleName() + "); refused", SshConstants.SSH_OPEN_ADMINISTRATIVELY_PROHIBITED);
    }
    if (!d.isAllowed()) {
      // The broker has audited the refusal with its rule.
      throw new Refused(d.ruleId().orElse("policy:default-deny"), d.reason(),
          SshConstants.SSH_OPEN_ADMINISTRATIVELY_PROHIBITED);
    }
    d.ruleId().ifPresent(r -> attrs.put("rule", r));
    Instant started = clock.instant();
    long t0 = System.nanoTime();
    WebSocketStreamHandler handler = new WebSocketStreamHandler();
    PortForward.PortForwardResult result;
    try {
      ApiClient client = clients.forGrant(grant);
      result = new PortForward.PortForwardResult(handler, List.of(target.port));
      WebSockets.stream("/api/v1/namespaces/" + namespace + "/pods/" + target.pod + "/portforward", "GET",
          List.of(new Pair("ports", Integer.toString(target.port))), client, handler);
      PortForward.PortForwardResult r = result;
      CompletableFuture.runAsync(() -> {
        try {
          r.init();
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }, executor).get(OPEN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      handler.close();
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      String why = failure(e, handler);
      log.warn("port-forward to {}/{}:{} for grant {} failed: {}", namespace, target.pod, target.port, grant.id(), why);
      attrs.put("startedAt", started.toString());
      attrs.put("opened", "false");
      attrs.put("failure", why);
      try {
        audit.write(audit.event(AuditEventType.USE_ALLOWED, "forward-close", login, rec).action(Action.PORT_FORWARD)
            .outcome(Decision.Outcome.ALLOW).ruleId(d.ruleId().orElse(null)), attrs);
      } catch (RuntimeException ae) {
        log.error("could not audit a failed forward on grant {}: {}", grant.id(), ae.toString());
      }
      throw Refused.failed("the port-forward to pod " + target.pod + " port " + target.port + " failed: " + why);
    }
    Forward f;
    try {
      f = new Forward(login, rec, d, sid, namespace, target, attrs, handler, result, started, t0);
    } catch (IOException e) {
      handler.close();
      throw Refused.failed("the port-forward to pod " + target.pod + " port " + target.port
          + " has no stream (" + e.getClass().getSimpleName() + ")");
    }
    try {
      audit.write(audit.event(AuditEventType.USE_ALLOWED, "forward-open", login, rec).action(Action.PORT_FORWARD)
          .outcome(Decision.Outcome.ALLOW).ruleId(d.ruleId().orElse(null)), attrs);
    } catch (RuntimeException e) {
      handler.close();
      log.error("could not audit the forward to {}/{} on grant {}; refused: {}", namespace, target.pod, grant.id(),
          e.toString());
      throw new Refused("gateway:audit", "the forward could not be recorded in the audit log; refused",
          SshConstants.SSH_OPEN_ADMINISTRATIVELY_PROHIBITED);
    }
    live.counters().forwardOpened();
    f.readErrors(executor);
    return f;
  }

  /** The gateway's counters, for the channels that refuse before or without a forward. */
  GatewayCounters counters() {
    return live.counters();
  }

  private static String failure(Exception e, WebSocketStreamHandler handler) {
    Throwable t = handler.getError();
    if (t == null) {
      t = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
    }
    if (e instanceof TimeoutException) {
      return "no answer from the API server within " + OPEN_TIMEOUT.toSeconds() + " s";
    }
    String m = t.getMessage();
    return t.getClass().getSimpleName() + (m == null ? "" : " " + Text.quote(m.length() > 200 ? m.substring(0, 200) : m));
  }

  private Refused refuse(Login login, RequestRecord rec, String rule, String reason, Map<String, String> attrs) {
    try {
      audit.write(audit.refusal("decision", login, rec, rule, reason).action(Action.PORT_FORWARD), attrs);
    } catch (RuntimeException e) {
      log.error("could not audit a refused forward: {}", e.toString());
    }
    return new Refused(rule, reason, SshConstants.SSH_OPEN_ADMINISTRATIVELY_PROHIBITED);
  }

  /** One open forward: the WebSocket to the pod's port and what the audit record needs when it ends. */
  final class Forward {
    final Login login;
    final String sshSessionId;
    final ForwardTarget target;
    final InputStream fromPod;
    final OutputStream toPod;
    final AtomicLong bytesIn = new AtomicLong();
    final AtomicLong bytesOut = new AtomicLong();
    final Runner.Running running = new Runner.Running();
    private final RequestRecord rec;
    private final Decision decision;
    private final String namespace;
    private final Map<String, String> attrs;
    private final WebSocketStreamHandler handler;
    private final InputStream errors;
    private final Instant started;
    private final long t0;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final StringBuilder errorText = new StringBuilder();
    private volatile ServerSession session;

    Forward(Login login, RequestRecord rec, Decision decision, String sshSessionId, String namespace,
        ForwardTarget target, Map<String, String> attrs, WebSocketStreamHandler handler,
        PortForward.PortForwardResult result, Instant started, long t0) throws IOException {
      this.login = login;
      this.rec = rec;
      this.decision = decision;
      this.sshSessionId = sshSessionId;
      this.namespace = namespace;
      this.target = target;
      this.attrs = attrs;
      this.handler = handler;
      this.started = started;
      this.t0 = t0;
      this.fromPod = result.getInputStream(target.port);
      this.toPod = result.getOutboundStream(target.port);
      this.errors = result.getErrorStream(target.port);
      if (fromPod == null || toPod == null || errors == null) {
        throw new IOException("no streams for port " + target.port);
      }
    }

    /** Registers this forward with the session, so that the grant's end cuts it. */
    void register(ServerSession s, java.util.function.Consumer<String> onCut) {
      this.session = s;
      running.onCut(onCut);
      live.register(s, running);
    }

    /** The kubelet reports a failed connection to the pod's port on the error stream (after its 2-byte port). */
    void readErrors(ExecutorService executor) {
      executor.execute(() -> {
        byte[] buf = new byte[512];
        int skip = 2;
        try {
          int r;
          while ((r = errors.read(buf)) >= 0) {
            int from = Math.min(skip, r);
            skip -= from;
            synchronized (errorText) {
              if (errorText.length() < MAX_ERROR_TEXT && r > from) {
                errorText.append(new String(buf, from, r - from, UTF_8));
              }
            }
          }
        } catch (IOException ignored) {
          // the forward ended
        }
      });
    }

    /** Ends the WebSocket and writes the {@code forward-close} record; idempotent. */
    void close() {
      if (!closed.compareAndSet(false, true)) {
        return;
      }
      handler.close();
      ServerSession s = session;
      if (s != null) {
        live.unregister(s, running);
      }
      Map<String, String> a = new LinkedHashMap<>(attrs);
      a.put("opened", "true");
      a.put("bytesIn", Long.toString(bytesIn.get()));
      a.put("bytesOut", Long.toString(bytesOut.get()));
      a.put("startedAt", started.toString());
      a.put("durationMs", Long.toString(Duration.ofNanos(System.nanoTime() - t0).toMillis()));
      a.put("cut", Boolean.toString(running.wasCut()));
      String err;
      synchronized (errorText) {
        err = errorText.toString().strip();
      }
      if (!err.isEmpty()) {
        a.put("failure", Text.quote(err.length() > 300 ? err.substring(0, 300) : err));
      }
      try {
        audit.write(audit.event(AuditEventType.USE_ALLOWED, "forward-close", login, rec).action(Action.PORT_FORWARD)
            .outcome(Decision.Outcome.ALLOW).ruleId(decision.ruleId().orElse(null)), a);
      } catch (RuntimeException e) {
        log.error("could not audit the end of the forward to {}/{} on grant {}: {}", namespace, target.pod,
            login.grant, e.toString());
      }
    }

    @Override
    public String toString() {
      return "Forward{" + namespace + "/" + target + ", grant=" + login.grant + "}";
    }
  }
}
