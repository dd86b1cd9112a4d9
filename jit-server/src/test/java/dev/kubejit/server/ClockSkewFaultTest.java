package dev.kubejit.server;

import static dev.kubejit.server.FaultRig.ALICE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kubejit.testing.PostgresServer;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fault: one of two replicas sharing a PostgreSQL store runs with its clock two minutes ahead. Both
 * sweep expiry every {@value #TICK_S} s. The service's clock follows PostgreSQL's, so the skewed
 * replica neither expires a grant early on the other's behalf nor stamps the grant and its
 * certificate with its own future time; the grant still ends, on time, by one replica or the other.
 */
class ClockSkewFaultTest {
  private static final long TICK_S = 5;
  private static final Duration SKEW = Duration.ofMinutes(2);
  private static final Duration GRANT = Duration.ofSeconds(30);

  @TempDir Path honestDir;
  @TempDir Path skewedDir;

  @Test
  void aReplicaTwoMinutesAheadExpiresNothingEarly() throws Exception {
    assertEquals(TICK_S, ServerWiring.EXPIRY_TICK.toSeconds());
    try (PostgresServer pg = PostgresServer.start()) {
      String url = pg.jdbcUrl(pg.createDatabase());
      twoReplicas("PostgreSQL", honestDir, TestBroker.postgresStore(honestDir, url, pg.superuser(), pg.password()),
          skewedDir, TestBroker.postgresStore(skewedDir, url, pg.superuser(), pg.password()), Duration.ofSeconds(1),
          Duration.ofSeconds(TICK_S + 10));
    }
  }

  /**
   * Two replicas on one store ({@code honestStore} and {@code skewedStore} name the same one), the
   * second with its clock {@link #SKEW} ahead; a grant of {@link #GRANT} activated through each
   * must end neither early nor later than {@code lateBound}, and the one activated through the
   * skewed replica is stamped with the store's time, within {@code stampTolerance} of this
   * machine's (the reference clock's resolution: 1 s for an HTTP {@code Date}).
   */
  static void twoReplicas(String store, Path honestDir, String honestStore, Path skewedDir, String skewedStore,
      Duration stampTolerance, Duration lateBound) throws Exception {
    // The skewed replica starts first: on the Kubernetes store it takes the expiry Lease and sweeps alone.
    try (TestBroker skewed = TestBroker.replica(skewedDir, skewedStore, "", Clock.offset(Clock.systemUTC(), SKEW));
        TestBroker honest = TestBroker.replica(honestDir, honestStore, "", Clock.systemUTC())) {
      // One grant activated through each replica; the skewed one must end neither early.
      String honestId = activate(honest, "honest");
      Instant honestDue = dueAt(honest, honestId);
      String body = TestBroker.json("role", "oncall-debug", "action", "logs", "cluster", "prod", "namespace",
          "payments", "duration", GRANT.toString(), "ticket", "INC-1", "reason", "clock skew");
      String id = skewed.post("/api/v1/requests", ALICE, body).expect(201).json.path("id").asText();
      Instant before = Instant.now();
      JsonNode act = skewed.post("/api/v1/requests/" + id + "/activate", ALICE,
          TestBroker.json("csr", TestBroker.csr("alice"))).expect(200).json;
      Instant after = Instant.now();
      Instant expiresAt = Instant.parse(act.path("grant").path("expiresAt").asText());
      Duration lateHonest = watch(honest, honestId, honestDue, lateBound);
      Duration lateSkewed = watch(honest, id, expiresAt, lateBound);
      Instant grantedAt = Instant.parse(act.path("grant").path("grantedAt").asText());
      // The store runs on this machine: its clock is the real one; the skewed replica's would be 2 min on.
      assertTrue(!grantedAt.isBefore(before.minus(stampTolerance)) && !grantedAt.isAfter(after.plus(stampTolerance)),
          "the grant is stamped with the store's time, not the skewed replica's: " + before + " <= " + grantedAt
              + " <= " + after);
      assertEquals(grantedAt.plus(GRANT), expiresAt);
      Instant notBefore = Instant.parse(act.path("credentials").get(0).path("notBefore").asText());
      assertFalse(notBefore.isAfter(after), "the certificate is valid now, not from the skewed clock's future: " + notBefore);

      System.out.println("MEASURED clock skew (" + store + " store): replica clock +" + SKEW.toSeconds() + " s, grants of "
          + GRANT.toSeconds() + " s expired " + lateHonest.toMillis() + " ms (activated through the honest replica) and "
          + lateSkewed.toMillis() + " ms (through the skewed one) after they were due (sweep every " + TICK_S
          + " s); on its own clock the skewed replica would have expired them " + SKEW.minus(GRANT).toSeconds()
          + " s or more early");
    }
  }

  private static String activate(TestBroker replica, String reason) throws Exception {
    String body = TestBroker.json("role", "oncall-debug", "action", "logs", "cluster", "prod", "namespace",
        "payments", "duration", GRANT.toString(), "ticket", "INC-1", "reason", reason);
    String id = replica.post("/api/v1/requests", ALICE, body).expect(201).json.path("id").asText();
    replica.post("/api/v1/requests/" + id + "/activate", ALICE, TestBroker.json("csr", TestBroker.csr("alice")))
        .expect(200);
    return id;
  }

  private static Instant dueAt(TestBroker replica, String id) throws Exception {
    return Instant.parse(replica.get("/api/v1/requests/" + id, ALICE).expect(200).json.path("grant").path("expiresAt")
        .asText());
  }

  /** Watches the grant until it ends; asserts it ended (expired) no earlier than due and returns how late. */
  private static Duration watch(TestBroker replica, String id, Instant expiresAt, Duration lateBound) throws Exception {
    JsonNode ended = null;
    Instant endedSeen = null;
    while (Instant.now().isBefore(expiresAt.plus(Duration.ofSeconds(60)))) {
      JsonNode r = replica.get("/api/v1/requests/" + id, ALICE).expect(200).json;
      Instant seen = Instant.now();
      if (!r.path("state").asText().equals("ACTIVE")) {
        endedSeen = seen;
        ended = r;
        break;
      }
      Thread.sleep(250);
    }
    assertTrue(ended != null, "grant of " + id + " was never expired");
    assertEquals("EXPIRED", ended.path("state").asText(), ended.toString());
    Instant endedAt = Instant.parse(ended.path("ended").path("at").asText());
    assertFalse(endedAt.isBefore(expiresAt), "expired early: at " + endedAt + ", due " + expiresAt);
    assertFalse(endedSeen.isBefore(expiresAt), "seen expired before it was due: " + endedSeen + " < " + expiresAt);
    Duration late = Duration.between(expiresAt, endedAt);
    assertTrue(late.compareTo(lateBound) <= 0, "expired " + late + " late, more than " + lateBound);
    return late;
  }
}
