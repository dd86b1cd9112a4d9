package dev.kubejit.api;

import java.time.Duration;

/**
 * Argument checks shared by the domain types.
 *
 * <p>Design notes: every value that ends up in a Kubernetes object name, a certificate subject, an
 * audit record or a log line passes through here first, so hostile input (control characters,
 * newlines that forge log lines, over-long names) is refused at the edge with a message that
 * quotes the offending value in escaped form.
 */
final class Validation {
  private Validation() {}

  static String requireText(String value, String what, int maxLength) {
    if (value == null) {
      throw new IllegalArgumentException(what + " is required");
    }
    if (value.isBlank()) {
      throw new IllegalArgumentException(what + " must not be blank");
    }
    if (value.length() > maxLength) {
      throw new IllegalArgumentException(
          what + " is longer than " + maxLength + " characters: " + quote(value.substring(0, 32)) + "...");
    }
    for (int i = 0; i < value.length(); ) {
      int cp = value.codePointAt(i);
      if (Character.isISOControl(cp) || cp == 0x2028 || cp == 0x2029 || !Character.isDefined(cp)
          || Character.getType(cp) == Character.SURROGATE) {
        throw new IllegalArgumentException(what + " contains a control or invalid character: " + quote(value));
      }
      i += Character.charCount(cp);
    }
    return value;
  }

  /** Identity names: no whitespace at the ends, no control characters. */
  static String requireName(String value, String what) {
    requireText(value, what, 256);
    if (!value.strip().equals(value)) {
      throw new IllegalArgumentException(what + " has leading or trailing whitespace: " + quote(value));
    }
    return value;
  }

  static String requireDnsLabel(String value, String what) {
    return KubeNames.requireDnsLabel(value, what);
  }

  static String requireDnsSubdomain(String value, String what) {
    return KubeNames.requireDnsSubdomain(value, what);
  }

  static Duration requirePositive(Duration d, String what) {
    if (d == null) {
      throw new IllegalArgumentException(what + " is required");
    }
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(what + " must be positive: " + d);
    }
    return d;
  }

  /** Renders a value for an error message with control and non-ASCII characters escaped. */
  static String quote(String value) {
    return SafeText.quote(value);
  }
}
