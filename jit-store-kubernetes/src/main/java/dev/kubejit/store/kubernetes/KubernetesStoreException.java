package dev.kubejit.store.kubernetes;

import dev.kubejit.api.KubeJitException;

/**
 * The Kubernetes request store could not do what was asked: the API server refused or could not
 * be reached, the CustomResourceDefinition is missing, the store's identity lacks a permission of
 * the shipped Role, or a stored object does not decode to a valid request.
 *
 * <p>{@link #httpStatus()} is the API server's status code (0 when there was no HTTP answer, for
 * example a connection failure or an undecodable object). Messages name the object and the API
 * server's reason, never credentials.
 */
public final class KubernetesStoreException extends KubeJitException {
  private static final long serialVersionUID = 1L;

  private final int httpStatus;

  KubernetesStoreException(String message, int httpStatus, Throwable cause) {
    super(message, cause);
    this.httpStatus = httpStatus;
  }

  /** The API server's HTTP status code, or 0 when the failure was not an HTTP answer. */
  public int httpStatus() {
    return httpStatus;
  }
}
