package dev.kubejit.api;

import static dev.kubejit.api.Fixtures.ALICE;
import static dev.kubejit.api.Fixtures.BOB;
import static dev.kubejit.api.Fixtures.CAROL;
import static dev.kubejit.api.Fixtures.DAVE;
import static dev.kubejit.api.Fixtures.T0;
import static dev.kubejit.api.Fixtures.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.spi.AccessPolicy;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.CredentialIssuer;
import dev.kubejit.api.spi.InMemoryAuditSink;
import dev.kubejit.api.spi.InMemoryNotifier;
import dev.kubejit.api.spi.InMemoryRbacProvisioner;
import dev.kubejit.api.spi.Notifier;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class JitBrokerTest {
  private final TestClock clock = new TestClock(T0);
  private final InMemoryAuditSink audit = AuditSink.inMemory();
  private final AtomicBoolean auditFails = new AtomicBoolean();
  private final InMemoryNotifier notifier = Notifier.inMemory();
  private final InMemoryRbacProvisioner rbac = RbacProvisioner.inMemory();
  private final RequestStore store = RequestStore.inMemory();
  private JitBroker broker;

  @BeforeEach
  void setUp() {
    broker = newBroker(Fixtures.policy());
  }

  private JitBroker newBroker(AccessPolicy policy) {
    return JitBroker.builder()
        .clock(clock)
        .policy(policy)
        .store(store)
        .auditSink(events -> {
          if (auditFails.get()) {
            throw new AuditException("disk full");
          }
          audit.write(events);
        })
        .notifier(notifier)
        .rbacProvisioner(rbac)
        .credentialIssuer(CredentialIssuer.inMemory())
        .requestTimeout(Duration.ofMinutes(20))
        .adminGroups("incident-commanders")
        .build();
  }

  private static CredentialSpec opaque() {
    return CredentialSpec.of(CredentialKind.OPAQUE, null, Map.of());
  }

  @Test
  void autoApprovedLogsRequestRunsTheWholeLifecycle() {
    RequestRecord r = broker.submit(request(ALICE, Action.LOGS).duration(Duration.ofMinutes(30)).build());
    assertEquals(RequestState.APPROVED, r.state());
    assertEquals(Decision.Outcome.ALLOW, r.decision().outcome());

    Activation a = broker.activate(r.id(), ALICE, opaque());
    Grant g = a.grant();
    assertEquals(T0, g.grantedAt());
    assertEquals(T0.plus(Duration.ofMinutes(30)), g.expiresAt());
    assertEquals("jit:grant:" + g.id().value(), g.subjectGroup());
    assertEquals("incident", g.justification().orElseThrow());
    assertEquals("INC-42", g.ticket().orElseThrow());
    assertTrue(rbac.isProvisioned(g.id()));
    assertEquals(1, g.credentials().size());
    assertEquals(g.credentials().get(0), a.credentials().get(0).ref());

    assertTrue(broker.authorize(g.id(), ALICE, Use.action(Action.LOGS)).isAllowed());

    clock.advance(Duration.ofMinutes(30));
    assertEquals(1, broker.expireDue());
    assertFalse(rbac.isProvisioned(g.id()));
    assertEquals(EndCause.EXPIRED, rbac.removed().get(g.id()));
    assertEquals(RequestState.EXPIRED, broker.find(r.id()).orElseThrow().state());
    assertFalse(broker.authorize(g.id(), ALICE, Use.action(Action.LOGS)).isAllowed());

    assertEquals(List.of(AuditEventType.REQUEST_CREATED, AuditEventType.REQUEST_APPROVED,
        AuditEventType.GRANT_ACTIVATED, AuditEventType.CREDENTIAL_ISSUED, AuditEventType.USE_ALLOWED,
        AuditEventType.GRANT_EXPIRED, AuditEventType.USE_DENIED),
        audit.events().stream().map(AuditEvent::type).collect(java.util.stream.Collectors.toList()));
    assertEquals(List.of(NotificationType.APPROVED, NotificationType.ACTIVATED, NotificationType.EXPIRED),
        notifier.notifications().stream().map(Notification::type).collect(java.util.stream.Collectors.toList()));
  }

  @Test
  void auditRecordsCarryWhoWhatWhyAndNoSecret() {
    RequestRecord r = broker.submit(request(ALICE, Action.LOGS).build());
    Activation a = broker.activate(r.id(), ALICE, opaque());
    String token = a.credentials().get(0).material();
    assertEquals(List.of(AuditEventType.REQUEST_CREATED, AuditEventType.REQUEST_APPROVED,
        AuditEventType.GRANT_ACTIVATED, AuditEventType.CREDENTIAL_ISSUED),
        audit.events().stream().map(AuditEvent::type).collect(java.util.stream.Collectors.toList()));
    for (AuditEvent e : audit.events()) {
      assertEquals(r.id(), e.requestId().orElseThrow());
      assertEquals("INC-42", e.ticket().orElseThrow());
      assertEquals("incident", e.justification().orElseThrow());
      assertTrue(e.policyDigest().isPresent(), e.toString());
      assertFalse(e.toString().contains(token));
      assertFalse(e.attributes().containsValue(token));
    }
    assertFalse(a.toString().contains(token));
    assertFalse(a.credentials().get(0).toString().contains(token));
  }

  @Nested
  class Approvals {
    @Test
    void execNeedsOneApproverFromSreLeads() {
      RequestRecord r = broker.submit(request(ALICE, Action.EXEC).build());
      assertEquals(RequestState.PENDING_APPROVAL, r.state());
      assertEquals(1, r.decision().approval().orElseThrow().minApprovals());
      assertEquals(List.of(r), broker.pendingFor(CAROL));
      assertTrue(broker.pendingFor(ALICE).isEmpty());

      RequestRecord approved = broker.approve(r.id(), CAROL, "ok");
      assertEquals(RequestState.APPROVED, approved.state());
      assertEquals(1, approved.approvalCount());
      assertEquals(1, notifier.notifications(NotificationType.PENDING_APPROVAL).size());
      assertEquals(1, notifier.notifications(NotificationType.APPROVED).size());
    }

    @Test
    void selfApprovalIsRefusedEvenForAnApprover() {
      Identity carolAsRequester = Identity.of("carol", List.of("oncall-payments", "sre-leads")).assertedBy("test-idp");
      RequestRecord r = broker.submit(request(carolAsRequester, Action.EXEC).build());
      ApprovalRefusedException e =
          assertThrows(ApprovalRefusedException.class, () -> broker.approve(r.id(), CAROL, null));
      assertEquals(ApprovalRefusedException.Reason.SELF_APPROVAL, e.reason());
      assertEquals(r, broker.find(r.id()).orElseThrow());
    }

    @Test
    void selfApprovalIsRefusedWhateverTheIdentitySource() {
      RequestRecord r = broker.submit(request(ALICE, Action.EXEC).build());
      Identity aliceElsewhere = Identity.of("alice", List.of("sre-leads")).assertedBy("slack");
      assertEquals(ApprovalRefusedException.Reason.SELF_APPROVAL,
          assertThrows(ApprovalRefusedException.class, () -> broker.approve(r.id(), aliceElsewhere, null)).reason());
    }

    /** Issue 9 §2: another spelling of the requester's name is the same person. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"alice", "Alice", "ALICE", "aLiCe"})
    void selfApprovalIsRefusedForEveryCaseOfTheName(String spelling) {
      RequestRecord r = broker.submit(request(ALICE, Action.EXEC).build());
      Identity variant = Identity.of(spelling, List.of("sre-leads")).assertedBy("slack");
      assertEquals(ApprovalRefusedException.Reason.SELF_APPROVAL,
          assertThrows(ApprovalRefusedException.class, () -> broker.approve(r.id(), variant, "go")).reason());
      assertEquals(r, broker.find(r.id()).orElseThrow());
    }

    /** Issue 9 §2: look-alike spellings cannot even become an identity, so they cannot approve. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {
        "\uff41\uff4c\uff49\uff43\uff45", "alice\u200b", "al\u00adice", "\u200dalice", "alice\u2060",
        "ali\ufe0fce", "alic\u0435", "alice\u00a0", "a\u202elice"})
    void lookAlikeSpellingsCannotApprove(String spelling) {
      RequestRecord r = broker.submit(request(ALICE, Action.EXEC).build());
      assertThrows(IllegalArgumentException.class, () -> Identity.of(spelling, List.of("sre-leads")).assertedBy("slack"));
      assertEquals(r, broker.find(r.id()).orElseThrow());
    }

    @Test
    void nOfMCountsDistinctApproversOnce() {
      RequestRecord r = broker.submit(request(ALICE, Action.PORT_FORWARD).build());
      RequestRecord one = broker.approve(r.id(), CAROL, null);
      assertEquals(RequestState.PENDING_APPROVAL, one.state());
      ApprovalRefusedException again =
          assertThrows(ApprovalRefusedException.class, () -> broker.approve(r.id(), CAROL, null));
      assertEquals(ApprovalRefusedException.Reason.ALREADY_VOTED, again.reason());
      Identity carolViaSlack = Identity.of("carol", List.of("sre-leads")).assertedBy("slack");
      assertThrows(ApprovalRefusedException.class, () -> broker.approve(r.id(), carolViaSlack, null));
      assertEquals(RequestState.APPROVED, broker.approve(r.id(), DAVE, null).state());
      assertEquals(List.of(AuditEventType.REQUEST_CREATED, AuditEventType.APPROVAL_RECORDED,
          AuditEventType.REQUEST_APPROVED),
          audit.events().stream().map(AuditEvent::type).collect(java.util.stream.Collectors.toList()));
    }

    @Test
    void nonApproverIsRefused() {
      RequestRecord r = broker.submit(request(ALICE, Action.EXEC).build());
      assertEquals(ApprovalRefusedException.Reason.NOT_AN_APPROVER,
          assertThrows(ApprovalRefusedException.class, () -> broker.approve(r.id(), BOB, null)).reason());
    }

    @Test
    void anyApproverDenialEndsTheRequest() {
      RequestRecord r = broker.submit(request(ALICE, Action.PORT_FORWARD).build());
      broker.approve(r.id(), CAROL, null);
      RequestRecord denied = broker.deny(r.id(), DAVE, "use logs instead");
      assertEquals(RequestState.DENIED, denied.state());
      assertEquals(EndCause.DENIED, denied.endCause().orElseThrow());
      InvalidTransitionException e =
          assertThrows(InvalidTransitionException.class, () -> broker.approve(r.id(), Fixtures.ERIN, null));
      assertEquals(RequestState.DENIED, e.current());
      assertEquals(RequestState.APPROVED, e.attempted());
      assertTrue(e.getMessage().contains("DENIED") && e.getMessage().contains("APPROVED"), e.getMessage());
    }

    @Test
    void approvalsExpireWithTheRequest() {
      RequestRecord r = broker.submit(request(ALICE, Action.EXEC).build());
      clock.set(r.expiresAt().minusNanos(1));
      assertEquals(RequestState.APPROVED, broker.approve(r.id(), CAROL, null).state());

      RequestRecord r2 = broker.submit(request(ALICE, Action.EXEC).build());
      clock.set(r2.expiresAt());
      InvalidTransitionException atExpiry =
          assertThrows(InvalidTransitionException.class, () -> broker.approve(r2.id(), CAROL, null));
      assertTrue(atExpiry.getMessage().contains("expired"), atExpiry.getMessage());
      clock.set(r2.expiresAt().plusSeconds(1));
      assertThrows(InvalidTransitionException.class, () -> broker.approve(r2.id(), CAROL, null));
      assertEquals(RequestState.EXPIRED, broker.expire(r2.id()).state());
    }
  }

  @Nested
  class Activation_ {
    /**
     * An activation whose RBAC work takes 12 s: its records are stamped when written, after that
     * work, so a log of concurrent calls does not go back in time; the grant's window still starts
     * when the call began.
     */
    @Test
    void anActivationsRecordsAreStampedWhenWrittenNotWhenTheCallBegan() {
      RbacProvisioner slow = new RbacProvisioner() {
        @Override
        public void provision(Grant grant) {
          clock.advance(Duration.ofSeconds(12));
          rbac.provision(grant);
        }

        @Override
        public void deprovision(Grant grant, EndCause cause) {
          rbac.deprovision(grant, cause);
        }
      };
      JitBroker b = JitBroker.builder().clock(clock).policy(Fixtures.policy()).store(store).auditSink(audit)
          .rbacProvisioner(slow).credentialIssuer(CredentialIssuer.inMemory()).build();
      RequestRecord r = b.submit(request(ALICE, Action.LOGS).build());
      Instant began = clock.instant();
      Grant g = b.activate(r.id(), ALICE, opaque()).grant();
      assertEquals(began, g.grantedAt(), "the window starts when the call began");
      List<AuditEvent> activated = audit.events(AuditEventType.GRANT_ACTIVATED);
      assertEquals(1, activated.size());
      assertEquals(began.plusSeconds(12), activated.get(0).time(), "stamped when written, after the RBAC work");
      for (AuditEvent e : audit.events(AuditEventType.CREDENTIAL_ISSUED)) {
        assertEquals(began.plusSeconds(12), e.time());
      }
      assertEquals(T0, audit.events(AuditEventType.REQUEST_CREATED).get(0).time());
    }

    @Test
    void onlyTheRequesterActivates() {
      RequestRecord r = broker.submit(request(ALICE, Action.LOGS).build());
      assertThrows(AccessDeniedException.class, () -> broker.activate(r.id(), CAROL, opaque()));
      assertEquals(RequestState.APPROVED, broker.find(r.id()).orElseThrow().state());
      assertTrue(rbac.provisioned().isEmpty());
    }

    @Test
    void pendingRequestCannotBeActivated() {
      RequestRecord r = broker.submit(request(ALICE, Action.EXEC).build());
      InvalidTransitionException e =
          assertThrows(InvalidTransitionException.class, () -> broker.activate(r.id(), ALICE, opaque()));
      assertEquals(RequestState.PENDING_APPROVAL, e.current());
      assertEquals(RequestState.ACTIVE, e.attempted());
    }

    @Test
    void requestPastItsExpiryCannotBeActivated() {
      RequestRecord r = broker.submit(request(ALICE, Action.LOGS).build());
      clock.set(r.expiresAt());
      assertThrows(InvalidTransitionException.class, () -> broker.activate(r.id(), ALICE, opaque()));
      assertTrue(rbac.provisioned().isEmpty());
      clock.set(r.expiresAt().minusNanos(1));
      assertEquals(RequestState.ACTIVE, broker.activate(r.id(), ALICE, opaque()).record().state());
    }

    @Test
    void activatingTwiceIsAnInvalidTransition() {
      RequestRecord r = broker.submit(request(ALICE, Action.LOGS).build());
      broker.activate(r.id(), ALICE, opaque());
      InvalidTransitionException e =
          assertThrows(InvalidTransitionException.class, () -> broker.activate(r.id(), ALICE, opaque()));
      assertEquals(RequestState.ACTIVE, e.current());
    }

    @Test
    void activationWithoutASpecIsRefusedWhenAnIssuerIsConfigured() {
      RequestRecord r = broker.submit(request(ALICE, Action.LOGS).build());
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> broker.activate(r.id(), ALICE));
      assertTrue(e.getMessage().contains("CredentialSpec.x509FromCsr"), e.getMessage());
      assertTrue(rbac.provisioned().isEmpty());
      assertEquals(r, broker.find(r.id()).orElseThrow());
      assertTrue(audit.events(AuditEventType.GRANT_ACTIVATED).isEmpty());
    }

    @Test
    void failedCredentialIssueLeavesNothingProvisioned() {
      RequestRecord r = broker.submit(request(ALICE, Action.LOGS).build());
      assertThrows(ProvisioningException.class,
          () -> broker.activate(r.id(), ALICE, CredentialSpec.x509FromCsr("-----BEGIN CERTIFICATE REQUEST-----")));
      assertTrue(rbac.provisioned().isEmpty());
      assertEquals(RequestState.APPROVED, broker.find(r.id()).orElseThrow().state());
      assertTrue(audit.events(AuditEventType.GRANT_ACTIVATED).isEmpty());
    }

    @Test
    void clampedDurationIsReportedAndApplied() {
      RequestRecord r = broker.submit(request(ALICE, Action.LOGS).duration(Duration.ofHours(2)).build());
      assertTrue(r.decision().durationClamped());
      assertEquals(Duration.ofHours(1), r.decision().grantedDuration().orElseThrow());
      assertEquals("true", audit.events(AuditEventType.REQUEST_CREATED).get(0).attributes().get("durationClamped"));
      assertEquals(Duration.ofHours(1), broker.activate(r.id(), ALICE, opaque()).grant().duration());
    }

    @Test
    void strictDurationIsDenied() {
      RequestRecord r = broker.submit(
          request(ALICE, Action.LOGS).duration(Duration.ofHours(2)).strictDuration(true).build());
      assertEquals(RequestState.DENIED, r.state());
      assertEquals(1, audit.events(AuditEventType.REQUEST_DENIED).size());
    }

    @Test
    void breakGlassAlertsAndRequiresReview() {
      RequestRecord r = broker.submit(AccessRequest.builder().requester(CAROL).role("break-glass")
          .action(Action.EXEC).scope(Scope.namespace("prod", "kube-system")).justification("API down").build());
      assertEquals(RequestState.APPROVED, r.state());
      assertTrue(r.reviewRequired());
      Activation a = broker.activate(r.id(), CAROL, opaque());
      assertEquals(Duration.ofMinutes(15), a.grant().duration());
      assertTrue(a.grant().breakGlass());
      assertEquals(1, audit.events(AuditEventType.BREAK_GLASS_USED).size());
      assertEquals(1, notifier.notifications(NotificationType.BREAK_GLASS_USED).size());
    }
  }

  @Nested
  class GrantExpiryBoundaries {
    private Grant grant;

    @BeforeEach
    void activate() {
      RequestRecord r = broker.submit(request(ALICE, Action.EXEC).duration(Duration.ofMinutes(30)).build());
      broker.approve(r.id(), CAROL, null);
      grant = broker.activate(r.id(), ALICE, opaque()).grant();
    }

    private Decision cat() {
      return broker.authorize(grant.id(), ALICE, Use.command(List.of("cat", "/var/log/app.log")));
    }

    @Test
    void oneNanosecondBeforeExpiryIsAllowed() {
      clock.set(grant.expiresAt().minusNanos(1));
      assertTrue(cat().isAllowed());
      assertThrows(InvalidTransitionException.class, () -> broker.expire(grant.requestId()));
    }

    @Test
    void expiringExactlyNowIsDenied() {
      clock.set(grant.expiresAt());
      Decision d = cat();
      assertFalse(d.isAllowed());
      assertEquals("broker:grant-expiry", d.ruleId().orElseThrow());
      assertEquals(RequestState.EXPIRED, broker.expire(grant.requestId()).state());
    }

    @Test
    void afterExpiryIsDenied() {
      clock.set(grant.expiresAt().plusSeconds(1));
      assertFalse(cat().isAllowed());
    }

    @Test
    void expiringNotificationIsSentOnce() {
      clock.set(grant.expiresAt().minus(Duration.ofMinutes(5)));
      broker.expireDue();
      broker.expireDue();
      assertEquals(1, notifier.notifications(NotificationType.EXPIRING).size());
    }

    @Test
    void revokedGrantAuthorisesNothing() {
      broker.revoke(grant.requestId(), ALICE, "done");
      assertFalse(rbac.isProvisioned(grant.id()));
      Decision d = cat();
      assertFalse(d.isAllowed());
      assertEquals(1, audit.events(AuditEventType.GRANT_REVOKED).size());
      assertEquals(1, audit.events(AuditEventType.COMMAND_DENIED).size());
    }

    @Test
    void someoneElseCannotUseTheGrant() {
      assertFalse(broker.authorize(grant.id(), CAROL, Use.command(List.of("cat", "/x"))).isAllowed());
    }

    @Test
    void commandsAreDecidedByPolicyAndAudited() {
      assertTrue(cat().isAllowed());
      assertFalse(broker.authorize(grant.id(), ALICE, Use.command(List.of("rm", "-rf", "/"))).isAllowed());
      AuditEvent denied = audit.events(AuditEventType.COMMAND_DENIED).get(0);
      assertEquals("rm -rf /", denied.attributes().get("command"));
      assertEquals("alice", denied.actor().orElseThrow().user());
    }

    @Test
    void reconcileRecordsTheRestartCause() {
      clock.set(grant.expiresAt().plusSeconds(3600));
      JitBroker restarted = newBroker(Fixtures.policy());
      assertEquals(1, restarted.reconcile());
      assertEquals(EndCause.RECONCILED_AFTER_RESTART,
          restarted.find(grant.requestId()).orElseThrow().endCause().orElseThrow());
      assertEquals(1, audit.events(AuditEventType.GRANT_RECONCILED).size());
    }
  }

  @Nested
  class FailClosed {
    @Test
    void auditFailureOnSubmitStoresNothing() {
      auditFails.set(true);
      assertThrows(AuditException.class, () -> broker.submit(request(ALICE, Action.LOGS).build()));
      assertTrue(store.list(java.util.EnumSet.allOf(RequestState.class)).isEmpty());
      assertTrue(notifier.notifications().isEmpty());
    }

    @Test
    void auditFailureOnApproveChangesNothing() {
      RequestRecord r = broker.submit(request(ALICE, Action.EXEC).build());
      auditFails.set(true);
      assertThrows(AuditException.class, () -> broker.approve(r.id(), CAROL, null));
      assertEquals(r, broker.find(r.id()).orElseThrow());
      auditFails.set(false);
      assertEquals(RequestState.APPROVED, broker.approve(r.id(), CAROL, null).state());
    }

    @Test
    void auditFailureOnActivateRemovesTheRbacAndReturnsNoCredential() {
      RequestRecord r = broker.submit(request(ALICE, Action.LOGS).build());
      auditFails.set(true);
      assertThrows(AuditException.class, () -> broker.activate(r.id(), ALICE, opaque()));
      assertTrue(rbac.provisioned().isEmpty());
      assertEquals(1, rbac.removed().size());
      assertEquals(RequestState.APPROVED, broker.find(r.id()).orElseThrow().state());
    }

    @Test
    void auditFailureOnUseThrowsSoTheGatewayDenies() {
      RequestRecord r = broker.submit(request(ALICE, Action.LOGS).build());
      Grant g = broker.activate(r.id(), ALICE, opaque()).grant();
      auditFails.set(true);
      assertThrows(AuditException.class, () -> broker.authorize(g.id(), ALICE, Use.action(Action.LOGS)));
    }

    @Test
    void auditFailureOnRevokeChangesNothing() {
      RequestRecord r = broker.submit(request(ALICE, Action.LOGS).build());
      Grant g = broker.activate(r.id(), ALICE, opaque()).grant();
      auditFails.set(true);
      assertThrows(AuditException.class, () -> broker.revoke(r.id(), ALICE, "done"));
      assertEquals(RequestState.ACTIVE, broker.find(r.id()).orElseThrow().state());
      assertTrue(rbac.isProvisioned(g.id()), "the revocation is recorded before anything is removed");
      auditFails.set(false);
      assertEquals(RequestState.REVOKED, broker.revoke(r.id(), ALICE, "done").state());
    }

    @Test
    void throwingPolicyDenies() {
      JitBroker b = newBroker(new AccessPolicy() {
        @Override
        public Decision decide(AccessRequest request) {
          throw new IllegalStateException("boom");
        }

        @Override
        public Decision authorize(Grant grant, Use use) {
          throw new IllegalStateException("boom");
        }
      });
      RequestRecord r = b.submit(request(ALICE, Action.LOGS).build());
      assertEquals(RequestState.DENIED, r.state());
      assertEquals("broker:policy-error", r.decision().ruleId().orElseThrow());
    }

    @Test
    void throwingNotifierDoesNotBlockTransitions() {
      JitBroker b = JitBroker.builder().clock(clock).policy(Fixtures.policy()).store(RequestStore.inMemory())
          .auditSink(audit).rbacProvisioner(rbac).notifier(n -> {
            throw new IllegalStateException("chat down");
          }).build();
      assertEquals(RequestState.APPROVED, b.submit(request(ALICE, Action.LOGS).build()).state());
    }
  }

  @Nested
  class Revocation {
    @Test
    void strangersCannotRevoke() {
      RequestRecord r = broker.submit(request(ALICE, Action.LOGS).build());
      assertThrows(AccessDeniedException.class, () -> broker.revoke(r.id(), BOB, "no"));
      Identity ic = Identity.of("ivan", List.of("incident-commanders")).assertedBy("test-idp");
      assertEquals(RequestState.REVOKED, broker.revoke(r.id(), ic, "incident closed").state());
      InvalidTransitionException e =
          assertThrows(InvalidTransitionException.class, () -> broker.revoke(r.id(), ic, "again"));
      assertEquals(RequestState.REVOKED, e.current());
    }

    @Test
    void unknownIdsAreNotFound() {
      assertThrows(NotFoundException.class, () -> broker.approve(RequestId.random(), CAROL, null));
      assertThrows(NotFoundException.class, () -> broker.authorize(GrantId.random(), ALICE, Use.action(Action.LOGS)));
    }
  }

  @Test
  void builderRefusesMissingAuditSinkAndDoubleSettings() {
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> JitBroker.builder().policy(Fixtures.policy()).store(RequestStore.inMemory()).rbacProvisioner(rbac).build());
    assertTrue(e.getMessage().contains("audit sink"), e.getMessage());
    IllegalStateException noStore = assertThrows(IllegalStateException.class,
        () -> JitBroker.builder().policy(Fixtures.policy()).auditSink(audit).rbacProvisioner(rbac).build());
    assertTrue(noStore.getMessage().contains("request store is required"), noStore.getMessage());
    JitBroker.Builder b = JitBroker.builder().requestTimeout(Duration.ofMinutes(5));
    IllegalStateException twice = assertThrows(IllegalStateException.class, () -> b.requestTimeout(Duration.ofMinutes(6)));
    assertTrue(twice.getMessage().contains("PT5M"), twice.getMessage());
  }

  @Test
  void idsAreUnguessable() {
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (int i = 0; i < 100_000; i++) {
      String id = RequestId.random().value();
      assertEquals(26, id.length());
      assertTrue(seen.add(id));
      assertEquals(id, RequestId.parse(id).value());
    }
    assertThrows(IllegalArgumentException.class, () -> RequestId.parse("short"));
    assertThrows(IllegalArgumentException.class, () -> RequestId.parse("aaaaaaaaaaaaaaaaaaaaaaaaab"));
    assertNotEquals(RequestId.random(), RequestId.random());
  }

  @Nested
  class Reissue {
    private RequestRecord rec;
    private Grant grant;

    @BeforeEach
    void activate() {
      rec = broker.submit(request(ALICE, Action.EXEC).duration(Duration.ofMinutes(30)).build());
      broker.approve(rec.id(), CAROL, null);
      grant = broker.activate(rec.id(), ALICE, opaque()).grant();
    }

    @Test
    void theHolderGetsAFreshAuditedCredentialNoLongerThanTheGrant() {
      clock.advance(Duration.ofMinutes(10));
      int before = audit.events(AuditEventType.CREDENTIAL_ISSUED).size();
      List<IssuedCredential> fresh = broker.reissue(grant.id(), ALICE, opaque());
      assertEquals(1, fresh.size());
      assertFalse(fresh.get(0).ref().notAfter().isAfter(grant.expiresAt()));
      List<AuditEvent> issued = audit.events(AuditEventType.CREDENTIAL_ISSUED);
      assertEquals(before + 1, issued.size());
      AuditEvent last = issued.get(issued.size() - 1);
      assertEquals("true", last.attributes().get("reissue"));
      assertEquals(fresh.get(0).ref().id(), last.attributes().get("credentialId"));
      assertEquals(RequestState.ACTIVE, broker.find(rec.id()).orElseThrow().state());
    }

    @Test
    void onlyTheHolder() {
      int before = audit.events().size();
      assertThrows(AccessDeniedException.class, () -> broker.reissue(grant.id(), CAROL, opaque()));
      assertThrows(AccessDeniedException.class, () -> broker.reissue(grant.id(), BOB, opaque()));
      assertEquals(before, audit.events().size());
    }

    @Test
    void notAfterRevocationAndTheMessageSaysWhoAndWhy() {
      broker.revoke(rec.id(), CAROL, "incident over");
      InvalidTransitionException e = assertThrows(InvalidTransitionException.class,
          () -> broker.reissue(grant.id(), ALICE, opaque()));
      assertTrue(e.getMessage().contains("revoked by carol"), e.getMessage());
      assertTrue(e.getMessage().contains("incident over"), e.getMessage());
    }

    @Test
    void notOnceTheGrantsTimeIsUpEvenBeforeTheSweep() {
      clock.advance(Duration.ofMinutes(30));
      InvalidTransitionException e = assertThrows(InvalidTransitionException.class,
          () -> broker.reissue(grant.id(), ALICE, opaque()));
      assertTrue(e.getMessage().contains("expired at " + grant.expiresAt()), e.getMessage());
    }

    @Test
    void noAuditNoCredential() {
      auditFails.set(true);
      assertThrows(AuditException.class, () -> broker.reissue(grant.id(), ALICE, opaque()));
    }

    @Test
    void unknownGrantAndMissingSpec() {
      assertThrows(NotFoundException.class, () -> broker.reissue(GrantId.random(), ALICE, opaque()));
      assertThrows(IllegalArgumentException.class, () -> broker.reissue(grant.id(), ALICE));
    }

    @Test
    void aCredentialThatWouldOutliveTheGrantIsNotHandedOut() {
      JitBroker sloppy = JitBroker.builder().clock(clock).policy(Fixtures.policy()).store(store).auditSink(audit)
          .rbacProvisioner(rbac)
          .credentialIssuer((g, spec) -> IssuedCredential.publicMaterial(
              CredentialRef.of(CredentialKind.OPAQUE, "c1", "f1", g.expiresAt().plusSeconds(1)), "cert"))
          .build();
      int before = audit.events(AuditEventType.CREDENTIAL_ISSUED).size();
      assertThrows(ProvisioningException.class, () -> sloppy.reissue(grant.id(), ALICE, opaque()));
      assertEquals(before, audit.events(AuditEventType.CREDENTIAL_ISSUED).size());
    }
  }

  @Test
  void listAndAdminGroups() {
    RequestRecord r = broker.submit(request(ALICE, Action.EXEC).duration(Duration.ofMinutes(30)).build());
    assertTrue(broker.list(java.util.Set.of()).contains(r));
    assertTrue(broker.list(java.util.EnumSet.of(RequestState.PENDING_APPROVAL)).contains(r));
    assertFalse(broker.list(java.util.EnumSet.of(RequestState.ACTIVE)).contains(r));
    assertEquals(java.util.Set.of("incident-commanders"), broker.adminGroups());
  }
}
