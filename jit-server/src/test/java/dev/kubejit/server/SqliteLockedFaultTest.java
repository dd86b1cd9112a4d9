package dev.kubejit.server;

import static dev.kubejit.server.FaultRig.ALICE;
import static dev.kubejit.server.FaultRig.CAROL;
import static dev.kubejit.server.FaultRig.assertUnavailable;
import static dev.kubejit.server.FaultRig.ok;
import static dev.kubejit.server.FaultRig.submit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.InMemoryAuditSink;
import dev.kubejit.store.jdbc.JdbcRequestStore;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
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
  @TempDir Path dir;
  private final FaultRig rig = new FaultRig();
  private final InMemoryAuditSink audit = AuditSink.inMemory();
  private int aborted;

  /** A refused call either recorded nothing or ended what it recorded with TRANSITION_ABORTED. */
  private void unavailable(java.util.function.Supplier<HttpReply> call) throws IOException {
    int before = audit.events().size();
    HttpReply r = call.get();
    List<String> added = auditTypes().subList(before, audit.events().size());
    assertTrue(added.isEmpty() || added.get(added.size() - 1).equals("TRANSITION_ABORTED"),
        "a refused transition's records end with TRANSITION_ABORTED: " + added);
    aborted += added.isEmpty() ? 0 : 1;
    assertUnavailable(r, "store_unavailable", "nothing was done");
  }

  private List<String> auditTypes() {
    return audit.events().stream().map(AuditEvent::type).map(Enum::name).collect(Collectors.toList());
  }

  @Test
  void aStoreLockedByAnotherProcessFailsCleanlyAndNothingPartialRemains() throws Exception {
    Path file = dir.resolve("kubejit.db");
    rig.start(JdbcRequestStore.builder().sqlite(file).busyTimeout(Duration.ofMillis(300)).build(), audit);
    String id = ok(201, rig.call("POST", "/api/v1/requests", ALICE, submit("exec", "lock test"))).path("id").asText();
    ok(200, rig.call("POST", "/api/v1/requests/" + id + "/approve", CAROL, TestBroker.json("comment", "ok")));
    List<String> before = auditTypes();

    Process sqlite = new ProcessBuilder("sqlite3", file.toString()).redirectErrorStream(true).start();
    try {
      Writer in = new java.io.OutputStreamWriter(sqlite.getOutputStream(), StandardCharsets.UTF_8);
      BufferedReader out = new BufferedReader(new InputStreamReader(sqlite.getInputStream(), StandardCharsets.UTF_8));
      in.write("BEGIN IMMEDIATE;\n.print locked\n");
      in.flush();
      String line = out.readLine();
      assertEquals("locked", line, "sqlite3 took the write lock");

      String logs = submit("logs", "lock test");
      unavailable(() -> rig.call("POST", "/api/v1/requests", ALICE, logs));
      unavailable(() -> rig.call("POST", "/api/v1/requests/" + id + "/activate", ALICE, rig.csr));
      assertEquals("APPROVED", rig.state(id), "reads still work (WAL) and show no partial activation");
      assertTrue(rig.rbac.provisioned().isEmpty(), "no RBAC left behind by the failed activation: " + rig.rbac.provisioned());
      assertEquals(1, ok(200, rig.call("GET", "/api/v1/requests", ALICE, "")).path("items").size());

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

    ok(200, rig.call("POST", "/api/v1/requests/" + id + "/activate", ALICE, rig.csr));
    assertEquals("ACTIVE", rig.state(id));
    assertEquals(1, rig.rbac.provisioned().size());
    ok(201, rig.call("POST", "/api/v1/requests", ALICE, submit("logs", "lock test")));
    assertEquals(2, ok(200, rig.call("GET", "/api/v1/requests", ALICE, "")).path("items").size());
  }
}
