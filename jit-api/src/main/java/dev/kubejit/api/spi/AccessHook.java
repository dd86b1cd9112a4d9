package dev.kubejit.api.spi;

import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.HookAnswer;
import dev.kubejit.api.RequestId;
import java.util.Optional;

/**
 * A check outside KubeJIT that a request must pass, for example "is the ticket open and assigned to
 * the requester in the ticketing system?". The broker consults it when a request is submitted
 * (after the policy allowed it or asked for approval, before it can be approved, so approvers see
 * the answer) and again just before activation (before any RBAC is provisioned or credential
 * issued). Its answer and reason are recorded in the audit log; at submission they are also part of
 * the request's decision reason, which approvers see.
 *
 * <p>Fail closed: a hook that throws, returns null or cannot reach its service refuses. A refusal
 * at submission denies the request; at activation it is recorded and the request stays approved,
 * unchanged (the holder may try again once the ticket is fixed, while the request lasts).
 */
public interface AccessHook {
  /** When the broker asks. */
  enum Stage {
    /** The request was just submitted and the policy did not deny it. */
    REQUEST,
    /** The requester is activating an approved request. */
    ACTIVATION
  }

  /**
   * Decides whether {@code request} may proceed at {@code stage}; empty if no hook applies (for
   * example the request's role has none configured).
   *
   * @param stage when the broker asks
   * @param id the request's id
   * @param request the request as submitted
   */
  Optional<HookAnswer> check(Stage stage, RequestId id, AccessRequest request);

  /** A hook that never applies. */
  static AccessHook none() {
    return (stage, id, request) -> Optional.empty();
  }
}
