package dev.kubejit.policy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Turns a command line or argv into checked words, refusing anything a shell would interpret.
 *
 * <p>Design notes. Tokenising follows POSIX quoting: outside quotes a backslash makes the next
 * character literal; single quotes keep everything literal; inside double quotes a backslash
 * escapes only {@code $ ` " \}. Only the space character separates words. Then every word (from a
 * command line or given as argv) is checked: the characters {@code ; | & $ ` ( ) < > { } * ? [ ] ~
 * # ! \ ' "} are refused even when they were quoted or escaped, because a gateway or a user may
 * later hand the words to a shell, and because globbing characters would defeat the path checks;
 * a word starting with {@code =} (zsh's command expansion) is refused too. For the same reason no
 * word may contain whitespace of any kind (space, tab, newline, NBSP, the Unicode space and line
 * separators, NEL): {@code cat "/var/log/x /etc/shadow"} is one word to us but two to a shell.
 * Control characters (NUL, C0, C1), invisible and format characters (zero-width, bidi overrides,
 * BOM), unassigned code points and lone surrogates are refused everywhere; the command name must
 * be plain ASCII; a leading {@code VAR=value} assignment is refused. Every refusal carries a
 * {@link ReasonCode}.
 */
final class CommandSyntax {
  static final String RULE = "command-syntax";
  static final int MAX_WORDS = 256;
  static final String META = ";|&$`()<>{}*?[]~#!\\'\"";
  private static final Pattern ASSIGNMENT = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*=.*", Pattern.DOTALL);
  static final Set<String> BIN_DIRS = Set.of("/bin", "/usr/bin", "/usr/local/bin", "/sbin", "/usr/sbin");

  private static final Map<Character, String> NAMES = Map.ofEntries(
      Map.entry(';', "';' (command separator)"), Map.entry('|', "'|' (pipe)"),
      Map.entry('&', "'&' (background/and)"), Map.entry('$', "'$' (expansion)"),
      Map.entry('`', "'`' (command substitution)"), Map.entry('(', "'(' (subshell)"),
      Map.entry(')', "')' (subshell)"), Map.entry('<', "'<' (redirection)"),
      Map.entry('>', "'>' (redirection)"), Map.entry('{', "'{' (brace expansion)"),
      Map.entry('}', "'}' (brace expansion)"), Map.entry('*', "'*' (glob)"), Map.entry('?', "'?' (glob)"),
      Map.entry('[', "'[' (glob)"), Map.entry(']', "']' (glob)"), Map.entry('~', "'~' (home expansion)"),
      Map.entry('#', "'#' (comment)"), Map.entry('!', "'!' (history/negation)"),
      Map.entry('\\', "'\\' (escape)"), Map.entry('\'', "a quote character"), Map.entry('"', "a quote character"));

  private CommandSyntax() {}

  /** Splits a command line into words the POSIX way; refuses control characters and bad quoting. */
  static List<String> tokenize(String line) throws Refusal {
    rawCharacters(line);
    List<String> words = new ArrayList<>();
    StringBuilder w = new StringBuilder();
    boolean inWord = false;
    int i = 0;
    int n = line.length();
    while (i < n) {
      char c = line.charAt(i);
      if (c == ' ') {
        if (inWord) {
          words.add(w.toString());
          w.setLength(0);
          inWord = false;
        }
        i++;
      } else if (c == '\\') {
        if (i + 1 >= n) {
          throw new Refusal(RULE, ReasonCode.QUOTING, "the command line ends with a dangling backslash");
        }
        w.append(line.charAt(i + 1));
        inWord = true;
        i += 2;
      } else if (c == '\'') {
        int end = line.indexOf('\'', i + 1);
        if (end < 0) {
          throw new Refusal(RULE, ReasonCode.QUOTING, "unterminated single quote at position " + i);
        }
        w.append(line, i + 1, end);
        inWord = true;
        i = end + 1;
      } else if (c == '"') {
        int j = i + 1;
        while (true) {
          if (j >= n) {
            throw new Refusal(RULE, ReasonCode.QUOTING, "unterminated double quote at position " + i);
          }
          char d = line.charAt(j);
          if (d == '"') {
            break;
          }
          if (d == '\\' && j + 1 < n && "$`\"\\".indexOf(line.charAt(j + 1)) >= 0) {
            w.append(line.charAt(j + 1));
            j += 2;
          } else {
            w.append(d);
            j++;
          }
        }
        inWord = true;
        i = j + 1;
      } else {
        w.append(c);
        inWord = true;
        i++;
      }
      if (words.size() > MAX_WORDS) {
        throw new Refusal(RULE, ReasonCode.TOO_MANY_WORDS, "more than " + MAX_WORDS + " words");
      }
    }
    if (inWord) {
      words.add(w.toString());
    }
    return words;
  }

  private static void rawCharacters(String line) throws Refusal {
    for (int i = 0; i < line.length(); i++) {
      char c = line.charAt(i);
      if (c == '\n') {
        throw new Refusal(RULE, ReasonCode.WHITESPACE, "newline in the command line (a shell would run a second command)");
      }
      if (c != ' ' && isWhitespace(c)) {
        throw new Refusal(RULE, ReasonCode.WHITESPACE, "whitespace character " + Text.codePoint(c)
            + " in the command line; only single spaces separate words");
      }
      if (c == 0) {
        throw new Refusal(RULE, ReasonCode.CONTROL_CHARACTER, "NUL character in the command line");
      }
      if (c < 0x20 || c == 0x7f || c >= 0x80 && c <= 0x9f) {
        throw new Refusal(RULE, ReasonCode.CONTROL_CHARACTER, "control character " + Text.codePoint(c)
            + " in the command line");
      }
    }
  }

  /** Whitespace of any kind: Java whitespace, Unicode space/line/paragraph separators (incl. NBSP), NEL. */
  static boolean isWhitespace(int cp) {
    return Character.isWhitespace(cp) || Character.isSpaceChar(cp) || cp == 0x85;
  }

  /** Checks argv (from a command line or given directly); returns the program name without its directory. */
  static String check(List<String> argv) throws Refusal {
    if (argv.isEmpty() || argv.get(0).isEmpty()) {
      throw new Refusal(RULE, ReasonCode.EMPTY_COMMAND, "empty command");
    }
    if (argv.size() > MAX_WORDS) {
      throw new Refusal(RULE, ReasonCode.TOO_MANY_WORDS, "more than " + MAX_WORDS + " words");
    }
    String cmd = argv.get(0);
    if (ASSIGNMENT.matcher(cmd).matches()) {
      throw new Refusal(RULE, ReasonCode.ENV_ASSIGNMENT, "leading environment assignment " + Text.quote(cmd) + " is refused");
    }
    for (int i = 0; i < argv.size(); i++) {
      word(argv.get(i), i);
    }
    for (int k = 0; k < cmd.length(); k++) {
      if (cmd.charAt(k) > 0x7e) {
        throw new Refusal(RULE, ReasonCode.COMMAND_NAME, "non-ASCII character " + Text.codePoint(cmd.codePointAt(k))
            + " in the command name " + Text.quote(cmd) + " (look-alike characters are refused)");
      }
    }
    String name = cmd;
    int slash = cmd.lastIndexOf('/');
    if (slash >= 0) {
      String dir = cmd.substring(0, slash);
      name = cmd.substring(slash + 1);
      if (!BIN_DIRS.contains(dir)) {
        throw new Refusal(RULE, ReasonCode.COMMAND_PATH, "command path " + Text.quote(cmd)
            + " is refused: only a bare name or exactly /bin, /usr/bin, /usr/local/bin, /sbin or /usr/sbin followed by the name");
      }
    }
    if (!PolicyReader.COMMAND.matcher(name).matches()) {
      throw new Refusal(RULE, ReasonCode.COMMAND_NAME, "malformed command name " + Text.quote(cmd));
    }
    return name;
  }

  private static void word(String w, int index) throws Refusal {
    String where = index == 0 ? "the command name" : "argument " + index;
    if (w.startsWith("=")) {
      throw new Refusal(RULE, ReasonCode.SHELL_METACHARACTER, where
          + " starts with '=' (zsh expands =name to a program path)");
    }
    for (int i = 0; i < w.length(); ) {
      int cp = w.codePointAt(i);
      if (isWhitespace(cp)) {
        throw new Refusal(RULE, ReasonCode.WHITESPACE, (cp == '\n' ? "newline" : cp == ' ' ? "space"
            : "whitespace character " + Text.codePoint(cp)) + " inside " + where + " " + Text.quote(w)
            + "; a word must not contain whitespace, because a shell would split it");
      }
      if (cp < 0x80) {
        if (cp < 0x20 || cp == 0x7f) {
          throw new Refusal(RULE, ReasonCode.CONTROL_CHARACTER, (cp == 0 ? "NUL" : "control character "
              + Text.codePoint(cp)) + " in " + where);
        }
        if (META.indexOf(cp) >= 0) {
          throw new Refusal(RULE, ReasonCode.SHELL_METACHARACTER, "shell metacharacter " + NAMES.get((char) cp)
              + " in " + where + " " + Text.quote(w));
        }
      } else {
        int type = Character.getType(cp);
        if (Character.isISOControl(cp)) {
          throw new Refusal(RULE, ReasonCode.CONTROL_CHARACTER, "control character " + Text.codePoint(cp) + " in "
              + where + " " + Text.quote(w));
        }
        if (type == Character.FORMAT || type == Character.UNASSIGNED || type == Character.SURROGATE
            || type == Character.PRIVATE_USE || cp == 0xFFFD) {
          throw new Refusal(RULE, ReasonCode.INVISIBLE_CHARACTER, "invisible, unassigned or confusable character "
              + Text.codePoint(cp) + " in " + where + " " + Text.quote(w));
        }
      }
      i += Character.charCount(cp);
    }
  }
}
