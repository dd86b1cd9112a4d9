package dev.kubejit.api;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.Objects;

/**
 * A reference to an issued credential that is safe to store and audit: kind, serial or key id,
 * fingerprint and expiry, never the key or the token.
 */
public final class CredentialRef {
  private final CredentialKind kind;
  private final String id;
  private final String fingerprint;
  private final Instant notAfter;

  private CredentialRef(CredentialKind kind, String id, String fingerprint, Instant notAfter) {
    this.kind = requireNonNull(kind, "kind");
    this.id = Validation.requireName(id, "credential id");
    this.fingerprint = Validation.requireName(fingerprint, "fingerprint");
    this.notAfter = requireNonNull(notAfter, "notAfter");
  }

  /** Creates a reference; {@code id} is a serial number, key id or {@code jti}. */
  public static CredentialRef of(CredentialKind kind, String id, String fingerprint, Instant notAfter) {
    return new CredentialRef(kind, id, fingerprint, notAfter);
  }

  /** The credential kind. */
  public CredentialKind kind() {
    return kind;
  }

  /** Serial number (hex), key id or JWT id. */
  public String id() {
    return id;
  }

  /** SHA-256 fingerprint of the certificate or token, as the issuer formats it. */
  public String fingerprint() {
    return fingerprint;
  }

  /** The instant after which the credential is no longer valid. */
  public Instant notAfter() {
    return notAfter;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof CredentialRef)) {
      return false;
    }
    CredentialRef r = (CredentialRef) o;
    return kind == r.kind && id.equals(r.id) && fingerprint.equals(r.fingerprint) && notAfter.equals(r.notAfter);
  }

  @Override
  public int hashCode() {
    return Objects.hash(kind, id, fingerprint, notAfter);
  }

  @Override
  public String toString() {
    return kind + ":" + id + " (notAfter " + notAfter + ")";
  }
}
