package dev.kubejit.credentials;

import static java.util.Objects.requireNonNull;

import dev.kubejit.credentials.internal.Crypto;
import dev.kubejit.credentials.internal.IssuedCertificates;
import com.google.common.collect.ImmutableList;
import dev.kubejit.api.CredentialKind;
import dev.kubejit.api.CredentialRef;
import dev.kubejit.api.IssuedCredential;
import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.util.io.pem.PemObject;

/**
 * A client certificate as issued: the certificate, its auditable {@link CredentialRef}, the TTL
 * that was asked for and the one granted (with the reason when they differ), and the private key
 * only when the issuer generated it on explicit request.
 */
public final class IssuedCertificate {
  private final byte[] der;
  private final Instant notAfter;
  // Parsed on first use: most callers need only the PEM and the reference, and parsing the
  // certificate back costs about as much as building it.
  private volatile X509Certificate certificate;
  private final CredentialRef ref;
  private final String user;
  private final ImmutableList<String> groups;
  private final Instant issuedAt;
  private final Duration requestedTtl;
  private final String clampReason;
  private final PrivateKey generatedKey;

  static {
    IssuedCertificates.register(IssuedCertificate::new);
  }

  IssuedCertificate(X509Certificate certificate, CredentialKind kind, String user, List<String> groups,
      Instant issuedAt, Duration requestedTtl, String clampReason, PrivateKey generatedKey) {
    this(encoded(certificate), certificate.getSerialNumber(), certificate.getNotAfter().toInstant(), kind, user,
        groups, issuedAt, requestedTtl, clampReason, generatedKey);
    this.certificate = certificate;
  }

  /** From the DER the issuer just wrote, with the serial and notAfter it wrote into it. */
  IssuedCertificate(byte[] der, BigInteger serial, Instant notAfter, CredentialKind kind, String user,
      List<String> groups, Instant issuedAt, Duration requestedTtl, String clampReason, PrivateKey generatedKey) {
    this.der = requireNonNull(der);
    this.notAfter = requireNonNull(notAfter);
    this.user = requireNonNull(user);
    this.groups = ImmutableList.copyOf(groups);
    this.issuedAt = requireNonNull(issuedAt);
    this.requestedTtl = requireNonNull(requestedTtl);
    this.clampReason = clampReason;
    this.generatedKey = generatedKey;
    this.ref = CredentialRef.of(kind, serial.toString(16), "SHA256:" + Crypto.sha256Hex(der), notAfter);
  }

  private static byte[] encoded(X509Certificate certificate) {
    try {
      return certificate.getEncoded();
    } catch (CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The certificate. */
  public X509Certificate certificate() {
    X509Certificate c = certificate;
    if (c == null) {
      try {
        c = (X509Certificate) CertificateFactory.getInstance("X.509", Crypto.BC)
            .generateCertificate(new ByteArrayInputStream(der));
      } catch (CertificateException e) {
        throw new IllegalStateException("cannot read back the certificate just issued", e);
      }
      certificate = c;
    }
    return c;
  }

  /** The certificate as PEM. */
  public String certificatePem() {
    return Crypto.pem(new PemObject("CERTIFICATE", der));
  }

  /** The reference to store and audit: kind, serial (hex), SHA-256 fingerprint of the DER, notAfter. */
  public CredentialRef ref() {
    return ref;
  }

  /** The user (certificate CN). */
  public String user() {
    return user;
  }

  /** The groups (one certificate O each). */
  public ImmutableList<String> groups() {
    return groups;
  }

  /** When the issuer signed it (notBefore is up to two minutes earlier, for clock skew). */
  public Instant issuedAt() {
    return issuedAt;
  }

  /** The certificate's real notAfter. */
  public Instant notAfter() {
    return notAfter;
  }

  /** The TTL the caller asked for. */
  public Duration requestedTtl() {
    return requestedTtl;
  }

  /** The TTL actually granted: from {@link #issuedAt()} to {@link #notAfter()}. */
  public Duration grantedTtl() {
    return Duration.between(issuedAt, notAfter());
  }

  /** Whether the granted validity is shorter than (or differs from) what was asked for. */
  public boolean clamped() {
    return clampReason != null;
  }

  /** Why the granted TTL differs from the requested one (maximum TTL, grant end, server policy). */
  public Optional<String> clampReason() {
    return Optional.ofNullable(clampReason);
  }

  /** Whether the issuer generated the key pair (server-side key generation). */
  public boolean hasGeneratedKey() {
    return generatedKey != null;
  }

  /**
   * The PKCS#8 PEM of a server-generated private key; secret, hand it only to the holder.
   *
   * @throws IllegalStateException if the key was not generated by the issuer
   */
  public String privateKeyPem() {
    if (generatedKey == null) {
      throw new IllegalStateException("the private key stays with the requester; this certificate was issued from a CSR");
    }
    return Crypto.pkcs8Pem(generatedKey);
  }

  /**
   * This certificate as an {@link IssuedCredential}: the certificate PEM (public), or certificate
   * plus private key PEM (secret) when the key was generated here.
   */
  public IssuedCredential toIssuedCredential() {
    return generatedKey == null
        ? IssuedCredential.publicMaterial(ref, certificatePem())
        : IssuedCredential.secretMaterial(ref, certificatePem() + privateKeyPem());
  }

  @Override
  public String toString() {
    return "IssuedCertificate{" + ref + ", CN=" + Crypto.quote(user) + ", O=" + Crypto.quoteAll(groups)
        + (clampReason != null ? ", clamped: " + clampReason : "")
        + (generatedKey != null ? ", privateKey=<redacted>" : "") + "}";
  }
}
