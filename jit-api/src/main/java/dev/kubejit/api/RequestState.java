package dev.kubejit.api;

import java.util.EnumSet;
import java.util.Set;

/**
 * Where a request is in its lifecycle.
 *
 * <pre>
 * PENDING_APPROVAL -&gt; APPROVED | DENIED | EXPIRED | REVOKED
 * APPROVED         -&gt; ACTIVE | EXPIRED | REVOKED
 * ACTIVE           -&gt; EXPIRED | REVOKED
 * </pre>
 * A request the policy denies is created in {@link #DENIED}; one it allows, in {@link #APPROVED}.
 */
public enum RequestState {
  /** Waiting for approvers. */
  PENDING_APPROVAL,
  /** Approved (by policy or approvers); not yet activated. */
  APPROVED,
  /** Activated: RBAC provisioned and credentials issued. */
  ACTIVE,
  /** Denied by policy or by an approver. Terminal. */
  DENIED,
  /** Ran out of time, before activation or after. Terminal. */
  EXPIRED,
  /** Withdrawn or revoked. Terminal. */
  REVOKED;

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
        return EnumSet.of(EXPIRED, REVOKED);
      default:
        return EnumSet.noneOf(RequestState.class);
    }
  }
}
