package dev.kubejit.api.spi;

import com.google.common.hash.Hashing;
import com.google.common.io.BaseEncoding;
import dev.kubejit.api.CredentialKind;
import dev.kubejit.api.CredentialRef;
import dev.kubejit.api.CredentialSpec;
import dev.kubejit.api.Grant;
import dev.kubejit.api.IssuedCredential;
import dev.kubejit.api.ProvisioningException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;

/** Issues random opaque tokens; the only kind it supports is {@link CredentialKind#OPAQUE}. */
final class OpaqueCredentialIssuer implements CredentialIssuer {
  private final SecureRandom random = new SecureRandom();

  @Override
  public IssuedCredential issue(Grant grant, CredentialSpec spec) {
    if (spec.kind() != CredentialKind.OPAQUE) {
      throw new ProvisioningException("the in-memory issuer issues only OPAQUE credentials, not " + spec.kind());
    }
    byte[] secret = new byte[32];
    random.nextBytes(secret);
    String token = BaseEncoding.base64Url().omitPadding().encode(secret);
    byte[] idBytes = new byte[16];
    random.nextBytes(idBytes);
    String id = BaseEncoding.base16().lowerCase().encode(idBytes);
    String fingerprint = "SHA256:" + Hashing.sha256().hashString(token, StandardCharsets.US_ASCII);
    return IssuedCredential.secretMaterial(
        CredentialRef.of(CredentialKind.OPAQUE, id, fingerprint, grant.expiresAt()), token);
  }
}
