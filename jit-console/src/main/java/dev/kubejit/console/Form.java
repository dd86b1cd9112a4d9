package dev.kubejit.console;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An {@code application/x-www-form-urlencoded} body or query string; the first value of a repeated
 * name counts. Malformed percent-encoding makes the whole form empty (so a bad form never passes a
 * CSRF check).
 */
final class Form {
  private static final int MAX_FIELDS = 32;
  private final Map<String, String> fields;

  private Form(Map<String, String> fields) {
    this.fields = fields;
  }

  static Form parse(String encoded) {
    Map<String, String> m = new LinkedHashMap<>();
    if (encoded == null || encoded.isEmpty()) {
      return new Form(m);
    }
    String[] pairs = encoded.split("&", MAX_FIELDS + 1);
    try {
      for (int i = 0; i < Math.min(pairs.length, MAX_FIELDS); i++) {
        String p = pairs[i];
        if (p.isEmpty()) {
          continue;
        }
        int eq = p.indexOf('=');
        String k = URLDecoder.decode(eq < 0 ? p : p.substring(0, eq), StandardCharsets.UTF_8);
        String v = eq < 0 ? "" : URLDecoder.decode(p.substring(eq + 1), StandardCharsets.UTF_8);
        m.putIfAbsent(k, v);
      }
    } catch (IllegalArgumentException e) {
      return new Form(new LinkedHashMap<>());
    }
    return new Form(m);
  }

  /** The field's value, or null when absent. */
  String get(String name) {
    return fields.get(name);
  }

  /** The field's value, or null when absent or blank. */
  String nonBlank(String name) {
    String v = fields.get(name);
    return v == null || v.isBlank() ? null : v.strip();
  }

  boolean isEmpty() {
    return fields.isEmpty();
  }

  @Override
  public String toString() {
    return "Form" + fields.keySet();
  }
}
