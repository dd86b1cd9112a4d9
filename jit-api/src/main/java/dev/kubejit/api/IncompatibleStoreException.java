package dev.kubejit.api;

/**
 * Thrown when a request store, or a record in it, was written by a newer version of KubeJIT than
 * the running code understands: a schema or payload format above the supported one. Nothing is read
 * half-way and nothing is changed; upgrade the code (or restore the store) and retry.
 */
public final class IncompatibleStoreException extends KubeJitException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception; the message should state both the found and the supported version. */
  public IncompatibleStoreException(String message) {
    super(message);
  }

  /** Creates the exception with its cause. */
  public IncompatibleStoreException(String message, Throwable cause) {
    super(message, cause);
  }
}
