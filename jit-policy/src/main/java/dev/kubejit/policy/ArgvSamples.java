package dev.kubejit.policy;

import dev.kubejit.policy.Model.ArgKind;
import dev.kubejit.policy.Model.ArgType;
import dev.kubejit.policy.Model.CommandRule;
import dev.kubejit.policy.Model.Operand;
import dev.kubejit.policy.Model.ValueOption;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Generates command lines from a command rule that probe its edges: each allowed path and a file
 * below it, a sibling and the parent of each allowed directory, a sensitive file, every declared
 * option in each of its forms, no operand and one operand too many. Used by {@link PolicyDiff} to
 * find a concrete argv whose outcome differs between two policies.
 */
final class ArgvSamples {
  static final String FILE = "kubejit-sample.log";

  private ArgvSamples() {}

  static Set<List<String>> of(CommandRule r) {
    Set<List<String>> out = new LinkedHashSet<>();
    List<String> inside = new ArrayList<>();
    List<String> outside = new ArrayList<>();
    for (String p : r.paths()) {
      String dir = p.endsWith("/") ? p : p + "/";
      String bare = dir.length() > 1 ? dir.substring(0, dir.length() - 1) : dir;
      inside.add(dir + FILE);
      inside.add(bare);
      if (bare.length() > 1) {
        outside.add(bare + "x/" + FILE);
        outside.add(bare.substring(0, bare.lastIndexOf('/') + 1) + FILE);
      }
    }
    if (inside.isEmpty()) {
      inside.add("/var/log/" + FILE);
    }
    outside.add("/etc/passwd");
    String first = inside.get(0);
    for (String path : inside) {
      out.add(argv(r, List.of(), path, 0));
    }
    for (String path : outside) {
      out.add(argv(r, List.of(), path, 0));
    }
    for (String flag : r.flags()) {
      out.add(argv(r, List.of(flag), first, 0));
    }
    if (!r.flags().isEmpty()) {
      out.add(argv(r, r.flags().stream().filter(f -> f.startsWith("-")).toList(), first, 0));
    }
    for (Map.Entry<String, ValueOption> e : r.flagsWithValue().entrySet()) {
      String opt = e.getKey();
      String value = value(e.getValue().type(), first);
      boolean isLong = opt.startsWith("--");
      String attached = isLong ? opt + "=" + value : opt + value;
      out.add(argv(r, List.of(attached), first, 0));
      out.add(argv(r, List.of(opt, value), first, 0));
      if (e.getValue().kind() != ArgKind.REQUIRED) {
        out.add(argv(r, List.of(opt), first, 0));
      }
      if (e.getValue().type() != ArgType.ANY) {
        out.add(argv(r, List.of(isLong ? opt + "=x" : opt + "x"), first, 0));
      }
    }
    out.add(List.of(r.command()));
    out.add(argv(r, List.of(), first, 1));
    out.add(argv(r, List.of("--kubejit-undeclared"), first, 0));
    return out;
  }

  private static String value(ArgType type, String path) {
    switch (type) {
      case NUMBER:
        return "5";
      case PATH:
        return path;
      default:
        return "error";
    }
  }

  /** The rule's command, then {@code options}, then one word per operand (+ {@code extra} more). */
  private static List<String> argv(CommandRule r, List<String> options, String path, int extra) {
    List<String> argv = new ArrayList<>();
    argv.add(r.command());
    argv.addAll(options);
    List<Operand> ops = r.operands();
    for (Operand o : ops) {
      argv.add(value(o.type(), path));
    }
    for (int i = 0; i < extra; i++) {
      argv.add(ops.isEmpty() ? path : value(ops.get(ops.size() - 1).type(), path));
    }
    return List.copyOf(argv);
  }

  /** A name that {@code glob} matches, for probing whether another list of globs admits it. */
  static String sampleName(String glob) {
    return glob.replace("*", "kubejit-x");
  }
}
