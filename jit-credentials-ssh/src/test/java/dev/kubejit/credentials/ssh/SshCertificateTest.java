package dev.kubejit.credentials.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.credentials.Exec;
import dev.kubejit.credentials.KeyType;
import dev.kubejit.credentials.CredentialException;
import dev.kubejit.testing.FakeClock;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** OpenSSH user certificates: builder strictness, our verifier, and the real ssh-keygen and sshd. */
class SshCertificateTest {
  static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");
  @TempDir Path dir;
  final FakeClock clock = new FakeClock(T0);
  final SshCertificateAuthority ca = SshCertificateAuthority.generate(KeyType.ED25519, clock);

  String userKey(String type, String bits) {
    Path k = dir.resolve("id_" + type + bits);
    Exec.ok(dir, "ssh-keygen", "-q", "-t", type, "-b", bits, "-N", "", "-C", "alice@laptop", "-f", k.toString());
    try {
      return Files.readString(dir.resolve(k.getFileName() + ".pub"));
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  SshCertificateRequest.Builder request(String pub) {
    return SshCertificateRequest.builder().publicKey(pub).keyId("kubejit:request=r1:user=alice").principals("ops-alice")
        .ttl(Duration.ofMinutes(30));
  }

  static Stream<Arguments> keyMatrix() {
    return Stream.of(KeyType.ED25519, KeyType.ECDSA_P256, KeyType.RSA_3072).flatMap(ca -> Stream.of(
        Arguments.of(ca, "ed25519", "256"), Arguments.of(ca, "ecdsa", "256"), Arguments.of(ca, "rsa", "3072")));
  }

  @ParameterizedTest(name = "CA {0}, user key {1}")
  @MethodSource("keyMatrix")
  void sshKeygenParsesOurCertificates(KeyType caType, String userType, String bits) throws Exception {
    SshCertificateAuthority c = SshCertificateAuthority.generate(caType, Clock.systemUTC());
    SshUserCertificate cert = c.sign(request(userKey(userType, bits)).forceCommand("kubectl logs -n payments checkout")
        .sourceAddresses("10.0.0.0/8,192.168.1.7").extension("permit-pty").build());
    Files.writeString(dir.resolve("id-cert.pub"), cert.line() + "\n");
    // The line is assembled from the signed message and the signature; MINA's own encoding of the
    // certificate read back from it must give the same line.
    assertEquals(cert.line(), SshUserCertificate.parse(cert.line()).line());
    String out = Exec.ok(dir, "ssh-keygen", "-L", "-f", "id-cert.pub").out;
    String certType = userType.equals("ecdsa") ? "ecdsa-sha2-nistp256" : userType.equals("rsa") ? "ssh-rsa" : "ssh-ed25519";
    assertTrue(out.contains("Type: " + certType + "-cert-v01@openssh.com user certificate"), out);
    assertTrue(out.contains("Key ID: \"kubejit:request=r1:user=alice\""), out);
    assertTrue(out.contains("Serial: " + Long.toUnsignedString(cert.serial())), out);
    assertTrue(out.matches("(?s).*Principals: \\n\\s+ops-alice\\n.*"), out);
    assertTrue(out.matches("(?s).*force-command kubectl logs -n payments checkout\\n.*"), out);
    assertTrue(out.matches("(?s).*source-address 10.0.0.0/8,192.168.1.7\\n.*"), out);
    assertTrue(out.matches("(?s).*Extensions: \\n\\s+permit-pty\\n.*"), out);
    assertFalse(out.contains("forever"), out);
    if (caType.name().startsWith("RSA")) {
      assertTrue(out.contains("(using rsa-sha2-512)"), out);
    }
    assertTrue(out.contains(c.fingerprint()), out);
  }

  @Test
  void defaultsAreNoExtensionsAndBoundedValidity() throws Exception {
    SshUserCertificate cert = ca.sign(request(userKey("ed25519", "256")).build());
    assertEquals(List.of(), cert.extensions());
    assertEquals(List.of(), List.copyOf(cert.criticalOptions().keySet()));
    assertEquals(T0.minus(Duration.ofMinutes(1)), cert.validAfter());
    assertEquals(T0.plus(Duration.ofMinutes(30)), cert.validBefore());
    assertTrue(cert.clampReason().isEmpty());
    Files.writeString(dir.resolve("c-cert.pub"), cert.line());
    String out = Exec.ok(dir, "ssh-keygen", "-L", "-f", "c-cert.pub").out;
    assertTrue(out.matches("(?s).*Critical Options: \\(none\\).*Extensions: \\(none\\).*"), out);
    assertTrue(out.contains("Valid: from 2026-03-01T"), out);
    SshUserCertificate other = ca.sign(request(userKey("ecdsa", "256")).build());
    assertNotEquals(cert.serial(), other.serial());
  }

  @Test
  void ttlIsClampedAndReported() throws Exception {
    SshUserCertificate cert = ca.withMaxTtl(Duration.ofHours(1)).sign(SshCertificateRequest.builder()
        .publicKey(userKey("ecdsa", "256")).keyId("k").principals("p").ttl(Duration.ofHours(3)).build());
    assertEquals(T0.plus(Duration.ofHours(1)), cert.validBefore());
    assertTrue(cert.clampReason().orElseThrow().contains("PT3H"), cert.clampReason().get());
  }

  @Test
  void builderRefusesRiskyOrMalformedRequests() throws Exception {
    String pub = userKey("ed25519", "256");
    CredentialException e = assertThrows(CredentialException.class,
        () -> SshCertificateRequest.builder().publicKey(pub).keyId("k").ttl(Duration.ofMinutes(5)).build());
    assertTrue(e.getMessage().contains("principal"), e.getMessage());
    e = assertThrows(CredentialException.class, () -> SshCertificateRequest.builder().publicKey(pub).keyId("k").principals("p").build());
    assertTrue(e.getMessage().contains("never valid forever"), e.getMessage());
    assertThrows(CredentialException.class, () -> SshCertificateRequest.builder().publicKey(pub).principals("p").ttl(Duration.ofMinutes(1)).build());
    for (String bad : new String[] {"", "ops alice", "ops,alice", "*", "ali?e", "al\nice", "ålice"}) {
      e = assertThrows(CredentialException.class, () -> SshCertificateRequest.builder().principals(bad), bad);
      assertTrue(e.getMessage().contains("principal"), e.getMessage());
    }
    for (String ttl : new String[] {"PT0S", "-PT5M", "P400D"}) {
      assertThrows(CredentialException.class, () -> SshCertificateRequest.builder().ttl(Duration.parse(ttl)), ttl);
    }
    for (String cidr : new String[] {"10.0.0.1/8", "10.0.0.0/33", "300.1.1.1", "example.com", "10.0.0.0/x", "", "10.0.0.0/8,", "::1/129",
        "010.0.0.1", "::ffff:10.0.0.1"}) {
      e = assertThrows(CredentialException.class, () -> SshCertificateRequest.builder().sourceAddresses(cidr), cidr);
      assertTrue(e.getMessage().contains("source-address"), e.getMessage());
    }
    SshCertificateRequest.builder().sourceAddresses("127.0.0.1/32,10.0.0.0/8,fd00::/8,192.168.1.7,::1");
    e = assertThrows(CredentialException.class, () -> SshCertificateRequest.builder().extension("permit-everything"));
    assertTrue(e.getMessage().contains("permit-everything"));
    assertThrows(CredentialException.class, () -> SshCertificateRequest.builder().forceCommand("ls\nrm -rf /"));
    assertThrows(IllegalStateException.class, () -> SshCertificateRequest.builder().keyId("a").keyId("b"));
    // key ids: each ':'/'='-separated part follows the principal-name rule
    for (String bad : new String[] {"kubejit:user=\u200balice", "kubejit:user=al\u00a0ice", "kubejit:user=alic\u0435",
        "kubejit: user=alice", "kubejit:user=\uff41lice", "", "k".repeat(257)}) {
      e = assertThrows(CredentialException.class, () -> SshCertificateRequest.builder().keyId(bad), bad);
      assertTrue(e.getMessage().startsWith("SSH key id"), e.getMessage());
      assertTrue(e.getMessage().chars().allMatch(c -> c >= 0x20 && c < 0x7f), e.getMessage());
    }
    SshCertificateRequest.builder().keyId("kubejit:request=r1:grant=g1:user=\u0438\u0432\u0430\u043d"); // Cyrillic user after Latin words
    SshCertificateRequest.builder().keyId("kubejit-cli:ops-alice+ops-bob:2026-03-01T10:00:00.123Z");
    // principals: the name rule first (the character is named), then OpenSSH's own syntax
    e = assertThrows(CredentialException.class, () -> SshCertificateRequest.builder().principals("\u200bops-alice"));
    assertEquals("SSH principal contains an invisible format character (U+200B): \"\\u200bops-alice\"", e.getMessage());
  }

  @Test
  void badPublicKeysAreRefused() throws Exception {
    Exec.ok(dir, "ssh-keygen", "-q", "-t", "rsa", "-b", "1024", "-N", "", "-f", dir.resolve("weak").toString());
    String weak = Files.readString(dir.resolve("weak.pub"));
    SshUserCertificate someCert = ca.sign(request(userKey("ed25519", "256")).build());
    String[] bad = {
        weak,
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== truncated",
        "ssh-ed25519 !!!notbase64!!!",
        "ssh-dss AAAAB3NzaC1kc3MAAACBAP== x",
        "not a key",
        someCert.line(),
    };
    for (String line : bad) {
      CredentialException e = assertThrows(CredentialException.class, () -> ca.sign(request(line).build()), line);
      assertTrue(e.getMessage().startsWith("SSH public key") || e.getMessage().startsWith("expected an SSH public key"), e.getMessage());
    }
  }

  @Test
  void verifierChecksCaSignatureValidityPrincipalAndSource() throws Exception {
    SshUserCertificate cert = ca.sign(request(userKey("ed25519", "256")).sourceAddresses("127.0.0.0/8").build());
    SshCertificateVerifier v = SshCertificateVerifier.builder().trustedCa(ca.publicKeyLine()).clock(clock).build();
    InetAddress local = InetAddress.getByName("127.0.0.1");
    assertEquals(cert.serial(), v.verify(cert.line(), "ops-alice", local).serial());
    assertThrows(CredentialException.class, () -> v.verify(cert.line(), "root", local));
    assertThrows(CredentialException.class, () -> v.verify(cert.line(), "ops-alice", InetAddress.getByName("10.1.1.1")));
    assertThrows(CredentialException.class, () -> v.verify(cert.line(), "ops-alice"));
    // validity boundaries: validAfter inclusive, validBefore exclusive
    clock.set(cert.validAfter());
    v.verify(cert.line(), "ops-alice", local);
    clock.set(cert.validAfter().minusNanos(1));
    assertThrows(CredentialException.class, () -> v.verify(cert.line(), "ops-alice", local));
    clock.set(cert.validBefore().minusNanos(1));
    v.verify(cert.line(), "ops-alice", local);
    clock.set(cert.validBefore());
    CredentialException e = assertThrows(CredentialException.class, () -> v.verify(cert.line(), "ops-alice", local));
    assertTrue(e.getMessage().contains("expired"), e.getMessage());
    clock.set(T0);
    // another CA
    SshCertificateAuthority other = SshCertificateAuthority.generate(KeyType.ED25519, clock);
    SshUserCertificate foreign = other.sign(request(userKey("ecdsa", "256")).build());
    e = assertThrows(CredentialException.class, () -> v.verify(foreign.line(), "ops-alice"));
    assertTrue(e.getMessage().contains("untrusted CA"), e.getMessage());
    // tampered: flip a bit inside the signed part of the blob
    String[] parts = cert.line().split(" ");
    byte[] blob = java.util.Base64.getDecoder().decode(parts[1]);
    int at = com.google.common.primitives.Bytes.indexOf(blob, "ops-alice".getBytes());
    blob[at] = 'X';
    String tampered = parts[0] + " " + java.util.Base64.getEncoder().encodeToString(blob);
    e = assertThrows(CredentialException.class, () -> v.verify(tampered, "Xps-alice", local));
    assertTrue(e.getMessage().contains("invalid CA signature"), e.getMessage());
    assertThrows(CredentialException.class, () -> v.verify("ssh-ed25519-cert-v01@openssh.com AAAA", "ops-alice"));
    assertThrows(CredentialException.class, () -> v.verify(ca.publicKeyLine(), "ops-alice"));
  }

  /** Certificates from elsewhere may carry any text: messages and toString() show it escaped, on one line. */
  @Test
  void namesFromParsedCertificatesAreEscapedInMessages() throws Exception {
    SshCertificateAuthority c = SshCertificateAuthority.generate(KeyType.ED25519, Clock.systemUTC());
    Path caDir = Files.createDirectory(dir.resolve("ca"));
    c.writeTo(caDir);
    userKey("ed25519", "256");
    Exec.ok(dir, "ssh-keygen", "-q", "-s", caDir.resolve("ssh_ca").toString(), "-I", "id\u200b\nforged", "-n",
        "ops-\u00e5lice,\u200broot", "-V", "-5m:+10m", dir.resolve("id_ed25519256.pub").toString());
    String line = Files.readString(dir.resolve("id_ed25519256-cert.pub")).strip();
    SshCertificateVerifier v = SshCertificateVerifier.builder().trustedCa(c.publicKeyLine()).build();
    CredentialException e = assertThrows(CredentialException.class, () -> v.verify(line, "ops-bob"));
    assertEquals("SSH certificate \"id\\u200b\\u000aforged\" is not valid for principal \"ops-bob\" (principals"
        + " [\"ops-\\u00e5lice\", \"\\u200broot\"])", e.getMessage());
    String text = SshUserCertificate.parse(line).toString();
    assertTrue(text.contains("[\"ops-\\u00e5lice\", \"\\u200broot\"]") && text.chars().allMatch(ch -> ch >= 0x20 && ch < 0x7f), text);
  }

  @Test
  void caFilesAreOpensshFormatUsableBySshKeygen() throws Exception {
    SshCertificateAuthority c = SshCertificateAuthority.generate(KeyType.ED25519, Clock.systemUTC());
    Path caDir = Files.createDirectory(dir.resolve("ca"));
    c.writeTo(caDir);
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(caDir.resolve("ssh_ca"))));
    // ssh-keygen reads our private key file and derives the same public key
    String derived = Exec.ok(caDir, "ssh-keygen", "-y", "-f", "ssh_ca").out.strip();
    assertEquals(c.publicKeyLine().split(" ")[1], derived.split(" ")[1]);
    // ssh-keygen signs with our CA key; our verifier accepts that certificate
    userKey("ed25519", "256");
    Exec.ok(dir, "ssh-keygen", "-q", "-s", caDir.resolve("ssh_ca").toString(), "-I", "by-ssh-keygen", "-n", "ops-alice",
        "-V", "-5m:+10m", dir.resolve("id_ed25519256.pub").toString());
    String line = Files.readString(dir.resolve("id_ed25519256-cert.pub"));
    SshUserCertificate parsed = SshCertificateVerifier.builder().trustedCa(Files.readString(caDir.resolve("ssh_ca.pub"))).build()
        .verify(line, "ops-alice");
    assertEquals("by-ssh-keygen", parsed.keyId());
    SshCertificateAuthority loaded = SshCertificateAuthority.load(caDir.resolve("ssh_ca"), Clock.systemUTC());
    assertEquals(c.fingerprint(), loaded.fingerprint());
    // no 16-character piece of the private key file (base64) appears in toString()
    String body = Files.readString(caDir.resolve("ssh_ca")).replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    for (int i = 0; i + 16 <= body.length(); i++) {
      assertFalse(c.toString().contains(body.substring(i, i + 16)), c.toString());
    }
    assertThrows(CredentialException.class, () -> c.writeTo(caDir));
  }

