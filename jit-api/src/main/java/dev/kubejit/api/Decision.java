package dev.kubejit.api;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * A policy's answer to a request or a use: allow, deny or needs approval, with a reason a human
 * can read, the rule that decided, and the digest of the policy version that decided.
 *
 * <p>For a request that is allowed or needs approval, the decision also carries the duration the
 * grant will get and whether it was clamped from what was asked, so a clamp is never silent.
 */
public final class Decision {
  /** The three possible answers. */
  public enum Outcome {
    /** Access is allowed without further approval. */
    ALLOW,
    /** Access is refused. */
    DENY,
    /** Access needs approval as described by {@link Decision#approval()}. */
    NEEDS_APPROVAL
  }

  private final Outcome outcome;
  private final String reason;
  private final String ruleId;
  private final String policyDigest;
  private final String policyRevision;
  private final Duration grantedDuration;
  private final boolean durationClamped;
  private final ApprovalRequirement approval;
  private final boolean breakGlass;
  private final String rbacTemplate;

  private Decision(Builder b) {
    this.outcome = requireNonNull(b.outcome, "outcome");
    this.reason = Validation.requireText(b.reason, "reason", 4096);
    this.ruleId = b.ruleId;
    this.policyDigest = b.policyDigest;
    this.policyRevision = b.policyRevision;
    this.grantedDuration = b.grantedDuration;
    this.durationClamped = b.durationClamped;
    this.approval = b.approval;
    this.breakGlass = b.breakGlass;
    this.rbacTemplate = b.rbacTemplate;
    if (outcome == Outcome.NEEDS_APPROVAL && approval == null) {
      throw new IllegalArgumentException("a NEEDS_APPROVAL decision must say who approves");
    }
    if (outcome != Outcome.NEEDS_APPROVAL && approval != null) {
      throw new IllegalArgumentException("only a NEEDS_APPROVAL decision carries an approval requirement");
    }
    if (outcome == Outcome.DENY && (grantedDuration != null || breakGlass)) {
      throw new IllegalArgumentException("a DENY decision grants no duration and no break-glass");
    }
    if (durationClamped && grantedDuration == null) {
      throw new IllegalArgumentException("a clamped decision must carry the granted duration");
    }
  }

  /** Starts a decision with the given outcome and human-readable reason. */
  public static Builder builder(Outcome outcome, String reason) {
    Builder b = new Builder();
    b.outcome = requireNonNull(outcome, "outcome");
    b.reason = reason;
    return b;
  }

  /** A denial with a reason and the rule that decided (may be null for default deny). */
  public static Decision deny(String reason, String ruleId) {
    return builder(Outcome.DENY, reason).ruleId(ruleId).build();
  }

  /** A builder initialised from this decision. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.outcome = outcome;
    b.reason = reason;
    b.ruleId = ruleId;
    b.policyDigest = policyDigest;
    b.policyRevision = policyRevision;
    b.grantedDuration = grantedDuration;
    b.durationClamped = durationClamped;
    b.approval = approval;
    b.breakGlass = breakGlass;
    b.rbacTemplate = rbacTemplate;
    return b;
  }

  /** Allow, deny or needs approval. */
  public Outcome outcome() {
    return outcome;
  }

  /** Whether the outcome is {@link Outcome#ALLOW}. */
  public boolean isAllowed() {
    return outcome == Outcome.ALLOW;
  }

  /** Why, in words a reviewer can read. */
  public String reason() {
    return reason;
  }

  /** The id of the policy rule that decided; empty for a default deny. */
  public Optional<String> ruleId() {
    return Optional.ofNullable(ruleId);
  }

  /** SHA-256 of the policy's canonical form, hex. */
  public Optional<String> policyDigest() {
    return Optional.ofNullable(policyDigest);
  }

  /** The policy's source revision (for example a git commit), when the loader was told it. */
  public Optional<String> policyRevision() {
    return Optional.ofNullable(policyRevision);
  }

