package dev.kubejit.rbac;

import dev.kubejit.api.ProvisioningException;

/**
 * Thrown when RBAC input is refused (an invalid namespace, role name, group name or template, or
 * generated objects with linter errors) or RBAC objects could not be applied; nothing was changed
 * in the cluster by the refused call.
 */
public final class RbacException extends ProvisioningException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception with a message that names the offending value (escaped). */
  public RbacException(String message) {
    super(message);
  }

  /** Creates the exception with a message and a cause. */
  public RbacException(String message, Throwable cause) {
    super(message, cause);
  }
}
