package dev.kubejit.api;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableSortedMap;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One audit record as the broker emits it: what happened, when, who did it, to which request and
 * grant, where, the decision with its rule and policy digest, and the justification.
 *
 * <p>Sinks add sequence numbers and hash chaining; the event itself never carries a private key
 * or a token, only credential references.
 */
public final class AuditEvent {
  private final String id;
  private final Instant time;
  private final AuditEventType type;
  private final Identity actor;
  private final RequestId requestId;
  private final GrantId grantId;
  private final Scope scope;
  private final Action action;
  private final Decision.Outcome outcome;
  private final String reason;
  private final String ruleId;
  private final String policyDigest;
  private final String policyRevision;
  private final String justification;
  private final String ticket;
  private final ImmutableSortedMap<String, String> attributes;

  private AuditEvent(Builder b) {
    this.id = b.id == null ? Ids.random() : Validation.requireName(b.id, "event id");
    this.time = requireNonNull(b.time, "time");
    this.type = requireNonNull(b.type, "type");
    this.actor = b.actor;
    this.requestId = b.requestId;
    this.grantId = b.grantId;
    this.scope = b.scope;
    this.action = b.action;
    this.outcome = b.outcome;
    this.reason = b.reason;
    this.ruleId = b.ruleId;
    this.policyDigest = b.policyDigest;
    this.policyRevision = b.policyRevision;
    this.justification = b.justification;
    this.ticket = b.ticket;
    this.attributes = ImmutableSortedMap.copyOf(b.attributes);
  }

  /** Starts an event of {@code type} at {@code time}. */
  public static Builder builder(AuditEventType type, Instant time) {
    Builder b = new Builder();
    b.type = requireNonNull(type, "type");
    b.time = requireNonNull(time, "time");
    return b;
  }

  /**
   * This event, same id and fields, stamped {@code time} instead: the broker stamps a transition's
   * events when it writes them, which for an activation is after its RBAC and credential work.
   */
  AuditEvent stampedAt(Instant time) {
    Builder b = new Builder();
    b.id = id;
    b.time = requireNonNull(time, "time");
    b.type = type;
    b.actor = actor;
    b.requestId = requestId;
    b.grantId = grantId;
    b.scope = scope;
    b.action = action;
    b.outcome = outcome;
    b.reason = reason;
    b.ruleId = ruleId;
    b.policyDigest = policyDigest;
    b.policyRevision = policyRevision;
    b.justification = justification;
    b.ticket = ticket;
    b.attributes.putAll(attributes);
    return new AuditEvent(b);
  }

  /** A unique id (128 random bits). */
  public String id() {
    return id;
  }

  /** When it happened, as read from the broker's clock. */
  public Instant time() {
    return time;
  }

  /** What happened. */
  public AuditEventType type() {
    return type;
  }

  /** Who did it; empty when the broker acted on its own (expiry). */
  public Optional<Identity> actor() {
    return Optional.ofNullable(actor);
  }

  /** The request concerned. */
  public Optional<RequestId> requestId() {
    return Optional.ofNullable(requestId);
  }

  /** The grant concerned. */
  public Optional<GrantId> grantId() {
    return Optional.ofNullable(grantId);
  }

  /** Where. */
  public Optional<Scope> scope() {
    return Optional.ofNullable(scope);
  }

  /** Which action. */
  public Optional<Action> action() {
    return Optional.ofNullable(action);
  }

  /** The decision's outcome, when the event records one. */
  public Optional<Decision.Outcome> outcome() {
    return Optional.ofNullable(outcome);
  }

  /** The human-readable reason. */
  public Optional<String> reason() {
    return Optional.ofNullable(reason);
  }

  /** The deciding rule. */
  public Optional<String> ruleId() {
    return Optional.ofNullable(ruleId);
  }

  /** The deciding policy's digest. */
  public Optional<String> policyDigest() {
    return Optional.ofNullable(policyDigest);
  }

  /** The deciding policy's source revision. */
  public Optional<String> policyRevision() {
    return Optional.ofNullable(policyRevision);
  }

  /** The request's justification. */
  public Optional<String> justification() {
    return Optional.ofNullable(justification);
  }

  /** The request's ticket. */
  public Optional<String> ticket() {
    return Optional.ofNullable(ticket);
  }

