package dev.kubejit.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Oracle test: the engine's reading of options and operands equals what the real GNU programs do.
 *
 * <p>The rules come from {@code corpus/getopt-policy.yaml}, whose option kinds were written from
 * the programs' {@code --help}. Each case runs the real program in an empty directory with operand
 * names that do not exist; the names the program complains about ("No such file or directory") are
 * exactly the words it took as files. The engine's parse of the same argv must name the same files
 * (for a grep-like rule: the operands after the pattern, or all of them when a pattern option was
 * used). Abbreviations: the real program accepts {@code --fol} as {@code --follow}; the engine
 * refuses it.
 */
class GnuGetoptOracleTest {
  private static final Map<String, Pattern> MISSING = Map.of(
      "ls", Pattern.compile("^(?:\\S*/)?ls: cannot access '(.+)': No such file or directory$"),
      "tail", Pattern.compile("^(?:\\S*/)?tail: cannot open '(.+)' for reading: No such file or directory$"),
      "grep", Pattern.compile("^(?:\\S*/)?grep: (.+): No such file or directory$"),
      "xzgrep", Pattern.compile("^(?:\\S*/)?xz: (.+): No such file or directory$"),
      "zgrep", Pattern.compile("^(?:\\S*/)?gzip: (.+)\\.gz: No such file or directory$"),
      "zegrep", Pattern.compile("^(?:\\S*/)?gzip: (.+)\\.gz: No such file or directory$"));

  private static final Policy POLICY = PolicyLoader.parse(Fixtures.resource("corpus/getopt-policy.yaml"),
      PolicyFormat.YAML, "getopt-policy.yaml", null);

  @TempDir Path dir;

