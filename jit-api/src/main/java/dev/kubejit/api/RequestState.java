package dev.kubejit.api;

import java.util.EnumSet;
import java.util.Set;

/**
 * Where a request is in its lifecycle.
 *
 * <pre>
 * PENDING_APPROVAL -&gt; APPROVED | DENIED | EXPIRED | REVOKED
 * APPROVED         -&gt; ACTIVE | EXPIRED | REVOKED
 * ACTIVE           -&gt; EXPIRED | REVOKING
 * REVOKING         -&gt; REVOKED
 * </pre>
 * A request the policy denies is created in {@link #DENIED}; one it allows, in {@link #APPROVED}.
 *
 * <p>Only {@link #ACTIVE} authorises anything (and only within the grant's window). Revoking a
 * grant records {@link #REVOKING} before its RBAC is removed; the broker's sweep retries the removal
 * until it succeeds and then records {@link #REVOKED}, so a grant whose removal failed is reported
 * as revoking, never as active.
 */
public enum RequestState {
  /** Waiting for approvers. */
  PENDING_APPROVAL,
  /** Approved (by policy or approvers); not yet activated. */
  APPROVED,
  /** Activated: RBAC provisioned and credentials issued. */
  ACTIVE,
  /**
   * Revoked, its RBAC (and group membership) not yet confirmed removed: authorises nothing; the
   * broker retries the removal until it succeeds, then records {@link #REVOKED}. Not terminal.
   */
  REVOKING,
  /** Denied by policy or by an approver. Terminal. */
  DENIED,
  /** Ran out of time, before activation or after. Terminal. */
  EXPIRED,
  /** Withdrawn or revoked. Terminal. */
  REVOKED;

  /** Whether this state authorises use of a grant (only {@link #ACTIVE}, within its window). */
  public boolean authorises() {
    return this == ACTIVE;
  }

  /** Whether no transition leaves this state. */
  public boolean isTerminal() {
    return this == DENIED || this == EXPIRED || this == REVOKED;
  }

  /** The states reachable from this one in one step. */
  public Set<RequestState> successors() {
    switch (this) {
      case PENDING_APPROVAL:
        return EnumSet.of(APPROVED, DENIED, EXPIRED, REVOKED);
      case APPROVED:
        return EnumSet.of(ACTIVE, EXPIRED, REVOKED);
      case ACTIVE:
        return EnumSet.of(EXPIRED, REVOKING);
      case REVOKING:
        return EnumSet.of(REVOKED);
      default:
        return EnumSet.noneOf(RequestState.class);
    }
  }
}
