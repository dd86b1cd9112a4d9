package dev.kubejit.credentials.ssh;

import dev.kubejit.credentials.CredentialException;
import dev.kubejit.credentials.internal.Crypto;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableSortedMap;
import dev.kubejit.api.CredentialKind;
import dev.kubejit.api.CredentialRef;
import dev.kubejit.api.IssuedCredential;
import java.security.PublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.apache.sshd.common.config.keys.OpenSshCertificate;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.config.keys.PublicKeyEntryResolver;

/**
 * An OpenSSH user certificate: its {@code *-cert.pub} line and the fields sshd acts on (key id,
 * serial, principals, validity, critical options, extensions, signing CA).
 *
 * <p>Obtained from {@link SshCertificateAuthority#sign} or {@link #parse}; parsing checks only the
 * format — use {@link SshCertificateVerifier} to check signature, CA, validity and principal.
 */
public final class SshUserCertificate {
  private final OpenSshCertificate cert;
  private final String line;
  private final Duration requestedTtl;
  private final String clampReason;

  private static final java.util.regex.Pattern WHITESPACE = java.util.regex.Pattern.compile("\\s");

  private SshUserCertificate(OpenSshCertificate cert, String blob, Duration requestedTtl, String clampReason) {
    this.cert = cert;
    this.line = blob + " " + WHITESPACE.matcher(cert.getId()).replaceAll("_");
    this.requestedTtl = requestedTtl;
    this.clampReason = clampReason;
  }

  /**
   * A certificate just signed. Its blob is the signed message followed by the signature as an SSH
   * string (PROTOCOL.certkeys), both of which the builder kept: the certificate is not encoded a
   * second time.
   */
  static SshUserCertificate of(OpenSshCertificate cert, Duration requestedTtl, String clampReason) {
    byte[] message = cert.getMessage();
    byte[] signature = cert.getSignature();
    byte[] blob = java.util.Arrays.copyOf(message, message.length + 4 + signature.length);
    int n = signature.length;
    blob[message.length] = (byte) (n >>> 24);
    blob[message.length + 1] = (byte) (n >>> 16);
    blob[message.length + 2] = (byte) (n >>> 8);
    blob[message.length + 3] = (byte) n;
    System.arraycopy(signature, 0, blob, message.length + 4, n);
    return new SshUserCertificate(cert, cert.getKeyType() + " " + java.util.Base64.getEncoder().encodeToString(blob),
        requestedTtl, clampReason);
  }

  /**
   * Parses a {@code *-cert.pub} line; refuses host certificates and anything that is not a user
   * certificate.
   *
   * @throws CredentialException if the line is malformed
   */
  public static SshUserCertificate parse(String certLine) {
    if (certLine == null || certLine.isBlank()) {
      throw new CredentialException("SSH certificate is required");
    }
    if (certLine.length() > 64 * 1024) {
      throw new CredentialException("SSH certificate line is longer than 64 KiB");
    }
    String type = certLine.strip().split("\\s+", 2)[0];
    if (!type.endsWith("-cert-v01@openssh.com")) {
      throw new CredentialException("not an OpenSSH certificate: type " + Crypto.quote(type));
    }
    PublicKey k;
    try {
      k = PublicKeyEntry.parsePublicKeyEntry(certLine.strip()).resolvePublicKey(null, null, PublicKeyEntryResolver.FAILING);
    } catch (Exception e) {
      throw new CredentialException("SSH certificate of type " + Crypto.quote(type) + " is malformed ("
          + e.getClass().getSimpleName() + ")");
    }
    if (!(k instanceof OpenSshCertificate)) {
      throw new CredentialException("not an OpenSSH certificate: type " + Crypto.quote(type));
    }
    OpenSshCertificate c = (OpenSshCertificate) k;
    if (c.getType() != OpenSshCertificate.Type.USER) {
      throw new CredentialException("SSH certificate " + Crypto.quote(c.getId()) + " is a " + c.getType() + " certificate, not a user certificate");
    }
    return new SshUserCertificate(c, PublicKeyEntry.toString(c), null, null);
  }

  /** The {@code *-cert.pub} line (type, base64 blob, key id as comment). */
  public String line() {
    return line;
  }

  /** The key id. */
  public String keyId() {
    return cert.getId();
  }

  /** The serial number (unsigned 64-bit). */
  public long serial() {
    return cert.getSerial();
  }

  /** The principals. */
  public ImmutableList<String> principals() {
    return cert.getPrincipals() == null ? ImmutableList.of() : ImmutableList.copyOf(cert.getPrincipals());
  }

  /** The first instant the certificate is valid. */
  public Instant validAfter() {
    return Instant.ofEpochSecond(cert.getValidAfter());
  }

  /** The first instant the certificate is no longer valid (OpenSSH: valid iff {@code validAfter <= t < validBefore}). */
  public Instant validBefore() {
    long vb = cert.getValidBefore();
    return vb < 0 || vb > Instant.MAX.getEpochSecond() ? Instant.MAX : Instant.ofEpochSecond(vb);
  }

  /** The critical options, such as {@code force-command} and {@code source-address}. */
  public ImmutableSortedMap<String, String> criticalOptions() {
    return ImmutableSortedMap.copyOf(cert.getCriticalOptionsMap());
  }

  /** The extension names, such as {@code permit-pty}. */
  public ImmutableList<String> extensions() {
    return ImmutableList.copyOf(cert.getExtensionsMap().keySet());
  }

  /** The signing CA's public key line. */
  public String caPublicKeyLine() {
    return SshKeys.line(cert.getCaPubKey());
  }

  /** The certified key's fingerprint ({@code SHA256:...}), as sshd logs it on login. */
  public String publicKeyFingerprint() {
    return SshKeys.fingerprint(cert.getCertPubKey());
  }

  /** The TTL the caller asked for, when this certificate was issued here. */
  public Optional<Duration> requestedTtl() {
    return Optional.ofNullable(requestedTtl);
  }

  /** Why validity is shorter than requested (CA maximum, grant end), when it is. */
  public Optional<String> clampReason() {
    return Optional.ofNullable(clampReason);
  }

  /** The auditable reference: kind, serial (hex), key fingerprint, validBefore. */
  public CredentialRef ref() {
    return CredentialRef.of(CredentialKind.SSH_USER_CERTIFICATE, Long.toUnsignedString(cert.getSerial(), 16),
        publicKeyFingerprint(), validBefore());
  }

  /** This certificate as an {@link IssuedCredential} (public material: the cert line). */
  public IssuedCredential toIssuedCredential() {
    return IssuedCredential.publicMaterial(ref(), line + "\n");
  }

  OpenSshCertificate raw() {
    return cert;
  }

  @Override
  public String toString() {
    return "SshUserCertificate{" + Crypto.quote(keyId()) + ", serial " + Long.toUnsignedString(serial(), 16) + ", principals "
        + Crypto.quoteAll(principals()) + ", " + validAfter() + ".." + validBefore() + ", critical "
        + Crypto.quoteAll(criticalOptions().keySet()) + ", extensions " + Crypto.quoteAll(extensions())
        + (clampReason != null ? ", clamped: " + clampReason : "") + "}";
  }
}
