package dev.kubejit.api;

/** What a ChatOps notifier is told about. */
public enum NotificationType {
  /** A request waits for approvers. */
  PENDING_APPROVAL,
  /** A request was approved. */
  APPROVED,
  /** A request was denied. */
  DENIED,
  /** A grant was activated. */
  ACTIVATED,
  /** A grant will expire soon. */
  EXPIRING,
  /** A request or grant expired. */
  EXPIRED,
  /** A request or grant was revoked. */
  REVOKED,
  /** Break-glass access was used: alert someone now. */
  BREAK_GLASS_USED
}
