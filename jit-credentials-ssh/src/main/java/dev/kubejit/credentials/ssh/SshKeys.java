package dev.kubejit.credentials.ssh;

import dev.kubejit.credentials.CredentialException;
import dev.kubejit.credentials.internal.Crypto;
import java.security.PublicKey;
import java.security.interfaces.RSAPublicKey;
import java.util.Base64;
import org.apache.sshd.common.config.keys.AuthorizedKeyEntry;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.OpenSshCertificate;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.config.keys.PublicKeyEntryResolver;

/**
 * OpenSSH public key plumbing over Apache MINA SSHD: parsing key lines, strength checks,
 * fingerprints and the CA signature algorithm.
 *
 * <p>Design notes: accepted user and CA keys are ssh-ed25519, ecdsa-sha2-nistp256/384 and RSA of at
 * least 2048 bits (3072 for a CA); DSA, security-key and certificate types are refused. Parsing
 * errors never echo the key material back.
 */
final class SshKeys {
  private SshKeys() {}

  private static final java.util.regex.Pattern WHITESPACE = java.util.regex.Pattern.compile("\\s+");

  static PublicKey parseUserPublicKey(String line) {
    if (line == null || line.isBlank()) {
      throw new CredentialException("SSH public key is required");
    }
    if (line.length() > 16 * 1024) {
      throw new CredentialException("SSH public key line is longer than 16 KiB");
    }
    String trimmed = line.strip();
    if (trimmed.contains("\n") || trimmed.contains("\r")) {
      throw new CredentialException("SSH public key must be a single line");
    }
    String[] fields = WHITESPACE.split(trimmed);
    String type = fields[0];
    if (type.contains("-cert-v01@openssh.com")) {
      throw new CredentialException("expected an SSH public key, got a certificate of type " + Crypto.quote(type));
    }
    PublicKey key;
    try {
      AuthorizedKeyEntry e = AuthorizedKeyEntry.parseAuthorizedKeyEntry(trimmed);
      if (e == null) {
        throw new CredentialException("SSH public key line is empty");
      }
      key = e.resolvePublicKey(null, null, PublicKeyEntryResolver.FAILING);
    } catch (CredentialException e) {
      throw e;
    } catch (Exception e) {
      throw new CredentialException("SSH public key of type " + Crypto.quote(type) + " is malformed or unsupported ("
          + e.getClass().getSimpleName() + ")");
    }
    if (key == null) {
      throw new CredentialException("SSH public key of type " + Crypto.quote(type) + " is unsupported");
    }
    // The parser reads the fields it needs and ignores what follows; a blob that does not encode back
    // to itself (trailing or non-canonical data, found by fuzzing) is refused, so that the key that
    // is certified is exactly the key that was sent.
    if (!java.util.Arrays.asList(fields).contains(line(key).split(" ")[1])) {
      throw new CredentialException("SSH public key of type " + Crypto.quote(type)
          + " is not canonically encoded (its blob has trailing or malformed data)");
    }
    checkUserKey(key, "SSH public key");
    return key;
  }

  static void checkUserKey(PublicKey key, String what) {
    if (key instanceof OpenSshCertificate) {
      throw new CredentialException(what + " is a certificate, not a key");
    }
    String type = KeyUtils.getKeyType(key);
    if (type == null) {
      throw new CredentialException(what + " has an unsupported algorithm " + Crypto.quote(key.getAlgorithm()));
    }
    switch (type) {
      case "ssh-ed25519":
      case "ecdsa-sha2-nistp256":
      case "ecdsa-sha2-nistp384":
        return;
      case "ssh-rsa": {
        int bits = ((RSAPublicKey) key).getModulus().bitLength();
        int min = what.contains("CA") ? 3072 : 2048;
        if (bits < min) {
          throw new CredentialException(what + " is a " + bits + "-bit RSA key; at least " + min + " bits are required");
        }
        return;
      }
      default:
        throw new CredentialException(what + " has unsupported type " + Crypto.quote(type)
            + "; accepted: ssh-ed25519, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ssh-rsa (>= 2048 bits)");
    }
  }

  static String signatureAlgorithm(PublicKey caKey) {
    String type = KeyUtils.getKeyType(caKey);
    return "ssh-rsa".equals(type) ? "rsa-sha2-512" : type;
  }

  /** {@code type base64} without a comment. */
  static String line(PublicKey key) {
    return PublicKeyEntry.toString(key);
  }

  /** OpenSSH-style {@code SHA256:base64} fingerprint of a key (or of a certificate's key blob). */
  static String fingerprint(PublicKey key) {
    String line = PublicKeyEntry.toString(key);
    byte[] blob = Base64.getDecoder().decode(line.split(" ")[1]);
    try {
      byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(blob);
      return "SHA256:" + Base64.getEncoder().withoutPadding().encodeToString(d);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
