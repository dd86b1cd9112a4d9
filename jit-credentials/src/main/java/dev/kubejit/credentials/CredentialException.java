package dev.kubejit.credentials;

import dev.kubejit.api.ProvisioningException;

/**
 * Thrown when a credential request is refused (bad CSR, weak key, wrong subject, bad TTL, invalid
 * token or certificate) or issuing fails; when it is thrown nothing has been issued, and its message
 * never contains a private key or a token.
 */
public final class CredentialException extends ProvisioningException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception. */
  public CredentialException(String message) {
    super(message);
  }

  /** Creates the exception with a cause. */
  public CredentialException(String message, Throwable cause) {
    super(message, cause);
  }
}
