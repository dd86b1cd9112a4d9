package dev.kubejit.cli;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The one duration syntax of every {@code kubejit} option: {@code 30m}, {@code 1h30m}, {@code 90s} or ISO {@code PT30M}. */
final class Durations {
  private static final Pattern HUMAN = Pattern.compile("(?:([0-9]{1,6})h)?(?:([0-9]{1,7})m)?(?:([0-9]{1,9})s)?");

  private Durations() {}

  /**
   * Parses {@code text}; zero is returned as is (the domain refuses it with its own message),
   * anything else unparsable is an {@link IllegalArgumentException} naming {@code what}.
   */
  static Duration parse(String text, String what) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException(what + " is required (e.g. 30m, 1h, 1h30m, 90s)");
    }
    if (text.startsWith("P") || text.startsWith("p")) {
      try {
        return Duration.parse(text);
      } catch (DateTimeParseException e) {
        throw new IllegalArgumentException("invalid " + what + " \"" + text + "\"; use e.g. 30m, 1h, 1h30m, 90s or PT30M");
      }
    }
    Matcher m = HUMAN.matcher(text);
    if (!m.matches()) {
      throw new IllegalArgumentException("invalid " + what + " \"" + text + "\"; use e.g. 30m, 1h, 1h30m, 90s or PT30M");
    }
    Duration d = Duration.ZERO;
    if (m.group(1) != null) {
      d = d.plusHours(Long.parseLong(m.group(1)));
    }
    if (m.group(2) != null) {
      d = d.plusMinutes(Long.parseLong(m.group(2)));
    }
    if (m.group(3) != null) {
      d = d.plusSeconds(Long.parseLong(m.group(3)));
    }
    return d;
  }
}
