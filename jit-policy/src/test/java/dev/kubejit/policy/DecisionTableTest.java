package dev.kubejit.policy;

import static dev.kubejit.policy.Fixtures.ALICE;
import static dev.kubejit.policy.Fixtures.BOB;
import static dev.kubejit.policy.Fixtures.CAROL;
import static dev.kubejit.policy.Fixtures.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.Action;
import dev.kubejit.api.ApprovalRequirement;
import dev.kubejit.api.Decision;
import dev.kubejit.api.Decision.Outcome;
import dev.kubejit.api.Identity;
import dev.kubejit.api.Scope;
import dev.kubejit.api.Use;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The decision table of issue 5, row by row, against the example policy loaded from each format.
 * The approval rows (carol approves; self-approval) run through the real broker in
 * {@link BrokerIntegrationTest}.
 */
class DecisionTableTest {
  private static PolicyEngine engine(PolicyFormat f) {
    return PolicyEngine.of(Fixtures.example(f));
  }

  private static void assertStamped(PolicyEngine e, Decision d) {
    assertEquals(Optional.of(e.policy().digest()), d.policyDigest(), "digest on every decision");
    assertEquals(Optional.of("abc123"), d.policyRevision(), "revision on every decision");
    assertTrue(d.ruleId().isPresent(), "rule id on every decision: " + d);
    assertFalse(d.reason().isBlank());
  }

  @ParameterizedTest
  @EnumSource(PolicyFormat.class)
  void aliceLogsInPaymentsIsAutoAllowed(PolicyFormat f) {
    PolicyEngine e = engine(f);
    Decision d = e.decide(request(ALICE, "oncall-debug", Action.LOGS, "payments")
        .duration(Duration.ofMinutes(30)).ticket("INC-42").build());
    assertStamped(e, d);
    assertEquals(Outcome.ALLOW, d.outcome(), d.toString());
    assertEquals(Optional.of(Duration.ofMinutes(30)), d.grantedDuration());
    assertFalse(d.durationClamped());
    assertFalse(d.breakGlass());
    assertEquals(Optional.of("oncall-debug"), d.rbacTemplate());
    assertEquals(Optional.of("oncall-debug/logs"), d.ruleId());
  }

  @ParameterizedTest
  @EnumSource(PolicyFormat.class)
  void aliceExecInPaymentsEuNeedsOneApprovalFromSreLeads(PolicyFormat f) {
    PolicyEngine e = engine(f);
    Decision d = e.decide(request(ALICE, "oncall-debug", Action.EXEC, "payments-eu")
        .duration(Duration.ofMinutes(45)).ticket("INC-42").build());
    assertStamped(e, d);
    assertEquals(Outcome.NEEDS_APPROVAL, d.outcome(), d.toString());
    assertEquals(Optional.of(ApprovalRequirement.of(List.of("sre-leads"), 1)), d.approval());
    assertEquals(Optional.of(Duration.ofMinutes(45)), d.grantedDuration());
  }

  @ParameterizedTest
  @EnumSource(PolicyFormat.class)
  void portForwardNeedsTwoDistinctApprovals(PolicyFormat f) {
    Decision d = engine(f).decide(request(ALICE, "oncall-debug", Action.PORT_FORWARD, "payments")
        .ticket("CHG-7").build());
    assertEquals(Optional.of(ApprovalRequirement.of(List.of("sre-leads"), 2)), d.approval());
    assertEquals(Optional.of(Duration.ofMinutes(30)), d.grantedDuration(), "default duration applies");
  }

  @ParameterizedTest
  @EnumSource(PolicyFormat.class)
  void twoHoursIsClampedToOneHourAndTheClampIsReported(PolicyFormat f) {
    PolicyEngine e = engine(f);
    Decision d = e.decide(request(ALICE, "oncall-debug", Action.EXEC, "payments")
        .duration(Duration.ofHours(2)).ticket("INC-42").build());
    assertStamped(e, d);
    assertEquals(Outcome.NEEDS_APPROVAL, d.outcome());
    assertEquals(Optional.of(Duration.ofHours(1)), d.grantedDuration());
    assertTrue(d.durationClamped());
    assertTrue(d.reason().contains("clamped"), d.reason());
  }

  @ParameterizedTest
  @EnumSource(PolicyFormat.class)
  void twoHoursIsRefusedWhenTheCallerAsksForStrictness(PolicyFormat f) {
    PolicyEngine e = engine(f);
    Decision d = e.decide(request(ALICE, "oncall-debug", Action.EXEC, "payments")
        .duration(Duration.ofHours(2)).ticket("INC-42").strictDuration(true).build());
    assertStamped(e, d);
    assertEquals(Outcome.DENY, d.outcome());
    assertEquals(Optional.of("oncall-debug/maxDuration"), d.ruleId());
  }

