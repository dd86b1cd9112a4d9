package dev.kubejit.policy;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the linter knows about dangerous programs, options and paths, as data.
 *
 * <p>Design notes: three tables. Programs that write or delete files (program-level; programs
 * that run other programs are {@link Runners}). Options, per program and generic (long options
 * whose name says what they do, for any program): options that make a program run another
 * program, read a list of patterns or file names from a file, or write files. Path prefixes that
 * expose secrets or the whole filesystem. Each entry carries the reason printed to the reviewer and
 * whether it is an error (the program can run anything, or the path reaches credentials or every
 * file) or a warning. The linter adds structural checks on top (a declared long option that
 * getopt_long would read as an abbreviation of a dangerous one, ancestors of sensitive paths).
 */
final class Hazards {
  enum Kind {
    RUNS_PROGRAMS("option-runs-programs"),
    READS_FILE_LIST("option-reads-file-list"),
    WRITES_FILES("option-writes-files");

    final String lintCode;

    Kind(String lintCode) {
      this.lintCode = lintCode;
    }
  }

  /** One known hazard: its kind, whether it is an error, and why. */
  record Hazard(Kind kind, boolean error, String why) {}

  /** A sensitive path prefix: whether reaching it is an error, and why. */
  record Sensitive(String prefix, boolean error, String why) {}

  private static final Map<String, String> WRITERS = new HashMap<>();
  private static final Map<String, Map<String, Hazard>> OPTIONS = new HashMap<>();
  private static final Map<String, Hazard> GENERIC = new LinkedHashMap<>();
  /** Programs whose -o / --output selects columns or a format, not a file. */
  private static final Set<String> OUTPUT_IS_FORMAT = Set.of("ps", "pgrep", "pkill", "df", "lsblk", "findmnt",
      "journalctl", "kubectl", "blkid", "iostat", "mount", "top", "ls", "ss", "netstat", "lsof", "free", "column");

  static final List<Sensitive> SENSITIVE = List.of(
      new Sensitive("/proc", true, "reaches every file through /proc/<pid>/root and every process's environment"),
      new Sensitive("/var/run/secrets", true, "holds the pod's service-account token"),
      new Sensitive("/run/secrets", true, "holds the pod's service-account token and mounted secrets"),
      new Sensitive("/var/lib/kubelet", true, "holds every pod's mounted secrets and tokens"),
      new Sensitive("/etc/kubernetes", true, "holds cluster credentials"),
      new Sensitive("/var/lib/etcd", true, "holds the cluster's data, secrets included"),
      new Sensitive("/dev", true, "exposes raw devices and memory"),
      new Sensitive("/etc", false, "holds password hashes, keys and configuration secrets"),
      new Sensitive("/root", false, "is root's home directory (keys, shell history)"),
      new Sensitive("/home", false, "holds users' keys and shell history"),
      new Sensitive("/sys", false, "exposes kernel and device state"),
      new Sensitive("/boot", false, "holds the kernel and boot configuration"),
      new Sensitive("/var/lib/docker", false, "holds container file systems and configuration"),
      new Sensitive("/var/lib/containerd", false, "holds container file systems"));

