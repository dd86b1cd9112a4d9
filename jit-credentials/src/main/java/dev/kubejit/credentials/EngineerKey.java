package dev.kubejit.credentials;

import static java.util.Objects.requireNonNull;

import dev.kubejit.credentials.internal.Crypto;
import dev.kubejit.api.CredentialSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * The engineer's side of an X.509 grant: a private key made on the engineer's own machine and
 * the PKCS#10 certificate signing request that carries only its public half to the broker.
 *
 * <p>The key is written to a file with mode 0600 from its first byte and never leaves this
 * object except through that file. The CSR's subject is empty: the broker decides the user and
 * the groups, never the CSR, and an empty subject makes that plain. Keys are generated and the
 * CSR signed with Bouncy Castle's provider, which is many times faster than the JDK's for
 * Ed25519.
 *
 * <pre>{@code
 * EngineerKey key = EngineerKey.create(KeyType.ED25519, Path.of(home, ".kube/jit/alice.key"));
 * Activation a = broker.activate(requestId, alice, key.csrSpec());
 * }</pre>
 */
public final class EngineerKey {
  private final KeyType type;
  private final Path privateKeyFile;
  private final String csrPem;

  private EngineerKey(KeyType type, Path privateKeyFile, String csrPem) {
    this.type = type;
    this.privateKeyFile = privateKeyFile;
    this.csrPem = csrPem;
  }

  /**
   * Generates a key of {@code type}, writes its private half (PKCS#8 PEM, mode 0600) to {@code
   * privateKeyFile} and makes the CSR.
   *
   * @throws CredentialException if the file already exists (a key is never overwritten) or
   *     cannot be written; nothing is left behind
   */
  public static EngineerKey create(KeyType type, Path privateKeyFile) {
    requireNonNull(type, "type");
    requireNonNull(privateKeyFile, "privateKeyFile");
    if (Files.exists(privateKeyFile)) {
      throw new CredentialException("refusing to overwrite the existing key file " + privateKeyFile);
    }
    KeyPair kp = Crypto.generate(type);
    String csr;
    try {
      PKCS10CertificationRequest req = new JcaPKCS10CertificationRequestBuilder(new X500Name(new RDN[0]), kp.getPublic())
          .build(new JcaContentSignerBuilder(Crypto.x509SignatureAlgorithm(type)).setProvider(Crypto.BC)
              .build(kp.getPrivate()));
      csr = Crypto.pem(req);
    } catch (OperatorCreationException e) {
      throw new CredentialException("cannot sign the CSR with a " + type + " key: " + e.getMessage(), e);
    }
    Crypto.writePrivate(privateKeyFile, Crypto.pkcs8Pem(kp.getPrivate()));
    return new EngineerKey(type, privateKeyFile, csr);
  }

  /** The key type. */
  public KeyType type() {
    return type;
  }

  /** Where the private key was written (mode 0600). */
  public Path privateKeyFile() {
    return privateKeyFile;
  }

  /** The CSR, PEM-encoded ({@code CERTIFICATE REQUEST}); public material only. */
  public String csrPem() {
    return csrPem;
  }

  /** The spec to pass to {@code JitBroker.activate}: an X.509 certificate for this key. */
  public CredentialSpec csrSpec() {
    return CredentialSpec.x509FromCsr(csrPem);
  }

  /** Describes the key type and file, never the key. */
  @Override
  public String toString() {
    return "EngineerKey{" + type + ", " + privateKeyFile + "}";
  }
}
