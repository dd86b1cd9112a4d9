package dev.kubejit.api;

/**
 * Thrown when an audit record cannot be written; the action it would have recorded does not
 * happen (fail closed).
 */
public final class AuditException extends KubeJitException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception. */
  public AuditException(String message, Throwable cause) {
    super(message, cause);
  }

  /** Creates the exception. */
  public AuditException(String message) {
    super(message);
  }
}
