package dev.kubejit.credentials.internal;

import dev.kubejit.api.Lifetimes;
import dev.kubejit.credentials.CredentialException;
import dev.kubejit.credentials.ReservedNames;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.io.ByteArrayOutputStream;
import java.security.Signature;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Map;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1GeneralizedTime;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.ASN1UTCTime;
import org.bouncycastle.asn1.DERBitString;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.edec.EdECObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.Time;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.asn1.x500.AttributeTypeAndValue;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;

/**
 * The checks every issuer applies to names, TTLs, CSRs and certificates: one implementation for the
 * own-CA X.509 issuer (jit-credentials), the Kubernetes CSR issuer, the SSH CA and the JWT issuer.
 *
 * <p><b>Internal:</b> public only so that the jit-credentials-* artifacts share it; not an API,
 * may change in any release.
 */
public final class X509Support {
  /** The default ceiling of a certificate's, SSH certificate's or JWT's lifetime. */
  public static final Duration DEFAULT_MAX_TTL = Duration.ofHours(8);
  /** The most a certificate's notBefore is backdated. */
  public static final Duration MAX_BACKDATE = Duration.ofMinutes(2);

  private X509Support() {}

  public static X500Name subjectName(String user, List<String> groups) {
    X500NameBuilder nb = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, user);
    for (String g : groups) {
      nb.addRDN(BCStyle.O, g);
    }
    return nb.build();
  }

  /**
   * Validates user and groups (the one name rule, then the reserved list); returns groups sorted
   * and de-duplicated. Every name is checked before any is refused as reserved, so a look-alike is
   * named for what it is (an invisible character, a no-break space) rather than as reserved.
   */
  public static List<String> checkSubject(String user, Collection<String> groups, ReservedNames reserved) {
    Crypto.principal(user, "user");
    if (groups == null || groups.isEmpty()) {
      throw new CredentialException("at least one group is required for " + Crypto.quote(user));
    }
    Set<String> sorted = new TreeSet<>();
    for (String g : groups) {
      sorted.add(Crypto.principal(g, "group"));
    }
    reserved.refuse(user, "user");
    for (String g : sorted) {
      reserved.refuse(g, "group");
    }
    return List.copyOf(sorted);
  }

  /** Refuses a missing, non-positive or above-{@link Lifetimes#ABSOLUTE_MAX} TTL. */
  public static Duration checkTtl(Duration ttl) {
    if (ttl == null) {
      throw new CredentialException("a TTL is required");
    }
    try {
      return Lifetimes.requireWithinCap(ttl, "TTL");
    } catch (IllegalArgumentException e) {
      throw new CredentialException(e.getMessage() + " (short-lived credentials only)");
    }
  }

  public static PKCS10CertificationRequest parseCsr(String csrPem) {
    List<byte[]> blocks;
    try {
      blocks = Crypto.pemBlocks(csrPem, "CERTIFICATE REQUEST", "CSR");
    } catch (CredentialException e) {
      // Older tools write "NEW CERTIFICATE REQUEST".
      if (csrPem != null && csrPem.contains("-----BEGIN NEW CERTIFICATE REQUEST-----")) {
        blocks = Crypto.pemBlocks(csrPem, "NEW CERTIFICATE REQUEST", "CSR");
      } else {
        throw e;
      }
    }
    if (blocks.size() != 1) {
      throw new CredentialException("CSR must contain exactly one CERTIFICATE REQUEST block, found " + blocks.size());
    }
    return parseCsrDer(blocks.get(0));
  }

  public static PKCS10CertificationRequest parseCsrDer(byte[] der) {
    try {
      PKCS10CertificationRequest csr = new PKCS10CertificationRequest(der);
      csr.getSubject();
      csr.getSubjectPublicKeyInfo().getAlgorithm();
      return csr;
    } catch (IOException | RuntimeException e) {
      throw new CredentialException("CSR is not a well-formed PKCS#10 request (" + e.getClass().getSimpleName() + ")");
    }
  }

  /**
   * The CSR signature algorithms verified with one JCA {@link Signature} of Bouncy Castle; any other
   * goes through Bouncy Castle's content verifier. That verifier is not used for these because, for
   * ECDSA and RSA, it runs a second, discarded verification on every call (it keeps a raw signature
   * object in step for PKCS#11 sessions), which doubles the cost of the most expensive step.
   */
  private static final Map<ASN1ObjectIdentifier, String> CSR_SIGNATURES = Map.of(
      EdECObjectIdentifiers.id_Ed25519, "Ed25519",
      X9ObjectIdentifiers.ecdsa_with_SHA256, "SHA256withECDSA",
      X9ObjectIdentifiers.ecdsa_with_SHA384, "SHA384withECDSA",
      X9ObjectIdentifiers.ecdsa_with_SHA512, "SHA512withECDSA",
      PKCSObjectIdentifiers.sha256WithRSAEncryption, "SHA256withRSA",
      PKCSObjectIdentifiers.sha384WithRSAEncryption, "SHA384withRSA",
      PKCSObjectIdentifiers.sha512WithRSAEncryption, "SHA512withRSA");

  /** Checks the key's strength and the CSR's self-signature (proof of possession). */
  public static PublicKey verifiedCsrKey(PKCS10CertificationRequest csr) {
    Crypto.classify(csr.getSubjectPublicKeyInfo(), 2048, "CSR public key");
    boolean ok;
    PublicKey key;
    try {
      // The key is decoded once, here, for both the verifier and the caller.
      key = Crypto.publicKey(csr.getSubjectPublicKeyInfo());
      AlgorithmIdentifier alg = csr.getSignatureAlgorithm();
      String name = CSR_SIGNATURES.get(alg.getAlgorithm());
      ASN1Encodable params = alg.getParameters();
      boolean rsa = name != null && name.endsWith("RSA");
      if (name != null && (params == null || (rsa && DERNull.INSTANCE.equals(params)))) {
        // The same bytes Bouncy Castle's PKCS10CertificationRequest.isSignatureValid verifies.
        Signature v = Signature.getInstance(name, Crypto.BC);
        v.initVerify(key);
        v.update(csr.toASN1Structure().getCertificationRequestInfo().getEncoded(ASN1Encoding.DER));
        ok = v.verify(csr.getSignature());
      } else {
        ok = csr.isSignatureValid(new JcaContentVerifierProviderBuilder().setProvider(Crypto.BC).build(key));
      }
    } catch (Exception e) {
      throw new CredentialException("CSR signature cannot be verified (" + e.getClass().getSimpleName()
          + "): proof of possession of the private key failed");
    }
    if (!ok) {
      throw new CredentialException("CSR signature is invalid: proof of possession of the private key failed");
    }
    return key;
  }

  /**
   * An X.509 {@code Time} of {@code t} (whole seconds, UTC): UTCTime up to 2049 and GeneralizedTime
   * from 2050 on (RFC 5280, 4.1.2.5). Built from its encoding, not through {@link java.util.Date}
   * and a date format, which cost more than the rest of a certificate body.
   */
  public static Time time(Instant t) {
    OffsetDateTime d = t.atOffset(ZoneOffset.UTC);
    int year = d.getYear();
    if (year < 1950 || year > 9999) {
      throw new CredentialException("certificate time " + t + " is outside the years 1950-9999");
    }
    boolean utc = year < 2050;
    StringBuilder sb = new StringBuilder(15);
    if (utc) {
      two(sb, year % 100);
    } else {
      two(sb, year / 100);
      two(sb, year % 100);
    }
    two(sb, d.getMonthValue());
    two(sb, d.getDayOfMonth());
    two(sb, d.getHour());
    two(sb, d.getMinute());
    two(sb, d.getSecond());
    sb.append('Z');
    byte[] tlv = new byte[sb.length() + 2];
    tlv[0] = (byte) (utc ? 0x17 : 0x18);
    tlv[1] = (byte) sb.length();
    for (int i = 0; i < sb.length(); i++) {
      tlv[i + 2] = (byte) sb.charAt(i);
    }
    return new Time(utc ? ASN1UTCTime.getInstance(tlv) : ASN1GeneralizedTime.getInstance(tlv));
  }

  private static void two(StringBuilder sb, int v) {
    sb.append((char) ('0' + v / 10)).append((char) ('0' + v % 10));
  }

  /**
   * The DER of a {@code Certificate} ({@code SEQUENCE { tbsCertificate, signatureAlgorithm,
   * signatureValue }}, RFC 5280, 4.1) around a body that is already DER-encoded, so that the body
   * signed is the body written, without encoding it twice.
   */
  public static byte[] certificateDer(byte[] tbsDer, AlgorithmIdentifier algorithm, byte[] signature) {
    try {
      byte[] alg = algorithm.getEncoded(ASN1Encoding.DER);
      byte[] sig = new DERBitString(signature).getEncoded(ASN1Encoding.DER);
      int len = tbsDer.length + alg.length + sig.length;
      ByteArrayOutputStream out = new ByteArrayOutputStream(len + 6);
      out.write(0x30);
      if (len < 0x80) {
        out.write(len);
      } else {
        int n = (32 - Integer.numberOfLeadingZeros(len) + 7) / 8;
        out.write(0x80 | n);
        for (int i = n - 1; i >= 0; i--) {
          out.write(len >>> (8 * i));
        }
      }
      out.write(tbsDer);
      out.write(alg);
      out.write(sig);
      return out.toByteArray();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Refuses a CSR subject that disagrees with the identity. With {@code exact} the CSR must carry
   * exactly {@code CN=user} and the same set of O (the Kubernetes CSR API signs the CSR's own
   * subject); otherwise an empty subject, or the same CN with a subset of the groups, is accepted.
   */
  public static void checkCsrSubject(X500Name csrSubject, String user, List<String> groups, boolean exact) {
    String expected = subjectName(user, groups).toString();
    String cn = null;
    Set<String> os = new LinkedHashSet<>();
    List<String> problems = new ArrayList<>();
    for (RDN rdn : csrSubject.getRDNs()) {
      if (rdn.isMultiValued()) {
        problems.add("multi-valued RDN ('+')");
        continue;
      }
      AttributeTypeAndValue atv = rdn.getFirst();
      String value;
      try {
        value = stringValue(atv.getValue());
      } catch (CredentialException e) {
        problems.add(e.getMessage());
        continue;
      }
      if (value == null) {
        problems.add("non-string attribute value");
        continue;
      }
      if (atv.getType().equals(BCStyle.CN)) {
        if (cn != null) {
          problems.add("more than one CN");
        }
        cn = value;
      } else if (atv.getType().equals(BCStyle.O)) {
        if (!os.add(value)) {
          problems.add("duplicate O " + Crypto.quote(value));
        }
      } else {
        problems.add("attribute " + atv.getType().getId() + " is not allowed");
      }
    }
    if (cn != null && !cn.equals(user)) {
      problems.add("CN " + Crypto.quote(cn) + " is not the user " + Crypto.quote(user));
    }
    for (String o : os) {
      if (!groups.contains(o)) {
        problems.add("O " + Crypto.quote(o) + " is not one of the identity's groups");
      }
    }
    if (exact) {
      if (cn == null) {
        problems.add("CN is missing");
      }
      for (String g : groups) {
        if (!os.contains(g)) {
          problems.add("O " + Crypto.quote(g) + " is missing");
        }
      }
    }
    if (!problems.isEmpty()) {
      throw new CredentialException("CSR subject " + render(csrSubject)
          + " disagrees with the authenticated identity " + Crypto.quote(expected) + ": " + String.join(", ", problems));
    }
  }

  /** RFC 4514 rendering, quoted and escaped; a subject BC cannot render is named as such. */
  public static String render(X500Name name) {
    try {
      return Crypto.quote(name.toString());
    } catch (RuntimeException e) {
      return "<undecodable subject>";
    }
  }

  private static String stringValue(ASN1Encodable v) {
    if (!(v instanceof ASN1String)) {
      return null;
    }
    String s;
    try {
      s = ((ASN1String) v).getString();
    } catch (RuntimeException e) {
      throw new CredentialException("undecodable string value (" + e.getClass().getSimpleName() + ")");
    }
    try {
      Crypto.principal(s, "CSR subject value");
    } catch (CredentialException e) {
      throw new CredentialException("invalid value: " + e.getMessage());
    }
    return s;
  }

  /** Parses exactly one PEM certificate; refuses anything else with a message that does not echo the input. */
  public static X509Certificate parseCertificate(String pem, String what) {
    byte[] der = Crypto.singlePemBlock(pem, "CERTIFICATE", what);
    return parseCertificateDer(der, what);
  }

  public static X509Certificate parseCertificateDer(byte[] der, String what) {
    try {
      CertificateFactory cf = CertificateFactory.getInstance("X.509", Crypto.BC);
      X509Certificate c = (X509Certificate) cf.generateCertificate(new ByteArrayInputStream(der));
      if (c == null) {
        throw new CredentialException(what + " is not a DER X.509 certificate");
      }
      return c;
    } catch (GeneralSecurityException | RuntimeException e) {
      if (e instanceof CredentialException) {
        throw (CredentialException) e;
      }
      throw new CredentialException(what + " is not a well-formed X.509 certificate (" + e.getClass().getSimpleName() + ")");
    }
  }

  public static List<X509Certificate> parseCertificates(String pem, String what) {
    return Crypto.pemBlocks(pem, "CERTIFICATE", what).stream().map(d -> parseCertificateDer(d, what)).toList();
  }

}
