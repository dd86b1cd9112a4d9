package dev.kubejit.api.spi;

import dev.kubejit.api.EndCause;
import dev.kubejit.api.Grant;
import dev.kubejit.api.ManagedRbac;
import dev.kubejit.api.ProvisioningException;
import java.util.List;

/**
 * Makes a grant's Kubernetes RBAC objects exist, and removes them when it ends.
 *
 * <p>Both operations must be idempotent: the broker may repeat them after a failure or restart,
 * and removing objects that are already gone counts as success.
 *
 * <p>A provisioner that can read back what it manages implements {@link #listManaged()} and {@link
 * #deprovision(ManagedRbac, EndCause)}; the broker's sweeps then remove RBAC that no stored grant
 * accounts for (an activation that crashed between provisioning and its record) once it is older
 * than {@link dev.kubejit.api.JitBroker.Builder#orphanGrace}. One that cannot keeps the defaults:
 * it lists nothing, and such RBAC lives until whatever enforces its expiry removes it.
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

  /**
   * Lists the grants whose RBAC objects this provisioner manages now, one entry per grant (and
   * namespace), as the cluster holds them. The default lists nothing (a provisioner that cannot
   * read back what it made).
   *
   * @throws ProvisioningException if they cannot be read; the broker then removes nothing and
   *     tries again at its next sweep
   */
  default List<ManagedRbac> listManaged() {
    return List.of();
  }

  /**
   * Removes the RBAC objects of a grant that {@link #listManaged()} reported, without the grant
   * itself (no stored grant accounts for them). Objects already gone count as removed.
   *
   * @throws ProvisioningException if they could not be removed (retried at the next sweep); the
   *     default always throws, since a provisioner that lists nothing is never asked
   */
  default void deprovision(ManagedRbac managed, EndCause cause) {
    throw new ProvisioningException(getClass().getName() + " lists no managed RBAC and cannot remove " + managed);
  }

  /** Returns a provisioner that records grants in memory, for tests and demos. */
  static InMemoryRbacProvisioner inMemory() {
    return new InMemoryRbacProvisioner();
  }
}
