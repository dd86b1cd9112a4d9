package dev.kubejit.audit;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import org.bouncycastle.jcajce.interfaces.EdDSAPrivateKey;
import org.bouncycastle.jce.provider.BouncyCastleProvider;

/**
 * Ed25519 keys for signing audit checkpoints: generate, write as PEM (private key file created
 * with mode 0600), read PEM ({@code openssl genpkey -algorithm ed25519} output works), and the key
 * id that checkpoints name.
 *
 * <p>Signing and verification use a private Bouncy Castle provider instance (faster than the
 * JDK's Ed25519); Bouncy Castle is never registered globally.
 */
public final class AuditKeys {
  static final Provider BC = new BouncyCastleProvider();
  private static final String ALG = "Ed25519";

  private AuditKeys() {}

  /** Generates a new Ed25519 key pair. */
  public static KeyPair generate() {
    try {
      return KeyPairGenerator.getInstance(ALG, BC).generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("Ed25519 is unavailable", e);
    }
  }

  /**
   * Writes {@code key} as a PKCS#8 PEM file created with mode 0600; refuses to overwrite.
   *
   * @throws AuditFormatException if the file exists or cannot be written, or the key is not Ed25519
   */
  public static Path writePrivateKey(PrivateKey key, Path file) {
    PrivateKey k = toBcPrivate(key);
    String pem = pem("PRIVATE KEY", k.getEncoded());
    try {
      return dev.kubejit.api.OwnerOnlyFiles.createNew(file, pem.getBytes(StandardCharsets.US_ASCII));
    } catch (FileAlreadyExistsException e) {
      throw new AuditFormatException("refusing to overwrite existing key file " + file);
    } catch (IOException | UnsupportedOperationException e) {
      throw new AuditFormatException("cannot write key file " + file + " with mode 0600: " + e, e);
    }
  }

  /**
   * Writes {@code key} as an X.509 SubjectPublicKeyInfo PEM file; refuses to overwrite.
   *
   * @throws AuditFormatException if the file exists or cannot be written, or the key is not Ed25519
   */
  public static Path writePublicKey(PublicKey key, Path file) {
    try {
      Files.writeString(file, pem("PUBLIC KEY", toBcPublic(key).getEncoded()), StandardCharsets.US_ASCII,
          StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
      return file;
    } catch (FileAlreadyExistsException e) {
      throw new AuditFormatException("refusing to overwrite existing key file " + file);
    } catch (IOException e) {
      throw new AuditFormatException("cannot write key file " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Reads an Ed25519 private key (PKCS#8 PEM) and derives its public key.
   *
   * @throws AuditFormatException if the file is missing, not PEM, or not an Ed25519 private key
   */
  public static KeyPair readKeyPair(Path file) {
    byte[] der = readPem(file, "PRIVATE KEY");
    try {
      PrivateKey priv = KeyFactory.getInstance(ALG, BC).generatePrivate(new PKCS8EncodedKeySpec(der));
      return new KeyPair(((EdDSAPrivateKey) priv).getPublicKey(), priv);
    } catch (GeneralSecurityException | ClassCastException | IllegalArgumentException e) {
      throw new AuditFormatException(file + " does not hold an Ed25519 private key");
    }
  }

  /**
   * Reads an Ed25519 public key (SubjectPublicKeyInfo PEM, as {@code openssl pkey -pubout} writes).
   *
   * @throws AuditFormatException if the file is missing, not PEM, or not an Ed25519 public key
   */
  public static PublicKey readPublicKey(Path file) {
    byte[] der = readPem(file, "PUBLIC KEY");
    try {
      return KeyFactory.getInstance(ALG, BC).generatePublic(new X509EncodedKeySpec(der));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new AuditFormatException(file + " does not hold an Ed25519 public key");
    }
  }

  /** The key id checkpoints carry: SHA-256 (hex) of the public key's X.509 encoding. */
  public static String keyId(PublicKey key) {
    return Text.sha256Hex(toBcPublic(key).getEncoded());
  }

  static byte[] sign(PrivateKey key, byte[] message) {
    try {
      Signature s = Signature.getInstance(ALG, BC);
      s.initSign(key);
      s.update(message);
      return s.sign();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("Ed25519 signing failed: " + e.getClass().getSimpleName(), e);
    }
  }

  static boolean verify(PublicKey key, byte[] message, byte[] signature) {
    try {
      Signature s = Signature.getInstance(ALG, BC);
      s.initVerify(key);
      s.update(message);
      return s.verify(signature);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  /** Re-creates a caller's private key (JDK or BC) as a Bouncy Castle key; refuses non-Ed25519 keys. */
  static PrivateKey toBcPrivate(PrivateKey key) {
    requireNonNull(key, "private key");
    byte[] der = key.getEncoded();
    if (der == null || !"PKCS#8".equals(key.getFormat())) {
      throw new AuditFormatException("the private key must be an exportable Ed25519 key (PKCS#8), got "
          + key.getAlgorithm() + "/" + key.getFormat());
    }
    try {
      return KeyFactory.getInstance(ALG, BC).generatePrivate(new PKCS8EncodedKeySpec(der));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new AuditFormatException("the private key is not an Ed25519 key (algorithm " + key.getAlgorithm() + ")");
    }
  }

  static PublicKey toBcPublic(PublicKey key) {
    requireNonNull(key, "public key");
    byte[] der = key.getEncoded();
    if (der == null || !"X.509".equals(key.getFormat())) {
      throw new AuditFormatException("the public key must be an Ed25519 key in X.509 form, got "
          + key.getAlgorithm() + "/" + key.getFormat());
    }
    try {
      return KeyFactory.getInstance(ALG, BC).generatePublic(new X509EncodedKeySpec(der));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new AuditFormatException("the public key is not an Ed25519 key (algorithm " + key.getAlgorithm() + ")");
    }
  }

  private static String pem(String label, byte[] der) {
    return "-----BEGIN " + label + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END " + label + "-----\n";
  }

  private static byte[] readPem(Path file, String label) {
    String text;
    try {
      if (Files.size(file) > 64 * 1024) {
        throw new AuditFormatException(file + " is too large to be a key file");
      }
      text = Files.readString(file, StandardCharsets.US_ASCII);
    } catch (NoSuchFileException e) {
      throw new AuditFormatException("key file not found: " + file);
    } catch (IOException e) {
      throw new AuditFormatException("cannot read key file " + file + ": " + e.getMessage(), e);
    }
    String begin = "-----BEGIN " + label + "-----";
    String end = "-----END " + label + "-----";
    int b = text.indexOf(begin);
    int e = b < 0 ? -1 : text.indexOf(end, b);
    if (b < 0 || e < 0) {
      throw new AuditFormatException(file + " is not a PEM file with a " + Text.quote(begin) + " block");
    }
    try {
      return Base64.getMimeDecoder().decode(text.substring(b + begin.length(), e));
    } catch (IllegalArgumentException ex) {
      throw new AuditFormatException(file + " has invalid base64 in its " + label + " block");
    }
  }
}
