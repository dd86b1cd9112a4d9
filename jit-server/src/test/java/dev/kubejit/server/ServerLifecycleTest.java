package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kubejit.server.TestBroker.Reply;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The broker service over TLS with development-header authentication, driven by a real HTTP client. */
class ServerLifecycleTest {
  static final String ALICE = "alice;oncall-payments";
  static final String BOB = "bob;oncall-payments";
  static final String CAROL = "carol;sre-leads";
  static final String DAVE = "dave;sre-leads";

  @TempDir static Path dir;
  static TestBroker broker;

  @BeforeAll
  static void start() throws Exception {
    broker = TestBroker.devHeader(dir);
  }

  @AfterAll
  static void stop() {
    if (broker != null) {
      broker.close();
    }
  }

  private static String execRequest() throws Exception {
    return TestBroker.json("role", "oncall-debug", "action", "exec", "cluster", "prod", "namespace", "payments",
        "duration", "PT20M", "ticket", "INC-7", "reason", "thread dump");
  }

  private static String submitExec() throws Exception {
    Reply r = broker.post("/api/v1/requests", ALICE, execRequest()).expect(201);
    assertEquals("PENDING_APPROVAL", r.json.path("state").asText());
    assertEquals("/api/v1/requests/" + r.json.path("id").asText(), r.raw.headers().firstValue("Location").orElseThrow());
    return r.json.path("id").asText();
  }

  @Test
  void fullLifecycleWithRealCsrReissueAndRevoke() throws Exception {
    String id = submitExec();
    Reply approved = broker.post("/api/v1/requests/" + id + "/approve", CAROL, TestBroker.json("comment", "go")).expect(200);
    assertEquals("APPROVED", approved.json.path("state").asText());
    assertEquals("carol", approved.json.path("approvals").get(0).path("approver").asText());

    Reply refused = broker.post("/api/v1/requests/" + id + "/activate", ALICE,
        TestBroker.json("csr", TestBroker.csr("mallory"))).expectError(400, "invalid_request");
    assertTrue(refused.message().contains("mallory"), refused.message());
    Reply act = broker.post("/api/v1/requests/" + id + "/activate", ALICE,
        TestBroker.json("csr", TestBroker.csr("alice"))).expect(200);
    JsonNode grant = act.json.path("grant");
    assertEquals("ACTIVE", act.json.path("request").path("state").asText());
    String grantId = grant.path("id").asText();
    assertEquals("jit:grant:" + grantId, grant.path("group").asText());
    assertEquals("alice", grant.path("holder").asText());
    Instant expires = Instant.parse(grant.path("expiresAt").asText());
    JsonNode cred = act.json.path("credentials").get(0);
    assertEquals("x509", cred.path("kind").asText());
    X509Certificate cert = TestBroker.parseCertificate(cred.path("certificate").asText());
    assertFalse(cert.getNotAfter().toInstant().isAfter(expires), "certificate outlives the grant");
    String subject = cert.getSubjectX500Principal().getName();
    assertTrue(subject.contains("CN=alice"), subject);
    assertTrue(subject.contains("O=jit:grant:" + grantId), subject);
    assertEquals(cert.getNotAfter().toInstant(), Instant.parse(cred.path("notAfter").asText()));

    Reply re = broker.post("/api/v1/grants/" + grantId + "/credentials", ALICE,
        TestBroker.json("csr", TestBroker.csr("alice"))).expect(200);
    X509Certificate again = TestBroker.parseCertificate(re.json.path("credentials").get(0).path("certificate").asText());
    assertFalse(again.getNotAfter().toInstant().isAfter(expires));
    assertTrue(!again.getSerialNumber().equals(cert.getSerialNumber()));
    broker.post("/api/v1/grants/" + grantId + "/credentials", BOB, TestBroker.json("csr", TestBroker.csr("bob")))
        .expectError(404, "not_found");

    Reply grants = broker.get("/api/v1/grants?active=true", ALICE).expect(200);
    assertTrue(grants.body.contains(grantId));
    assertFalse(broker.get("/api/v1/grants?active=true", BOB).expect(200).body.contains(grantId));

    Reply revoked = broker.post("/api/v1/requests/" + id + "/revoke", CAROL, TestBroker.json("reason", "incident over"))
        .expect(200);
    assertEquals("REVOKED", revoked.json.path("state").asText());
    assertEquals("carol", revoked.json.path("ended").path("by").asText());

    Reply ended = broker.post("/api/v1/grants/" + grantId + "/credentials", ALICE,
        TestBroker.json("csr", TestBroker.csr("alice"))).expectError(409, "grant_ended");
    assertTrue(ended.message().contains("revoked by carol"), ended.message());
    assertTrue(ended.message().contains("incident over"), ended.message());
    assertTrue(ended.message().contains("kubejit request"), ended.message());

    String audit;
    try (Stream<Path> files = Files.list(dir.resolve("audit"))) {
      StringBuilder all = new StringBuilder();
      for (Path f : (Iterable<Path>) files::iterator) {
        all.append(Files.readString(f));
      }
      audit = all.toString();
    }
    assertTrue(audit.contains("CREDENTIAL_ISSUED"), "credential issuance is audited");
    assertTrue(audit.contains("\"reissue\""), "reissue is audited");
  }

