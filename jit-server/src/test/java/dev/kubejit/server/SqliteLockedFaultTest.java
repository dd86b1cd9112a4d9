package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.InMemoryAuditSink;
import dev.kubejit.api.spi.InMemoryRbacProvisioner;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.credentials.GrantCredentialIssuer;
import dev.kubejit.credentials.KeyType;
import dev.kubejit.credentials.X509Issuer;
import dev.kubejit.policy.PolicyEngine;
import dev.kubejit.policy.PolicyFormat;
import dev.kubejit.policy.PolicyLoader;
import dev.kubejit.store.jdbc.JdbcRequestStore;
import dev.kubejit.testing.FakeClock;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fault: another process holds the SQLite store's write lock for longer than the busy timeout
 * (the real {@code sqlite3} shell in {@code BEGIN IMMEDIATE}; the store runs in WAL mode, so reads
 * still work). Every write transition is answered 503 {@code store_unavailable} with a clear
 * message, nothing of it is visible afterwards (state, RBAC), and once the lock is released the
 * same transitions succeed.
 */
class SqliteLockedFaultTest {
  private static final String ALICE = "alice;oncall-payments";
  private static final String CAROL = "carol;sre-leads";
  @TempDir Path dir;
  private final FakeClock clock = new FakeClock(Instant.now().truncatedTo(ChronoUnit.SECONDS));
  private final InMemoryAuditSink audit = AuditSink.inMemory();
  private final InMemoryRbacProvisioner rbac = RbacProvisioner.inMemory();
  private BrokerHttpApi api;
  private int aborted;
  private final String CSR = csrBody();

  private static String csrBody() {
    try {
      return TestBroker.json("csr", TestBroker.csr("alice"));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private BrokerHttpApi api(RequestStore store) throws IOException {
    byte[] policy;
    try (InputStream in = SqliteLockedFaultTest.class.getResourceAsStream("/test-policy.json")) {
      policy = in.readAllBytes();
    }
    JitBroker broker = JitBroker.builder().clock(clock)
        .policy(PolicyEngine.of(PolicyLoader.parse(policy, PolicyFormat.JSON, "test-policy.json", "t")))
        .store(store).auditSink(audit).rbacProvisioner(rbac)
        .credentialIssuer(GrantCredentialIssuer.builder().x509(X509Issuer.builder().authority(
            CertificateAuthority.builder().keyType(KeyType.ED25519).commonName("fault-ca").validity(Duration.ofDays(2))
                .clock(clock).generate()).clock(clock).build()).clock(clock).build())
        .build();
    return BrokerHttpApi.builder().broker(broker).authenticator(new DevHeaderAuthenticator("X-User")).build();
  }

  private HttpReply call(String method, String path, String user, String body) {
    return api.handle(HttpCall.of(method, path, null, body.getBytes(StandardCharsets.UTF_8),
        Presented.of(Map.of("X-User", user, "Content-Type", "application/json"), List.of(), "127.0.0.1")));
  }

  private JsonNode ok(int status, HttpReply r) throws IOException {
    assertEquals(status, r.status(), r.bodyText());
    return Json.MAPPER.readTree(r.body());
  }

  /** A refused call either recorded nothing or ended what it recorded with TRANSITION_ABORTED. */
  private void unavailable(java.util.function.Supplier<HttpReply> call) throws IOException {
    int before = audit.events().size();
    HttpReply r = call.get();
    List<String> added = auditTypes().subList(before, audit.events().size());
    assertTrue(added.isEmpty() || added.get(added.size() - 1).equals("TRANSITION_ABORTED"),
        "a refused transition's records end with TRANSITION_ABORTED: " + added);
    aborted += added.isEmpty() ? 0 : 1;
    assertEquals(503, r.status(), r.bodyText());
    JsonNode e = Json.MAPPER.readTree(r.body()).path("error");
    assertEquals("store_unavailable", e.path("code").asText(), r.bodyText());
    assertTrue(e.path("message").asText().contains("nothing was done"), r.bodyText());
  }

  private static String submit(String action) throws Exception {
    return TestBroker.json("role", "oncall-debug", "action", action, "cluster", "prod", "namespace", "payments",
        "duration", "PT20M", "ticket", "INC-1", "reason", "lock test");
  }

  private String state(String id) throws IOException {
    return ok(200, call("GET", "/api/v1/requests/" + id, ALICE, "")).path("state").asText();
  }

  private List<String> auditTypes() {
    return audit.events().stream().map(AuditEvent::type).map(Enum::name).collect(Collectors.toList());
  }

  @Test
  void aStoreLockedByAnotherProcessFailsCleanlyAndNothingPartialRemains() throws Exception {
    Path file = dir.resolve("kubejit.db");
    api = api(JdbcRequestStore.builder().sqlite(file).busyTimeout(Duration.ofMillis(300)).build());
    String id = ok(201, call("POST", "/api/v1/requests", ALICE, submit("exec"))).path("id").asText();
    ok(200, call("POST", "/api/v1/requests/" + id + "/approve", CAROL, TestBroker.json("comment", "ok")));
    List<String> before = auditTypes();

    Process sqlite = new ProcessBuilder("sqlite3", file.toString()).redirectErrorStream(true).start();
    try {
      Writer in = new java.io.OutputStreamWriter(sqlite.getOutputStream(), StandardCharsets.UTF_8);
      BufferedReader out = new BufferedReader(new InputStreamReader(sqlite.getInputStream(), StandardCharsets.UTF_8));
      in.write("BEGIN IMMEDIATE;\n.print locked\n");
      in.flush();
      String line = out.readLine();
      assertEquals("locked", line, "sqlite3 took the write lock");

      String logs = submit("logs");
      unavailable(() -> call("POST", "/api/v1/requests", ALICE, logs));
      unavailable(() -> call("POST", "/api/v1/requests/" + id + "/activate", ALICE, CSR));
      assertEquals("APPROVED", state(id), "reads still work (WAL) and show no partial activation");
      assertTrue(rbac.provisioned().isEmpty(), "no RBAC left behind by the failed activation: " + rbac.provisioned());
      assertEquals(1, ok(200, call("GET", "/api/v1/requests", ALICE, "")).path("items").size());

      in.write("ROLLBACK;\n.quit\n");
      in.flush();
      if (!sqlite.waitFor(30, TimeUnit.SECONDS)) {
        fail("sqlite3 did not exit");
      }
    } finally {
      sqlite.destroyForcibly();
    }
    List<String> during = auditTypes().subList(before.size(), auditTypes().size());
    System.out.println("SQLite locked: " + aborted + " refused transitions were recorded and aborted: " + during);

    ok(200, call("POST", "/api/v1/requests/" + id + "/activate", ALICE, CSR));
    assertEquals("ACTIVE", state(id));
    assertEquals(1, rbac.provisioned().size());
    ok(201, call("POST", "/api/v1/requests", ALICE, submit("logs")));
    assertEquals(2, ok(200, call("GET", "/api/v1/requests", ALICE, "")).path("items").size());
  }
}
