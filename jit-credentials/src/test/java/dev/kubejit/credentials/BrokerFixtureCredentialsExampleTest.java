package dev.kubejit.credentials;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.Activation;
import dev.kubejit.api.CredentialSpec;
import dev.kubejit.api.Identity;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.Scope;
import dev.kubejit.api.spi.AccessPolicy;
import dev.kubejit.testing.BrokerFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The credentials example of docs/testing.md ("BrokerFixture with credentials"), run by the build; the doc holds it verbatim. */
class BrokerFixtureCredentialsExampleTest {
  // --8<-- [fixture-credentials]
  @RegisterExtension
  final BrokerFixture jit = BrokerFixture.builder()
      .policy(AccessPolicy.staticRules().role("oncall-debug", r -> r
          .requesters("oncall-payments").namespaces("payments")
          .durations(Duration.ofMinutes(30), Duration.ofHours(1)).auto(Action.LOGS)).build())
      .credentialIssuer(t -> GrantCredentialIssuer.builder().clock(t.clock())
          .x509(X509Issuer.builder().clock(t.clock())
              .authority(CertificateAuthority.fromPem(t.ca().certificatePem(), t.ca().privateKeyPem())).build())
          .build())
      .build();

  final Identity alice = Identity.of("alice", List.of("oncall-payments")).assertedBy("test");

  @Test
  void theCertificateEndsWithTheGrantOnTheFakeClock(@TempDir Path dir) throws Exception {
    RequestRecord r = jit.broker().submit(AccessRequest.builder().requester(alice)
        .role("oncall-debug").action(Action.LOGS).scope(Scope.namespace("prod", "payments")).ticket("INC-7").build());
    String csr = EngineerKey.create(KeyType.ED25519, dir.resolve("alice.key")).csrPem();
    Activation a = jit.broker().activate(r.id(), alice, CredentialSpec.x509FromCsr(csr));
    X509Certificate cert = certificate(a.credentials().get(0).material());
    assertEquals(a.grant().expiresAt(), cert.getNotAfter().toInstant());
    assertEquals(jit.clock().instant().plus(Duration.ofMinutes(30)), cert.getNotAfter().toInstant());
    TrustBundle.of(CertificateAuthority.fromPem(jit.ca().certificatePem(), jit.ca().privateKeyPem()),
        CertificateAuthority.builder().commonName("next").validity(Duration.ofDays(1)).clock(jit.clock()).generate())
        .verify(cert, jit.clock().instant());
  }
  // --8<-- [fixture-credentials]

  static X509Certificate certificate(String pem) throws Exception {
    return (X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509")
        .generateCertificate(new java.io.ByteArrayInputStream(pem.getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
  }

  @Test
  void everyTestHasItsOwnCa() {
    assertTrue(jit.ca().toString().startsWith("EphemeralCa{CN=kubejit-test-ca"), jit.ca().toString());
    assertTrue(!jit.ca().toString().contains("PRIVATE"));
    CertificateAuthority ca = CertificateAuthority.fromPem(jit.ca().certificatePem(), jit.ca().privateKeyPem());
    assertTrue(!ca.certificate().getNotBefore().toInstant().isAfter(jit.clock().instant()), "valid on the fake clock");
  }

  @Test
  void docsShowThisExampleVerbatim() throws Exception {
    Path root = Path.of(System.getProperty("kubejit.projectRoot", "..")).toAbsolutePath().normalize();
    String source = Files.readString(root.resolve(
        "jit-credentials/src/test/java/dev/kubejit/credentials/BrokerFixtureCredentialsExampleTest.java"));
    String marker = "// --8<-- [fixture-credentials]\n";
    int from = source.indexOf(marker) + marker.length();
    int to = source.indexOf("  " + marker, from);
    String example = source.substring(from, to).lines().map(l -> l.startsWith("  ") ? l.substring(2) : l)
        .collect(java.util.stream.Collectors.joining("\n", "", "\n"));
    assertTrue(Files.readString(root.resolve("docs/testing.md")).contains(example), "docs/testing.md must contain:\n" + example);
  }
}
