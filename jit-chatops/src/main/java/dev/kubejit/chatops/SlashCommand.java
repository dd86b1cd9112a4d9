package dev.kubejit.chatops;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One parsed {@code /jit} command. The grammar:
 *
 * <pre>
 * request ROLE ACTION NAMESPACE DURATION TICKET reason words...
 * approve ID [comment...]
 * deny ID comment...
 * revoke ID [reason...]
 * status [ID]
 * pending
 * help
 * </pre>
 *
 * DURATION is a number followed by {@code m} or {@code h} ({@code 30m}, {@code 2h}, {@code 1h30m}).
 * Anything else is {@link Optional#empty()}: the caller answers with {@link #USAGE}.
 */
final class SlashCommand {
  static final String USAGE = "Usage:\n"
      + "`/jit request ROLE ACTION NAMESPACE DURATION TICKET reason...` (DURATION like 30m or 1h)\n"
      + "`/jit approve ID [comment...]`\n"
      + "`/jit deny ID comment...`\n"
      + "`/jit revoke ID [reason...]`\n"
      + "`/jit status [ID]`\n"
      + "`/jit pending`\n"
      + "`/jit help`";
  private static final Pattern DURATION = Pattern.compile("(?:([0-9]{1,3})h)?(?:([0-9]{1,4})m)?");

  enum Verb { REQUEST, APPROVE, DENY, REVOKE, STATUS, PENDING, HELP }

  final Verb verb;
  final List<String> args;
  /** The free text after the fixed arguments (reason, comment), or null. */
  final String text;

  private SlashCommand(Verb verb, List<String> args, String text) {
    this.verb = verb;
    this.args = List.copyOf(args);
    this.text = text;
  }

  static Optional<SlashCommand> parse(String input) {
    String s = input == null ? "" : input.strip();
    if (s.isEmpty()) {
      return Optional.empty();
    }
    List<String> w = Arrays.asList(s.split("\\s+"));
    Verb verb;
    try {
      verb = Verb.valueOf(w.get(0).toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
    switch (verb) {
      case REQUEST:
        if (w.size() < 7 || duration(w.get(4)).isEmpty()) {
          return Optional.empty();
        }
        return Optional.of(new SlashCommand(verb, w.subList(1, 6), rest(s, 6)));
      case APPROVE:
      case REVOKE:
        return w.size() < 2 ? Optional.empty() : Optional.of(new SlashCommand(verb, w.subList(1, 2), rest(s, 2)));
      case DENY:
        return w.size() < 3 ? Optional.empty() : Optional.of(new SlashCommand(verb, w.subList(1, 2), rest(s, 2)));
      case STATUS:
        return w.size() > 2 ? Optional.empty() : Optional.of(new SlashCommand(verb, w.subList(1, w.size()), null));
      default:
        return w.size() > 1 ? Optional.empty() : Optional.of(new SlashCommand(verb, List.of(), null));
    }
  }

  /** Parses {@code 30m}, {@code 2h}, {@code 1h30m}; empty for anything else or zero. */
  static Optional<Duration> duration(String s) {
    Matcher m = DURATION.matcher(s.toLowerCase(Locale.ROOT));
    if (s.isEmpty() || !m.matches()) {
      return Optional.empty();
    }
    Duration d = Duration.ofHours(m.group(1) == null ? 0 : Long.parseLong(m.group(1)))
        .plusMinutes(m.group(2) == null ? 0 : Long.parseLong(m.group(2)));
    return d.isZero() ? Optional.empty() : Optional.of(d);
  }

  /** The text after the first {@code words} whitespace-separated words, or null when there is none. */
  private static String rest(String s, int words) {
    String[] parts = s.split("\\s+", words + 1);
    return parts.length > words ? parts[words].strip() : null;
  }
}
