package dev.kubejit.policy;

import dev.kubejit.policy.Model.ArgKind;
import dev.kubejit.policy.Model.ArgType;
import dev.kubejit.policy.Model.CommandRule;
import dev.kubejit.policy.Model.Operand;
import dev.kubejit.policy.Model.ValueOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One compiled command rule: checks the words after the program name against its options and
 * operand layout.
 *
 * <p>Design notes. Options are read as GNU getopt_long reads them, against the kinds the rule
 * declares, and wherever the program could read a word differently from us we refuse rather than
 * guess:
 *
 * <ul>
 *   <li>Before {@code --}, a word starting with {@code -} (other than {@code -} itself) is an
 *       option wherever it appears (GNU permutes). After {@code --} every word is an operand.
 *   <li>An option must be declared exactly. Combined short options are not split: {@code -la} is
 *       allowed only if {@code -la} itself is listed. A long option that is a proper prefix of a
 *       declared one ({@code --fol} for {@code --follow}) is refused with its own code: getopt_long
 *       would accept the abbreviation, and we do not know the program's other options.
 *   <li>A value option with {@code argument: required} takes {@code --opt=V} or the next word
 *       (whatever it looks like, as getopt does); a short one also {@code -xV}. With {@code
 *       argument: optional} only the attached forms carry a value and the next word stays an
 *       operand ({@code ls --color /etc} has the operand {@code /etc}). With the shorthand form
 *       (kind undeclared) only the attached forms are accepted, because they mean the same under
 *       both kinds; {@code --opt WORD} and {@code -x WORD} are refused as ambiguous.
 *   <li>A listed flag without a dash (BSD style, {@code ps aux}) counts as a flag only as the first
 *       argument.
 *   <li>Pattern operands: if the rule declares {@code patternOptions} and one of them is used, the
 *       first operand (the pattern) is dropped from the layout, so {@code xzgrep -e x /etc/shadow}
 *       checks {@code /etc/shadow} as a path. Under a rule where a non-path operand precedes a path
 *       operand without such a declaration, any command that uses an option is refused: the option
 *       could supply that operand and shift a path into its unchecked slot. Without options the
 *       positions are certain.
 *   <li>No operand: a program given no path operand acts on its default (the working directory or
 *       standard input), which the policy cannot check; refused unless {@code allowNoOperand}.
 *   <li>Paths: absolute only (the working directory is unknown), ASCII, {@code .} and duplicate
 *       slashes collapsed; a path with {@code ..} is refused (after saying where it would lead)
 *       because a symlink can make {@code ..} resolve elsewhere than its lexical form; the result
 *       must equal an allowed prefix or lie below it on a segment boundary.
 * </ul>
 */
final class CommandRuleMatcher {
  private static final Pattern NUMBER = Pattern.compile("[0-9]{1,10}");

  final CommandRule rule;
  private final Set<String> flags;
  private final Map<String, ValueOption> withValue;
  private final Set<String> patternOptions;
  private final List<String> dirs;

  CommandRuleMatcher(CommandRule rule) {
    this.rule = rule;
    this.flags = Set.copyOf(rule.flags());
    this.withValue = Map.copyOf(rule.flagsWithValue());
    this.patternOptions = rule.patternOptions() == null ? Set.of() : Set.copyOf(rule.patternOptions());
    List<String> d = new ArrayList<>();
    for (String p : rule.paths()) {
      d.add(p.endsWith("/") ? p.substring(0, p.length() - 1) : p);
    }
    this.dirs = List.copyOf(d);
  }

  /** Why argv does not match: a stable code and a readable message. */
  record Mismatch(ReasonCode code, String message) {}

  /** The words split into options used and operands, as the program would read them. */
  record Parsed(Set<String> options, List<String> operands) {}

  static final class ParseFailure extends Exception {
    private static final long serialVersionUID = 1L;
    final transient Mismatch mismatch;

    ParseFailure(ReasonCode code, String message) {
      super(message, null, false, false);
      this.mismatch = new Mismatch(code, message);
    }
  }

