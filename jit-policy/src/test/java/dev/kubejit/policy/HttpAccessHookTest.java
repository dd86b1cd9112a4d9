package dev.kubejit.policy;

import static dev.kubejit.policy.Fixtures.ALICE;
import static dev.kubejit.policy.Fixtures.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.kubejit.api.AccessDeniedException;
import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.HookAnswer;
import dev.kubejit.api.Identity;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.spi.AccessHook;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.InMemoryAuditSink;
import dev.kubejit.api.spi.InMemoryRbacProvisioner;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link HttpAccessHook} against a local HTTP server (the JDK's), and through the real {@link
 * JitBroker}: allow, refusal with the hook's reason, timeout, HTTP 500, bad JSON, a slow answer
 * within the timeout and a body trickled past it, an unreachable hook; the signature is checked
 * with {@code openssl dgst -hmac}, an implementation independent of ours.
 */
class HttpAccessHookTest {
  private static final String SECRET = "s3cret-hook-key-0123456789";
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;
  private HttpServer server;
  private ExecutorService pool;
  private volatile Responder responder;
  private final BlockingQueue<Received> received = new LinkedBlockingQueue<>();
  private Path secretFile;

  private record Received(String timestamp, String signature, byte[] body) {}

  @FunctionalInterface
  private interface Responder {
    void respond(HttpExchange ex) throws Exception;
  }

  @BeforeEach
  void start() throws IOException {
    pool = Executors.newCachedThreadPool();
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(pool);
    server.createContext("/hook", ex -> {
      try {
        byte[] body = ex.getRequestBody().readAllBytes();
        received.add(new Received(ex.getRequestHeaders().getFirst("X-KubeJIT-Timestamp"),
            ex.getRequestHeaders().getFirst("X-KubeJIT-Signature"), body));
        responder.respond(ex);
      } catch (InterruptedException stop) {
        Thread.currentThread().interrupt();
      } catch (Exception e) {
        // the client may have given up; nothing to do
      } finally {
        ex.close();
      }
    });
    server.start();
    secretFile = Files.writeString(dir.resolve("hook.key"), SECRET + "\n");
    Files.setPosixFilePermissions(secretFile, PosixFilePermissions.fromString("rw-------"));
  }

  @AfterEach
  void stop() {
    server.stop(0);
    pool.shutdownNow();
  }