  static {
    writers("writes, moves or deletes files", "cp", "mv", "dd", "tee", "ln", "link", "rm", "unlink", "rmdir",
        "mkdir", "mkfifo", "mknod", "touch", "truncate", "shred", "split", "csplit", "chmod", "chown", "chgrp",
        "chattr", "setfacl", "patch", "gzip", "gunzip", "bzip2", "bunzip2", "xz", "unxz", "zstd", "unzstd",
        "lz4", "uniq", "sponge", "cpio", "ar", "wget", "logrotate", "sync", "fallocate", "mktemp");

    String pattern = "reads its patterns from a file, so the file's content is echoed back in matches and errors";
    for (String g : List.of("grep", "egrep", "fgrep", "zgrep", "zegrep", "zfgrep", "xzgrep", "xzegrep",
        "xzfgrep", "bzgrep", "lzgrep", "zstdgrep", "pcregrep", "pcre2grep", "ag", "ack")) {
      option(g, Kind.READS_FILE_LIST, false, pattern, "-f", "--file");
      option(g, Kind.READS_FILE_LIST, false, "reads file-name patterns from a file", "--exclude-from");
    }
    option("rg", Kind.RUNS_PROGRAMS, true, "runs the given program on every file searched", "--pre");
    option("rg", Kind.READS_FILE_LIST, false, pattern, "-f", "--file");
    option("rg", Kind.READS_FILE_LIST, false, "reads ignore rules from a file", "--ignore-file");
    option("tcpdump", Kind.RUNS_PROGRAMS, true, "runs the given program on every saved capture file", "-z");
    option("tcpdump", Kind.WRITES_FILES, false, "writes capture files", "-w");
    option("tcpdump", Kind.READS_FILE_LIST, false, "reads its filter or a list of files from a file", "-F", "-V");
    option("find", Kind.RUNS_PROGRAMS, true, "runs a program for every file found", "-exec", "-execdir", "-ok",
        "-okdir");
    option("find", Kind.WRITES_FILES, false, "deletes or writes files", "-delete", "-fprint", "-fprint0", "-fprintf",
        "-fls");
    option("find", Kind.READS_FILE_LIST, false, "reads starting points from a file", "-files0-from");
    option("fd", Kind.RUNS_PROGRAMS, true, "runs a program for every file found", "-x", "--exec", "-X",
        "--exec-batch");
    option("tar", Kind.RUNS_PROGRAMS, true, "runs a program (to-command, compressor, checkpoint action, volume "
        + "script or remote shell)", "--to-command", "-I", "--use-compress-program", "--checkpoint-action", "-F",
        "--info-script", "--new-volume-script", "--rsh-command", "--rmt-command");
    option("tar", Kind.READS_FILE_LIST, false, "reads the names of files to archive or exclude from a file", "-T",
        "--files-from", "-X", "--exclude-from");
    option("tar", Kind.WRITES_FILES, false, "creates, extracts or changes archives and files", "-x", "--extract",
        "--get", "-c", "--create", "-r", "--append", "-u", "--update", "-A", "--catenate", "--delete");
    option("ssh", Kind.RUNS_PROGRAMS, true, "sets options such as ProxyCommand or LocalCommand, which run programs",
        "-o", "-F");
    option("ssh", Kind.WRITES_FILES, false, "writes a log file", "-E");
    option("scp", Kind.RUNS_PROGRAMS, true, "runs a program as ssh or sets ProxyCommand", "-S", "-o", "-F");
    option("sftp", Kind.RUNS_PROGRAMS, true, "runs a program as ssh or sets ProxyCommand", "-S", "-o", "-F");
    option("rsync", Kind.RUNS_PROGRAMS, true, "runs a program as the remote shell or remote rsync", "-e", "--rsh",
        "--rsync-path");
    option("rsync", Kind.READS_FILE_LIST, false, "reads file names or filter rules from a file", "--files-from",
        "--exclude-from", "--include-from");
    option("git", Kind.RUNS_PROGRAMS, true, "sets configuration such as core.pager or core.sshCommand, or a "
        + "program path", "-c", "--config-env", "--exec-path", "--upload-pack", "--receive-pack", "-p", "--paginate");
    option("xargs", Kind.READS_FILE_LIST, false, "reads arguments from a file", "-a", "--arg-file");
    option("sort", Kind.WRITES_FILES, false, "writes its output or temporary files", "-o", "-T",
        "--temporary-directory");
    option("sort", Kind.RUNS_PROGRAMS, true, "runs a compression program for temporary files", "--compress-program");
    option("sort", Kind.READS_FILE_LIST, false, "reads file names from a file", "--files0-from");
    option("du", Kind.READS_FILE_LIST, false, "reads file names or exclusion patterns from a file", "--files0-from",
        "-X", "--exclude-from");
    option("wc", Kind.READS_FILE_LIST, false, "reads file names from a file", "--files0-from");
    option("date", Kind.READS_FILE_LIST, false, "reads dates from a file and echoes lines it cannot parse", "-f",
        "--file");
    option("curl", Kind.WRITES_FILES, false, "writes files", "-o", "--output", "-O", "--remote-name", "-D",
        "--dump-header", "-c", "--cookie-jar", "--trace", "--trace-ascii", "--stderr");
    option("curl", Kind.READS_FILE_LIST, false, "reads options or uploads a file", "-K", "--config", "-T",
        "--upload-file");
    option("wget", Kind.READS_FILE_LIST, false, "reads URLs from a file", "-i", "--input-file");
    option("wget", Kind.RUNS_PROGRAMS, true, "runs a program to ask for passwords", "--use-askpass");
    option("man", Kind.RUNS_PROGRAMS, true, "runs the given pager or browser", "-P", "--pager", "-H", "--html");
    option("zip", Kind.RUNS_PROGRAMS, true, "runs the given unzip command", "-TT", "--unzip-command");
    option("nmap", Kind.RUNS_PROGRAMS, true, "runs NSE scripts", "--script");
    option("nmap", Kind.READS_FILE_LIST, false, "reads targets from a file", "-iL");
    option("nmap", Kind.WRITES_FILES, false, "writes output files", "-oN", "-oX", "-oG", "-oA", "-oS");
    option("strace", Kind.WRITES_FILES, false, "writes a trace file", "-o", "--output");
    option("sed", Kind.WRITES_FILES, false, "edits files in place", "-i", "--in-place");
    option("perl", Kind.WRITES_FILES, false, "edits files in place", "-i");
    option("journalctl", Kind.READS_FILE_LIST, false, "reads journal files from any directory", "-D",
        "--directory", "--file");

    generic(Kind.RUNS_PROGRAMS, true, "the option's name says it runs a program", "--exec", "--pre", "--to-command",
        "--use-compress-program", "--compress-program", "--checkpoint-action", "--info-script", "--new-volume-script",
        "--rsh", "--rsh-command", "--rsync-path", "--pager", "--editor", "--shell", "--command", "--proxy-command");
    generic(Kind.READS_FILE_LIST, false, "the option's name says it reads a list from a file", "--files-from",
        "--files0-from", "--exclude-from", "--include-from", "--from-file", "--arg-file", "--ignore-file",
        "--input-file");
    generic(Kind.WRITES_FILES, false, "the option's name says it writes a file", "--output", "--output-file",
        "--outfile", "--output-document", "--log-file", "--logfile", "-o");
  }

