package dev.kubejit.bench;

import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.credentials.IssuedCertificate;
import dev.kubejit.credentials.KeyType;
import dev.kubejit.credentials.X509Issuer;
import dev.kubejit.credentials.internal.Crypto;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Item 1: an X.509 client certificate from a CSR ({@link X509Issuer#issueFromCsr}) against its
 * cryptographic floor: one verification of the CSR's signature with the CSR's key, decoded from its
 * encoding as every new CSR's key must be, plus one signature over a certificate body of the same
 * size with the CA key, with the same provider (Bouncy Castle) as the issuer. Figure and floor form
 * one JMH group of two threads (the machine has two cores): they run during the same iterations,
 * so both see the same machine, which may be busy with other work.
 *
 * <p>A second group of two threads gives two references for the table only: the same floor with
 * the decoded key object reused ({@code verifyPlusSignSameKey}; Bouncy Castle keeps per-key
 * precomputation in the key object, so this measures a cache that an issuer of new CSRs never
 * hits: every CSR brings a new key), and the floor with the JDK's own provider (SunEC).
 */
@State(Scope.Group)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class X509Bench {
  @Param({"ED25519", "ECDSA_P256"})
  public String keyType;

  private X509Issuer issuer;
  private String csrPem;
  private final List<String> groups = List.of("kubejit:grant:0123456789abcdef");
  private final Duration ttl = Duration.ofMinutes(30);

  // The floor's inputs: the CSR's signed bytes, signature and key; a real certificate body; the CA key.
  private byte[] csrInfo;
  private byte[] csrSignature;
  private KeyPair user;
  private byte[] tbs;
  private PrivateKey caKey;
  private String alg;
  private byte[] userSpki;
  private KeyFactory bcKeys;
  private KeyFactory jdkKeys;
  private PrivateKey jdkPriv;

  @Setup
  public void setup() throws Exception {
    KeyType type = KeyType.valueOf(keyType);
    CertificateAuthority ca = CertificateAuthority.builder().keyType(type).commonName("kubejit-bench-ca").validity(java.time.Duration.ofDays(1)).generate();
    Path dir = Files.createTempDirectory("kubejit-bench-ca");
    ca.writeTo(dir);
    caKey = Crypto.privateKey(Crypto.singlePemBlock(Files.readString(dir.resolve("ca.key")), "PRIVATE KEY", "CA key"), "CA key");
    Files.delete(dir.resolve("ca.key"));
    Files.delete(dir.resolve("ca.crt"));
    Files.delete(dir);
    issuer = X509Issuer.builder().authority(ca).build();
    alg = Crypto.x509SignatureAlgorithm(type);
    user = Crypto.generate(type);
    PKCS10CertificationRequest csr = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=alice"), user.getPublic())
        .build(new JcaContentSignerBuilder(alg).setProvider(Crypto.BC).build(user.getPrivate()));
    csrPem = Crypto.pem(csr);
    csrInfo = csr.toASN1Structure().getCertificationRequestInfo().getEncoded("DER");
    csrSignature = csr.getSignature();
    IssuedCertificate c = issuer.issueFromCsr(csrPem, "alice", groups, ttl);
    tbs = c.certificate().getTBSCertificate();
    userSpki = user.getPublic().getEncoded();
    String keyAlg = type == KeyType.ED25519 ? "Ed25519" : "EC";
    bcKeys = KeyFactory.getInstance(keyAlg, Crypto.BC);
    jdkKeys = KeyFactory.getInstance(keyAlg);
    jdkPriv = jdkKeys.generatePrivate(new PKCS8EncodedKeySpec(caKey.getEncoded()));
    long warmStart = System.nanoTime();
    for (int i = 0; Warm.more(i, warmStart); i++) {
      issueFromCsr();
      verifyPlusSign();
      verifyPlusSignSameKey();
      verifyPlusSignJdk();
    }
  }

  /** What KubeJIT does: parse and check the CSR, verify it, build, sign and return the certificate. */
  @Benchmark
  @Group("x509")
  @GroupThreads(1)
  public IssuedCertificate issueFromCsr() {
    return issuer.issueFromCsr(csrPem, "alice", groups, ttl);
  }

  /**
   * The floor: decode the CSR's key, verify the CSR signature with it, sign a certificate body of
   * the same size (Bouncy Castle, as the issuer).
   */
  @Benchmark
  @Group("x509")
  @GroupThreads(1)
  public byte[] verifyPlusSign() throws Exception {
    return verifyThenSign(bcKeys.generatePublic(new X509EncodedKeySpec(userSpki)), caKey, Crypto.BC);
  }

  /** Reference only: the floor with the decoded key object reused (a per-key cache; see the class comment). */
  @Benchmark
  @Group("x509ref")
  @GroupThreads(1)
  public byte[] verifyPlusSignSameKey() throws Exception {
    return verifyThenSign(user.getPublic(), caKey, Crypto.BC);
  }

  /** Reference only: the floor with the JDK's own provider (SunEC), to show which provider is the faster choice. */
  @Benchmark
  @Group("x509ref")
  @GroupThreads(1)
  public byte[] verifyPlusSignJdk() throws Exception {
    return verifyThenSign(jdkKeys.generatePublic(new X509EncodedKeySpec(userSpki)), jdkPriv, null);
  }

  private byte[] verifyThenSign(PublicKey key, PrivateKey signer, java.security.Provider provider) throws Exception {
    Signature v = provider == null ? Signature.getInstance(alg) : Signature.getInstance(alg, provider);
    v.initVerify(key);
    v.update(csrInfo);
    if (!v.verify(csrSignature)) {
      throw new IllegalStateException("CSR signature did not verify");
    }
    Signature s = provider == null ? Signature.getInstance(alg) : Signature.getInstance(alg, provider);
    s.initSign(signer);
    s.update(tbs);
    return s.sign();
  }
}