  @ParameterizedTest
  @EnumSource(PolicyFormat.class)
  void exactlyTheMaximumIsNotClamped(PolicyFormat f) {
    Decision d = engine(f).decide(request(ALICE, "oncall-debug", Action.LOGS, "payments")
        .duration(Duration.ofHours(1)).ticket("INC-1").strictDuration(true).build());
    assertEquals(Outcome.ALLOW, d.outcome());
    assertFalse(d.durationClamped());
    Decision over = engine(f).decide(request(ALICE, "oncall-debug", Action.LOGS, "payments")
        .duration(Duration.ofHours(1).plusNanos(1)).ticket("INC-1").build());
    assertTrue(over.durationClamped());
  }

  @ParameterizedTest
  @EnumSource(PolicyFormat.class)
  void logsWithoutJustificationIsDeniedNamingTheRule(PolicyFormat f) {
    PolicyEngine e = engine(f);
    Decision d = e.decide(request(ALICE, "oncall-debug", Action.LOGS, "payments").build());
    assertStamped(e, d);
    assertEquals(Outcome.DENY, d.outcome());
    assertEquals(Optional.of("oncall-debug/justification"), d.ruleId());
    // free text alone does not satisfy a role that requires a ticket pattern
    Decision text = e.decide(request(ALICE, "oncall-debug", Action.LOGS, "payments")
        .justification("checkout errors").build());
    assertEquals(Outcome.DENY, text.outcome());
  }

  @ParameterizedTest
  @EnumSource(PolicyFormat.class)
  void logsWithTicketJira1IsDeniedNamingThePattern(PolicyFormat f) {
    PolicyEngine e = engine(f);
    Decision d = e.decide(request(ALICE, "oncall-debug", Action.LOGS, "payments").ticket("JIRA-1").build());
    assertStamped(e, d);
    assertEquals(Outcome.DENY, d.outcome());
    assertEquals(Optional.of("oncall-debug/justification"), d.ruleId());
    assertTrue(d.reason().contains("JIRA-1") && d.reason().contains("^(INC|CHG)-[0-9]+$"), d.reason());
    assertEquals(Outcome.DENY, e.decide(request(ALICE, "oncall-debug", Action.LOGS, "payments")
        .ticket("INC-42x").build()).outcome(), "the whole ticket must match");
  }

  @ParameterizedTest
  @EnumSource(PolicyFormat.class)
  void logsInDefaultIsDeniedNamespaceNotAllowed(PolicyFormat f) {
    PolicyEngine e = engine(f);
    Decision d = e.decide(request(ALICE, "oncall-debug", Action.LOGS, "default").ticket("INC-42").build());
    assertStamped(e, d);
    assertEquals(Outcome.DENY, d.outcome());
    assertEquals(Optional.of("oncall-debug/namespaces"), d.ruleId());
    assertTrue(d.reason().contains("namespace default is not allowed"), d.reason());
    assertEquals(Outcome.DENY, e.decide(request(ALICE, "oncall-debug", Action.LOGS, "paymentsx")
        .ticket("INC-42").build()).outcome(), "payments-* does not match paymentsx");
  }

  @ParameterizedTest
  @EnumSource(PolicyFormat.class)
  void bobIsNotARequester(PolicyFormat f) {
    PolicyEngine e = engine(f);
    Decision d = e.decide(request(BOB, "oncall-debug", Action.LOGS, "payments").ticket("INC-42").build());
    assertStamped(e, d);
    assertEquals(Outcome.DENY, d.outcome());
    assertEquals(Optional.of("oncall-debug/requesters"), d.ruleId());
    assertTrue(d.reason().contains("bob is not in any requester group"), d.reason());
  }

  @ParameterizedTest
  @EnumSource(PolicyFormat.class)
  void carolBreakGlassInKubeSystemIsAutoAllowedForFifteenMinutesAndFlagged(PolicyFormat f) {
    PolicyEngine e = engine(f);
    Decision d = e.decide(request(CAROL, "break-glass", Action.EXEC, "kube-system")
        .justification("payments down, API server unreachable from gateway").build());
    assertStamped(e, d);
    assertEquals(Outcome.ALLOW, d.outcome(), d.toString());
    assertEquals(Optional.of(Duration.ofMinutes(15)), d.grantedDuration());
    assertTrue(d.breakGlass());
    assertEquals(Optional.of("jit-debug"), d.rbacTemplate());
    assertTrue(d.reason().contains("post-incident review"), d.reason());
    assertEquals(Outcome.DENY, e.decide(request(CAROL, "break-glass", Action.EXEC, "kube-system").build())
        .outcome(), "break-glass still requires a justification");
  }

