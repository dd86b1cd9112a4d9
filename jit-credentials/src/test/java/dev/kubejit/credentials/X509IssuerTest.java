package dev.kubejit.credentials;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.credentials.internal.Crypto;
import dev.kubejit.credentials.internal.X509Support;
import dev.kubejit.api.CredentialKind;
import dev.kubejit.api.Identity;
import dev.kubejit.testing.FakeClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.X509CertificateHolder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

class X509IssuerTest {
  static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");
  final FakeClock clock = new FakeClock(T0);
  final CertificateAuthority ca = CertificateAuthority.builder().keyType(KeyType.ED25519).commonName("kubejit-test").validity(Duration.ofDays(30)).clock(clock).generate();
  final X509Issuer issuer = X509Issuer.builder().authority(ca).clock(clock).build();
  final KeyPair alice = TestKeys.ed25519();

  @Test
  void subjectComesFromIdentityAndValidityFromTtl() throws Exception {
    IssuedCertificate c = issuer.issueFromCsr(TestKeys.csrPem(alice, "CN=alice"), Identity.of("alice", "oncall-payments", "team-b"),
        Duration.ofMinutes(30));
    X509Certificate x = c.certificate();
    assertEquals(new X500Name("CN=alice,O=oncall-payments,O=team-b"), new X509CertificateHolder(x.getEncoded()).getSubject());
    assertEquals(T0.minus(Duration.ofMinutes(1)), x.getNotBefore().toInstant());
    assertEquals(T0.plus(Duration.ofMinutes(30)), x.getNotAfter().toInstant());
    assertFalse(c.clamped());
    assertEquals(Duration.ofMinutes(30), c.grantedTtl());
    assertEquals(-1, x.getBasicConstraints());
    assertTrue(x.getCriticalExtensionOIDs().containsAll(List.of(Extension.basicConstraints.getId(), Extension.keyUsage.getId())));
    assertTrue(x.getKeyUsage()[0], "digitalSignature");
    assertEquals(1, countTrue(x.getKeyUsage()));
    assertEquals(List.of("1.3.6.1.5.5.7.3.2"), x.getExtendedKeyUsage());
    assertTrue(x.getExtensionValue(Extension.subjectKeyIdentifier.getId()) != null);
    assertTrue(x.getExtensionValue(Extension.authorityKeyIdentifier.getId()) != null);
    assertTrue(x.getSerialNumber().signum() > 0 && x.getSerialNumber().bitLength() <= 128);
    assertArrayEquals(alice.getPublic().getEncoded(), x.getPublicKey().getEncoded());
    x.verify(ca.certificate().getPublicKey(), Crypto.BC);
    assertEquals(CredentialKind.X509_FROM_CSR, c.ref().kind());
    assertEquals(x.getSerialNumber().toString(16), c.ref().id());
    assertEquals("SHA256:" + Crypto.sha256Hex(x.getEncoded()), c.ref().fingerprint());
    assertEquals(x.getNotAfter().toInstant(), c.ref().notAfter());
    assertThrows(IllegalStateException.class, c::privateKeyPem);
  }

  @Test
  void serialsAreRandomAndLarge() throws Exception {
    String csr = TestKeys.csrPem(alice, "");
    var a = issuer.issueFromCsr(csr, Identity.of("alice", "g"), Duration.ofMinutes(5)).certificate().getSerialNumber();
    var b = issuer.issueFromCsr(csr, Identity.of("alice", "g"), Duration.ofMinutes(5)).certificate().getSerialNumber();
    assertFalse(a.equals(b));
    assertTrue(a.bitLength() > 64 && b.bitLength() > 64, "128-bit serials are almost never below 2^64");
  }

  @Test
  void ttlAboveMaximumIsClampedAndReported() throws Exception {
    IssuedCertificate c = issuer.issueFromCsr(TestKeys.csrPem(alice, "CN=alice"), Identity.of("alice", "g"), Duration.ofHours(12));
    assertTrue(c.clamped());
    assertEquals(Duration.ofHours(12), c.requestedTtl());
    assertEquals(Duration.ofHours(8), c.grantedTtl());
    assertTrue(c.clampReason().orElseThrow().contains("PT12H") && c.clampReason().orElseThrow().contains("PT8H"), c.clampReason().get());
    assertEquals(T0.plus(Duration.ofHours(8)), c.notAfter());
    assertTrue(c.toString().contains("clamped"));
  }

