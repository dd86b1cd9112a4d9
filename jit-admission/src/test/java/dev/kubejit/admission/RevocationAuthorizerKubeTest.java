package dev.kubejit.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.Grant;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.Scope;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.rbac.KubernetesRbacProvisioner;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import dev.kubejit.testing.Kubectl;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Revoke → first 403 for a plain {@code kubectl get pods}, measured against real API servers: with
 * the authorization webhook ({@link RevocationAuthorizer}; its own control plane started with
 * {@code Node,Webhook,RBAC} and 1 s decision caches) while the grant's RoleBinding stays in place,
 * and without it (the shared control plane) where the broker's real RBAC provisioner removes the
 * binding.
 */
@KubeTest
class RevocationAuthorizerKubeTest {
  private static final String NS = "payments-authz";
  private static Lab lab;
  private static WebhookServer server;
  private static KubeControlPlane withWebhook;

  @BeforeAll
  static void start() throws Exception {
    lab = new Lab();
    Path dir = Files.createTempDirectory("kubejit-authz-test");
    RevocationAuthorizer authorizer = RevocationAuthorizer.of(lab.cache, lab.audit, lab.clock);
    server = WebhookServer.start(dir, 0, "/authorize", authorizer::handle);
    Path kubeconfig = dir.resolve("authz.kubeconfig");
    Files.writeString(kubeconfig, RevocationAuthorizer.apiServerKubeconfig(
        URI.create("https://127.0.0.1:" + server.port() + "/authorize"), server.caPem));
    withWebhook = KubeControlPlane.startWithAuthorizationWebhook(kubeconfig, Duration.ofSeconds(1));
  }

  @AfterAll
  static void stop() {
    if (withWebhook != null) {
      withWebhook.close();
    }
    if (server != null) {
      server.close();
    }
  }

  private static void bind(KubeControlPlane cp, Grant g) throws Exception {
    Kubectl.run(cp.adminKubeconfig(), null, "create", "namespace", NS);
    String name = "grant-" + g.id().value();
    Kubectl.run(cp.adminKubeconfig(), null, "-n", NS, "create", "role", name, "--verb=get,list",
        "--resource=pods").ok();
    Kubectl.run(cp.adminKubeconfig(), null, "-n", NS, "create", "rolebinding", name, "--role=" + name,
        "--group=" + g.subjectGroup()).ok();
  }

  /** Polls {@code kubectl get pods} until it is forbidden; returns the milliseconds since {@code t0}. */
  private static long untilForbidden(Path kc, long t0, String expected) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (true) {
      Kubectl.Result r = Kubectl.run(kc, null, "-n", NS, "get", "pods");
      if (r.exit() != 0) {
        assertTrue(r.err().contains("Forbidden") && r.err().contains(expected), r::toString);
        return (System.nanoTime() - t0) / 1_000_000;
      }
      assertTrue(System.nanoTime() < deadline, "still allowed 60 s after revoke: " + r);
    }
  }

  @Test
  void withTheAuthorizationWebhookRevocationStopsTheNextRequestWhileRbacStillAllows() throws Exception {
    Grant g = lab.execGrant();
    bind(withWebhook, g);
    Path kc = withWebhook.kubeconfigFor("alice", g.subjectGroup());
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    Kubectl.Result before;
    do {
      before = Kubectl.run(kc, null, "-n", NS, "get", "pods");
    } while (before.exit() != 0 && System.nanoTime() < deadline);
    assertEquals(0, before.exit(), before::toString);
    long t0 = System.nanoTime();
    lab.broker.revoke(g.requestId(), Lab.CAROL, "incident closed");
    long millis = untilForbidden(kc, t0, "REVOKED");
    Kubectl.run(withWebhook.adminKubeconfig(), null, "-n", NS, "get", "rolebinding", "grant-" + g.id().value()).ok();
    System.out.println("revoke -> first 403 on get pods WITH the authorization webhook (RoleBinding still there, "
        + "1 s cache TTL): " + millis + " ms");
    // A user without a grant group gets no opinion: RBAC alone decides.
    Kubectl.run(withWebhook.adminKubeconfig(), null, "-n", NS, "get", "pods").ok();
  }

  @Test
  void withoutItTheBrokersRbacRemovalEndsAccess(KubeControlPlane shared) throws Exception {
    RequestStore store = RequestStore.inMemory();
    JitBroker broker = JitBroker.builder().policy(lab.policy).store(store).auditSink(AuditSink.inMemory())
        .rbacProvisioner(KubernetesRbacProvisioner.builder(shared.adminClient()).maxGrantDuration(Duration.ofHours(8))
            .clock(Clock.systemUTC()).build()).build();
    Kubectl.run(shared.adminKubeconfig(), null, "create", "namespace", NS);
    RequestRecord r = broker.submit(AccessRequest.builder().requester(Lab.ALICE).role("oncall-debug")
        .action(Action.LOGS).scope(Scope.namespace("prod", NS)).ticket("INC-17").justification("t").build());
    Grant g = broker.activate(r.id(), Lab.ALICE).grant();
    Path kc = shared.kubeconfigFor("alice", g.subjectGroup());
    Kubectl.Result before = Kubectl.run(kc, null, "-n", NS, "get", "pods");
    assertEquals(0, before.exit(), before::toString);
    long t0 = System.nanoTime();
    broker.revoke(r.id(), Lab.ALICE, "done");
    long millis = untilForbidden(kc, t0, "cannot list resource");
    System.out.println("revoke -> first 403 on get pods WITHOUT the authorization webhook (broker deletes the "
        + "RoleBinding first): " + millis + " ms");
  }
}
