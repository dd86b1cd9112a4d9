package dev.kubejit.api;

/**
 * Base class of KubeJIT's domain exceptions; messages never contain a private key, a token or a
 * CA secret.
 */
public class KubeJitException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Creates an exception with a message. */
  public KubeJitException(String message) {
    super(message);
  }

  /** Creates an exception with a message and a cause. */
  public KubeJitException(String message, Throwable cause) {
    super(message, cause);
  }
}
