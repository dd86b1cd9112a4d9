package dev.kubejit.audit;

import static java.util.Objects.requireNonNull;

import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditException;
import dev.kubejit.api.Identity;
import dev.kubejit.api.Scope;
import dev.kubejit.api.spi.AuditSink;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * An {@link AuditSink} that logs each event at INFO as structured key-value pairs (SLF4J 2 fluent
 * API), for shipping to a log pipeline; it is not tamper-evident and not durable on its own.
 *
 * <p>Keys: {@code eventId}, {@code type}, {@code time}, {@code user}, {@code groups}, {@code
 * source}, {@code requestId}, {@code grantId}, {@code cluster}, {@code namespace}, {@code pod},
 * {@code node}, {@code action}, {@code outcome}, {@code reason}, {@code ruleId}, {@code
 * policyDigest}, {@code policyRevision}, {@code justification}, {@code ticket} and {@code
 * attr.<name>} per attribute; absent fields are omitted and control characters in values are
 * escaped so a value cannot forge a log line. If the logger has INFO disabled, or the logging
 * back end throws, {@link #write} throws {@link AuditException} rather than drop the event.
 */
public final class Slf4jAuditSink implements AuditSink {
  /** The logger name used by {@link #create()}. */
  public static final String DEFAULT_LOGGER = "kubejit.audit";

  private final Logger logger;

  private Slf4jAuditSink(Logger logger) {
    this.logger = requireNonNull(logger, "logger");
  }

  /** A sink that logs to the {@value #DEFAULT_LOGGER} logger. */
  public static Slf4jAuditSink create() {
    return new Slf4jAuditSink(LoggerFactory.getLogger(DEFAULT_LOGGER));
  }

  /** A sink that logs to {@code logger}. */
  public static Slf4jAuditSink to(Logger logger) {
    return new Slf4jAuditSink(logger);
  }

  /**
   * Logs each event at INFO.
   *
   * @throws AuditException if INFO is disabled for the logger or logging fails
   */
  @Override
  public void write(List<AuditEvent> events) {
    requireNonNull(events, "events");
    if (!logger.isInfoEnabled()) {
      throw new AuditException("logger " + logger.getName() + " has INFO disabled; audit events would be dropped");
    }
    try {
      for (AuditEvent e : events) {
        LoggingEventBuilder b = logger.atInfo();
        kv(b, "eventId", e.id());
        kv(b, "type", e.type().name());
        kv(b, "time", Text.time(e.time()));
        if (e.actor().isPresent()) {
          Identity a = e.actor().get();
          kv(b, "user", a.user());
          kv(b, "groups", String.join(",", a.groups()));
          kv(b, "source", a.source());
        }
        e.requestId().ifPresent(v -> kv(b, "requestId", v.value()));
        e.grantId().ifPresent(v -> kv(b, "grantId", v.value()));
        if (e.scope().isPresent()) {
          Scope s = e.scope().get();
          kv(b, "cluster", s.cluster());
          s.namespace().ifPresent(v -> kv(b, "namespace", v));
          s.pod().ifPresent(v -> kv(b, "pod", v));
          s.node().ifPresent(v -> kv(b, "node", v));
        }
        e.action().ifPresent(v -> kv(b, "action", v.name()));
        e.outcome().ifPresent(v -> kv(b, "outcome", v.name()));
        e.reason().ifPresent(v -> kv(b, "reason", v));
        e.ruleId().ifPresent(v -> kv(b, "ruleId", v));
        e.policyDigest().ifPresent(v -> kv(b, "policyDigest", v));
        e.policyRevision().ifPresent(v -> kv(b, "policyRevision", v));
        e.justification().ifPresent(v -> kv(b, "justification", v));
        e.ticket().ifPresent(v -> kv(b, "ticket", v));
        for (Map.Entry<String, String> a : e.attributes().entrySet()) {
          kv(b, "attr." + a.getKey(), a.getValue());
        }
        b.setMessage("audit " + e.type().name()).log();
      }
    } catch (RuntimeException ex) {
      throw new AuditException("logging audit events to " + logger.getName() + " failed: " + ex, ex);
    }
  }

  private static void kv(LoggingEventBuilder b, String key, String value) {
    b.addKeyValue(key, escape(value));
  }

  static String escape(String v) {
    StringBuilder sb = null;
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if (c < 0x20 || c == 0x7f || c == 0x2028 || c == 0x2029) {
        if (sb == null) {
          sb = new StringBuilder(v.length() + 8).append(v, 0, i);
        }
        sb.append(String.format("\\u%04x", (int) c));
      } else if (sb != null) {
        sb.append(c);
      }
    }
    return sb == null ? v : sb.toString();
  }

  @Override
  public String toString() {
    return "Slf4jAuditSink{" + logger.getName() + "}";
  }
}
