package dev.kubejit.gateway;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A read-only snapshot of an {@link SshGateway}'s counters since it started, taken by
 * {@link SshGateway#metrics()}: what a metrics endpoint publishes.
 *
 * <ul>
 *   <li>connections: authenticated SSH sessions ({@link #connectionsAccepted}) and refused
 *       authentication attempts by the rule that refused them ({@link #connectionsRefused}, e.g.
 *       {@code gateway:certificate-required}, {@code broker:grant-state}); a client that offers
 *       several keys counts one refusal per refused key;
 *   <li>commands ({@code exec}, {@code logs}) allowed and refused (by the grant's state, its scope,
 *       the policy, or a failure to decide or record);
 *   <li>live sessions now;
 *   <li>sessions the expiry watch cut because the grant's window ended, because it was revoked,
 *       or for another reason it may no longer be used (unknown, ended in another state);
 *   <li>port-forward ({@code direct-tcpip}) channels opened and refused.
 * </ul>
 *
 * <p>Counters only grow (a restarted gateway starts again at zero), as Prometheus counters do.
 * Immutable and thread-safe.
 */
public final class GatewayMetrics {
  private final long connectionsAccepted;
  private final Map<String, Long> connectionsRefused;
  private final long commandsAllowed;
  private final long commandsRefused;
  private final int liveSessions;
  private final long cutAtExpiry;
  private final long cutAtRevocation;
  private final long cutOther;
  private final long forwardsOpened;
  private final long forwardsRefused;

  GatewayMetrics(long connectionsAccepted, Map<String, Long> connectionsRefused, long commandsAllowed,
      long commandsRefused, int liveSessions, long cutAtExpiry, long cutAtRevocation, long cutOther,
      long forwardsOpened, long forwardsRefused) {
    this.connectionsAccepted = connectionsAccepted;
    this.connectionsRefused = Collections.unmodifiableMap(new LinkedHashMap<>(connectionsRefused));
    this.commandsAllowed = commandsAllowed;
    this.commandsRefused = commandsRefused;
    this.liveSessions = liveSessions;
    this.cutAtExpiry = cutAtExpiry;
    this.cutAtRevocation = cutAtRevocation;
    this.cutOther = cutOther;
    this.forwardsOpened = forwardsOpened;
    this.forwardsRefused = forwardsRefused;
  }

  /** SSH sessions that passed certificate authentication. */
  public long connectionsAccepted() {
    return connectionsAccepted;
  }

  /** Refused authentication attempts by the rule that refused them, in rule order (unmodifiable). */
  public Map<String, Long> connectionsRefused() {
    return connectionsRefused;
  }

  /** Commands the grant's policy allowed and the gateway ran. */
  public long commandsAllowed() {
    return commandsAllowed;
  }

  /** Commands refused before they reached the API server. */
  public long commandsRefused() {
    return commandsRefused;
  }

  /** Authenticated SSH sessions open when the snapshot was taken. */
  public int liveSessions() {
    return liveSessions;
  }

  /** Sessions cut because their grant's window ended. */
  public long sessionsCutAtExpiry() {
    return cutAtExpiry;
  }

  /** Sessions cut because their grant was revoked. */
  public long sessionsCutAtRevocation() {
    return cutAtRevocation;
  }

  /** Sessions cut because their grant could no longer be used for another reason (unknown, ended otherwise). */
  public long sessionsCutOther() {
    return cutOther;
  }

  /** Port-forward ({@code direct-tcpip}) channels opened to pods. */
  public long forwardChannelsOpened() {
    return forwardsOpened;
  }

  /** Port-forward channels refused. */
  public long forwardChannelsRefused() {
    return forwardsRefused;
  }

  @Override
  public String toString() {
    return "GatewayMetrics{accepted=" + connectionsAccepted + ", refused=" + connectionsRefused + ", commandsAllowed="
        + commandsAllowed + ", commandsRefused=" + commandsRefused + ", live=" + liveSessions + ", cut(expiry="
        + cutAtExpiry + ", revocation=" + cutAtRevocation + ", other=" + cutOther + "), forwards(opened="
        + forwardsOpened + ", refused=" + forwardsRefused + ")}";
  }
}