  @Test
  void sshPublicKeyGivesAnOpenSshCertificate() throws Exception {
    Path key = dir.resolve("ssh-test-key");
    TestBroker.openssl(dir, "version");
    Process p = new ProcessBuilder("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key.toString())
        .redirectErrorStream(true).start();
    p.getInputStream().readAllBytes();
    if (p.waitFor() != 0) {
      return; // ssh-keygen is not installed here; the x509 path is covered above
    }
    String pub = Files.readString(dir.resolve("ssh-test-key.pub")).strip();
    String id = submitExec();
    broker.post("/api/v1/requests/" + id + "/approve", CAROL, "").expect(200);
    Reply act = broker.post("/api/v1/requests/" + id + "/activate", ALICE, TestBroker.json("sshPublicKey", pub)).expect(200);
    JsonNode cred = act.json.path("credentials").get(0);
    assertEquals("ssh", cred.path("kind").asText());
    assertTrue(cred.path("certificate").asText().startsWith("ssh-ed25519-cert-v01@openssh.com "), cred.toString());
  }

  @Test
  void visibilityAndListing() throws Exception {
    String id = submitExec();
    broker.get("/api/v1/requests/" + id, ALICE).expect(200);
    broker.get("/api/v1/requests/" + id, CAROL).expect(200);
    broker.get("/api/v1/requests/" + id, BOB).expectError(404, "not_found");
    assertTrue(broker.get("/api/v1/requests?state=PENDING", CAROL).expect(200).body.contains(id));
    assertTrue(broker.get("/api/v1/requests?state=PENDING_APPROVAL&requester=alice&role=oncall-debug", ALICE)
        .expect(200).body.contains(id));
    assertFalse(broker.get("/api/v1/requests?requester=bob", ALICE).expect(200).body.contains(id));
    assertFalse(broker.get("/api/v1/requests", BOB).expect(200).body.contains(id));
    broker.get("/api/v1/requests?state=NOPE", ALICE).expectError(400, "invalid_request");
    broker.get("/api/v1/requests?user=alice", ALICE).expectError(400, "unknown_field");
  }

  @Test
  void approvalRefusals() throws Exception {
    String id = submitExec();
    broker.post("/api/v1/requests/" + id + "/approve", "alice;oncall-payments,sre-leads", "")
        .expectError(403, "approval_refused");
    broker.post("/api/v1/requests/" + id + "/approve", BOB, "").expectError(403, "approval_refused");
    broker.post("/api/v1/requests/" + id + "/deny", CAROL, "{}").expectError(400, "invalid_request");
    broker.post("/api/v1/requests/" + id + "/approve", CAROL, "").expect(200);
    broker.post("/api/v1/requests/" + id + "/approve", CAROL, "").expectError(409, "conflict");
    broker.post("/api/v1/requests/" + id + "/activate", BOB, TestBroker.json("csr", TestBroker.csr("bob")))
        .expectError(404, "not_found");
  }

  @Test
  void sameApproverTwiceOnATwoApproverRequest() throws Exception {
    String body = TestBroker.json("role", "oncall-debug", "action", "portforward", "cluster", "prod",
        "namespace", "payments", "ticket", "INC-8", "reason", "db");
    String id = broker.post("/api/v1/requests", ALICE, body).expect(201).json.path("id").asText();
    broker.post("/api/v1/requests/" + id + "/approve", CAROL, "").expect(200);
    Reply twice = broker.post("/api/v1/requests/" + id + "/approve", CAROL, "").expectError(403, "approval_refused");
    assertTrue(twice.message().contains("already"), twice.message());
    Reply second = broker.post("/api/v1/requests/" + id + "/approve", DAVE, "").expect(200);
    assertEquals("APPROVED", second.json.path("state").asText());
  }

  @Test
  void twoApprovalsRacing() throws Exception {
    String id = submitExec();
    CountDownLatch go = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      List<Future<Reply>> results = new ArrayList<>();
      for (String who : List.of(CAROL, DAVE)) {
        Callable<Reply> c = () -> {
          go.await();
          return broker.post("/api/v1/requests/" + id + "/approve", who, "");
        };
        results.add(pool.submit(c));
      }
      go.countDown();
      int ok = 0;
      int conflict = 0;
      for (Future<Reply> f : results) {
        Reply r = f.get();
        if (r.status == 200) {
          ok++;
        } else if (r.status == 409 && r.code().equals("conflict")) {
          conflict++;
        }
      }
      assertEquals(1, ok, "exactly one approval wins");
      assertEquals(1, conflict, "the other gets a conflict");
    } finally {
      pool.shutdownNow();
    }
    Reply rec = broker.get("/api/v1/requests/" + id, ALICE).expect(200);
    assertEquals(1, rec.json.path("approvals").size());
  }

