package dev.kubejit.gateway;

import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.Decision;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.spi.AuditSink;
import java.time.Clock;
import java.util.List;
import java.util.Map;

/**
 * The gateway's own audit records, beside the broker's decisions: connections (certificate serial
 * and key id, source address, SSH session id), the gateway's own refusals, and executions (exit
 * status, bytes in and out, duration, recording and its SHA-256). Each carries {@code
 * enforcedBy=ssh-gateway} and {@code gatewayEvent} ({@code connect}, {@code decision}, {@code
 * execution}, {@code session-cut}, {@code forward-open}, {@code forward-close}). {@link #write} throws if the sink fails: callers refuse.
 */
final class GatewayAudit {
  private final AuditSink sink;
  private final Clock clock;

  GatewayAudit(AuditSink sink, Clock clock) {
    this.sink = sink;
    this.clock = clock;
  }

  AuditEvent.Builder event(AuditEventType type, String gatewayEvent, Login login, RequestRecord rec) {
    AuditEvent.Builder b = AuditEvent.builder(type, clock.instant())
        .attribute("enforcedBy", "ssh-gateway")
        .attribute("gatewayEvent", gatewayEvent);
    if (login != null) {
      b.actor(login.holder).grantId(login.grant).requestId(login.request)
          .attribute("certificateSerial", login.serialHex)
          .attribute("certificateKeyId", login.keyId)
          .attribute("sourceAddress", login.source);
    }
    if (rec != null) {
      b.requestId(rec.id()).request(rec.request()).attribute("role", rec.request().role());
    }
    return b;
  }

  AuditEvent.Builder refusal(String gatewayEvent, Login login, RequestRecord rec, String rule, String reason) {
    return event(AuditEventType.USE_DENIED, gatewayEvent, login, rec)
        .outcome(Decision.Outcome.DENY).ruleId(rule).reason(reason);
  }

  void write(AuditEvent.Builder b, Map<String, String> attributes) {
    sink.write(List.of(b.attributes(attributes).build()));
  }
}
