package dev.kubejit.policy;

import static dev.kubejit.policy.Fixtures.ALICE;
import static dev.kubejit.policy.Fixtures.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kubejit.api.Action;
import dev.kubejit.api.Activation;
import dev.kubejit.api.Decision;
import dev.kubejit.api.Identity;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.Use;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.InMemoryAuditSink;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.policy.PolicyDiff.Change;
import dev.kubejit.policy.PolicyDiff.Effect;
import dev.kubejit.policy.PolicyDiff.Flip;
import dev.kubejit.policy.PolicyDiff.FlipKind;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@link PolicyDiff} on edits of the example policy: each edit is reported with its direction, and
 * every command change's example argv is decided again here under both policies to prove that its
 * outcome really flips; the replay runs real broker decisions (jit-api's {@link JitBroker}) recorded
 * under the old policy.
 */
class PolicyDiffTest {
  private static final Policy OLD = Fixtures.example(PolicyFormat.YAML);
  private static final String YAML = Fixtures.text("policies/payments-oncall.yaml");

  private static Policy edited(String from, String to) {
    assertTrue(YAML.contains(from), "fixture must contain " + from);
    return Fixtures.parse(YAML.replace(from, to), PolicyFormat.YAML);
  }

  private static List<Change> changes(PolicyDiff d, String role, String aspect) {
    List<Change> out = new ArrayList<>();
    for (Change c : d.changes()) {
      if (c.role().equals(role) && c.aspect().equals(aspect)) {
        out.add(c);
      }
    }
    return out;
  }

  /** The example flips: allowed by exactly one of the two policies, as the change says. */
  private static void assertExampleFlips(Change c, Policy before, Policy after) {
    String line = c.example().orElseThrow(() -> new AssertionError("no example: " + c));
    Decision b = PolicyEngine.of(before).checkCommand(c.role(), Use.commandLine(line));
    Decision a = PolicyEngine.of(after).checkCommand(c.role(), Use.commandLine(line));
    if (c.effect() == Effect.WIDENS) {
      assertFalse(b.isAllowed(), line + " was allowed before: " + b);
      assertTrue(a.isAllowed(), line + " is not allowed after: " + a);
    } else {
      assertTrue(b.isAllowed(), line + " was not allowed before: " + b);
      assertFalse(a.isAllowed(), line + " is allowed after: " + a);
    }
  }

  @Test
  void samePolicyInAnotherFormatHasNoChange() {
    PolicyDiff d = PolicyDiff.between(OLD, Fixtures.example(PolicyFormat.JSON)).compute();
    assertEquals(List.of(), d.changes());
    assertFalse(d.widens());
    assertTrue(d.toText().contains("no change in access"), d.toText());
  }

  @Test
  void widerPathsAreFoundWithAnArgvThatFlips() {
    Policy after = edited("operands: [path+]\n          paths: [/var/log/, /app/logs/]\n        - id: search-logs",
        "operands: [path+]\n          paths: [/var/log/, /app/logs/, /etc/nginx/]\n        - id: search-logs");
    PolicyDiff d = PolicyDiff.between(OLD, after).compute();
    List<Change> cmds = changes(d, "oncall-debug", "commands");
    assertEquals(1, cmds.size(), d.toText());
    Change c = cmds.get(0);
    assertEquals(Effect.WIDENS, c.effect());
    assertTrue(c.summary().contains("read-logs") && c.summary().contains("[path-outside]"), c.summary());
    assertTrue(c.example().orElseThrow().startsWith("cat /etc/nginx"), c.toString());
    assertExampleFlips(c, OLD, after);
    assertTrue(d.widens());
    assertEquals(1, d.changes().size(), d.toText());
  }

  @Test
  void removedRuleAndDroppedOptionNarrowOnly() {
    Policy after = Fixtures.parse(YAML
        .replace("        - id: processes\n          command: ps\n          flags: [aux, -e, -f, -ef]\n          operands: []\n", "")
        .replace("flags: [-i, -n, -c, -v, -w, -E, -F]", "flags: [-i, -n, -c, -v, -w, -E]"), PolicyFormat.YAML);
    PolicyDiff d = PolicyDiff.between(OLD, after).compute();
    List<Change> cmds = changes(d, "oncall-debug", "commands");
    assertEquals(2, cmds.size(), d.toText());
    for (Change c : cmds) {
      assertEquals(Effect.NARROWS, c.effect(), c.toString());
      assertExampleFlips(c, OLD, after);
    }
    assertTrue(cmds.stream().anyMatch(c -> c.example().orElseThrow().startsWith("ps")), d.toText());
    assertTrue(cmds.stream().anyMatch(c -> c.example().orElseThrow().startsWith("grep -F")), d.toText());
    assertFalse(d.widens(), d.toText());
    assertTrue(d.toText().endsWith("narrows access only\n"), d.toText());
  }

  @Test
  void requestRulesEachReportedWithTheirDirection() {
    Policy after = Fixtures.parse(YAML
        .replace("requesters: [oncall-payments]", "requesters: [oncall-payments, oncall-checkout]")
        .replace("namespaces: [payments, \"payments-*\"]", "namespaces: [payments]")
        .replace("maxDuration: PT1H", "maxDuration: PT2H")
        .replace("exec: {approval: manual, approvers: [sre-leads], minApprovals: 1}", "exec: {approval: auto}")
        .replace("portforward: {approval: manual, approvers: [sre-leads], minApprovals: 2}",
            "portforward: {approval: manual, approvers: [sre-leads], minApprovals: 3}")
        .replace("ticketPattern: '^(INC|CHG)-[0-9]+$'", "ticketPattern: '^INC-[0-9]+$'")
        .replace("breakGlass: true\n", "breakGlass: false\n"), PolicyFormat.YAML);
    PolicyDiff d = PolicyDiff.between(OLD, after).compute();
    assertEffect(d, "oncall-debug", "requesters", Effect.WIDENS, "oncall-checkout");
    assertEffect(d, "oncall-debug", "namespaces", Effect.NARROWS, "payments-kubejit-x");
    assertEffect(d, "oncall-debug", "maxDuration", Effect.WIDENS, null);
    assertEffect(d, "oncall-debug", "actions.exec", Effect.WIDENS, null);
    assertEffect(d, "oncall-debug", "actions.portforward", Effect.NARROWS, null);
    assertEffect(d, "oncall-debug", "justification", Effect.CHANGES, null);
    assertEffect(d, "break-glass", "breakGlass", Effect.NARROWS, null);
    // break-glass without rules filtered nothing; now it allows no command at all
    assertTrue(changes(d, "break-glass", "commands").stream().allMatch(c -> c.effect() == Effect.NARROWS), d.toText());
    assertTrue(d.widens());
  }

  private static void assertEffect(PolicyDiff d, String role, String aspect, Effect effect, String example) {
    List<Change> cs = changes(d, role, aspect);
    assertEquals(1, cs.size(), aspect + " in\n" + d.toText());
    assertEquals(effect, cs.get(0).effect(), cs.get(0).toString());
    if (example != null) {
      assertEquals(example, cs.get(0).example().orElseThrow());
    }
  }

  @Test
  void rolesAddedAndRemoved() {
    Policy after = Fixtures.parse(YAML.replace("- name: break-glass", "- name: emergency"), PolicyFormat.YAML);
    PolicyDiff d = PolicyDiff.between(OLD, after).compute();
    assertEffect(d, "emergency", "role", Effect.WIDENS, null);
    assertEffect(d, "break-glass", "role", Effect.NARROWS, null);
    assertEquals(2, d.changes().size(), d.toText());
  }

  @Test
  void corpusLinesAreProbedToo() {
    // The edit only changes a path the generated probes also reach, so the corpus adds examples
    // for the same flip; with nothing generated (same rules), an unchanged policy still has none.
    List<String> corpus = new ArrayList<>();
    ObjectMapper json = new ObjectMapper();
    try {
      for (JsonNode n : json.readTree(Fixtures.resource("corpus/legitimate-commands.json"))) {
        if (n.has("line")) {
          corpus.add(n.get("line").asText());
        }
      }
      for (JsonNode n : json.readTree(Fixtures.resource("corpus/bypass-attempts.json"))) {
        if (n.has("line")) {
          corpus.add(n.get("line").asText());
        }
      }
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    Policy after = edited("paths: [/var/log/, /app/]", "paths: [/var/log/]");
    PolicyDiff d = PolicyDiff.between(OLD, after).corpus(corpus).compute();
    List<Change> cmds = changes(d, "oncall-debug", "commands");
    assertEquals(1, cmds.size(), d.toText());
    assertEquals(Effect.NARROWS, cmds.get(0).effect());
    assertExampleFlips(cmds.get(0), OLD, after);
    assertEquals(List.of(), PolicyDiff.between(OLD, OLD).corpus(corpus).compute().changes());
  }

  @Test
  void replayCountsRecordedDecisionsThatWouldChange() {
    InMemoryAuditSink audit = AuditSink.inMemory();
    JitBroker broker = JitBroker.builder().clock(Clock.fixed(Fixtures.T0, ZoneOffset.UTC))
        .policy(PolicyEngine.of(OLD)).store(RequestStore.inMemory()).auditSink(audit)
        .rbacProvisioner(RbacProvisioner.inMemory()).build();
    Identity carol = Identity.of("carol", "sre-leads");
    Identity bob = Identity.of("bob", "oncall-checkout");
    // 3 logs requests allowed, 2 in payments-eu (narrowed away below), 1 by bob (denied, widened)
    broker.submit(request(ALICE, "oncall-debug", Action.LOGS, "payments").ticket("INC-1").build());
    broker.submit(request(ALICE, "oncall-debug", Action.LOGS, "payments-eu").ticket("INC-2").build());
    broker.submit(request(ALICE, "oncall-debug", Action.LOGS, "payments-eu").ticket("INC-3").build());
    broker.submit(request(bob, "oncall-debug", Action.LOGS, "payments").ticket("INC-4").build());
    RequestRecord exec = broker.submit(request(ALICE, "oncall-debug", Action.EXEC, "payments").ticket("INC-5").build());
    broker.approve(exec.id(), carol, "ok");
    Activation act = broker.activate(exec.id(), ALICE);
    for (int i = 0; i < 3; i++) {
      broker.authorize(act.grant().id(), ALICE, Use.commandLine("ps aux"));
    }
    broker.authorize(act.grant().id(), ALICE, Use.commandLine("ps -ef"));
    broker.authorize(act.grant().id(), ALICE, Use.commandLine("cat /var/log/app.log"));
    broker.authorize(act.grant().id(), ALICE, Use.commandLine("cat /etc/nginx/nginx.conf"));
    broker.authorize(act.grant().id(), bob, Use.commandLine("cat /var/log/app.log")); // broker:holder, skipped

    Policy after = Fixtures.parse(YAML
        .replace("requesters: [oncall-payments]", "requesters: [oncall-payments, oncall-checkout]")
        .replace("namespaces: [payments, \"payments-*\"]", "namespaces: [payments]")
        .replace("        - id: processes\n          command: ps\n          flags: [aux, -e, -f, -ef]\n          operands: []\n", "")
        .replace("operands: [path+]\n          paths: [/var/log/, /app/logs/]\n        - id: search-logs",
            "operands: [path+]\n          paths: [/var/log/, /app/logs/, /etc/nginx/]\n        - id: search-logs"),
        PolicyFormat.YAML);
    PolicyDiff d = PolicyDiff.between(OLD, after).against(audit.events()).compute();
    assertEquals(5, d.replayedRequests());
    assertEquals(6, d.replayedCommands());
    assertEquals(1, d.skippedRecords());
    Flip psFlip = flip(d, "command", FlipKind.ALLOW_TO_DENY);
    assertEquals(4, psFlip.count());
    assertEquals(Map.of("oncall-debug", 4L), psFlip.countsByRole());
    assertEquals(List.of("ps aux", "ps -ef"), List.copyOf(psFlip.top().keySet()), "most frequent first");
    assertEquals(3L, psFlip.top().get("ps aux"));
    Flip nginx = flip(d, "command", FlipKind.DENY_TO_ALLOW);
    assertEquals(Map.of("cat /etc/nginx/nginx.conf", 1L), nginx.top());
    Flip eu = flip(d, "request", FlipKind.ALLOW_TO_DENY);
    assertEquals(Map.of("oncall-debug/logs in prod/payments-eu", 2L), eu.top());
    Flip bobFlip = flip(d, "request", FlipKind.DENY_TO_ALLOW);
    assertEquals(1, bobFlip.count());
    assertEquals(4, d.flips().size(), d.toText());
    assertTrue(d.widens());
    assertTrue(d.flips().get(0).kind().widening(), "widening flips come first");

    JsonNode json = readJson(d.toJson());
    assertTrue(json.get("widens").asBoolean());
    assertEquals(4, json.get("replay").get("flips").size());
    assertEquals(6, json.get("replay").get("commands").asInt());
    String md = d.toMarkdown();
    assertTrue(md.contains("| command | allow → deny | 4 | oncall-debug: 4 | 3× `ps aux`<br>1× `ps -ef` |"), md);
  }

  @Test
  void replayOfOnlyNarrowingFlipsDoesNotWiden() {
    InMemoryAuditSink audit = AuditSink.inMemory();
    JitBroker broker = JitBroker.builder().clock(Clock.fixed(Fixtures.T0, ZoneOffset.UTC))
        .policy(PolicyEngine.of(OLD)).store(RequestStore.inMemory()).auditSink(audit)
        .rbacProvisioner(RbacProvisioner.inMemory()).build();
    broker.submit(request(ALICE, "oncall-debug", Action.LOGS, "payments").ticket("INC-1").build());
    Policy after = edited("logs: {approval: auto}\n      exec: {approval: manual",
        "logs: {approval: manual, approvers: [sre-leads]}\n      exec: {approval: manual");
    PolicyDiff d = PolicyDiff.between(OLD, after).against(audit.events()).compute();
    assertEquals(FlipKind.APPROVAL_NOW_NEEDED, d.flips().get(0).kind());
    assertFalse(d.widens(), d.toText());
    assertThrows(IllegalStateException.class,
        () -> PolicyDiff.between(OLD, after).against(List.of()).against(List.of()));
  }

  private static Flip flip(PolicyDiff d, String subject, FlipKind kind) {
    return d.flips().stream().filter(f -> f.subject().equals(subject) && f.kind() == kind).findFirst()
        .orElseThrow(() -> new AssertionError("no " + subject + " " + kind + " in\n" + d.toText()));
  }

  private static JsonNode readJson(String s) {
    try {
      return new ObjectMapper().readTree(s);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
