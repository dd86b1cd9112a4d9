package dev.kubejit.gateway;

import dev.kubejit.api.SafeText;

/** Quoting of untrusted text for messages and logs (one home: {@link SafeText}). */
final class Text {
  private Text() {}

  static String quote(String s) {
    return SafeText.quote(s);
  }
}
