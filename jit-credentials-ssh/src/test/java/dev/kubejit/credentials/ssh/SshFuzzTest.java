package dev.kubejit.credentials.ssh;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.kubejit.credentials.CredentialException;
import dev.kubejit.credentials.KeyType;
import dev.kubejit.testing.FakeClock;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Hostile OpenSSH input. The seeds were made by the real {@code ssh-keygen}: a test CA (only its
 * public key, {@code fuzz-ca.pub}, is kept; the private key was deleted after signing), user keys of
 * every accepted and some refused types, and certificates for alice, bob, expired, without
 * principals, from another CA, a host certificate and one with the verify-required critical option.
 *
 * <p>Properties: only {@link CredentialException} escapes; a certificate verifies only if its blob
 * is one the CA actually signed for alice (no mutation of a signed certificate verifies), and a
 * verified certificate is valid now and names the principal; a public key that is accepted comes
 * back certified as exactly that key. {@code scripts/fuzz.sh ssh-cert|ssh-key SECONDS} fuzzes.
 */
class SshFuzzTest {
  private static final Instant NOW = Instant.parse("2026-03-01T10:00:00Z");
  private static final FakeClock CLOCK = new FakeClock(NOW);
  private static final String INPUTS = "SshFuzzTestInputs/verifyCertificateOnlyWhatTheCaSigned/";
  private static final SshCertificateVerifier VERIFIER = SshCertificateVerifier.builder()
      .trustedCa(resource("fuzz-ca.pub")).clock(CLOCK).build();
  /** The blobs ssh-keygen signed with fuzz-ca for alice, valid in 2026. */
  private static final Set<String> SIGNED_FOR_ALICE = Stream.of("ed25519-alice", "p256-alice-source-address",
      "rsa-alice-force-command", "ed25519-verify-required").map(f -> blob(resource(INPUTS + f))).collect(Collectors.toSet());
  private static final SshCertificateAuthority CA = SshCertificateAuthority.generate(KeyType.ED25519, CLOCK);
  private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

  static String resource(String name) {
    try (InputStream in = SshFuzzTest.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("missing test resource " + name);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String blob(String line) {
    String[] parts = line.strip().split("\\s+");
    return parts.length > 1 ? parts[1] : "";
  }

  @FuzzTest(maxDuration = "30s")
  void verifyCertificateOnlyWhatTheCaSigned(byte[] input) {
    String line = new String(input, StandardCharsets.UTF_8);
    SshUserCertificate c;
    try {
      c = VERIFIER.verify(line, "alice", LOOPBACK);
    } catch (CredentialException refused) {
      assertFalse(refused.getMessage() == null || refused.getMessage().isBlank(), "a refusal says why");
      return;
    }
    assertTrue(SIGNED_FOR_ALICE.contains(blob(line)), "only a certificate the CA signed verifies: " + line);
    assertTrue(c.principals().contains("alice"));
    assertTrue(!NOW.isBefore(c.validAfter()) && NOW.isBefore(c.validBefore()), "valid now");
  }

  @FuzzTest(maxDuration = "30s")
  void parsePublicKeyRefusesOrCertifiesThatKey(byte[] input) {
    String line = new String(input, StandardCharsets.UTF_8);
    SshUserCertificate c;
    try {
      c = CA.sign(SshCertificateRequest.builder().publicKey(line).keyId("fuzz").principals("alice")
          .ttl(Duration.ofMinutes(5)).build());
    } catch (CredentialException refused) {
      assertFalse(refused.getMessage() == null || refused.getMessage().isBlank(), "a refusal says why");
      return;
    }
    SshUserCertificate back = SshCertificateVerifier.builder().trustedCa(CA.publicKeyLine()).clock(CLOCK).build()
        .verify(c.line(), "alice");
    String certified = blob(SshKeys.line(back.raw().getCertPubKey()));
    // A list, not Set.of: a line may repeat a word (a comment holding the key again).
    assertTrue(java.util.Arrays.asList(line.strip().split("\\s+")).contains(certified),
        "the certificate certifies the key that was sent: " + certified + " for " + line);
  }
}
