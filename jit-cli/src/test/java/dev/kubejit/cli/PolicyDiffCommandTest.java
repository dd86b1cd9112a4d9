package dev.kubejit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.Activation;
import dev.kubejit.api.Identity;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.Scope;
import dev.kubejit.api.Use;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.audit.FileAuditSink;
import dev.kubejit.policy.PolicyEngine;
import dev.kubejit.policy.PolicyLoader;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code kubejit policy diff}: exit 0 when NEW only narrows, 1 when it widens, 2 on bad input; the
 * three formats; {@code --against} a real file audit log written by the broker under OLD.
 */
class PolicyDiffCommandTest {
  private static final String OLD = String.join("\n",
      "apiVersion: kubejit.dev/v1",
      "kind: AccessPolicy",
      "metadata: {name: payments-oncall}",
      "roles:",
      "  - name: oncall-debug",
      "    requesters: [oncall-payments]",
      "    namespaces: [payments]",
      "    defaultDuration: PT30M",
      "    maxDuration: PT1H",
      "    justification: {required: true, ticketPattern: '^INC-[0-9]+$'}",
      "    actions:",
      "      logs: {approval: auto}",
      "      exec: {approval: manual, approvers: [sre-leads]}",
      "    commands:",
      "      allow:",
      "        - {id: read-logs, command: cat, operands: [path+], paths: [/var/log/]}",
      "        - {id: processes, command: ps, flags: [aux], operands: []}",
      "");

  @TempDir Path dir;
  private Path oldFile;
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  @BeforeEach
  void write() throws IOException {
    oldFile = Files.writeString(dir.resolve("old.yaml"), OLD);
  }

  private Path newPolicy(String from, String to) throws IOException {
    assertTrue(OLD.contains(from), from);
    return Files.writeString(dir.resolve("new-" + Integer.toHexString(to.hashCode()) + ".yaml"), OLD.replace(from, to));
  }

  private int run(String... args) {
    out.getBuffer().setLength(0);
    err.getBuffer().setLength(0);
    CommandLine cli = Main.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    return cli.execute(args);
  }

  @Test
  void widensExitsOneWithAnArgvThatFlips() throws IOException {
    Path wider = newPolicy("paths: [/var/log/]", "paths: [/var/log/, /app/]");
    assertEquals(1, run("policy", "diff", oldFile.toString(), wider.toString()), err.toString());
    assertTrue(out.toString().contains("WIDENS   oncall-debug commands: now allowed by rule read-logs"), out.toString());
    assertTrue(out.toString().contains("e.g. cat /app/kubejit-sample.log"), out.toString());
    assertTrue(out.toString().endsWith("WIDENS access: a second reviewer should approve\n"), out.toString());
  }

  @Test
  void narrowsOnlyExitsZero() throws IOException {
    Path narrower = newPolicy("exec: {approval: manual, approvers: [sre-leads]}",
        "exec: {approval: manual, approvers: [sre-leads], minApprovals: 2}");
    assertEquals(0, run("policy", "diff", oldFile.toString(), narrower.toString()), out.toString());
    assertTrue(out.toString().contains("NARROWS  oncall-debug actions.exec: approvals needed 1 → 2"), out.toString());
    assertEquals(0, run("policy", "diff", oldFile.toString(), oldFile.toString()));
    assertTrue(out.toString().contains("no change in access"), out.toString());
  }

  @Test
  void errorsExitTwo() throws IOException {
    Path broken = Files.writeString(dir.resolve("broken.yaml"), OLD.replace("maxDuration: PT1H", "maxDuration: 1h"));
    assertEquals(2, run("policy", "diff", oldFile.toString(), broken.toString()));
    assertTrue(err.toString().contains("maxDuration"), err.toString());
    assertEquals(2, run("policy", "diff", oldFile.toString(), dir.resolve("missing.yaml").toString()));
    assertEquals(2, run("policy", "diff", oldFile.toString(), oldFile.toString(), "--against",
        dir.resolve("no-such-audit.jsonl").toString()));
    Path badLog = Files.writeString(dir.resolve("bad.jsonl"), "{\"seq\":1}\n");
    assertEquals(2, run("policy", "diff", oldFile.toString(), oldFile.toString(), "--against", badLog.toString()));
    Path badCorpus = Files.writeString(dir.resolve("corpus.json"), "[1]");
    assertEquals(2, run("policy", "diff", oldFile.toString(), oldFile.toString(), "--corpus", badCorpus.toString()));
    assertEquals(64, run("policy", "diff", oldFile.toString(), oldFile.toString(), "--format", "html"));
  }

  @Test
  void againstARecordedLogInJsonAndMarkdown() throws IOException {
    Path log = dir.resolve("audit/audit.jsonl");
    Identity alice = Identity.of("alice", "oncall-payments").assertedBy("oidc");
    try (FileAuditSink sink = FileAuditSink.builder(log).withoutSignatures().open()) {
      JitBroker broker = JitBroker.builder().policy(PolicyEngine.of(PolicyLoader.load(oldFile, "v1")))
          .store(RequestStore.inMemory()).auditSink(sink).rbacProvisioner(RbacProvisioner.inMemory()).build();
      RequestRecord exec = broker.submit(AccessRequest.builder().requester(alice).role("oncall-debug")
          .action(Action.EXEC).scope(Scope.namespace("prod", "payments")).ticket("INC-7").build());
      broker.approve(exec.id(), Identity.of("carol", "sre-leads"), "ok");
      Activation act = broker.activate(exec.id(), alice);
      broker.authorize(act.grant().id(), alice, Use.commandLine("ps aux"));
      broker.authorize(act.grant().id(), alice, Use.commandLine("ps aux"));
      broker.authorize(act.grant().id(), alice, Use.command(java.util.List.of("cat", "/var/log/app.log")));
    }
    Path narrower = newPolicy("        - {id: processes, command: ps, flags: [aux], operands: []}\n", "");
    assertEquals(0, run("policy", "diff", oldFile.toString(), narrower.toString(), "--against", log.toString(),
        "--format", "json"), err.toString());
    JsonNode json = new ObjectMapper().readTree(out.toString());
    assertEquals(false, json.get("widens").asBoolean());
    assertEquals(1, json.get("replay").get("requests").asInt());
    assertEquals(3, json.get("replay").get("commands").asInt());
    JsonNode flip = json.get("replay").get("flips").get(0);
    assertEquals("ALLOW_TO_DENY", flip.get("kind").asText());
    assertEquals(2, flip.get("count").asInt());
    assertEquals("ps aux", flip.get("top").get(0).get("subject").asText());
    assertEquals(1, json.get("replay").get("flips").size(), out.toString());

    assertEquals(0, run("policy", "diff", oldFile.toString(), narrower.toString(), "--against", log.toString(),
        "--format", "markdown"));
    assertTrue(out.toString().startsWith("### Policy diff: narrows access only"), out.toString());
    assertTrue(out.toString().contains("| command | allow → deny | 2 | oncall-debug: 2 | 2× `ps aux` |"), out.toString());
  }
}
