package dev.kubejit.credentials.internal;

import dev.kubejit.api.PrincipalNames;
import dev.kubejit.api.SafeText;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.RSAKeyGenParameterSpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.List;
import dev.kubejit.credentials.CredentialException;
import dev.kubejit.credentials.KeyType;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.edec.EdECObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemReader;

/**
 * Shared cryptographic plumbing: one Bouncy Castle provider instance (never registered globally),
 * key generation, PEM in and out, key-strength checks, fingerprints and 0600 file writes.
 *
 * <p>Design notes: every signing path names {@link #BC} explicitly (BC's Ed25519 and ECDSA are
 * much faster than the JDK's, and an explicit provider keeps the choice out of the global provider
 * list). Messages built here name values through {@link #quote}, which escapes control and
 * non-ASCII characters so hostile names cannot forge log lines. Nothing here ever renders key
 * bytes into a string other than the PEM that goes to a 0600 file.
 *
 * <p><b>Internal:</b> public only so that the jit-credentials-* artifacts (SSH, JWT, Kubernetes
 * CSR) share one implementation; not an API, may change in any release. Embedders use the public
 * types of {@code dev.kubejit.credentials} and its sub-packages instead.
 */
public final class Crypto {
  public static final Provider BC = new BouncyCastleProvider();
  public static final SecureRandom RANDOM = new SecureRandom();
  private static final int MAX_PEM_CHARS = 64 * 1024;

  private Crypto() {}

  public static KeyPair generate(KeyType type) {
    try {
      KeyPairGenerator g;
      switch (type) {
        case ED25519:
          g = KeyPairGenerator.getInstance("Ed25519", BC);
          break;
        case ECDSA_P256:
          g = KeyPairGenerator.getInstance("EC", BC);
          g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
          break;
        case ECDSA_P384:
          g = KeyPairGenerator.getInstance("EC", BC);
          g.initialize(new ECGenParameterSpec("secp384r1"), RANDOM);
          break;
        case RSA_3072:
        case RSA_4096:
          g = KeyPairGenerator.getInstance("RSA", BC);
          g.initialize(new RSAKeyGenParameterSpec(type.bits(), RSAKeyGenParameterSpec.F4), RANDOM);
          break;
        default:
          throw new IllegalStateException("unhandled key type " + type);
      }
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new CredentialException("cannot generate a " + type + " key pair: " + e.getMessage(), e);
    }
  }

  /** The X.509 signature algorithm a CA of this key type signs with. */
  public static String x509SignatureAlgorithm(KeyType type) {
    switch (type) {
      case ED25519:
        return "Ed25519";
      case ECDSA_P256:
        return "SHA256withECDSA";
      case ECDSA_P384:
        return "SHA384withECDSA";
      default:
        return "SHA256withRSA";
    }
  }

  /**
   * Classifies a public key and refuses weak or unknown ones: RSA below {@code minRsaBits}, EC
   * curves other than P-256 and P-384, DSA, Ed448 and anything else.
   */
  public static KeyType classify(PublicKey key, int minRsaBits, String what) {
    SubjectPublicKeyInfo spki = SubjectPublicKeyInfo.getInstance(key.getEncoded());
    return classify(spki, minRsaBits, what);
  }

  public static KeyType classify(SubjectPublicKeyInfo spki, int minRsaBits, String what) {
    ASN1ObjectIdentifier alg = spki.getAlgorithm().getAlgorithm();
    if (EdECObjectIdentifiers.id_Ed25519.equals(alg)) {
      return KeyType.ED25519;
    }
    if (X9ObjectIdentifiers.id_ecPublicKey.equals(alg)) {
      Object params = spki.getAlgorithm().getParameters();
      if (!(params instanceof ASN1ObjectIdentifier)) {
        throw new CredentialException(what + " uses explicit or implicit EC parameters; only named curves P-256 and P-384 are accepted");
      }
      ASN1ObjectIdentifier curve = (ASN1ObjectIdentifier) params;
      if (SECObjectIdentifiers.secp256r1.equals(curve)) {
        return KeyType.ECDSA_P256;
      }
      if (SECObjectIdentifiers.secp384r1.equals(curve)) {
        return KeyType.ECDSA_P384;
      }
      throw new CredentialException(what + " uses an unsupported elliptic curve " + curve.getId()
          + "; accepted: P-256, P-384, Ed25519");
    }
    if (PKCSObjectIdentifiers.rsaEncryption.equals(alg)) {
      int bits;
      try {
        RSAPublicKey rsa = (RSAPublicKey) KeyFactory.getInstance("RSA", BC)
            .generatePublic(new X509EncodedKeySpec(spki.getEncoded()));
        bits = rsa.getModulus().bitLength();
      } catch (GeneralSecurityException | IOException e) {
        throw new CredentialException(what + " has a malformed RSA public key", e);
      }
      if (bits < minRsaBits) {
        throw new CredentialException(what + " is a " + bits + "-bit RSA key; at least " + minRsaBits + " bits are required");
      }
      return bits >= 4096 ? KeyType.RSA_4096 : KeyType.RSA_3072;
    }
    throw new CredentialException(what + " uses an unsupported key algorithm " + algorithmName(alg)
        + "; accepted: Ed25519, ECDSA P-256/P-384, RSA");
  }

