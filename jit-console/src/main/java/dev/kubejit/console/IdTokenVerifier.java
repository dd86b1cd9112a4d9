package dev.kubejit.console;

/**
 * Verifies an OpenID Connect ID token the console received from the issuer's token endpoint: its
 * signature against the issuer's keys, {@code iss}, {@code aud} (the console's client ID), {@code
 * exp}, {@code iat}; and maps its claims to a KubeJIT identity. The host supplies it, so that the
 * console uses the same verifier (and the same username and groups claims) as the broker's API.
 */
@FunctionalInterface
public interface IdTokenVerifier {
  /**
   * Verifies {@code idToken}.
   *
   * @throws IllegalArgumentException (or a subclass) with a message that never contains the token,
   *     when it does not verify
   */
  VerifiedIdToken verify(String idToken);
}
