package dev.kubejit.credentials;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.Identity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The engineer's key and CSR, checked by openssl, and issued against by our CA. */
class EngineerKeyTest {
  @TempDir Path dir;
  private final Clock clock = Clock.systemUTC();

  @ParameterizedTest
  @EnumSource(value = KeyType.class, names = {"ED25519", "ECDSA_P256", "RSA_3072"})
  void keyIsPrivateCsrVerifiesAndTheCertificateBindsTheKey(KeyType type) throws Exception {
    Path keyFile = dir.resolve("alice.key");
    EngineerKey key = EngineerKey.create(type, keyFile);
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(keyFile)));
    assertFalse(key.toString().contains("PRIVATE"), key.toString());
    Files.writeString(dir.resolve("alice.csr"), key.csrPem());
    Exec verify = Exec.ok(dir, "openssl", "req", "-in", "alice.csr", "-noout", "-verify", "-subject");
    assertTrue((verify.out + verify.err).contains("verify OK"), verify.out + verify.err);
    assertEquals("subject=", verify.out.strip());

    CertificateAuthority ca = CertificateAuthority.builder().keyType(KeyType.ED25519).commonName("kubejit-ca").validity(Duration.ofDays(1)).clock(clock).generate();
    Files.writeString(dir.resolve("ca.crt"), ca.certificatePem());
    IssuedCertificate cert = X509Issuer.builder().authority(ca).clock(clock).build()
        .issueFromCsr(key.csrPem(), Identity.of("alice", "oncall-payments"), Duration.ofMinutes(10));
    Files.writeString(dir.resolve("alice.crt"), cert.certificatePem());
    assertEquals("alice.crt: OK",
        Exec.ok(dir, "openssl", "verify", "-CAfile", "ca.crt", "-purpose", "sslclient", "alice.crt").out.strip());
    assertEquals(Exec.ok(dir, "openssl", "pkey", "-in", "alice.key", "-pubout").out,
        Exec.ok(dir, "openssl", "x509", "-in", "alice.crt", "-noout", "-pubkey").out);
  }

  @Test
  void anExistingKeyFileIsNeverOverwritten() throws Exception {
    Path keyFile = dir.resolve("alice.key");
    Files.writeString(keyFile, "keep me");
    assertThrows(CredentialException.class, () -> EngineerKey.create(KeyType.ED25519, keyFile));
    assertEquals("keep me", Files.readString(keyFile));
  }
}
