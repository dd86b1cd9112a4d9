package dev.kubejit.policy;

import static dev.kubejit.policy.Fixtures.ALICE;
import static dev.kubejit.policy.Fixtures.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.Action;
import dev.kubejit.api.Activation;
import dev.kubejit.api.ApprovalRefusedException;
import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.Decision;
import dev.kubejit.api.Identity;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.NotificationType;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.Use;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.InMemoryAuditSink;
import dev.kubejit.api.spi.InMemoryNotifier;
import dev.kubejit.api.spi.Notifier;
import dev.kubejit.api.spi.RbacProvisioner;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The approval rows of the decision table through the real {@link JitBroker} (jit-api) with this
 * engine, an in-memory audit sink and notifier: the broker enforces self-approval and distinct
 * approvers; the engine says who may approve and how many.
 */
class BrokerIntegrationTest {
  private final InMemoryAuditSink audit = AuditSink.inMemory();
  private final InMemoryNotifier notifier = Notifier.inMemory();

  private JitBroker broker(PolicyFormat f) {
    return JitBroker.builder().clock(Clock.fixed(Fixtures.T0, ZoneOffset.UTC))
        .policy(PolicyEngine.of(Fixtures.example(f))).store(dev.kubejit.api.spi.RequestStore.inMemory()).auditSink(audit).notifier(notifier)
        .rbacProvisioner(RbacProvisioner.inMemory()).build();
  }

  @ParameterizedTest
  @EnumSource(PolicyFormat.class)
  void carolApprovesAlicesExecAndAliceRunsAllowedCommandsOnly(PolicyFormat f) {
    JitBroker broker = broker(f);
    Identity carol = Identity.of("carol", "sre-leads");
    RequestRecord rec = broker.submit(request(ALICE, "oncall-debug", Action.EXEC, "payments-eu")
        .duration(Duration.ofMinutes(45)).ticket("INC-42").build());
    assertEquals(RequestState.PENDING_APPROVAL, rec.state());
    rec = broker.approve(rec.id(), carol, "ok");
    assertEquals(RequestState.APPROVED, rec.state(), "one approval from sre-leads suffices");

    Activation act = broker.activate(rec.id(), ALICE);
    assertEquals(Optional.of("oncall-debug"), act.grant().rbacTemplate());
    String digest = Fixtures.example(f).digest();
    assertEquals(Optional.of(digest), act.grant().policyDigest());
    Decision ok = broker.authorize(act.grant().id(), ALICE, Use.commandLine("cat /var/log/app.log"));
    assertEquals(Decision.Outcome.ALLOW, ok.outcome());
    Decision no = broker.authorize(act.grant().id(), ALICE, Use.commandLine("cat /etc/shadow"));
    assertEquals(Decision.Outcome.DENY, no.outcome());

    AuditEvent denied = audit.events(AuditEventType.COMMAND_DENIED).get(0);
    assertEquals(Optional.of("read-logs"), denied.ruleId());
    assertEquals(Optional.of(digest), denied.policyDigest(), "the audit record names the deciding policy");
    assertEquals(Optional.of("abc123"), denied.policyRevision());
  }

  @ParameterizedTest
  @EnumSource(PolicyFormat.class)
  void carolCannotApproveHerOwnRequestEvenThoughSheIsAnApprover(PolicyFormat f) {
    JitBroker broker = broker(f);
    Identity carol = Identity.of("carol", "oncall-payments", "sre-leads");
    RequestRecord rec = broker.submit(request(carol, "oncall-debug", Action.EXEC, "payments")
        .ticket("INC-43").build());
    assertEquals(RequestState.PENDING_APPROVAL, rec.state());
    ApprovalRefusedException e = assertThrows(ApprovalRefusedException.class,
        () -> broker.approve(rec.id(), carol, "self"));
    assertEquals(ApprovalRefusedException.Reason.SELF_APPROVAL, e.reason());
    assertEquals(RequestState.PENDING_APPROVAL, broker.find(rec.id()).orElseThrow().state());
  }

  @ParameterizedTest
  @EnumSource(PolicyFormat.class)
  void portForwardNeedsTwoDistinctApprovers(PolicyFormat f) {
    JitBroker broker = broker(f);
    RequestRecord rec = broker.submit(request(ALICE, "oncall-debug", Action.PORT_FORWARD, "payments")
        .ticket("INC-44").build());
    rec = broker.approve(rec.id(), Identity.of("carol", "sre-leads"), null);
    assertEquals(RequestState.PENDING_APPROVAL, rec.state(), "1 of 2");
    RequestRecord id = rec;
    assertThrows(ApprovalRefusedException.class, () -> broker.approve(id.id(), Identity.of("carol", "sre-leads"), null));
    rec = broker.approve(rec.id(), Identity.of("dave", "sre-leads"), null);
    assertEquals(RequestState.APPROVED, rec.state());
  }

  @ParameterizedTest
  @EnumSource(PolicyFormat.class)
  void breakGlassAlertsTheNotifierAndRecordsAReviewAsRequired(PolicyFormat f) {
    JitBroker broker = broker(f);
    Identity carol = Identity.of("carol", "sre-leads");
    RequestRecord rec = broker.submit(request(carol, "break-glass", Action.EXEC, "kube-system")
        .justification("gateway down").build());
    assertEquals(RequestState.APPROVED, rec.state(), "auto");
    assertTrue(rec.reviewRequired());
    Activation act = broker.activate(rec.id(), carol);
    assertEquals(Duration.ofMinutes(15), act.grant().duration());
    assertTrue(act.grant().breakGlass());
    assertEquals(1, notifier.notifications(NotificationType.BREAK_GLASS_USED).size());
    assertEquals(1, audit.events(AuditEventType.BREAK_GLASS_USED).size());
  }
}
