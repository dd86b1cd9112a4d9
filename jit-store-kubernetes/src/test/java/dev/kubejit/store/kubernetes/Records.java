package dev.kubejit.store.kubernetes;

import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.Approval;
import dev.kubejit.api.ApprovalRequirement;
import dev.kubejit.api.CredentialKind;
import dev.kubejit.api.CredentialRef;
import dev.kubejit.api.Decision;
import dev.kubejit.api.EndCause;
import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Identity;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.Scope;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/** Records for codec and schema tests: one with every optional field set, one with none. */
final class Records {
  static final Instant T0 = Instant.parse("2026-03-01T10:15:30.123456789Z");

  private Records() {}

  /** A revoked record that had a grant: every field of spec and status is present. */
  static RequestRecord full() {
    Identity alice = Identity.of("alice", List.of("oncall-payments", "sre")).assertedBy("oidc:https://idp.example");
    Identity carol = Identity.of("carol", List.of("sre-leads")).assertedBy("slack");
    RequestId id = RequestId.random();
    AccessRequest q = AccessRequest.builder().requester(alice).role("oncall-debug").action(Action.EXEC)
        .scope(Scope.namespace("prod", "payments").withPod("api-7d9f").withNode("node-1"))
        .duration(Duration.ofMinutes(45)).justification("INC-42: payments 500s").ticket("INC-42")
        .strictDuration(true).build();
    Decision d = Decision.builder(Decision.Outcome.NEEDS_APPROVAL, "needs one sre-lead").ruleId("r1")
        .policy("sha256:abc", "git:1234").grantedDuration(Duration.ofMinutes(30), true)
        .approval(ApprovalRequirement.of(List.of("sre-leads"), 1)).breakGlass(true).rbacTemplate("exec").build();
    Grant g = Grant.builder().id(GrantId.random()).requestId(id).holder(alice).role("oncall-debug")
        .action(Action.EXEC).scope(q.scope()).window(T0.plusSeconds(60), T0.plusSeconds(60 + 1800))
        .rbacTemplate("exec").breakGlass(true).policyDigest("sha256:abc").why("INC-42: payments 500s", "INC-42")
        .credentials(List.of(CredentialRef.of(CredentialKind.X509_FROM_CSR, "serial-1", "sha256:ff",
            T0.plusSeconds(1800)))).build();
    return RequestRecord.builder().id(id).request(q).decision(d).state(RequestState.REVOKED)
        .window(T0, T0.plus(Duration.ofHours(1)))
        .approvals(List.of(Approval.approve(carol, T0.plusSeconds(30), "go"),
            Approval.deny(Identity.of("dave", List.of("sre-leads")).assertedBy("slack"), T0.plusSeconds(31), "no")))
        .grant(g).ended(EndCause.REVOKED, T0.plusSeconds(600), carol, "done").reviewRequired(true).version(5)
        .build();
  }

  /** A pending record with no optional field. */
  static RequestRecord minimal() {
    AccessRequest q = AccessRequest.builder().requester(Identity.of("bob")).role("view").action(Action.VIEW)
        .scope(Scope.cluster("prod")).build();
    Decision d = Decision.builder(Decision.Outcome.NEEDS_APPROVAL, "needs approval")
        .approval(ApprovalRequirement.of(List.of("leads"), 2)).build();
    return RequestRecord.builder().id(RequestId.random()).request(q).decision(d)
        .state(RequestState.PENDING_APPROVAL).window(T0, T0.plusSeconds(3600)).version(1).build();
  }
}
