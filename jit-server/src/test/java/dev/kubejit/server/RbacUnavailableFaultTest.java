package dev.kubejit.server;

import static dev.kubejit.server.FaultRig.ALICE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.EndCause;
import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.ProvisionerUnavailableException;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.InMemoryAuditSink;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The HTTP API over a broker whose RBAC provisioner cannot reach its cluster (what
 * {@code KubernetesRbacProvisioner} throws on a refused connection, 429 or 5xx), without a control
 * plane: activation is 503 {@code provisioning_unavailable} and changes nothing; revocation is 202
 * REVOKING, the grant authorises nothing, and the sweep records REVOKED once the cluster is back.
 * {@code ApiServerOutageFaultTest} does the same against a real kube-apiserver that is stopped.
 */
class RbacUnavailableFaultTest {
  private final FaultRig rig = new FaultRig();
  private final InMemoryAuditSink audit = AuditSink.inMemory();
  private final Unreachable cluster = new Unreachable();

  /** In-memory RBAC behind a switch that makes every call fail as an unreachable API server does. */
  private final class Unreachable implements RbacProvisioner {
    final AtomicBoolean down = new AtomicBoolean();
    final AtomicInteger failedCalls = new AtomicInteger();

    @Override
    public void provision(Grant grant) {
      check();
      rig.rbac.provision(grant);
    }

    @Override
    public void deprovision(Grant grant, EndCause cause) {
      check();
      rig.rbac.deprovision(grant, cause);
    }

    private void check() {
      if (down.get()) {
        failedCalls.incrementAndGet();
        throw new ProvisionerUnavailableException("cannot create Role/payments/x: HTTP 0 connection refused"
            + " (https://10.1.2.3:6443)", null);
      }
    }
  }

  @Test
  void activationIsRefusedWith503AndRecordsNothing() throws Exception {
    rig.start(RequestStore.inMemory(), audit, cluster);
    String id = FaultRig.ok(201, rig.call("POST", "/api/v1/requests", ALICE, FaultRig.submit("logs", "outage")))
        .path("id").asText();
    cluster.down.set(true);
    HttpReply r = rig.call("POST", "/api/v1/requests/" + id + "/activate", ALICE, rig.csr);
    FaultRig.assertUnavailable(r, "provisioning_unavailable", "nothing was granted");
    assertFalse(r.bodyText().contains("10.1.2.3"), "the cluster's address stays in the log: " + r.bodyText());
    assertEquals("APPROVED", rig.state(id));
    assertTrue(rig.rbac.provisioned().isEmpty());
    assertTrue(audit.events(AuditEventType.GRANT_ACTIVATED).isEmpty());
    cluster.down.set(false);
    FaultRig.ok(200, rig.call("POST", "/api/v1/requests/" + id + "/activate", ALICE, rig.csr));
    assertEquals("ACTIVE", rig.state(id));
    assertEquals(1, rig.rbac.provisioned().size());
  }

  @Test
  void revocationIs202RevokingUntilTheSweepRemovesTheBinding() throws Exception {
    rig.start(RequestStore.inMemory(), audit, cluster);
    String id = FaultRig.ok(201, rig.call("POST", "/api/v1/requests", ALICE, FaultRig.submit("logs", "outage")))
        .path("id").asText();
    JsonNode act = FaultRig.ok(200, rig.call("POST", "/api/v1/requests/" + id + "/activate", ALICE, rig.csr));
    GrantId grant = GrantId.parse(act.path("grant").path("id").asText());
    cluster.down.set(true);

    JsonNode revoking = FaultRig.ok(202, rig.call("POST", "/api/v1/requests/" + id + "/revoke", ALICE,
        "{\"reason\":\"laptop lost\"}"));
    assertEquals("REVOKING", revoking.path("state").asText());
    assertEquals("REVOKED", revoking.path("ended").path("cause").asText());
    assertEquals("alice", revoking.path("ended").path("by").asText());
    assertEquals("REVOKING", rig.state(id));
    assertTrue(rig.rbac.isProvisioned(grant), "the binding is still there while the cluster is unreachable");
    assertEquals(0, FaultRig.ok(200, rig.call("GET", "/api/v1/grants?active=true", ALICE, "")).path("items").size());
    HttpReply reissue = rig.call("POST", "/api/v1/grants/" + grant.value() + "/credentials", ALICE, rig.csr);
    assertEquals(409, reissue.status(), reissue.bodyText());
    assertTrue(reissue.bodyText().contains("is being revoked"), reissue.bodyText());
    assertEquals(1, FaultRig.ok(200, rig.call("GET", "/api/v1/requests?state=REVOKING", ALICE, ""))
        .path("items").size());

    for (int i = 0; i < 3; i++) {
      assertEquals(0, rig.broker.expireDue());
    }
    assertEquals(4, cluster.failedCalls.get(), "the revoke and three sweeps each tried once");
    assertEquals("REVOKING", rig.state(id));

    cluster.down.set(false);
    assertEquals(1, rig.broker.expireDue());
    assertEquals("REVOKED", rig.state(id));
    assertFalse(rig.rbac.isProvisioned(grant));
    assertEquals(1, audit.events(AuditEventType.GRANT_REVOKING).size());
    assertEquals(1, audit.events(AuditEventType.GRANT_REVOKED).size());
    HttpReply again = rig.call("POST", "/api/v1/requests/" + id + "/revoke", ALICE, "{}");
    assertEquals(409, again.status(), again.bodyText());
  }
}
