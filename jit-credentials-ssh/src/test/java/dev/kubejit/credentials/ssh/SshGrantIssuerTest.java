package dev.kubejit.credentials.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.Action;
import dev.kubejit.api.CredentialKind;
import dev.kubejit.api.CredentialSpec;
import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Identity;
import dev.kubejit.api.IssuedCredential;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.Scope;
import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.credentials.CredentialException;
import dev.kubejit.credentials.Exec;
import dev.kubejit.credentials.GrantCredentialIssuer;
import dev.kubejit.credentials.KeyType;
import dev.kubejit.credentials.TestKeys;
import dev.kubejit.credentials.X509Issuer;
import dev.kubejit.testing.FakeClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link SshCertificateAuthority#forGrants()} composed into a {@link GrantCredentialIssuer} with the own X.509 CA. */
class SshGrantIssuerTest {
  static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");
  final FakeClock clock = new FakeClock(T0);
  final CertificateAuthority ca = CertificateAuthority.builder().keyType(KeyType.ED25519).commonName("kubejit").validity(Duration.ofDays(30)).clock(clock).generate();
  final SshCertificateAuthority sshCa = SshCertificateAuthority.generate(KeyType.ED25519, clock);
  final GrantCredentialIssuer issuer = GrantCredentialIssuer.builder().clock(clock)
      .x509(X509Issuer.builder().authority(ca).clock(clock).build()).issuer(sshCa.forGrants()).build();
  final Grant grant = Grant.builder().id(GrantId.random()).requestId(RequestId.random())
      .holder(Identity.of("alice", "oncall-payments", "sre")).role("oncall-debug").action(Action.EXEC)
      .scope(Scope.namespace("prod", "payments")).window(T0, T0.plus(Duration.ofMinutes(45))).build();
  @TempDir static Path dir;
  static String pub;

  @BeforeAll
  static void userKey() throws Exception {
    Exec.ok(dir, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir.resolve("k").toString());
    pub = Files.readString(dir.resolve("k.pub"));
  }

  @Test
  void sshCertificateForTheGrant() {
    IssuedCredential c = issuer.issue(grant, CredentialSpec.sshUserCertificate(pub,
        Map.of("force-command", "kubectl logs -n payments x", "source-address", "10.0.0.0/8", "extensions", "permit-pty")));
    SshUserCertificate cert = SshUserCertificate.parse(c.material());
    assertEquals(List.of("alice"), cert.principals());
    assertEquals("kubejit:request=" + grant.requestId().value() + ":grant=" + grant.id().value() + ":user=alice", cert.keyId());
    assertEquals(grant.expiresAt(), cert.validBefore());
    assertEquals(List.of("permit-pty"), cert.extensions());
    assertEquals(CredentialKind.SSH_USER_CERTIFICATE, c.ref().kind());
    assertThrows(CredentialException.class, () -> issuer.issue(grant, CredentialSpec.sshUserCertificate(pub, Map.of("principals", "a,b"))));
    CredentialException e = assertThrows(CredentialException.class,
        () -> issuer.issue(grant, CredentialSpec.sshUserCertificate(pub, Map.of("permit", "all"))));
    assertTrue(e.getMessage().startsWith("unknown SSH certificate option \"permit\""), e.getMessage());
  }

  @Test
  void validityIsTheGrantsRemainingTime() {
    clock.advance(Duration.ofMinutes(40));
    SshUserCertificate cert = SshUserCertificate.parse(issuer.issue(grant, CredentialSpec.sshUserCertificate(pub, Map.of())).material());
    assertEquals(grant.expiresAt(), cert.validBefore());
    clock.advance(Duration.ofMinutes(5));
    assertThrows(CredentialException.class, () -> issuer.issue(grant, CredentialSpec.sshUserCertificate(pub, Map.of())));
  }

  /** A holder whose user name is reserved gets no credential of any kind, and an SSH principal option cannot name root. */
  @Test
  void reservedHoldersAndPrincipalsGetNothing() throws Exception {
    for (String user : List.of("root", "system:kube-scheduler", "kubernetes-admin", "\u0280\u1d0f\u1d0f\u1d1b")) {
      Grant g = Grant.builder().id(GrantId.random()).requestId(RequestId.random())
          .holder(Identity.of(user, "oncall-payments")).role("oncall-debug").action(Action.EXEC)
          .scope(Scope.namespace("prod", "payments")).window(T0, T0.plus(Duration.ofMinutes(45))).build();
      for (CredentialSpec spec : List.of(CredentialSpec.x509FromCsr(TestKeys.csrPem(TestKeys.ed25519(), "")),
          CredentialSpec.of(CredentialKind.X509_SERVER_GENERATED_KEY, null, Map.of()), CredentialSpec.sshUserCertificate(pub, Map.of()))) {
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
  void oneSshIssuerPerBroker() {
    assertEquals(List.of(CredentialKind.X509_FROM_CSR, CredentialKind.X509_SERVER_GENERATED_KEY, CredentialKind.SSH_USER_CERTIFICATE),
        List.copyOf(issuer.kinds()));
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> GrantCredentialIssuer.builder().issuer(sshCa.forGrants()).issuer(sshCa.forGrants()));
    assertTrue(e.getMessage().startsWith("SSH_USER_CERTIFICATE is already issued by SshCertificateAuthority{"), e.getMessage());
  }

  /** The one lifetime cap (Lifetimes.ABSOLUTE_MAX, 366 days) holds for the SSH CA and its requests too. */
  @Test
  void absoluteLifetimeCap() {
    Duration cap = dev.kubejit.api.Lifetimes.ABSOLUTE_MAX;
    assertEquals(cap, sshCa.withMaxTtl(cap).maxTtl());
    assertThrows(IllegalArgumentException.class, () -> sshCa.withMaxTtl(cap.plusSeconds(1)));
    assertThrows(CredentialException.class, () -> SshCertificateRequest.builder().ttl(cap.plusSeconds(1)));
  }
}
