package dev.kubejit.credentials.ssh;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.credentials.CredentialException;
import dev.kubejit.credentials.Exec;
import dev.kubejit.credentials.KeyType;
import dev.kubejit.credentials.ReservedNames;
import dev.kubejit.testing.FakeClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The reserved-name corpus of jit-credentials' ReservedNamesTest against the SSH CA: a reserved or
 * look-alike name is refused as the only principal and beside an ordinary one, shown escaped.
 */
class SshReservedNamesTest {
  static final FakeClock CLOCK = new FakeClock(Instant.parse("2026-03-01T10:00:00Z"));
  static final SshCertificateAuthority SSH = SshCertificateAuthority.generate(KeyType.ED25519, CLOCK);
  @TempDir static Path dir;
  static String sshPublicKey;

  @BeforeAll
  static void userKey() throws Exception {
    Exec.ok(dir, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir.resolve("id").toString());
    sshPublicKey = Files.readString(dir.resolve("id.pub"));
  }

  static SshUserCertificate sign(SshCertificateAuthority ca, String... principals) {
    return ca.sign(SshCertificateRequest.builder().publicKey(sshPublicKey).keyId("k").principals(principals)
        .ttl(Duration.ofMinutes(5)).build());
  }

  static Iterable<String> reserved() {
    return dev.kubejit.credentials.ReservedNamesTest.reserved()::iterator;
  }

  static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> lookalikes() {
    return dev.kubejit.credentials.ReservedNamesTest.lookalikes();
  }

  @ParameterizedTest
  @MethodSource("reserved")
  void reservedNamesAreRefusedAsPrincipal(String name) {
    for (String[] principals : List.of(new String[] {name}, new String[] {"alice", name})) {
      CredentialException e = assertThrows(CredentialException.class, () -> sign(SSH, principals), name);
      assertTrue(e.getMessage().contains("\"" + name + "\" is a reserved or privileged name (matches \""), e.getMessage());
    }
  }

  @ParameterizedTest
  @MethodSource("lookalikes")
  void lookalikesAreRefusedAndShownEscaped(String name, String escaped) {
    for (String[] principals : List.of(new String[] {name}, new String[] {"alice", name})) {
      CredentialException e = assertThrows(CredentialException.class, () -> sign(SSH, principals), escaped);
      assertTrue(e.getMessage().contains(escaped), e.getMessage());
      for (char c : e.getMessage().toCharArray()) {
        assertTrue(c >= 0x20 && c < 0x7f, "message must be printable ASCII: " + e.getMessage());
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"alice", "oncall-payments", "systems-team", "system-admins", "systemd", "rooted", "kubeadm-users", "admin"})
  void ordinaryPrincipalsAreSigned(String name) {
    assertTrue(sign(SSH, name).principals().contains(name));
  }

  @Test
  void embeddersExtendTheList() {
    SshCertificateAuthority s = SSH.withReservedNames(ReservedNames.defaults().plus("corp:breakglass", "platform-admin:*"));
    for (String n : List.of("corp:breakglass", "CORP:BreakGlass", "platform-admin:alice", "system:masters")) {
      assertThrows(CredentialException.class, () -> sign(s, n), n);
    }
    sign(SSH, "platform-admin");
  }
}