  // ---------------------------------------------------------------- real sshd

  @ParameterizedTest(name = "CA {0}, user key {1}")
  @MethodSource("sshdMatrix")
  void sshdAcceptsOurCertificateForItsPrincipal(KeyType caType, String userType, String bits) throws Exception {
    SshCertificateAuthority c = SshCertificateAuthority.generate(caType, Clock.systemUTC());
    try (Sshd sshd = Sshd.start(Files.createDirectory(dir.resolve("sshd")), c.publicKeyLine(), "ops-alice")) {
      Path key = dir.resolve("id_" + userType + bits);
      SshUserCertificate cert = c.sign(request(userKey(userType, bits)).build());
      Path certFile = dir.resolve("id-cert.pub");
      Files.writeString(certFile, cert.line() + "\n");
      Exec ok = sshd.ssh(key, certFile, "echo hello-from-sshd");
      assertEquals(0, ok.exit, ok + "\n" + sshd.logText());
      assertEquals("hello-from-sshd", ok.out.strip());
      assertTrue(sshd.logText().contains("ID kubejit:request=r1:user=alice (serial " + Long.toUnsignedString(cert.serial()) + ")"),
          sshd.logText());
    }
  }

  static Stream<Arguments> sshdMatrix() {
    return Stream.of(Arguments.of(KeyType.ED25519, "ed25519", "256"), Arguments.of(KeyType.ECDSA_P256, "ecdsa", "256"),
        Arguments.of(KeyType.RSA_3072, "rsa", "3072"));
  }