  /** Returns null when argv matches, else why not. */
  Mismatch mismatch(List<String> argv) {
    Parsed parsed;
    try {
      parsed = parse(argv);
    } catch (ParseFailure f) {
      return f.mismatch;
    }
    List<String> operands = parsed.operands();
    int ambiguous = rule.ambiguousOperand();
    if (ambiguous >= 0 && !parsed.options().isEmpty()) {
      return new Mismatch(ReasonCode.OPERANDS_AMBIGUOUS, "operand " + (ambiguous + 1) + " ("
          + rule.operands().get(ambiguous) + ") precedes a path operand and the rule does not declare which "
          + "options supply it (patternOptions), so an option such as " + parsed.options().iterator().next()
          + " could shift a path into its place; options are refused under this rule");
    }
    List<Operand> layout = rule.operands();
    if (parsed.options().stream().anyMatch(patternOptions::contains)) {
      layout = layout.subList(1, layout.size());
    }
    Operand last = layout.isEmpty() ? null : layout.get(layout.size() - 1);
    int fixed = last != null && last.variadic() ? layout.size() - 1 : layout.size();
    boolean unbounded = last != null && last.variadic();
    int pathSlots = 0;
    int pathOperands = 0;
    for (int j = 0; j < layout.size(); j++) {
      if (layout.get(j).type() == ArgType.PATH) {
        pathSlots++;
      }
    }
    for (int j = 0; j < operands.size(); j++) {
      Operand spec = j < fixed ? layout.get(j) : last;
      if (spec != null && spec.type() == ArgType.PATH) {
        pathOperands++;
      }
    }
    if (pathSlots > 0 && pathOperands == 0 && !rule.allowNoOperand()) {
      return new Mismatch(ReasonCode.NO_OPERAND, "no path operand: " + rule.command() + " would act on its "
          + "default (the working directory or standard input), which the policy cannot check; the rule does not "
          + "set allowNoOperand");
    }
    int min = fixed + (last != null && last.quantifier() == Model.Quantifier.ONE_OR_MORE ? 1 : 0);
    if (operands.size() < min || !unbounded && operands.size() > fixed) {
      return new Mismatch(ReasonCode.OPERAND_COUNT, "expects " + describe(layout) + " but got "
          + operands.size() + " operand(s)");
    }
    for (int j = 0; j < operands.size(); j++) {
      Operand spec = j < fixed ? layout.get(j) : last;
      Mismatch bad = typeMismatch(spec.type(), operands.get(j), "operand " + (j + 1));
      if (bad != null) {
        return bad;
      }
    }
    return null;
  }

  /**
   * Splits argv (argv[0] is the program) into the options used and the operands, checking every
   * option and option value; package-private so a test can compare it with the real programs.
   */
  Parsed parse(List<String> argv) throws ParseFailure {
    List<String> operands = new ArrayList<>();
    Set<String> used = new HashSet<>();
    boolean endOfOptions = false;
    for (int i = 1; i < argv.size(); i++) {
      String a = argv.get(i);
      if (!endOfOptions && a.equals("--")) {
        endOfOptions = true;
        continue;
      }
      if (!endOfOptions && a.length() > 1 && a.charAt(0) == '-') {
        i = option(argv, i, used);
        continue;
      }
      if (!endOfOptions && i == 1 && !a.isEmpty() && a.charAt(0) != '-' && flags.contains(a)) {
        used.add(a);
        continue;
      }
      operands.add(a);
    }
    return new Parsed(Set.copyOf(used), List.copyOf(operands));
  }

  /** Reads the option at argv[i]; returns the index of the last word it consumed. */
  private int option(List<String> argv, int i, Set<String> used) throws ParseFailure {
    String a = argv.get(i);
    String next = i + 1 < argv.size() ? argv.get(i + 1) : null;
    if (flags.contains(a)) {
      used.add(a);
      return i;
    }
    if (a.startsWith("--")) {
      int eq = a.indexOf('=');
      String name = eq > 2 ? a.substring(0, eq) : a;
      String attached = eq > 2 ? a.substring(eq + 1) : null;
      if (flags.contains(name)) {
        throw new ParseFailure(ReasonCode.OPTION_TAKES_NO_VALUE, "option " + name + " takes no value: "
            + Text.quote(a));
      }
      ValueOption v = withValue.get(name);
      if (v == null) {
        for (String declared : rule.declaredOptions()) {
          if (declared.startsWith("--") && declared.length() > name.length() && declared.startsWith(name)) {
            throw new ParseFailure(ReasonCode.OPTION_ABBREVIATED, "option " + Text.quote(name)
                + " abbreviates " + declared + " (getopt_long accepts unambiguous prefixes of the program's "
                + "options, which the policy does not know); write the option in full");
          }
        }
        throw new ParseFailure(ReasonCode.OPTION_NOT_ALLOWED, "option " + Text.quote(name) + " is not allowed");
      }
      used.add(name);
      return value(name, v, attached, next, i, "--opt=VALUE");
    }
    ValueOption v = withValue.get(a);
    if (v != null) {
      used.add(a);
      return value(a, v, null, next, i, a.length() == 2 ? "-xVALUE" : null);
    }
    if (a.length() > 2) {
      String shortOpt = a.substring(0, 2);
      v = withValue.get(shortOpt);
      if (v != null) {
        used.add(shortOpt);
        return value(shortOpt, v, a.substring(2), next, i, null);
      }
      throw new ParseFailure(ReasonCode.COMBINED_OPTIONS, "option " + Text.quote(a)
          + " is not allowed (combined short options are matched as written, not split)");
    }
    throw new ParseFailure(ReasonCode.OPTION_NOT_ALLOWED, "option " + Text.quote(a) + " is not allowed");
  }

