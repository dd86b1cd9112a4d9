package dev.kubejit.server;

/** Makes caller-supplied names safe to echo in an error message (bounded, printable). */
final class SafeNames {
  private SafeNames() {}

  static String clip(String s) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < s.length() && b.length() < 64; i++) {
      char c = s.charAt(i);
      b.append(c >= 0x20 && c < 0x7f ? c : '?');
    }
    return s.length() > 64 ? b + "..." : b.toString();
  }
}
