package dev.kubejit.credentials;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.nio.file.Files;
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
  final CertificateAuthority ca = CertificateAuthority.generate(KeyType.ED25519, "kubejit", Duration.ofDays(30), clock);
  final SshCertificateAuthority sshCa = SshCertificateAuthority.generate(KeyType.ED25519, clock);
  final JwtIssuer jwt = JwtIssuer.generate(KeyType.ED25519, "https://kubejit", clock);
  final GrantCredentialIssuer issuer = GrantCredentialIssuer.builder().clock(clock)
      .x509(X509Issuer.builder().authority(ca).clock(clock).build()).ssh(sshCa).jwt(jwt, "gateway").build();
  final Grant grant = Grant.builder().id(GrantId.random()).requestId(RequestId.random())
      .holder(Identity.of("alice", "oncall-payments", "sre")).role("oncall-debug").action(Action.EXEC)
      .scope(Scope.namespace("prod", "payments")).window(T0, T0.plus(Duration.ofMinutes(45))).build();

  @Test
  void x509CarriesHolderAndOnlyThePerGrantGroupAndEndsWithTheGrant() throws Exception {
    IssuedCredential c = issuer.issue(grant, CredentialSpec.x509FromCsr(TestKeys.csrPem(TestKeys.ed25519(), "CN=alice")));
    var cert = CertificateAuthority.parseCertificate(c.material(), "cert");
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
  void sshCertificateForTheGrant(@TempDir Path dir) throws Exception {
    Exec.ok(dir, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir.resolve("k").toString());
    String pub = Files.readString(dir.resolve("k.pub"));
    IssuedCredential c = issuer.issue(grant, CredentialSpec.sshUserCertificate(pub,
        Map.of("force-command", "kubectl logs -n payments x", "source-address", "10.0.0.0/8", "extensions", "permit-pty")));
    SshUserCertificate cert = SshUserCertificate.parse(c.material());
    assertEquals(List.of("alice"), cert.principals());
    assertEquals("kubejit:request=" + grant.requestId().value() + ":grant=" + grant.id().value() + ":user=alice", cert.keyId());
    assertEquals(grant.expiresAt(), cert.validBefore());
    assertEquals(List.of("permit-pty"), cert.extensions());
    assertEquals(CredentialKind.SSH_USER_CERTIFICATE, c.ref().kind());
    assertThrows(CredentialException.class, () -> issuer.issue(grant, CredentialSpec.sshUserCertificate(pub, Map.of("principals", "a,b"))));
    assertThrows(CredentialException.class, () -> issuer.issue(grant, CredentialSpec.sshUserCertificate(pub, Map.of("permit", "all"))));
  }

  @Test
  void jwtForTheGrant() {
    IssuedCredential c = issuer.issue(grant, CredentialSpec.of(CredentialKind.JWT, null, Map.of()));
    VerifiedJwt v = JwtVerifier.builder().key(jwt.jwksJson()).issuer("https://kubejit").audience("gateway").clock(clock).build()
        .verify(c.material());
    assertEquals("alice", v.subject());
    assertEquals(List.of(grant.subjectGroup()), v.groups());
    assertEquals(List.of("exec"), v.actions());
    assertEquals("payments", v.namespace().orElseThrow());
    assertFalse(c.toString().contains(c.material()));
  }

  /** A holder whose user name is reserved gets no credential of any kind, and an SSH principal option cannot name root. */
  @Test
  void reservedHoldersAndPrincipalsGetNothing(@TempDir Path dir) throws Exception {
    Exec.ok(dir, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir.resolve("k").toString());
    String pub = Files.readString(dir.resolve("k.pub"));
    for (String user : List.of("root", "system:kube-scheduler", "kubernetes-admin", "\u0280\u1d0f\u1d0f\u1d1b")) {
      Grant g = Grant.builder().id(GrantId.random()).requestId(RequestId.random())
          .holder(Identity.of(user, "oncall-payments")).role("oncall-debug").action(Action.EXEC)
          .scope(Scope.namespace("prod", "payments")).window(T0, T0.plus(Duration.ofMinutes(45))).build();
      for (CredentialSpec spec : List.of(CredentialSpec.x509FromCsr(TestKeys.csrPem(TestKeys.ed25519(), "")),
          CredentialSpec.of(CredentialKind.X509_SERVER_GENERATED_KEY, null, Map.of()),
          CredentialSpec.sshUserCertificate(pub, Map.of()), CredentialSpec.of(CredentialKind.JWT, null, Map.of()))) {
        CredentialException e = assertThrows(CredentialException.class, () -> issuer.issue(g, spec), user + " " + spec.kind());
        // OpenSSH principals are ASCII, so the small-capital look-alike fails that syntax first
        assertTrue(e.getMessage().contains("reserved") || e.getMessage().startsWith("invalid SSH principal"), e.getMessage());
      }
    }
    for (String principals : List.of("root", "alice root", "system:masters", "ROOT")) {
      CredentialException e = assertThrows(CredentialException.class,
          () -> issuer.issue(grant, CredentialSpec.sshUserCertificate(pub, Map.of("principals", principals))), principals);
      assertTrue(e.getMessage().contains("is a reserved or privileged name"), e.getMessage());
    }
  }

  @Test
  void endedGrantsAndUnconfiguredKindsAreRefused() throws Exception {
    clock.set(grant.expiresAt());
    ProvisioningException e = assertThrows(ProvisioningException.class,
        () -> issuer.issue(grant, CredentialSpec.x509FromCsr(TestKeys.csrPem(TestKeys.ed25519(), ""))));
    assertTrue(e.getMessage().contains("ended"), e.getMessage());
    clock.set(T0);
    GrantCredentialIssuer sshOnly = GrantCredentialIssuer.builder().ssh(sshCa).clock(clock).build();
    assertThrows(CredentialException.class, () -> sshOnly.issue(grant, CredentialSpec.x509FromCsr(TestKeys.csrPem(TestKeys.ed25519(), ""))));
    assertThrows(CredentialException.class, () -> issuer.issue(grant, CredentialSpec.of(CredentialKind.OPAQUE, null, Map.of())));
    assertThrows(IllegalStateException.class, () -> GrantCredentialIssuer.builder().build());
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
