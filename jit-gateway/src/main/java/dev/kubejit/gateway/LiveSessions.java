package dev.kubejit.gateway;

import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.Grant;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestRecord;
import java.time.Clock;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.sshd.server.session.ServerSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The authenticated sessions and the commands and port-forwards running in them. {@link #sweep}
 * (run by the gateway every check interval) asks the broker about each session's grant and, when it
 * has expired or been revoked, cuts every running command (exec, log follow) with a message on
 * stderr, ends every open forward (its WebSocket and its channel) and closes the session. The longest time from grant end to cut is one check
 * interval plus the time to close the Kubernetes streams. The grant's Kubernetes client ({@link GrantClients}) is
 * dropped at the same moment, and clients whose certificate has ended are dropped at every sweep, so no client
 * of an ended grant stays in memory.
 */
final class LiveSessions {
  private static final Logger log = LoggerFactory.getLogger(LiveSessions.class);

  private final JitBroker broker;
  private final GatewayAudit audit;
  private final Clock clock;
  private final String cluster;
  private final GatewayCounters counters;
  private final GrantClients clients;
  private final Map<ServerSession, Set<Runner.Running>> sessions = new ConcurrentHashMap<>();
  private final Set<ServerSession> cut = ConcurrentHashMap.newKeySet();

  LiveSessions(JitBroker broker, GatewayAudit audit, Clock clock, String cluster, GatewayCounters counters,
      GrantClients clients) {
    this.counters = counters;
    this.clients = clients;
    this.broker = broker;
    this.audit = audit;
    this.clock = clock;
    this.cluster = cluster;
  }

  void opened(ServerSession s) {
    sessions.putIfAbsent(s, ConcurrentHashMap.newKeySet());
  }

  void closed(ServerSession s) {
    sessions.remove(s);
    cut.remove(s);
  }

  void register(ServerSession s, Runner.Running r) {
    sessions.computeIfAbsent(s, k -> ConcurrentHashMap.newKeySet()).add(r);
    if (cut.contains(s)) {
      r.cut("the session was closed");
    }
  }

  void unregister(ServerSession s, Runner.Running r) {
    Set<Runner.Running> set = sessions.get(s);
    if (set != null) {
      set.remove(r);
    }
  }

  boolean isCut(ServerSession s) {
    return cut.contains(s);
  }

  /** The gateway's counters (login, command, cut and forward paths count into them). */
  GatewayCounters counters() {
    return counters;
  }

  int size() {
    return sessions.size();
  }

  /** Why a grant may no longer be used, for the metrics: its window ended, it was revoked, or something else. */
  static GatewayCounters.Cut cause(RequestRecord rec, String problem) {
    if (rec != null && rec.state() == dev.kubejit.api.RequestState.REVOKED) {
      return GatewayCounters.Cut.REVOKED;
    }
    if (problem.startsWith("broker:grant-expiry ")
        || (rec != null && rec.state() == dev.kubejit.api.RequestState.EXPIRED)) {
      return GatewayCounters.Cut.EXPIRED;
    }
    return GatewayCounters.Cut.OTHER;
  }

  void sweep() {
    clients.forgetEnded(clock.instant());
    for (Map.Entry<ServerSession, Set<Runner.Running>> e : sessions.entrySet()) {
      ServerSession s = e.getKey();
      Login login = s.getAttribute(Login.KEY);
      if (login == null || cut.contains(s)) {
        continue;
      }
      Optional<String> problem;
      RequestRecord rec = null;
      try {
        Optional<RequestRecord> found = broker.findByGrant(login.grant);
        if (found.isEmpty() || found.get().grant().isEmpty()) {
          problem = Optional.of("broker:unknown-grant grant " + login.grant + " is unknown");
        } else {
          rec = found.get();
          Grant g = rec.grant().get();
          problem = CertificateLogin.GrantCheck.problem(rec, g, login.holder, cluster, clock.instant());
        }
      } catch (RuntimeException ex) {
        log.warn("grant lookup for {} failed during the sweep; the session stays until the next: {}", login.grant,
            ex.toString());
        continue;
      }
      if (problem.isEmpty()) {
        continue;
      }
      cut.add(s);
      clients.forget(login.grant);
      counters.sessionCut(cause(rec, problem.get()));
      String[] rr = problem.get().split(" ", 2);
      String message = "session closed: " + rr[1] + " (rule " + rr[0] + ")";
      int commands = e.getValue().size();
      for (Runner.Running r : e.getValue()) {
        r.cut(message);
      }
      try {
        audit.write(audit.event(AuditEventType.USE_DENIED, "session-cut", login, rec)
            .outcome(dev.kubejit.api.Decision.Outcome.DENY).ruleId(rr[0]).reason(rr[1]),
            Map.of("sshSessionId", CertificateLogin.sessionId(s), "runningCommands", Integer.toString(commands)));
      } catch (RuntimeException ex) {
        log.error("could not audit the cut of session {}: {}", CertificateLogin.sessionId(s), ex.toString());
      }
      log.info("cut SSH session of {} on grant {}: {}", login.principal, login.grant, rr[1]);
      // Give the channels a moment to carry the message and exit status, then close for good.
      Thread closer = new Thread(() -> {
        try {
          Thread.sleep(200);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
        }
        s.close(true);
      }, "kubejit-gateway-cut");
      closer.setDaemon(true);
      closer.start();
    }
  }
}
