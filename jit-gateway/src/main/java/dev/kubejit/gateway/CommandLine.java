package dev.kubejit.gateway;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The gateway's command language, parsed from the text of an SSH {@code exec} request or one line
 * of line mode. Words are split on whitespace; single quotes keep everything literally, double
 * quotes and a backslash escape the next character, as in a POSIX shell but with no expansion of
 * any kind ({@code $}, backquotes, globs and redirections are plain characters; the argv reaches
 * the pod without a shell).
 *
 * <pre>
 * exec POD [-c CONTAINER] [-i] -- ARGV...
 * logs POD [-c CONTAINER] [--tail N] [--follow|-f]
 * help | exit
 * </pre>
 */
final class CommandLine {
  enum Kind { EXEC, LOGS, HELP, EXIT }

  static final String USAGE = String.join("\n",
      "usage:",
      "  exec POD [-c CONTAINER] [-i] -- ARGV...   run ARGV in the pod (no shell); -i forwards stdin",
      "  logs POD [-c CONTAINER] [--tail N] [--follow]",
      "  help | exit", "");
  static final int MAX_LENGTH = 16 * 1024;
  static final int MAX_TAIL = 100_000;

  final Kind kind;
  final String pod;
  final String container;
  final boolean stdin;
  final List<String> argv;
  final Integer tail;
  final boolean follow;

  private CommandLine(Kind kind, String pod, String container, boolean stdin, List<String> argv, Integer tail,
      boolean follow) {
    this.kind = kind;
    this.pod = pod;
    this.container = container;
    this.stdin = stdin;
    this.argv = argv == null ? List.of() : List.copyOf(argv);
    this.tail = tail;
    this.follow = follow;
  }

  Optional<String> container() {
    return Optional.ofNullable(container);
  }

  OptionalInt tail() {
    return tail == null ? OptionalInt.empty() : OptionalInt.of(tail);
  }

  /** Raised for text that is not a command of the language; the message is safe to show the user. */
  static final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
      super(message);
    }
  }

  static CommandLine parse(String text) throws UsageException {
    List<String> w = words(text);
    if (w.isEmpty()) {
      throw new UsageException("empty command");
    }
    switch (w.get(0)) {
      case "help":
        only(w, 1);
        return new CommandLine(Kind.HELP, null, null, false, null, null, false);
      case "exit":
      case "quit":
        only(w, 1);
        return new CommandLine(Kind.EXIT, null, null, false, null, null, false);
      case "exec":
        return exec(w);
      case "logs":
        return logs(w);
      default:
        throw new UsageException("unknown command " + Text.quote(w.get(0)) + "; the gateway runs exec and logs,"
            + " there is no shell");
    }
  }

  private static void only(List<String> w, int n) throws UsageException {
    if (w.size() != n) {
      throw new UsageException(Text.quote(w.get(0)) + " takes no arguments");
    }
  }

  private static CommandLine exec(List<String> w) throws UsageException {
    if (w.size() < 2 || w.get(1).startsWith("-")) {
      throw new UsageException("exec needs a pod name: exec POD [-c CONTAINER] [-i] -- ARGV...");
    }
    String pod = name(w.get(1), "pod");
    String container = null;
    boolean stdin = false;
    int i = 2;
    for (; i < w.size(); i++) {
      String a = w.get(i);
      if ("--".equals(a)) {
        break;
      } else if ("-c".equals(a) || "--container".equals(a)) {
        if (container != null || i + 1 >= w.size()) {
          throw new UsageException("-c takes one container name, once");
        }
        container = name(w.get(++i), "container");
      } else if ("-i".equals(a) || "--stdin".equals(a)) {
        stdin = true;
      } else {
        throw new UsageException("unexpected " + Text.quote(a) + " before --; write exec POD [-c CONTAINER] [-i] -- ARGV...");
      }
    }
    if (i >= w.size() - 1) {
      throw new UsageException("exec needs -- and the command to run: exec POD -- ARGV...");
    }
    return new CommandLine(Kind.EXEC, pod, container, stdin, w.subList(i + 1, w.size()), null, false);
  }

  private static CommandLine logs(List<String> w) throws UsageException {
    if (w.size() < 2 || w.get(1).startsWith("-")) {
      throw new UsageException("logs needs a pod name: logs POD [-c CONTAINER] [--tail N] [--follow]");
    }
    String pod = name(w.get(1), "pod");
    String container = null;
    Integer tail = null;
    boolean follow = false;
    for (int i = 2; i < w.size(); i++) {
      String a = w.get(i);
      if ("-c".equals(a) || "--container".equals(a)) {
        if (container != null || i + 1 >= w.size()) {
          throw new UsageException("-c takes one container name, once");
        }
        container = name(w.get(++i), "container");
      } else if ("--tail".equals(a)) {
        if (tail != null || i + 1 >= w.size()) {
          throw new UsageException("--tail takes one number, once");
        }
        String n = w.get(++i);
        if (!n.matches("[0-9]{1,6}") || Integer.parseInt(n) > MAX_TAIL) {
          throw new UsageException("--tail takes a number from 0 to " + MAX_TAIL + ", not " + Text.quote(n));
        }
        tail = Integer.parseInt(n);
      } else if ("--follow".equals(a) || "-f".equals(a)) {
        follow = true;
      } else {
        throw new UsageException("unexpected " + Text.quote(a) + "; write logs POD [-c CONTAINER] [--tail N] [--follow]");
      }
    }
    return new CommandLine(Kind.LOGS, pod, container, false, null, tail, follow);
  }

  /** Pod and container names are DNS labels / subdomains: checked here so nothing else reaches the API path. */
  private static String name(String s, String what) throws UsageException {
    if (s.length() > 253 || !s.matches("[a-z0-9]([-a-z0-9.]*[a-z0-9])?")) {
      throw new UsageException(what + " name " + Text.quote(s) + " is not a Kubernetes name");
    }
    return s;
  }

  static List<String> words(String text) throws UsageException {
    if (text == null) {
      throw new UsageException("empty command");
    }
    if (text.length() > MAX_LENGTH) {
      throw new UsageException("command longer than " + MAX_LENGTH + " characters");
    }
    List<String> out = new ArrayList<>();
    StringBuilder cur = null;
    int i = 0;
    int n = text.length();
    while (i < n) {
      char c = text.charAt(i);
      if (c == '\0' || (Character.isISOControl(c) && c != '\t' && c != '\n' && c != '\r')) {
        throw new UsageException("control character U+" + String.format("%04X", (int) c) + " in the command");
      }
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        if (cur != null) {
          out.add(cur.toString());
          cur = null;
        }
        i++;
        continue;
      }
      if (cur == null) {
        cur = new StringBuilder();
      }
      if (c == '\'') {
        int end = text.indexOf('\'', i + 1);
        if (end < 0) {
          throw new UsageException("unterminated single quote");
        }
        cur.append(text, i + 1, end);
        i = end + 1;
      } else if (c == '"') {
        i++;
        boolean closed = false;
        while (i < n) {
          char d = text.charAt(i);
          if (d == '"') {
            closed = true;
            i++;
            break;
          }
          if (d == '\\' && i + 1 < n) {
            d = text.charAt(++i);
          }
          cur.append(d);
          i++;
        }
        if (!closed) {
          throw new UsageException("unterminated double quote");
        }
      } else if (c == '\\') {
        if (i + 1 >= n) {
          throw new UsageException("backslash at the end of the command");
        }
        cur.append(text.charAt(i + 1));
        i += 2;
      } else {
        cur.append(c);
        i++;
      }
    }
    if (cur != null) {
      out.add(cur.toString());
    }
    return out;
  }
}
