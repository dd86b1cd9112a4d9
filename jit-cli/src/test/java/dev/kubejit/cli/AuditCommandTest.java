package dev.kubejit.cli;

import static java.nio.charset.StandardCharsets.UTF_8;
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
import java.security.MessageDigest;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class AuditCommandTest {
  private static final Instant T = Instant.parse("2026-01-01T10:00:00Z");
  private static final GrantId G = GrantId.random();
  @TempDir Path dir;
  private KeyPair key;
  private Path log;
  private Path pub;
  private StringWriter out;
  private StringWriter err;

  @BeforeEach
  void writeLog() {
    key = AuditKeys.generate();
    pub = AuditKeys.writePublicKey(key.getPublic(), dir.resolve("audit.pub"));
    log = dir.resolve("audit.jsonl");
    try (FileAuditSink s = FileAuditSink.builder(log).signingKey(key).clock(at(T.plusSeconds(6))).open()) {
      s.write(List.of(
          AuditEvent.builder(AuditEventType.GRANT_ACTIVATED, T).actor(Identity.of("alice", "oncall")).grantId(G)
              .scope(Scope.namespace("prod", "payments")).attribute("requester", "alice")
              .attribute("subjectGroup", "jit:grant:" + G.value()).attribute("grantedAt", T.toString())
              .attribute("expiresAt", T.plusSeconds(600).toString()).build(),
          AuditEvent.builder(AuditEventType.REQUEST_CREATED, T.plusSeconds(5)).actor(Identity.of("bob", "oncall"))
              .scope(Scope.namespace("prod", "orders")).build()));
    }
  }

  private static Clock at(Instant t) {
    return Clock.fixed(t, ZoneOffset.UTC);
  }

  private static AuditEvent event(int second) {
    return AuditEvent.builder(AuditEventType.REQUEST_CREATED, T.plusSeconds(second)).actor(Identity.of("carol", "sre"))
        .scope(Scope.namespace("prod", "payments")).build();
  }

  /** Reopens the log with the signing key read from its PEM file, writes 3 events and closes it. */
  private void reopenAndWriteThree(Path base, Path anchor) throws Exception {
    Path keyFile = dir.resolve("audit-signing.key");
    if (!Files.exists(keyFile)) {
      AuditKeys.writePrivateKey(key.getPrivate(), keyFile);
    }
    FileAuditSink.Builder b = FileAuditSink.builder(base).signingKey(AuditKeys.readKeyPair(keyFile))
        .clock(at(T.plusSeconds(20)));
    try (FileAuditSink s = (anchor == null ? b : b.anchor(anchor)).open()) {
      s.write(List.of(event(20), event(21), event(22)));
    }
  }

  private static String sha256(String line) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(line.getBytes(UTF_8)));
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

  /**
   * The reproduction from the issue: a sealed log, reopened with its signing key, 3 events, closed;
   * then only the lines of the first session are kept. This used to verify as SEALED (exit 0).
   */
  @Test
  void reproduction_aReopenedLogCutBackToItsFirstSessionIsNotAccepted() throws Exception {
    int firstSession = Files.readAllLines(log).size();
    reopenAndWriteThree(log, null);
    List<String> lines = Files.readAllLines(log);
    assertEquals(firstSession + 4, lines.size(), "3 events and a seal; the reopen record took the old seal's place");
    Path cut = dir.resolve("cut.jsonl");
    Files.write(cut, lines.subList(0, firstSession));
    assertEquals(AuditCommand.OPEN, run("verify", cut.toString(), "--public-key", pub.toString()), out.toString());
    assertTrue(out.toString().startsWith("OPEN: "), out.toString());
    assertEquals(0, run("verify", log.toString(), "--public-key", pub.toString()), out.toString());
  }

  @Test
  void withTheAnchorACutBackToAnEarlierSealIsTamperingEvenWithTheOldSealPutBack() throws Exception {
    Path anchored = dir.resolve("anchored.jsonl");
    Path anchor = dir.resolve("witness/anchored.anchor");
    try (FileAuditSink s = FileAuditSink.builder(anchored).signingKey(key).clock(at(T.plusSeconds(6))).anchor(anchor)
        .open()) {
      s.write(List.of(event(1), event(2)));
    }
    List<String> sealedOnce = Files.readAllLines(anchored);
    reopenAndWriteThree(anchored, anchor);
    assertEquals(0, run("verify", anchored.toString(), "--public-key", pub.toString(), "--anchor", anchor.toString()),
        out.toString());
    assertTrue(out.toString().contains("anchor matches"), out.toString());

    Path old = dir.resolve("old.jsonl"); // the log as it was when first sealed (a backup, a shipped copy)
    Files.write(old, sealedOnce);
    assertEquals(0, run("verify", old.toString(), "--public-key", pub.toString()),
        "the documented limit: without the anchor an old sealed copy verifies");
    assertEquals(AuditCommand.TAMPERED, run("verify", old.toString(), "--public-key", pub.toString(), "--anchor",
        anchor.toString()));
    assertTrue(out.toString().startsWith("TAMPERED: TAMPERED at seq 4 (TRUNCATED)"), out.toString());

    Files.write(old, Files.readAllLines(anchored).subList(0, 5));
    assertEquals(AuditCommand.TAMPERED, run("verify", old.toString(), "--public-key", pub.toString(), "--anchor",
        anchor.toString()));
    assertTrue(out.toString().contains("(TRUNCATED)"), out.toString());

    assertEquals(1, run("verify", anchored.toString(), "--public-key", pub.toString(), "--anchor",
        dir.resolve("nope.anchor").toString()));
    assertTrue(err.toString().startsWith("kubejit: anchor file not found"), err.toString());
  }

  @Test
  void withoutAPublicKeyNothingIsProvenAndTheExitCodeSaysSo() throws Exception {
    assertEquals(AuditCommand.UNVERIFIED, run("verify", log.toString()));
    assertTrue(out.toString().startsWith("UNVERIFIED (SEALED): "), out.toString());
    assertTrue(out.toString().contains("signatures NOT checked"), out.toString());

    // rewrite a record and re-chain every later line: only the signature check can tell
    List<String> lines = new ArrayList<>(Files.readAllLines(log));
    lines.set(0, lines.get(0).replace("\"user\":\"alice\"", "\"user\":\"mallory\""));
    for (int i = 1; i < lines.size(); i++) {
      lines.set(i, lines.get(i).replaceFirst("\"prevHash\":\"[0-9a-f]{64}\"",
          "\"prevHash\":\"" + sha256(lines.get(i - 1)) + "\""));
    }
    Files.write(log, lines);
    assertEquals(AuditCommand.UNVERIFIED, run("verify", log.toString()), out.toString());
    assertTrue(out.toString().startsWith("UNVERIFIED"), out.toString());
    assertEquals(AuditCommand.TAMPERED, run("verify", log.toString(), "--public-key", pub.toString()));
    assertTrue(out.toString().contains("(BAD_SIGNATURE)"), out.toString());
  }

  @Test
  void timestampsGoingBackwardsFailWithTheirOwnExitCode() throws Exception {
    Path back = dir.resolve("back.jsonl");
    try (FileAuditSink s = FileAuditSink.builder(back).signingKey(key).clock(at(T.plusSeconds(60))).open()) {
      s.write(List.of(event(50), event(10), event(55)));
    }
    assertEquals(AuditCommand.TIME_WENT_BACKWARDS, run("verify", back.toString(), "--public-key", pub.toString()));
    assertTrue(out.toString().startsWith("SEALED: ") && out.toString().contains("TIME_WENT_BACKWARDS: seq 2 "),
        out.toString());
    assertEquals(0, run("verify", back.toString(), "--public-key", pub.toString(), "--time-tolerance", "40s"),
        out.toString());
    assertEquals(0, run("verify", back.toString(), "--public-key", pub.toString(), "--time-tolerance", "PT1M"));
    assertEquals(AuditCommand.TIME_WENT_BACKWARDS, run("verify", back.toString(), "--public-key", pub.toString(),
        "--time-tolerance", "39999ms"));
    assertEquals(64, run("verify", back.toString(), "--time-tolerance", "soon"));
    assertTrue(err.toString().contains("--time-tolerance is not a duration"), err.toString());
    assertEquals(64, run("verify", back.toString(), "--time-tolerance", "-PT1S"));
  }

  @Test
  void verifyHelpListsEveryExitCode() {
    assertEquals(0, run("verify", "--help"));
    String help = out.toString();
    for (String code : new String[] {"5  TAMPERED", "4  TORN", "3  OPEN", "7  TIME", "6  UNVERIFIED", "0  sealed",
        "--anchor", "--time-tolerance"}) {
      assertTrue(help.contains(code), code + " missing from:\n" + help);
    }
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

  /**
   * A second replica's log: it revokes the grant that the first replica's log activated, at
   * T+30s; its other event (T+3s) falls between the first log's two.
   */
  private Path secondReplicaLog() {
    Path other = dir.resolve("replica-b.jsonl");
    try (FileAuditSink s = FileAuditSink.builder(other).signingKey(key).clock(at(T.plusSeconds(31))).open()) {
      s.write(List.of(
          AuditEvent.builder(AuditEventType.REQUEST_CREATED, T.plusSeconds(3)).actor(Identity.of("dave", "oncall"))
              .scope(Scope.namespace("prod", "payments")).build(),
          AuditEvent.builder(AuditEventType.GRANT_REVOKED, T.plusSeconds(30)).actor(Identity.of("ivan", "ic"))
              .grantId(G).scope(Scope.namespace("prod", "payments")).attribute("requester", "alice").build()));
    }
    return other;
  }

  @Test
  void verifyChecksEachReplicaLogAsItsOwnChain() throws Exception {
    Path other = secondReplicaLog();
    assertEquals(0, run("verify", log.toString(), other.toString(), "--public-key", pub.toString()), out.toString());
    String[] lines = out.toString().strip().split("\n");
    assertEquals(2, lines.length, out.toString());
    assertTrue(lines[0].startsWith(log + ": SEALED") && lines[1].startsWith(other + ": SEALED"), out.toString());
    // Naming a log twice (base and glob-like repeats) verifies it once.
    assertEquals(0, run("verify", log.toString(), log.toString(), "--public-key", pub.toString()));
    assertEquals(1, out.toString().strip().split("\n").length, out.toString());

    List<String> text = Files.readAllLines(other);
    text.set(0, text.get(0).replace("dave", "mallory"));
    Files.write(other, text);
    assertEquals(AuditCommand.TAMPERED, run("verify", log.toString(), other.toString(), "--public-key", pub.toString()));
    assertTrue(out.toString().contains(log + ": SEALED") && out.toString().contains(other + ": TAMPERED"),
        out.toString());
    assertEquals(64, run("verify", log.toString(), other.toString(), "--anchor", dir.resolve("a.anchor").toString()));
    assertTrue(err.toString().contains("--anchor belongs to one log"), err.toString());
  }

  @Test
  void queryMergesReplicaLogsByTime() {
    Path other = secondReplicaLog();
    assertEquals(0, run("query", log.toString(), other.toString()), err.toString());
    String[] lines = out.toString().strip().split("\n");
    assertEquals(4, lines.length, out.toString());
    assertTrue(lines[0].startsWith(log + "\t1\t" + T + "\tGRANT_ACTIVATED"), lines[0]);
    assertTrue(lines[1].startsWith(other + "\t1\t" + T.plusSeconds(3) + "\tREQUEST_CREATED\tdave"), lines[1]);
    assertTrue(lines[2].startsWith(log + "\t2\t" + T.plusSeconds(5) + "\tREQUEST_CREATED\tbob"), lines[2]);
    assertTrue(lines[3].startsWith(other + "\t2\t" + T.plusSeconds(30) + "\tGRANT_REVOKED"), lines[3]);
  }

  @Test
  void correlateEndsAGrantRevokedByAnotherReplica() throws Exception {
    Path other = secondReplicaLog();
    Path kube = dir.resolve("kube.log");
    Files.writeString(kube, event("in", T.plusSeconds(10)) + "\n" + event("after-revoke", T.plusSeconds(40)) + "\n");
    // The revoking replica's log first: only a merge by time sees the activation before the revocation.
    assertEquals(0, run("correlate", "--jit", other.toString(), log.toString(), "--k8s", kube.toString()), err.toString());
    String text = out.toString();
    assertTrue(text.contains("until=" + T.plusSeconds(30)) && text.contains("ended=GRANT_REVOKED"), text);
    assertTrue(text.contains("outside any active grant window: 1") && text.contains("auditID=after-revoke"), text);
  }

  private static String event(String id, Instant t) {
    return "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"auditID\":\"" + id + "\",\"stage\":\"ResponseComplete\","
        + "\"verb\":\"get\",\"requestURI\":\"/x\",\"user\":{\"username\":\"alice\",\"groups\":[\"jit:grant:" + G.value()
        + "\"]},\"objectRef\":{\"resource\":\"pods\",\"subresource\":\"log\",\"namespace\":\"payments\",\"name\":\"api-0\"},"
        + "\"responseStatus\":{\"code\":200},\"requestReceivedTimestamp\":\"" + t + "\"}";
  }
}
