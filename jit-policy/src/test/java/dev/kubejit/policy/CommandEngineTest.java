package dev.kubejit.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.Decision;
import dev.kubejit.api.Use;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Focused checks of the tokeniser and the argument-aware matcher; the corpora cover breadth. */
class CommandEngineTest {
  private static final PolicyEngine ENGINE = PolicyEngine.of(Fixtures.example(PolicyFormat.JSON));

  private static Decision line(String line) {
    return ENGINE.checkCommand("oncall-debug", Use.commandLine(line));
  }

  private static void denied(String line, String reasonPart) {
    Decision d = line(line);
    assertEquals(Decision.Outcome.DENY, d.outcome(), line + " -> " + d);
    assertTrue(d.reason().contains(reasonPart), line + " -> " + d.reason());
  }

  @Test
  void tokeniserFollowsPosixQuoting() throws Refusal {
    assertEquals(List.of("grep", "connection refused", "/var/log/a b.log"),
        CommandSyntax.tokenize("grep 'connection refused' \"/var/log/a b.log\""));
    assertEquals(List.of("cat", "/var/log/a b"), CommandSyntax.tokenize("cat /var/log/a\\ b"));
    assertEquals(List.of("a", "b\\c", "d\"e"), CommandSyntax.tokenize("a \"b\\c\" \"d\\\"e\""));
    assertEquals(List.of("x", ""), CommandSyntax.tokenize("x ''"));
    assertEquals(List.of("ab"), CommandSyntax.tokenize("a''b"));
    assertThrows(Refusal.class, () -> CommandSyntax.tokenize("a 'b"));
    assertThrows(Refusal.class, () -> CommandSyntax.tokenize("a \"b"));
    assertThrows(Refusal.class, () -> CommandSyntax.tokenize("a\\"));
  }

  @Test
  void quotedOrEscapedMetacharactersAreStillRefused() {
    denied("grep 'a|b' /var/log/app.log", "'|' (pipe)");
    denied("grep a\\;b /var/log/app.log", "';' (command separator)");
    denied("grep \"don't\" /var/log/app.log", "quote character");
  }

  @Test
  void flagsWithValuesAcceptSeparateAndAttachedForms() {
    assertEquals(Decision.Outcome.ALLOW, line("tail -n 100 /var/log/app.log").outcome());
    assertEquals(Decision.Outcome.ALLOW, line("tail -n100 /var/log/app.log").outcome());
    denied("tail -n /var/log/app.log", "must be a non-negative decimal number");
    denied("tail /var/log/app.log -n", "needs a value");
  }

  @Test
  void combinedShortFlagsAreMatchedAsWritten() {
    assertEquals(Decision.Outcome.ALLOW, line("ls -la /var/log").outcome());
    denied("ls -al /var/log", "combined short options are matched as written");
    denied("grep -in error /var/log/app.log", "\"-in\" is not allowed");
  }

  @Test
  void endOfOptionsMakesEverythingAnOperand() {
    assertEquals(Decision.Outcome.ALLOW, line("grep -- -r /var/log/app.log").outcome());
    denied("cat -- -r", "relative path");
    denied("ps -- aux", "expects no operands");
  }

  @Test
  void aPatternGivenByDashEIsNotAlsoTakenFromTheOperands() {
    denied("grep -e root /etc/shadow", "operand 1 \"/etc/shadow\" is outside");
    assertEquals(Decision.Outcome.ALLOW, line("grep -e root /var/log/app.log").outcome());
    denied("grep -f /var/log/patterns /var/log/app.log", "\"-f\" is not allowed");
  }

  @Test
  void pathsAreNormalisedAndCheckedOnSegmentBoundaries() {
    assertEquals(Decision.Outcome.ALLOW, line("cat /var/log//./app.log").outcome());
    assertEquals(Decision.Outcome.ALLOW, line("cat /var/log").outcome());
    denied("cat /var/logx", "outside the allowed prefixes");
    denied("cat /var/log/../log/app.log", "contains '..'");
    denied("cat /var/log/../../etc/shadow", "(normalised: /etc/shadow) escapes");
    denied("cat log/app.log", "working directory is unknown");
  }

  @Test
  void commandNamesMatchExactlyOrInStandardBinaryDirectories() {
    for (String dir : List.of("/bin", "/usr/bin", "/usr/local/bin", "/sbin", "/usr/sbin")) {
      assertEquals(Decision.Outcome.ALLOW, line(dir + "/cat /var/log/app.log").outcome(), dir);
    }
    denied("./cat /var/log/app.log", "command path");
    denied("/opt/cat /var/log/app.log", "command path");
    denied("\uff43at /var/log/app.log", "non-ASCII character U+FF43 in the command name");
    denied("LANG=C cat /var/log/app.log", "leading environment assignment");
  }

