package dev.kubejit.cli;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.Provider;
import java.security.Security;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Test fixture, run in its own JVM with {@code SOFTHSM2_CONF} set: generates an ECDSA P-256 key
 * pair inside the token (private key {@code CKA_TOKEN}, {@code CKA_SENSITIVE}, not {@code
 * CKA_EXTRACTABLE}), stores it under a label with a placeholder self-signed certificate (signed
 * inside the token; SunPKCS11's key store shows only keys that have a certificate) with the public key
 * object under the same {@code CKA_ID} (OpenSSH's PKCS#11 client pairs them by it), and prints the
 * key's description as SunPKCS11 reads its attributes back, then the public key (base64 SPKI).
 *
 * <p>Arguments: module path, PIN file, label.
 */
public final class SoftHsmKeyGen {
  private SoftHsmKeyGen() {}

  public static void main(String[] args) throws Exception {
    String module = args[0];
    char[] pin = Files.readString(Path.of(args[1])).strip().toCharArray();
    String label = args[2];
    // the public key object gets the CKA_ID that SunPKCS11's key store gives the private key and the
    // certificate (the alias), as tokens pair them: OpenSSH finds the private key by its public key's CKA_ID
    String id = java.util.HexFormat.of().formatHex(label.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    Provider p = Security.getProvider("SunPKCS11").configure("--name=kubejit-keygen\nlibrary=" + module
        + "\nslotListIndex=0\n"
        + "attributes(generate, CKO_PRIVATE_KEY, *) = {\n  CKA_TOKEN = true\n  CKA_PRIVATE = true\n"
        + "  CKA_SENSITIVE = true\n  CKA_EXTRACTABLE = false\n}\n"
        + "attributes(generate, CKO_PUBLIC_KEY, *) = {\n  CKA_TOKEN = true\n  CKA_ID = 0h" + id + "\n}\n");
    Security.addProvider(p);
    KeyStore ks = KeyStore.getInstance("PKCS11", p);
    ks.load(null, pin);
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC", p);
    g.initialize(new ECGenParameterSpec("secp256r1"));
    KeyPair kp = g.generateKeyPair();
    X500Name name = new X500Name("CN=" + label + " placeholder");
    Instant now = Instant.now();
    X509Certificate placeholder = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(
        name, BigInteger.ONE, Date.from(now), Date.from(now.plusSeconds(86400)), name, kp.getPublic())
        .build(new JcaContentSignerBuilder("SHA256withECDSA").setProvider(p).build(kp.getPrivate())));
    ks.setKeyEntry(label, kp.getPrivate(), null, new Certificate[] {placeholder});
    KeyStore reread = KeyStore.getInstance("PKCS11", p);
    reread.load(null, pin);
    java.security.Key stored = reread.getKey(label, null);
    System.out.println(stored + " encoded=" + (stored.getEncoded() == null ? "none" : "PRESENT"));
    System.out.println(Base64.getEncoder().encodeToString(reread.getCertificate(label).getPublicKey().getEncoded()));
  }
}
