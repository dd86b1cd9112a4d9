package dev.kubejit.policy;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Recognises exec commands that keep a stream open for an unbounded time, for roles whose {@code
 * exec.longRunning} is {@code gateway-only}: Kubernetes checks an exec only when its stream opens,
 * so such a command started through the API server outlives the grant.
 *
 * <p>Design notes: the test errs on the side of refusing. Every program that runs other programs
 * or code (shells, interpreters, wrappers, editors and pagers: {@link Runners#isError}) can run for
 * any time; a few programs never end on their own ({@code sleep}, {@code watch}, {@code top}, …);
 * follow-style programs end only without their follow option ({@code tail -f}, {@code journalctl
 * -f}, {@code dmesg -w}); sampling tools end only with a count ({@code ping} without {@code -c},
 * {@code vmstat 1}). Short-option clusters are searched for the follow letter anywhere before an
 * option that takes a value, so {@code tail -fn100} and the obsolescent {@code tail -20f} count.
 */
final class LongRunning {
  private static final Set<String> ENDLESS = Set.of("sleep", "watch", "top", "htop", "atop", "btop", "iotop",
      "iftop", "nethogs", "yes", "tcpdump", "tshark", "dumpcap", "inotifywait", "nload", "bmon", "glances",
      "mtr", "multitail", "lnav", "stern");

  /** Follow options per program: long names (without dashes, also with =value) and short letters. */
  private static final Map<String, Follow> FOLLOW = Map.of(
      "tail", new Follow(Set.of("follow"), "fF", "cns"),
      "journalctl", new Follow(Set.of("follow"), "f", ""),
      "dmesg", new Follow(Set.of("follow", "follow-new"), "wW", ""),
      "free", new Follow(Set.of("seconds"), "s", ""));

  /** Sampling tools that run until stopped when given an interval operand. */
  private static final Set<String> INTERVAL = Set.of("vmstat", "iostat", "mpstat", "pidstat", "sar",
      "nfsiostat", "cifsiostat", "dstat", "ifstat");

  private record Follow(Set<String> longNames, String shortLetters, String valueLetters) {}

  private LongRunning() {}

  /**
   * Why {@code argv} (checked by {@link CommandSyntax}, program {@code name} without its directory)
   * may run without end, or null if it ends on its own.
   */
  static String why(String name, List<String> argv) {
    if (Runners.isError(name)) {
      return name + " is " + Runners.kind(name) + " and can run for any time";
    }
    if (ENDLESS.contains(name)) {
      return name + " runs until it is stopped";
    }
    Follow f = FOLLOW.get(name);
    if (f != null) {
      String opt = followOption(argv, f);
      return opt == null ? null : name + " " + opt + " follows its input until it is stopped";
    }
    if (INTERVAL.contains(name)) {
      for (String a : argv.subList(1, argv.size())) {
        if (!a.startsWith("-") && !a.isEmpty() && a.chars().allMatch(Character::isDigit)) {
          return name + " with an interval samples until it is stopped";
        }
      }
      return null;
    }
    if (name.equals("ping") || name.equals("ping6") || name.equals("arping")) {
      for (String a : argv.subList(1, argv.size())) {
        if (a.equals("--")) {
          break;
        }
        if (a.startsWith("-c") || a.startsWith("-w") || a.startsWith("--count") || a.startsWith("--deadline")) {
          return null;
        }
      }
      return name + " without -c or -w pings until it is stopped";
    }
    return null;
  }

  private static String followOption(List<String> argv, Follow f) {
    for (String a : argv.subList(1, argv.size())) {
      if (a.equals("--")) {
        return null;
      }
      if (a.startsWith("--")) {
        String n = a.substring(2);
        int eq = n.indexOf('=');
        if (f.longNames().contains(eq < 0 ? n : n.substring(0, eq))) {
          return a;
        }
      } else if ((a.startsWith("-") || a.startsWith("+")) && a.length() > 1) {
        for (int i = 1; i < a.length(); i++) {
          char c = a.charAt(i);
          if (f.shortLetters().indexOf(c) >= 0) {
            return a;
          }
          if (f.valueLetters().indexOf(c) >= 0) {
            break;
          }
        }
      }
    }
    return null;
  }
}
