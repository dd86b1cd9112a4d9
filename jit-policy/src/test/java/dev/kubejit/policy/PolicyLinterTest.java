package dev.kubejit.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class PolicyLinterTest {
  private static final String JSON = Fixtures.text("policies/payments-oncall.json");

  private static List<String> codes(String text, Set<String> users) {
    return PolicyLinter.lint(Fixtures.parse(text, PolicyFormat.JSON), users).stream()
        .map(PolicyLinter.Warning::code).collect(Collectors.toList());
  }

  @Test
  void theExampleIsClean() {
    for (PolicyFormat f : PolicyFormat.values()) {
      assertEquals(List.of(), PolicyLinter.lint(Fixtures.example(f)), f.toString());
    }
  }

  @Test
  void eachRiskyChoiceIsWarnedAboutWithItsLocation() {
    String risky = JSON
        .replace("\"requesters\": [\"oncall-payments\"]", "\"requesters\": [\"oncall-payments\", \"alice@example.com\"]")
        .replace("\"maxDuration\": \"PT1H\"", "\"maxDuration\": \"PT9H\"")
        .replace("\"exec\": {\"approval\": \"manual\", \"approvers\": [\"sre-leads\"], \"minApprovals\": 1}",
            "\"exec\": {\"approval\": \"auto\"}")
        .replace("\"namespaces\": [\"payments\", \"payments-*\"]", "\"namespaces\": [\"payments\", \"*\"]")
        .replace("\"portforward\": {\"approval\": \"manual\", \"approvers\": [\"sre-leads\"], \"minApprovals\": 2}",
            "\"portforward\": {\"approval\": \"manual\", \"approvers\": [\"bob\"]}, \"debug\": {\"approval\": \"manual\"}")
        .replace("{\"id\": \"processes\", \"command\": \"ps\"",
            "{\"id\": \"py\", \"command\": \"python3\"}, {\"id\": \"f\", \"command\": \"find\", \"flags\": [\"-exec\"]}, "
                + "{\"id\": \"processes\", \"command\": \"ps\"");
    List<PolicyLinter.Warning> warnings = PolicyLinter.lint(Fixtures.parse(risky, PolicyFormat.JSON), Set.of("bob"));
    List<String> codes = warnings.stream().map(PolicyLinter.Warning::code).collect(Collectors.toList());
    assertEquals(List.of("user-as-group", "long-max-duration", "wildcard-namespace", "exec-auto-approved",
        "user-as-group", "manual-without-approvers", "runner-allowed", "runner-allowed", "option-runs-programs"),
        codes, warnings.toString());
    PolicyLinter.Warning first = warnings.get(0);
    assertEquals("/roles/0/requesters/1", first.path());
    assertEquals(8, first.line());
    assertTrue(first.message().contains("alice@example.com"), first.message());
  }

  @Test
  void breakGlassMayUseWildcardsAndAutoExec() {
    assertEquals(List.of(), codes(JSON, Set.of()));
    String notBreakGlass = JSON.replace("\"breakGlass\": true,", "");
    assertEquals(List.of("wildcard-namespace", "exec-auto-approved"), codes(notBreakGlass, Set.of()));
  }

  @Test
  void commandRulesWithoutExecAreFlagged() {
    String noExec = JSON.replace("\"exec\": {\"approval\": \"manual\", \"approvers\": [\"sre-leads\"], \"minApprovals\": 1},", "");
    assertEquals(List.of("commands-without-exec"), codes(noExec, Set.of()));
  }

  private static final String HEAD = "apiVersion: kubejit.dev/v1\nkind: AccessPolicy\nmetadata: {name: r}\nroles:\n"
      + "  - name: r\n    requesters: [g]\n    namespaces: [n]\n    defaultDuration: PT5M\n    maxDuration: PT5M\n"
      + "    justification: {required: false}\n    actions: {exec: {approval: manual, approvers: [a]}}\n"
      + "    commands:\n      allow:\n        - ";

  static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> dangerousRules() {
    return java.util.stream.Stream.of(
        // rules that let a program run another program
        args("{id: x, command: rg, flagsWithValue: {--pre: {type: any, argument: required}}, operands: [any, path+], patternOptions: [], paths: [/var/log/]}", "option-runs-programs", "ERROR", "flagsWithValue"),
        args("{id: x, command: tcpdump, flagsWithValue: {-z: {type: any, argument: required}}}", "option-runs-programs", "ERROR", "flagsWithValue"),
        args("{id: x, command: find, flags: [-exec], operands: [any+]}", "option-runs-programs", "ERROR", "flags"),
        args("{id: x, command: find, flags: [-execdir], operands: [any+]}", "option-runs-programs", "ERROR", "flags"),
        args("{id: x, command: fd, flagsWithValue: {--exec: {type: any, argument: required}}}", "option-runs-programs", "ERROR", "flagsWithValue"),
        args("{id: x, command: xargs, operands: [any+]}", "runner-allowed", "ERROR", "command"),
        args("{id: x, command: env}", "runner-allowed", "ERROR", "command"),
        args("{id: x, command: awk, operands: [any, path+], patternOptions: [], paths: [/var/log/]}", "runner-allowed", "ERROR", "command"),
        args("{id: x, command: sed, flags: [-n], operands: [any, path+], patternOptions: [], paths: [/var/log/]}", "runner-allowed", "ERROR", "command"),
        args("{id: x, command: less, operands: [path+], paths: [/var/log/]}", "runner-allowed", "ERROR", "command"),
        args("{id: x, command: vi, operands: [path+], paths: [/var/log/]}", "runner-allowed", "ERROR", "command"),
        args("{id: x, command: tar, flagsWithValue: {--to-command: {type: any, argument: required}}}", "option-runs-programs", "ERROR", "flagsWithValue"),
        args("{id: x, command: tar, flagsWithValue: {--to: {type: any, argument: required}}}", "option-abbreviates-hazard", "ERROR", "flagsWithValue"),
        args("{id: x, command: rg, flags: [--pr], operands: [any, path+], patternOptions: [], paths: [/var/log/]}", "option-abbreviates-hazard", "ERROR", "flags"),
        args("{id: x, command: ssh, flagsWithValue: {-o: {type: any, argument: required}}, operands: [any]}", "option-runs-programs", "ERROR", "flagsWithValue"),
        args("{id: x, command: sort, flagsWithValue: {--compress-program: {type: any, argument: required}}, operands: [path+], paths: [/var/log/]}", "option-runs-programs", "ERROR", "flagsWithValue"),
        args("{id: x, command: anything, flagsWithValue: {--exec: {type: any, argument: required}}}", "option-runs-programs", "ERROR", "flagsWithValue"),
        // rules that read a list of patterns or files from a file
        args("{id: x, command: grep, flagsWithValue: {-f: {type: path, argument: required}}, operands: [any, path+], patternOptions: [-f], paths: [/var/log/]}", "option-reads-file-list", "WARNING", "flagsWithValue"),
        args("{id: x, command: zgrep, flagsWithValue: {--file: {type: path, argument: required}}, operands: [any, path+], patternOptions: [--file], paths: [/var/log/]}", "option-reads-file-list", "WARNING", "flagsWithValue"),
        args("{id: x, command: grep, flagsWithValue: {--exclude-from: {type: path, argument: required}}, operands: [any, path+], patternOptions: [], paths: [/var/log/]}", "option-reads-file-list", "WARNING", "flagsWithValue"),
        args("{id: x, command: rsync, flagsWithValue: {--files-from: {type: path, argument: required}}, paths: [/var/log/]}", "option-reads-file-list", "WARNING", "flagsWithValue"),
        args("{id: x, command: tar, flagsWithValue: {-T: {type: path, argument: required}}, paths: [/var/log/]}", "option-reads-file-list", "WARNING", "flagsWithValue"),
        args("{id: x, command: du, flagsWithValue: {--files0-from: {type: path, argument: required}}, paths: [/var/log/]}", "option-reads-file-list", "WARNING", "flagsWithValue"),
        // rules that copy or write files
        args("{id: x, command: cp, operands: [path, path], paths: [/var/log/]}", "writes-files", "WARNING", "command"),
        args("{id: x, command: mv, operands: [path, path], paths: [/var/log/]}", "writes-files", "WARNING", "command"),
        args("{id: x, command: dd, operands: [any+]}", "writes-files", "WARNING", "command"),
        args("{id: x, command: tee, operands: [path+], paths: [/var/log/]}", "writes-files", "WARNING", "command"),
        args("{id: x, command: install, operands: [path, path], paths: [/var/log/]}", "runner-allowed", "ERROR", "command"),
        args("{id: x, command: sort, flagsWithValue: {-o: {type: path, argument: required}}, operands: [path+], paths: [/var/log/]}", "option-writes-files", "WARNING", "flagsWithValue"),
        args("{id: x, command: curl, flagsWithValue: {-o: {type: path, argument: required}}, operands: [any], paths: [/tmp/]}", "option-writes-files", "WARNING", "flagsWithValue"),
        args("{id: x, command: mytool, flagsWithValue: {-o: {type: path, argument: required}}, paths: [/var/log/]}", "option-writes-files", "WARNING", "flagsWithValue"),
        args("{id: x, command: mytool, flagsWithValue: {--output: {type: path, argument: required}}, paths: [/var/log/]}", "option-writes-files", "WARNING", "flagsWithValue"),
        // rules that allow the whole filesystem or sensitive prefixes
        args("{id: x, command: cat, operands: [path+], paths: [/]}", "whole-filesystem", "ERROR", "paths/0"),
        args("{id: x, command: cat, operands: [path+], paths: [/var/log/, /proc/]}", "sensitive-path", "ERROR", "paths/1"),
        args("{id: x, command: cat, operands: [path+], paths: [/proc/1/]}", "sensitive-path", "ERROR", "paths/0"),
        args("{id: x, command: cat, operands: [path+], paths: [/var/run/secrets/kubernetes.io/]}", "sensitive-path", "ERROR", "paths/0"),
        args("{id: x, command: cat, operands: [path+], paths: [/var/]}", "sensitive-path", "ERROR", "paths/0"),
        args("{id: x, command: cat, operands: [path+], paths: [/run]}", "sensitive-path", "ERROR", "paths/0"),
        args("{id: x, command: cat, operands: [path+], paths: [/etc/]}", "sensitive-path", "ERROR", "paths/0"),
        args("{id: x, command: cat, operands: [path+], paths: [/etc/nginx/]}", "sensitive-path", "WARNING", "paths/0"),
        args("{id: x, command: cat, operands: [path+], paths: [/root/]}", "sensitive-path", "WARNING", "paths/0"),
        args("{id: x, command: cat, operands: [path+], paths: [/home]}", "sensitive-path", "WARNING", "paths/0"),
        // a pattern operand without patternOptions
        args("{id: x, command: xzgrep, flagsWithValue: {-e: {type: any, argument: required}}, operands: [any, path+], paths: [/var/log/]}", "operands-ambiguous", "WARNING", "operands"),
        // an option whose kind is not declared
        args("{id: x, command: tail, flagsWithValue: {-n: number}, operands: [path+], paths: [/var/log/]}", "option-kind-undeclared", "WARNING", "flagsWithValue"));
  }

  private static org.junit.jupiter.params.provider.Arguments args(String rule, String code, String severity, String field) {
    return org.junit.jupiter.params.provider.Arguments.of(rule, code, severity, field);
  }

  @org.junit.jupiter.params.ParameterizedTest(name = "{1} {2}: {0}")
  @org.junit.jupiter.params.provider.MethodSource("dangerousRules")
  void dangerousRulesAreReportedWithRuleIdAndReason(String rule, String code, String severity, String field) {
    List<PolicyLinter.Warning> found = PolicyLinter.lint(Fixtures.parse(HEAD + rule + "\n", PolicyFormat.YAML));
    PolicyLinter.Warning w = found.stream().filter(x -> x.code().equals(code)).findFirst()
        .orElseThrow(() -> new AssertionError("no " + code + " for " + rule + ": " + found));
    assertEquals(PolicyLinter.Severity.valueOf(severity), w.severity(), w.toString());
    assertEquals("/roles/0/commands/allow/0/" + field, w.path(), w.toString());
    assertTrue(w.message().startsWith("rule x "), w.message());
    assertTrue(w.line() > 0, w.toString());
    assertTrue(w.toString().contains((severity.equals("ERROR") ? "error[" : "warning[") + code + "]"), w.toString());
  }

  @Test
  void harmlessLookalikesAreNotReported() {
    for (String rule : List.of(
        "{id: x, command: ps, flagsWithValue: {-o: {type: any, argument: required}}}",
        "{id: x, command: ls, flags: [-o], operands: [path+], paths: [/var/log/]}",
        "{id: x, command: df, flagsWithValue: {--output: {type: any, argument: optional}}}",
        "{id: x, command: cat, operands: [path+], paths: [/var/log/, /app/, /usr/share/doc/, /etcetera/]}",
        "{id: x, command: grep, flags: [-r], flagsWithValue: {-e: {type: any, argument: required}}, operands: [any, path+], "
            + "patternOptions: [-e], paths: [/var/log/]}")) {
      assertEquals(List.of(), PolicyLinter.lint(Fixtures.parse(HEAD + rule + "\n", PolicyFormat.YAML)), rule);
    }
  }

  @Test
  void sedAndAwkFindingsSayHowTheyRunCommands() {
    List<PolicyLinter.Warning> sed = PolicyLinter.lint(Fixtures.parse(HEAD
        + "{id: x, command: sed, operands: [any, path+], patternOptions: [], paths: [/var/log/]}\n", PolicyFormat.YAML));
    assertTrue(sed.get(0).message().contains("s///"), sed.toString());
  }
}