  @Test
  void sshdRefusesWrongPrincipalExpiredNotYetValidAndForeignSourceAndRunsForceCommand() throws Exception {
    SshCertificateAuthority real = SshCertificateAuthority.generate(KeyType.ED25519, Clock.systemUTC());
    try (Sshd sshd = Sshd.start(Files.createDirectory(dir.resolve("sshd")), real.publicKeyLine(), "ops-alice")) {
      String pub = userKey("ed25519", "256");
      Path key = dir.resolve("id_ed25519256");
      Path certFile = dir.resolve("id-cert.pub");

      // positive control: the principal listed for the login user
      Files.writeString(certFile, real.sign(request(pub).build()).line() + "\n");
      assertEquals(0, sshd.ssh(key, certFile, "true").exit, sshd.logText());

      // another principal
      Files.writeString(certFile, real.sign(SshCertificateRequest.builder().publicKey(pub).keyId("k-bob").principals("ops-bob")
          .ttl(Duration.ofMinutes(5)).build()).line() + "\n");
      assertDenied(sshd, key, certFile, "Certificate does not contain an authorized principal");

      // expired: issued two hours ago for 30 minutes
      FakeClock past = new FakeClock(Instant.now().minus(Duration.ofHours(2)));
      Files.writeString(certFile, real.withClock(past).sign(request(pub).build()).line() + "\n");
      assertDenied(sshd, key, certFile, "Certificate invalid: expired");

      // not yet valid: issued "one hour from now"
      FakeClock future = new FakeClock(Instant.now().plus(Duration.ofHours(1)));
      Files.writeString(certFile, real.withClock(future).sign(request(pub).build()).line() + "\n");
      assertDenied(sshd, key, certFile, "Certificate invalid: not yet valid");

      // source-address outside the client's address
      Files.writeString(certFile, real.sign(request(pub).sourceAddresses("10.9.9.9/32").build()).line() + "\n");
      assertDenied(sshd, key, certFile, "not from a permitted source address (127.0.0.1)");
      // ... and inside it
      Files.writeString(certFile, real.sign(request(pub).sourceAddresses("127.0.0.1/32").build()).line() + "\n");
      assertEquals(0, sshd.ssh(key, certFile, "true").exit, sshd.logText());

      // a certificate from another CA with the right principal
      SshCertificateAuthority stranger = SshCertificateAuthority.generate(KeyType.ED25519, Clock.systemUTC());
      Files.writeString(certFile, stranger.sign(request(pub).build()).line() + "\n");
      assertDenied(sshd, key, certFile, "CA ED25519 " + stranger.fingerprint());

      // force-command is what runs, whatever the client asks for
      Files.writeString(certFile, real.sign(request(pub).forceCommand("echo forced-command-ran").build()).line() + "\n");
      Exec forced = sshd.ssh(key, certFile, "echo requested-command-ran");
      assertEquals(0, forced.exit, forced + sshd.logText());
      assertEquals("forced-command-ran", forced.out.strip());
    }
  }

