package dev.kubejit.api;

import static java.util.Objects.requireNonNull;

/** Thrown when a request cannot move from its current state to the attempted one. */
public final class InvalidTransitionException extends KubeJitException {
  private static final long serialVersionUID = 1L;
  private final RequestId requestId;
  private final RequestState current;
  private final RequestState attempted;

  /** Creates the exception; {@code detail} says why, beyond the two states. */
  public InvalidTransitionException(RequestId requestId, RequestState current, RequestState attempted, String detail) {
    super("request " + requestId + " cannot go from " + current + " to " + attempted
        + (detail == null ? "" : ": " + detail));
    this.requestId = requireNonNull(requestId);
    this.current = requireNonNull(current);
    this.attempted = requireNonNull(attempted);
  }

  /** The request. */
  public RequestId requestId() {
    return requestId;
  }

  /** Its state when the transition was attempted. */
  public RequestState current() {
    return current;
  }

  /** The state the caller tried to reach. */
  public RequestState attempted() {
    return attempted;
  }
}
