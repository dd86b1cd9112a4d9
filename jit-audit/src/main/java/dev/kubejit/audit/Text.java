package dev.kubejit.audit;

import dev.kubejit.api.SafeText;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;

/** Small shared helpers: escaped quoting for messages, SHA-256, RFC 3339 nanosecond times. */
final class Text {
  private static final DateTimeFormatter NANOS =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSSSSS'Z'").withZone(ZoneOffset.UTC);

  private Text() {}

  /** Renders a value for a message: quoted, control and non-ASCII characters escaped, capped. */
  static String quote(String value) {
    return SafeText.quote(value);
  }

  /** Quotes raw bytes (a torn or garbled line) for a message. */
  static String quote(byte[] bytes, int length) {
    return quote(new String(bytes, 0, Math.min(length, 120), StandardCharsets.UTF_8));
  }

  /** SHA-256 of {@code bytes[0, length)}, lower-case hex. */
  static String sha256Hex(byte[] bytes, int length) {
    return com.google.common.hash.Hashing.sha256().hashBytes(bytes, 0, length).toString();
  }

  static String sha256Hex(byte[] bytes) {
    return sha256Hex(bytes, bytes.length);
  }

  /** RFC 3339 in UTC with exactly nine fraction digits, e.g. 2026-01-01T09:00:00.000000000Z. */
  static String time(Instant t) {
    return NANOS.format(t);
  }

  /** Parses a time written by {@link #time}; anything else is refused. */
  static Instant parseCanonicalTime(String s) {
    try {
      Instant t = Instant.parse(s);
      if (!time(t).equals(s)) {
        return null;
      }
      return t;
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  /** Parses an RFC 3339 time with any precision and offset (for query bounds and kube logs). */
  static Instant parseRfc3339(String s, String what) {
    try {
      return java.time.OffsetDateTime.parse(s).toInstant();
    } catch (DateTimeParseException e) {
      throw new AuditFormatException(what + " is not an RFC 3339 time: " + quote(s));
    }
  }
}
