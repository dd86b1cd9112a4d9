package dev.kubejit.api;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableSet;
import dev.kubejit.api.spi.AccessHook;
import dev.kubejit.api.spi.AccessPolicy;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.CredentialIssuer;
import dev.kubejit.api.spi.MembershipProvisioner;
import dev.kubejit.api.spi.Notifier;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.Lock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the just-in-time access lifecycle: request → decide → (deny | wait for approvals |
 * approve) → activate (provision RBAC, issue credentials) → use → expire or revoke.
 *
 * <p>Whatever the policy says, the broker enforces these rules:
 *
 * <ul>
 *   <li>nobody approves their own request, and an approver counts once;
 *   <li>a request at or past its expiry can be neither approved nor activated;
 *   <li>a revoked or expired grant authorises nothing, and a grant that expires exactly now has
 *       expired;
 *   <li>every transition writes its audit events first: if the {@link AuditSink} fails, the
 *       transition does not happen and the caller gets an {@link AuditException} (fail closed);
 *   <li>a policy that throws, or returns a decision without a duration, denies.
 * </ul>
 *
 * <p>Thread-safe. Transitions on one request are serialised by a lock striped by request id, and
 * the store's compare-and-set protects against other broker replicas sharing the store.
 *
 * <p>Design notes on ordering: activation provisions RBAC for the grant's own group and issues
 * credentials <em>before</em> writing the audit record, but hands nothing to the caller until the
 * record is durable; on any later failure it removes what it provisioned. Expiring a grant removes
 * RBAC <em>first</em>, then records it, so a failure can only leave access removed-but-unrecorded
 * (safe; retried), never recorded-but-present; until then the grant stays {@link
 * RequestState#ACTIVE} past its window, which authorises nothing anywhere. Revoking an active grant
 * is a person's decision that must take effect and be visible at once, so it is recorded
 * <em>first</em> as {@link RequestState#REVOKING} (audit event {@link AuditEventType#GRANT_REVOKING}),
 * which authorises nothing; then RBAC is removed and {@link RequestState#REVOKED} recorded. If the
 * removal fails (the API server is down), the grant stays revoking and every sweep ({@link
 * #expireDue()}) retries the removal until it succeeds. An optional {@link MembershipProvisioner} (the
 * identity provider's group membership) follows exactly the same rules, after RBAC when a grant
 * starts and after RBAC when it ends; the sweeps also remove managed memberships whose expiry has
 * passed or whose grant has ended, so a crash between provisioning and recording cannot leave one
 * behind for longer than the grant's window plus one sweep.
 *
 * <p>Orphans: an activation killed after provisioning and before its grant is stored leaves RBAC
 * (and a membership) that no stored grant accounts for. Every sweep asks the provisioners what
 * they manage ({@link RbacProvisioner#listManaged()}, {@link MembershipProvisioner#listManaged()});
 * what belongs to a grant the store does not know, for a request the store does know, and is older
 * than {@link Builder#orphanGrace} is removed, audit first: a {@link AuditEventType#GRANT_RECONCILED}
 * event (attributes {@code orphan=true}, {@code cause=RECONCILED_AFTER_RESTART}) is written, then
 * the objects are removed with that cause; if the removal fails a {@link
 * AuditEventType#TRANSITION_ABORTED} follows and the next sweep tries again. A grant the store
 * knows is never touched by this; a store that cannot be read removes nothing (the next sweep
 * retries); RBAC naming a request the store does not know (another installation's, or made by
 * hand) is left to its expiry. Within one broker one sweep at a time does this, so an orphan is
 * recorded once; two replicas sweeping at the same moment may both record it (a second record
 * rather than none).
 */
public final class JitBroker {
  private static final Logger log = LoggerFactory.getLogger(JitBroker.class);

  private final Clock clock;
  private final AccessPolicy policy;
  private final RequestStore store;
  private final AuditSink audit;
  private final Notifier notifier;
  private final RbacProvisioner rbac;
  private final MembershipProvisioner membership;
  private final CredentialIssuer issuer;
  private final AccessHook hook;
  private final Duration requestTimeout;
  private final Duration expiryWarning;
  private final int sweepParallelism;
  private final Duration orphanGrace;
  private final ImmutableSet<String> adminGroups;
  private final RequestLocks locks = new RequestLocks();
  private final Set<GrantId> warned = ConcurrentHashMap.newKeySet();
  /** When this broker first saw each membership of a grant the store did not know (memberships carry no creation time). */
  private final java.util.Map<GrantId, Instant> unknownMembershipSince = new ConcurrentHashMap<>();
  private final java.util.concurrent.locks.ReentrantLock orphanPass = new java.util.concurrent.locks.ReentrantLock();
  /**
   * Grants whose managed RBAC the store was seen to know: a store never forgets a grant, so they are
   * not looked up again; pruned to what the provisioner lists, so the steady state of a sweep with
   * many live grants costs the listing only, not a store lookup per grant.
   */
  private final Set<GrantId> knownToStore = ConcurrentHashMap.newKeySet();

  private JitBroker(Builder b) {
    this.clock = b.clock;
    this.policy = b.policy;
    this.store = b.store;
    this.audit = b.audit;
    this.notifier = b.notifier;
    this.rbac = b.rbac;
    this.membership = b.membership;
    this.issuer = b.issuer;
    this.hook = b.hook;
    this.requestTimeout = b.requestTimeout;
    this.expiryWarning = b.expiryWarning;
    this.sweepParallelism = b.sweepParallelism;
    this.orphanGrace = b.orphanGrace;
    this.adminGroups = b.adminGroups;
  }

  /** Returns a builder; policy, audit sink and RBAC provisioner must be set explicitly. */
  public static Builder builder() {
    return new Builder();
  }

  /** The broker's clock. */
  public Clock clock() {
    return clock;
  }

  /**
   * Records a request and the policy's decision: an allowed request is {@link
   * RequestState#APPROVED}, a denied one {@link RequestState#DENIED}, otherwise it waits for
   * approvers.
   *
   * @throws AuditException if the audit sink failed; nothing was stored
   */
  public RequestRecord submit(AccessRequest request) {
    requireNonNull(request, "request");
    Instant now = clock.instant();
    RequestId id = RequestId.random();
    Decision decision = decide(request);
    HookAnswer hookAnswer = null;
    if (decision.outcome() != Decision.Outcome.DENY) {
      hookAnswer = consult(AccessHook.Stage.REQUEST, id, request);
      if (hookAnswer != null) {
        decision = withHook(decision, hookAnswer);
      }
    }
    RequestState state;
    switch (decision.outcome()) {
      case ALLOW:
        state = RequestState.APPROVED;
        break;
      case NEEDS_APPROVAL:
        state = RequestState.PENDING_APPROVAL;
        break;
      default:
        state = RequestState.DENIED;
    }
    RequestRecord.Builder rb = RequestRecord.builder()
        .id(id)
        .request(request)
        .decision(decision)
        .state(state)
        .window(now, now.plus(requestTimeout))
        .reviewRequired(decision.breakGlass())
        .version(1);
    if (state == RequestState.DENIED) {
      rb.ended(EndCause.DENIED, now, null, decision.reason());
    }
    RequestRecord record = rb.build();

    List<AuditEvent> events = new ArrayList<>();
    AuditEvent.Builder created = event(AuditEventType.REQUEST_CREATED, now, record, request.requester())
        .decision(decision);
    request.duration().ifPresent(d -> created.attribute("requestedDuration", d.toString()));
    if (request.strictDuration()) {
      created.attribute("strictDuration", "true");
    }
    hookAttributes(created, hookAnswer);
    decision.grantedDuration().ifPresent(d -> created.attribute("grantedDuration", d.toString()));
    if (decision.durationClamped()) {
      created.attribute("durationClamped", "true");
    }
    decision.approval().ifPresent(a -> {
      created.attribute("approverGroups", String.join(",", a.approverGroups()));
      created.attribute("minApprovals", Integer.toString(a.minApprovals()));
    });
    if (decision.breakGlass()) {
      created.attribute("breakGlass", "true");
    }
    events.add(created.build());
    if (state == RequestState.APPROVED) {
      events.add(event(AuditEventType.REQUEST_APPROVED, now, record, request.requester())
          .decision(decision).attribute("approvedBy", "policy").build());
    } else if (state == RequestState.DENIED) {
      events.add(event(AuditEventType.REQUEST_DENIED, now, record, request.requester())
          .decision(decision).attribute("deniedBy", "policy").build());
    }
    writeAudit(events, "submit " + record.id());
    try {
      store.insert(record);
    } catch (RuntimeException e) {
      abort(events, now, "store insert failed: " + e.getClass().getSimpleName());
      throw e;
    }
    log.debug("request {} by {} -> {}", record.id(), request.requester().user(), decision);
    switch (state) {
      case APPROVED:
        notifyQuietly(NotificationType.APPROVED, record, now,
            request.requester().user() + "'s " + request.action() + " request was auto-approved: " + decision.reason());
        break;
      case PENDING_APPROVAL:
        notifyQuietly(NotificationType.PENDING_APPROVAL, record, now,
            request.requester().user() + " asks for " + request.role() + "/" + request.action() + " in "
                + request.scope() + " for " + decision.grantedDuration().orElseThrow() + "; needs "
                + decision.approval().orElseThrow());
        break;
      default:
        notifyQuietly(NotificationType.DENIED, record, now,
            request.requester().user() + "'s request was denied: " + decision.reason());
    }
    return record;
  }

  /**
   * Records one approver's approval; the request becomes {@link RequestState#APPROVED} once it has
   * the required number of distinct approvers.
   *
   * @throws InvalidTransitionException if the request is not pending or has expired
   * @throws ApprovalRefusedException on self-approval, a non-approver, or a second vote
   * @throws AuditException if the audit sink failed; nothing changed
   */
  public RequestRecord approve(RequestId id, Identity approver, String comment) {
    return vote(id, approver, comment, true);
  }

  /**
   * Records one approver's denial, which ends the request.
   *
   * @throws InvalidTransitionException if the request is not pending or has expired
   * @throws ApprovalRefusedException on self-denial, a non-approver, or a second vote
   */
  public RequestRecord deny(RequestId id, Identity approver, String comment) {
    return vote(id, approver, comment, false);
  }

  private RequestRecord vote(RequestId id, Identity approver, String comment, boolean approve) {
    requireNonNull(approver, "approver");
    RequestState target = approve ? RequestState.APPROVED : RequestState.DENIED;
    Lock lock = locks.get(requireNonNull(id, "id"));
    lock.lock();
    try {
      RequestRecord rec = load(id);
      Instant now = clock.instant();
      if (rec.state() != RequestState.PENDING_APPROVAL) {
        throw new InvalidTransitionException(id, rec.state(), target, "only a pending request takes votes");
      }
      if (!now.isBefore(rec.expiresAt())) {
        throw new InvalidTransitionException(id, rec.state(), target, "the request expired at " + rec.expiresAt());
      }
      AccessRequest req = rec.request();
      if (approver.samePerson(req.requester())) {
        throw new ApprovalRefusedException(ApprovalRefusedException.Reason.SELF_APPROVAL,
            approver.user() + " may not approve or deny their own request " + id);
      }
      ApprovalRequirement requirement = rec.decision().approval().orElseThrow();
      if (!approver.inAnyGroup(requirement.approverGroups())) {
        throw new ApprovalRefusedException(ApprovalRefusedException.Reason.NOT_AN_APPROVER,
            approver.user() + " is in none of the approver groups " + requirement.approverGroups()
                + " of request " + id);
      }
      for (Approval a : rec.approvals()) {
        if (a.approver().samePerson(approver)) {
          throw new ApprovalRefusedException(ApprovalRefusedException.Reason.ALREADY_VOTED,
              approver.user() + " already " + (a.approved() ? "approved" : "denied") + " request " + id);
        }
      }
      Approval vote = approve ? Approval.approve(approver, now, comment) : Approval.deny(approver, now, comment);
      List<Approval> approvals = new ArrayList<>(rec.approvals());
      approvals.add(vote);
      RequestRecord.Builder next = rec.toBuilder().approvals(approvals).version(rec.version() + 1);
      AuditEvent.Builder ev;
      NotificationType notification = null;
      if (!approve) {
        next.state(RequestState.DENIED).ended(EndCause.DENIED, now, approver, comment);
        ev = event(AuditEventType.REQUEST_DENIED, now, rec, approver).outcome(Decision.Outcome.DENY)
            .reason("denied by " + approver.user() + (comment == null ? "" : ": " + comment));
        notification = NotificationType.DENIED;
      } else {
        RequestRecord candidate = next.build();
        long count = candidate.approvalCount();
        if (count >= requirement.minApprovals()) {
          next.state(RequestState.APPROVED);
          ev = event(AuditEventType.REQUEST_APPROVED, now, rec, approver).outcome(Decision.Outcome.ALLOW)
              .reason(count + " of " + requirement.minApprovals() + " approvals");
          notification = NotificationType.APPROVED;
        } else {
          ev = event(AuditEventType.APPROVAL_RECORDED, now, rec, approver)
              .outcome(Decision.Outcome.NEEDS_APPROVAL)
              .reason(count + " of " + requirement.minApprovals() + " approvals");
        }
        ev.attribute("approvals", Long.toString(count));
      }
      if (comment != null) {
        ev.attribute("comment", comment);
      }
      RequestRecord updated = next.build();
      commit(rec, updated, List.of(ev.build()), now);
      if (notification != null) {
        notifyQuietly(notification, updated, now, req.requester().user() + "'s " + req.action() + " request was "
            + (approve ? "approved" : "denied") + " by " + approver.user());
      }
      return updated;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Activates an approved request for its requester: provisions RBAC for the grant's group,
   * issues one credential per spec, and records it all.
   *
   * @throws InvalidTransitionException if the request is not approved or has expired
   * @throws AccessDeniedException if {@code caller} is not the requester
   * @throws ProvisioningException if RBAC or a credential could not be made; nothing is granted
   * @throws AuditException if the audit sink failed; what was provisioned is removed again
   * @throws IllegalArgumentException if a credential issuer is configured and no spec is given
   *     (nothing is activated)
   */
  public Activation activate(RequestId id, Identity caller, CredentialSpec... specs) {
    requireNonNull(caller, "caller");
    List<CredentialSpec> specList = Arrays.asList(specs.clone());
    specList.forEach(s -> requireNonNull(s, "credential spec"));
    if (!specList.isEmpty() && issuer == null) {
      throw new ProvisioningException("no credential issuer is configured; cannot issue " + specList);
    }
    if (specList.isEmpty() && issuer != null) {
      throw new IllegalArgumentException("a credential issuer is configured but no credential spec was given: pass"
          + " what to issue, e.g. CredentialSpec.x509FromCsr(csrPem) or CredentialSpec.sshUserCertificate(publicKeyLine, options);"
          + " nothing was activated");
    }
    Lock lock = locks.get(requireNonNull(id, "id"));
    lock.lock();
    try {
      RequestRecord rec = load(id);
      Instant now = clock.instant();
      if (rec.state() != RequestState.APPROVED) {
        throw new InvalidTransitionException(id, rec.state(), RequestState.ACTIVE, null);
      }
      if (!now.isBefore(rec.expiresAt())) {
        throw new InvalidTransitionException(id, rec.state(), RequestState.ACTIVE,
            "the request expired at " + rec.expiresAt());
      }
      AccessRequest req = rec.request();
      if (!caller.samePerson(req.requester())) {
        throw new AccessDeniedException(caller.user() + " may not activate " + req.requester().user()
            + "'s request " + id);
      }
      HookAnswer hookAnswer = consult(AccessHook.Stage.ACTIVATION, id, req);
      if (hookAnswer != null && !hookAnswer.allowed()) {
        AuditEvent.Builder refused = event(AuditEventType.ACCESS_HOOK_REFUSED, now, rec, caller)
            .outcome(Decision.Outcome.DENY).reason(hookAnswer.toString()).attribute("stage", "ACTIVATION");
        hookAttributes(refused, hookAnswer);
        writeAudit(List.of(refused.build()), "refusal of activation of " + id);
        throw new AccessDeniedException("activation of request " + id + " refused: " + hookAnswer);
      }
      Decision decision = rec.decision();
      Grant grant = Grant.builder()
          .id(GrantId.random())
          .requestId(id)
          .holder(req.requester())
          .role(req.role())
          .action(req.action())
          .scope(req.scope())
          .window(now, now.plus(decision.grantedDuration().orElseThrow()))
          .rbacTemplate(decision.rbacTemplate().orElse(null))
          .breakGlass(decision.breakGlass())
          .policyDigest(decision.policyDigest().orElse(null))
          .why(req.justification().orElse(null), req.ticket().orElse(null))
          .build();
      rbac.provision(grant);
      List<IssuedCredential> issued = new ArrayList<>();
      List<AuditEvent> events = new ArrayList<>();
      try {
        if (membership != null) {
          membership.add(GroupMembership.of(grant));
        }
        for (CredentialSpec spec : specList) {
          IssuedCredential c = issuer.issue(grant, spec);
          if (c.ref().notAfter().isAfter(grant.expiresAt())) {
            log.info("credential {} outlives grant {} ({} > {}); the RoleBinding's removal revokes it",
                c.ref().id(), grant.id(), c.ref().notAfter(), grant.expiresAt());
          }
          issued.add(c);
        }
        grant = grant.toBuilder().credentials(issued.stream().map(IssuedCredential::ref)
            .collect(ImmutableList.toImmutableList())).build();
        RequestRecord updated = rec.toBuilder().state(RequestState.ACTIVE).grant(grant)
            .version(rec.version() + 1).build();
        AuditEvent.Builder activated = event(AuditEventType.GRANT_ACTIVATED, now, updated, caller)
            .decision(decision)
            .attribute("grantedAt", grant.grantedAt().toString())
            .attribute("expiresAt", grant.expiresAt().toString())
            .attribute("subjectGroup", grant.subjectGroup());
        hookAttributes(activated, hookAnswer);
        events.add(activated.build());
        for (IssuedCredential c : issued) {
          events.add(event(AuditEventType.CREDENTIAL_ISSUED, now, updated, caller)
              .attribute("credentialKind", c.ref().kind().name())
              .attribute("credentialId", c.ref().id())
              .attribute("fingerprint", c.ref().fingerprint())
              .attribute("notAfter", c.ref().notAfter().toString())
              .build());
        }
        if (grant.breakGlass()) {
          events.add(event(AuditEventType.BREAK_GLASS_USED, now, updated, caller)
              .decision(decision).attribute("reviewRequired", "true").build());
        }
        commit(rec, updated, events, now);
        notifyQuietly(NotificationType.ACTIVATED, updated, now, req.requester().user() + " activated "
            + req.role() + "/" + req.action() + " in " + req.scope() + " until " + grant.expiresAt());
        if (grant.breakGlass()) {
          notifyQuietly(NotificationType.BREAK_GLASS_USED, updated, now, "BREAK-GLASS: " + req.requester().user()
              + " has " + req.role() + " in " + req.scope() + " until " + grant.expiresAt()
              + "; justification: " + req.justification().orElse("-") + "; post-incident review required");
        }
        return new Activation(updated, issued);
      } catch (RuntimeException e) {
        if (membership != null) {
          try {
            membership.remove(GroupMembership.of(grant), EndCause.REVOKED);
          } catch (RuntimeException cleanup) {
            e.addSuppressed(cleanup);
            log.error("could not remove the group membership of failed activation {}; the sweep will remove it at {}",
                grant.id(), grant.expiresAt());
          }
        }
        try {
          rbac.deprovision(grant, EndCause.REVOKED);
        } catch (RuntimeException cleanup) {
          e.addSuppressed(cleanup);
          log.error("could not remove RBAC of failed activation {}; the reaper will remove it at {}",
              grant.id(), grant.expiresAt());
        }
        throw e;
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Decides one use of a grant and records the decision; a denial is returned, not thrown.
   *
   * @throws NotFoundException if the grant is unknown
   * @throws AuditException if the decision could not be recorded; treat as denied
   */
  public Decision authorize(GrantId grantId, Identity caller, Use use) {
    requireNonNull(caller, "caller");
    requireNonNull(use, "use");
    RequestId rid = store.findByGrant(requireNonNull(grantId, "grantId"))
        .orElseThrow(() -> new NotFoundException("no grant " + grantId)).id();
    Lock lock = locks.get(rid);
    lock.lock();
    try {
      RequestRecord rec = load(rid);
      Grant grant = rec.grant().orElseThrow();
      Instant now = clock.instant();
      Decision decision;
      if (rec.state() != RequestState.ACTIVE) {
        decision = Decision.deny("grant " + grantId + " is " + rec.state(), "broker:grant-state");
      } else if (!grant.isActiveAt(now)) {
        decision = Decision.deny("grant " + grantId + " expired at " + grant.expiresAt(), "broker:grant-expiry");
      } else if (!caller.samePerson(grant.holder())) {
        decision = Decision.deny(caller.user() + " does not hold grant " + grantId, "broker:holder");
      } else if (grant.scope().pod().isPresent()
          && !grant.scope().pod().equals(use.pod())) {
        decision = Decision.deny("grant " + grantId + " is pinned to pod " + grant.scope().pod().get(),
            "broker:pod-scope");
      } else {
        decision = authorizeByPolicy(grant, use);
      }
      boolean allowed = decision.isAllowed();
      AuditEventType type = use.isCommand()
          ? (allowed ? AuditEventType.COMMAND_ALLOWED : AuditEventType.COMMAND_DENIED)
          : (allowed ? AuditEventType.USE_ALLOWED : AuditEventType.USE_DENIED);
      AuditEvent.Builder ev = event(type, now, rec, caller).decision(decision).action(use.action());
      if (use.isCommand()) {
        ev.attribute("command", use.describe());
      }
      use.pod().ifPresent(p -> ev.attribute("pod", p));
      use.container().ifPresent(c -> ev.attribute("container", c));
      writeAudit(List.of(ev.build()), "authorize " + grantId);
      return decision;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Revokes a request or grant; allowed for the requester, an approver of the request, or a
   * member of the admin groups.
   *
   * <p>A pending or approved request becomes {@link RequestState#REVOKED}. An active grant is first
   * recorded as {@link RequestState#REVOKING} (it authorises nothing from then on), then its RBAC
   * and group membership are removed and it is recorded as {@link RequestState#REVOKED}. If the
   * removal fails, the returned record is still {@link RequestState#REVOKING} and {@link
   * #expireDue()} retries the removal until it succeeds; revoking a revoking grant again retries at
   * once (who revoked it and why stay those of the first revocation).
   *
   * @return the record as it now stands: {@link RequestState#REVOKED}, or {@link
   *     RequestState#REVOKING} when the removal has not succeeded yet
   * @throws InvalidTransitionException if it has already ended
   * @throws AccessDeniedException if {@code by} may not revoke it
   * @throws AuditException if the revocation could not be recorded; nothing changed
   */
  public RequestRecord revoke(RequestId id, Identity by, String reason) {
    requireNonNull(by, "by");
    if (reason != null) {
      Validation.requireText(reason, "reason", 2048);
    }
    Lock lock = locks.get(requireNonNull(id, "id"));
    lock.lock();
    try {
      RequestRecord rec = load(id);
      if (rec.state().isTerminal()) {
        throw new InvalidTransitionException(id, rec.state(), RequestState.REVOKED, null);
      }
      if (!mayRevoke(rec, by)) {
        throw new AccessDeniedException(by.user() + " may not revoke request " + id);
      }
      if (rec.state() == RequestState.REVOKING) {
        return finishRevocation(rec);
      }
      if (rec.state() == RequestState.ACTIVE) {
        Instant now = clock.instant();
        RequestRecord revoking = rec.toBuilder().state(RequestState.REVOKING).ended(EndCause.REVOKED, now, by, reason)
            .version(rec.version() + 1).build();
        AuditEvent.Builder ev = event(AuditEventType.GRANT_REVOKING, now, revoking, by)
            .attribute("cause", EndCause.REVOKED.name())
            .attribute("previousState", rec.state().name())
            .attribute("expiresAt", rec.grant().orElseThrow().expiresAt().toString());
        if (reason != null) {
          ev.reason(reason);
        }
        commit(rec, revoking, List.of(ev.build()), now);
        log.debug("request {} ACTIVE -> REVOKING", rec.id());
        RequestRecord result = finishRevocation(revoking);
        if (result.state() == RequestState.REVOKING) {
          // In force now, for every listener (the admission webhooks' grant caches above all);
          // another REVOKED notification follows once the removal succeeds.
          notifyQuietly(NotificationType.REVOKED, result, now, rec.request().requester().user() + "'s grant "
              + rec.grant().orElseThrow().id() + " was revoked by " + by.user()
              + "; its access is being removed (retried until done)");
        }
        return result;
      }
      return end(rec, EndCause.REVOKED, by, reason);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Expires a request or grant whose time has come (request window for pending or approved ones,
   * grant window for active ones).
   *
   * @throws InvalidTransitionException if it has ended already or is not yet due
   */
  public RequestRecord expire(RequestId id) {
    return expire(id, EndCause.EXPIRED);
  }

  private RequestRecord expire(RequestId id, EndCause cause) {
    Lock lock = locks.get(requireNonNull(id, "id"));
    lock.lock();
    try {
      RequestRecord rec = load(id);
      if (rec.state().isTerminal()) {
        throw new InvalidTransitionException(id, rec.state(), RequestState.EXPIRED, null);
      }
      if (rec.state() == RequestState.REVOKING) {
        throw new InvalidTransitionException(id, rec.state(), RequestState.EXPIRED,
            "it is being revoked; the sweep finishes the revocation");
      }
      Instant due = dueAt(rec);
      if (clock.instant().isBefore(due)) {
        throw new InvalidTransitionException(id, rec.state(), RequestState.EXPIRED, "not due until " + due);
      }
      return end(rec, cause, null, null);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Expires everything that is due, retries the RBAC removal of every {@link RequestState#REVOKING}
   * grant (recording {@link RequestState#REVOKED} once it succeeds), and sends {@link
   * NotificationType#EXPIRING} once per grant within the warning window; call it periodically.
   * Failures are logged and retried on the next call.
   *
   * @return the number of requests and grants expired or whose revocation completed
   */
  public int expireDue() {
    return sweep(EndCause.EXPIRED);
  }

  /**
   * Expires everything that fell due while no broker was running, recording the cause as {@link
   * EndCause#RECONCILED_AFTER_RESTART}; call it once at start-up.
   *
   * @return the number reconciled
   */
  public int reconcile() {
    return sweep(EndCause.RECONCILED_AFTER_RESTART);
  }

  private int sweep(EndCause cause) {
    Instant now = clock.instant();
    List<RequestRecord> due = new ArrayList<>();
    for (RequestRecord rec : store.listEndingBy(now.plus(expiryWarning))) {
      if (rec.state() == RequestState.REVOKING || !now.isBefore(dueAt(rec))) {
        due.add(rec);
      } else if (rec.state() == RequestState.ACTIVE) {
        Grant g = rec.grant().orElseThrow();
        if (!now.isBefore(g.expiresAt().minus(expiryWarning)) && warned.add(g.id())) {
          notifyQuietly(NotificationType.EXPIRING, rec, now, rec.request().requester().user() + "'s grant "
              + g.id() + " expires at " + g.expiresAt());
        }
      }
    }
    int expired = endAll(due, cause);
    // One pass over what the provisioners manage at a time: a sweep that overlaps another (reconcile
    // beside the periodic expireDue) waits for it and then lists afresh, so an orphan is recorded
    // once per broker, and when reconcile() returns what it found is handled.
    orphanPass.lock();
    try {
      reapOrphanedRbac(now);
      if (membership != null) {
        reapMemberships(now, cause);
      }
    } finally {
      orphanPass.unlock();
    }
    return expired;
  }

  /**
   * Removes the RBAC of grants the store does not know, for requests it does know, once older than
   * {@link Builder#orphanGrace}; audit first (see the class notes). Failures are logged and retried
   * on the next sweep.
   */
  private void reapOrphanedRbac(Instant now) {
    List<ManagedRbac> managed;
    try {
      managed = rbac.listManaged();
    } catch (RuntimeException e) {
      log.warn("could not list managed RBAC; will retry: {}", e.toString());
      return;
    }
    Set<GrantId> listed = new java.util.HashSet<>();
    for (ManagedRbac m : managed) {
      listed.add(m.grantId());
    }
    knownToStore.retainAll(listed);
    for (ManagedRbac m : managed) {
      if (now.isBefore(m.createdAt().plus(orphanGrace))) {
        continue; // its activation may still be running, here or on another replica
      }
      if (knownToStore.contains(m.grantId())) {
        continue;
      }
      Optional<RequestRecord> owner = orphanOwner(m.grantId(), m.requestId());
      if (owner.isEmpty()) {
        continue;
      }
      RequestRecord rec = owner.get();
      AuditEvent.Builder ev = orphanEvent(now, rec, m.grantId())
          .reason("RBAC of a grant the store does not know (its activation did not finish) removed by the broker's"
              + " sweep")
          .attribute("rbacObjects", String.join(",", m.objects()))
          .attribute("createdAt", m.createdAt().toString())
          .attribute("expiresAt", m.expiresAt().map(Instant::toString).orElse("missing"));
      removeOrphan(rec.id(), m.grantId(), ev.build(), () -> rbac.deprovision(m, EndCause.RECONCILED_AFTER_RESTART),
          m.toString());
    }
  }

  /**
   * The stored request of an orphan: present only if the store does not know the grant and does
   * know the request. Empty when the request id is unknown or missing (not this store's, or not
   * made by an activation), when the grant is known, and when the store cannot be read (fail
   * closed: nothing is removed, the next sweep asks again).
   */
  private Optional<RequestRecord> orphanOwner(GrantId grantId, Optional<RequestId> requestId) {
    if (requestId.isEmpty()) {
      return Optional.empty();
    }
    try {
      if (store.findByGrant(grantId).isPresent()) {
        knownToStore.add(grantId);
        return Optional.empty();
      }
      return store.find(requestId.get());
    } catch (RuntimeException e) {
      log.warn("could not look up grant {} of request {}; nothing removed, will retry: {}", grantId, requestId.get(),
          e.toString());
      return Optional.empty();
    }
  }

  private AuditEvent.Builder orphanEvent(Instant now, RequestRecord rec, GrantId grantId) {
    return AuditEvent.builder(AuditEventType.GRANT_RECONCILED, now).requestId(rec.id()).request(rec.request())
        .grantId(grantId)
        .policy(rec.decision().policyDigest().orElse(null), rec.decision().policyRevision().orElse(null))
        .attribute("role", rec.request().role())
        .attribute("requester", rec.request().requester().user())
        .attribute("cause", EndCause.RECONCILED_AFTER_RESTART.name())
        .attribute("orphan", "true")
        .attribute("requestState", rec.state().name())
        .attribute("orphanGrace", orphanGrace.toString());
  }

  /**
   * Under the request's lock (so an activation of this broker finishes first), checks again that
   * the store does not know the grant, records the removal, then removes; a failed removal is
   * followed by a {@link AuditEventType#TRANSITION_ABORTED}. Returns whether it was removed.
   */
  private boolean removeOrphan(RequestId requestId, GrantId grantId, AuditEvent event, Runnable removal, String what) {
    Lock lock = locks.get(requestId);
    lock.lock();
    try {
      try {
        if (store.findByGrant(grantId).isPresent()) {
          return false;
        }
      } catch (RuntimeException e) {
        log.warn("could not look up grant {}; nothing removed, will retry: {}", grantId, e.toString());
        return false;
      }
      try {
        writeAudit(List.of(event), "removal of orphaned " + what);
      } catch (AuditException e) {
        log.warn("could not record the removal of orphaned {}; nothing removed, will retry: {}", what, e.getMessage());
        return false;
      }
      try {
        removal.run();
      } catch (RuntimeException e) {
        abort(List.of(event), event.time(), "removal failed: " + e.getClass().getSimpleName());
        log.warn("could not remove orphaned {}; will retry: {}", what, e.toString());
        return false;
      }
      log.info("removed orphaned {} (request {})", what, requestId);
      return true;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Ends the due requests and finishes the revoking ones, up to {@link Builder#sweepParallelism}
   * at a time (each under its own request lock, so no request is ended twice); returns how many
   * ended. With 1,000 live grants each removal costs the API server a few round trips, and grants
   * that end together should lose access together rather than one after another. The threads
   * exist only while a sweep has more than one request to end.
   */
  private int endAll(List<RequestRecord> due, EndCause cause) {
    int threads = Math.min(sweepParallelism, due.size());
    if (threads <= 1) {
      int n = 0;
      for (RequestRecord rec : due) {
        if (endOne(rec, cause)) {
          n++;
        }
      }
      return n;
    }
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "kubejit-sweep");
      t.setDaemon(true);
      return t;
    });
    try {
      List<java.util.concurrent.Future<Boolean>> results = new ArrayList<>();
      for (RequestRecord rec : due) {
        results.add(pool.submit(() -> endOne(rec, cause)));
      }
      int n = 0;
      RuntimeException failure = null;
      for (java.util.concurrent.Future<Boolean> f : results) {
        try {
          if (f.get()) {
            n++;
          }
        } catch (java.util.concurrent.ExecutionException e) {
          RuntimeException thrown = e.getCause() instanceof RuntimeException ? (RuntimeException) e.getCause()
              : new IllegalStateException(e.getCause());
          if (failure == null) {
            failure = thrown;
          } else {
            failure.addSuppressed(thrown);
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          pool.shutdownNow();
          return n;
        }
      }
      if (failure != null) {
        throw failure;
      }
      return n;
    } finally {
      pool.shutdown();
    }
  }

  /** Ends one due request or finishes one revocation; true if it ended now. */
  private boolean endOne(RequestRecord rec, EndCause cause) {
    if (rec.state() == RequestState.REVOKING) {
      return retryRevocation(rec.id());
    }
    try {
      expire(rec.id(), cause);
      return true;
    } catch (InvalidTransitionException | ConcurrentUpdateException raced) {
      // Another replica sharing the store ended (or changed) it between our read and write.
      log.debug("request {} ended concurrently: {}", rec.id(), raced.getMessage());
    } catch (NotFoundException gone) {
      log.debug("request {} vanished from the store: {}", rec.id(), gone.getMessage());
    } catch (ProvisioningException | AuditException e) {
      log.warn("could not expire request {} yet; will retry: {}", rec.id(), e.getMessage());
    }
    return false;
  }

  /** Retries the removal of a revoking grant under its lock; true once it is recorded REVOKED. */
  private boolean retryRevocation(RequestId id) {
    Lock lock = locks.get(id);
    lock.lock();
    try {
      Optional<RequestRecord> rec = store.find(id);
      if (rec.isEmpty() || rec.get().state() != RequestState.REVOKING) {
        return false;
      }
      return finishRevocation(rec.get()).state() == RequestState.REVOKED;
    } catch (RuntimeException e) {
      log.warn("could not finish the revocation of request {} yet; will retry: {}", id, e.toString());
      return false;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Removes the RBAC and membership of a {@link RequestState#REVOKING} grant and records {@link
   * RequestState#REVOKED}; if the removal fails, returns {@code rec} unchanged (still revoking) for
   * the sweep to retry. Called with the request's lock held.
   */
  private RequestRecord finishRevocation(RequestRecord rec) {
    Grant grant = rec.grant().orElseThrow();
    try {
      rbac.deprovision(grant, EndCause.REVOKED);
      if (membership != null) {
        membership.remove(GroupMembership.of(grant), EndCause.REVOKED);
      }
    } catch (RuntimeException e) {
      log.warn("grant {} is revoked but its access could not be removed yet; it stays REVOKING and the sweep "
          + "retries: {}", grant.id(), e.getMessage());
      return rec;
    }
    Instant now = clock.instant();
    RequestRecord revoked = rec.toBuilder().state(RequestState.REVOKED).version(rec.version() + 1).build();
    AuditEvent.Builder ev = event(AuditEventType.GRANT_REVOKED, now, revoked, rec.endedBy().orElse(null))
        .attribute("cause", EndCause.REVOKED.name())
        .attribute("previousState", rec.state().name())
        .attribute("revokedAt", rec.endedAt().orElseThrow().toString())
        .attribute("expiresAt", grant.expiresAt().toString());
    rec.endReason().ifPresent(ev::reason);
    try {
      commit(rec, revoked, List.of(ev.build()), now);
    } catch (RuntimeException e) {
      // Access is gone; only the record lags. It stays REVOKING (which authorises nothing) and the
      // sweep removes (idempotently) and records again.
      log.warn("removed the access of revoked grant {} but could not record REVOKED yet; the sweep retries: {}",
          grant.id(), e.getMessage());
      return rec;
    }
    warned.remove(grant.id());
    notifyQuietly(NotificationType.REVOKED, revoked, now, rec.request().requester().user() + "'s grant "
        + grant.id() + " was revoked" + rec.endedBy().map(b -> " by " + b.user()).orElse(""));
    log.debug("request {} REVOKING -> REVOKED", rec.id());
    return revoked;
  }

  /**
   * Removes managed memberships that outlived their grant: past their own expiry, or belonging to a
   * grant the store holds as ended. A membership whose grant the store does not know is an orphan
   * under the same rule as RBAC (see the class notes): removed, audit first, once its request is
   * known to the store and this broker has seen it unknown for {@link Builder#orphanGrace}
   * (memberships carry no creation time); one that names no request is left until its expiry (its
   * activation may still be running on another replica). Failures are logged and retried on the
   * next sweep.
   */
  private void reapMemberships(Instant now, EndCause cause) {
    List<GroupMembership> managed;
    try {
      managed = membership.listManaged();
    } catch (RuntimeException e) {
      log.warn("could not list managed group memberships; will retry: {}", e.toString());
      return;
    }
    Set<GrantId> listed = new java.util.HashSet<>();
    for (GroupMembership m : managed) {
      listed.add(m.grantId());
    }
    unknownMembershipSince.keySet().retainAll(listed);
    for (GroupMembership m : managed) {
      Optional<RequestRecord> rec;
      try {
        rec = store.findByGrant(m.grantId());
      } catch (RuntimeException e) {
        log.warn("could not look up grant {} of {}; will retry: {}", m.grantId(), m, e.toString());
        continue;
      }
      boolean ended = rec.map(r -> r.state().isTerminal()).orElse(false);
      if (rec.isPresent()) {
        unknownMembershipSince.remove(m.grantId());
      }
      if (m.isActiveAt(now) && !ended) {
        if (rec.isEmpty()) {
          reapOrphanedMembership(now, m);
        }
        continue;
      }
      // An active grant whose membership expired is ended by expire() above, which removes it.
      if (rec.isPresent() && rec.get().state() == RequestState.ACTIVE) {
        continue;
      }
      EndCause why = ended ? rec.get().endCause().orElse(cause) : cause;
      AuditEvent.Builder ev = AuditEvent.builder(AuditEventType.GRANT_RECONCILED, now).grantId(m.grantId())
          .reason("identity-provider group membership removed by the broker's sweep")
          .attribute("cause", why.name())
          .attribute("membership", m.group())
          .attribute("member", m.user())
          .attribute("expiresAt", m.expiresAt().toString());
      rec.ifPresent(r -> ev.requestId(r.id()));
      try {
        membership.remove(m, why);
      } catch (RuntimeException e) {
        log.warn("could not remove {}; will retry: {}", m, e.toString());
        continue;
      }
      try {
        audit.write(stamped(List.of(ev.build())));
      } catch (RuntimeException e) {
        log.error("removed {} but could not record it: {}", m, e.toString());
      }
    }
  }

  /** Removes a live membership of a grant the store does not know, under the orphan rule (see reapMemberships). */
  private void reapOrphanedMembership(Instant now, GroupMembership m) {
    Instant since = unknownMembershipSince.computeIfAbsent(m.grantId(), g -> now);
    if (now.isBefore(since.plus(orphanGrace))) {
      return;
    }
    Optional<RequestRecord> owner = orphanOwner(m.grantId(), m.requestId());
    if (owner.isEmpty()) {
      return;
    }
    AuditEvent ev = orphanEvent(now, owner.get(), m.grantId())
        .reason("identity-provider group membership of a grant the store does not know (its activation did not"
            + " finish) removed by the broker's sweep")
        .attribute("membership", m.group())
        .attribute("member", m.user())
        .attribute("unknownSince", since.toString())
        .attribute("expiresAt", m.expiresAt().toString())
        .build();
    if (removeOrphan(owner.get().id(), m.grantId(), ev, () -> membership.remove(m, EndCause.RECONCILED_AFTER_RESTART),
        m.toString())) {
      unknownMembershipSince.remove(m.grantId());
    }
  }

  /**
   * Issues fresh credentials for an active grant, for example when a short certificate is about to
   * run out while the grant still has time. Only the grant's holder may ask, only while the grant
   * is active, and every credential ends no later than the grant (the issuer caps it; a credential
   * that would outlive the grant is refused here too). Each credential is recorded as {@link
   * AuditEventType#CREDENTIAL_ISSUED} before it is returned: if the audit sink fails, nothing is
   * handed out.
   *
   * @throws NotFoundException if the grant is unknown
   * @throws InvalidTransitionException if the grant has ended (revoked, expired) or its time is up;
   *     the message says by whom and when
   * @throws AccessDeniedException if {@code caller} does not hold the grant
   * @throws ProvisioningException if no credential issuer is configured or a credential could not be made
   * @throws AuditException if the issuance could not be recorded; nothing is returned
   * @throws IllegalArgumentException if no spec is given
   */
  public List<IssuedCredential> reissue(GrantId grantId, Identity caller, CredentialSpec... specs) {
    requireNonNull(grantId, "grantId");
    requireNonNull(caller, "caller");
    List<CredentialSpec> specList = Arrays.asList(specs.clone());
    specList.forEach(s -> requireNonNull(s, "credential spec"));
    if (specList.isEmpty()) {
      throw new IllegalArgumentException("no credential spec given: pass what to issue, e.g. CredentialSpec.x509FromCsr(csrPem)");
    }
    if (issuer == null) {
      throw new ProvisioningException("no credential issuer is configured; cannot issue " + specList);
    }
    RequestId rid = store.findByGrant(grantId).orElseThrow(() -> new NotFoundException("no grant " + grantId)).id();
    Lock lock = locks.get(rid);
    lock.lock();
    try {
      RequestRecord rec = load(rid);
      Grant grant = rec.grant().orElseThrow(() -> new NotFoundException("no grant " + grantId));
      Instant now = clock.instant();
      if (!caller.samePerson(grant.holder())) {
        throw new AccessDeniedException(caller.user() + " does not hold grant " + grantId);
      }
      if (rec.state() != RequestState.ACTIVE) {
        throw new InvalidTransitionException(rid, rec.state(), RequestState.ACTIVE, endedMessage(rec, grant));
      }
      if (!grant.isActiveAt(now)) {
        throw new InvalidTransitionException(rid, rec.state(), RequestState.ACTIVE,
            "grant " + grantId + " expired at " + grant.expiresAt());
      }
      List<IssuedCredential> issued = new ArrayList<>();
      List<AuditEvent> events = new ArrayList<>();
      for (CredentialSpec spec : specList) {
        IssuedCredential c = issuer.issue(grant, spec);
        if (c.ref().notAfter().isAfter(grant.expiresAt())) {
          throw new ProvisioningException("credential " + c.ref().id() + " would outlive grant " + grantId + " ("
              + c.ref().notAfter() + " > " + grant.expiresAt() + "); not issued");
        }
        issued.add(c);
        events.add(event(AuditEventType.CREDENTIAL_ISSUED, now, rec, caller)
            .attribute("credentialKind", c.ref().kind().name())
            .attribute("credentialId", c.ref().id())
            .attribute("fingerprint", c.ref().fingerprint())
            .attribute("notAfter", c.ref().notAfter().toString())
            .attribute("reissue", "true")
            .build());
      }
      writeAudit(events, "reissue for grant " + grantId);
      return List.copyOf(issued);
    } finally {
      lock.unlock();
    }
  }

  private static String endedMessage(RequestRecord rec, Grant grant) {
    StringBuilder m = new StringBuilder("grant ").append(grant.id()).append(rec.state() == RequestState.REVOKING
        ? " is being revoked (its access is being removed); it was revoked"
        : " was " + rec.state().name().toLowerCase(java.util.Locale.ROOT));
    rec.endedBy().ifPresent(by -> m.append(" by ").append(by.user()));
    rec.endedAt().ifPresent(at -> m.append(" at ").append(at));
    rec.endReason().ifPresent(r -> m.append(": ").append(r));
    return m.toString();
  }

  /**
   * Lists requests in any of {@code states} (all requests when {@code states} is empty), as the
   * store holds them. Callers decide what each user may see.
   */
  public List<RequestRecord> list(Set<RequestState> states) {
    requireNonNull(states, "states");
    return store.list(states.isEmpty() ? EnumSet.allOf(RequestState.class) : EnumSet.copyOf(states));
  }

  /** The groups whose members may revoke (and, in the HTTP API, see) any request. */
  public ImmutableSet<String> adminGroups() {
    return adminGroups;
  }

  /** Returns the request's current snapshot. */
  public Optional<RequestRecord> find(RequestId id) {
    return store.find(requireNonNull(id, "id"));
  }

  /** Returns the snapshot of the request that produced this grant. */
  public Optional<RequestRecord> findByGrant(GrantId id) {
    return store.findByGrant(requireNonNull(id, "id"));
  }

  /** Lists requests waiting for approval that {@code approver} may vote on (never their own). */
  public List<RequestRecord> pendingFor(Identity approver) {
    Instant now = clock.instant();
    List<RequestRecord> out = new ArrayList<>();
    for (RequestRecord r : store.list(EnumSet.of(RequestState.PENDING_APPROVAL))) {
      if (now.isBefore(r.expiresAt())
          && !r.request().requester().samePerson(approver)
          && approver.inAnyGroup(r.decision().approval().orElseThrow().approverGroups())
          && r.approvals().stream().noneMatch(a -> a.approver().samePerson(approver))) {
        out.add(r);
      }
    }
    return out;
  }

  private RequestRecord end(RequestRecord rec, EndCause cause, Identity by, String reason) {
    Instant now = clock.instant();
    boolean wasActive = rec.state() == RequestState.ACTIVE;
    RequestState target = cause == EndCause.REVOKED ? RequestState.REVOKED : RequestState.EXPIRED;
    if (wasActive) {
      rbac.deprovision(rec.grant().orElseThrow(), cause);
      if (membership != null) {
        membership.remove(GroupMembership.of(rec.grant().orElseThrow()), cause);
      }
    }
    AuditEventType type;
    if (wasActive) {
      type = cause == EndCause.REVOKED ? AuditEventType.GRANT_REVOKED
          : cause == EndCause.RECONCILED_AFTER_RESTART ? AuditEventType.GRANT_RECONCILED
          : AuditEventType.GRANT_EXPIRED;
    } else {
      type = cause == EndCause.REVOKED ? AuditEventType.REQUEST_REVOKED : AuditEventType.REQUEST_EXPIRED;
    }
    RequestRecord updated = rec.toBuilder().state(target).ended(cause, now, by, reason)
        .version(rec.version() + 1).build();
    AuditEvent.Builder ev = event(type, now, updated, by).attribute("cause", cause.name())
        .attribute("previousState", rec.state().name());
    if (reason != null) {
      ev.reason(reason);
    }
    rec.grant().ifPresent(g -> ev.attribute("expiresAt", g.expiresAt().toString()));
    commit(rec, updated, List.of(ev.build()), now);
    rec.grant().ifPresent(g -> warned.remove(g.id()));
    notifyQuietly(target == RequestState.REVOKED ? NotificationType.REVOKED : NotificationType.EXPIRED, updated, now,
        rec.request().requester().user() + "'s " + (wasActive ? "grant " + rec.grant().orElseThrow().id()
            : "request " + rec.id()) + " "
            + (target == RequestState.REVOKED ? "was revoked" + (by == null ? "" : " by " + by.user()) : "expired"));
    log.debug("request {} {} -> {} ({})", rec.id(), rec.state(), target, cause);
    return updated;
  }

  private boolean mayRevoke(RequestRecord rec, Identity by) {
    if (by.samePerson(rec.request().requester()) || by.inAnyGroup(adminGroups)) {
      return true;
    }
    return rec.decision().approval().map(a -> by.inAnyGroup(a.approverGroups())).orElse(false);
  }

  private static Instant dueAt(RequestRecord rec) {
    return rec.windowEnd().orElseThrow();
  }

  private Decision decide(AccessRequest request) {
    Decision d;
    try {
      d = requireNonNull(policy.decide(request), "policy returned null");
    } catch (RuntimeException e) {
      log.warn("policy failed on {}; denying: {}", request, e.toString());
      return Decision.deny("policy error (" + e.getClass().getSimpleName() + "); denied", "broker:policy-error");
    }
    if (d.outcome() != Decision.Outcome.DENY && d.grantedDuration().isEmpty()) {
      return Decision.deny("policy allowed without a duration; denied", "broker:policy-error");
    }
    return d;
  }

  /** The hook's answer, null if none applies; a failing hook refuses (fail closed). */
  private HookAnswer consult(AccessHook.Stage stage, RequestId id, AccessRequest request) {
    Optional<HookAnswer> answer;
    try {
      answer = hook.check(stage, id, request);
    } catch (RuntimeException e) {
      log.warn("access hook failed at {} of request {}; refusing: {}", stage, id, e.toString());
      return HookAnswer.refuse("access-hook", "the access hook failed (" + e.getClass().getSimpleName() + "); refused");
    }
    if (answer == null) {
      return HookAnswer.refuse("access-hook", "the access hook returned no answer; refused");
    }
    return answer.orElse(null);
  }

  /** The policy's decision with the hook's answer: a refusal denies, an approval is appended to the reason. */
  private static Decision withHook(Decision d, HookAnswer answer) {
    if (!answer.allowed()) {
      return Decision.builder(Decision.Outcome.DENY, answer.toString()).ruleId("hook:" + answer.hook())
          .policy(d.policyDigest().orElse(null), d.policyRevision().orElse(null)).build();
    }
    Decision.Builder b = Decision.builder(d.outcome(), d.reason() + "; " + answer)
        .ruleId(d.ruleId().orElse(null))
        .policy(d.policyDigest().orElse(null), d.policyRevision().orElse(null))
        .breakGlass(d.breakGlass())
        .rbacTemplate(d.rbacTemplate().orElse(null));
    d.grantedDuration().ifPresent(g -> b.grantedDuration(g, d.durationClamped()));
    d.approval().ifPresent(b::approval);
    return b.build();
  }

  private static void hookAttributes(AuditEvent.Builder ev, HookAnswer answer) {
    if (answer != null) {
      ev.attribute("accessHook", answer.hook());
      ev.attribute("accessHookAllowed", Boolean.toString(answer.allowed()));
      ev.attribute("accessHookReason", answer.reason());
    }
  }

  private Decision authorizeByPolicy(Grant grant, Use use) {
    try {
      return requireNonNull(policy.authorize(grant, use), "policy returned null");
    } catch (RuntimeException e) {
      log.warn("policy failed on {} for grant {}; denying: {}", use, grant.id(), e.toString());
      return Decision.deny("policy error (" + e.getClass().getSimpleName() + "); denied", "broker:policy-error");
    }
  }

  private AuditEvent.Builder event(AuditEventType type, Instant now, RequestRecord rec, Identity actor) {
    AuditEvent.Builder b = AuditEvent.builder(type, now).actor(actor).requestId(rec.id()).request(rec.request());
    rec.grant().ifPresent(g -> b.grantId(g.id()));
    b.policy(rec.decision().policyDigest().orElse(null), rec.decision().policyRevision().orElse(null));
    b.attribute("role", rec.request().role());
    b.attribute("requester", rec.request().requester().user());
    return b;
  }

  private void commit(RequestRecord expected, RequestRecord updated, List<AuditEvent> events, Instant now) {
    writeAudit(events, events.get(0).type() + " of " + expected.id());
    boolean replaced;
    try {
      replaced = store.replace(expected, updated);
    } catch (RuntimeException e) {
      abort(events, now, "store update failed: " + e.getClass().getSimpleName());
      throw e;
    }
    if (!replaced) {
      abort(events, now, "request changed concurrently (another replica)");
      throw new ConcurrentUpdateException("request " + expected.id() + " changed concurrently; retry");
    }
  }

  /**
   * Writes a transition's events, stamped with the time they are written if that is later than
   * the time they were made with (the call's start): an activation's RBAC and credential work can
   * take seconds, and a log stamped at call start would go back in time by that much between
   * records of concurrent calls.
   */
  private void writeAudit(List<AuditEvent> events, String what) {
    try {
      audit.write(stamped(events));
    } catch (AuditException e) {
      throw new AuditException("audit sink failed; " + what + " did not happen: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      throw new AuditException("audit sink failed; " + what + " did not happen: " + e, e);
    }
  }

  /** {@code events}, each stamped now when it was made earlier (see {@link #writeAudit}). */
  private List<AuditEvent> stamped(List<AuditEvent> events) {
    Instant at = clock.instant();
    ImmutableList.Builder<AuditEvent> out = ImmutableList.builderWithExpectedSize(events.size());
    for (AuditEvent e : events) {
      out.add(e.time().isBefore(at) ? e.stampedAt(at) : e);
    }
    return out.build();
  }

  private void abort(List<AuditEvent> events, Instant now, String why) {
    AuditEvent first = events.get(0);
    Instant at = clock.instant();
    AuditEvent.Builder b = AuditEvent.builder(AuditEventType.TRANSITION_ABORTED, at.isAfter(now) ? at : now)
        .reason(why);
    first.requestId().ifPresent(b::requestId);
    first.grantId().ifPresent(b::grantId);
    StringBuilder ids = new StringBuilder();
    for (AuditEvent e : events) {
      ids.append(ids.length() == 0 ? "" : ",").append(e.id());
    }
    b.attribute("abortedEventIds", ids.toString());
    try {
      audit.write(List.of(b.build()));
    } catch (RuntimeException e) {
      log.error("could not record that events {} were aborted ({})", ids, why);
    }
  }

  private void notifyQuietly(NotificationType type, RequestRecord record, Instant now, String summary) {
    try {
      notifier.notify(Notification.of(type, record, now, summary));
    } catch (RuntimeException e) {
      log.warn("notifier failed for {} of request {}: {}", type, record.id(), e.toString());
    }
  }

  private RequestRecord load(RequestId id) {
    return store.find(id).orElseThrow(() -> new NotFoundException("no request " + id));
  }

  /** Builds a {@link JitBroker}; each option may be set once. */
  public static final class Builder {
    private Clock clock = Clock.systemUTC();
    private boolean clockSet;
    private AccessPolicy policy;
    private RequestStore store;
    private AuditSink audit;
    private Notifier notifier;
    private RbacProvisioner rbac;
    private MembershipProvisioner membership;
    private CredentialIssuer issuer;
    private AccessHook hook;
    private Duration requestTimeout;
    private Duration expiryWarning;
    private int sweepParallelism;
    private Duration orphanGrace;
    private ImmutableSet<String> adminGroups;

    private Builder() {}

    /** Sets the clock (default: system UTC). */
    public Builder clock(Clock clock) {
      requireState(!clockSet, "clock was already set to %s", this.clock);
      this.clock = requireNonNull(clock, "clock");
      this.clockSet = true;
      return this;
    }

    /** Sets the access policy (required). */
    public Builder policy(AccessPolicy policy) {
      requireState(this.policy == null, "policy was already set to %s", this.policy);
      this.policy = requireNonNull(policy, "policy");
      return this;
    }

    /**
     * Sets the request store (required: {@link RequestStore#inMemory()} keeps requests only as
     * long as this process lives and shares them with no other process, so it must be chosen
     * explicitly).
     */
    public Builder store(RequestStore store) {
      requireState(this.store == null, "store was already set to %s", this.store);
      this.store = requireNonNull(store, "store");
      return this;
    }

    /** Sets the audit sink (required; the broker fails closed on it). */
    public Builder auditSink(AuditSink sink) {
      requireState(this.audit == null, "audit sink was already set to %s", this.audit);
      this.audit = requireNonNull(sink, "sink");
      return this;
    }

    /** Sets the notifier (default: none). */
    public Builder notifier(Notifier notifier) {
      requireState(this.notifier == null, "notifier was already set to %s", this.notifier);
      this.notifier = requireNonNull(notifier, "notifier");
      return this;
    }

    /** Sets the RBAC provisioner (required; use {@link RbacProvisioner#inMemory()} in tests). */
    public Builder rbacProvisioner(RbacProvisioner rbac) {
      requireState(this.rbac == null, "RBAC provisioner was already set to %s", this.rbac);
      this.rbac = requireNonNull(rbac, "rbac");
      return this;
    }

    /**
     * Sets the identity provider's group-membership provisioner (optional): with one, activation
     * also adds the holder to the grant's group there, and ending the grant removes them, in the
     * same order as RBAC (see the class notes).
     */
    public Builder membershipProvisioner(MembershipProvisioner membership) {
      requireState(this.membership == null, "membership provisioner was already set to %s", this.membership);
      this.membership = requireNonNull(membership, "membership");
      return this;
    }

    /**
     * Sets the credential issuer (optional). With an issuer, {@link JitBroker#activate} must be
     * given at least one {@link CredentialSpec}; without one, activation issues no credential and
     * refuses specs.
     */
    public Builder credentialIssuer(CredentialIssuer issuer) {
      requireState(this.issuer == null, "credential issuer was already set to %s", this.issuer);
      this.issuer = requireNonNull(issuer, "issuer");
      return this;
    }

    /**
     * Sets the access hook (optional), consulted when a request is submitted and again before
     * activation; see {@link AccessHook}.
     */
    public Builder accessHook(AccessHook hook) {
      requireState(this.hook == null, "access hook was already set to %s", this.hook);
      this.hook = requireNonNull(hook, "hook");
      return this;
    }

    /** How long a request may wait for approval and activation (default 1 hour). */
    public Builder requestTimeout(Duration timeout) {
      requireState(this.requestTimeout == null, "request timeout was already set to %s", this.requestTimeout);
      this.requestTimeout = Validation.requirePositive(timeout, "request timeout");
      return this;
    }

    /** How long before expiry an {@link NotificationType#EXPIRING} is sent (default 5 minutes). */
    public Builder expiryWarning(Duration warning) {
      requireState(this.expiryWarning == null, "expiry warning was already set to %s", this.expiryWarning);
      this.expiryWarning = Validation.requirePositive(warning, "expiry warning");
      return this;
    }

    /**
     * How many due requests one sweep ({@link JitBroker#expireDue}, {@link JitBroker#reconcile})
     * ends at the same time (default 8; 1 ends them one after another). Each end removes the
     * grant's access through the provisioners, so this bounds the concurrent calls a sweep makes
     * to the API server.
     *
     * @throws IllegalArgumentException unless between 1 and 64
     */
    public Builder sweepParallelism(int parallelism) {
      requireState(this.sweepParallelism == 0, "sweep parallelism was already set to %s", this.sweepParallelism);
      if (parallelism < 1 || parallelism > 64) {
        throw new IllegalArgumentException("sweep parallelism must be between 1 and 64: " + parallelism);
      }
      this.sweepParallelism = parallelism;
      return this;
    }

    /**
     * How old RBAC (by its objects' creation time) or an identity-provider membership (by when this
     * broker first saw it) of a grant the store does not know must be before a sweep removes it as
     * left by a crashed activation (default 5 minutes). It must exceed the longest activation on any
     * replica sharing the store, from provisioning to its record, plus the clock difference between
     * the broker and the API server: a shorter grace can remove the RBAC of an activation another
     * replica is still completing, which then fails its verification or, worse, completes without
     * RBAC until it is revoked. A longer grace leaves a crash's RBAC (which names only the crashed
     * grant's own group) unrecorded for longer. Zero suits a single broker process only: its own
     * activations hold the request's lock, which the sweep waits for.
     *
     * @throws IllegalArgumentException if null or not between zero and 24 hours
     */
    public Builder orphanGrace(Duration grace) {
      requireState(this.orphanGrace == null, "orphan grace was already set to %s", this.orphanGrace);
      if (grace == null) {
        throw new IllegalArgumentException("orphan grace is required");
      }
      if (grace.isNegative() || grace.compareTo(Duration.ofHours(24)) > 0) {
        throw new IllegalArgumentException("orphan grace must be between zero and 24 hours: " + grace);
      }
      this.orphanGrace = grace;
      return this;
    }

    /** Groups whose members may revoke any request (for example incident commanders). */
    public Builder adminGroups(String... groups) {
      requireState(this.adminGroups == null, "admin groups were already set to %s", this.adminGroups);
      this.adminGroups = ImmutableSet.copyOf(groups);
      return this;
    }

    /**
     * Returns the broker.
     *
     * @throws IllegalStateException if the policy, store, audit sink or RBAC provisioner is missing
     */
    public JitBroker build() {
      requireState(policy != null, "a policy is required");
      requireState(store != null, "a request store is required: RequestStore.inMemory() keeps requests only in "
          + "this process; use a durable store to share them or survive a restart");
      requireState(audit != null, "an audit sink is required: the broker fails closed without one");
      requireState(rbac != null, "an RBAC provisioner is required (RbacProvisioner.inMemory() for tests)");
      Builder copy = new Builder();
      copy.clock = clock;
      copy.policy = policy;
      copy.audit = audit;
      copy.rbac = rbac;
      copy.membership = membership;
      copy.issuer = issuer;
      copy.hook = hook == null ? AccessHook.none() : hook;
      copy.store = store;
      copy.notifier = notifier == null ? Notifier.none() : notifier;
      copy.requestTimeout = requestTimeout == null ? Duration.ofHours(1) : requestTimeout;
      copy.expiryWarning = expiryWarning == null ? Duration.ofMinutes(5) : expiryWarning;
      copy.sweepParallelism = sweepParallelism == 0 ? 8 : sweepParallelism;
      copy.orphanGrace = orphanGrace == null ? Duration.ofMinutes(5) : orphanGrace;
      copy.adminGroups = adminGroups == null ? ImmutableSet.of() : adminGroups;
      return new JitBroker(copy);
    }

    private static void requireState(boolean ok, String message, Object... args) {
      if (!ok) {
        throw new IllegalStateException(String.format(message, args));
      }
    }
  }
}
