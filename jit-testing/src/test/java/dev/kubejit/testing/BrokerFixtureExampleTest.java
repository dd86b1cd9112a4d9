package dev.kubejit.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.ApprovalRefusedException;
import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.Identity;
import dev.kubejit.api.NotificationType;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.Scope;
import dev.kubejit.api.spi.AccessPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The example of docs/testing.md, run by the build (the doc must contain it verbatim). */
class BrokerFixtureExampleTest {
  // --8<-- [fixture-example]
  @RegisterExtension
  final BrokerFixture jit = BrokerFixture.builder()
      .policy(AccessPolicy.staticRules().role("oncall-debug", r -> r
          .requesters("oncall-payments").namespaces("payments")
          .durations(Duration.ofMinutes(30), Duration.ofHours(1))
          .auto(Action.LOGS).manual(Action.EXEC, 1, "sre-leads")).build())
      .build();

  final Identity alice = Identity.of("alice", List.of("oncall-payments")).assertedBy("test");

  @Test
  void logsAreGrantedAtOnceAndEndOnTime() {
    RequestRecord r = jit.broker().submit(AccessRequest.builder().requester(alice)
        .role("oncall-debug").action(Action.LOGS).scope(Scope.namespace("prod", "payments"))
        .ticket("INC-7").build());
    assertEquals(RequestState.APPROVED, r.state());
    jit.broker().activate(r.id(), alice);
    assertTrue(jit.rbac().provisioned().size() == 1);

    jit.clock().advance(Duration.ofMinutes(31));           // default duration is 30 minutes
    assertEquals(1, jit.broker().expireDue());
    assertTrue(jit.rbac().provisioned().isEmpty());
    assertEquals(List.of(AuditEventType.REQUEST_CREATED, AuditEventType.REQUEST_APPROVED,
            AuditEventType.GRANT_ACTIVATED, AuditEventType.GRANT_EXPIRED),
        jit.audit().events().stream().map(AuditEvent::type).collect(Collectors.toList()));
  }

  @Test
  void nobodyApprovesTheirOwnExec() {
    Identity lead = Identity.of("Alice", List.of("sre-leads")).assertedBy("chat");  // same person, other case
    RequestRecord r = jit.broker().submit(AccessRequest.builder().requester(alice)
        .role("oncall-debug").action(Action.EXEC).scope(Scope.namespace("prod", "payments"))
        .ticket("INC-7").build());
    assertThrows(ApprovalRefusedException.class, () -> jit.broker().approve(r.id(), lead, "ok"));
    assertEquals(1, jit.notifications().notifications(NotificationType.PENDING_APPROVAL).size());
  }
  // --8<-- [fixture-example]

  @Test
  void eachTestStartsFromNothing() {
    assertTrue(jit.audit().events().isEmpty());
    assertTrue(jit.notifications().notifications().isEmpty());
    assertEquals(FakeClock.DEFAULT_START, jit.clock().instant());
  }

  @Test
  void docsShowThisExampleVerbatim() throws Exception {
    Path root = Path.of(System.getProperty("kubejit.projectRoot", "..")).toAbsolutePath().normalize();
    String source = Files.readString(root.resolve(
        "jit-testing/src/test/java/dev/kubejit/testing/BrokerFixtureExampleTest.java"));
    String marker = "// --8<-- [fixture-example]\n";
    int from = source.indexOf(marker) + marker.length();
    String snippet = source.substring(from, source.indexOf("  " + marker, from))
        .lines().map(l -> l.startsWith("  ") ? l.substring(2) : l).collect(Collectors.joining("\n", "", "\n"));
    assertTrue(snippet.contains("@RegisterExtension"), snippet);
    String doc = Files.readString(root.resolve("docs/testing.md"));
    assertTrue(doc.contains(snippet), "docs/testing.md must contain the fixture example verbatim:\n" + snippet);
  }

  @Test
  void outsideATestTheFixtureSaysHowToRegisterIt() {
    BrokerFixture detached = BrokerFixture.builder().policy(AccessPolicy.staticRules().role("r", r -> r
        .requesters("g").namespaces("n").auto(Action.LOGS)).build()).build();
    IllegalStateException e = assertThrows(IllegalStateException.class, detached::broker);
    assertTrue(e.getMessage().contains("@RegisterExtension"), e.getMessage());
    assertThrows(IllegalStateException.class, () -> BrokerFixture.builder().build());
  }
}
