package dev.kubejit.api;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A snapshot of one request's lifecycle: the request, the policy's decision, the approvals so far,
 * the state, the grant once activated, and how it ended.
 *
 * <p>Snapshots are immutable; each transition stores a new one with {@link #version()} one higher,
 * which stores use for compare-and-set. The public builder exists so that persistent stores can
 * rebuild snapshots; only {@link JitBroker} decides transitions.
 */
public final class RequestRecord {
  private final RequestId id;
  private final AccessRequest request;
  private final Decision decision;
  private final RequestState state;
  private final Instant createdAt;
  private final Instant expiresAt;
  private final ImmutableList<Approval> approvals;
  private final Grant grant;
  private final EndCause endCause;
  private final Instant endedAt;
  private final Identity endedBy;
  private final String endReason;
  private final boolean reviewRequired;
  private final long version;

  private RequestRecord(Builder b) {
    this.id = requireNonNull(b.id, "id");
    this.request = requireNonNull(b.request, "request");
    this.decision = requireNonNull(b.decision, "decision");
    this.state = requireNonNull(b.state, "state");
    this.createdAt = requireNonNull(b.createdAt, "createdAt");
    this.expiresAt = requireNonNull(b.expiresAt, "expiresAt");
    this.approvals = ImmutableList.copyOf(b.approvals);
    this.grant = b.grant;
    this.endCause = b.endCause;
    this.endedAt = b.endedAt;
    this.endedBy = b.endedBy;
    this.endReason = b.endReason;
    this.reviewRequired = b.reviewRequired;
    this.version = b.version;
    if ((state == RequestState.ACTIVE || state == RequestState.REVOKING) && grant == null) {
      throw new IllegalArgumentException("an " + state + " record must carry its grant");
    }
    boolean ending = state.isTerminal() || state == RequestState.REVOKING;
    if (ending != (endCause != null)) {
      throw new IllegalArgumentException("end cause must be set exactly for terminal and REVOKING states, state="
          + state);
    }
    if (state == RequestState.REVOKING && (endCause != EndCause.REVOKED || endedAt == null)) {
      throw new IllegalArgumentException("a REVOKING record must carry end cause REVOKED and the time of the "
          + "revocation");
    }
  }

  /** Returns a new builder. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder initialised from this record. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.id = id;
    b.request = request;
    b.decision = decision;
    b.state = state;
    b.createdAt = createdAt;
    b.expiresAt = expiresAt;
    b.approvals = approvals;
    b.grant = grant;
    b.endCause = endCause;
    b.endedAt = endedAt;
    b.endedBy = endedBy;
    b.endReason = endReason;
    b.reviewRequired = reviewRequired;
    b.version = version;
    return b;
  }

  /** The request's id. */
  public RequestId id() {
    return id;
  }

  /** What was asked. */
  public AccessRequest request() {
    return request;
  }

  /** The policy's decision when the request was made. */
  public Decision decision() {
    return decision;
  }

  /** The current state. */
  public RequestState state() {
    return state;
  }

  /** When the request was made. */
  public Instant createdAt() {
    return createdAt;
  }

  /** The instant from which the request can no longer be approved or activated. */
  public Instant expiresAt() {
    return expiresAt;
  }

  /**
   * When the current window ends, for an open record: the grant's expiry once {@link
   * RequestState#ACTIVE}, the request's {@link #expiresAt()} while pending or approved, the time of
   * the revocation while {@link RequestState#REVOKING} (so it is always due and the sweep retries
   * the removal); empty once terminal. Stores index it so the broker's expiry sweep reads only what
   * is due.
   */
  public Optional<Instant> windowEnd() {
    if (state.isTerminal()) {
      return Optional.empty();
    }
    if (state == RequestState.REVOKING) {
      return Optional.of(endedAt);
    }
    return Optional.of(state == RequestState.ACTIVE ? grant.expiresAt() : expiresAt);
  }

  /** Approvals and denials so far, in order. */
  public ImmutableList<Approval> approvals() {
    return approvals;
  }

  /** The number of distinct approvers who approved. */
  public long approvalCount() {
    return approvals.stream().filter(Approval::approved).map(a -> a.approver().user()).distinct().count();
  }

  /** The grant, once activated. */
  public Optional<Grant> grant() {
    return Optional.ofNullable(grant);
  }

  /** Why it ended, for terminal states and {@link RequestState#REVOKING} (then {@link EndCause#REVOKED}). */
  public Optional<EndCause> endCause() {
    return Optional.ofNullable(endCause);
  }

  /** When it ended; for a revocation, when it was revoked (not when its RBAC was finally removed). */
  public Optional<Instant> endedAt() {
    return Optional.ofNullable(endedAt);
  }

  /** Who ended it, when a person did. */
  public Optional<Identity> endedBy() {
    return Optional.ofNullable(endedBy);
  }

  /** The reason given when it ended. */
  public Optional<String> endReason() {
    return Optional.ofNullable(endReason);
  }

  /** Whether a post-incident review is required (break-glass). */
  public boolean reviewRequired() {
    return reviewRequired;
  }

  /** Incremented by each transition. */
  public long version() {
    return version;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof RequestRecord)) {
      return false;
    }
    RequestRecord r = (RequestRecord) o;
    return id.equals(r.id) && version == r.version && state == r.state && request.equals(r.request)
        && decision.equals(r.decision) && createdAt.equals(r.createdAt) && expiresAt.equals(r.expiresAt)
        && approvals.equals(r.approvals) && Objects.equals(grant, r.grant) && endCause == r.endCause
        && Objects.equals(endedAt, r.endedAt) && Objects.equals(endedBy, r.endedBy)
        && Objects.equals(endReason, r.endReason) && reviewRequired == r.reviewRequired;
  }

  @Override
  public int hashCode() {
    return Objects.hash(id, version);
  }

  @Override
  public String toString() {
    return "RequestRecord{" + id + " v" + version + " " + state + " " + request + "}";
  }

  /** Builds a {@link RequestRecord}. */
  public static final class Builder {
    private RequestId id;
    private AccessRequest request;
    private Decision decision;
    private RequestState state;
    private Instant createdAt;
    private Instant expiresAt;
    private List<Approval> approvals = ImmutableList.of();
    private Grant grant;
    private EndCause endCause;
    private Instant endedAt;
    private Identity endedBy;
    private String endReason;
    private boolean reviewRequired;
    private long version;

    private Builder() {}

    /** Sets the id. */
    public Builder id(RequestId id) {
      this.id = id;
      return this;
    }

    /** Sets the request. */
    public Builder request(AccessRequest request) {
      this.request = request;
      return this;
    }

    /** Sets the decision. */
    public Builder decision(Decision decision) {
      this.decision = decision;
      return this;
    }

    /** Sets the state. */
    public Builder state(RequestState state) {
      this.state = state;
      return this;
    }

    /** Sets creation time and the request's own expiry. */
    public Builder window(Instant createdAt, Instant expiresAt) {
      this.createdAt = createdAt;
      this.expiresAt = expiresAt;
      return this;
    }

    /** Sets the approvals. */
    public Builder approvals(List<Approval> approvals) {
      this.approvals = ImmutableList.copyOf(approvals);
      return this;
    }

    /** Sets the grant. */
    public Builder grant(Grant grant) {
      this.grant = grant;
      return this;
    }

    /** Records how it ended. */
    public Builder ended(EndCause cause, Instant at, Identity by, String reason) {
      this.endCause = cause;
      this.endedAt = at;
      this.endedBy = by;
      this.endReason = reason;
      return this;
    }

    /** Marks a post-incident review as required. */
    public Builder reviewRequired(boolean required) {
      this.reviewRequired = required;
      return this;
    }

    /** Sets the version. */
    public Builder version(long version) {
      this.version = version;
      return this;
    }

    /** Returns the record. */
    public RequestRecord build() {
      return new RequestRecord(this);
    }
  }
}
