package dev.kubejit.api;

import com.google.common.io.BaseEncoding;
import java.security.SecureRandom;
import java.util.regex.Pattern;

/** Random identifiers: 128 bits from {@link SecureRandom}, lower-case base32, 26 characters. */
final class Ids {
  static final Pattern FORMAT = Pattern.compile("[a-z2-7]{26}");
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final BaseEncoding BASE32 = BaseEncoding.base32().lowerCase().omitPadding();

  private Ids() {}

  static String random() {
    byte[] bytes = new byte[16];
    RANDOM.nextBytes(bytes);
    return BASE32.encode(bytes);
  }

  static String parse(String value, String what) {
    if (value == null || !FORMAT.matcher(value).matches()) {
      throw new IllegalArgumentException(
          what + " must be 26 characters of lower-case base32: " + Validation.quote(value));
    }
    // 26 base32 characters carry 130 bits; for 128 bits the last character's two low bits are 0.
    if ("aeimquy4".indexOf(value.charAt(25)) < 0) {
      throw new IllegalArgumentException(
          what + " is not a canonical 128-bit identifier: " + Validation.quote(value));
    }
    return value;
  }
}
