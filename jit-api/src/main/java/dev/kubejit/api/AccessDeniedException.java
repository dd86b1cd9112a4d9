package dev.kubejit.api;

/** Thrown when a caller may not perform an operation on a request (for example activate someone else's). */
public final class AccessDeniedException extends KubeJitException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception. */
  public AccessDeniedException(String message) {
    super(message);
  }
}
