package dev.kubejit.api;

/**
 * Renders untrusted text for error messages and log lines: quoted, with quotes, backslashes,
 * control and non-ASCII characters escaped, and capped in length, so hostile input can neither
 * forge a log line nor hide behind look-alike characters.
 */
public final class SafeText {
  private static final int LIMIT = 160;

  private SafeText() {}

  /**
   * Returns {@code value} quoted and escaped (at most 160 characters of it, then {@code ...}); for a
   * null value, the unquoted text {@code null}, so that it cannot be mistaken for the string "null".
   */
  public static String quote(String value) {
    if (value == null) {
      return "null";
    }
    StringBuilder sb = new StringBuilder(Math.min(value.length(), LIMIT) + 8).append('"');
    int limit = Math.min(value.length(), LIMIT);
    for (int i = 0; i < limit; i++) {
      char c = value.charAt(i);
      if (c == '"' || c == '\\') {
        sb.append('\\').append(c);
      } else if (c < 0x20 || c >= 0x7f) {
        sb.append(String.format("\\u%04x", (int) c));
      } else {
        sb.append(c);
      }
    }
    if (value.length() > limit) {
      sb.append("...");
    }
    return sb.append('"').toString();
  }
}
