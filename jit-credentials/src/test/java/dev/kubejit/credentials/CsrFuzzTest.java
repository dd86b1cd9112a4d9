package dev.kubejit.credentials;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.kubejit.testing.FakeClock;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;

/**
 * Hostile CSRs against {@link X509Issuer#issueFromCsr}: the fuzzer mutates PEM text (seeded with
 * CSRs made by the real openssl: Ed25519, P-256, RSA 2048, a weak RSA 1024 and one asking for
 * {@code system:masters}). Properties: (1) only {@link CredentialException} escapes; (2) whatever
 * is issued verifies under the CA, names exactly {@code CN=alice, O=oncall-payments} whatever the
 * CSR asked for, certifies exactly the key of a CSR whose self-signature holds (checked here with
 * Bouncy Castle's own verifier), and lasts no longer than the TTL asked for.
 *
 * <p>In a plain {@code mvn test} Jazzer replays the committed inputs under {@code
 * CsrFuzzTestInputs/}; {@code scripts/fuzz.sh csr SECONDS} fuzzes.
 */
class CsrFuzzTest {
  private static final Instant NOW = Instant.parse("2026-03-01T10:00:00Z");
  private static final FakeClock CLOCK = new FakeClock(NOW);
  private static final CertificateAuthority CA = CertificateAuthority.builder().keyType(KeyType.ECDSA_P256)
      .commonName("fuzz-ca").validity(Duration.ofDays(30)).clock(CLOCK).generate();
  private static final X509Issuer ISSUER = X509Issuer.builder().authority(CA).clock(CLOCK).build();
  private static final Duration TTL = Duration.ofMinutes(30);

  @FuzzTest(maxDuration = "30s")
  void issueFromCsrRefusesOrIssuesExactly(byte[] input) throws Exception {
    String pem = new String(input, StandardCharsets.UTF_8);
    IssuedCertificate issued;
    try {
      issued = ISSUER.issueFromCsr(pem, "alice", List.of("oncall-payments"), TTL);
    } catch (CredentialException refused) {
      assertFalse(refused.getMessage() == null || refused.getMessage().isBlank(), "a refusal says why");
      return;
    }
    X509Certificate cert = issued.certificate();
    cert.verify(CA.certificate().getPublicKey());
    LdapName dn = new LdapName(cert.getSubjectX500Principal().getName());
    List<String> cn = new ArrayList<>();
    List<String> o = new ArrayList<>();
    for (Rdn rdn : dn.getRdns()) {
      if (rdn.getType().equalsIgnoreCase("CN")) {
        cn.add(rdn.getValue().toString());
      } else if (rdn.getType().equalsIgnoreCase("O")) {
        o.add(rdn.getValue().toString());
      } else {
        throw new AssertionError("unexpected subject attribute " + rdn);
      }
    }
    assertEquals(List.of("alice"), cn);
    assertEquals(List.of("oncall-payments"), o);
    assertTrue(!cert.getNotAfter().toInstant().isAfter(NOW.plus(TTL)), "notAfter within the TTL");
    assertTrue(cert.getExtendedKeyUsage() != null && cert.getExtendedKeyUsage().equals(List.of("1.3.6.1.5.5.7.3.2")),
        "client auth only: " + cert.getExtendedKeyUsage());
    assertFalse(cert.getBasicConstraints() >= 0, "never a CA certificate");
    // The CSR that was accepted must parse and self-verify with Bouncy Castle's own API, and its key is the one certified.
    PKCS10CertificationRequest csr;
    try (PEMParser p = new PEMParser(new StringReader(pem))) {
      csr = (PKCS10CertificationRequest) p.readObject();
    }
    assertTrue(csr.isSignatureValid(new org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder().setProvider(new org.bouncycastle.jce.provider.BouncyCastleProvider())
        .build(csr.getSubjectPublicKeyInfo())), "an issued CSR had a valid proof of possession");
    assertArrayEquals(csr.getSubjectPublicKeyInfo().getEncoded(), cert.getPublicKey().getEncoded());
    assertTrue(Set.of("Ed25519", "EdDSA", "EC", "RSA").contains(cert.getPublicKey().getAlgorithm()));
  }
}
