package dev.kubejit.credentials;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.Identity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Real peer: CSRs made by {@code openssl req}, certificates checked by {@code openssl verify} and {@code openssl x509}. */
class OpensslInteropTest {
  @TempDir Path dir;
  final Clock clock = Clock.systemUTC();

  static Stream<Arguments> caAndCsrKeys() {
    return Stream.of(KeyType.values()).flatMap(ca -> Stream.of(
        Arguments.of(ca, "ed25519", new String[] {"-algorithm", "ED25519"}),
        Arguments.of(ca, "ec-p256", new String[] {"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"})));
  }

  @ParameterizedTest(name = "CA {0}, CSR {1}")
  @MethodSource("caAndCsrKeys")
  void opensslCsrIsSignedAndVerifiedByOpenssl(KeyType caType, String name, String[] genArgs) throws Exception {
    CertificateAuthority ca = CertificateAuthority.builder().keyType(caType).commonName("kubejit-ca-" + caType.cliName()).validity(Duration.ofDays(30)).clock(clock).generate();
    Files.writeString(dir.resolve("ca.crt"), ca.certificatePem());
    String[] gen = concat(new String[] {"openssl", "genpkey", "-out", "user.key"}, genArgs);
    Exec.ok(dir, gen);
    Exec.ok(dir, "openssl", "req", "-new", "-key", "user.key", "-subj", "/CN=alice/O=oncall-payments", "-out", "user.csr");
    IssuedCertificate c = X509Issuer.builder().authority(ca).clock(clock).build()
        .issueFromCsr(Files.readString(dir.resolve("user.csr")), Identity.of("alice", "oncall-payments"), Duration.ofMinutes(30));
    Files.writeString(dir.resolve("user.crt"), c.certificatePem());

    Exec v = Exec.ok(dir, "openssl", "verify", "-CAfile", "ca.crt", "-purpose", "sslclient", "user.crt");
    assertEquals("user.crt: OK", v.out.strip());

    String text = Exec.ok(dir, "openssl", "x509", "-in", "user.crt", "-noout", "-text").out;
    assertTrue(text.contains("Subject: CN = alice, O = oncall-payments"), text);
    assertTrue(text.matches("(?s).*X509v3 Basic Constraints: critical\\s+CA:FALSE.*"), text);
    assertTrue(text.matches("(?s).*X509v3 Key Usage: critical\\s+Digital Signature\\s.*"), text);
    assertTrue(text.matches("(?s).*X509v3 Extended Key Usage:\\s+TLS Web Client Authentication\\s.*"), text);
    assertTrue(text.contains("X509v3 Subject Key Identifier"), text);
    assertTrue(text.contains("X509v3 Authority Key Identifier"), text);
    // the certificate binds the key openssl generated
    String keyPub = Exec.ok(dir, "openssl", "pkey", "-in", "user.key", "-pubout").out;
    String certPub = Exec.ok(dir, "openssl", "x509", "-in", "user.crt", "-noout", "-pubkey").out;
    assertEquals(keyPub, certPub);
    // the serial openssl sees is the one in our CredentialRef
    String serial = Exec.ok(dir, "openssl", "x509", "-in", "user.crt", "-noout", "-serial").out.strip();
    assertEquals(c.ref().id(), serial.substring("serial=".length()).replaceFirst("^0+", "").toLowerCase());
    String fp = Exec.ok(dir, "openssl", "x509", "-in", "user.crt", "-noout", "-fingerprint", "-sha256").out;
    assertEquals(c.ref().fingerprint().substring(7), fp.substring(fp.indexOf('=') + 1).strip().replace(":", "").toLowerCase());
  }

