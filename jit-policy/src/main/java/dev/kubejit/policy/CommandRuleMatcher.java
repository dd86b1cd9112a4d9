package dev.kubejit.policy;

import dev.kubejit.policy.Model.ArgType;
import dev.kubejit.policy.Model.CommandRule;
import dev.kubejit.policy.Model.Operand;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One compiled command rule: checks the words after the program name against its flags, flags
 * with values and operand layout.
 *
 * <p>Design notes, matching GNU getopt where it matters and stricter where it does not:
 *
 * <ul>
 *   <li>Before {@code --}, a word starting with {@code -} (other than {@code -} itself) is an
 *       option wherever it appears (GNU permutes). After {@code --} every word is an operand.
 *   <li>An option must be listed exactly. Combined short options are not split: {@code -la} is
 *       allowed only if {@code -la} itself is listed, and {@code -al} is a different word.
 *   <li>A listed flag with a value takes it from the next word ({@code -n 100}), or attached for a
 *       single-letter short flag ({@code -n100}), or after {@code =} for a long flag
 *       ({@code --lines=100}). A listed boolean long flag given {@code =value} is refused.
 *   <li>A listed flag without a dash (BSD style, {@code ps aux}) counts as a flag only as the first
 *       argument.
 *   <li>For the grep family, a pattern given by {@code -e}/{@code --regexp}/{@code -f}/{@code
 *       --file} replaces the pattern operand: the leading {@code any} operand is dropped from the
 *       layout, so {@code grep -e x /etc/shadow} checks {@code /etc/shadow} as a path.
 *   <li>Paths: absolute only (the working directory is unknown), ASCII, {@code .} and duplicate
 *       slashes collapsed; a path with {@code ..} is refused (after saying where it would lead, if
 *       outside) because a symlink can make {@code ..} resolve elsewhere than its lexical form; the
 *       result must equal an allowed prefix or lie below it on a segment boundary ({@code
 *       /var/logx} is not under {@code /var/log/}).
 * </ul>
 */
final class CommandRuleMatcher {
  private static final Set<String> GREP_FAMILY = Set.of("grep", "egrep", "fgrep", "zgrep", "rg");
  private static final Set<String> PATTERN_FLAGS = Set.of("-e", "--regexp", "-f", "--file");
  private static final Pattern NUMBER = Pattern.compile("[0-9]{1,10}");

  final CommandRule rule;
  private final Set<String> flags;
  private final Map<String, ArgType> withValue;
  private final List<String> dirs;

  CommandRuleMatcher(CommandRule rule) {
    this.rule = rule;
    this.flags = Set.copyOf(rule.flags());
    this.withValue = Map.copyOf(rule.flagsWithValue());
    List<String> d = new ArrayList<>();
    for (String p : rule.paths()) {
      d.add(p.endsWith("/") ? p.substring(0, p.length() - 1) : p);
    }
    this.dirs = List.copyOf(d);
  }

  /** Returns null when argv matches, else why not. */
  String mismatch(List<String> argv) {
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
        if (flags.contains(a)) {
          used.add(a);
          continue;
        }
        ArgType t = withValue.get(a);
        if (t != null) {
          if (i + 1 >= argv.size()) {
            return "flag " + a + " needs a value";
          }
          String bad = typeMismatch(t, argv.get(++i), "the value of " + a);
          if (bad != null) {
            return bad;
          }
          used.add(a);
          continue;
        }
        int eq = a.indexOf('=');
        if (a.startsWith("--") && eq > 2) {
          String name = a.substring(0, eq);
          t = withValue.get(name);
          if (t == null) {
            return flags.contains(name) ? "flag " + name + " takes no value: " + Text.quote(a)
                : "flag " + Text.quote(name) + " is not allowed";
          }
          String bad = typeMismatch(t, a.substring(eq + 1), "the value of " + name);
          if (bad != null) {
            return bad;
          }
          used.add(name);
          continue;
        }
        if (!a.startsWith("--") && a.length() > 2) {
          String shortFlag = a.substring(0, 2);
          t = withValue.get(shortFlag);
          if (t != null) {
            String bad = typeMismatch(t, a.substring(2), "the value of " + shortFlag);
            if (bad != null) {
              return bad;
            }
            used.add(shortFlag);
            continue;
          }
        }
        return "flag " + Text.quote(a) + " is not allowed" + (a.startsWith("--") || a.length() == 2 ? ""
            : " (combined short flags are matched as written, not split)");
      }
      if (!endOfOptions && i == 1 && !a.isEmpty() && a.charAt(0) != '-' && flags.contains(a)) {
        used.add(a);
        continue;
      }
      operands.add(a);
    }
    List<Operand> layout = rule.operands();
    if (GREP_FAMILY.contains(rule.command()) && !layout.isEmpty() && layout.get(0).type() == ArgType.ANY
        && !layout.get(0).variadic() && used.stream().anyMatch(PATTERN_FLAGS::contains)) {
      layout = layout.subList(1, layout.size());
    }
    Operand last = layout.isEmpty() ? null : layout.get(layout.size() - 1);
    int fixed = last != null && last.variadic() ? layout.size() - 1 : layout.size();
    int min = fixed + (last != null && last.quantifier() == Model.Quantifier.ONE_OR_MORE ? 1 : 0);
    boolean unbounded = last != null && last.variadic();
    if (operands.size() < min || !unbounded && operands.size() > fixed) {
      return "expects " + describe(layout) + " but got " + operands.size() + " operand(s)";
    }
    for (int j = 0; j < operands.size(); j++) {
      Operand spec = j < fixed ? layout.get(j) : last;
      String bad = typeMismatch(spec.type(), operands.get(j), "operand " + (j + 1));
      if (bad != null) {
        return bad;
      }
    }
    return null;
  }

  private static String describe(List<Operand> layout) {
    if (layout.isEmpty()) {
      return "no operands";
    }
    List<String> s = new ArrayList<>();
    layout.forEach(o -> s.add(o.toString()));
    return "operands [" + String.join(" ", s) + "]";
  }

  private String typeMismatch(ArgType type, String value, String what) {
    switch (type) {
      case ANY:
        return null;
      case NUMBER:
        return NUMBER.matcher(value).matches() ? null
            : what + " must be a non-negative decimal number, not " + Text.quote(value);
      case PATH:
        return pathMismatch(value, what);
      default:
        throw new AssertionError(type);
    }
  }

  private String pathMismatch(String value, String what) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c < 0x20 || c > 0x7e) {
        return what + " " + Text.quote(value) + " contains the non-ASCII character "
            + Text.codePoint(value.codePointAt(i)) + "; paths must be ASCII";
      }
    }
    if (!value.startsWith("/")) {
      return what + " " + Text.quote(value) + " is a relative path; only absolute paths are allowed "
          + "(the working directory is unknown)";
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
    if (!inside) {
      return what + " " + Text.quote(value) + (normal.equals(value) ? "" : " (normalised: " + normal + ")")
          + (dotdot ? " escapes the allowed prefixes " : " is outside the allowed prefixes ") + rule.paths();
    }
    if (dotdot) {
      return what + " " + Text.quote(value) + " contains '..'; refused because a symlink can make '..' lead "
          + "elsewhere than " + normal;
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
