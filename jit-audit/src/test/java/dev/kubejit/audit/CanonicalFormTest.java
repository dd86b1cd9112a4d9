package dev.kubejit.audit;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.Identity;
import dev.kubejit.testing.FakeClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The canonical form written down in docs/audit.md, checked without the production encoder or
 * hash helper: the chain with {@code sha256sum} and {@code jq}; every line's bytes against a short
 * encoder written here from the docs; every kind of signature (periodic, seal, reopen, recovery
 * and the anchor) with {@code openssl pkeyutl -verify} over bytes built with {@code printf} and
 * {@code sed}; the anchor's fields against the log with {@code tail}, {@code head} and {@code
 * sha256sum}. A change to the format therefore fails here even if writer and verifier change
 * together.
 */
class CanonicalFormTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> EVENT_ORDER = List.of("seq", "time", "type", "id", "actor", "requestId", "grantId",
      "scope", "action", "outcome", "reason", "ruleId", "policyDigest", "policyRevision", "justification", "ticket",
      "attributes", "prevHash");
  private static final List<String> CHECKPOINT_ORDER = List.of("seq", "time", "type", "kind", "session", "keyId",
      "lifted", "torn", "prevHash", "sig");
  private static final List<String> ANCHOR_ORDER = List.of("type", "log", "seq", "time", "kind", "segment", "offset",
      "prevHash", "hash", "keyId", "sig");
  private static final Pattern TIME = Pattern.compile("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}Z");
  /** Every ASCII character, then non-ASCII ones the docs name (including one outside the BMP). */
  private static final String TRICKY;

  static {
    StringBuilder sb = new StringBuilder();
    for (char c = 0; c < 0x80; c++) {
      sb.append(c);
    }
    TRICKY = sb.append("\u00e9\u00a0\u2028\ufeff\ud83d\ude00").toString();
  }

  /** verify_sig CONTEXT LINEFILE: the documented signed bytes, built with printf/sed, checked by openssl. */
  private static final String VERIFY_SIG = "verify_sig() { { printf '%s\\n' \"$1\"; "
      + "sed -E 's/,\"sig\":\"[A-Za-z0-9+\\/=]+\"\\}$/}/' \"$2\" | tr -d '\\n'; } > msg.bin; "
      + "jq -r .sig \"$2\" | base64 -d > sig.bin; "
      + "openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in msg.bin -sigfile sig.bin; }; ";

  @TempDir Path dir;
  private KeyPair key;
  private final FakeClock clock = new FakeClock(Events.T0);
  private Path log;
  private Path anchor;
  private String session1Seal;

  @BeforeEach
  void writeALogWithEveryKindOfRecord() throws Exception {
    Tools.run(dir, "openssl", "genpkey", "-algorithm", "ed25519", "-out", "k.pem");
    Tools.run(dir, "openssl", "pkey", "-in", "k.pem", "-pubout", "-out", "pub.pem");
    key = AuditKeys.readKeyPair(dir.resolve("k.pem"));
    Path first = dir.resolve("first.jsonl");
    Path firstAnchor = dir.resolve("first.anchor");
    // session 1: seq 1 tricky event, 2-5 events, 6 periodic, 7 seal
    try (FileAuditSink s = sink(first, firstAnchor).open()) {
      s.write(List.of(tricky()));
      s.write(Events.batch(1, 4));
      clock.set(Events.T0.plusSeconds(5));
    }
    session1Seal = Tools.bash(dir, "tail -n 1 first.jsonl | tr -d '\\n' | sha256sum | cut -d' ' -f1").strip();
    // session 2: the reopen lifts the seal (seq 7 becomes a reopen record), events 8-9, then a crash image
    log = dir.resolve("audit.jsonl");
    anchor = dir.resolve("audit.anchor");
    FileAuditSink running = sink(first, firstAnchor).open();
    clock.set(Events.T0.plusSeconds(10));
    running.write(Events.batch(10, 2));
    Files.copy(first, log);
    Files.copy(firstAnchor, anchor);
    running.close();
    // session 3 on the crash image: recovery at 10, events 11-12, seal 13
    clock.set(Events.T0.plusSeconds(30));
    try (FileAuditSink s = sink(log, anchor).open()) {
      s.write(Events.batch(30, 2));
    }
  }

  private FileAuditSink.Builder sink(Path base, Path anchorFile) {
    return FileAuditSink.builder(base).signingKey(key).clock(clock).checkpointEvery(3).anchor(anchorFile);
  }

  private static AuditEvent tricky() {
    return AuditEvent.builder(AuditEventType.REQUEST_CREATED, Events.T0)
        .actor(Identity.of("alice", List.of("sre", "oncall-payments")).assertedBy("oidc")).justification("quote \" backslash \\")
        .attribute("zeta", "last").attribute("all", TRICKY).attribute("Alpha", "upper case sorts first").build();
  }

  @Test
  void chainAndSequenceCheckWithSha256sumAndJq() {
    List<String> hashes = Tools.bash(dir, "while IFS= read -r l; do printf '%s' \"$l\" | sha256sum | cut -d' ' -f1;"
        + " done < audit.jsonl").lines().toList();
    List<String> prev = Tools.run(dir, "jq", "-r", ".prevHash", "audit.jsonl").lines().toList();
    List<String> seqs = Tools.run(dir, "jq", "-r", ".seq", "audit.jsonl").lines().toList();
    assertEquals(13, hashes.size());
    assertEquals(hashes.size(), prev.size());
    assertEquals("0".repeat(64), prev.get(0));
    for (int i = 1; i < prev.size(); i++) {
      assertEquals(hashes.get(i - 1), prev.get(i), "prevHash of line " + (i + 1) + " is sha256sum of line " + i);
    }
    for (int i = 0; i < seqs.size(); i++) {
      assertEquals(Integer.toString(i + 1), seqs.get(i));
    }
  }

  @Test
  void sessionsReopenAndRecoveryAreWhatTheDocsSay() {
    String kinds = Tools.run(dir, "jq", "-r", "select(.type == \"CHECKPOINT\") | \"\\(.seq) \\(.kind) \\(.session)\"",
        "audit.jsonl");
    assertEquals("6 periodic 1\n7 reopen 7\n10 recovery 10\n13 seal 10\n", kinds);
    assertEquals(session1Seal, Tools.run(dir, "jq", "-r", "select(.kind == \"reopen\") | .lifted", "audit.jsonl").strip(),
        "the reopen record carries the sha256sum of the seal line it replaced");
    assertEquals("", Tools.run(dir, "jq", "-r", "select(.kind == \"seal\" and .seq != 13) | .seq", "audit.jsonl"),
        "only the last record is a seal");
  }

  @Test
  void everySignatureVerifiesWithOpensslOverTheDocumentedBytes() {
    String out = Tools.bash(dir, VERIFY_SIG
        + "for i in $(jq -r 'select(.type == \"CHECKPOINT\") | .seq' audit.jsonl); do"
        + " sed -n \"${i}p\" audit.jsonl | tr -d '\\n' > cp.line; verify_sig kubejit-audit-checkpoint-v1 cp.line; done;"
        + " verify_sig kubejit-audit-anchor-v1 audit.anchor");
    assertEquals(5, out.split("Signature Verified Successfully", -1).length - 1, out);

    // The same check fails when one signed byte changes (session 10 -> 11 in the last seal).
    Tools.Outcome edited = Tools.outcome(dir, Tools.DEFAULT_TIMEOUT, "bash", "-c", "set -euo pipefail; " + VERIFY_SIG
        + "tail -n 1 audit.jsonl | tr -d '\\n' | sed 's/\"session\":10,/\"session\":11,/' > cp.line;"
        + " grep -q '\"session\":11,' cp.line; verify_sig kubejit-audit-checkpoint-v1 cp.line");
    assertNotEquals(0, edited.exit(), edited.describe());
    // ... and when the anchor's context is used for a checkpoint (the two cannot stand in for each other).
    Tools.Outcome swapped = Tools.outcome(dir, Tools.DEFAULT_TIMEOUT, "bash", "-c", "set -euo pipefail; " + VERIFY_SIG
        + "tail -n 1 audit.jsonl | tr -d '\\n' > cp.line; verify_sig kubejit-audit-anchor-v1 cp.line");
    assertNotEquals(0, swapped.exit(), swapped.describe());
  }

  @Test
  void theAnchorNamesTheLastCheckpointByPositionHashAndLog() {
    String fields = Tools.bash(dir, "seq=$(jq -r .seq audit.anchor); off=$(jq -r .offset audit.anchor);"
        + " echo \"$(jq -r '\"\\(.type) \\(.seq) \\(.kind) \\(.segment)\"' audit.anchor)\";"
        + " [ \"$(tail -c +$((off + 1)) audit.jsonl | head -n 1 | tr -d '\\n' | sha256sum | cut -d' ' -f1)\""
        + " = \"$(jq -r .hash audit.anchor)\" ] && echo offset-ok;"
        + " [ \"$(sed -n \"${seq}p\" audit.jsonl | tr -d '\\n' | sha256sum | cut -d' ' -f1)\""
        + " = \"$(jq -r .hash audit.anchor)\" ] && echo hash-ok;"
        + " [ \"$(sed -n \"${seq}p\" audit.jsonl | jq -r .prevHash)\" = \"$(jq -r .prevHash audit.anchor)\" ]"
        + " && echo prev-ok;"
        + " [ \"$(head -n 1 audit.jsonl | tr -d '\\n' | sha256sum | cut -d' ' -f1)\" = \"$(jq -r .log audit.anchor)\" ]"
        + " && echo log-ok;"
        + " [ \"$(sed -n \"${seq}p\" audit.jsonl | jq -r .time)\" = \"$(jq -r .time audit.anchor)\" ] && echo time-ok;"
        + " stat -c %a audit.anchor");
    assertEquals("ANCHOR 13 seal 1\noffset-ok\nhash-ok\nprev-ok\nlog-ok\ntime-ok\n600\n", fields);
  }

  @Test
  void everyLineIsTheDocumentedEncodingOfItsOwnContent() throws Exception {
    List<byte[]> lines = rawLines(log);
    assertEquals(13, lines.size());
    for (byte[] line : lines) {
      JsonNode n = JSON.readTree(line);
      assertEquals(new String(line, UTF_8), encode(n), "canonical bytes");
      assertTrue(TIME.matcher(n.get("time").asText()).matches(), n.get("time").asText());
      assertInOrder(n, "CHECKPOINT".equals(n.get("type").asText()) ? CHECKPOINT_ORDER : EVENT_ORDER);
      JsonNode attrs = n.get("attributes");
      if (attrs != null) {
        List<String> keys = new ArrayList<>();
        attrs.fieldNames().forEachRemaining(keys::add);
        assertEquals(keys.stream().sorted().toList(), keys, "attributes sorted by key");
      }
    }
    JsonNode first = JSON.readTree(lines.get(0));
    assertEquals(TRICKY, first.get("attributes").get("all").asText(), "escaping is lossless");
    assertEquals(List.of("oncall-payments", "sre"), List.of(first.get("actor").get("groups").get(0).asText(),
        first.get("actor").get("groups").get(1).asText()), "groups sorted");
    String text = new String(lines.get(0), UTF_8);
    assertTrue(text.contains("\\u0000\\u0001") && text.contains("\\b\\t\\n\\u000B\\f\\r\\u000E")
        && text.contains("\\u001F !\\\"") && text.contains("[\\\\]") && text.contains("/") && text.contains("~\u007f")
        && text.contains("\u2028") && text.contains("\\uD83D\\uDE00"), text);
    byte[] anchorBytes = Files.readAllBytes(anchor);
    assertEquals('\n', anchorBytes[anchorBytes.length - 1], "the anchor is one line with a newline");
    JsonNode a = JSON.readTree(anchorBytes);
    assertEquals(new String(anchorBytes, 0, anchorBytes.length - 1, UTF_8), encode(a));
    assertInOrder(a, ANCHOR_ORDER);
  }

  @Test
  void aNonCanonicalButEquivalentLineIsTamperingForTheVerifierToo() throws Exception {
    String original = Files.readString(log, UTF_8);
    String lowerHex = original.replaceFirst("\\\\u001F", "\\\\u001f"); // same JSON value, other bytes
    assertNotEquals(original, lowerHex);
    Files.writeString(log, lowerHex, UTF_8);
    JsonNode n = JSON.readTree(lowerHex.lines().findFirst().orElseThrow());
    assertNotEquals(lowerHex.lines().findFirst().orElseThrow(), encode(n), "the docs' encoding writes upper-case hex");
    VerificationResult r = AuditVerifier.withPublicKey(key.getPublic()).verify(List.of(log));
    assertEquals(VerificationResult.Problem.MODIFIED, r.problem().orElseThrow(), r.message());
    assertEquals(1, r.firstBadSeq().orElseThrow());
  }

  @Test
  void theProductionVerifierAgrees() {
    VerificationResult r = AuditVerifier.withPublicKey(key.getPublic()).withAnchor(anchor).verify(List.of(log));
    assertEquals(VerificationResult.Status.SEALED, r.status(), r.message());
    assertTrue(r.isOk(false) && r.anchorChecked(), r.message());
  }

  private static List<byte[]> rawLines(Path file) throws Exception {
    byte[] all = Files.readAllBytes(file);
    List<byte[]> out = new ArrayList<>();
    int start = 0;
    for (int i = 0; i < all.length; i++) {
      if (all[i] == '\n') {
        out.add(java.util.Arrays.copyOfRange(all, start, i));
        start = i + 1;
      }
    }
    assertEquals(all.length, start, "the file ends with a newline");
    return out;
  }

  private static void assertInOrder(JsonNode n, List<String> documented) {
    List<String> written = new ArrayList<>();
    n.fieldNames().forEachRemaining(written::add);
    assertTrue(documented.containsAll(written), "undocumented fields in " + written);
    assertEquals(documented.stream().filter(written::contains).toList(), written, "documented field order");
  }

  /** The encoding docs/audit.md describes, written independently of the production code. */
  static String encode(JsonNode n) {
    if (n.isObject()) {
      StringBuilder sb = new StringBuilder("{");
      for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> f = it.next();
        sb.append(quote(f.getKey())).append(':').append(encode(f.getValue())).append(it.hasNext() ? "," : "");
      }
      return sb.append('}').toString();
    }
    if (n.isArray()) {
      StringBuilder sb = new StringBuilder("[");
      for (int i = 0; i < n.size(); i++) {
        sb.append(i == 0 ? "" : ",").append(encode(n.get(i)));
      }
      return sb.append(']').toString();
    }
    if (n.isIntegralNumber()) {
      return n.bigIntegerValue().toString();
    }
    if (n.isTextual()) {
      return quote(n.asText());
    }
    throw new AssertionError("the format has no " + n.getNodeType() + " values: " + n);
  }

  private static String quote(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\b' -> sb.append("\\b");
        case '\t' -> sb.append("\\t");
        case '\n' -> sb.append("\\n");
        case '\f' -> sb.append("\\f");
        case '\r' -> sb.append("\\r");
        default -> {
          if (c < 0x20 || Character.isSurrogate(c)) {
            sb.append(String.format("\\u%04X", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    return sb.append('"').toString();
  }
}
