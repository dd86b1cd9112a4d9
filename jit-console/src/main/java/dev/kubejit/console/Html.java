package dev.kubejit.console;

import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;

/**
 * HTML output: every piece of text that is not a literal of this module goes through {@link
 * #esc}, attributes are always double-quoted, and no page carries inline script or style (the
 * Content-Security-Policy forbids both), so user-supplied text is inert wherever it lands.
 */
final class Html {
  private Html() {}

  /** Escapes text for an element body or a double-quoted attribute value. */
  static String esc(String s) {
    if (s == null) {
      return "";
    }
    StringBuilder b = new StringBuilder(s.length() + 16);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '&' -> b.append("&amp;");
        case '<' -> b.append("&lt;");
        case '>' -> b.append("&gt;");
        case '"' -> b.append("&quot;");
        case '\'' -> b.append("&#39;");
        default -> {
          if (c < 0x20 && c != '\n' && c != '\t') {
            b.append('\uFFFD');
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.toString();
  }

  static String time(Instant t) {
    return t == null ? "-" : DateTimeFormatter.ISO_INSTANT.format(t.truncatedTo(ChronoUnit.SECONDS));
  }

  /** A {@code <time>} element; with {@code countdown}, console.js counts down to it every second. */
  static String until(Instant end, Instant now, boolean countdown) {
    String iso = time(end);
    String left = now.isBefore(end) ? human(Duration.between(now, end)) + " left" : "ended";
    return "<time datetime=\"" + iso + "\"" + (countdown ? " data-countdown" : "") + " title=\"" + iso + "\">" + left
        + "</time>";
  }

  static String human(Duration d) {
    long s = Math.max(0, d.getSeconds());
    if (s >= 3600) {
      return s / 3600 + " h " + (s % 3600) / 60 + " min";
    }
    if (s >= 60) {
      return s / 60 + " min " + s % 60 + " s";
    }
    return s + " s";
  }

  static String duration(Duration d) {
    if (d == null) {
      return "-";
    }
    long m = d.toMinutes();
    return m >= 60 && m % 60 == 0 ? m / 60 + " h" : m >= 1 && d.toSecondsPart() == 0 ? m + " min" : d.getSeconds() + " s";
  }
}