  /** One absolute cap (Lifetimes.ABSOLUTE_MAX, 366 days) for TTLs and configured maxima alike. */
  @Test
  void theAbsoluteCapIs366Days() throws Exception {
    Duration cap = Duration.ofDays(366); // issue #9 §6: one year, leap day included
    X509Issuer longest = X509Issuer.builder().authority(ca).clock(clock).maxTtl(cap).build();
    IssuedCertificate c = longest.issueFromCsr(TestKeys.csrPem(alice, ""), Identity.of("alice", "g"), cap);
    assertEquals(T0.plus(cap), c.notAfter());
    assertFalse(c.clamped());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> X509Issuer.builder().maxTtl(cap.plusSeconds(1)));
    assertTrue(e.getMessage().contains("exceeds the absolute maximum of 366 days"), e.getMessage());
    CredentialException refused = assertThrows(CredentialException.class,
        () -> longest.issueFromCsr(TestKeys.csrPem(alice, ""), Identity.of("alice", "g"), cap.plusSeconds(1)));
    assertTrue(refused.getMessage().contains("exceeds the absolute maximum of 366 days"), refused.getMessage());
    assertThrows(IllegalArgumentException.class, () -> X509Issuer.builder().maxTtl(Duration.ZERO));
    assertThrows(IllegalArgumentException.class, () -> X509Issuer.builder().maxTtl(null));
    // the same cap for a trust bundle's retention (the SSH CA and JWT issuer: their modules' tests)
    TrustBundle bundle = TrustBundle.of(ca, CertificateAuthority.builder().keyType(KeyType.ED25519).commonName("next").validity(Duration.ofDays(30)).clock(clock).generate());
    bundle.rotate(ca, T0, cap);
    assertThrows(IllegalArgumentException.class, () -> bundle.rotate(ca, T0, cap.plusSeconds(1)));
  }

  /** CA certificates are the documented exception: up to 10 years, because they must outlive what they sign. */
  @Test
  void caValidityIsCappedAtTenYears() {
    Duration tenYears = Duration.ofDays(3660);
    assertEquals(T0.plus(tenYears), CertificateAuthority.builder().keyType(KeyType.ED25519).commonName("ca").validity(tenYears).clock(clock).generate().certificate()
        .getNotAfter().toInstant());
    CredentialException e = assertThrows(CredentialException.class,
        () -> CertificateAuthority.builder().keyType(KeyType.ED25519).commonName("ca").validity(tenYears.plusSeconds(1)).clock(clock).generate());
    assertTrue(e.getMessage().contains("10 years"), e.getMessage());
  }

  /** The CA builder: named options, each set once; name and validity required; Ed25519 by default. */
  @Test
  void caBuilderNamesEveryOptionAndRequiresNameAndValidity() {
    CertificateAuthority.Builder b = CertificateAuthority.builder().commonName("kubejit-ca").validity(Duration.ofDays(30)).clock(clock);
    CertificateAuthority one = b.generate();
    assertEquals(KeyType.ED25519, one.keyType());
    assertEquals("CN=kubejit-ca", one.certificate().getSubjectX500Principal().getName());
    assertEquals(T0.plus(Duration.ofDays(30)), one.certificate().getNotAfter().toInstant());
    assertTrue(one.certificate().getBasicConstraints() >= 0, "a CA certificate");
    CertificateAuthority two = b.generate();
    assertFalse(one.fingerprint().equals(two.fingerprint()), "each generate() makes a fresh key");
    assertEquals(KeyType.ECDSA_P256, CertificateAuthority.builder().keyType(KeyType.ECDSA_P256).commonName("p256")
        .validity(Duration.ofDays(1)).clock(clock).generate().keyType());
    assertEquals("commonName(...) is required", assertThrows(IllegalStateException.class,
        () -> CertificateAuthority.builder().validity(Duration.ofDays(1)).generate()).getMessage());
    assertThrows(IllegalStateException.class, () -> CertificateAuthority.builder().commonName("ca").generate());
    assertEquals("commonName was already set to \"ca\"", assertThrows(IllegalStateException.class,
        () -> CertificateAuthority.builder().commonName("ca").commonName("other")).getMessage());
    assertThrows(IllegalStateException.class, () -> CertificateAuthority.builder().validity(Duration.ofDays(1)).validity(Duration.ofDays(2)));
    assertThrows(IllegalStateException.class, () -> CertificateAuthority.builder().keyType(KeyType.ED25519).keyType(KeyType.RSA_3072));
    assertThrows(IllegalStateException.class, () -> CertificateAuthority.builder().clock(clock).clock(clock));
    assertThrows(CredentialException.class, () -> CertificateAuthority.builder().validity(Duration.ZERO));
    assertThrows(CredentialException.class, () -> CertificateAuthority.builder().commonName("ca\nforged"));
  }

  @Test
  void configuredMaximumAndBackdate() throws Exception {
    X509Issuer strict = X509Issuer.builder().authority(ca).clock(clock).maxTtl(Duration.ofMinutes(10))
        .backdate(Duration.ofMinutes(2)).build();
    IssuedCertificate c = strict.issueFromCsr(TestKeys.csrPem(alice, ""), Identity.of("alice", "g"), Duration.ofMinutes(11));
    assertEquals(T0.plus(Duration.ofMinutes(10)), c.notAfter());
    assertEquals(T0.minus(Duration.ofMinutes(2)), c.certificate().getNotBefore().toInstant());
    assertThrows(IllegalArgumentException.class, () -> X509Issuer.builder().backdate(Duration.ofSeconds(121)));
    assertThrows(IllegalStateException.class, () -> X509Issuer.builder().maxTtl(Duration.ofHours(1)).maxTtl(Duration.ofHours(2)));
    assertThrows(IllegalStateException.class, () -> X509Issuer.builder().build());
  }

  @Test
  void notAfterCapFromGrantIsReported() throws Exception {
    Instant grantEnd = T0.plus(Duration.ofMinutes(20));
    IssuedCertificate c = issuer.issueFromCsr(TestKeys.csrPem(alice, ""), "alice", List.of("jit:grant:x"), Duration.ofHours(1),
        grantEnd, "grant end");
    assertEquals(grantEnd, c.notAfter());
    assertTrue(c.clampReason().orElseThrow().contains("grant end"));
    assertThrows(CredentialException.class, () -> issuer.issueFromCsr(TestKeys.csrPem(alice, ""), "alice", List.of("g"),
        Duration.ofHours(1), T0, "grant end"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"PT0S", "-PT1M", "PT-0.000000001S", "P367D", "P100000D"})
  void unusableTtlsAreRefused(String ttl) throws Exception {
    String csr = TestKeys.csrPem(alice, "");
    CredentialException e = assertThrows(CredentialException.class,
        () -> issuer.issueFromCsr(csr, Identity.of("alice", "g"), Duration.parse(ttl)));
    assertTrue(e.getMessage().contains("TTL"), e.getMessage());
  }

  @Test
  void missingTtlIsRefused() throws Exception {
    String csr = TestKeys.csrPem(alice, "");
    assertThrows(CredentialException.class, () -> issuer.issueFromCsr(csr, Identity.of("alice", "g"), null));
    assertThrows(CredentialException.class, () -> issuer.issueFromCsr(csr, "alice", List.of("g"), Duration.ofSeconds(Long.MAX_VALUE)));
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "CN=mallory",
      "CN=alice,O=system:masters",
      "CN=alice,O=oncall,O=system:masters",
      "CN=alice,O=other",
      "CN=alice+O=oncall",
      "CN=alice\\,O=system:masters",
      "CN=alice,CN=alice",
      "CN=alice,OU=oncall",
      "CN=alice,O=oncall,O=oncall",
      "CN=Alice",
      "CN=\\ alice",
  })
  void csrSubjectsThatDisagreeAreRefusedNamingBoth(String subject) throws Exception {
    String csr = TestKeys.csrPem(alice, subject);
    CredentialException e = assertThrows(CredentialException.class,
        () -> issuer.issueFromCsr(csr, Identity.of("alice", "oncall"), Duration.ofMinutes(5)));
    assertTrue(e.getMessage().contains("CN=alice,O=oncall"), e.getMessage());
    assertTrue(e.getMessage().contains("disagrees") || e.getMessage().contains("invalid value"), e.getMessage());
  }

  @Test
  void csrSubjectMayBeEmptyOrMatchingSubset() throws Exception {
    Identity id = Identity.of("alice", "oncall", "team");
    issuer.issueFromCsr(TestKeys.csrPem(alice, ""), id, Duration.ofMinutes(5));
    issuer.issueFromCsr(TestKeys.csrPem(alice, "CN=alice,O=team"), id, Duration.ofMinutes(5));
    issuer.issueFromCsr(TestKeys.csrPem(alice, "O=team,CN=alice,O=oncall"), id, Duration.ofMinutes(5));
  }

  @ParameterizedTest
  @ValueSource(strings = {"system:masters", "system:nodes", "SYSTEM:masters", "kubeadm:cluster-admins", "Kubeadm:Cluster-Admins"})
  void privilegedGroupsAreRefusedAndNothingIsSigned(String group) throws Exception {
    String csr = TestKeys.csrPem(alice, "");
    CredentialException e = assertThrows(CredentialException.class,
        () -> issuer.issueFromCsr(csr, "alice", List.of("oncall", group), Duration.ofMinutes(5)));
    assertTrue(e.getMessage().startsWith("group \"" + group + "\" is a reserved or privileged name"), e.getMessage());
  }

  /** Issue #9 §5, as reported: a zero-width space and a no-break space made reserved names look ordinary. */
  @Test
  void issue9LookAlikesOfReservedNamesAreRefusedNamingTheCharacter() throws Exception {
    String csr = TestKeys.csrPem(alice, "");
    CredentialException e = assertThrows(CredentialException.class,
        () -> issuer.issueFromCsr(csr, "alice", List.of("\u200bsystem:masters"), Duration.ofMinutes(5)));
    assertEquals("group contains an invisible format character (U+200B): \"\\u200bsystem:masters\"", e.getMessage());
    e = assertThrows(CredentialException.class,
        () -> issuer.issueFromCsr(csr, "system\u00a0:anonymous", List.of("oncall"), Duration.ofMinutes(5)));
    assertEquals("user contains a space or separator (U+00A0): \"system\\u00a0:anonymous\"", e.getMessage());
    e = assertThrows(CredentialException.class,
        () -> issuer.issueWithGeneratedKey("system:anonymous", List.of("oncall"), Duration.ofMinutes(5), KeyType.ED25519));
    assertTrue(e.getMessage().startsWith("user \"system:anonymous\" is a reserved or privileged name"), e.getMessage());
  }

  @Test
  void badNamesAreRefused() throws Exception {
    String csr = TestKeys.csrPem(alice, "");
    for (String user : new String[] {"system:admin", "", "ali\nce", "bad\uD800name", " alice", "alice ", "al\u00a0ice",
        "\u200balice", "\uff41lice", "alic\u0435", "al\u00adice", null}) {
      assertThrows(CredentialException.class, () -> issuer.issueFromCsr(csr, user, List.of("g"), Duration.ofMinutes(5)), user);
    }
    assertThrows(CredentialException.class, () -> issuer.issueFromCsr(csr, "alice", List.of(), Duration.ofMinutes(5)));
    CredentialException e = assertThrows(CredentialException.class,
        () -> issuer.issueFromCsr(csr, "alice", List.of("g\u0007"), Duration.ofMinutes(5)));
    assertTrue(e.getMessage().contains("\\u0007"), e.getMessage());
  }

  @Test
  void weakOrUnsupportedKeysAreRefused() throws Exception {
    for (KeyPair kp : new KeyPair[] {TestKeys.rsa(1024), TestKeys.ec("secp256k1"), TestKeys.ec("secp521r1")}) {
      String csr = TestKeys.csrPem(kp, "CN=alice");
      CredentialException e = assertThrows(CredentialException.class,
          () -> issuer.issueFromCsr(csr, Identity.of("alice", "g"), Duration.ofMinutes(5)));
      assertTrue(e.getMessage().contains("CSR public key"), e.getMessage());
    }
    issuer.issueFromCsr(TestKeys.csrPem(TestKeys.rsa(2048), "CN=alice"), Identity.of("alice", "g"), Duration.ofMinutes(5));
    issuer.issueFromCsr(TestKeys.csrPem(TestKeys.ec("secp384r1"), "CN=alice"), Identity.of("alice", "g"), Duration.ofMinutes(5));
  }

  @Test
  void malformedCsrsAreRefused() throws Exception {
    byte[] der = TestKeys.csr(alice, "CN=alice").getEncoded();
    byte[] badSig = der.clone();
    badSig[badSig.length - 1] ^= 1;
    byte[] badSubject = der.clone();
    int at = indexOf(der, "alice".getBytes());
    badSubject[at] = 'A'; // changes the signed content: signature no longer matches
    String[] inputs = {
        null,
        "",
        "not a pem at all",
        "-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n",
        TestKeys.pem("CERTIFICATE REQUEST", Arrays.copyOf(der, der.length / 2)),
        TestKeys.pem("CERTIFICATE REQUEST", new byte[] {0x30, 0x03, 0x02, 0x01, 0x01}),
        TestKeys.pem("CERTIFICATE", der),
        TestKeys.pem("CERTIFICATE REQUEST", badSig),
        TestKeys.pem("CERTIFICATE REQUEST", badSubject),
        TestKeys.pem("CERTIFICATE REQUEST", der) + TestKeys.pem("CERTIFICATE REQUEST", der),
        "x".repeat(70_000),
    };
    for (String in : inputs) {
      CredentialException e = assertThrows(CredentialException.class,
          () -> issuer.issueFromCsr(in, Identity.of("alice", "g"), Duration.ofMinutes(5)), String.valueOf(in));
      assertTrue(e.getMessage().startsWith("CSR"), e.getMessage());
    }
  }

  @Test
  void nonUtf8SubjectIsRefused() throws Exception {
    // A correctly signed CSR whose CN is a UTF8String holding invalid UTF-8 (0xC3 0x28).
    var badCn = org.bouncycastle.asn1.ASN1Primitive.fromByteArray(new byte[] {0x0C, 0x05, 'a', 'l', (byte) 0xC3, 0x28, 'e'});
    X500Name subject = new org.bouncycastle.asn1.x500.X500NameBuilder().addRDN(org.bouncycastle.asn1.x500.style.BCStyle.CN, badCn).build();
    String csr = Crypto.pem(new org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder(subject, alice.getPublic())
        .build(new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("Ed25519").setProvider(Crypto.BC).build(alice.getPrivate())));
    CredentialException e = assertThrows(CredentialException.class,
        () -> issuer.issueFromCsr(csr, Identity.of("alice", "g"), Duration.ofMinutes(5)));
    assertTrue(e.getMessage().startsWith("CSR subject"), e.getMessage());
  }

  @ParameterizedTest
  @EnumSource(KeyType.class)
  void serverSideKeyGenerationOnlyOnRequest(KeyType type) {
    IssuedCertificate c = issuer.issueWithGeneratedKey("alice", List.of("g"), Duration.ofMinutes(5), type);
    assertTrue(c.hasGeneratedKey());
    assertEquals(CredentialKind.X509_SERVER_GENERATED_KEY, c.ref().kind());
    String keyPem = c.privateKeyPem();
    assertTrue(keyPem.startsWith("-----BEGIN PRIVATE KEY-----"));
    String body = keyPem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    // no 16-character piece of the key's base64 (header or secret part) appears in toString()
    for (int i = 0; i + 16 <= body.length(); i++) {
      String piece = body.substring(i, i + 16);
      assertFalse(c.toString().contains(piece), c.toString());
      assertFalse(c.toIssuedCredential().toString().contains(piece), c.toIssuedCredential().toString());
    }
    assertTrue(c.toString().contains("<redacted>"));
    assertTrue(c.toIssuedCredential().isSecret());
  }

  @ParameterizedTest
  @EnumSource(KeyType.class)
  void caRoundTripsThroughFilesWithPrivateKeyMode0600(KeyType type, @TempDir Path dir) throws Exception {
    CertificateAuthority generated = CertificateAuthority.builder().keyType(type).commonName("ca-" + type.cliName()).validity(Duration.ofDays(90)).clock(clock).generate();
    generated.writeTo(dir);
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("ca.key"))));
    assertTrue(Files.readString(dir.resolve("ca.key")).startsWith("-----BEGIN PRIVATE KEY-----"));
    CertificateAuthority loaded = CertificateAuthority.load(dir);
    assertEquals(generated.fingerprint(), loaded.fingerprint());
    assertEquals(type, loaded.keyType());
    assertEquals(Crypto.pkcs8Pem(generated.privateKey()), Crypto.pkcs8Pem(loaded.privateKey()));
    CredentialException e = assertThrows(CredentialException.class, () -> generated.writeTo(dir));
    assertTrue(e.getMessage().contains("refusing to overwrite"));
    for (String secret : TestKeys.secretsOf(loaded.privateKey())) {
      assertFalse(loaded.toString().contains(secret));
    }
  }

  @Test
  void caLoadRefusesMismatchedOrWeakMaterial(@TempDir Path dir) throws Exception {
    CertificateAuthority other = CertificateAuthority.builder().keyType(KeyType.ED25519).commonName("other").validity(Duration.ofDays(1)).clock(clock).generate();
    String otherKey = Crypto.pkcs8Pem(other.privateKey());
    CredentialException e = assertThrows(CredentialException.class, () -> CertificateAuthority.fromPem(ca.certificatePem(), otherKey));
    assertTrue(e.getMessage().contains("does not match"));
    for (String secret : TestKeys.secretsOf(other.privateKey())) {
      assertFalse(e.getMessage().contains(secret));
    }
    // a client certificate is not a CA
    IssuedCertificate leaf = issuer.issueWithGeneratedKey("alice", List.of("g"), Duration.ofMinutes(5), KeyType.ECDSA_P256);
    assertThrows(CredentialException.class, () -> CertificateAuthority.fromPem(leaf.certificatePem(), leaf.privateKeyPem()));
    // garbage key PEM: message must not echo it
    String junk = "-----BEGIN PRIVATE KEY-----\n" + Base64.getEncoder().encodeToString("sEcReTsEcReTsEcReT".getBytes()) + "\n-----END PRIVATE KEY-----\n";
    e = assertThrows(CredentialException.class, () -> CertificateAuthority.fromPem(ca.certificatePem(), junk));
    assertFalse(e.getMessage().contains("c0VjUmVU"), e.getMessage());
    assertThrows(CredentialException.class, () -> CertificateAuthority.load(dir));
    assertThrows(CredentialException.class, () -> CertificateAuthority.builder().keyType(KeyType.ED25519).commonName("x").validity(Duration.ZERO).clock(clock).generate());
  }

  @Test
  void trustBundleRotationKeepsOldCertificatesVerifiableUntilTheyExpire() throws Exception {
    CertificateAuthority next = CertificateAuthority.builder().keyType(KeyType.ECDSA_P256).commonName("kubejit-next").validity(Duration.ofDays(60)).clock(clock).generate();
    TrustBundle bundle = TrustBundle.of(ca, next);
    IssuedCertificate old = issuer.issueFromCsr(TestKeys.csrPem(alice, ""), Identity.of("alice", "g"), Duration.ofHours(8));
    clock.advance(Duration.ofHours(1));
    CertificateAuthority third = CertificateAuthority.builder().keyType(KeyType.ED25519).commonName("kubejit-third").validity(Duration.ofDays(90)).clock(clock).generate();
    TrustBundle rotated = bundle.rotate(third, clock.instant(), issuer.maxTtl());
    assertEquals(next.fingerprint(), rotated.current().fingerprint());
    X509Issuer newIssuer = issuer.withAuthority(rotated.current());
    IssuedCertificate fresh = newIssuer.issueFromCsr(TestKeys.csrPem(alice, ""), Identity.of("alice", "g"), Duration.ofHours(1));
    assertEquals(ca.certificate(), rotated.verify(old.certificate(), clock.instant()));
    assertEquals(next.certificate(), rotated.verify(fresh.certificate(), clock.instant()));
    assertEquals(3, rotated.trusted(clock.instant()).size());
    assertEquals(3, X509Support.parseCertificates(rotated.pem(clock.instant()), "bundle").size());
    // exactly at the old certificate's notAfter it still verifies (X.509: notAfter inclusive); after, not
    clock.set(old.notAfter());
    rotated.verify(old.certificate(), clock.instant());
    CredentialException e = assertThrows(CredentialException.class, () -> rotated.verify(old.certificate(), old.notAfter().plusNanos(1)));
    assertTrue(e.getMessage().contains("expired") || e.getMessage().contains("not trusted"), e.getMessage());
    // once the retention ends the old CA leaves the bundle
    Instant afterRetention = T0.plus(Duration.ofHours(9)).plusSeconds(1);
    assertEquals(2, rotated.trusted(afterRetention).size());
    // a certificate from an unrelated CA is refused
    CertificateAuthority stranger = CertificateAuthority.builder().keyType(KeyType.ED25519).commonName("kubejit-test").validity(Duration.ofDays(1)).clock(clock).generate();
    IssuedCertificate forged = X509Issuer.builder().authority(stranger).clock(clock).build()
        .issueFromCsr(TestKeys.csrPem(alice, ""), Identity.of("alice", "g"), Duration.ofHours(1));
    assertThrows(CredentialException.class, () -> rotated.verify(forged.certificate(), clock.instant()));
  }

  static int countTrue(boolean[] b) {
    int n = 0;
    for (boolean x : b) {
      n += x ? 1 : 0;
    }
    return n;
  }

  static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i <= hay.length - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    throw new AssertionError("not found");
  }
}
