package dev.kubejit.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The test-file runner, with the committed decision-table test file {@code policies/payments-oncall.tests.yaml}. */
class PolicyTestsTest {
  @ParameterizedTest
  @EnumSource(PolicyFormat.class)
  void theCommittedTestFilePassesAgainstEveryFormat(PolicyFormat f) {
    PolicyTests.Report report = PolicyTests.run(PolicyEngine.of(Fixtures.example(f)),
        Fixtures.resource("policies/payments-oncall.tests.yaml"), PolicyFormat.YAML, "payments-oncall.tests.yaml");
    assertTrue(report.allPassed(), report.results().toString());
    long inFile = Fixtures.text("policies/payments-oncall.tests.yaml").lines()
        .filter(l -> l.startsWith("  - name: ")).count();
    assertEquals(25, inFile, "the committed file has 25 cases; update this number when adding one");
    assertEquals(inFile, report.results().size(), "every case in the file is run exactly once");
    assertEquals(report.results().size(), report.passed());
  }

  @Test
  void aWrongReasonCodeFailsTheCase() {
    String text = Fixtures.text("policies/payments-oncall.tests.yaml")
        .replace("reasonCode: path-outside, reasonContains: outside", "reasonCode: path-relative, reasonContains: outside");
    PolicyTests.Report report = PolicyTests.run(PolicyEngine.of(Fixtures.example(PolicyFormat.JSON)),
        text.getBytes(StandardCharsets.UTF_8), PolicyFormat.YAML, "t.yaml");
    assertEquals(1, report.failed(), report.results().toString());
    PolicyTests.Result failed = report.results().stream().filter(r -> !r.passed()).findFirst().orElseThrow();
    assertEquals(List.of("expected reason code path-relative but got path-outside"), failed.mismatches());
  }

  @Test
  void commandCasesCheckTheRequesterWhenTheyNameOne() {
    PolicyEngine engine = PolicyEngine.of(Fixtures.example(PolicyFormat.JSON));
    String head = "apiVersion: kubejit.dev/v1\nkind: AccessPolicyTest\ncases:\n";
    PolicyTests.Report r = PolicyTests.run(engine, (head
        + "  - name: no groups\n    command: {role: oncall-debug, user: eve, line: cat /var/log/app.log}\n"
        + "    expect: {decision: allow}\n").getBytes(StandardCharsets.UTF_8), PolicyFormat.YAML, "t.yaml");
    assertEquals(List.of("expected allow but got deny ([not-requester] \"eve\" is not in any requester group of role "
        + "oncall-debug [oncall-payments], so cannot hold it)"), r.results().get(0).mismatches());
    PolicyException groupsWithoutUser = assertThrows(PolicyException.class, () -> PolicyTests.run(engine, (head
        + "  - name: x\n    command: {role: oncall-debug, groups: [a], line: ls}\n    expect: {decision: deny}\n")
        .getBytes(StandardCharsets.UTF_8), PolicyFormat.YAML, "t.yaml"));
    assertTrue(groupsWithoutUser.getMessage().contains("groups need a user"), groupsWithoutUser.getMessage());
    PolicyException unknownCode = assertThrows(PolicyException.class, () -> PolicyTests.run(engine, (head
        + "  - name: x\n    command: {role: oncall-debug, line: ls}\n    expect: {decision: deny, reasonCode: nope}\n")
        .getBytes(StandardCharsets.UTF_8), PolicyFormat.YAML, "t.yaml"));
    assertEquals(Optional.of("/cases/0/expect/reasonCode"), unknownCode.path());
  }

  @Test
  void aWrongExpectationFailsTheCaseWithAReadableMismatch() {
    String text = Fixtures.text("policies/payments-oncall.tests.yaml")
        .replaceFirst("decision: allow, rule: oncall-debug/logs", "decision: deny, rule: oncall-debug/logs");
    PolicyTests.Report report = PolicyTests.run(PolicyEngine.of(Fixtures.example(PolicyFormat.JSON)),
        text.getBytes(StandardCharsets.UTF_8), PolicyFormat.YAML, "t.yaml");
    assertEquals(1, report.failed());
    PolicyTests.Result failed = report.results().stream().filter(r -> !r.passed()).findFirst().orElseThrow();
    assertTrue(failed.mismatches().get(0).startsWith("expected deny but got allow"), failed.toString());
  }

  @Test
  void malformedTestFilesAreStrictErrors() {
    PolicyEngine engine = PolicyEngine.of(Fixtures.example(PolicyFormat.JSON));
    String head = "apiVersion: kubejit.dev/v1\nkind: AccessPolicyTest\ncases:\n";
    PolicyException unknown = assertThrows(PolicyException.class, () -> PolicyTests.run(engine,
        (head + "  - name: x\n    request: {user: a, role: r, action: logs, colour: red}\n    expect: {decision: deny}\n")
            .getBytes(StandardCharsets.UTF_8), PolicyFormat.YAML, "t.yaml"));
    assertEquals(Optional.of("/cases/0/request/colour"), unknown.path());
    assertThrows(PolicyException.class, () -> PolicyTests.run(engine,
        (head + "  - name: x\n    request: {user: a, role: r, action: logs, namespace: Bad_NS}\n    expect: {decision: deny}\n")
            .getBytes(StandardCharsets.UTF_8), PolicyFormat.YAML, "t.yaml"));
    assertThrows(PolicyException.class, () -> PolicyTests.run(engine,
        (head + "  - name: x\n    command: {role: r, line: ls}\n    expect: {decision: maybe}\n")
            .getBytes(StandardCharsets.UTF_8), PolicyFormat.YAML, "t.yaml"));
    assertThrows(PolicyException.class, () -> PolicyTests.run(engine,
        (head + "  - name: x\n    command: {role: r, line: ls}\n    request: {user: a, role: r, action: logs}\n"
            + "    expect: {decision: deny}\n").getBytes(StandardCharsets.UTF_8), PolicyFormat.YAML, "t.yaml"));
  }
}