  private int value(String name, ValueOption v, String attached, String next, int i, String attachedForm)
      throws ParseFailure {
    if (attached != null) {
      check(v.type(), attached, "the value of " + name);
      return i;
    }
    switch (v.kind()) {
      case REQUIRED:
        if (next == null) {
          throw new ParseFailure(ReasonCode.OPTION_VALUE_MISSING, "option " + name + " needs a value");
        }
        check(v.type(), next, "the value of " + name);
        return i + 1;
      case OPTIONAL:
        return i;
      case UNDECLARED:
        throw new ParseFailure(ReasonCode.OPTION_VALUE_AMBIGUOUS, "option " + name + " is declared without "
            + "saying whether its value is required or optional, so only the attached form"
            + (attachedForm == null ? "" : " (" + attachedForm + ")") + " is accepted: a program whose value is "
            + "optional would read " + (next == null ? "no value" : Text.quote(next) + " as an operand"));
      default:
        throw new AssertionError(v.kind());
    }
  }

  private void check(ArgType type, String value, String what) throws ParseFailure {
    Mismatch m = typeMismatch(type, value, what);
    if (m != null) {
      throw new ParseFailure(m.code(), m.message());
    }
  }

  private static String describe(List<Operand> layout) {
    if (layout.isEmpty()) {
      return "no operands";
    }
    List<String> s = new ArrayList<>();
    layout.forEach(o -> s.add(o.toString()));
    return "operands [" + String.join(" ", s) + "]";
  }

  private Mismatch typeMismatch(ArgType type, String value, String what) {
    switch (type) {
      case ANY:
        return null;
      case NUMBER:
        return NUMBER.matcher(value).matches() ? null : new Mismatch(ReasonCode.NOT_A_NUMBER,
            what + " must be a non-negative decimal number, not " + Text.quote(value));
      case PATH:
        return pathMismatch(value, what);
      default:
        throw new AssertionError(type);
    }
  }

  private Mismatch pathMismatch(String value, String what) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c < 0x20 || c > 0x7e) {
        return new Mismatch(ReasonCode.PATH_NON_ASCII, what + " " + Text.quote(value)
            + " contains the non-ASCII character " + Text.codePoint(value.codePointAt(i)) + "; paths must be ASCII");
      }
    }
    if (!value.startsWith("/")) {
      return new Mismatch(ReasonCode.PATH_RELATIVE, what + " " + Text.quote(value)
          + " is a relative path; only absolute paths are allowed (the working directory is unknown)");
    }
    List<String> segs = new ArrayList<>();
    boolean dotdot = false;
    for (String s : value.split("/")) {
      if (s.isEmpty() || s.equals(".")) {
        continue;
      }
      if (s.equals("..")) {
        dotdot = true;
        if (!segs.isEmpty()) {
          segs.remove(segs.size() - 1);
        }
        continue;
      }
      segs.add(s);
    }
    String normal = "/" + String.join("/", segs);
    boolean inside = under(normal);
    if (dotdot) {
      return new Mismatch(ReasonCode.PATH_DOTDOT, what + " " + Text.quote(value) + " contains '..'"
          + (inside ? "; refused because a symlink can make '..' lead elsewhere than " + normal
              : " and (normalised: " + normal + ") escapes the allowed prefixes " + rule.paths()));
    }
    if (!inside) {
      return new Mismatch(ReasonCode.PATH_OUTSIDE, what + " " + Text.quote(value)
          + (normal.equals(value) ? "" : " (normalised: " + normal + ")") + " is outside the allowed prefixes "
          + rule.paths());
    }
    return null;
  }

  private boolean under(String normal) {
    for (String d : dirs) {
      if (d.isEmpty() || normal.equals(d) || normal.startsWith(d + "/")) {
        return true;
      }
    }
    return false;
  }
}
