package dev.kubejit.audit;

import dev.kubejit.api.KubeJitException;

/**
 * Thrown when an audit file, a Kubernetes audit file or a key file cannot be read as what it
 * claims to be; the message names the file, the line and the offending value (escaped).
 */
public final class AuditFormatException extends KubeJitException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception. */
  public AuditFormatException(String message) {
    super(message);
  }

  /** Creates the exception with a cause. */
  public AuditFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
