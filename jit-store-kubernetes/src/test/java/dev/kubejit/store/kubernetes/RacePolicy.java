package dev.kubejit.store.kubernetes;

import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.Identity;
import dev.kubejit.api.Scope;
import dev.kubejit.api.spi.AccessPolicy;
import java.time.Duration;
import java.util.List;

/**
 * The policy and the people of the replica tests. Every request needs one approval from
 * sre-leads; role {@code debug} grants 30 minutes, role {@code short} 3 seconds (for expiry).
 */
final class RacePolicy {
  static final Identity CAROL = Identity.of("carol", List.of("sre-leads")).assertedBy("test-idp");
  static final Identity DAVE = Identity.of("dave", List.of("sre-leads")).assertedBy("test-idp");
  static final Duration SHORT = Duration.ofSeconds(3);

  private RacePolicy() {}

  static AccessPolicy policy(String targetNamespace) {
    return AccessPolicy.staticRules()
        .role("debug", r -> r.requesters("oncall").namespaces(targetNamespace)
            .durations(Duration.ofMinutes(30), Duration.ofHours(1)).rbacTemplate("jit-debug")
            .manual(Action.EXEC, 1, "sre-leads"))
        .role("short", r -> r.requesters("oncall").namespaces(targetNamespace)
            .durations(SHORT, SHORT).rbacTemplate("jit-debug").manual(Action.EXEC, 1, "sre-leads"))
        .build();
  }

  static Identity requester(int i) {
    return Identity.of("user-" + (i % 10), List.of("oncall")).assertedBy("test-idp");
  }

  /** Plan of request i: what both replicas try on it (see ReplicaProcess). */
  static int plan(int i) {
    return i % 5;
  }

  static AccessRequest request(int i, String targetNamespace) {
    return AccessRequest.builder().requester(requester(i)).role(plan(i) == 2 ? "short" : "debug")
        .action(Action.EXEC).scope(Scope.namespace("test", targetNamespace)).ticket("INC-" + i).build();
  }
}