  static Stream<Arguments> cases() {
    return Stream.of(
        Arguments.of(List.of("ls", "--color", "w1", "w2")),
        Arguments.of(List.of("ls", "w1", "--color", "w2")),
        Arguments.of(List.of("ls", "--color=never", "w1")),
        Arguments.of(List.of("ls", "-w", "80", "w1")),
        Arguments.of(List.of("ls", "-w80", "w1", "w2")),
        Arguments.of(List.of("ls", "--width", "80", "w1")),
        Arguments.of(List.of("ls", "--width=80", "--color", "w1")),
        Arguments.of(List.of("ls", "-l", "--", "--color", "w1")),
        Arguments.of(List.of("tail", "--follow", "w1", "w2")),
        Arguments.of(List.of("tail", "--follow=name", "w1")),
        Arguments.of(List.of("tail", "-n", "5", "w1")),
        Arguments.of(List.of("tail", "--lines", "5", "--follow", "w1", "w2")),
        Arguments.of(List.of("tail", "-n5", "w1")),
        Arguments.of(List.of("grep", "--color", "w1", "w2", "w3")),
        Arguments.of(List.of("grep", "--color=never", "w1", "w2")),
        Arguments.of(List.of("grep", "-e", "w1", "w2", "w3")),
        Arguments.of(List.of("grep", "-ew1", "w2")),
        Arguments.of(List.of("grep", "--regexp", "w1", "w2", "w3")),
        Arguments.of(List.of("grep", "--regexp=w1", "w2")),
        Arguments.of(List.of("grep", "-m", "5", "w1", "w2")),
        Arguments.of(List.of("grep", "-i", "w1", "w2", "-e", "w3")),
        Arguments.of(List.of("xzgrep", "-e", "w1", "w2", "w3")),
        Arguments.of(List.of("xzgrep", "w1", "w2", "w3")),
        Arguments.of(List.of("zgrep", "-e", "w1", "w2", "w3")),
        Arguments.of(List.of("zegrep", "-e", "w1", "w2")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void theEngineReadsTheSameFilesAsTheRealProgram(List<String> argv) throws Exception {
    Run real = run(argv);
    List<String> realFiles = new ArrayList<>(real.missing);
    CommandRuleMatcher m = matcher(argv.get(0));
    CommandRuleMatcher.Parsed parsed = m.parse(argv);
    List<String> ours = new ArrayList<>(parsed.operands());
    boolean patternOperand = m.rule.patternOptions() != null
        && parsed.options().stream().noneMatch(m.rule.patternOptions()::contains);
    if (patternOperand) {
      ours.remove(0);
    }
    assertEquals(realFiles, ours, argv + ": the real program tried to open " + realFiles + "; stderr:\n" + real.stderr);
  }

  static Stream<Arguments> abbreviations() {
    return Stream.of(
        Arguments.of(List.of("tail", "--fol", "w1", "w2"), List.of("w1", "w2")),
        Arguments.of(List.of("tail", "--fol=name", "w1"), List.of("w1")),
        Arguments.of(List.of("tail", "--li", "5", "w1"), List.of("w1")),
        Arguments.of(List.of("ls", "--colo", "w1", "w2"), List.of("w1", "w2")),
        Arguments.of(List.of("ls", "--wid", "80", "w1"), List.of("w1")),
        Arguments.of(List.of("grep", "--reg", "w1", "w2"), List.of("w2")),
        Arguments.of(List.of("grep", "--col", "w1", "w2"), List.of("w2")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("abbreviations")
  void abbreviationsTheRealProgramAcceptsAreRefused(List<String> argv, List<String> realFiles) throws Exception {
    Run real = run(argv);
    assertFalse(real.stderr.contains("unrecognized option") || real.stderr.contains("ambiguous"),
        argv + " should be a valid abbreviation for the real program: " + real.stderr);
    assertEquals(realFiles, real.missing, "what the real program read for " + argv + "; stderr:\n" + real.stderr);
    CommandRuleMatcher.ParseFailure f = assertThrows(CommandRuleMatcher.ParseFailure.class,
        () -> matcher(argv.get(0)).parse(argv));
    assertEquals(ReasonCode.OPTION_ABBREVIATED, f.mismatch.code(), f.getMessage());
  }

  private static CommandRuleMatcher matcher(String program) {
    List<CommandRuleMatcher> ms = new CompiledRole(POLICY.document().roles().get(0)).commandsByName.get(program);
    assertTrue(ms != null && ms.size() == 1, "one rule for " + program);
    return ms.get(0);
  }

  private static final class Run {
    final List<String> missing;
    final String stderr;

    Run(List<String> missing, String stderr) {
      this.missing = missing;
      this.stderr = stderr;
    }
  }

  private Run run(List<String> argv) throws IOException, InterruptedException {
    Path exe = Stream.of("/usr/bin/", "/bin/").map(d -> Path.of(d + argv.get(0))).filter(Files::isExecutable)
        .findFirst().orElse(null);
    Assumptions.assumeTrue(exe != null, argv.get(0) + " is not installed");
    List<String> cmd = new ArrayList<>(argv);
    cmd.set(0, exe.toString());
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
        .redirectOutput(dir.resolve("stdout").toFile()).redirectError(dir.resolve("stderr").toFile());
    pb.environment().keySet().removeIf(k -> !k.equals("PATH"));
    pb.environment().put("LC_ALL", "C");
    Process p = pb.start();
    if (!p.waitFor(20, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      p.waitFor(5, TimeUnit.SECONDS);
      fail(argv + " did not finish within 20 s; stderr:\n" + Files.readString(dir.resolve("stderr")));
    }
    String stderr = Files.readString(dir.resolve("stderr"), StandardCharsets.UTF_8);
    Set<String> missing = new LinkedHashSet<>();
    Pattern pattern = MISSING.get(argv.get(0));
    for (String line : stderr.split("\n")) {
      Matcher mm = pattern.matcher(line);
      if (mm.matches()) {
        missing.add(mm.group(1));
      }
    }
    try (Stream<Path> left = Files.list(dir)) {
      assertEquals(2, left.count(), "the program created no file in " + dir);
    }
    return new Run(List.copyOf(missing), stderr);
  }
}
