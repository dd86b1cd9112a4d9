package dev.kubejit.admission;

import dev.kubejit.api.KubeJitException;

/**
 * The body is not an {@code AdmissionReview} the webhook can answer (not JSON, no request, no uid,
 * too large); an HTTP host answers 400, and the API server, with {@code failurePolicy: Fail},
 * refuses the request it was asking about.
 */
public final class MalformedAdmissionReviewException extends KubeJitException {
  private static final long serialVersionUID = 1L;

  MalformedAdmissionReviewException(String message) {
    super(message);
  }

  MalformedAdmissionReviewException(String message, Throwable cause) {
    super(message, cause);
  }
}
