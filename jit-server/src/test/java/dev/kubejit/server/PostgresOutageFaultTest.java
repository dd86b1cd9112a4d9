package dev.kubejit.server;

import static dev.kubejit.server.FaultRig.ALICE;
import static dev.kubejit.server.FaultRig.CAROL;
import static dev.kubejit.server.FaultRig.assertUnavailable;
import static dev.kubejit.server.FaultRig.ok;
import static dev.kubejit.server.FaultRig.submit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.InMemoryAuditSink;
import dev.kubejit.store.jdbc.JdbcRequestStore;
import dev.kubejit.testing.PostgresServer;
import java.io.IOException;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Fault: PostgreSQL, the request store, is stopped (fast shutdown, sessions cut) and started again
 * on the same port and data (a server of this test's own). While it is down every call that needs
 * the store is answered 503 {@code store_unavailable}, no RBAC is left behind and nothing is
 * audited; after it is back the same store object reconnects, shows no partial transition, and
 * the refused transitions succeed.
 */
class PostgresOutageFaultTest {
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
  void requestsFailCleanlyWhilePostgresIsDownAndWorkAfterItIsBack() throws Exception {
    try (PostgresServer pg = PostgresServer.start()) {
      String db = pg.createDatabase();
      rig.start(JdbcRequestStore.builder().url(pg.jdbcUrl(db)).credentials(pg.superuser(), pg.password()).build(), audit);
      String id = ok(201, rig.call("POST", "/api/v1/requests", ALICE, submit("exec", "lock test"))).path("id").asText();
      ok(200, rig.call("POST", "/api/v1/requests/" + id + "/approve", CAROL, ""));
      List<String> before = auditTypes();

      pg.stop();
      String logs = submit("logs", "lock test");
      unavailable(() -> rig.call("POST", "/api/v1/requests", ALICE, logs));
      unavailable(() -> rig.call("POST", "/api/v1/requests/" + id + "/activate", ALICE, rig.csr));
      unavailable(() -> rig.call("GET", "/api/v1/requests/" + id, ALICE, ""));
      unavailable(() -> rig.call("GET", "/api/v1/requests", ALICE, ""));
      assertTrue(rig.rbac.provisioned().isEmpty(), "no RBAC left behind by the failed activation: " + rig.rbac.provisioned());
      System.out.println("PostgreSQL down: " + aborted + " refused transitions were recorded and aborted");

      pg.restart();
      assertEquals("APPROVED", rig.state(id), "no partial activation is visible after the outage");
      ok(200, rig.call("POST", "/api/v1/requests/" + id + "/activate", ALICE, rig.csr));
      assertEquals("ACTIVE", rig.state(id));
      assertEquals(1, rig.rbac.provisioned().size());
      ok(201, rig.call("POST", "/api/v1/requests", ALICE, submit("logs", "lock test")));
      assertEquals(2, ok(200, rig.call("GET", "/api/v1/requests", ALICE, "")).path("items").size());
    }
  }
}
