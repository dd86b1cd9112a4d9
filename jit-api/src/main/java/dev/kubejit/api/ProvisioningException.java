package dev.kubejit.api;

/** Thrown by an RBAC provisioner or credential issuer that could not do its part; nothing is granted. */
public class ProvisioningException extends KubeJitException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception. */
  public ProvisioningException(String message) {
    super(message);
  }

  /** Creates the exception. */
  public ProvisioningException(String message, Throwable cause) {
    super(message, cause);
  }
}