  /** Asserts the login fails and that sshd's own log gives {@code reason} for it. */
  private static void assertDenied(Sshd sshd, Path key, Path cert, String reason) throws Exception {
    int before = sshd.logText().length();
    Exec e = sshd.ssh(key, cert, "echo should-not-run");
    assertEquals(255, e.exit, e + "\n" + sshd.logText());
    assertFalse(e.out.contains("should-not-run"));
    assertTrue(e.err.contains("Permission denied (publickey)"), e.toString());
    // sshd may write its reason just after the client gives up: poll the log until a deadline
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    String log = sshd.logText().substring(before);
    while (!log.contains(reason) && System.nanoTime() < deadline) {
      Thread.sleep(20);
      log = sshd.logText().substring(before);
    }
    assertTrue(log.contains(reason), "sshd log should say " + reason + " within 10 s:\n" + log);
  }

  /**
   * Certificate principals versus the principal sshd's AuthorizedPrincipalsFile allows for the
   * login user, and whether sshd (the oracle) lets the login in. Certificates our CA will not sign
   * (a "*" principal, no principal at all) are signed by ssh-keygen with our CA's key.
   */
  static Stream<Arguments> principalCases() {
    return Stream.of(
        Arguments.of(List.of("ops-alice"), "ops-alice", true),
        Arguments.of(List.of("ops-alice", "ops-bob"), "ops-bob", true),
        Arguments.of(List.of("ops-alice"), "root", false),
        Arguments.of(List.of("ops-alice"), "ops-bob", false),
        Arguments.of(List.of("ops-alice"), "OPS-ALICE", false),
        Arguments.of(List.of("ops-alice"), "ops", false),
        Arguments.of(List.of("ops"), "ops-alice", false),
        Arguments.of(List.of("*"), "ops-alice", false),
        Arguments.of(List.of(), "ops-alice", false));
  }

