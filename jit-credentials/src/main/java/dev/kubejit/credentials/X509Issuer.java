package dev.kubejit.credentials;

import static java.util.Objects.requireNonNull;

import dev.kubejit.api.CredentialKind;
import dev.kubejit.api.CredentialSpec;
import dev.kubejit.api.Grant;
import dev.kubejit.api.IssuedCredential;
import dev.kubejit.api.Identity;
import dev.kubejit.api.Lifetimes;
import dev.kubejit.api.PrincipalNames;
import dev.kubejit.credentials.internal.Crypto;
import dev.kubejit.credentials.internal.X509Support;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.math.BigInteger;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.x500.AttributeTypeAndValue;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x509.V3TBSCertificateGenerator;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Signs short-lived X.509 client certificates with a {@link CertificateAuthority}, from a PKCS#10
 * CSR (the normal path: the private key stays with the requester) or, only through {@link
 * #issueWithGeneratedKey}, for a key pair it generates itself.
 *
 * <p>The subject is always built from the authenticated user and groups passed to the call ({@code
 * CN=user}, one {@code O} per group), never copied from the CSR. A CSR subject may be empty, or
 * name the same user and a subset of the same groups; anything else (another CN, an extra O, a
 * multi-valued RDN, other attribute types) is refused. CSR attributes and requested extensions are
 * ignored. The user and every group must pass {@link PrincipalNames#check} (no invisible,
 * separator, compatibility or mixed-script characters) and must not be reserved by {@link
 * Builder#reservedNames} ({@link ReservedNames#defaults()}: {@code system:*}, {@code kubeadm:*},
 * ...). Validity: notBefore is backdated (default 1 minute, at most 2), notAfter = now + TTL; the
 * TTL is required, positive, at most {@link Lifetimes#ABSOLUTE_MAX}, and clamped to {@link
 * Builder#maxTtl} with the clamp reported in the result.
 * Extensions: basicConstraints CA=false (critical), keyUsage digitalSignature (critical),
 * extendedKeyUsage clientAuth, subject and authority key identifiers. Serials are 128 random bits.
 */
public final class X509Issuer {
  private static final Logger LOG = LoggerFactory.getLogger(X509Issuer.class);

  private static final Extension BASIC_CONSTRAINTS = extension(Extension.basicConstraints, true, new BasicConstraints(false));
  private static final Extension KEY_USAGE = extension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
  private static final Extension EXTENDED_KEY_USAGE =
      extension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));

  private final CertificateAuthority authority;
  private final Clock clock;
  private final Duration maxTtl;
  private final Duration backdate;
  private final SecureRandom random;
  private final ReservedNames reserved;

  private X509Issuer(Builder b) {
    this.authority = b.authority;
    this.clock = b.clock;
    this.maxTtl = b.maxTtl;
    this.backdate = b.backdate;
    this.random = b.random;
    this.reserved = b.reserved;
  }

  private static Extension extension(ASN1ObjectIdentifier oid, boolean critical, ASN1Encodable value) {
    try {
      return new Extension(oid, critical, value.toASN1Primitive().getEncoded(ASN1Encoding.DER));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Returns a builder; {@link Builder#authority} is required. */
  public static Builder builder() {
    return new Builder();
  }

  /** The CA this issuer signs with. */
  public CertificateAuthority authority() {
    return authority;
  }

  /** The maximum TTL; longer requests are clamped to it (and the clamp reported). */
  public Duration maxTtl() {
    return maxTtl;
  }

  /** A copy of this issuer that signs with {@code newAuthority} (after a CA rotation). */
  public X509Issuer withAuthority(CertificateAuthority newAuthority) {
    Builder b = new Builder();
    b.authority = requireNonNull(newAuthority, "newAuthority");
    b.clock = clock;
    b.maxTtl = maxTtl;
    b.backdate = backdate;
    b.random = random;
    b.reserved = reserved;
    return new X509Issuer(b);
  }

  /**
   * Issues a certificate for {@code identity}'s user and groups from the CSR in {@code csrPem}.
   *
   * @throws CredentialException if the CSR is malformed, its signature (proof of possession) is
   *     wrong, its key is weak, its subject disagrees with the identity, or the TTL is unusable
   */
  public IssuedCertificate issueFromCsr(String csrPem, Identity identity, Duration ttl) {
    requireNonNull(identity, "identity");
    return issueFromCsr(csrPem, identity.user(), identity.groups(), ttl);
  }

  /**
   * Issues a certificate with {@code CN=user} and one {@code O} per group from the CSR in {@code
   * csrPem}.
   *
   * @throws CredentialException as {@link #issueFromCsr(String, Identity, Duration)}
   */
  public IssuedCertificate issueFromCsr(String csrPem, String user, Collection<String> groups, Duration ttl) {
    return issueFromCsr(csrPem, user, groups, ttl, null, null);
  }

  IssuedCertificate issueFromCsr(String csrPem, String user, Collection<String> groups, Duration ttl,
      Instant notAfterCap, String capReason) {
    List<String> g = X509Support.checkSubject(user, groups, reserved);
    Duration requested = X509Support.checkTtl(ttl);
    PKCS10CertificationRequest csr = X509Support.parseCsr(csrPem);
    X509Support.verifiedCsrKey(csr);
    X509Support.checkCsrSubject(csr.getSubject(), user, g, false);
    return sign(csr.getSubjectPublicKeyInfo(), user, g, requested, notAfterCap, capReason, null, CredentialKind.X509_FROM_CSR);
  }

  /**
   * Generates a key pair of {@code keyType} here and issues a certificate for it; for holders that
   * have no local key (ChatOps users). The result's {@link IssuedCertificate#privateKeyPem()} is
   * secret.
   *
   * @throws CredentialException if the subject or TTL is unusable
   */
  public IssuedCertificate issueWithGeneratedKey(String user, Collection<String> groups, Duration ttl, KeyType keyType) {
    return issueWithGeneratedKey(user, groups, ttl, keyType, null, null);
  }

  IssuedCertificate issueWithGeneratedKey(String user, Collection<String> groups, Duration ttl, KeyType keyType,
      Instant notAfterCap, String capReason) {
    requireNonNull(keyType, "keyType");
    List<String> g = X509Support.checkSubject(user, groups, reserved);
    Duration requested = X509Support.checkTtl(ttl);
    KeyPair kp = Crypto.generate(keyType);
    return sign(SubjectPublicKeyInfo.getInstance(kp.getPublic().getEncoded()), user, g, requested, notAfterCap, capReason,
        kp.getPrivate(), CredentialKind.X509_SERVER_GENERATED_KEY);
  }

  private IssuedCertificate sign(SubjectPublicKeyInfo key, String user, List<String> groups, Duration requested,
      Instant notAfterCap, String capReason, PrivateKey generated, CredentialKind kind) {
    Instant now = clock.instant();
    Instant issuedAt = now.truncatedTo(ChronoUnit.SECONDS);
    String clamp = null;
    Duration ttl = requested;
    if (ttl.compareTo(maxTtl) > 0) {
      clamp = "requested TTL " + requested + " exceeds the maximum " + maxTtl + "; clamped to " + maxTtl;
      ttl = maxTtl;
    }
    // X.509 times have one-second precision: round notAfter down so it never exceeds now + TTL.
    Instant notAfter = now.plus(ttl).truncatedTo(ChronoUnit.SECONDS);
    if (notAfterCap != null && notAfter.isAfter(notAfterCap)) {
      Instant capped = notAfterCap.truncatedTo(ChronoUnit.SECONDS);
      if (!capped.isAfter(now)) {
        throw new CredentialException("cannot issue: " + capReason + " (" + notAfterCap + ") is not after now (" + now + ")");
      }
      clamp = (clamp == null ? "" : clamp + "; ") + "notAfter capped at " + capped + " (" + capReason + ")";
      notAfter = capped;
    }
    if (!notAfter.isAfter(now)) {
      throw new CredentialException("TTL " + requested + " is shorter than the one-second certificate precision");
    }
    X500Name subject = X509Support.subjectName(user, groups);
    try {
      // The body is built and encoded once, signed, and wrapped; what is signed is what is returned.
      BigInteger serial = Crypto.serial128(random);
      V3TBSCertificateGenerator tbs = new V3TBSCertificateGenerator();
      tbs.setSerialNumber(new ASN1Integer(serial));
      tbs.setSignature(authority.signatureAlgorithm());
      tbs.setIssuer(authority.subject());
      tbs.setStartDate(X509Support.time(issuedAt.minus(backdate)));
      tbs.setEndDate(X509Support.time(notAfter));
      tbs.setSubject(subject);
      tbs.setSubjectPublicKeyInfo(key);
      tbs.setExtensions(new Extensions(new Extension[] {
          BASIC_CONSTRAINTS, KEY_USAGE, EXTENDED_KEY_USAGE,
          new Extension(Extension.subjectKeyIdentifier, false,
              new JcaX509ExtensionUtils().createSubjectKeyIdentifier(key).getEncoded(ASN1Encoding.DER)),
          authority.authorityKeyIdExtension()}));
      byte[] body = tbs.generateTBSCertificate().getEncoded(ASN1Encoding.DER);
      byte[] der = X509Support.certificateDer(body, authority.signatureAlgorithm(), authority.sign(body));
      IssuedCertificate issued = new IssuedCertificate(der, serial, notAfter, kind, user, groups, issuedAt, requested,
          clamp, generated);
      LOG.info("issued X.509 client certificate {} for CN={} O={} notAfter={}{}", issued.ref().id(),
          Crypto.quote(user), Crypto.quoteAll(groups), notAfter, clamp == null ? "" : " (" + clamp + ")");
      return issued;
    } catch (GeneralSecurityException | IOException | IllegalArgumentException e) {
      throw new CredentialException("cannot sign certificate for " + Crypto.quote(user) + ": " + e.getClass().getSimpleName(), e);
    }
  }

  /**
   * Returns this issuer as the X.509 part of a {@link GrantCredentialIssuer}: {@link
   * CredentialKind#X509_FROM_CSR} from the spec's CSR and, on explicit request, {@link
   * CredentialKind#X509_SERVER_GENERATED_KEY} (option {@code keyType}, default {@code ed25519});
   * notAfter is capped at the grant's end.
   */
  public CredentialKindIssuer forGrants() {
    X509Issuer self = this;
    return new CredentialKindIssuer() {
      @Override
      public Set<CredentialKind> kinds() {
        return Set.of(CredentialKind.X509_FROM_CSR, CredentialKind.X509_SERVER_GENERATED_KEY);
      }

      @Override
      public IssuedCredential issue(Grant grant, CredentialSpec spec, Duration remaining) {
        List<String> groups = List.of(grant.subjectGroup());
        String user = grant.holder().user();
        String capReason = "grant " + grant.id() + " ends";
        if (spec.kind() == CredentialKind.X509_FROM_CSR) {
          return issueFromCsr(spec.publicMaterial().orElseThrow(), user, groups, remaining, grant.expiresAt(), capReason)
              .toIssuedCredential();
        }
        if (spec.kind() == CredentialKind.X509_SERVER_GENERATED_KEY) {
          for (String k : spec.options().keySet()) {
            if (!k.equals("keyType")) {
              throw new CredentialException("unknown X.509 option " + Crypto.quote(k) + "; known: [keyType]");
            }
          }
          KeyType type = KeyType.parse(spec.options().getOrDefault("keyType", "ed25519"));
          return issueWithGeneratedKey(user, groups, remaining, type, grant.expiresAt(), capReason).toIssuedCredential();
        }
        throw new CredentialException("credential kind " + spec.kind() + " is not X.509");
      }

      @Override
      public String toString() {
        return self.toString();
      }
    };
  }

  @Override
  public String toString() {
    return "X509Issuer{ca=" + Crypto.quote(authority.certificate().getSubjectX500Principal().getName()) + ", maxTtl=" + maxTtl
        + ", backdate=" + backdate + (reserved.equals(ReservedNames.defaults()) ? "" : ", " + reserved) + "}";
  }

  /** Builds an {@link X509Issuer}; strict: the authority is required, and options are set at most once. */
  public static final class Builder {
    private CertificateAuthority authority;
    private Clock clock = Clock.systemUTC();
    private Duration maxTtl = X509Support.DEFAULT_MAX_TTL;
    private Duration backdate = Duration.ofMinutes(1);
    private SecureRandom random = Crypto.RANDOM;
    private ReservedNames reserved = ReservedNames.defaults();
    private boolean reservedSet;
    private boolean clockSet;
    private boolean maxTtlSet;
    private boolean backdateSet;

    private Builder() {}

    /** Sets the CA (required). */
    public Builder authority(CertificateAuthority authority) {
      if (this.authority != null) {
        throw new IllegalStateException("authority was already set to " + this.authority);
      }
      this.authority = requireNonNull(authority, "authority");
      return this;
    }

    /** Sets the clock (default: system UTC). */
    public Builder clock(Clock clock) {
      if (clockSet) {
        throw new IllegalStateException("clock was already set to " + this.clock);
      }
      this.clock = requireNonNull(clock, "clock");
      clockSet = true;
      return this;
    }

    /** Sets the maximum TTL (default 8 hours); longer requests are clamped and the clamp reported. */
    public Builder maxTtl(Duration maxTtl) {
      if (maxTtlSet) {
        throw new IllegalStateException("maxTtl was already set to " + this.maxTtl);
      }
      this.maxTtl = Lifetimes.requireWithinCap(maxTtl, "maxTtl");
      maxTtlSet = true;
      return this;
    }

    /** Sets how far notBefore is backdated for clock skew (default 1 minute, at most 2 minutes). */
    public Builder backdate(Duration backdate) {
      if (backdateSet) {
        throw new IllegalStateException("backdate was already set to " + this.backdate);
      }
      if (backdate == null || backdate.isNegative() || backdate.compareTo(X509Support.MAX_BACKDATE) > 0) {
        throw new IllegalArgumentException("backdate must be between 0 and " + X509Support.MAX_BACKDATE + ": " + backdate);
      }
      this.backdate = backdate;
      backdateSet = true;
      return this;
    }

    /**
     * Sets the names never issued as user (CN) or group (O) (default {@link
     * ReservedNames#defaults()}); extend it with {@link ReservedNames#plus}, relax it only with
     * {@link ReservedNames#exemptDangerously}.
     */
    public Builder reservedNames(ReservedNames reservedNames) {
      if (reservedSet) {
        throw new IllegalStateException("reservedNames was already set to " + this.reserved);
      }
      this.reserved = requireNonNull(reservedNames, "reservedNames");
      reservedSet = true;
      return this;
    }

    /** Sets the source of serial numbers (default: a shared {@link SecureRandom}). */
    public Builder random(SecureRandom random) {
      this.random = requireNonNull(random, "random");
      return this;
    }

    /**
     * Returns the issuer.
     *
     * @throws IllegalStateException if no authority was set
     */
    public X509Issuer build() {
      if (authority == null) {
        throw new IllegalStateException("authority(CertificateAuthority) is required");
      }
      return new X509Issuer(this);
    }
  }
}
