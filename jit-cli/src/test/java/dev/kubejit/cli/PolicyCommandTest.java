package dev.kubejit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class PolicyCommandTest {
  private static final String POLICY = String.join("\n",
      "apiVersion: kubejit.dev/v1",
      "kind: AccessPolicy",
      "metadata: {name: payments-oncall}",
      "roles:",
      "  - name: oncall-debug",
      "    requesters: [oncall-payments]",
      "    namespaces: [payments, \"payments-*\"]",
      "    defaultDuration: PT30M",
      "    maxDuration: PT1H",
      "    justification: {required: true, ticketPattern: '^(INC|CHG)-[0-9]+$'}",
      "    rbac: {template: oncall-debug}",
      "    actions:",
      "      logs: {approval: auto}",
      "      exec: {approval: manual, approvers: [sre-leads], minApprovals: 1}",
      "    commands:",
      "      allow:",
      "        - {id: read-logs, command: cat, operands: [path+], paths: [/var/log/, /app/logs/]}",
      "        - {id: search-logs, command: grep, flags: [-i], flagsWithValue: {-m: {type: number, argument: required}},",
      "           operands: [any, path+], patternOptions: [], paths: [/var/log/]}",
      "  - name: break-glass",
      "    requesters: [sre-leads]",
      "    namespaces: [\"*\"]",
      "    defaultDuration: PT15M",
      "    maxDuration: PT15M",
      "    breakGlass: true",
      "    justification: {required: true}",
      "    actions: {exec: {approval: auto}}",
      "");

  @TempDir Path dir;
  private Path policy;
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  @BeforeEach
  void writePolicy() throws IOException {
    policy = Files.writeString(dir.resolve("policy.yaml"), POLICY);
  }

  private int run(String... args) {
    CommandLine cli = Main.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    return cli.execute(args);
  }

  @Test
  void checkExitCodesAreZeroAllowTwoNeedsApprovalThreeDeny() {
    assertEquals(0, run("policy", "check", policy.toString(), "--role", "oncall-debug", "--user", "alice",
        "--group", "oncall-payments", "--action", "logs", "--namespace", "payments", "--duration", "30m",
        "--ticket", "INC-42"), err.toString());
    assertTrue(out.toString().startsWith("ALLOW [oncall-debug/logs]"), out.toString());
    assertEquals(2, run("policy", "check", policy.toString(), "--role", "oncall-debug", "--user", "alice",
        "--group", "oncall-payments", "--action", "exec", "--namespace", "payments-eu", "--duration", "2h",
        "--ticket", "INC-42"));
    assertTrue(out.toString().contains("1 of [sre-leads]"), out.toString());
    assertTrue(out.toString().contains("PT1H (clamped)"), out.toString());
    assertEquals(3, run("policy", "check", policy.toString(), "--role", "oncall-debug", "--user", "bob",
        "--group", "other", "--action", "logs", "--namespace", "payments", "--ticket", "INC-1"));
    assertTrue(out.toString().contains("DENY [oncall-debug/requesters]"), out.toString());
    assertEquals(3, run("policy", "check", policy.toString(), "--role", "oncall-debug", "--user", "alice",
        "--group", "oncall-payments", "--action", "logs", "--namespace", "payments", "--ticket", "JIRA-1"));
  }

  private int command(String line, String... who) {
    List<String> args = new ArrayList<>(List.of("policy", "check", policy.toString(), "--role", "oncall-debug"));
    args.addAll(List.of(who));
    args.addAll(List.of("--command", line));
    out.getBuffer().setLength(0);
    return run(args.toArray(new String[0]));
  }

  @Test
  void checkDecidesCommandsForTheGivenRequester() {
    String[] alice = {"--user", "alice", "--group", "oncall-payments"};
    assertEquals(0, command("cat /var/log/app.log", alice), err.toString());
    assertTrue(out.toString().startsWith("ALLOW [read-logs]"), out.toString());
    assertEquals(3, command("cat /var/log/x; id", alice));
    assertTrue(out.toString().startsWith("DENY [command-syntax]: [shell-metacharacter] shell metacharacter"), out.toString());
    assertEquals(3, command("grep -r root /", alice));
    assertTrue(out.toString().startsWith("DENY [search-logs]: [option-not-allowed]"), out.toString());
    assertEquals(3, command("cat \"/var/log/x /etc/shadow\"", alice));
    assertTrue(out.toString().startsWith("DENY [command-syntax]: [whitespace]"), out.toString());
  }

  @Test
  void checkOfACommandUsesUserAndGroup() {
    assertEquals(3, command("cat /var/log/app.log", "--user", "bob", "--group", "oncall-checkout"));
    assertTrue(out.toString().startsWith("DENY [oncall-debug/requesters]: [not-requester] \"bob\""), out.toString());
    assertEquals(3, command("cat /var/log/app.log"), "without --group the default requester holds no group");
    assertTrue(out.toString().startsWith("DENY [oncall-debug/requesters]: [not-requester] \"policy-check\""),
        out.toString());
    assertEquals(0, command("cat /var/log/app.log", "--user", "carol", "--group", "other", "--group", "oncall-payments"));
    assertEquals(64, command("cat /var/log/app.log", "--user", "al ice", "--group", "oncall-payments"));
  }

  @Test
  void lintFailsOnErrorsEvenWithoutFailOnWarning() throws IOException {
    Path dangerous = Files.writeString(dir.resolve("dangerous.yaml"), POLICY.replace(
        "paths: [/var/log/, /app/logs/]}", "paths: [/]}"));
    assertEquals(1, run("policy", "lint", dangerous.toString()), out.toString());
    assertTrue(out.toString().contains("error[whole-filesystem] at /roles/0/commands/allow/0/paths/0: rule read-logs"),
        out.toString());
    assertTrue(out.toString().contains("1 error(s), 0 warning(s)"), out.toString());
  }

  @Test
  void checkNeedsExactlyOneOfCommandOrAction() {
    assertEquals(64, run("policy", "check", policy.toString(), "--role", "oncall-debug"));
    assertEquals(64, run("policy", "check", policy.toString(), "--role", "oncall-debug", "--command", "ls /var/log",
        "--action", "logs"));
    assertEquals(64, run("policy", "check", policy.toString(), "--role", "oncall-debug", "--action", "logs",
        "--namespace", "payments", "--duration", "soon"));
    assertTrue(err.toString().contains("invalid duration \"soon\""), err.toString());
  }

  @Test
  void lintPrintsWarningsAndFailsOnlyWhenAsked() throws IOException {
    Path risky = Files.writeString(dir.resolve("risky.yaml"), POLICY.replace("exec: {approval: manual, approvers: [sre-leads], minApprovals: 1}",
        "exec: {approval: auto}").replace("maxDuration: PT1H", "maxDuration: PT12H"));
    assertEquals(0, run("policy", "lint", risky.toString()));
    assertTrue(out.toString().contains("warning[exec-auto-approved]"), out.toString());
    assertTrue(out.toString().contains("warning[long-max-duration]"), out.toString());
    assertEquals(1, run("policy", "lint", "--fail-on-warning", risky.toString()));
    out.getBuffer().setLength(0);
    assertEquals(0, run("policy", "lint", "--fail-on-warning", policy.toString()), out.toString());
    assertTrue(out.toString().contains("0 error(s), 0 warning(s)"), out.toString());
  }

  @Test
  void invalidPolicyIsOneLineOnStderrWithLocation() throws IOException {
    Path bad = Files.writeString(dir.resolve("bad.yaml"), POLICY.replace("minApprovals: 1", "minApprovals: \"1\""));
    assertEquals(1, run("policy", "lint", bad.toString()));
    String e = err.toString();
    assertTrue(e.startsWith("kubejit: " + bad + ":14:"), e);
    assertTrue(e.contains("/roles/0/actions/exec/minApprovals"), e);
    assertEquals(1, e.strip().lines().count(), e);
    assertFalse(e.contains("\tat "));
  }

  @Test
  void testRunsCasesAndFailsOnAnyFailure() throws IOException {
    String cases = String.join("\n",
        "apiVersion: kubejit.dev/v1",
        "kind: AccessPolicyTest",
        "cases:",
        "  - name: alice reads logs",
        "    request: {user: alice, groups: [oncall-payments], role: oncall-debug, action: logs, namespace: payments, ticket: INC-42}",
        "    expect: {decision: allow, rule: oncall-debug/logs, grantedDuration: PT30M}",
        "  - name: cat of shadow is denied",
        "    command: {role: oncall-debug, line: cat /etc/shadow}",
        "    expect: {decision: deny, rule: read-logs}",
        "");
    Path ok = Files.writeString(dir.resolve("ok.yaml"), cases);
    assertEquals(0, run("policy", "test", policy.toString(), ok.toString()), out + "" + err);
    assertTrue(out.toString().contains("PASS alice reads logs"), out.toString());
    assertTrue(out.toString().contains("2 passed, 0 failed"), out.toString());
    Path failing = Files.writeString(dir.resolve("fail.yaml"), cases.replace("decision: deny", "decision: allow"));
    assertEquals(1, run("policy", "test", policy.toString(), failing.toString()));
    assertTrue(out.toString().contains("FAIL cat of shadow is denied: expected allow but got deny"), out.toString());
  }
}
