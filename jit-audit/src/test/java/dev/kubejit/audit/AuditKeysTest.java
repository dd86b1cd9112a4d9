package dev.kubejit.audit;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Keys interoperate with OpenSSL, and checkpoint signatures verify with {@code openssl pkeyutl}. */
class AuditKeysTest {
  @TempDir Path dir;

  private static String run(Path cwd, String... cmd) {
    return Tools.run(cwd, cmd);
  }

  @Test
  void opensslKeySignsCheckpointsThatOpensslVerifies() throws Exception {
    run(dir, "openssl", "genpkey", "-algorithm", "ed25519", "-out", "k.pem");
    run(dir, "openssl", "pkey", "-in", "k.pem", "-pubout", "-out", "pub.pem");
    KeyPair kp = AuditKeys.readKeyPair(dir.resolve("k.pem"));
    PublicKey pub = AuditKeys.readPublicKey(dir.resolve("pub.pem"));
    assertEquals(AuditKeys.keyId(pub), AuditKeys.keyId(kp.getPublic()), "derived public key matches openssl's");

    Path log = dir.resolve("audit.jsonl");
    try (FileAuditSink s = FileAuditSink.builder(log).signingKey(kp).open()) {
      s.write(List.of(Events.full(1)));
    }
    assertEquals(VerificationResult.Status.SEALED, AuditVerifier.withPublicKey(pub).verify(List.of(log)).status());
    // The signed bytes, built from the documented rule with shell tools only: the context line,
    // then the seal's line with its ,"sig":"..." member removed (no newline).
    Tools.bash(dir, "tail -n 1 audit.jsonl | tr -d '\\n' > seal.line;"
        + " { printf 'kubejit-audit-checkpoint-v1\\n'; sed -E 's/,\"sig\":\"[A-Za-z0-9+\\/=]+\"\\}$/}/' seal.line"
        + " | tr -d '\\n'; } > msg; jq -r .sig seal.line | base64 -d > sig");
    String out = run(dir, "openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "msg",
        "-sigfile", "sig");
    assertTrue(out.contains("Signature Verified Successfully"), out);
    Files.write(dir.resolve("msg"), "kubejit-audit-checkpoint-v1\n{}".getBytes(UTF_8));
    Tools.Outcome forged = Tools.outcome(dir, Tools.DEFAULT_TIMEOUT, "openssl", "pkeyutl", "-verify", "-pubin",
        "-inkey", "pub.pem", "-rawin", "-in", "msg", "-sigfile", "sig");
    assertTrue(forged.exit() != 0, "openssl must reject other bytes: " + forged.describe());
  }

  @Test
  void writtenPrivateKeyIs0600AndOpensslReadsIt() throws Exception {
    KeyPair kp = KeyPairGenerator.getInstance("Ed25519").generateKeyPair(); // a JDK key works too
    Path key = AuditKeys.writePrivateKey(kp.getPrivate(), dir.resolve("audit.key"));
    AuditKeys.writePublicKey(kp.getPublic(), dir.resolve("audit.pub"));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(key)));
    String pub = run(dir, "openssl", "pkey", "-in", "audit.key", "-pubout");
    assertEquals(Files.readString(dir.resolve("audit.pub")).strip(), pub.strip());
    assertEquals(AuditKeys.keyId(kp.getPublic()), AuditKeys.keyId(AuditKeys.readKeyPair(key).getPublic()));
    AuditFormatException again = assertThrows(AuditFormatException.class,
        () -> AuditKeys.writePrivateKey(kp.getPrivate(), key));
    assertTrue(again.getMessage().contains("refusing to overwrite"), again.getMessage());
  }

  @Test
  void wrongKeysAreRefusedWithoutLeakingThem() throws Exception {
    run(dir, "openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ec.pem");
    AuditFormatException e = assertThrows(AuditFormatException.class, () -> AuditKeys.readKeyPair(dir.resolve("ec.pem")));
    assertTrue(e.getMessage().contains("Ed25519"), e.getMessage());
    String pem = Files.readString(dir.resolve("ec.pem"));
    assertFalse(e.getMessage().contains(pem.split("\n")[1]), "no key material in the message");
    assertThrows(AuditFormatException.class, () -> AuditKeys.readPublicKey(dir.resolve("ec.pem")));
    assertThrows(AuditFormatException.class, () -> AuditKeys.readKeyPair(dir.resolve("missing.pem")));
    KeyPair rsa = KeyPairGenerator.getInstance("RSA").generateKeyPair();
    assertThrows(AuditFormatException.class, () -> FileAuditSink.builder(dir.resolve("a.jsonl")).signingKey(rsa));
  }
}
