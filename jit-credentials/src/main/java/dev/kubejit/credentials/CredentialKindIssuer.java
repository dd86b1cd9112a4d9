package dev.kubejit.credentials;

import dev.kubejit.api.CredentialKind;
import dev.kubejit.api.CredentialSpec;
import dev.kubejit.api.Grant;
import dev.kubejit.api.IssuedCredential;
import java.time.Duration;
import java.util.Set;

/**
 * Issues one family of credential kinds for a grant; {@link GrantCredentialIssuer} composes several
 * (X.509 here, OpenSSH certificates from jit-credentials-ssh, JWTs from jit-credentials-jwt), so an
 * application pulls in only the libraries of the kinds it issues.
 *
 * <p>Built-in implementations: {@link X509Issuer#forGrants()}, {@code
 * SshCertificateAuthority.forGrants()}, {@code JwtIssuer.forGrants(audience)}.
 *
 * <p>Contract: the user is {@code grant.holder().user()} and the only group {@code
 * grant.subjectGroup()}; the credential's validity ends no later than {@code grant.expiresAt()}
 * and lasts at most {@code remaining}. A refused spec throws {@link CredentialException} and issues
 * nothing.
 */
public interface CredentialKindIssuer {
  /** The kinds this issuer mints; never empty, fixed for the issuer's lifetime. */
  Set<CredentialKind> kinds();

  /**
   * Issues a credential of {@code spec.kind()} (one of {@link #kinds()}) for the grant.
   *
   * @param remaining the grant's remaining lifetime, positive, computed by the caller's clock
   * @throws CredentialException if the spec is refused (weak key, CSR mismatch, reserved name, unknown option)
   */
  IssuedCredential issue(Grant grant, CredentialSpec spec, Duration remaining);
}
