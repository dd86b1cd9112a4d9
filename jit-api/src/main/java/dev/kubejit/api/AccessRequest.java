package dev.kubejit.api;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * What a person asks for: a policy role, one action, a scope, a duration, and why.
 *
 * <p>Build with {@link #builder()}; {@code requester}, {@code role}, {@code action} and {@code
 * scope} are required. Without a duration the policy's default applies.
 */
public final class AccessRequest {
  private final Identity requester;
  private final String role;
  private final Action action;
  private final Scope scope;
  private final Duration duration;
  private final String justification;
  private final String ticket;
  private final boolean strictDuration;

  private AccessRequest(Builder b) {
    this.requester = requireNonNull(b.requester, "requester is required");
    this.role = Validation.requireName(b.role, "role");
    this.action = requireNonNull(b.action, "action is required");
    this.scope = requireNonNull(b.scope, "scope is required");
    this.duration = b.duration == null ? null : Lifetimes.requireWithinCap(b.duration, "duration");
    this.justification =
        b.justification == null ? null : Validation.requireText(b.justification, "justification", 2048);
    this.ticket = b.ticket == null ? null : Validation.requireName(b.ticket, "ticket");
    this.strictDuration = b.strictDuration;
  }

  /** Returns a new builder. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder initialised from this request. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.requester = requester;
    b.role = role;
    b.action = action;
    b.scope = scope;
    b.duration = duration;
    b.justification = justification;
    b.ticket = ticket;
    b.strictDuration = strictDuration;
    return b;
  }

  /** Who asks. */
  public Identity requester() {
    return requester;
  }

  /** The policy role asked for. */
  public String role() {
    return role;
  }

  /** The action asked for. */
  public Action action() {
    return action;
  }

  /** Where access is asked for. */
  public Scope scope() {
    return scope;
  }

  /** The requested duration, or empty for the policy's default. */
  public Optional<Duration> duration() {
    return Optional.ofNullable(duration);
  }

  /** Free-text justification. */
  public Optional<String> justification() {
    return Optional.ofNullable(justification);
  }

  /** The linked ticket (for example {@code INC-42}). */
  public Optional<String> ticket() {
    return Optional.ofNullable(ticket);
  }

  /** Whether a duration above the policy's ceiling is refused rather than clamped. */
  public boolean strictDuration() {
    return strictDuration;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof AccessRequest)) {
      return false;
    }
    AccessRequest r = (AccessRequest) o;
    return requester.equals(r.requester)
        && role.equals(r.role)
        && action.equals(r.action)
        && scope.equals(r.scope)
        && Objects.equals(duration, r.duration)
        && Objects.equals(justification, r.justification)
        && Objects.equals(ticket, r.ticket)
        && strictDuration == r.strictDuration;
  }

  @Override
  public int hashCode() {
    return Objects.hash(requester, role, action, scope, duration, justification, ticket, strictDuration);
  }

  @Override
  public String toString() {
    return "AccessRequest{" + requester.user() + " " + role + " " + action + " " + scope
        + (duration == null ? "" : " " + duration)
        + (ticket == null ? "" : " ticket=" + ticket) + "}";
  }

  /** Builds an {@link AccessRequest}; each setter may be called once. */
  public static final class Builder {
    private Identity requester;
    private String role;
    private Action action;
    private Scope scope;
    private Duration duration;
    private String justification;
    private String ticket;
    private boolean strictDuration;

    private Builder() {}

    /** Sets who asks. */
    public Builder requester(Identity requester) {
      this.requester = requireNonNull(requester, "requester");
      return this;
    }

    /** Sets the policy role. */
    public Builder role(String role) {
      this.role = requireNonNull(role, "role");
      return this;
    }

    /** Sets the action. */
    public Builder action(Action action) {
      this.action = requireNonNull(action, "action");
      return this;
    }

    /** Sets the scope. */
    public Builder scope(Scope scope) {
      this.scope = requireNonNull(scope, "scope");
      return this;
    }

    /** Sets the requested duration (must be positive). */
    public Builder duration(Duration duration) {
      this.duration = Lifetimes.requireWithinCap(duration, "duration");
      return this;
    }

    /** Sets the justification text. */
    public Builder justification(String justification) {
      this.justification = requireNonNull(justification, "justification");
      return this;
    }

    /** Sets the linked ticket. */
    public Builder ticket(String ticket) {
      this.ticket = requireNonNull(ticket, "ticket");
      return this;
    }

    /** Asks the policy to refuse, rather than clamp, a duration above its ceiling. */
    public Builder strictDuration(boolean strict) {
      this.strictDuration = strict;
      return this;
    }

    /**
     * Returns the request.
     *
     * @throws IllegalArgumentException if a field is invalid
     * @throws NullPointerException if a required field is missing
     */
    public AccessRequest build() {
      return new AccessRequest(this);
    }
  }
}
