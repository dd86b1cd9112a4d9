package dev.kubejit.samples.embedded;

import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.Decision;
import dev.kubejit.api.Grant;
import dev.kubejit.api.Identity;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.Scope;
import dev.kubejit.api.Use;
import dev.kubejit.api.spi.AccessPolicy;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import java.time.Duration;
import java.util.List;

/** The README's embedding example: a ChatOps-style flow on in-memory components. */
public final class EmbeddedBroker {
  private EmbeddedBroker() {}

  /** Runs the example and returns the decision for one command in the exec session. */
  public static Decision run() {
    // --8<-- [readme]
    JitBroker broker = JitBroker.builder()
        .policy(AccessPolicy.staticRules().role("oncall-debug", r -> r
            .requesters("oncall-payments").namespaces("payments")
            .durations(Duration.ofMinutes(30), Duration.ofHours(1))
            .manual(Action.EXEC, 1, "sre-leads").commands("cat")).build())
        .store(RequestStore.inMemory())             // this process only; jit-store-jdbc: JdbcRequestStore
        .auditSink(AuditSink.inMemory())            // jit-audit: FileAuditSink
        .rbacProvisioner(RbacProvisioner.inMemory()) // jit-rbac: KubernetesRbacProvisioner
        .build();
    Identity alice = Identity.of("alice", List.of("oncall-payments"), "slack");
    RequestRecord req = broker.submit(AccessRequest.builder().requester(alice)
        .role("oncall-debug").action(Action.EXEC).scope(Scope.namespace("prod", "payments"))
        .duration(Duration.ofMinutes(45)).ticket("INC-42").build());
    broker.approve(req.id(), Identity.of("carol", List.of("sre-leads"), "slack"), "go");
    Grant grant = broker.activate(req.id(), alice).grant();
    Decision d = broker.authorize(grant.id(), alice, Use.command(List.of("cat", "/var/log/app.log")));
    // --8<-- [readme]
    return d;
  }

  /** Prints the decision. */
  public static void main(String[] args) {
    System.out.println(run());
  }
}
