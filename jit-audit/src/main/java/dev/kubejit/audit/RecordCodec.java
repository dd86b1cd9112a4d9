package dev.kubejit.audit;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kubejit.api.Action;
import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.Decision;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Identity;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.Scope;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The canonical line format (docs/audit.md): one JSON object per line, fields in a fixed order,
 * absent optional fields omitted, times with nine fraction digits, attributes sorted by key.
 *
 * <p>Design notes: the writer and the verifier share this class. The verifier parses a line and
 * re-encodes it; the bytes must be identical, so any edit that survives JSON parsing (reordered
 * keys, extra fields, alternative escapes, whitespace) is still caught. {@code prevHash} is the
 * SHA-256 of the previous line's exact bytes without its newline, so the chain can be checked with
 * {@code sha256sum}. A checkpoint's Ed25519 signature covers {@link #SIGNING_CONTEXT} followed by
 * the checkpoint's own line without its {@code sig} field. Every checkpoint names its writer
 * session (the seq of the record that opened it: 1, or a {@code reopen} / {@code recovery}
 * record); a {@code reopen} record replaces the seal it lifted and carries that seal's hash.
 */
final class RecordCodec {
  static final String PERIODIC = "periodic";
  static final String SEAL = "seal";
  static final String RECOVERY = "recovery";
  static final String REOPEN = "reopen";
  static final int MAX_LINE_BYTES = 1 << 20;
  static final byte[] SIGNING_CONTEXT = "kubejit-audit-checkpoint-v1\n".getBytes(StandardCharsets.US_ASCII);

