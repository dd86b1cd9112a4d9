package dev.kubejit.api;

/** Every kind of event the broker (and a gateway) records. */
public enum AuditEventType {
  /** A request was made (whatever the decision). */
  REQUEST_CREATED,
  /** An approver approved, without yet reaching the required number. */
  APPROVAL_RECORDED,
  /** The request reached its required approvals (or was auto-approved). */
  REQUEST_APPROVED,
  /** The policy or an approver denied the request. */
  REQUEST_DENIED,
  /** The request ran out of time before activation. */
  REQUEST_EXPIRED,
  /** The request was withdrawn or revoked before activation. */
  REQUEST_REVOKED,
  /** The grant was activated. */
  GRANT_ACTIVATED,
  /** The grant's time ran out. */
  GRANT_EXPIRED,
  /** The grant was revoked and its RBAC (and group membership) removed. */
  GRANT_REVOKED,
  /**
   * A revocation was recorded before the grant's RBAC is removed: the grant authorises nothing from
   * here on, and {@link #GRANT_REVOKED} follows once the removal has succeeded (retried until it does).
   */
  GRANT_REVOKING,
  /** An expired grant was cleaned up after a restart. */
  GRANT_RECONCILED,
  /** A credential was issued (reference only: kind, serial or key id, fingerprint, notAfter). */
  CREDENTIAL_ISSUED,
  /** A use of a grant was allowed. */
  USE_ALLOWED,
  /** A use of a grant was denied. */
  USE_DENIED,
  /** A command in an exec session was allowed. */
  COMMAND_ALLOWED,
  /** A command in an exec session was denied. */
  COMMAND_DENIED,
  /** A break-glass grant was activated. */
  BREAK_GLASS_USED,
  /** A policy was loaded. */
  POLICY_LOADED,
  /** A transition whose events were written could not be completed and did not happen. */
  TRANSITION_ABORTED,
  /** An access hook refused an activation; nothing else changed. */
  ACCESS_HOOK_REFUSED
}