  @ParameterizedTest
  @EnumSource(PolicyFormat.class)
  void unknownRoleAndClusterScopeAndUnlistedActionAreDenied(PolicyFormat f) {
    PolicyEngine e = engine(f);
    Decision noRole = e.decide(request(ALICE, "admin", Action.LOGS, "payments").ticket("INC-1").build());
    assertEquals(Optional.of("default-deny"), noRole.ruleId());
    assertStamped(e, noRole);
    Decision cluster = e.decide(dev.kubejit.api.AccessRequest.builder().requester(ALICE).role("oncall-debug")
        .action(Action.LOGS).scope(Scope.cluster("prod")).ticket("INC-1").build());
    assertEquals(Outcome.DENY, cluster.outcome());
    assertEquals(Optional.of("oncall-debug/clusterScope"), cluster.ruleId());
    Decision debug = e.decide(request(ALICE, "oncall-debug", Action.DEBUG, "payments").ticket("INC-1").build());
    assertEquals(Optional.of("oncall-debug/actions"), debug.ruleId());
  }

  // ---- command rows ----

  private static Decision cmd(PolicyEngine e, String line) {
    return e.authorize(Fixtures.execGrant("oncall-debug"), Use.commandLine(line));
  }

  private static void allowed(PolicyFormat f, String line, String rule) {
    PolicyEngine e = engine(f);
    Decision d = cmd(e, line);
    assertStamped(e, d);
    assertEquals(Outcome.ALLOW, d.outcome(), line + " -> " + d);
    assertEquals(Optional.of(rule), d.ruleId(), line);
  }

  private static Decision denied(PolicyFormat f, String line, String rule, String reasonPart) {
    PolicyEngine e = engine(f);
    Decision d = cmd(e, line);
    assertStamped(e, d);
    assertEquals(Outcome.DENY, d.outcome(), line + " -> " + d);
    assertEquals(Optional.of(rule), d.ruleId(), line + " -> " + d);
    assertTrue(d.reason().contains(reasonPart), line + " -> " + d.reason());
    return d;
  }

  @ParameterizedTest
  @EnumSource(PolicyFormat.class)
  void allowedCommandsFromTheTable(PolicyFormat f) {
    allowed(f, "cat /var/log/app.log", "read-logs");
    allowed(f, "grep -i -m 5 error /var/log/app.log /app/logs/x.log", "search-logs");
    allowed(f, "tail -n 100 -f /app/logs/server.log", "tail-logs");
    allowed(f, "ls -la /var/log", "list-files");
    allowed(f, "ps aux", "processes");
  }

  @ParameterizedTest
  @EnumSource(PolicyFormat.class)
  void deniedCommandsFromTheTable(PolicyFormat f) {
    denied(f, "cat /etc/shadow", "read-logs", "outside the allowed prefixes");
    denied(f, "cat /var/log/../../etc/shadow", "read-logs", "escapes the allowed prefixes");
    denied(f, "cat /var/log/app.log; rm -rf /", "command-syntax", "shell metacharacter ';'");
    denied(f, "sh -c \"cat /var/log/app.log\"", "command-syntax", "[whitespace] space inside argument 2");
    denied(f, "sh -c id", "default-deny", "sh is a shell");
    denied(f, "rm -rf /var/log", "default-deny", "no rule of role oncall-debug allows the command rm");
    denied(f, "grep -r root /", "search-logs", "[option-not-allowed] rule search-logs: option \"-r\" is not allowed");
  }

  @ParameterizedTest
  @EnumSource(PolicyFormat.class)
  void commandsNeedAnExecGrantAndBreakGlassDoesNotFilter(PolicyFormat f) {
    PolicyEngine e = engine(f);
    dev.kubejit.api.Grant logsGrant = Fixtures.execGrant("oncall-debug").toBuilder().action(Action.LOGS).build();
    assertEquals(Outcome.DENY, e.authorize(logsGrant, Use.commandLine("cat /var/log/app.log")).outcome());
    assertEquals(Outcome.ALLOW, e.authorize(logsGrant, Use.action(Action.LOGS)).outcome());
    assertEquals(Outcome.DENY, e.authorize(Fixtures.execGrant("oncall-debug"), Use.action(Action.EXEC)).outcome(),
        "no interactive shell for a role with command rules");
    dev.kubejit.api.Grant bg = Fixtures.execGrant("break-glass").toBuilder()
        .holder(Identity.of("carol", "sre-leads")).build();
    Decision d = e.authorize(bg, Use.commandLine("rm -rf /tmp/x"));
    assertEquals(Outcome.ALLOW, d.outcome(), d.toString());
    assertEquals(Optional.of("break-glass/commands"), d.ruleId());
    assertEquals(Outcome.DENY, e.authorize(bg, Use.commandLine("cat x; id")).outcome(),
        "syntax checks still apply under break-glass");
  }
}
