package dev.kubejit.api;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/** One approver's verdict on a request: who, when, approve or deny, and an optional comment. */
public final class Approval {
  private final Identity approver;
  private final Instant at;
  private final boolean approved;
  private final String comment;

  private Approval(Identity approver, Instant at, boolean approved, String comment) {
    this.approver = requireNonNull(approver, "approver");
    this.at = requireNonNull(at, "at");
    this.approved = approved;
    this.comment = comment == null ? null : Validation.requireText(comment, "comment", 2048);
  }

  /** An approval. */
  public static Approval approve(Identity approver, Instant at, String comment) {
    return new Approval(approver, at, true, comment);
  }

  /** A denial. */
  public static Approval deny(Identity approver, Instant at, String comment) {
    return new Approval(approver, at, false, comment);
  }

  /** Who gave the verdict. */
  public Identity approver() {
    return approver;
  }

  /** When. */
  public Instant at() {
    return at;
  }

  /** True for an approval, false for a denial. */
  public boolean approved() {
    return approved;
  }

  /** The approver's comment. */
  public Optional<String> comment() {
    return Optional.ofNullable(comment);
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Approval)) {
      return false;
    }
    Approval a = (Approval) o;
    return approver.equals(a.approver) && at.equals(a.at) && approved == a.approved
        && Objects.equals(comment, a.comment);
  }

  @Override
  public int hashCode() {
    return Objects.hash(approver, at, approved, comment);
  }

  @Override
  public String toString() {
    return (approved ? "approved by " : "denied by ") + approver.user() + " at " + at;
  }
}
