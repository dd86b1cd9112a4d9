package dev.kubejit.api;

/** Thrown when a request or grant id is unknown. */
public final class NotFoundException extends KubeJitException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception. */
  public NotFoundException(String message) {
    super(message);
  }
}
