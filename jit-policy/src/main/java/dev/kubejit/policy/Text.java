package dev.kubejit.policy;

/** Quoting of untrusted values for messages: control and non-ASCII characters escaped, length capped. */
final class Text {
  private Text() {}

  static String quote(String value) {
    if (value == null) {
      return "null";
    }
    StringBuilder sb = new StringBuilder("\"");
    int limit = Math.min(value.length(), 160);
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

  static String codePoint(int cp) {
    return String.format("U+%04X", cp);
  }
}
