package dev.kubejit.cli;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.OpenSshCertificate;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.config.keys.writer.openssh.OpenSSHKeyPairResourceWriter;
import org.bouncycastle.jce.provider.BouncyCastleProvider;

/**
 * OpenSSH encodings the client needs (through Apache MINA SSHD, which jit-credentials-ssh brings):
 * a new Ed25519 key pair as an unencrypted OpenSSH private key and its public key line, and the
 * public key line of a key held elsewhere (a PKCS#11 token's EC or RSA key). The private key text
 * returned by {@link #generateEd25519} is secret; callers write it 0600 and never print it.
 */
final class OpenSshKeys {
  private static final BouncyCastleProvider BC = new BouncyCastleProvider();

  private OpenSshKeys() {}

  /** A new Ed25519 key: {@code [OpenSSH private key text, public key line]}. */
  static String[] generateEd25519(String comment) {
    try {
      KeyPair kp = KeyPairGenerator.getInstance("Ed25519", BC).generateKeyPair();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      OpenSSHKeyPairResourceWriter.INSTANCE.writePrivateKey(kp, comment, null, out);
      return new String[] {out.toString(StandardCharsets.UTF_8), publicKeyLine(kp.getPublic(), comment)};
    } catch (GeneralSecurityException | java.io.IOException e) {
      throw new CliException("cannot create an Ed25519 SSH key: " + e.getClass().getSimpleName());
    }
  }

  /** Whether {@code certificateLine} is an OpenSSH certificate for the key of {@code publicKeyLine}. */
  static boolean certifies(String certificateLine, String publicKeyLine) {
    try {
      PublicKey cert = PublicKeyEntry.parsePublicKeyEntry(certificateLine).resolvePublicKey(null, null, null);
      PublicKey key = PublicKeyEntry.parsePublicKeyEntry(publicKeyLine).resolvePublicKey(null, null, null);
      return cert instanceof OpenSshCertificate && KeyUtils.compareKeys(((OpenSshCertificate) cert).getCertPubKey(), key);
    } catch (GeneralSecurityException | java.io.IOException | RuntimeException e) {
      return false;
    }
  }

  /** {@code ecdsa-sha2-nistp256 AAAA... comment} (or ssh-rsa, ssh-ed25519) for {@code key}. */
  static String publicKeyLine(PublicKey key, String comment) {
    if (!(key instanceof ECPublicKey || key instanceof RSAPublicKey || "Ed25519".equals(key.getAlgorithm())
        || "EdDSA".equals(key.getAlgorithm()))) {
      throw new CliException("a " + key.getAlgorithm() + " key has no OpenSSH form here (EC P-256/P-384, RSA, Ed25519)", 1);
    }
    try {
      return PublicKeyEntry.toString(key) + " " + comment;
    } catch (RuntimeException e) {
      throw new CliException("cannot encode the " + key.getAlgorithm() + " public key for OpenSSH: " + e.getMessage(), 1);
    }
  }
}
