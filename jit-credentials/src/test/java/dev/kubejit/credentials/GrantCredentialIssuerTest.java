package dev.kubejit.credentials;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.credentials.internal.X509Support;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kubejit.api.Action;
import dev.kubejit.api.CredentialKind;
import dev.kubejit.api.CredentialSpec;
import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Identity;
import dev.kubejit.api.IssuedCredential;
import dev.kubejit.api.ProvisioningException;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.Scope;
import dev.kubejit.testing.FakeClock;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.X509CertificateHolder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GrantCredentialIssuerTest {
  static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");
  final FakeClock clock = new FakeClock(T0);
  final CertificateAuthority ca = CertificateAuthority.builder().keyType(KeyType.ED25519).commonName("kubejit").validity(Duration.ofDays(30)).clock(clock).generate();
  final GrantCredentialIssuer issuer = GrantCredentialIssuer.builder().clock(clock)
      .x509(X509Issuer.builder().authority(ca).clock(clock).build()).build();
  final Grant grant = Grant.builder().id(GrantId.random()).requestId(RequestId.random())
      .holder(Identity.of("alice", "oncall-payments", "sre")).role("oncall-debug").action(Action.EXEC)
      .scope(Scope.namespace("prod", "payments")).window(T0, T0.plus(Duration.ofMinutes(45))).build();

  @Test
  void x509CarriesHolderAndOnlyThePerGrantGroupAndEndsWithTheGrant() throws Exception {
    IssuedCredential c = issuer.issue(grant, CredentialSpec.x509FromCsr(TestKeys.csrPem(TestKeys.ed25519(), "CN=alice")));
    var cert = X509Support.parseCertificate(c.material(), "cert");
    assertEquals(new X500Name("CN=alice,O=" + grant.subjectGroup()), new X509CertificateHolder(cert.getEncoded()).getSubject());
    assertEquals(grant.expiresAt(), cert.getNotAfter().toInstant());
    assertEquals(CredentialKind.X509_FROM_CSR, c.ref().kind());
    assertEquals(cert.getSerialNumber().toString(16), c.ref().id());
    assertFalse(c.isSecret());
    // a CSR that claims the holder's IdP group is refused: only the per-grant group is issued
    assertThrows(CredentialException.class, () -> issuer.issue(grant,
        CredentialSpec.x509FromCsr(TestKeys.csrPem(TestKeys.ed25519(), "CN=alice,O=sre"))));
  }

  @Test
  void serverGeneratedKeyIsSecretMaterial() {
    IssuedCredential c = issuer.issue(grant, CredentialSpec.of(CredentialKind.X509_SERVER_GENERATED_KEY, null, Map.of("keyType", "ecdsa-p256")));
    assertTrue(c.isSecret());
    assertTrue(c.material().contains("-----BEGIN PRIVATE KEY-----"));
    assertFalse(c.toString().contains("PRIVATE"));
  }

  @Test
  void endedGrantsAndUnconfiguredKindsAreRefused() throws Exception {
    clock.set(grant.expiresAt());
    ProvisioningException e = assertThrows(ProvisioningException.class,
        () -> issuer.issue(grant, CredentialSpec.x509FromCsr(TestKeys.csrPem(TestKeys.ed25519(), ""))));
    assertTrue(e.getMessage().contains("ended"), e.getMessage());
    clock.set(T0);
    GrantCredentialIssuer opaqueOnly = GrantCredentialIssuer.builder().issuer(new Recording(CredentialKind.OPAQUE)).clock(clock).build();
    CredentialException notConfigured = assertThrows(CredentialException.class,
        () -> opaqueOnly.issue(grant, CredentialSpec.x509FromCsr(TestKeys.csrPem(TestKeys.ed25519(), ""))));
    assertEquals("credential kind X509_FROM_CSR is not configured in this issuer (configured: [OPAQUE])", notConfigured.getMessage());
    assertThrows(CredentialException.class, () -> issuer.issue(grant, CredentialSpec.of(CredentialKind.OPAQUE, null, Map.of())));
    assertThrows(CredentialException.class, () -> issuer.issue(grant,
        CredentialSpec.of(CredentialKind.X509_SERVER_GENERATED_KEY, null, Map.of("keyTyp", "rsa-3072"))));
    assertThrows(IllegalStateException.class, () -> GrantCredentialIssuer.builder().build());
  }

  /** Kind issuers compose: each kind goes to the one issuer that names it, with the grant's remaining time. */
  @Test
  void kindIssuersComposeAndReceiveTheRemainingTime() throws Exception {
    Recording opaque = new Recording(CredentialKind.OPAQUE);
    GrantCredentialIssuer both = GrantCredentialIssuer.builder().x509(X509Issuer.builder().authority(ca).clock(clock).build())
        .issuer(opaque).clock(clock).build();
    assertEquals(List.of(CredentialKind.X509_FROM_CSR, CredentialKind.X509_SERVER_GENERATED_KEY, CredentialKind.OPAQUE),
        List.copyOf(both.kinds()));
    clock.advance(Duration.ofMinutes(15));
    IssuedCredential c = both.issue(grant, CredentialSpec.of(CredentialKind.OPAQUE, null, Map.of()));
    assertEquals(Duration.ofMinutes(30), opaque.remaining);
    assertEquals(grant, opaque.grant);
    assertEquals("opaque-1", c.material());
    both.issue(grant, CredentialSpec.x509FromCsr(TestKeys.csrPem(TestKeys.ed25519(), "")));
    assertEquals(1, opaque.calls, "X.509 is not routed to the OPAQUE issuer");
  }

  @Test
  void twoIssuersForOneKindAreRefusedNamingTheFirst() {
    GrantCredentialIssuer.Builder b = GrantCredentialIssuer.builder().issuer(new Recording(CredentialKind.OPAQUE, CredentialKind.JWT));
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> b.issuer(new Recording(CredentialKind.JWT)));
    assertEquals("JWT is already issued by Recording[JWT, OPAQUE]", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> GrantCredentialIssuer.builder().issuer(new Recording()));
    X509Issuer x = X509Issuer.builder().authority(ca).clock(clock).build();
    assertThrows(IllegalStateException.class, () -> GrantCredentialIssuer.builder().x509(x).x509(x));
  }

  /** A kind issuer that records its last call (a narrow seam: the SPI has no behaviour of its own to test). */
  static final class Recording implements CredentialKindIssuer {
    final java.util.Set<CredentialKind> kinds;
    Grant grant;
    Duration remaining;
    int calls;

    Recording(CredentialKind... kinds) {
      this.kinds = kinds.length == 0 ? java.util.Set.of() : java.util.EnumSet.copyOf(List.of(kinds));
    }

    @Override
    public java.util.Set<CredentialKind> kinds() {
      return kinds;
    }

    @Override
    public IssuedCredential issue(Grant grant, CredentialSpec spec, Duration remaining) {
      this.grant = grant;
      this.remaining = remaining;
      calls++;
      return IssuedCredential.publicMaterial(dev.kubejit.api.CredentialRef.of(spec.kind(), "r" + calls, "fp", grant.expiresAt()),
          "opaque-" + calls);
    }

    @Override
    public String toString() {
      return "Recording" + kinds;
    }
  }

  @Test
  void execCredentialAndKubeconfig(@TempDir Path dir) throws Exception {
    X509Issuer x = X509Issuer.builder().authority(ca).clock(clock).build();
    IssuedCertificate c = x.issueWithGeneratedKey("alice", List.of("g"), Duration.ofMinutes(30), KeyType.ECDSA_P256);
    JsonObject o = JsonParser.parseString(ExecCredential.json(ExecCredential.V1, c)).getAsJsonObject();
    assertEquals("client.authentication.k8s.io/v1", o.get("apiVersion").getAsString());
    assertEquals("ExecCredential", o.get("kind").getAsString());
    JsonObject status = o.getAsJsonObject("status");
    assertEquals("2026-03-01T10:29:00Z", status.get("expirationTimestamp").getAsString());
    assertEquals(c.certificatePem(), status.get("clientCertificateData").getAsString());
    assertEquals(c.privateKeyPem(), status.get("clientKeyData").getAsString());
    // short lifetimes expire 10% early instead of one minute
    assertEquals(T0.plusSeconds(270), ExecCredential.expirationFor(T0, T0.plusSeconds(300)));
    assertEquals(ExecCredential.V1, ExecCredential.apiVersionFor(null));
    assertEquals(ExecCredential.V1BETA1, ExecCredential.apiVersionFor(
        "{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"spec\":{\"interactive\":false}}"));
    assertThrows(CredentialException.class, () -> ExecCredential.apiVersionFor("{\"apiVersion\":\"client.authentication.k8s.io/v1alpha1\"}"));
    assertThrows(CredentialException.class, () -> ExecCredential.apiVersionFor("not json"));

    assertThrows(CredentialException.class, () -> Kubeconfig.builder().server("http://127.0.0.1:6443"));
    assertThrows(CredentialException.class, () -> Kubeconfig.builder().server("https://127.0.0.1:6443").certificateAuthorityPem(ca.certificatePem()).build());
    assertThrows(CredentialException.class, () -> Kubeconfig.builder().clientCertificate(c.certificatePem(), "garbage"));
  }
}