  @Test
  void identityInTheBodyIsRefused() throws Exception {
    for (String field : List.of("requester", "user", "identity", "approver", "groups")) {
      String body = execRequest().replaceFirst("\\{", "{\"" + field + "\":\"carol\",");
      Reply r = broker.post("/api/v1/requests", ALICE, body).expectError(400, "unknown_field");
      assertTrue(r.message().contains("authentication"), r.message());
    }
  }

  @Test
  void malformedOversizedUnknownAndWrongType() throws Exception {
    broker.post("/api/v1/requests", ALICE, "{\"role\": ").expectError(400, "invalid_request");
    broker.post("/api/v1/requests", ALICE, "[]").expectError(400, "invalid_request");
    broker.post("/api/v1/requests", ALICE, "{\"role\":\"a\",\"role\":\"b\"}").expectError(400, "invalid_request");
    broker.post("/api/v1/requests", ALICE, "{\"role\":\"oncall-debug\",\"colour\":\"red\"}")
        .expectError(400, "unknown_field");
    String big = "{\"reason\":\"" + "x".repeat(BrokerHttpApi.MAX_BODY_BYTES) + "\"}";
    broker.post("/api/v1/requests", ALICE, big).expectError(413, "payload_too_large");
    broker.call(broker.client, "POST", "/api/v1/requests", ALICE, execRequest(), "text/plain")
        .expectError(415, "unsupported_media_type");
    broker.call(broker.client, "POST", "/api/v1/requests", ALICE, execRequest(), null)
        .expectError(415, "unsupported_media_type");
    broker.post("/api/v1/requests", ALICE, execRequest().replace("PT20M", "30m")).expectError(400, "invalid_request");
    broker.call("DELETE", "/api/v1/requests", ALICE, null).expectError(405, "method_not_allowed");
    broker.get("/api/v1/nothing-here", ALICE).expectError(404, "not_found");
  }