  private Hazards() {}

  private static void writers(String why, String... names) {
    for (String n : names) {
      WRITERS.put(n, why);
    }
  }

  private static void option(String program, Kind kind, boolean error, String why, String... names) {
    Map<String, Hazard> m = OPTIONS.computeIfAbsent(program, k -> new LinkedHashMap<>());
    for (String n : names) {
      m.put(n, new Hazard(kind, error, why));
    }
  }

  private static void generic(Kind kind, boolean error, String why, String... names) {
    for (String n : names) {
      GENERIC.put(n, new Hazard(kind, error, why));
    }
  }

  /** Why {@code program} writes files, or null. */
  static String writer(String program) {
    return WRITERS.get(program);
  }

  /**
   * The hazard of {@code option} for {@code program}, or null: the program's own table first, then
   * the generic names ({@code -o} only when it takes a value and the program's {@code -o} is not a
   * format selector).
   */
  static Hazard option(String program, String option, boolean takesValue) {
    Map<String, Hazard> own = OPTIONS.get(program);
    if (own != null && own.containsKey(option)) {
      return own.get(option);
    }
    if ((option.equals("-o") || option.equals("--output")) && OUTPUT_IS_FORMAT.contains(program)) {
      return null;
    }
    if (option.equals("-o") && !takesValue) {
      return null;
    }
    return GENERIC.get(option);
  }

  /**
   * The hazardous long options in {@code program}'s own table, for the abbreviation check (the
   * generic names are not used there: whether a prefix is an abbreviation depends on the program's
   * real option names, which only its own table records).
   */
  static Map<String, Hazard> longOptions(String program) {
    Map<String, Hazard> all = new LinkedHashMap<>();
    OPTIONS.getOrDefault(program, Map.of()).forEach((k, v) -> {
      if (k.startsWith("--")) {
        all.put(k, v);
      }
    });
    return all;
  }
}