  private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");
  private static final JsonFactory JSON = new JsonFactory();
  private static final ObjectMapper MAPPER = new ObjectMapper()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS);

  /** What the sink cut off a crashed log before continuing it. */
  record TornNote(String file, long offset, long bytes, String sha256) {}

  /**
   * A checkpoint's fields except its signature.
   *
   * @param session the seq of the record that opened the writer session (1, or the seq of a
   *     {@code reopen} or {@code recovery} record, which names itself)
   * @param lifted for a {@code reopen} record only: SHA-256 (hex) of the seal line it replaced
   * @param torn for {@code recovery} / {@code reopen} only: the torn bytes that were cut, or null
   */
  record Checkpoint(long seq, Instant time, String kind, long session, String keyId, String lifted, TornNote torn,
      String prevHash) {
    Checkpoint {
      requireNonNull(time, "time");
      requireNonNull(kind, "kind");
      requireNonNull(prevHash, "prevHash");
    }
  }

  private RecordCodec() {}

  static byte[] eventLine(long seq, AuditEvent e, String prevHash) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(512);
    try (JsonGenerator g = JSON.createGenerator(out, JsonEncoding.UTF8)) {
      g.writeStartObject();
      g.writeNumberField("seq", seq);
      g.writeStringField("time", Text.time(e.time()));
      g.writeStringField("type", e.type().name());
      g.writeStringField("id", e.id());
      if (e.actor().isPresent()) {
        Identity a = e.actor().get();
        g.writeObjectFieldStart("actor");
        g.writeStringField("user", a.user());
        g.writeArrayFieldStart("groups");
        for (String group : a.groups()) {
          g.writeString(group);
        }
        g.writeEndArray();
        g.writeStringField("source", a.source());
        g.writeEndObject();
      }
      optional(g, "requestId", e.requestId().map(RequestId::value).orElse(null));
      optional(g, "grantId", e.grantId().map(GrantId::value).orElse(null));
      if (e.scope().isPresent()) {
        Scope s = e.scope().get();
        g.writeObjectFieldStart("scope");
        g.writeStringField("cluster", s.cluster());
        optional(g, "namespace", s.namespace().orElse(null));
        optional(g, "pod", s.pod().orElse(null));
        optional(g, "node", s.node().orElse(null));
        g.writeEndObject();
      }
      optional(g, "action", e.action().map(Action::name).orElse(null));
      optional(g, "outcome", e.outcome().map(Enum::name).orElse(null));
      optional(g, "reason", e.reason().orElse(null));
      optional(g, "ruleId", e.ruleId().orElse(null));
      optional(g, "policyDigest", e.policyDigest().orElse(null));
      optional(g, "policyRevision", e.policyRevision().orElse(null));
      optional(g, "justification", e.justification().orElse(null));
      optional(g, "ticket", e.ticket().orElse(null));
      if (!e.attributes().isEmpty()) {
        g.writeObjectFieldStart("attributes");
        for (Map.Entry<String, String> a : e.attributes().entrySet()) {
          g.writeStringField(a.getKey(), a.getValue());
        }
        g.writeEndObject();
      }
      g.writeStringField("prevHash", prevHash);
      g.writeEndObject();
    } catch (IOException ex) {
      throw new UncheckedIOException("cannot encode audit event " + e.id(), ex);
    }
    return out.toByteArray();
  }

  /** The checkpoint's line; {@code sig} null writes an unsigned checkpoint (or the signed part). */
  static byte[] checkpointLine(Checkpoint c, byte[] sig) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try (JsonGenerator g = JSON.createGenerator(out, JsonEncoding.UTF8)) {
      g.writeStartObject();
      g.writeNumberField("seq", c.seq());
      g.writeStringField("time", Text.time(c.time()));
      g.writeStringField("type", AuditRecord.CHECKPOINT);
      g.writeStringField("kind", c.kind());
      g.writeNumberField("session", c.session());
      optional(g, "keyId", c.keyId());
      optional(g, "lifted", c.lifted());
      if (c.torn() != null) {
        TornNote torn = c.torn();
        g.writeObjectFieldStart("torn");
        g.writeStringField("file", torn.file());
        g.writeNumberField("offset", torn.offset());
        g.writeNumberField("bytes", torn.bytes());
        g.writeStringField("sha256", torn.sha256());
        g.writeEndObject();
      }
      g.writeStringField("prevHash", c.prevHash());
      if (sig != null) {
        g.writeStringField("sig", Base64.getEncoder().encodeToString(sig));
      }
      g.writeEndObject();
    } catch (IOException ex) {
      throw new UncheckedIOException("cannot encode checkpoint " + c.seq(), ex);
    }
    return out.toByteArray();
  }

  /** The bytes a checkpoint's signature covers: {@link #SIGNING_CONTEXT} + the line without {@code sig}. */
  static byte[] signedBytes(Checkpoint c) {
    return withContext(SIGNING_CONTEXT, checkpointLine(c, null));
  }

  static byte[] withContext(byte[] context, byte[] body) {
    byte[] msg = Arrays.copyOf(context, context.length + body.length);
    System.arraycopy(body, 0, msg, context.length, body.length);
    return msg;
  }

  /**
   * Parses one line (without its newline) and checks it is in canonical form.
   *
   * @throws AuditFormatException naming what is wrong (the caller adds file and line)
   */
  static AuditRecord parse(byte[] buf, int len) {
    if (len > MAX_LINE_BYTES) {
      throw new AuditFormatException("line is longer than " + MAX_LINE_BYTES + " bytes");
    }
    JsonNode n;
    try {
      n = MAPPER.readTree(buf, 0, len);
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new AuditFormatException("not valid JSON (" + firstLine(e.getOriginalMessage()) + "): "
          + Text.quote(buf, len));
    } catch (IOException e) {
      throw new AuditFormatException("not valid JSON: "
          + Text.quote(buf, len));
    }
    if (n == null || !n.isObject()) {
      throw new AuditFormatException("not a JSON object: " + Text.quote(buf, len));
    }
    AuditRecord r = fromTree(n, new String(buf, 0, len, StandardCharsets.UTF_8));
    byte[] canonical = r.isCheckpoint()
        ? checkpointLine(r.checkpoint(), r.signature())
        : eventLine(r.seq(), r.event().orElseThrow(), r.prevHash());
    if (!Arrays.equals(canonical, 0, canonical.length, buf, 0, len)) {
      throw new AuditFormatException("record " + r.seq() + " is not in canonical form (fields added, reordered "
          + "or re-encoded): " + Text.quote(buf, len));
    }
    return r;
  }

  private static AuditRecord fromTree(JsonNode n, String json) {
    JsonNode seqNode = n.get("seq");
    if (seqNode == null || !seqNode.isIntegralNumber() || !seqNode.canConvertToLong() || seqNode.asLong() < 1) {
      throw new AuditFormatException("\"seq\" must be a positive integer: " + Text.quote(String.valueOf(seqNode)));
    }
    long seq = seqNode.asLong();
    String timeText = str(n, "time", true);
    Instant time = Text.parseCanonicalTime(timeText);
    if (time == null) {
      throw new AuditFormatException("\"time\" of record " + seq
          + " is not RFC 3339 UTC with nine fraction digits: " + Text.quote(timeText));
    }
    String type = str(n, "type", true);
    String prevHash = str(n, "prevHash", true);
    if (!HEX64.matcher(prevHash).matches()) {
      throw new AuditFormatException("\"prevHash\" of record " + seq + " is not 64 lower-case hex digits: "
          + Text.quote(prevHash));
    }
    if (AuditRecord.CHECKPOINT.equals(type)) {
      String kind = str(n, "kind", true);
      if (!kind.equals(PERIODIC) && !kind.equals(SEAL) && !kind.equals(RECOVERY) && !kind.equals(REOPEN)) {
        throw new AuditFormatException("unknown checkpoint kind in record " + seq + ": " + Text.quote(kind));
      }
      JsonNode sessionNode = n.get("session");
      if (sessionNode == null || !sessionNode.isIntegralNumber() || !sessionNode.canConvertToLong()
          || sessionNode.asLong() < 1 || sessionNode.asLong() > seq) {
        throw new AuditFormatException("\"session\" of checkpoint " + seq + " must be an integer from 1 to " + seq
            + ": " + Text.quote(String.valueOf(sessionNode)));
      }
      String keyId = str(n, "keyId", false);
      if (keyId != null && !HEX64.matcher(keyId).matches()) {
        throw new AuditFormatException("\"keyId\" of record " + seq + " is not 64 lower-case hex digits: "
            + Text.quote(keyId));
      }
      String lifted = str(n, "lifted", false);
      if (kind.equals(REOPEN) != (lifted != null)) {
        throw new AuditFormatException("checkpoint " + seq + ": \"lifted\" is " + (lifted == null ? "required in"
            : "only allowed in") + " a reopen record");
      }
      if (lifted != null && !HEX64.matcher(lifted).matches()) {
        throw new AuditFormatException("\"lifted\" of record " + seq + " is not 64 lower-case hex digits: "
            + Text.quote(lifted));
      }
      String sigText = str(n, "sig", false);
      byte[] sig = null;
      if (sigText != null) {
        try {
          sig = Base64.getDecoder().decode(sigText);
        } catch (IllegalArgumentException e) {
          throw new AuditFormatException("\"sig\" of record " + seq + " is not base64: " + Text.quote(sigText));
        }
      }
      TornNote torn = null;
      JsonNode t = n.get("torn");
      if (t != null) {
        if (!kind.equals(RECOVERY) && !kind.equals(REOPEN)) {
          throw new AuditFormatException("\"torn\" is only allowed in a recovery or reopen record (record " + seq + ")");
        }
        if (!t.isObject() || !t.path("offset").isIntegralNumber() || !t.path("bytes").isIntegralNumber()) {
          throw new AuditFormatException("\"torn\" of record " + seq + " is malformed");
        }
        torn = new TornNote(str(t, "file", true), t.get("offset").asLong(), t.get("bytes").asLong(),
            str(t, "sha256", true));
      }
      Checkpoint c = new Checkpoint(seq, time, kind, sessionNode.asLong(), keyId, lifted, torn, prevHash);
      return new AuditRecord(seq, time, type, prevHash, json, null, c, sig);
    }
    AuditEventType eventType;
    try {
      eventType = AuditEventType.valueOf(type);
    } catch (IllegalArgumentException e) {
      throw new AuditFormatException("unknown type in record " + seq + ": " + Text.quote(type));
    }
    try {
      AuditEvent.Builder b = AuditEvent.builder(eventType, time).id(str(n, "id", true));
      JsonNode actor = n.get("actor");
      if (actor != null) {
        List<String> groups = new ArrayList<>();
        JsonNode gs = actor.get("groups");
        if (gs == null || !gs.isArray()) {
          throw new AuditFormatException("\"actor.groups\" of record " + seq + " must be an array");
        }
        for (JsonNode g : gs) {
          if (!g.isTextual()) {
            throw new AuditFormatException("\"actor.groups\" of record " + seq + " must hold strings");
          }
          groups.add(g.asText());
        }
        b.actor(Identity.of(str(actor, "user", true), groups).assertedBy(str(actor, "source", true)));
      }
      String requestId = str(n, "requestId", false);
      if (requestId != null) {
        b.requestId(RequestId.parse(requestId));
      }
      String grantId = str(n, "grantId", false);
      if (grantId != null) {
        b.grantId(GrantId.parse(grantId));
      }
      JsonNode scope = n.get("scope");
      if (scope != null) {
        String ns = str(scope, "namespace", false);
        Scope s = ns == null ? Scope.cluster(str(scope, "cluster", true)) : Scope.namespace(str(scope, "cluster", true), ns);
        String pod = str(scope, "pod", false);
        if (pod != null) {
          s = s.withPod(pod);
        }
        String node = str(scope, "node", false);
        if (node != null) {
          s = s.withNode(node);
        }
        b.scope(s);
      }
      String action = str(n, "action", false);
      if (action != null) {
        b.action(Action.of(action));
      }
      String outcome = str(n, "outcome", false);
      if (outcome != null) {
        b.outcome(Decision.Outcome.valueOf(outcome));
      }
      b.reason(str(n, "reason", false)).ruleId(str(n, "ruleId", false))
          .policy(str(n, "policyDigest", false), str(n, "policyRevision", false))
          .justification(str(n, "justification", false)).ticket(str(n, "ticket", false));
      JsonNode attrs = n.get("attributes");
      if (attrs != null) {
        if (!attrs.isObject()) {
          throw new AuditFormatException("\"attributes\" of record " + seq + " must be an object");
        }
        Map<String, String> m = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = attrs.fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> a = it.next();
          if (!a.getValue().isTextual()) {
            throw new AuditFormatException("attribute " + Text.quote(a.getKey()) + " of record " + seq
                + " must be a string");
          }
          m.put(a.getKey(), a.getValue().asText());
        }
        b.attributes(m);
      }
      return new AuditRecord(seq, time, type, prevHash, json, b.build(), null, null);
    } catch (IllegalArgumentException e) {
      throw new AuditFormatException("record " + seq + " holds an invalid value: " + e.getMessage());
    }
  }

  private static String str(JsonNode n, String field, boolean required) {
    JsonNode v = n.get(field);
    if (v == null) {
      if (required) {
        throw new AuditFormatException("missing field " + Text.quote(field));
      }
      return null;
    }
    if (!v.isTextual()) {
      throw new AuditFormatException("field " + Text.quote(field) + " must be a string");
    }
    return v.asText();
  }

  private static void optional(JsonGenerator g, String name, String value) throws IOException {
    if (value != null) {
      g.writeStringField(name, value);
    }
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "parse error";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
