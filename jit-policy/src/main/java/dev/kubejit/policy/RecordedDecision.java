package dev.kubejit.policy;

import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.Decision;
import dev.kubejit.api.Identity;
import dev.kubejit.api.Scope;
import dev.kubejit.api.Use;
import java.time.Duration;

/**
 * A request or command decision read back from an audit event, ready to be decided again: the
 * request as the broker recorded it ({@code REQUEST_CREATED}: requester, role attribute, action,
 * scope, {@code requestedDuration}, {@code strictDuration}, ticket, justification) or the command
 * ({@code COMMAND_ALLOWED}/{@code COMMAND_DENIED}: holder, role, {@code command} attribute).
 * Decisions the broker or an access hook made (rule ids {@code broker:...}, {@code hook:...}) are not the policy's and are
 * skipped.
 */
final class RecordedDecision {
  private final Decision.Outcome recorded;
  private final String role;
  private final AccessRequest request;
  private final Identity holder;
  private final String command;
  private final String shown;

  private RecordedDecision(Decision.Outcome recorded, String role, AccessRequest request, Identity holder,
      String command, String shown) {
    this.recorded = recorded;
    this.role = role;
    this.request = request;
    this.holder = holder;
    this.command = command;
    this.shown = shown;
  }

  private static final RecordedDecision SKIP = new RecordedDecision(null, null, null, null, null, null);

  /** The decision recorded by {@code e}, {@link #skip()} if it cannot be replayed, or null for other events. */
  static RecordedDecision of(AuditEvent e) {
    AuditEventType type = e.type();
    boolean isRequest = type == AuditEventType.REQUEST_CREATED;
    boolean isCommand = type == AuditEventType.COMMAND_ALLOWED || type == AuditEventType.COMMAND_DENIED;
    if (!isRequest && !isCommand) {
      return null;
    }
    String role = e.attributes().get("role");
    if (role == null || e.actor().isEmpty() || e.outcome().isEmpty()
        || e.ruleId().map(r -> r.startsWith("broker:") || r.startsWith("hook:")).orElse(false)) {
      return SKIP;
    }
    Identity actor = e.actor().get();
    try {
      if (isCommand) {
        String command = e.attributes().get("command");
        if (command == null) {
          return SKIP;
        }
        return new RecordedDecision(e.outcome().get(), role, null, actor, command, command);
      }
      if (e.action().isEmpty() || e.scope().isEmpty()) {
        return SKIP;
      }
      Scope scope = e.scope().get();
      AccessRequest.Builder b = AccessRequest.builder().requester(actor).role(role).action(e.action().get())
          .scope(scope).strictDuration("true".equals(e.attributes().get("strictDuration"))
              || e.ruleId().map(r -> r.equals(role + "/maxDuration")).orElse(false));
      String d = e.attributes().get("requestedDuration");
      if (d != null) {
        b.duration(Duration.parse(d));
      }
      e.ticket().ifPresent(b::ticket);
      e.justification().ifPresent(b::justification);
      String shown = role + "/" + e.action().get() + " in " + scope.cluster() + "/"
          + scope.namespace().orElse("(cluster)");
      return new RecordedDecision(e.outcome().get(), role, b.build(), null, null, shown);
    } catch (RuntimeException bad) {
      return SKIP;
    }
  }

  boolean skip() {
    return recorded == null;
  }

  boolean isCommand() {
    return command != null;
  }

  Decision.Outcome recorded() {
    return recorded;
  }

  String role() {
    return role;
  }

  /** What is counted among the most frequent: the command line, or role/action in cluster/namespace. */
  String shown() {
    return shown;
  }

  Decision decideUnder(PolicyEngine engine) {
    if (command != null) {
      return engine.checkCommand(role, holder, Use.commandLine(command));
    }
    return engine.decide(request);
  }
}
