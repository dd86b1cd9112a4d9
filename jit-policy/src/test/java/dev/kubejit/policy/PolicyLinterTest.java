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
        "user-as-group", "manual-without-approvers", "runner-allowed", "runner-allowed", "find-action-allowed"),
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
}
