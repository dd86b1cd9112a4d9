package dev.kubejit.rbac;

import io.kubernetes.client.openapi.ApiException;

/** Small helpers for client-java errors. */
final class Kube {
  private Kube() {}

  /** A one-line, bounded description of an API error (status reason or message, never headers). */
  static String reason(ApiException e) {
    String body = e.getResponseBody();
    String msg = null;
    if (body != null) {
      int i = body.indexOf("\"message\":\"");
      if (i >= 0) {
        int j = body.indexOf('"', i + 11);
        while (j > 0 && body.charAt(j - 1) == '\\') {
          j = body.indexOf('"', j + 1);
        }
        msg = j > 0 ? body.substring(i + 11, j) : null;
      }
    }
    if (msg == null) {
      msg = e.getMessage() == null ? "no message" : e.getMessage();
    }
    msg = msg.replace('\n', ' ').replace('\r', ' ');
    return msg.length() > 300 ? msg.substring(0, 300) + "..." : msg;
  }

  /**
   * The exception for a failed call: {@link dev.kubejit.api.ProvisionerUnavailableException} when
   * the API server could not be reached or answered 429 or 5xx (the same call may work later),
   * {@link RbacException} when it refused.
   */
  static dev.kubejit.api.ProvisioningException failure(String message, ApiException e) {
    int c = e.getCode();
    if (c == 0 || c == 429 || c >= 500) {
      return new dev.kubejit.api.ProvisionerUnavailableException(message, e);
    }
    return new RbacException(message, e);
  }

  static boolean retryable(ApiException e) {
    int c = e.getCode();
    return c == 409 || c == 429 || c >= 500 || c == 0;
  }
}
