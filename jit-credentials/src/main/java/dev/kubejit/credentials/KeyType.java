package dev.kubejit.credentials;

import dev.kubejit.credentials.internal.Crypto;
import java.util.Locale;

/** The key algorithms KubeJIT generates for certificate authorities, signing keys and server-side client keys. */
public enum KeyType {
  /** Ed25519 (RFC 8032); the default. */
  ED25519("ed25519", 0),
  /** ECDSA on NIST P-256 with SHA-256. */
  ECDSA_P256("ecdsa-p256", 0),
  /** ECDSA on NIST P-384 with SHA-384. */
  ECDSA_P384("ecdsa-p384", 0),
  /** RSA with a 3072-bit modulus. */
  RSA_3072("rsa-3072", 3072),
  /** RSA with a 4096-bit modulus. */
  RSA_4096("rsa-4096", 4096);

  private final String cliName;
  private final int bits;

  KeyType(String cliName, int bits) {
    this.cliName = cliName;
    this.bits = bits;
  }

  /** The name used on the command line, e.g. {@code ecdsa-p256}. */
  public String cliName() {
    return cliName;
  }

  /** The RSA modulus size in bits; 0 for the elliptic-curve types, whose size the curve fixes. */
  public int bits() {
    return bits;
  }

  boolean isRsa() {
    return bits > 0;
  }

  /** Parses a command-line name such as {@code ed25519}, {@code ecdsa-p256} or {@code rsa-3072}. */
  public static KeyType parse(String name) {
    if (name != null) {
      String n = name.toLowerCase(Locale.ROOT);
      for (KeyType t : values()) {
        if (t.cliName.equals(n)) {
          return t;
        }
      }
    }
    throw new CredentialException("unknown key type " + Crypto.quote(name)
        + "; expected one of ed25519, ecdsa-p256, ecdsa-p384, rsa-3072, rsa-4096");
  }
}
