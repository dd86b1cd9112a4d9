package dev.kubejit.policy;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Programs that run other programs or code: shells, wrappers, privilege changers, interpreters,
 * editors and pagers with shell escapes, and tools with command-running options. The engine
 * refuses them unless a rule names them (then the rule's flags and operands apply as usual), and
 * the linter warns about every rule that does.
 */
final class Runners {
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
        "sensible-pager", "sensible-editor", "editor", "mail", "mutt", "ftp", "lftp", "gdb-multiarch");
    put("a tool with options that run commands (find -exec, ...)", "find", "fd", "locate");
  }

  private Runners() {}

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

  /** Flags of {@code find} that run or delete things, for the linter. */
  static final Set<String> FIND_ACTIONS = Set.of("-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint",
      "-fprint0", "-fprintf", "-fls");
}