  @Test
  void subjectIsForcedEvenWhenCsrSubjectIsEmpty() throws Exception {
    CertificateAuthority ca = CertificateAuthority.builder().keyType(KeyType.ED25519).commonName("kubejit-ca").validity(Duration.ofDays(1)).clock(clock).generate();
    Exec.ok(dir, "openssl", "genpkey", "-algorithm", "ED25519", "-out", "user.key");
    Exec.ok(dir, "openssl", "req", "-new", "-key", "user.key", "-subj", "/", "-out", "user.csr");
    IssuedCertificate c = X509Issuer.builder().authority(ca).clock(clock).build()
        .issueFromCsr(Files.readString(dir.resolve("user.csr")), Identity.of("bob", "oncall-a", "oncall-b"), Duration.ofMinutes(5));
    Files.writeString(dir.resolve("user.crt"), c.certificatePem());
    String subject = Exec.ok(dir, "openssl", "x509", "-in", "user.crt", "-noout", "-subject").out.strip();
    assertEquals("subject=CN = bob, O = oncall-a, O = oncall-b", subject);
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "/CN=mallory/O=oncall",
      "/CN=alice/O=oncall/O=system:masters",
      "/CN=alice/O=system:masters",
      "/CN=alice+O=oncall",
      "/CN=alice\\, O=system:masters/O=oncall",
      "/CN=alice/OU=oncall",
  })
  void opensslCsrWithInjectedSubjectIsRefused(String subj) throws Exception {
    CertificateAuthority ca = CertificateAuthority.builder().keyType(KeyType.ED25519).commonName("kubejit-ca").validity(Duration.ofDays(1)).clock(clock).generate();
    Exec.ok(dir, "openssl", "genpkey", "-algorithm", "ED25519", "-out", "user.key");
    Exec.ok(dir, "openssl", "req", "-new", "-key", "user.key", "-multivalue-rdn", "-subj", subj, "-out", "user.csr");
    String csr = Files.readString(dir.resolve("user.csr"));
    CredentialException e = assertThrows(CredentialException.class, () -> X509Issuer.builder().authority(ca).clock(clock).build()
        .issueFromCsr(csr, Identity.of("alice", "oncall"), Duration.ofMinutes(5)));
    assertTrue(e.getMessage().contains("disagrees with the authenticated identity \"CN=alice,O=oncall\""), e.getMessage());
  }

  @Test
  void opensslWeakAndUnsupportedKeysAreRefused() throws Exception {
    CertificateAuthority ca = CertificateAuthority.builder().keyType(KeyType.ED25519).commonName("kubejit-ca").validity(Duration.ofDays(1)).clock(clock).generate();
    X509Issuer issuer = X509Issuer.builder().authority(ca).clock(clock).build();
    String[][] gens = {
        {"openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", "k.key"},
        {"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1", "-out", "k.key"},
        {"openssl", "genpkey", "-algorithm", "ED448", "-out", "k.key"},
    };
    for (String[] gen : gens) {
      Exec.ok(dir, gen);
      Exec.ok(dir, "openssl", "req", "-new", "-key", "k.key", "-subj", "/CN=alice", "-out", "k.csr");
      String csr = Files.readString(dir.resolve("k.csr"));
      CredentialException e = assertThrows(CredentialException.class,
          () -> issuer.issueFromCsr(csr, Identity.of("alice", "g"), Duration.ofMinutes(5)), gen[3]);
      assertTrue(e.getMessage().startsWith("CSR public key"), e.getMessage());
    }
    // DSA: openssl 3 can still make DSA CSRs
    Exec.ok(dir, "openssl", "genpkey", "-genparam", "-algorithm", "DSA", "-pkeyopt", "dsa_paramgen_bits:2048", "-out", "dsa.param");
    Exec.ok(dir, "openssl", "genpkey", "-paramfile", "dsa.param", "-out", "dsa.key");
    Exec.ok(dir, "openssl", "req", "-new", "-key", "dsa.key", "-subj", "/CN=alice", "-out", "dsa.csr");
    String csr = Files.readString(dir.resolve("dsa.csr"));
    CredentialException e = assertThrows(CredentialException.class,
        () -> issuer.issueFromCsr(csr, Identity.of("alice", "g"), Duration.ofMinutes(5)));
    assertTrue(e.getMessage().contains("DSA"), e.getMessage());
  }

  @Test
  void opensslCsrWithWrongSignatureIsRefused() throws Exception {
    CertificateAuthority ca = CertificateAuthority.builder().keyType(KeyType.ED25519).commonName("kubejit-ca").validity(Duration.ofDays(1)).clock(clock).generate();
    Exec.ok(dir, "openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "user.key");
    Exec.ok(dir, "openssl", "req", "-new", "-key", "user.key", "-subj", "/CN=alice", "-outform", "DER", "-out", "user.der");
    byte[] der = Files.readAllBytes(dir.resolve("user.der"));
    der[der.length - 3] ^= 0x55;
    String csr = TestKeys.pem("CERTIFICATE REQUEST", der);
    CredentialException e = assertThrows(CredentialException.class, () -> X509Issuer.builder().authority(ca).clock(clock).build()
        .issueFromCsr(csr, Identity.of("alice", "g"), Duration.ofMinutes(5)));
    assertTrue(e.getMessage().contains("proof of possession"), e.getMessage());
  }

  @Test
  void rotatedBundleVerifiesOldAndNewCertificatesWithOpenssl() throws Exception {
    CertificateAuthority first = CertificateAuthority.builder().keyType(KeyType.ECDSA_P256).commonName("kubejit-ca-1").validity(Duration.ofDays(30)).clock(clock).generate();
    CertificateAuthority second = CertificateAuthority.builder().keyType(KeyType.ED25519).commonName("kubejit-ca-2").validity(Duration.ofDays(30)).clock(clock).generate();
    TrustBundle bundle = TrustBundle.of(first, second);
    X509Issuer issuer = X509Issuer.builder().authority(bundle.current()).clock(clock).build();
    Exec.ok(dir, "openssl", "genpkey", "-algorithm", "ED25519", "-out", "user.key");
    Exec.ok(dir, "openssl", "req", "-new", "-key", "user.key", "-subj", "/CN=alice", "-out", "user.csr");
    String csr = Files.readString(dir.resolve("user.csr"));
    Files.writeString(dir.resolve("old.crt"), issuer.issueFromCsr(csr, Identity.of("alice", "g"), Duration.ofHours(1)).certificatePem());

    TrustBundle rotated = bundle.rotate(CertificateAuthority.builder().keyType(KeyType.ED25519).commonName("kubejit-ca-3").validity(Duration.ofDays(30)).clock(clock).generate(),
        clock.instant(), issuer.maxTtl());
    X509Issuer newIssuer = issuer.withAuthority(rotated.current());
    Files.writeString(dir.resolve("new.crt"), newIssuer.issueFromCsr(csr, Identity.of("alice", "g"), Duration.ofHours(1)).certificatePem());
    Files.writeString(dir.resolve("bundle.pem"), rotated.pem(clock.instant()));
    Files.writeString(dir.resolve("later.pem"), rotated.pem(clock.instant().plus(Duration.ofHours(9))));

    assertEquals(0, Exec.run(dir, "openssl", "verify", "-CAfile", "bundle.pem", "old.crt").exit);
    assertEquals(0, Exec.run(dir, "openssl", "verify", "-CAfile", "bundle.pem", "new.crt").exit);
    // after the retention window the old CA is gone from the bundle: its certificates no longer verify
    Exec gone = Exec.run(dir, "openssl", "verify", "-CAfile", "later.pem", "old.crt");
    assertNotEquals(0, gone.exit);
    assertTrue(gone.err.contains("unable to get local issuer certificate") || gone.out.contains("unable to get local issuer"), gone.toString());
    assertEquals(0, Exec.run(dir, "openssl", "verify", "-CAfile", "later.pem", "new.crt").exit);
  }

  @Test
  void caKeyFileIsPkcs8ThatOpensslReadsAndMatchesTheCertificate() throws Exception {
    for (KeyType t : KeyType.values()) {
      Path d = Files.createDirectory(dir.resolve(t.cliName()));
      CertificateAuthority.builder().keyType(t).commonName("ca").validity(Duration.ofDays(1)).clock(clock).generate().writeTo(d);
      String pub1 = Exec.ok(d, "openssl", "pkey", "-in", "ca.key", "-pubout").out;
      String pub2 = Exec.ok(d, "openssl", "x509", "-in", "ca.crt", "-noout", "-pubkey").out;
      assertEquals(pub1, pub2, t.toString());
      String text = Exec.ok(d, "openssl", "x509", "-in", "ca.crt", "-noout", "-text").out;
      assertTrue(text.contains("CA:TRUE"), text);
      assertFalse(text.contains("PRIVATE"));
    }
  }

  static String[] concat(String[] a, String[] b) {
    String[] r = new String[a.length + b.length];
    System.arraycopy(a, 0, r, 0, a.length);
    System.arraycopy(b, 0, r, a.length, b.length);
    return r;
  }
}
