package dev.kubejit.server;

import dev.kubejit.api.KubeJitException;

/**
 * The caller could not be authenticated (HTTP 401). The message says what was expected ("a bearer
 * token issued by https://… for audience kubejit", "the token has expired") and never contains
 * the token, a header value or key material.
 */
public final class AuthenticationException extends KubeJitException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception with a message that is safe to return to the caller and to log. */
  public AuthenticationException(String message) {
    super(message);
  }

  /** Creates the exception with a safe message and the cause (whose message must be safe too). */
  public AuthenticationException(String message, Throwable cause) {
    super(message, cause);
  }
}
