package dev.kubejit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Identity;
import dev.kubejit.api.Scope;
import dev.kubejit.audit.AuditKeys;
import dev.kubejit.audit.FileAuditSink;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class AuditCommandTest {
  private static final Instant T = Instant.parse("2026-01-01T10:00:00Z");
  private static final GrantId G = GrantId.random();
  @TempDir Path dir;
  private Path log;
  private Path pub;
  private StringWriter out;
  private StringWriter err;

  @BeforeEach
  void writeLog() {
    KeyPair key = AuditKeys.generate();
    pub = AuditKeys.writePublicKey(key.getPublic(), dir.resolve("audit.pub"));
    log = dir.resolve("audit.jsonl");
    try (FileAuditSink s = FileAuditSink.builder(log).signingKey(key).open()) {
      s.write(List.of(
          AuditEvent.builder(AuditEventType.GRANT_ACTIVATED, T).actor(Identity.of("alice", "oncall")).grantId(G)
              .scope(Scope.namespace("prod", "payments")).attribute("requester", "alice")
              .attribute("subjectGroup", "jit:grant:" + G.value()).attribute("grantedAt", T.toString())
              .attribute("expiresAt", T.plusSeconds(600).toString()).build(),
          AuditEvent.builder(AuditEventType.REQUEST_CREATED, T.plusSeconds(5)).actor(Identity.of("bob", "oncall"))
              .scope(Scope.namespace("prod", "orders")).build()));
    }
  }

  private int run(String... args) {
    out = new StringWriter();
    err = new StringWriter();
    CommandLine cli = Main.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    String[] all = new String[args.length + 1];
    all[0] = "audit";
    System.arraycopy(args, 0, all, 1, args.length);
    return cli.execute(all);
  }

  @Test
  void verifyReportsSealedAndTampered() throws Exception {
    assertEquals(0, run("verify", log.toString(), "--public-key", pub.toString()), err.toString());
    assertTrue(out.toString().startsWith("SEALED: OK"), out.toString());
    List<String> lines = Files.readAllLines(log);
    lines.set(0, lines.get(0).replace("alice", "mallory"));
    Files.write(log, lines);
    assertEquals(AuditCommand.TAMPERED, run("verify", log.toString(), "--public-key", pub.toString()));
    assertTrue(out.toString().contains("TAMPERED at seq 1 (MODIFIED)"), out.toString());
  }

  @Test
  void verifyTreatsAnOpenLogAsFailureUnlessAllowed() throws Exception {
    List<String> lines = Files.readAllLines(log);
    Files.write(log, lines.subList(0, 2));
    assertEquals(AuditCommand.OPEN, run("verify", log.toString(), "--public-key", pub.toString()));
    assertEquals(0, run("verify", log.toString(), "--public-key", pub.toString(), "--allow-open"));
  }

  @Test
  void missingKeyFileIsOneLineOnStderr() {
    assertEquals(1, run("verify", log.toString(), "--public-key", dir.resolve("nope.pem").toString()));
    assertTrue(err.toString().startsWith("kubejit: key file not found"), err.toString());
    assertEquals(1, err.toString().strip().split("\n").length, err.toString());
  }

  @Test
  void queryFiltersAndPrintsJsonLines() {
    assertEquals(0, run("query", log.toString(), "--user", "alice", "--json"));
    assertEquals(1, out.toString().strip().split("\n").length, out.toString());
    assertTrue(out.toString().startsWith("{\"seq\":1,"), out.toString());
    assertEquals(0, run("query", log.toString(), "--namespace", "orders", "--since", "2026-01-01T10:00:01Z"));
    assertTrue(out.toString().contains("REQUEST_CREATED\tbob"), out.toString());
    assertEquals(64, run("query", log.toString(), "--since", "yesterday"));
    assertTrue(err.toString().contains("--since is not an RFC 3339 time"), err.toString());
    assertEquals(64, run("query", log.toString(), "--type", "NOPE"));
  }

  @Test
  void correlateListsCallsPerGrantAndOutside() throws Exception {
    Path kube = dir.resolve("kube.log");
    Files.writeString(kube, event("in", T.plusSeconds(10)) + "\n" + event("late", T.plusSeconds(700)) + "\n");
    assertEquals(0, run("correlate", "--jit", log.toString(), "--k8s", kube.toString()), err.toString());
    String text = out.toString();
    assertTrue(text.contains("grant " + G.value() + " user=alice") && text.contains("calls=1"), text);
    assertTrue(text.contains("get pods/log payments/api-0 200 auditID=in"), text);
    assertTrue(text.contains("outside any active grant window: 1") && text.contains("auditID=late"), text);
  }

  private static String event(String id, Instant t) {
    return "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"auditID\":\"" + id + "\",\"stage\":\"ResponseComplete\","
        + "\"verb\":\"get\",\"requestURI\":\"/x\",\"user\":{\"username\":\"alice\",\"groups\":[\"jit:grant:" + G.value()
        + "\"]},\"objectRef\":{\"resource\":\"pods\",\"subresource\":\"log\",\"namespace\":\"payments\",\"name\":\"api-0\"},"
        + "\"responseStatus\":{\"code\":200},\"requestReceivedTimestamp\":\"" + t + "\"}";
  }
}