  @Test
  void runnersAreRefusedUnlessARuleNamesThem() {
    denied("python3 -c print", "python3 is an interpreter");
    denied("env cat /var/log/app.log", "env is a program that runs other programs");
    String withEnv = Fixtures.text("policies/payments-oncall.json").replace(
        "{\"id\": \"processes\"", "{\"id\": \"env-rule\", \"command\": \"env\", \"operands\": []}, {\"id\": \"processes\"");
    PolicyEngine e = PolicyEngine.of(Fixtures.parse(withEnv, PolicyFormat.JSON));
    assertEquals(Decision.Outcome.ALLOW, e.checkCommand("oncall-debug", Use.commandLine("env")).outcome());
    assertEquals(Decision.Outcome.DENY, e.checkCommand("oncall-debug", Use.commandLine("env cat /etc/shadow")).outcome(),
        "a named runner still gets only its listed arguments");
  }

  @Test
  void severalRulesForOneCommandAreTriedInOrderAndAllReasonsReported() {
    String two = Fixtures.text("policies/payments-oncall.json").replace(
        "{\"id\": \"processes\"", "{\"id\": \"cat-config\", \"command\": \"cat\", \"operands\": [\"path\"], "
            + "\"paths\": [\"/etc/app/\"]}, {\"id\": \"processes\"");
    PolicyEngine e = PolicyEngine.of(Fixtures.parse(two, PolicyFormat.JSON));
    assertEquals(java.util.Optional.of("cat-config"),
        e.checkCommand("oncall-debug", Use.commandLine("cat /etc/app/config.yaml")).ruleId());
    Decision d = e.checkCommand("oncall-debug", Use.commandLine("cat /etc/shadow"));
    assertTrue(d.reason().contains("rule read-logs:") && d.reason().contains("rule cat-config:"), d.reason());
  }

  @Test
  void checkCommandWithARequesterChecksTheRequesterGroupsFirst() {
    Use cat = Use.commandLine("cat /var/log/app.log");
    Decision alice = ENGINE.checkCommand("oncall-debug", dev.kubejit.api.Identity.of("alice", "oncall-payments"), cat);
    assertEquals(Decision.Outcome.ALLOW, alice.outcome(), alice.toString());
    Decision bob = ENGINE.checkCommand("oncall-debug", dev.kubejit.api.Identity.of("bob", "oncall-checkout"), cat);
    assertEquals(Decision.Outcome.DENY, bob.outcome());
    assertEquals(java.util.Optional.of("oncall-debug/requesters"), bob.ruleId());
    assertTrue(bob.reason().startsWith("[not-requester] \"bob\" is not in any requester group"), bob.reason());
    Decision nobody = ENGINE.checkCommand("oncall-debug", dev.kubejit.api.Identity.of("carol", List.of()).assertedBy("t"),
        Use.commandLine("cat /etc/shadow"));
    assertEquals(java.util.Optional.of("oncall-debug/requesters"), nobody.ruleId(), "who asks is checked before what");
  }

  @Test
  void anyWhitespaceInsideAWordIsRefusedForLinesAndArgvLists() {
    for (String ws : List.of(" ", "\t", "\n", "\r", "\u000b", "\f", "\u001c", "\u0085", "\u00a0", "\u1680", "\u2000",
        "\u2007", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000")) {
      Decision d = ENGINE.checkCommand("oncall-debug", Use.command(List.of("cat", "/var/log/x" + ws + "/etc/shadow")));
      assertEquals(java.util.Optional.of("command-syntax"), d.ruleId(), Text.quote(ws) + " -> " + d);
      assertTrue(d.reason().startsWith("[whitespace] "), Text.quote(ws) + " -> " + d.reason());
    }
    denied("cat \"/var/log/x /etc/shadow\"", "[whitespace] space inside argument 1");
    denied("cat /var/log/x\\ /etc/shadow", "[whitespace] space inside argument 1");
  }

  @Test
  void aDenialBySeveralRulesStartsWithTheFirstRulesCodeAndTagsTheOthers() {
    String two = Fixtures.text("policies/payments-oncall.json").replace(
        "{\"id\": \"processes\"", "{\"id\": \"cat-config\", \"command\": \"cat\", \"flags\": [\"-n\"], "
            + "\"operands\": [\"path\"], \"paths\": [\"/etc/app/\"]}, {\"id\": \"processes\"");
    PolicyEngine e = PolicyEngine.of(Fixtures.parse(two, PolicyFormat.JSON));
    Decision d = e.checkCommand("oncall-debug", Use.commandLine("cat -n /etc/shadow"));
    assertEquals("[option-not-allowed] rule read-logs: option \"-n\" is not allowed; rule cat-config: [path-outside] "
        + "operand 1 \"/etc/shadow\" is outside the allowed prefixes [/etc/app/]", d.reason());
  }
}
