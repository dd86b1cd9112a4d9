package dev.kubejit.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Hostile audit input. (1) Lines of the API server's audit log: {@link KubeAuditEvent#parse} yields
 * an event with an id or throws {@link AuditFormatException}, nothing else. (2) Audit logs: the
 * seed is a real sealed log written by {@link FileAuditSink} (7 events, a checkpoint every 3,
 * signed with a key whose private half was discarded; only {@code fuzz-audit.pub} is kept).
 * Whatever bytes the fuzzer makes of it, {@link AuditVerifier#verify} returns a result or throws
 * {@link AuditFormatException}; and a result that is not {@code TAMPERED} means that every line up
 * to the last signed checkpoint is the same line of the signed log, and a sealed result is the
 * whole signed log. {@code scripts/fuzz.sh kube-audit|audit-verify SECONDS} fuzzes.
 */
class AuditFuzzTest {
  private static final String DIR = "AuditFuzzTestInputs/verifierAcceptsOnlyAPrefixOfTheSignedLog/";
  private static final List<String> SIGNED = lines(resource(DIR + "sealed-log"));
  private static final PublicKey KEY = publicKey();

  private static byte[] resource(String name) {
    try (InputStream in = AuditFuzzTest.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("missing test resource " + name);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static PublicKey publicKey() {
    try {
      Path f = Files.createTempFile("fuzz-audit", ".pub");
      try {
        Files.write(f, resource("fuzz-audit.pub"));
        return AuditKeys.readPublicKey(f);
      } finally {
        Files.deleteIfExists(f);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The newline-terminated lines (an unterminated tail is dropped). */
  private static List<String> lines(byte[] bytes) {
    String s = new String(bytes, StandardCharsets.ISO_8859_1);
    int end = s.lastIndexOf('\n');
    return end < 0 ? List.of() : Arrays.asList(s.substring(0, end).split("\n", -1));
  }

  @FuzzTest(maxDuration = "30s")
  void kubeAuditEventParserThrowsOnlyAuditFormatException(byte[] input) {
    KubeAuditEvent e;
    try {
      e = KubeAuditEvent.parse(new String(input, StandardCharsets.UTF_8));
    } catch (AuditFormatException refused) {
      assertFalse(refused.getMessage() == null || refused.getMessage().isBlank(), "a refusal says why");
      return;
    }
    assertFalse(e.auditId() == null || e.auditId().isEmpty(), "a parsed event has an id");
    assertTrue(Set.of(-1, 0, 1, 2).contains(e.stageRank()));
  }

  @FuzzTest(maxDuration = "30s")
  void verifierAcceptsOnlyAPrefixOfTheSignedLog(byte[] input) throws IOException {
    Path dir = Files.createTempDirectory("audit-fuzz");
    Path log = dir.resolve("audit.jsonl");
    try {
      Files.write(log, input);
      VerificationResult r;
      try {
        r = AuditVerifier.withPublicKey(KEY).verify(List.of(log));
      } catch (AuditFormatException refused) {
        assertFalse(refused.getMessage() == null || refused.getMessage().isBlank(), "a refusal says why");
        return;
      }
      if (r.status() == VerificationResult.Status.TAMPERED) {
        assertTrue(r.problem().isPresent(), "tampering names its problem");
        return;
      }
      // Line i holds seq i+1. Records up to the last signed checkpoint are proven; after it (an open or
      // torn log) the chain links each record to the one before, so the last record itself is covered
      // by nothing until a later checkpoint or an anchor (a torn-tail input found by fuzzing showed it).
      List<String> got = lines(input);
      int signed = (int) r.lastSignedSeq();
      assertTrue(signed <= got.size() && signed <= SIGNED.size(), "signed " + signed + " of " + got.size());
      assertEquals(SIGNED.subList(0, signed), got.subList(0, signed),
          "the signed part of a log that verifies (" + r.status() + ") is the signed log's");
      if (r.status() == VerificationResult.Status.SEALED) {
        assertEquals(SIGNED, got, "a sealed log that verifies is the signed log");
      }
    } finally {
      try (var files = Files.list(dir)) {
        for (Path f : files.toList()) {
          Files.delete(f);
        }
      }
      Files.delete(dir);
    }
  }
}