  private static String algorithmName(ASN1ObjectIdentifier alg) {
    if (X9ObjectIdentifiers.id_dsa.equals(alg)) {
      return "DSA (" + alg.getId() + ")";
    }
    if (EdECObjectIdentifiers.id_Ed448.equals(alg)) {
      return "Ed448 (" + alg.getId() + ")";
    }
    return alg.getId();
  }

  public static PublicKey publicKey(SubjectPublicKeyInfo spki) {
    try {
      String alg = KeyFactoryAlgorithm.of(spki.getAlgorithm().getAlgorithm());
      return KeyFactory.getInstance(alg, BC).generatePublic(new X509EncodedKeySpec(spki.getEncoded()));
    } catch (GeneralSecurityException | IOException e) {
      throw new CredentialException("malformed public key", e);
    }
  }

  public static PrivateKey privateKey(byte[] pkcs8, String what) {
    try {
      org.bouncycastle.asn1.pkcs.PrivateKeyInfo info = org.bouncycastle.asn1.pkcs.PrivateKeyInfo.getInstance(pkcs8);
      String alg = KeyFactoryAlgorithm.of(info.getPrivateKeyAlgorithm().getAlgorithm());
      return KeyFactory.getInstance(alg, BC).generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
    } catch (GeneralSecurityException | RuntimeException e) {
      // Never include the key bytes or the provider's message (it may echo input) in the message.
      throw new CredentialException(what + " is not a readable PKCS#8 private key");
    }
  }

  /** Maps key algorithm OIDs to JCA KeyFactory names. */
  public static final class KeyFactoryAlgorithm {
    private KeyFactoryAlgorithm() {}

    public static String of(ASN1ObjectIdentifier oid) {
      if (EdECObjectIdentifiers.id_Ed25519.equals(oid)) {
        return "Ed25519";
      }
      if (X9ObjectIdentifiers.id_ecPublicKey.equals(oid)) {
        return "EC";
      }
      if (PKCSObjectIdentifiers.rsaEncryption.equals(oid)) {
        return "RSA";
      }
      throw new CredentialException("unsupported key algorithm " + oid.getId());
    }
  }

  public static boolean sameKey(PublicKey a, PublicKey b) {
    return MessageDigest.isEqual(a.getEncoded(), b.getEncoded());
  }

  /** PEM text of an object BC's writer understands (certificate, CSR, public key). */
  public static String pem(Object o) {
    StringWriter sw = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(sw)) {
      w.writeObject(o);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return sw.toString();
  }

  /**
   * PKCS#8 v1 "PRIVATE KEY" PEM of a private key; for 0600 files and holder hand-off only. BC
   * writes Ed25519 keys as PKCS#8 v2 (with the public key), which OpenSSL 3.0 cannot read, so the
   * structure is re-encoded as v1.
   */
  public static String pkcs8Pem(PrivateKey key) {
    StringWriter sw = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(sw)) {
      org.bouncycastle.asn1.pkcs.PrivateKeyInfo info = org.bouncycastle.asn1.pkcs.PrivateKeyInfo.getInstance(key.getEncoded());
      org.bouncycastle.asn1.pkcs.PrivateKeyInfo v1 =
          new org.bouncycastle.asn1.pkcs.PrivateKeyInfo(info.getPrivateKeyAlgorithm(), info.parsePrivateKey());
      w.writeObject(new PemObject("PRIVATE KEY", v1.getEncoded("DER")));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return sw.toString();
  }

  /**
   * Reads every PEM block of {@code type} from {@code text}; refuses text that is too large, has no
   * such block, or whose base64 is malformed. Messages never echo the input.
   */
  public static List<byte[]> pemBlocks(String text, String type, String what) {
    if (text == null) {
      throw new CredentialException(what + " is required");
    }
    if (text.length() > MAX_PEM_CHARS) {
      throw new CredentialException(what + " is larger than " + MAX_PEM_CHARS + " characters");
    }
    List<byte[]> out = new ArrayList<>();
    try (PemReader r = new PemReader(new StringReader(text))) {
      PemObject o;
      while ((o = r.readPemObject()) != null) {
        if (!o.getType().equals(type)) {
          throw new CredentialException(what + " contains a PEM block of type " + quote(o.getType())
              + " where " + quote(type) + " was expected");
        }
        out.add(o.getContent());
      }
    } catch (IOException | RuntimeException e) {
      if (e instanceof CredentialException) {
        throw (CredentialException) e;
      }
      throw new CredentialException(what + " is not well-formed PEM (" + e.getClass().getSimpleName() + ")");
    }
    if (out.isEmpty()) {
      throw new CredentialException(what + " contains no PEM block of type " + quote(type));
    }
    return out;
  }

