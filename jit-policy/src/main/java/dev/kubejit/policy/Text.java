package dev.kubejit.policy;

import dev.kubejit.api.SafeText;
/** Quoting of untrusted values for messages: control and non-ASCII characters escaped, length capped. */
final class Text {
  private Text() {}

  static String quote(String value) {
    return SafeText.quote(value);
  }

  static String codePoint(int cp) {
    return String.format("U+%04X", cp);
  }
}
