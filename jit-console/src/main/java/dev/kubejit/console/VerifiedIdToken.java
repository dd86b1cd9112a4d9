package dev.kubejit.console;

import static java.util.Objects.requireNonNull;

import dev.kubejit.api.Identity;
import java.time.Instant;
import java.util.Optional;

/** What a verified ID token says: who signed in, until when the token holds, and its nonce. */
public final class VerifiedIdToken {
  private final Identity identity;
  private final Instant expiresAt;
  private final String nonce;

  private VerifiedIdToken(Identity identity, Instant expiresAt, String nonce) {
    this.identity = requireNonNull(identity, "identity");
    this.expiresAt = requireNonNull(expiresAt, "expiresAt");
    this.nonce = nonce;
  }

  /**
   * Creates the result of a verification.
   *
   * @param nonce the token's {@code nonce} claim, or null when it has none
   */
  public static VerifiedIdToken of(Identity identity, Instant expiresAt, String nonce) {
    return new VerifiedIdToken(identity, expiresAt, nonce);
  }

  /** The signed-in user and groups. */
  public Identity identity() {
    return identity;
  }

  /** The token's {@code exp}: a console session never outlives it. */
  public Instant expiresAt() {
    return expiresAt;
  }

  /** The token's {@code nonce}, if it has one. */
  public Optional<String> nonce() {
    return Optional.ofNullable(nonce);
  }

  @Override
  public String toString() {
    return "VerifiedIdToken{" + identity.user() + ", expires " + expiresAt + "}";
  }
}
