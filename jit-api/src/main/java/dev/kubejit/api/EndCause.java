package dev.kubejit.api;

/** Why a request or grant ended, so an audit record can say so. */
public enum EndCause {
  /** Its time ran out while the broker was running. */
  EXPIRED,
  /** Someone revoked or withdrew it. */
  REVOKED,
  /** It had expired while nothing was running and was cleaned up on start-up. */
  RECONCILED_AFTER_RESTART,
  /** An approver denied it. */
  DENIED;

  /** Whether time, rather than a person, ended it. */
  public boolean wasTimeout() {
    return this == EXPIRED || this == RECONCILED_AFTER_RESTART;
  }
}
