package dev.kubejit.api.spi;

import dev.kubejit.api.EndCause;
import dev.kubejit.api.Grant;
import dev.kubejit.api.ProvisioningException;

/**
 * Makes a grant's Kubernetes RBAC objects exist, and removes them when it ends.
 *
 * <p>Both operations must be idempotent: the broker may repeat them after a failure or restart,
 * and removing objects that are already gone counts as success.
 */
public interface RbacProvisioner {
  /**
   * Creates or updates the grant's RBAC objects.
   *
   * @throws ProvisioningException if they could not be applied; the broker then grants nothing
   */
  void provision(Grant grant);

  /**
   * Removes the grant's RBAC objects.
   *
   * @throws ProvisioningException if they could not be removed; the grant stays active and is retried
   */
  void deprovision(Grant grant, EndCause cause);

  /** Returns a provisioner that records grants in memory, for tests and demos. */
  static InMemoryRbacProvisioner inMemory() {
    return new InMemoryRbacProvisioner();
  }
}
