package dev.kubejit.server;

import dev.kubejit.gateway.GatewayMetrics;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * The SSH gateway's Prometheus metrics, read from {@link GatewayMetrics} snapshots (jit-gateway
 * keeps the counters; the text format lives here, beside {@link ServerMetrics}):
 *
 * <ul>
 *   <li>{@code kubejit_gateway_connections_total{outcome="accepted",rule="none"}} and
 *       {@code {outcome="refused",rule=RULE}}: authenticated sessions, refused authentication attempts
 *       by the rule that refused them;
 *   <li>{@code kubejit_gateway_commands_total{outcome="allowed"|"refused"}};
 *   <li>{@code kubejit_gateway_sessions_live};
 *   <li>{@code kubejit_gateway_sessions_cut_total{reason="expired"|"revoked"|"other"}};
 *   <li>{@code kubejit_gateway_forward_channels_total{outcome="opened"|"refused"}}.
 * </ul>
 *
 * <p>{@link #refresh} takes one snapshot per scrape (every meter reads that one, so a scrape is
 * consistent) and registers a counter for each refusal rule seen so far.
 */
final class GatewayMeters {
  private final MeterRegistry registry;
  private final Supplier<GatewayMetrics> source;
  private final Set<String> rules = ConcurrentHashMap.newKeySet();
  private volatile GatewayMetrics last;

  private GatewayMeters(MeterRegistry registry, Supplier<GatewayMetrics> source) {
    this.registry = registry;
    this.source = source;
    this.last = source.get();
  }

  /** Registers the gateway's meters in {@code registry}; call {@link #refresh} before each scrape. */
  static GatewayMeters bind(MeterRegistry registry, Supplier<GatewayMetrics> source) {
    GatewayMeters m = new GatewayMeters(registry, source);
    m.counter("kubejit.gateway.connections", "Authenticated SSH sessions and refused authentication attempts by rule",
        GatewayMetrics::connectionsAccepted, "outcome", "accepted", "rule", "none");
    m.counter("kubejit.gateway.commands", "Gateway commands allowed and run, or refused before the API server",
        GatewayMetrics::commandsAllowed, "outcome", "allowed");
    m.counter("kubejit.gateway.commands", "Gateway commands allowed and run, or refused before the API server",
        GatewayMetrics::commandsRefused, "outcome", "refused");
    Gauge.builder("kubejit.gateway.sessions.live", m, g -> g.last.liveSessions())
        .description("Authenticated SSH sessions open now").register(registry);
    String cut = "SSH sessions cut because their grant ended";
    m.counter("kubejit.gateway.sessions.cut", cut, GatewayMetrics::sessionsCutAtExpiry, "reason", "expired");
    m.counter("kubejit.gateway.sessions.cut", cut, GatewayMetrics::sessionsCutAtRevocation, "reason", "revoked");
    m.counter("kubejit.gateway.sessions.cut", cut, GatewayMetrics::sessionsCutOther, "reason", "other");
    String fwd = "Port-forward (direct-tcpip) channels opened to pods or refused";
    m.counter("kubejit.gateway.forward.channels", fwd, GatewayMetrics::forwardChannelsOpened, "outcome", "opened");
    m.counter("kubejit.gateway.forward.channels", fwd, GatewayMetrics::forwardChannelsRefused, "outcome", "refused");
    m.refresh();
    return m;
  }

  /** Takes a new snapshot and registers counters for refusal rules not seen before. */
  void refresh() {
    GatewayMetrics now = source.get();
    last = now;
    for (String rule : now.connectionsRefused().keySet()) {
      if (rules.add(rule)) {
        counter("kubejit.gateway.connections", "Authenticated SSH sessions and refused authentication attempts by rule",
            s -> s.connectionsRefused().getOrDefault(rule, 0L), "outcome", "refused", "rule", rule);
      }
    }
  }

  private void counter(String name, String description, ToDoubleFunction<GatewayMetrics> value, String... tags) {
    FunctionCounter.builder(name, this, m -> value.applyAsDouble(m.last)).description(description).tags(tags)
        .register(registry);
  }
}
