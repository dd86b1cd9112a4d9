package dev.kubejit.testing;

import dev.kubejit.api.Approval;
import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Identity;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The chain of versions the interrupted-write test writes: every field that changes between two
 * versions is a function of the version number alone, so a record read back after the writer was
 * killed can be checked field by field against the version it claims to be. A mix of two writes
 * (columns from one, payload from the other, half an approvals list) cannot match.
 */
final class InterruptedWrites {
  private static final String BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

  private InterruptedWrites() {}

  /** The record at {@code version}, built on the unchanging fields of {@code anyInChain}. */
  static RequestRecord at(RequestRecord anyInChain, long version) {
    if (version < 2) {
      throw new IllegalArgumentException("the chain starts at version 2: " + version);
    }
    int n = (int) (version % 40) + 1;
    List<Approval> approvals = new ArrayList<>();
    String filler = "x".repeat(200);
    for (int i = 0; i < n; i++) {
      approvals.add(Approval.approve(Identity.of("approver-" + version + "-" + i, List.of("sre-leads")).assertedBy("test-idp"),
          anyInChain.createdAt().plusSeconds(i), "v" + version + " " + filler));
    }
    Grant grant = Grant.builder().id(grantId(anyInChain, version)).requestId(anyInChain.id())
        .holder(anyInChain.request().requester()).role(anyInChain.request().role())
        .action(anyInChain.request().action()).scope(anyInChain.request().scope())
        .window(anyInChain.createdAt(), anyInChain.createdAt().plus(Duration.ofMinutes(version)))
        .build();
    return anyInChain.toBuilder().state(RequestState.ACTIVE).approvals(approvals).grant(grant)
        .reviewRequired(version % 2 == 0).version(version).build();
  }

  /** A grant id unique to the request and the version. */
  static GrantId grantId(RequestRecord anyInChain, long version) {
    StringBuilder s = new StringBuilder(anyInChain.id().value().substring(0, 13));
    long v = version;
    for (int i = 0; i < 13; i++) {
      s.append(BASE32.charAt((int) (v & 31)));
      v >>>= 5;
    }
    return GrantId.parse(s.toString());
  }
}
