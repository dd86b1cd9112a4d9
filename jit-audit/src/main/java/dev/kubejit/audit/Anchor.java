package dev.kubejit.audit;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.Iterator;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The anchor: one signed JSON line, kept outside the log, naming the log's latest checkpoint
 * (seq, kind, time, where it is, its prevHash and the SHA-256 of its line) and the log itself (the
 * SHA-256 of its first line). The sink replaces it atomically (temp file, fsync, rename, fsync of
 * the directory) after each signed checkpoint is durable; the verifier requires the log to reach
 * exactly that checkpoint, so a log cut back to an earlier seal, or any other cut, is seen.
 *
 * <p>Design notes: the signature covers {@link #SIGNING_CONTEXT} followed by the line without its
 * {@code sig} field, like a checkpoint's but with its own context, so neither can stand in for the
 * other. {@code segment}/{@code offset} let the sink check the anchor on open without reading the
 * whole log. Parsing is strict: canonical bytes, one line, every field required.
 */
final class Anchor {
  static final byte[] SIGNING_CONTEXT = "kubejit-audit-anchor-v1\n".getBytes(StandardCharsets.US_ASCII);
  static final String TYPE = "ANCHOR";
  private static final int MAX_BYTES = 4096;
  private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");
  private static final JsonFactory JSON = new JsonFactory();
  private static final ObjectMapper MAPPER = new ObjectMapper()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  /**
   * What an anchor says.
   *
   * @param log SHA-256 (hex) of the log's first line (seq 1)
   * @param seq the anchored checkpoint's seq
   * @param time the anchored checkpoint's time
   * @param kind the anchored checkpoint's kind
   * @param segment the number of the file holding it (1 = the base file)
   * @param offset the byte offset of its line in that file
   * @param prevHash the anchored checkpoint's prevHash
   * @param hash SHA-256 (hex) of the anchored checkpoint's line
   * @param keyId the signing key's id
   */
  record Body(String log, long seq, Instant time, String kind, int segment, long offset, String prevHash, String hash,
      String keyId) {
    Body {
      requireNonNull(log, "log");
      requireNonNull(time, "time");
      requireNonNull(kind, "kind");
      requireNonNull(prevHash, "prevHash");
      requireNonNull(hash, "hash");
      requireNonNull(keyId, "keyId");
    }
  }

  private final Body body;
  private final byte[] sig;

  private Anchor(Body body, byte[] sig) {
    this.body = body;
    this.sig = sig.clone();
  }

  Body body() {
    return body;
  }

  /** Signs {@code body} with the log's key. */
  static Anchor sign(Body body, PrivateKey key) {
    return new Anchor(body, AuditKeys.sign(key, signedBytes(body)));
  }

  /** The bytes the signature covers: {@link #SIGNING_CONTEXT} + the line without {@code sig}. */
  static byte[] signedBytes(Body b) {
    return RecordCodec.withContext(SIGNING_CONTEXT, line(b, null));
  }

  /** Whether the anchor names {@code keyId} and its signature verifies with {@code key}. */
  boolean verifies(PublicKey key, String keyId) {
    return body.keyId().equals(keyId) && AuditKeys.verify(key, signedBytes(body), sig);
  }

  byte[] line() {
    return line(body, sig);
  }

  private static byte[] line(Body b, byte[] sig) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(512);
    try (JsonGenerator g = JSON.createGenerator(out, JsonEncoding.UTF8)) {
      g.writeStartObject();
      g.writeStringField("type", TYPE);
      g.writeStringField("log", b.log());
      g.writeNumberField("seq", b.seq());
      g.writeStringField("time", Text.time(b.time()));
      g.writeStringField("kind", b.kind());
      g.writeNumberField("segment", b.segment());
      g.writeNumberField("offset", b.offset());
      g.writeStringField("prevHash", b.prevHash());
      g.writeStringField("hash", b.hash());
      g.writeStringField("keyId", b.keyId());
      if (sig != null) {
        g.writeStringField("sig", Base64.getEncoder().encodeToString(sig));
      }
      g.writeEndObject();
    } catch (IOException ex) {
      throw new UncheckedIOException("cannot encode anchor", ex);
    }
    return out.toByteArray();
  }

  /**
   * Reads an anchor file: one canonical line ending in a newline.
   *
   * @throws AuditFormatException if the file is missing, unreadable or not an anchor
   */
  static Anchor read(Path file) {
    byte[] content;
    try {
      if (Files.size(file) > MAX_BYTES) {
        throw new AuditFormatException("anchor file " + file + " is larger than " + MAX_BYTES + " bytes");
      }
      content = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new AuditFormatException("anchor file not found: " + file);
    } catch (IOException e) {
      throw new AuditFormatException("cannot read anchor file " + file + ": " + e.getMessage(), e);
    }
    try {
      return parse(content);
    } catch (AuditFormatException e) {
      throw new AuditFormatException("anchor file " + file + " is not a KubeJIT audit anchor: " + e.getMessage());
    }
  }

  private static Anchor parse(byte[] content) {
    int len = content.length;
    if (len == 0 || content[len - 1] != '\n') {
      throw new AuditFormatException("it must be one line ending in a newline");
    }
    for (int i = 0; i < len - 1; i++) {
      if (content[i] == '\n') {
        throw new AuditFormatException("it holds more than one line");
      }
    }
    JsonNode n;
    try {
      n = MAPPER.readTree(content, 0, len - 1);
    } catch (IOException e) {
      throw new AuditFormatException("not valid JSON: " + Text.quote(content, len - 1));
    }
    if (n == null || !n.isObject() || !TYPE.equals(n.path("type").asText(null))) {
      throw new AuditFormatException("not an object with \"type\":\"" + TYPE + "\": " + Text.quote(content, len - 1));
    }
    Instant time = Text.parseCanonicalTime(text(n, "time"));
    if (time == null) {
      throw new AuditFormatException("\"time\" is not RFC 3339 UTC with nine fraction digits");
    }
    long seq = number(n, "seq", 1);
    long segment = number(n, "segment", 1);
    if (segment > Integer.MAX_VALUE) {
      throw new AuditFormatException("\"segment\" is out of range: " + segment);
    }
    Body b = new Body(hex(n, "log"), seq, time, text(n, "kind"), (int) segment, number(n, "offset", 0),
        hex(n, "prevHash"), hex(n, "hash"), hex(n, "keyId"));
    byte[] sig;
    try {
      sig = Base64.getDecoder().decode(text(n, "sig"));
    } catch (IllegalArgumentException e) {
      throw new AuditFormatException("\"sig\" is not base64");
    }
    for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!Set.of("type", "log", "seq", "time", "kind", "segment", "offset", "prevHash", "hash", "keyId", "sig")
          .contains(f)) {
        throw new AuditFormatException("unknown field " + Text.quote(f));
      }
    }
    Anchor a = new Anchor(b, sig);
    if (!Arrays.equals(a.line(), 0, a.line().length, content, 0, len - 1)) {
      throw new AuditFormatException("not in canonical form (fields reordered, added or re-encoded)");
    }
    return a;
  }

  private static String text(JsonNode n, String field) {
    JsonNode v = n.get(field);
    if (v == null || !v.isTextual()) {
      throw new AuditFormatException("field " + Text.quote(field) + " must be a string");
    }
    return v.asText();
  }

  private static String hex(JsonNode n, String field) {
    String v = text(n, field);
    if (!HEX64.matcher(v).matches()) {
      throw new AuditFormatException("field " + Text.quote(field) + " is not 64 lower-case hex digits: " + Text.quote(v));
    }
    return v;
  }

  private static long number(JsonNode n, String field, long min) {
    JsonNode v = n.get(field);
    if (v == null || !v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < min) {
      throw new AuditFormatException("field " + Text.quote(field) + " must be an integer >= " + min);
    }
    return v.asLong();
  }

  /** Replaces {@code file} atomically: temp file (0600) fsync'ed, renamed over it, directory fsync'ed. */
  void writeAtomically(Path file) throws IOException {
    byte[] l = line();
    byte[] content = Arrays.copyOf(l, l.length + 1);
    content[l.length] = '\n';
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try (FileChannel c = FileChannel.open(tmp, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING), PosixFilePermissions.asFileAttribute(FileAuditSink.OWNER_RW))) {
      Files.setPosixFilePermissions(tmp, FileAuditSink.OWNER_RW);
      ByteBuffer bb = ByteBuffer.wrap(content);
      while (bb.hasRemaining()) {
        c.write(bb);
      }
      c.force(true);
    }
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    FileAuditSink.syncDirectory(file);
  }

  @Override
  public String toString() {
    return "Anchor{log=" + body.log().substring(0, 12) + ", seq=" + body.seq() + ", " + body.kind() + "}";
  }
}
