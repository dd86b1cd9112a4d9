package dev.kubejit.cli;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The development TLS setup {@code kubejit init} writes: a serving CA of its own (separate from the
 * CA that signs engineers' certificates) and a server certificate for {@code localhost}, {@code
 * 127.0.0.1} and {@code ::1} signed by it, ECDSA P-256, 90 days. The CA's private key is not kept:
 * it signs this one certificate and is dropped, so nothing else can ever be signed with it.
 */
final class DevServingTls {
  static final Duration VALIDITY = Duration.ofDays(90);

  private DevServingTls() {}

  /** Writes {@code dir/ca.crt}, {@code dir/server.crt} and {@code dir/server.key} (0600). */
  static void write(Path dir, Clock clock) throws IOException {
    try {
      Instant now = clock.instant();
      Date from = Date.from(now.minus(Duration.ofMinutes(5)));
      Date to = Date.from(now.plus(VALIDITY));
      KeyPair caKey = ecKey();
      X500Name caName = new X500Name("CN=kubejit-dev-serving-ca");
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder cab = new JcaX509v3CertificateBuilder(caName, serial(), from, to, caName, caKey.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
          .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(caKey.getPublic()));
      X509Certificate ca = sign(cab, caKey);
      KeyPair serverKey = ecKey();
      X509v3CertificateBuilder sb = new JcaX509v3CertificateBuilder(ca, serial(), from, to,
          new X500Name("CN=localhost"), serverKey.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
          .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth))
          .addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
              new GeneralName(GeneralName.dNSName, "localhost"),
              new GeneralName(GeneralName.iPAddress, "127.0.0.1"),
              new GeneralName(GeneralName.iPAddress, "::1")}))
          .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(ca))
          .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(serverKey.getPublic()));
      X509Certificate server = sign(sb, caKey);
      Files.writeString(dir.resolve("ca.crt"), pem("CERTIFICATE", ca.getEncoded()), StandardCharsets.US_ASCII);
      Files.writeString(dir.resolve("server.crt"), pem("CERTIFICATE", server.getEncoded()), StandardCharsets.US_ASCII);
      Path key = Files.createFile(dir.resolve("server.key"),
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.writeString(key, pem("PRIVATE KEY", serverKey.getPrivate().getEncoded()), StandardCharsets.US_ASCII);
    } catch (GeneralSecurityException | OperatorCreationException e) {
      throw new IllegalStateException("cannot make the development TLS certificate: " + e.getClass().getSimpleName(), e);
    }
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, KeyPair key)
      throws OperatorCreationException, GeneralSecurityException {
    return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA")
        .build(key.getPrivate())));
  }

  private static KeyPair ecKey() throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    return g.generateKeyPair();
  }

  private static BigInteger serial() {
    return new BigInteger(127, new SecureRandom()).add(BigInteger.ONE);
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }
}
