package dev.kubejit.api;

import dev.kubejit.api.spi.AccessPolicy;
import dev.kubejit.api.spi.StaticAccessPolicy;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/** Shared identities, policy and requests for broker tests. */
final class Fixtures {
  static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");
  static final Identity ALICE = Identity.of("alice", List.of("oncall-payments")).assertedBy("test-idp");
  static final Identity BOB = Identity.of("bob", List.of("developers")).assertedBy("test-idp");
  static final Identity CAROL = Identity.of("carol", List.of("sre-leads")).assertedBy("test-idp");
  static final Identity DAVE = Identity.of("dave", List.of("sre-leads")).assertedBy("test-idp");
  static final Identity ERIN = Identity.of("erin", List.of("sre-leads")).assertedBy("test-idp");
  static final Scope PAYMENTS = Scope.namespace("prod", "payments");

  private Fixtures() {}

  static StaticAccessPolicy policy() {
    return AccessPolicy.staticRules()
        .role("oncall-debug", r -> r.requesters("oncall-payments").namespaces("payments", "payments-eu")
            .durations(Duration.ofMinutes(30), Duration.ofHours(1)).rbacTemplate("oncall-debug")
            .auto(Action.LOGS)
            .manual(Action.EXEC, 1, "sre-leads")
            .manual(Action.PORT_FORWARD, 2, "sre-leads")
            .commands("cat", "ls"))
        .role("break-glass", r -> r.requesters("sre-leads").namespaces("*")
            .durations(Duration.ofMinutes(15), Duration.ofMinutes(15)).breakGlass(true)
            .rbacTemplate("jit-debug").auto(Action.LOGS).auto(Action.EXEC))
        .build();
  }

  static AccessRequest.Builder request(Identity who, Action action) {
    return AccessRequest.builder().requester(who).role("oncall-debug").action(action).scope(PAYMENTS)
        .ticket("INC-42").justification("incident");
  }
}
