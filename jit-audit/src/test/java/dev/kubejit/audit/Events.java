package dev.kubejit.audit;

import dev.kubejit.api.Action;
import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.Decision;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Identity;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.Scope;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Sample events for tests. */
final class Events {
  static final Instant T0 = Instant.parse("2026-01-01T09:00:00.123456789Z");

  private Events() {}

  static AuditEvent full(int i) {
    return AuditEvent.builder(AuditEventType.REQUEST_CREATED, T0.plusSeconds(i))
        .actor(Identity.of("alice", List.of("oncall-payments", "sre")).assertedBy("oidc:https://idp.example"))
        .requestId(RequestId.random()).grantId(GrantId.random())
        .scope(Scope.namespace("prod", "payments").withPod("api-0"))
        .action(Action.LOGS)
        .decision(Decision.builder(Decision.Outcome.ALLOW, "auto-approved for logs").ruleId("logs-auto")
            .policy("ab".repeat(32), "git:0123abc").build())
        .justification("checkout errors \"spiking\" ü").ticket("INC-42")
        .attribute("requester", "alice").attribute("command", "cat\n/etc/passwd").attribute("n", Integer.toString(i))
        .build();
  }

  static AuditEvent minimal(AuditEventType type, Instant t) {
    return AuditEvent.builder(type, t).build();
  }

  static List<AuditEvent> batch(int from, int count) {
    List<AuditEvent> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      out.add(full(from + i));
    }
    return out;
  }
}