  @Test
  void privateKeyInTheBodyIsRefusedAndNotLogged() throws Exception {
    String marker = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC" + "SECRETSECRET";
    String pem = "-----BEGIN PRIVATE KEY-----\n" + marker + "\n-----END PRIVATE KEY-----\n";
    String id = submitExec();
    broker.post("/api/v1/requests/" + id + "/approve", CAROL, "").expect(200);
    PrintStream original = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      broker.post("/api/v1/requests/" + id + "/activate", ALICE, TestBroker.json("csr", pem))
          .expectError(400, "private_key_refused");
      broker.post("/api/v1/requests/" + id + "/activate", ALICE,
          TestBroker.json("csr", TestBroker.csr("alice") + pem)).expectError(400, "private_key_refused");
      String escaped = "{\"csr\":\"\\u002d\\u002d\\u002d\\u002d\\u002dBEGIN OPENSSH PRIVATE KEY-----\\n" + marker + "\"}";
      broker.post("/api/v1/requests/" + id + "/activate", ALICE, escaped).expectError(400, "private_key_refused");
      broker.post("/api/v1/requests", ALICE, "{\"reason\":\"" + pem.replace("\n", "\\n") + "\",")
          .expectError(400, "private_key_refused");
    } finally {
      System.setErr(original);
    }
    assertFalse(captured.toString(StandardCharsets.UTF_8).contains(marker), "the key reached the log");
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        if (Files.isRegularFile(f) && !f.getFileName().toString().endsWith(".db")) {
          assertFalse(Files.readString(f, StandardCharsets.ISO_8859_1).contains(marker), "the key was written to " + f);
        }
      }
    }
    assertEquals("APPROVED", broker.get("/api/v1/requests/" + id, ALICE).json.path("state").asText());
  }

  @Test
  void unauthenticatedCallsAreRefusedAndOpenEndpointsAnswer() throws Exception {
    broker.get("/api/v1/requests", null).expectError(401, "unauthenticated");
    broker.get("/api/v1/whoami", ";g").expectError(401, "unauthenticated");
    Reply me = broker.get("/api/v1/whoami", "alice;oncall-payments,x").expect(200);
    assertEquals("alice", me.json.path("user").asText());
    assertEquals("dev-header", me.json.path("source").asText());
    assertEquals(2, me.json.path("groups").size());
    broker.get("/healthz", null).expect(200);
    Reply lc = broker.get("/api/v1/login-config", null).expect(200);
    assertEquals("devHeader", lc.json.path("mode").asText());
    assertEquals("X-KubeJIT-User", lc.json.path("header").asText());
    broker.get("/api/v1/clusters", ALICE).expect(200);
    broker.get("/api/v1/clusters", null).expectError(401, "unauthenticated");
  }

  @Test
  void policyDenialIsA403() throws Exception {
    Reply r = broker.post("/api/v1/requests", ALICE, TestBroker.json("role", "oncall-debug", "action", "logs",
        "cluster", "prod", "namespace", "payments", "ticket", "JIRA-1", "reason", "x")).expectError(403, "policy_denied");
    assertTrue(r.message().contains("request "), r.message());
  }

  @Test
  void plainHttpToTheTlsPortFails() throws Exception {
    URI plain = URI.create("http://127.0.0.1:" + broker.server.port() + "/healthz");
    HttpClient c = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    HttpResponse<String> r;
    try {
      r = c.send(HttpRequest.newBuilder(plain).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      return; // the connection was refused or closed: plain HTTP is not served
    }
    assertTrue(r.statusCode() == 400, "plain HTTP must not be served, got " + r.statusCode() + ": " + r.body());
    assertFalse(r.body().contains("\"status\""), r.body());
  }

  @Test
  void plainHttpIsRefusedOffLoopback() {
    assertThrows(IllegalStateException.class, () -> KubeJitServer.builder(broker.server.api()).listen("0.0.0.0", 0).start());
  }

  private static double metric(String text, String series) {
    for (String line : text.split("\n")) {
      if (line.startsWith(series + " ")) {
        return Double.parseDouble(line.substring(series.length() + 1).strip());
      }
    }
    return 0;
  }

  @Test
  void metricsMoveWithTheLifecycleAndReadinessIsReported() throws Exception {
    synchronized (ServerLifecycleTest.class) {
      String before = broker.get("/metrics", null).expect(200).body;
      String id = submitExec();
      broker.post("/api/v1/requests/" + id + "/approve", CAROL, "").expect(200);
      broker.post("/api/v1/requests/" + id + "/activate", ALICE, TestBroker.json("csr", TestBroker.csr("alice"))).expect(200);
      Reply mid = broker.get("/metrics", null).expect(200);
      assertTrue(mid.raw.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
      String after = mid.body;
      for (String series : List.of("kubejit_requests_total{outcome=\"pending_approval\"}",
          "kubejit_requests_total{outcome=\"approved\"}", "kubejit_requests_total{outcome=\"active\"}",
          "kubejit_approval_latency_seconds_count", "kubejit_audit_write_seconds_count")) {
        assertTrue(metric(after, series) > metric(before, series), series + " did not move:\n" + after);
      }
      assertTrue(metric(after, "kubejit_active_grants") >= 1, after);
      broker.post("/api/v1/requests/" + id + "/revoke", ALICE, "").expect(200);
      String end = broker.get("/metrics", null).body;
      assertTrue(metric(end, "kubejit_requests_total{outcome=\"revoked\"}")
          > metric(after, "kubejit_requests_total{outcome=\"revoked\"}"));
    }
    Reply ready = broker.get("/readyz", null).expect(200);
    assertEquals("ok", ready.json.path("checks").path("store").asText());
    assertEquals("ok", ready.json.path("checks").path("audit").asText());
  }
}
