package dev.kubejit.api;

import static java.util.Objects.requireNonNull;

/**
 * A credential as handed to its holder: the auditable {@link CredentialRef} and the material
 * itself (certificate PEM, {@code *-cert.pub} line, or token).
 *
 * <p>Material marked secret (a token, or a server-generated private key) never appears in {@link
 * #toString()}; read it with {@link #material()} and hand it only to its holder.
 */
public final class IssuedCredential {
  private final CredentialRef ref;
  private final String material;
  private final boolean secret;

  private IssuedCredential(CredentialRef ref, String material, boolean secret) {
    this.ref = requireNonNull(ref, "ref");
    this.material = requireNonNull(material, "material");
    this.secret = secret;
  }

  /** A credential whose material is public (a certificate). */
  public static IssuedCredential publicMaterial(CredentialRef ref, String material) {
    return new IssuedCredential(ref, material, false);
  }

  /** A credential whose material is secret (a bearer token, a generated private key). */
  public static IssuedCredential secretMaterial(CredentialRef ref, String material) {
    return new IssuedCredential(ref, material, true);
  }

  /** The reference that is stored and audited. */
  public CredentialRef ref() {
    return ref;
  }

  /** The material for the holder. */
  public String material() {
    return material;
  }

  /** Whether the material is secret. */
  public boolean isSecret() {
    return secret;
  }

  @Override
  public String toString() {
    return "IssuedCredential{" + ref + (secret ? ", material=<redacted>" : "") + "}";
  }
}