  private static void reply(HttpExchange ex, int status, String body) throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().add("Content-Type", "application/json");
    ex.sendResponseHeaders(status, b.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(b);
    }
  }

  private Policy policy(String timeout) {
    String yaml = Fixtures.text("policies/payments-oncall.yaml").replace("    rbac:\n      template: oncall-debug\n",
        "    rbac:\n      template: oncall-debug\n    accessHook:\n      name: ticket-check\n      url: http://127.0.0.1:"
            + server.getAddress().getPort() + "/hook\n      secretFile: " + secretFile + "\n      timeout: " + timeout + "\n");
    return Fixtures.parse(yaml, PolicyFormat.YAML);
  }

  private HttpAccessHook hook(String timeout) {
    return HttpAccessHook.forPolicy(policy(timeout)).clock(Clock.fixed(Fixtures.T0, ZoneOffset.UTC)).build();
  }

  private static AccessRequest logsRequest() {
    return request(ALICE, "oncall-debug", Action.LOGS, "payments").ticket("INC-42").justification("pager").build();
  }

  private HookAnswer ask(HttpAccessHook hook) {
    return hook.check(AccessHook.Stage.REQUEST, RequestId.random(), logsRequest()).orElseThrow();
  }

  @Test
  void allowsAndSignsTheBodyAsOpensslComputesIt() throws Exception {
    responder = ex -> reply(ex, 200, "{\"allow\": true, \"reason\": \"INC-42 is open and assigned to alice\"}");
    HookAnswer a = ask(hook("PT5S"));
    assertTrue(a.allowed(), a.toString());
    assertEquals("ticket-check", a.hook());
    assertEquals("INC-42 is open and assigned to alice", a.reason());

    Received r = received.poll(5, TimeUnit.SECONDS);
    assertEquals(Long.toString(Fixtures.T0.getEpochSecond()), r.timestamp());
    JsonNode body = JSON.readTree(r.body());
    assertEquals("request", body.get("stage").asText());
    assertEquals("alice", body.get("requester").get("user").asText());
    assertEquals("INC-42", body.get("ticket").asText());
    assertEquals("payments", body.get("namespace").asText());
    Path signed = dir.resolve("signed");
    Files.write(signed, concat((r.timestamp() + ".").getBytes(StandardCharsets.US_ASCII), r.body()));
    Process p = new ProcessBuilder("openssl", "dgst", "-sha256", "-hmac", SECRET, "-r", signed.toString())
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    assertEquals(0, p.waitFor(), out);
    assertEquals("v1=" + out.split(" ")[0].trim(), r.signature());
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  @Test
  void refusalCarriesTheHooksReason() {
    responder = ex -> reply(ex, 200, "{\"allow\": false, \"reason\": \"INC-42 is closed\\nFAKE LOG LINE\"}");
    HookAnswer a = ask(hook("PT5S"));
    assertFalse(a.allowed());
    assertEquals("INC-42 is closed\\u000aFAKE LOG LINE", a.reason(), "a newline cannot forge a log line");
  }

  @Test
  void failuresRefuse() {
    HttpAccessHook hook = hook("PT5S");
    responder = ex -> reply(ex, 500, "{\"allow\": true}");
    assertRefused(ask(hook), "answered HTTP 500");
    responder = ex -> reply(ex, 200, "{\"allow\": tru");
    assertRefused(ask(hook), "invalid JSON");
    responder = ex -> reply(ex, 200, "{\"allow\": \"true\"}");
    assertRefused(ask(hook), "without a boolean \"allow\"");
    responder = ex -> reply(ex, 200, "{\"allow\": true, \"override\": 1}");
    assertRefused(ask(hook), "unknown field");
    responder = ex -> reply(ex, 200, "{\"allow\": true}{\"allow\": false}");
    assertRefused(ask(hook), "invalid JSON");
    responder = ex -> reply(ex, 200, "[true]");
    assertRefused(ask(hook), "not answer with a JSON object");
    responder = ex -> reply(ex, 302, "");
    assertRefused(ask(hook), "answered HTTP 302");
  }

  @Test
  void slowAnswerWithinTheTimeoutCounts() {
    responder = ex -> {
      Thread.sleep(500);
      reply(ex, 200, "{\"allow\": true, \"reason\": \"slow but fine\"}");
    };
    HookAnswer a = ask(hook("PT10S"));
    assertTrue(a.allowed(), a.toString());
  }

  @Test
  void noAnswerWithinTheTimeoutRefuses() {
    responder = ex -> Thread.sleep(60_000);
    assertRefused(ask(hook("PT1S")), "did not answer within PT1S");
  }

  @Test
  void bodyTrickledPastTheTimeoutRefuses() {
    responder = ex -> {
      ex.sendResponseHeaders(200, 0);
      OutputStream out = ex.getResponseBody();
      out.write("{\"allow\":".getBytes(StandardCharsets.UTF_8));
      out.flush();
      Thread.sleep(60_000);
      out.write(" true}".getBytes(StandardCharsets.UTF_8));
      out.close();
    };
    assertRefused(ask(hook("PT1S")), "did not answer within PT1S");
  }

  @Test
  void unreachableHookRefuses() {
    HttpAccessHook hook = hook("PT5S");
    server.stop(0);
    assertRefused(ask(hook), "could not be reached");
  }

  @Test
  void rolesWithoutAHookAreNotChecked() {
    HttpAccessHook hook = hook("PT5S");
    assertEquals(java.util.Set.of("oncall-debug"), hook.roles());
    AccessRequest bg = request(Identity.of("carol", "sre-leads"), "break-glass", Action.EXEC, "payments")
        .justification("outage").build();
    assertTrue(hook.check(AccessHook.Stage.REQUEST, RequestId.random(), bg).isEmpty());
    assertFalse(hook.toString().contains(SECRET));
  }

  @Test
  void secretFilesMustBePrivateAndLongEnough() throws IOException {
    Policy p = policy("PT5S");
    Files.setPosixFilePermissions(secretFile, PosixFilePermissions.fromString("rw-r--r--"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HttpAccessHook.forPolicy(p).build());
    assertTrue(e.getMessage().contains("readable by group or others"), e.getMessage());
    Files.writeString(secretFile, "short\n");
    Files.setPosixFilePermissions(secretFile, PosixFilePermissions.fromString("rw-------"));
    e = assertThrows(IllegalArgumentException.class, () -> HttpAccessHook.forPolicy(p).build());
    assertFalse(e.getMessage().contains("short"), "the secret is never in a message");
    Files.delete(secretFile);
    assertThrows(IllegalArgumentException.class, () -> HttpAccessHook.forPolicy(p).build());
  }

  @Test
  void loaderRefusesPlainHttpToOtherHostsAndUnknownFields() {
    String base = Fixtures.text("policies/payments-oncall.yaml");
    String hook = "    rbac:\n      template: oncall-debug\n    accessHook:\n      name: t\n      url: %s\n"
        + "      secretFile: /etc/kubejit/hook.key\n%s";
    PolicyException e = assertThrows(PolicyException.class, () -> Fixtures.parse(base.replace(
        "    rbac:\n      template: oncall-debug\n", String.format(hook, "http://tickets.example/hook", "")),
        PolicyFormat.YAML));
    assertTrue(e.getMessage().contains("must use https"), e.getMessage());
    e = assertThrows(PolicyException.class, () -> Fixtures.parse(base.replace(
        "    rbac:\n      template: oncall-debug\n", String.format(hook, "https://tickets.example/hook",
            "      retries: 3\n")), PolicyFormat.YAML));
    assertTrue(e.getMessage().contains("retries"), e.getMessage());
    e = assertThrows(PolicyException.class, () -> Fixtures.parse(base.replace(
        "    rbac:\n      template: oncall-debug\n", String.format(hook, "https://tickets.example/hook",
            "      timeout: PT5M\n")), PolicyFormat.YAML));
    assertTrue(e.getMessage().contains("must not exceed"), e.getMessage());
    Policy ok = Fixtures.parse(base.replace("    rbac:\n      template: oncall-debug\n",
        String.format(hook, "https://tickets.example/hook", "")), PolicyFormat.YAML);
    assertTrue(ok.canonicalJson().contains("\"accessHook\":{\"name\":\"t\",\"secretFile\":\"/etc/kubejit/hook.key\","
        + "\"timeout\":\"PT5S\",\"url\":\"https://tickets.example/hook\"}"), ok.canonicalJson());
    assertEquals(ok.digest(), PolicyLoader.parse(ok.canonicalJson().getBytes(StandardCharsets.UTF_8), PolicyFormat.JSON,
        "canonical.json", null).digest(), "the canonical form loads to the same digest");
  }

  private static void assertRefused(HookAnswer a, String reasonPart) {
    assertFalse(a.allowed(), a.toString());
    assertTrue(a.reason().contains(reasonPart), a.reason());
  }

  // ---- through the broker ----

  private final InMemoryAuditSink audit = AuditSink.inMemory();
  private final InMemoryRbacProvisioner rbac = RbacProvisioner.inMemory();

  private JitBroker broker(AccessHook hook) {
    return JitBroker.builder().clock(Clock.fixed(Fixtures.T0, ZoneOffset.UTC)).policy(PolicyEngine.of(policy("PT5S")))
        .store(RequestStore.inMemory()).auditSink(audit).rbacProvisioner(rbac).accessHook(hook).build();
  }

  @Test
  void brokerDeniesARequestTheHookRefusesAndRecordsWhy() {
    responder = ex -> reply(ex, 200, "{\"allow\": false, \"reason\": \"INC-42 is assigned to bob\"}");
    RequestRecord rec = broker(hook("PT5S")).submit(logsRequest());
    assertEquals(RequestState.DENIED, rec.state());
    assertEquals("hook:ticket-check", rec.decision().ruleId().orElseThrow());
    assertTrue(rec.decision().reason().contains("INC-42 is assigned to bob"), rec.decision().reason());
    AuditEvent created = audit.events(AuditEventType.REQUEST_CREATED).get(0);
    assertEquals("false", created.attributes().get("accessHookAllowed"));
    assertEquals("INC-42 is assigned to bob", created.attributes().get("accessHookReason"));
    assertEquals("ticket-check", created.attributes().get("accessHook"));
  }

  @Test
  void approversSeeTheAnswerAndActivationAsksAgainBeforeProvisioning() {
    responder = ex -> reply(ex, 200, "{\"allow\": true, \"reason\": \"INC-42 is open\"}");
    JitBroker broker = broker(hook("PT5S"));
    RequestRecord rec = broker.submit(request(ALICE, "oncall-debug", Action.EXEC, "payments").ticket("INC-42").build());
    assertEquals(RequestState.PENDING_APPROVAL, rec.state());
    Identity carol = Identity.of("carol", "sre-leads");
    RequestRecord seen = broker.pendingFor(carol).get(0);
    assertTrue(seen.decision().reason().endsWith("; access hook ticket-check allowed: INC-42 is open"),
        seen.decision().reason());
    broker.approve(rec.id(), carol, "ok");

    responder = ex -> reply(ex, 200, "{\"allow\": false, \"reason\": \"INC-42 was closed\"}");
    AccessDeniedException e = assertThrows(AccessDeniedException.class, () -> broker.activate(rec.id(), ALICE));
    assertTrue(e.getMessage().contains("INC-42 was closed"), e.getMessage());
    assertEquals(RequestState.APPROVED, broker.find(rec.id()).orElseThrow().state(), "a refusal changes no state");
    assertTrue(rbac.provisioned().isEmpty(), "nothing was provisioned");
    AuditEvent refused = audit.events(AuditEventType.ACCESS_HOOK_REFUSED).get(0);
    assertEquals("ACTIVATION", refused.attributes().get("stage"));
    assertEquals("INC-42 was closed", refused.attributes().get("accessHookReason"));
    assertTrue(audit.events(AuditEventType.GRANT_ACTIVATED).isEmpty());

    responder = ex -> reply(ex, 200, "{\"allow\": true, \"reason\": \"INC-42 reopened\"}");
    broker.activate(rec.id(), ALICE);
    assertEquals(RequestState.ACTIVE, broker.find(rec.id()).orElseThrow().state());
    assertEquals("INC-42 reopened", audit.events(AuditEventType.GRANT_ACTIVATED).get(0).attributes()
        .get("accessHookReason"));
    assertEquals(3, received.size(), "asked at submission and at both activations");
  }

  @Test
  void aHookThatThrowsOrReturnsNullRefuses() {
    RequestRecord rec = broker((stage, id, r) -> {
      throw new IllegalStateException("boom");
    }).submit(logsRequest());
    assertEquals(RequestState.DENIED, rec.state());
    assertTrue(rec.decision().reason().contains("failed (IllegalStateException)"), rec.decision().reason());
    RequestRecord rec2 = broker((stage, id, r) -> null).submit(logsRequest());
    assertEquals(RequestState.DENIED, rec2.state());
  }

  @Test
  void aRequestThePolicyDeniesNeverReachesTheHook() {
    responder = ex -> reply(ex, 200, "{\"allow\": true}");
    RequestRecord rec = broker(hook("PT5S")).submit(request(Fixtures.BOB, "oncall-debug", Action.LOGS, "payments")
        .ticket("INC-1").build());
    assertEquals(RequestState.DENIED, rec.state());
    assertEquals("oncall-debug/requesters", rec.decision().ruleId().orElseThrow());
    assertTrue(received.isEmpty());
  }
}
