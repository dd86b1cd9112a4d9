package dev.kubejit.credentials;

import static java.util.Objects.requireNonNull;

import dev.kubejit.credentials.internal.Crypto;
import dev.kubejit.credentials.internal.X509Support;
import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.DefaultSignatureAlgorithmIdentifierFinder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * An X.509 certificate authority that signs short-lived client certificates: a self-signed CA
 * certificate and its private key (Ed25519, ECDSA P-256/P-384 or RSA of at least 3072 bits).
 *
 * <p>The private key never leaves this object except through {@link #writeTo(Path)}, which writes
 * it as PKCS#8 PEM with mode 0600; {@link #toString()} shows only the subject, key type, serial and
 * fingerprint.
 */
public final class CertificateAuthority {
  static final String CERT_FILE = "ca.crt";
  static final String KEY_FILE = "ca.key";
  /**
   * The longest CA validity: 10 years. The one exception to {@link
   * dev.kubejit.api.Lifetimes#ABSOLUTE_MAX}, because a CA is not a credential anyone holds (its key
   * stays with the operator) and it must outlive every certificate it signs, which may itself
   * live up to that cap; rotation is {@link TrustBundle}'s job.
   */
  static final Duration MAX_VALIDITY = Duration.ofDays(3660);

  private final X509Certificate certificate;
  private final PrivateKey privateKey;
  private final KeyType keyType;
  // Computed once, not for every certificate signed: the issuer name, the authority key identifier
  // extension and the signature algorithm.
  private final X500Name subject;
  private final Extension authorityKeyIdExtension;
  private final String signatureAlgorithmName;
  private final AlgorithmIdentifier signatureAlgorithm;

  private CertificateAuthority(X509Certificate certificate, PrivateKey privateKey, KeyType keyType) {
    this.certificate = certificate;
    this.privateKey = privateKey;
    this.keyType = keyType;
    this.signatureAlgorithmName = Crypto.x509SignatureAlgorithm(keyType);
    this.signatureAlgorithm = new DefaultSignatureAlgorithmIdentifierFinder().find(signatureAlgorithmName);
    this.subject = X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded());
    try {
      AuthorityKeyIdentifier aki = new JcaX509ExtensionUtils().createAuthorityKeyIdentifier(certificate);
      this.authorityKeyIdExtension = new Extension(Extension.authorityKeyIdentifier, false,
          aki.getEncoded(org.bouncycastle.asn1.ASN1Encoding.DER));
    } catch (GeneralSecurityException | java.io.IOException e) {
      throw new CredentialException("cannot derive the authority key identifier of the CA certificate ("
          + e.getClass().getSimpleName() + ")", e);
    }
  }

  /**
   * Returns a builder for a new CA: {@code
   * CertificateAuthority.builder().commonName("kubejit-ca").validity(Duration.ofDays(365)).generate()};
   * the common name and validity are required, the key type defaults to {@link KeyType#ED25519} and
   * the clock to the system UTC clock.
   */
  public static Builder builder() {
    return new Builder();
  }

  private static CertificateAuthority generate(KeyType type, String commonName, Duration validity, Clock clock) {
    requireNonNull(type, "type");
    requireNonNull(clock, "clock");
    Crypto.requireLabel(commonName, "CA common name");
    if (validity == null || validity.isNegative() || validity.isZero()) {
      throw new CredentialException("CA validity must be positive: " + validity);
    }
    if (validity.compareTo(MAX_VALIDITY) > 0) {
      throw new CredentialException("CA validity " + validity + " is longer than " + MAX_VALIDITY.toDays()
          + " days (10 years) and refused");
    }
    KeyPair kp = Crypto.generate(type);
    Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    X500Name name = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, commonName).build();
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, Crypto.serial128(Crypto.RANDOM),
          Date.from(now.minus(Duration.ofMinutes(1))), Date.from(now.plus(validity)), name, kp.getPublic());
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
      b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(kp.getPublic()));
      X509Certificate cert = toX509(b.build(signer(type, kp.getPrivate())));
      return new CertificateAuthority(cert, kp.getPrivate(), type);
    } catch (GeneralSecurityException | java.io.IOException e) {
      throw new CredentialException("cannot create CA certificate: " + e.getClass().getSimpleName(), e);
    }
  }

  /**
   * Loads a CA from its certificate PEM and PKCS#8 private key PEM, checking that the certificate
   * is a CA certificate, its key is strong enough, and the private key matches it.
   *
   * @throws CredentialException if either PEM is malformed or they do not belong together
   */
  public static CertificateAuthority fromPem(String certificatePem, String privateKeyPem) {
    X509Certificate cert = X509Support.parseCertificate(certificatePem, "CA certificate");
    KeyType type = Crypto.classify(cert.getPublicKey(), 3072, "CA certificate key");
    if (cert.getBasicConstraints() < 0) {
      throw new CredentialException("certificate " + Crypto.quote(cert.getSubjectX500Principal().getName())
          + " is not a CA certificate (basicConstraints CA=false or absent)");
    }
    byte[] der = Crypto.singlePemBlock(privateKeyPem, "PRIVATE KEY", "CA private key");
    PrivateKey key = Crypto.privateKey(der, "CA private key");
    if (!matches(type, key, cert.getPublicKey())) {
      throw new CredentialException("CA private key does not match the certificate "
          + Crypto.quote(cert.getSubjectX500Principal().getName()));
    }
    return new CertificateAuthority(cert, key, type);
  }

  /**
   * Loads {@code dir/ca.crt} and {@code dir/ca.key}.
   *
   * @throws CredentialException if the files are missing, unreadable or do not belong together
   */
  public static CertificateAuthority load(Path dir) {
    return fromPem(Crypto.read(dir.resolve(CERT_FILE), "CA certificate"),
        Crypto.read(dir.resolve(KEY_FILE), "CA private key"));
  }

  /**
   * Writes {@code dir/ca.crt} and {@code dir/ca.key} (PKCS#8 PEM, mode 0600), refusing to
   * overwrite either.
   */
  public void writeTo(Path dir) {
    Path crt = dir.resolve(CERT_FILE);
    Path key = dir.resolve(KEY_FILE);
    Crypto.refuseIfExists(crt);
    Crypto.refuseIfExists(key);
    Crypto.writePrivate(key, Crypto.pkcs8Pem(privateKey));
    Crypto.writePublic(crt, certificatePem());
  }

  /** The CA certificate. */
  public X509Certificate certificate() {
    return certificate;
  }

  /** The CA certificate as PEM. */
  public String certificatePem() {
    return Crypto.pem(certificate);
  }

  /** The CA key's algorithm. */
  public KeyType keyType() {
    return keyType;
  }

  /** The SHA-256 fingerprint of the CA certificate's DER encoding, lower-case hex. */
  public String fingerprint() {
    try {
      return Crypto.sha256Hex(certificate.getEncoded());
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }

  PrivateKey privateKey() {
    return privateKey;
  }

  /** The CA certificate's subject, the issuer of what it signs. */
  X500Name subject() {
    return subject;
  }

  ContentSigner signer() {
    return signer(keyType, privateKey);
  }

  /** The authorityKeyIdentifier extension (not critical) of what it signs. */
  Extension authorityKeyIdExtension() {
    return authorityKeyIdExtension;
  }

  /** The signature algorithm of what it signs, as written in the certificate. */
  AlgorithmIdentifier signatureAlgorithm() {
    return signatureAlgorithm;
  }

  /** Signs {@code data} with the CA key (Bouncy Castle, the provider every signing path here uses). */
  byte[] sign(byte[] data) throws GeneralSecurityException {
    Signature s = Signature.getInstance(signatureAlgorithmName, Crypto.BC);
    s.initSign(privateKey);
    s.update(data);
    return s.sign();
  }

  static ContentSigner signer(KeyType type, PrivateKey key) {
    try {
      return new JcaContentSignerBuilder(Crypto.x509SignatureAlgorithm(type)).setProvider(Crypto.BC).build(key);
    } catch (OperatorCreationException e) {
      throw new CredentialException("cannot create a " + type + " signer", e);
    }
  }

  private static boolean matches(KeyType type, PrivateKey key, PublicKey pub) {
    try {
      String alg = Crypto.x509SignatureAlgorithm(type);
      byte[] probe = new byte[32];
      Crypto.RANDOM.nextBytes(probe);
      Signature s = Signature.getInstance(alg, Crypto.BC);
      s.initSign(key);
      s.update(probe);
      byte[] sig = s.sign();
      Signature v = Signature.getInstance(alg, Crypto.BC);
      v.initVerify(pub);
      v.update(probe);
      return v.verify(sig);
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  static X509Certificate toX509(X509CertificateHolder holder) throws GeneralSecurityException {
    return new JcaX509CertificateConverter().setProvider(Crypto.BC).getCertificate(holder);
  }

  BigInteger serial() {
    return certificate.getSerialNumber();
  }

  @Override
  public String toString() {
    return "CertificateAuthority{" + Crypto.quote(certificate.getSubjectX500Principal().getName()) + ", " + keyType
        + ", serial " + certificate.getSerialNumber().toString(16) + ", notAfter "
        + certificate.getNotAfter().toInstant() + ", sha256 " + fingerprint() + "}";
  }

  /** Builds a new {@link CertificateAuthority} with a fresh key; each option may be set once. */
  public static final class Builder {
    private KeyType keyType;
    private String commonName;
    private Duration validity;
    private Clock clock;

    private Builder() {}

    /**
     * The CA key's type (default {@link KeyType#ED25519}).
     *
     * @throws IllegalStateException if it was already set
     */
    public Builder keyType(KeyType keyType) {
      if (this.keyType != null) {
        throw new IllegalStateException("keyType was already set to " + this.keyType);
      }
      this.keyType = requireNonNull(keyType, "keyType");
      return this;
    }

    /**
     * The subject, {@code CN=commonName} (required; a label: no control characters or surrounding space).
     *
     * @throws CredentialException if it is not a label
     * @throws IllegalStateException if it was already set
     */
    public Builder commonName(String commonName) {
      if (this.commonName != null) {
        throw new IllegalStateException("commonName was already set to " + Crypto.quote(this.commonName));
      }
      this.commonName = Crypto.requireLabel(commonName, "CA common name");
      return this;
    }

    /**
     * How long the CA certificate is valid from now (required; positive, at most 10 years: it must
     * outlive every certificate it signs, and no longer).
     *
     * @throws CredentialException if it is not positive or longer than 10 years
     * @throws IllegalStateException if it was already set
     */
    public Builder validity(Duration validity) {
      if (this.validity != null) {
        throw new IllegalStateException("validity was already set to " + this.validity);
      }
      if (validity == null || validity.isNegative() || validity.isZero()) {
        throw new CredentialException("CA validity must be positive: " + validity);
      }
      if (validity.compareTo(MAX_VALIDITY) > 0) {
        throw new CredentialException("CA validity " + validity + " is longer than " + MAX_VALIDITY.toDays()
            + " days (10 years) and refused");
      }
      this.validity = validity;
      return this;
    }

    /**
     * The clock that dates the certificate (default {@link Clock#systemUTC()}).
     *
     * @throws IllegalStateException if it was already set
     */
    public Builder clock(Clock clock) {
      if (this.clock != null) {
        throw new IllegalStateException("clock was already set to " + this.clock);
      }
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Generates the key and the self-signed CA certificate; the builder can be used again for another CA.
     *
     * @throws IllegalStateException if the common name or validity was not set
     * @throws CredentialException if the certificate cannot be created
     */
    public CertificateAuthority generate() {
      if (commonName == null) {
        throw new IllegalStateException("commonName(...) is required");
      }
      if (validity == null) {
        throw new IllegalStateException("validity(...) is required: choose how long the CA lives");
      }
      return CertificateAuthority.generate(keyType == null ? KeyType.ED25519 : keyType, commonName, validity,
          clock == null ? Clock.systemUTC() : clock);
    }
  }
}
