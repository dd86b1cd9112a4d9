package dev.kubejit.credentials;

import dev.kubejit.credentials.internal.Crypto;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/** Key pairs and CSRs built in-process for unit tests (the openssl tests make their own). */
public final class TestKeys {
  private TestKeys() {}

  public static KeyPair ed25519() {
    return Crypto.generate(KeyType.ED25519);
  }

  public static KeyPair ec(String curve) throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC", Crypto.BC);
    g.initialize(new ECGenParameterSpec(curve));
    return g.generateKeyPair();
  }

  public static KeyPair rsa(int bits) throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA", Crypto.BC);
    g.initialize(bits);
    return g.generateKeyPair();
  }

  public static PKCS10CertificationRequest csr(KeyPair kp, String subject) throws Exception {
    String alg = kp.getPublic().getAlgorithm().startsWith("Ed") ? "Ed25519"
        : kp.getPublic().getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
    return new JcaPKCS10CertificationRequestBuilder(new X500Name(subject), kp.getPublic())
        .build(new JcaContentSignerBuilder(alg).setProvider(Crypto.BC).build(kp.getPrivate()));
  }

  public static String csrPem(KeyPair kp, String subject) throws Exception {
    return Crypto.pem(csr(kp, subject));
  }

  public static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  /** Base64 of the key's encoding and of its PEM body: neither may ever appear in a message. */
  public static String[] secretsOf(java.security.PrivateKey k) {
    String b64 = Base64.getEncoder().encodeToString(k.getEncoded());
    return new String[] {b64, b64.substring(0, Math.min(40, b64.length())), b64.substring(b64.length() / 2, b64.length() / 2 + 20)};
  }
}
