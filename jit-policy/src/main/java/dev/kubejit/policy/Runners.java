package dev.kubejit.policy;

import java.util.HashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Programs that run other programs or code: shells, wrappers, privilege changers, interpreters,
 * editors and pagers with shell escapes, and tools with command-running options. The engine
 * refuses them unless a rule names them (then the rule's flags and operands apply as usual), and
 * the linter warns about every rule that does.
 */
final class Runners {
  private static final String OPTIONS_KIND = "a tool with options that run commands (find -exec, ...)";
  private static final Map<String, String> KIND = new HashMap<>();
  private static final Pattern VERSIONED = Pattern.compile(
      "(python|pypy|perl|ruby|php|node|lua|luajit|tclsh|wish|java|pip)[0-9][0-9.]*");

  static {
    put("a shell", "sh", "bash", "dash", "zsh", "ksh", "mksh", "pdksh", "csh", "tcsh", "fish", "ash", "rbash",
        "yash", "elvish", "nu", "xonsh", "pwsh", "powershell", "rc", "es", "scsh");
    put("a program that runs other programs", "env", "xargs", "nohup", "timeout", "nice", "ionice", "stdbuf",
        "setsid", "busybox", "toybox", "exec", "eval", "command", "builtin", "time", "watch", "script", "flock",
        "parallel", "strace", "ltrace", "gdb", "valgrind", "unbuffer", "expect", "tmux", "screen", "chrt",
        "taskset", "numactl", "cgexec", "firejail", "systemd-run", "run-parts", "start-stop-daemon", "at",
        "batch", "crontab", "make", "ssh", "scp", "sftp", "rsync", "socat", "nc", "ncat", "netcat", "telnet",
        "kubectl", "docker", "crictl", "ctr", "nerdctl", "podman", "git", "tar", "zip", "unzip", "dpkg", "rpm",
        "apt", "apt-get", "yum", "dnf", "apk", "pip", "npm", "npx", "cpan", "gem", "xdg-open", "dbus-send",
        "install", "ld.so", "ld-linux.so.2", "ld-linux-x86-64.so.2");
    put("a privilege changer", "sudo", "su", "doas", "chroot", "unshare", "nsenter", "runuser", "setpriv",
        "capsh", "pkexec", "sg", "newgrp", "setarch");
    put("an interpreter", "python", "python2", "python3", "pypy", "pypy3", "perl", "ruby", "irb", "php", "node",
        "nodejs", "deno", "bun", "lua", "luajit", "tclsh", "wish", "awk", "gawk", "mawk", "nawk", "busybox-awk",
        "sed", "java", "jshell", "jrunscript", "groovy", "scala", "kotlin", "Rscript", "R", "julia", "erl", "escript",
        "elixir", "iex", "guile", "racket", "sbcl", "clisp", "ghci", "runghc", "osascript", "bc", "dc", "m4",
        "gcc", "cc", "clang", "tcc", "jq", "yq", "openssl");
    put("an editor or pager with shell escapes", "vi", "vim", "nvim", "view", "vimdiff", "rvim", "ex", "ed",
        "red", "emacs", "nano", "pico", "joe", "mcedit", "less", "more", "most", "pg", "man", "info", "pager",
        "sensible-pager", "sensible-editor", "editor", "mail", "mutt", "ftp", "lftp", "gdb-multiarch", "psql",
        "mysql", "mariadb", "sqlite3", "journalctl", "systemctl");
    put(OPTIONS_KIND, "find", "fd", "locate");
  }

  private static final Map<String, String> NOTES = Map.ofEntries(
      Map.entry("sed", "its e command and the e flag of s/// run shell commands; w writes files"),
      Map.entry("awk", "system(), print | \"cmd\" and getline from a command run shell commands"),
      Map.entry("gawk", "system(), print | \"cmd\" and getline from a command run shell commands"),
      Map.entry("mawk", "system(), print | \"cmd\" and getline from a command run shell commands"),
      Map.entry("less", "!cmd and v (editor) run shell commands"),
      Map.entry("more", "!cmd runs shell commands"),
      Map.entry("vi", ":!cmd runs shell commands"),
      Map.entry("vim", ":!cmd runs shell commands"),
      Map.entry("man", "its pager runs shell commands"),
      Map.entry("env", "it runs its operands as a program and prints the environment (secrets)"),
      Map.entry("xargs", "it runs its operands as a program with arguments read from standard input"),
      Map.entry("ssh", "ProxyCommand, LocalCommand and remote commands run programs"),
      Map.entry("tar", "--to-command, -I and --checkpoint-action run programs"));

  private Runners() {}

  /** A concrete note on how {@code name} runs other programs, or null. */
  static String note(String name) {
    return NOTES.get(name);
  }

  private static void put(String kind, String... names) {
    for (String n : names) {
      KIND.put(n, kind);
    }
  }

  /** What kind of program-runner {@code name} is, or null if it is not one. */
  static String kind(String name) {
    String k = KIND.get(name);
    if (k == null && VERSIONED.matcher(name).matches()) {
      return "an interpreter";
    }
    return k;
  }

  /**
   * Whether naming {@code name} in a rule is a lint error: it can run anything whatever its
   * arguments (shells, wrappers, interpreters, editors and pagers). A tool that runs commands only
   * through some options (find) is a warning; its options are checked one by one.
   */
  static boolean isError(String name) {
    String k = kind(name);
    return k != null && !k.equals(OPTIONS_KIND);
  }
}
