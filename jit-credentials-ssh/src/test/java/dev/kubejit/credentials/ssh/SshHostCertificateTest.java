package dev.kubejit.credentials.ssh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.credentials.CredentialException;
import dev.kubejit.credentials.KeyType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Host certificates for the gateway, read back by the reference tool {@code ssh-keygen -L}. */
class SshHostCertificateTest {
  @TempDir Path dir;

  static String run(Path dir, String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), out);
    return out;
  }

  @Test
  void sshKeygenReadsAHostCertificateForTheNamesAndTheWindow() throws Exception {
    Clock clock = Clock.fixed(Instant.parse("2026-12-02T08:00:00Z"), ZoneOffset.UTC);
    SshCertificateAuthority ca = SshCertificateAuthority.generate(KeyType.ED25519, clock);
    run(dir, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "host");
    String line = ca.signHostCertificate(Files.readString(dir.resolve("host.pub")).strip(),
        List.of("gateway.prod.example", "10.0.0.5"), Duration.ofHours(24));
    Files.writeString(dir.resolve("host-cert.pub"), line + "\n");
    String shown = run(dir, "ssh-keygen", "-L", "-f", "host-cert.pub");
    assertTrue(shown.contains("host certificate"), shown);
    assertTrue(shown.contains("gateway.prod.example") && shown.contains("10.0.0.5"), shown);
    assertTrue(shown.contains("Key ID: \"kubejit-host:gateway.prod.example\""), shown);
    assertTrue(shown.contains("2026-12-02T07:59:00") && shown.contains("2026-12-03T08:00:00"), shown);
    assertTrue(shown.contains(ca.fingerprint()), shown);
  }

  @Test
  void refusesNoNamesBadNamesAndLongOrEmptyLifetimes() throws Exception {
    SshCertificateAuthority ca = SshCertificateAuthority.generate(KeyType.ED25519, Clock.systemUTC());
    run(dir, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "host");
    String pub = Files.readString(dir.resolve("host.pub")).strip();
    assertThrows(CredentialException.class, () -> ca.signHostCertificate(pub, List.of(), Duration.ofHours(1)));
    assertThrows(CredentialException.class, () -> ca.signHostCertificate(pub, List.of("a,b"), Duration.ofHours(1)));
    assertThrows(CredentialException.class, () -> ca.signHostCertificate(pub, List.of("a b"), Duration.ofHours(1)));
    assertThrows(CredentialException.class, () -> ca.signHostCertificate(pub, List.of("gw"), Duration.ZERO));
    assertThrows(CredentialException.class, () -> ca.signHostCertificate(pub, List.of("gw"), Duration.ofDays(367)));
    assertThrows(CredentialException.class, () -> ca.signHostCertificate("ssh-ed25519 AAAA", List.of("gw"), Duration.ofHours(1)));
  }
}
