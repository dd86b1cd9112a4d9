package dev.kubejit.testing;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A throwaway ECDSA P-256 certificate authority and the leaf certificates a test control plane
 * needs. Uses the JDK's providers for key generation and signing; Bouncy Castle only builds the
 * certificate structures, so no provider is registered globally.
 */
final class TestPki {
  private static final String SIGNATURE_ALGORITHM = "SHA256withECDSA";
  private static final Duration CA_VALIDITY = Duration.ofDays(30);
  private static final Duration LEAF_VALIDITY = Duration.ofDays(7);

  /** Backdating absorbs clock differences between the JVM and the Go processes. */
  private static final Duration BACKDATE = Duration.ofHours(1);

  private static final SecureRandom RANDOM = new SecureRandom();

  private final KeyPair caKeys;
  private final X509Certificate caCert;

  private TestPki(KeyPair caKeys, X509Certificate caCert) {
    this.caKeys = caKeys;
    this.caCert = caCert;
  }

  /** Creates a fresh CA whose subject names it as a KubeJIT test CA. */
  static TestPki create(String commonName) {
    return create(commonName, Instant.now());
  }

  /** Creates a fresh CA valid from {@code now} (backdated) for 30 days, for a test on a fake clock. */
  static TestPki create(String commonName, Instant now) {
    KeyPair keys = newKeyPair();
    X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, commonName).build();
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
              subject,
              serial(),
              Date.from(now.minus(BACKDATE)),
              Date.from(now.plus(CA_VALIDITY)),
              subject,
              keys.getPublic());
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      b.addExtension(
          Extension.keyUsage,
          true,
          new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature));
      b.addExtension(
          Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()));
      return new TestPki(keys, sign(b, keys.getPrivate()));
    } catch (GeneralSecurityException | CertIOException e) {
      throw new IllegalStateException("cannot create test CA", e);
    }
  }

  X509Certificate caCertificate() {
    return caCert;
  }

  /** The CA's private key; only ever written to a 0600 file for the controller-manager. */
  PrivateKey caPrivateKey() {
    return caKeys.getPrivate();
  }

  /** Issues a TLS client certificate with CN={@code user} and one O= per group. */
  Issued issueClient(String user, List<String> groups) {
    requireNonNull(user, "user");
    X500NameBuilder name = new X500NameBuilder(BCStyle.INSTANCE);
    for (String g : groups) {
      name.addRDN(BCStyle.O, requireNonNull(g, "group"));
    }
    name.addRDN(BCStyle.CN, user);
    return issue(name.build(), KeyPurposeId.id_kp_clientAuth, null);
  }

  /** Issues a TLS serving certificate valid for the given DNS names and IP addresses. */
  Issued issueServer(String commonName, List<String> dnsNames, List<String> ipAddresses) {
    List<GeneralName> sans = new ArrayList<>();
    dnsNames.forEach(d -> sans.add(new GeneralName(GeneralName.dNSName, d)));
    ipAddresses.forEach(ip -> sans.add(new GeneralName(GeneralName.iPAddress, ip)));
    X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, commonName).build();
    return issue(
        subject, KeyPurposeId.id_kp_serverAuth, new GeneralNames(sans.toArray(GeneralName[]::new)));
  }

  private Issued issue(X500Name subject, KeyPurposeId purpose, GeneralNames sans) {
    KeyPair keys = newKeyPair();
    Instant now = Instant.now();
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
              caCert,
              serial(),
              Date.from(now.minus(BACKDATE)),
              Date.from(now.plus(LEAF_VALIDITY)),
              subject,
              keys.getPublic());
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose));
      b.addExtension(
          Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(caCert));
      b.addExtension(
          Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()));
      if (sans != null) {
        b.addExtension(Extension.subjectAlternativeName, false, sans);
      }
      return new Issued(sign(b, caKeys.getPrivate()), keys.getPrivate(), caCert);
    } catch (GeneralSecurityException | CertIOException e) {
      throw new IllegalStateException("cannot issue certificate for " + subject, e);
    }
  }

  /** Generates an ECDSA P-256 key pair with the JDK provider. */
  static KeyPair newKeyPair() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("no ECDSA P-256 support in this JDK", e);
    }
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey signer)
      throws GeneralSecurityException {
    try {
      ContentSigner cs = new JcaContentSignerBuilder(SIGNATURE_ALGORITHM).build(signer);
      return new JcaX509CertificateConverter().getCertificate(b.build(cs));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException(e);
    }
  }

  private static BigInteger serial() {
    return new BigInteger(127, RANDOM).add(BigInteger.ONE);
  }

  /** PEM text of a certificate. */
  static String pem(X509Certificate cert) {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(out)) {
      w.writeObject(cert);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  /** PEM text of a public key (PKIX "PUBLIC KEY"). */
  static String pem(PublicKey key) {
    return pemBlock("PUBLIC KEY", key.getEncoded());
  }

  /** PEM text of a private key (PKCS#8 "PRIVATE KEY"); callers must only write it to 0600 files. */
  static String pem(PrivateKey key) {
    return pemBlock("PRIVATE KEY", key.getEncoded());
  }

  private static String pemBlock(String type, byte[] der) {
    String body =
        Base64.getMimeEncoder(64, "\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII))
            .encodeToString(der);
    return "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n";
  }

  /**
   * Key managers that always present {@code issued} as the TLS client certificate, even when the
   * server's list of acceptable issuers does not name its CA (JSSE would otherwise silently send no
   * certificate, and a test meant to see a rejected certificate would see an anonymous user).
   */
  static KeyManager[] keyManagers(Issued issued) {
    return new KeyManager[] {new FixedIdentityKeyManager(issued)};
  }

  /** An SSL context trusting only {@code ca} and presenting {@code client} (if non-null). */
  static SSLContext sslContext(X509Certificate ca, Issued client) {
    try {
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      trust.setCertificateEntry("ca", ca);
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(client == null ? null : keyManagers(client), tmf.getTrustManagers(), RANDOM);
      return ctx;
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("cannot build SSL context", e);
    }
  }

  /** An {@link X509ExtendedKeyManager} with exactly one client identity. */
  private static final class FixedIdentityKeyManager extends X509ExtendedKeyManager {
    private static final String ALIAS = "client";
    private final Issued identity;

    FixedIdentityKeyManager(Issued identity) {
      this.identity = identity;
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return new String[] {ALIAS};
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
      return ALIAS;
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
      return ALIAS;
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return null;
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return null;
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return ALIAS.equals(alias) ? new X509Certificate[] {identity.certificate} : null;
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      return ALIAS.equals(alias) ? identity.key : null;
    }

    @Override
    public String toString() {
      return "FixedIdentityKeyManager[" + identity + "]";
    }
  }

  /** A certificate, its private key and its issuer. {@link #toString()} never shows the key. */
  static final class Issued {
    final X509Certificate certificate;
    final PrivateKey key;
    final X509Certificate issuer;

    Issued(X509Certificate certificate, PrivateKey key, X509Certificate issuer) {
      this.certificate = certificate;
      this.key = key;
      this.issuer = issuer;
    }

    String certificatePem() {
      return pem(certificate);
    }

    String keyPem() {
      return pem(key);
    }

    @Override
    public String toString() {
      return "Issued[" + certificate.getSubjectX500Principal().getName() + "]";
    }
  }
}
