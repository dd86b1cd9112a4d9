package dev.kubejit.server;

import dev.kubejit.api.Identity;

/**
 * Turns what a caller presented on one HTTP request into an {@link Identity}: an OIDC ID token as a
 * bearer token, a client certificate from mutual TLS, or (development only, loopback only) a
 * header. The identity always comes from here, never from a request body.
 *
 * <p>Implementations are thread-safe and never put the presented secret (a token) into an
 * exception message or a log.
 */
@FunctionalInterface
public interface Authenticator {
  /**
   * Returns the authenticated caller.
   *
   * @throws AuthenticationException when nothing valid was presented; its message says what was
   *     expected without echoing what was sent
   */
  Identity authenticate(Presented presented);
}
