package dev.kubejit.api;

/** Thrown when an approval or denial is not accepted; nothing changes. */
public final class ApprovalRefusedException extends KubeJitException {
  private static final long serialVersionUID = 1L;

  /** Why an approval was refused. */
  public enum Reason {
    /** The requester tried to approve their own request. */
    SELF_APPROVAL,
    /** The approver is in none of the approver groups. */
    NOT_AN_APPROVER,
    /** This approver already gave a verdict on the request. */
    ALREADY_VOTED,
    /** The request does not need approval. */
    NOT_PENDING
  }

  private final Reason reason;

  /** Creates the exception. */
  public ApprovalRefusedException(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  /** Why. */
  public Reason reason() {
    return reason;
  }
}