  public static byte[] singlePemBlock(String text, String type, String what) {
    List<byte[]> blocks = pemBlocks(text, type, what);
    if (blocks.size() != 1) {
      throw new CredentialException(what + " must contain exactly one " + quote(type) + " block, found " + blocks.size());
    }
    return blocks.get(0);
  }

  public static String sha256Hex(byte[] data) {
    return com.google.common.hash.Hashing.sha256().hashBytes(data).toString();
  }

  /** A positive, non-zero 128-bit random serial number. */
  public static BigInteger serial128(SecureRandom random) {
    BigInteger s;
    do {
      s = new BigInteger(128, random);
    } while (s.signum() == 0);
    return s;
  }

  /**
   * Writes {@code content} to {@code file} with mode 0600 from the first byte: a temporary file is
   * created with that mode in the same directory and moved into place.
   */
  public static void writePrivate(Path file, String content) {
    try {
      dev.kubejit.api.OwnerOnlyFiles.replace(file, content.getBytes(UTF_8));
    } catch (IOException e) {
      throw new CredentialException("cannot write " + quote(file.toString()) + ": " + e.getClass().getSimpleName() + " " + quote(String.valueOf(e.getMessage())), e);
    }
  }

  /** Writes a public file (certificate, public key) with the default mode; refuses to follow nothing special. */
  public static void writePublic(Path file, String content) {
    try {
      Path dir = file.toAbsolutePath().getParent();
      Files.createDirectories(dir);
      Files.writeString(file, content, UTF_8);
    } catch (IOException e) {
      throw new CredentialException("cannot write " + quote(file.toString()) + ": " + e.getClass().getSimpleName(), e);
    }
  }

  public static String read(Path file, String what) {
    try {
      if (Files.size(file) > MAX_PEM_CHARS) {
        throw new CredentialException(what + " " + quote(file.toString()) + " is larger than " + MAX_PEM_CHARS + " bytes");
      }
      return Files.readString(file, UTF_8);
    } catch (java.nio.charset.MalformedInputException e) {
      throw new CredentialException(what + " " + quote(file.toString()) + " is not valid UTF-8 text");
    } catch (IOException e) {
      throw new CredentialException("cannot read " + what + " " + quote(file.toString()) + ": " + e.getClass().getSimpleName(), e);
    }
  }

  public static void refuseIfExists(Path file) {
    if (Files.exists(file)) {
      throw new CredentialException("refusing to overwrite existing " + quote(file.toString()),
          new FileAlreadyExistsException(file.toString()));
    }
  }

  /** Renders a value for an error message with quotes, control and non-ASCII characters escaped. */
  public static String quote(String value) {
    return SafeText.quote(value);
  }

  /** Renders names as a list, each quoted and escaped: {@code ["alice", "\u0430dmin"]}. */
  public static String quoteAll(java.util.Collection<String> values) {
    List<String> q = new ArrayList<>(values.size());
    for (String v : values) {
      q.add(quote(v));
    }
    return "[" + String.join(", ", q) + "]";
  }

  /**
   * Checks a user, group or principal name with the project's one rule, {@link
   * PrincipalNames#check}; a refusal is a {@link CredentialException} with the escaped value.
   */
  public static String principal(String value, String what) {
    try {
      return PrincipalNames.check(value, what);
    } catch (IllegalArgumentException e) {
      throw new CredentialException(e.getMessage());
    }
  }

  /**
   * Checks text that is not a principal name (a request id, a cluster or CA name, a JWT issuer or
   * audience, a command): 1..256 characters, valid UTF-16 (no lone surrogates, which cannot be
   * encoded as UTF-8), no control or replacement characters, no surrounding space.
   */
  public static String requireLabel(String value, String what) {
    if (value == null || value.isEmpty()) {
      throw new CredentialException(what + " is required");
    }
    if (value.length() > 256) {
      throw new CredentialException(what + " is longer than 256 characters: " + quote(value));
    }
    for (int i = 0; i < value.length(); ) {
      int cp = value.codePointAt(i);
      if (Character.isISOControl(cp) || cp == 0xFFFD || cp == 0x2028 || cp == 0x2029
          || Character.getType(cp) == Character.SURROGATE || !Character.isDefined(cp)) {
        throw new CredentialException(what + " contains a control, replacement or invalid character: " + quote(value));
      }
      i += Character.charCount(cp);
    }
    if (!value.strip().equals(value)) {
      throw new CredentialException(what + " has leading or trailing whitespace: " + quote(value));
    }
    return value;
  }
}
