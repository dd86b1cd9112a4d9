package dev.kubejit.api.spi;

import dev.kubejit.api.CredentialSpec;
import dev.kubejit.api.Grant;
import dev.kubejit.api.IssuedCredential;
import dev.kubejit.api.ProvisioningException;

/**
 * Mints a credential bound to a grant: its holder as identity, its {@link Grant#subjectGroup()} as
 * group, and a validity that ends no later than {@link Grant#expiresAt()}.
 */
public interface CredentialIssuer {
  /**
   * Issues a credential for the grant.
   *
   * @throws ProvisioningException if the spec is refused (weak key, CSR mismatch, ...) or issuing failed
   */
  IssuedCredential issue(Grant grant, CredentialSpec spec);

  /**
   * Returns an issuer of {@link dev.kubejit.api.CredentialKind#OPAQUE} random references, for tests
   * and demos that need no real certificate.
   */
  static CredentialIssuer inMemory() {
    return new OpaqueCredentialIssuer();
  }
}
