package dev.kubejit.server;

import dev.kubejit.api.Activation;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.spi.AuditSink;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Locale;

/**
 * The service's Prometheus metrics: {@code kubejit_requests_total{outcome}} (one per decision or
 * transition: approved, pending_approval, denied, active, revoked), {@code
 * kubejit_approval_latency_seconds} (submit to approval by people), {@code kubejit_active_grants},
 * {@code kubejit_audit_write_seconds}, {@code kubejit_credentials_reissued_total} and {@code
 * kubejit_authentication_failures_total}; with the SSH gateway wired, its meters too ({@link GatewayMeters}).
 */
final class ServerMetrics implements ApiMetrics {
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Clock clock;
  private final Timer approvalLatency;
  private final Timer auditWrite;
  private final Counter reissued;
  private final Counter authFailures;
  private volatile GatewayMeters gateway;

  ServerMetrics(Clock clock) {
    this.clock = clock;
    this.approvalLatency = Timer.builder("kubejit.approval.latency")
        .description("Time from a request's submission to its approval by people")
        .publishPercentileHistogram().register(registry);
    this.auditWrite = Timer.builder("kubejit.audit.write").description("Time to write audit events durably")
        .publishPercentileHistogram().register(registry);
    this.reissued = Counter.builder("kubejit.credentials.reissued").description("Credentials reissued for active grants")
        .register(registry);
    this.authFailures = Counter.builder("kubejit.authentication.failures").description("Refused authentications")
        .register(registry);
  }

  void bindActiveGrants(JitBroker broker) {
    Gauge.builder("kubejit.active.grants", broker, b -> {
      java.time.Instant now = clock.instant();
      return b.list(EnumSet.of(RequestState.ACTIVE)).stream()
          .filter(r -> r.grant().map(g -> g.isActiveAt(now)).orElse(false)).count();
    }).description("Grants active now").register(registry);
  }

  /** Adds the gateway's meters ({@link GatewayMeters}) to this service's {@code /metrics}. */
  void bindGateway(dev.kubejit.gateway.SshGateway gw) {
    this.gateway = GatewayMeters.bind(registry, gw::metrics);
  }

  AuditSink timed(AuditSink sink) {
    return events -> {
      long start = System.nanoTime();
      try {
        sink.write(events);
      } finally {
        auditWrite.record(Duration.ofNanos(System.nanoTime() - start));
      }
    };
  }

  private void outcome(RequestState state) {
    Counter.builder("kubejit.requests").description("Request decisions and transitions by outcome")
        .tag("outcome", state.name().toLowerCase(Locale.ROOT)).register(registry).increment();
  }

  @Override
  public void submitted(RequestRecord rec) {
    outcome(rec.state());
  }

  @Override
  public void voted(RequestRecord rec) {
    if (rec.state() != RequestState.PENDING_APPROVAL) {
      outcome(rec.state());
    }
    if (rec.state() == RequestState.APPROVED) {
      approvalLatency.record(Duration.between(rec.createdAt(), clock.instant()));
    }
  }

  @Override
  public void activated(Activation activation) {
    outcome(activation.record().state());
  }

  @Override
  public void ended(RequestRecord rec) {
    outcome(rec.state());
  }

  @Override
  public void reissued(int credentials) {
    reissued.increment(credentials);
  }

  @Override
  public void authenticationFailed() {
    authFailures.increment();
  }

  @Override
  public String scrape() {
    GatewayMeters g = gateway;
    if (g != null) {
      g.refresh();
    }
    return registry.scrape();
  }
}
