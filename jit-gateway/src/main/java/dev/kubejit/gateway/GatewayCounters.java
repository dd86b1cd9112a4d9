package dev.kubejit.gateway;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The gateway's counters since start, written by the login, command, expiry and forwarding paths
 * and read through {@link #snapshot}. Refusal rules are a small fixed set (the gateway's and the
 * broker's rule ids), but the map is capped anyway: past {@link #MAX_RULES} distinct rules, further
 * ones count under {@code other}, so a metrics label can never grow without bound.
 */
final class GatewayCounters {
  static final int MAX_RULES = 64;

  private final LongAdder accepted = new LongAdder();
  private final Map<String, LongAdder> refused = new ConcurrentHashMap<>();
  private final LongAdder commandsAllowed = new LongAdder();
  private final LongAdder commandsRefused = new LongAdder();
  private final LongAdder cutExpired = new LongAdder();
  private final LongAdder cutRevoked = new LongAdder();
  private final LongAdder cutOther = new LongAdder();
  private final LongAdder forwardsOpened = new LongAdder();
  private final LongAdder forwardsRefused = new LongAdder();

  /** How a live session's grant ended when the expiry watch cut it. */
  enum Cut {
    EXPIRED, REVOKED, OTHER
  }

  void connectionAccepted() {
    accepted.increment();
  }

  void connectionRefused(String rule) {
    String key = rule;
    if (!refused.containsKey(key) && refused.size() >= MAX_RULES) {
      key = "other";
    }
    refused.computeIfAbsent(key, k -> new LongAdder()).increment();
  }

  void commandAllowed() {
    commandsAllowed.increment();
  }

  void commandRefused() {
    commandsRefused.increment();
  }

  void sessionCut(Cut why) {
    switch (why) {
      case EXPIRED:
        cutExpired.increment();
        break;
      case REVOKED:
        cutRevoked.increment();
        break;
      default:
        cutOther.increment();
    }
  }

  /** A {@code direct-tcpip} channel became a Kubernetes port-forward. */
  void forwardOpened() {
    forwardsOpened.increment();
  }

  /** A {@code direct-tcpip} (or other forwarding) request was refused. */
  void forwardRefused() {
    forwardsRefused.increment();
  }

  GatewayMetrics snapshot(int liveSessions) {
    Map<String, Long> byRule = new TreeMap<>();
    refused.forEach((rule, n) -> byRule.put(rule, n.sum()));
    return new GatewayMetrics(accepted.sum(), byRule, commandsAllowed.sum(), commandsRefused.sum(), liveSessions,
        cutExpired.sum(), cutRevoked.sum(), cutOther.sum(), forwardsOpened.sum(), forwardsRefused.sum());
  }
}
