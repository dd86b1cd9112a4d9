package dev.kubejit.api.spi;

import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Decision;
import dev.kubejit.api.Grant;
import dev.kubejit.api.Use;

/**
 * Decides requests and uses; the broker enforces the rules that hold whatever a policy says (no
 * self-approval, distinct approvers, expiry, fail-closed audit) on top of its answers.
 *
 * <p>Implementations must be thread-safe and must not throw for hostile input: they return a
 * {@link Decision.Outcome#DENY} with a reason. An exception thrown here is treated as a denial.
 */
public interface AccessPolicy {
  /** Decides a new request: allow (with granted duration), deny, or needs approval. */
  Decision decide(AccessRequest request);

  /** Decides one use of an active grant (an action, or a command in an exec session). */
  Decision authorize(Grant grant, Use use);

  /** Returns a builder for a small rule set held in memory, for tests, demos and embedding. */
  static StaticAccessPolicy.Builder staticRules() {
    return StaticAccessPolicy.builder();
  }
}