  @ParameterizedTest(name = "certificate principals {0}, sshd allows {1}")
  @MethodSource("principalCases")
  void verifierAgreesWithSshdOnPrincipals(List<String> certPrincipals, String allowed, boolean sshdShouldAccept) throws Exception {
    SshCertificateAuthority c = SshCertificateAuthority.generate(KeyType.ED25519, Clock.systemUTC());
    String pub = userKey("ed25519", "256");
    Path key = dir.resolve("id_ed25519256");
    Path certFile = dir.resolve("id_ed25519256-cert.pub");
    if (!certPrincipals.isEmpty() && certPrincipals.stream().noneMatch(p -> p.contains("*"))) {
      Files.writeString(certFile, c.sign(SshCertificateRequest.builder().publicKey(pub).keyId("agree").principals(certPrincipals)
          .ttl(Duration.ofMinutes(10)).build()).line() + "\n");
    } else {
      Path caDir = Files.createDirectory(dir.resolve("ca"));
      c.writeTo(caDir);
      List<String> cmd = Exec.list("ssh-keygen", "-q", "-s", caDir.resolve("ssh_ca").toString(), "-I", "agree", "-V", "-5m:+10m");
      if (!certPrincipals.isEmpty()) {
        cmd.addAll(List.of("-n", String.join(",", certPrincipals)));
      }
      cmd.add(dir.resolve("id_ed25519256.pub").toString());
      Exec.ok(dir, cmd.toArray(new String[0]));
    }
    String line = Files.readString(certFile).strip();
    assertEquals(certPrincipals, SshUserCertificate.parse(line).principals());

    boolean javaAccepts;
    try {
      SshCertificateVerifier.builder().trustedCa(c.publicKeyLine()).build().verify(line, allowed);
      javaAccepts = true;
    } catch (CredentialException e) {
      javaAccepts = false;
    }
    boolean sshdAccepts;
    try (Sshd sshd = Sshd.start(Files.createDirectory(dir.resolve("sshd")), c.publicKeyLine(), allowed)) {
      Exec login = sshd.ssh(key, certFile, "echo accepted");
      sshdAccepts = login.exit == 0;
      if (sshdAccepts) {
        assertEquals("accepted", login.out.strip(), login + "\n" + sshd.logText());
      } else {
        // a refusal, not a broken harness
        assertEquals(255, login.exit, login + "\n" + sshd.logText());
        assertTrue(login.err.contains("Permission denied (publickey)"), login + "\n" + sshd.logText());
      }
    }
    assertEquals(sshdShouldAccept, sshdAccepts, "sshd");
    assertEquals(sshdAccepts, javaAccepts, "the Java verifier must agree with sshd");
  }
}