  /** The duration a grant gets (after any clamp). */
  public Optional<Duration> grantedDuration() {
    return Optional.ofNullable(grantedDuration);
  }

  /** Whether the requested duration was cut down to the policy's ceiling. */
  public boolean durationClamped() {
    return durationClamped;
  }

  /** Who must approve, for {@link Outcome#NEEDS_APPROVAL}. */
  public Optional<ApprovalRequirement> approval() {
    return Optional.ofNullable(approval);
  }

  /** Whether this is a break-glass grant: alerted at once and reviewed after the incident. */
  public boolean breakGlass() {
    return breakGlass;
  }

  /** The RBAC template the provisioner should apply (for example {@code oncall-debug}). */
  public Optional<String> rbacTemplate() {
    return Optional.ofNullable(rbacTemplate);
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Decision)) {
      return false;
    }
    Decision d = (Decision) o;
    return outcome == d.outcome && reason.equals(d.reason) && Objects.equals(ruleId, d.ruleId)
        && Objects.equals(policyDigest, d.policyDigest) && Objects.equals(policyRevision, d.policyRevision)
        && Objects.equals(grantedDuration, d.grantedDuration) && durationClamped == d.durationClamped
        && Objects.equals(approval, d.approval) && breakGlass == d.breakGlass
        && Objects.equals(rbacTemplate, d.rbacTemplate);
  }

  @Override
  public int hashCode() {
    return Objects.hash(outcome, reason, ruleId, policyDigest, grantedDuration, approval, breakGlass);
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder(outcome.name());
    if (ruleId != null) {
      sb.append(" [").append(ruleId).append(']');
    }
    sb.append(": ").append(reason);
    if (grantedDuration != null) {
      sb.append(" (").append(grantedDuration).append(durationClamped ? ", clamped" : "").append(')');
    }
    if (approval != null) {
      sb.append(" needs ").append(approval);
    }
    if (breakGlass) {
      sb.append(" BREAK-GLASS");
    }
    return sb.toString();
  }

  /** Builds a {@link Decision}. */
  public static final class Builder {
    private Outcome outcome;
    private String reason;
    private String ruleId;
    private String policyDigest;
    private String policyRevision;
    private Duration grantedDuration;
    private boolean durationClamped;
    private ApprovalRequirement approval;
    private boolean breakGlass;
    private String rbacTemplate;

    private Builder() {}

    /** Sets the deciding rule's id. */
    public Builder ruleId(String ruleId) {
      this.ruleId = ruleId == null ? null : Validation.requireName(ruleId, "rule id");
      return this;
    }

    /** Sets the policy digest and, if known, its source revision. */
    public Builder policy(String digest, String revision) {
      this.policyDigest = digest == null ? null : Validation.requireName(digest, "policy digest");
      this.policyRevision = revision == null ? null : Validation.requireName(revision, "policy revision");
      return this;
    }

    /** Sets the granted duration and whether it was clamped. */
    public Builder grantedDuration(Duration duration, boolean clamped) {
      this.grantedDuration = Lifetimes.requireWithinCap(duration, "granted duration");
      this.durationClamped = clamped;
      return this;
    }

    /** Sets who must approve. */
    public Builder approval(ApprovalRequirement approval) {
      this.approval = requireNonNull(approval, "approval");
      return this;
    }

    /** Marks the decision as break-glass. */
    public Builder breakGlass(boolean breakGlass) {
      this.breakGlass = breakGlass;
      return this;
    }

    /** Sets the RBAC template to provision. */
    public Builder rbacTemplate(String template) {
      this.rbacTemplate = template == null ? null : Validation.requireName(template, "rbac template");
      return this;
    }

    /**
     * Returns the decision.
     *
     * @throws IllegalArgumentException if the fields contradict each other
     */
    public Decision build() {
      return new Decision(this);
    }
  }
}
