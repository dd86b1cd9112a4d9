package dev.kubejit.api;

/**
 * Thrown by an RBAC or membership provisioner whose backend (the Kubernetes API server, the
 * identity provider) could not be reached or answered that it is unavailable, as opposed to one
 * that refused the request. Nothing is granted by the failed call, and the same call may succeed
 * later: the HTTP API answers it 503 {@code provisioning_unavailable}.
 */
public final class ProvisionerUnavailableException extends ProvisioningException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception; the message names what could not be reached, never a credential. */
  public ProvisionerUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
