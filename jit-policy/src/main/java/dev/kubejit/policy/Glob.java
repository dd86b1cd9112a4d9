package dev.kubejit.policy;

/** Matches names against patterns where {@code *} stands for any run of characters (nothing else is special). */
final class Glob {
  private Glob() {}

  static boolean matches(String pattern, String name) {
    int p = 0;
    int n = 0;
    int star = -1;
    int mark = 0;
    while (n < name.length()) {
      if (p < pattern.length() && pattern.charAt(p) == '*') {
        star = p++;
        mark = n;
      } else if (p < pattern.length() && pattern.charAt(p) == name.charAt(n)) {
        p++;
        n++;
      } else if (star >= 0) {
        p = star + 1;
        n = ++mark;
      } else {
        return false;
      }
    }
    while (p < pattern.length() && pattern.charAt(p) == '*') {
      p++;
    }
    return p == pattern.length();
  }

  static boolean matchesAny(Iterable<String> patterns, String name) {
    for (String p : patterns) {
      if (matches(p, name)) {
        return true;
      }
    }
    return false;
  }
}
