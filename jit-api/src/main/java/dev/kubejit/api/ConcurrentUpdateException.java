package dev.kubejit.api;

/** Thrown when another broker replica changed a request between read and write; retry the call. */
public final class ConcurrentUpdateException extends KubeJitException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception. */
  public ConcurrentUpdateException(String message) {
    super(message);
  }
}