  /** Type-specific details (argv, credential serial, end cause, ...), sorted by key. */
  public ImmutableSortedMap<String, String> attributes() {
    return attributes;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof AuditEvent)) {
      return false;
    }
    AuditEvent e = (AuditEvent) o;
    return id.equals(e.id) && time.equals(e.time) && type == e.type && Objects.equals(actor, e.actor)
        && Objects.equals(requestId, e.requestId) && Objects.equals(grantId, e.grantId)
        && Objects.equals(scope, e.scope) && Objects.equals(action, e.action) && outcome == e.outcome
        && Objects.equals(reason, e.reason) && Objects.equals(ruleId, e.ruleId)
        && Objects.equals(policyDigest, e.policyDigest) && Objects.equals(policyRevision, e.policyRevision)
        && Objects.equals(justification, e.justification) && Objects.equals(ticket, e.ticket)
        && attributes.equals(e.attributes);
  }

  @Override
  public int hashCode() {
    return id.hashCode();
  }

  @Override
  public String toString() {
    return "AuditEvent{" + type + " " + time + (actor == null ? "" : " by " + actor.user())
        + (requestId == null ? "" : " request=" + requestId) + (grantId == null ? "" : " grant=" + grantId)
        + (reason == null ? "" : " reason=" + Validation.quote(reason)) + "}";
  }

  /** Builds an {@link AuditEvent}. */
  public static final class Builder {
    private String id;
    private Instant time;
    private AuditEventType type;
    private Identity actor;
    private RequestId requestId;
    private GrantId grantId;
    private Scope scope;
    private Action action;
    private Decision.Outcome outcome;
    private String reason;
    private String ruleId;
    private String policyDigest;
    private String policyRevision;
    private String justification;
    private String ticket;
    private final java.util.TreeMap<String, String> attributes = new java.util.TreeMap<>();

    private Builder() {}

    /** Sets the id (generated when not set; set it when re-reading stored events). */
    public Builder id(String id) {
      this.id = id;
      return this;
    }

    /** Sets the actor. */
    public Builder actor(Identity actor) {
      this.actor = actor;
      return this;
    }

    /** Sets the request id. */
    public Builder requestId(RequestId requestId) {
      this.requestId = requestId;
      return this;
    }

    /** Sets the grant id. */
    public Builder grantId(GrantId grantId) {
      this.grantId = grantId;
      return this;
    }

    /** Sets the scope. */
    public Builder scope(Scope scope) {
      this.scope = scope;
      return this;
    }

    /** Sets the action. */
    public Builder action(Action action) {
      this.action = action;
      return this;
    }

    /** Copies outcome, reason, rule and policy from a decision. */
    public Builder decision(Decision decision) {
      this.outcome = decision.outcome();
      this.reason = decision.reason();
      this.ruleId = decision.ruleId().orElse(null);
      this.policyDigest = decision.policyDigest().orElse(null);
      this.policyRevision = decision.policyRevision().orElse(null);
      return this;
    }

    /** Sets the outcome. */
    public Builder outcome(Decision.Outcome outcome) {
      this.outcome = outcome;
      return this;
    }

    /** Sets the reason. */
    public Builder reason(String reason) {
      this.reason = reason;
      return this;
    }

    /** Sets the rule id. */
    public Builder ruleId(String ruleId) {
      this.ruleId = ruleId;
      return this;
    }

    /** Sets the policy digest and revision. */
    public Builder policy(String digest, String revision) {
      this.policyDigest = digest;
      this.policyRevision = revision;
      return this;
    }

    /** Copies requester-facing fields (justification, ticket, scope, action) from a request. */
    public Builder request(AccessRequest request) {
      this.justification = request.justification().orElse(null);
      this.ticket = request.ticket().orElse(null);
      this.scope = request.scope();
      this.action = request.action();
      return this;
    }

    /** Sets the justification. */
    public Builder justification(String justification) {
      this.justification = justification;
      return this;
    }

    /** Sets the ticket. */
    public Builder ticket(String ticket) {
      this.ticket = ticket;
      return this;
    }

    /** Adds a type-specific attribute. */
    public Builder attribute(String key, String value) {
      attributes.put(Validation.requireName(key, "attribute key"), requireNonNull(value, "attribute " + key));
      return this;
    }

    /** Adds attributes. */
    public Builder attributes(Map<String, String> values) {
      values.forEach(this::attribute);
      return this;
    }

    /** Returns the event. */
    public AuditEvent build() {
      return new AuditEvent(this);
    }
  }
}
