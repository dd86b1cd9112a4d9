package dev.kubejit.api.spi;

import dev.kubejit.api.EndCause;
import dev.kubejit.api.GroupMembership;
import dev.kubejit.api.ProvisioningException;
import java.util.List;

/**
 * Adds a grant's holder to the grant's group in the identity provider, and removes them when the
 * grant ends, so that the short-lived OIDC tokens the provider issues carry the group only while
 * the grant lasts.
 *
 * <p>The broker calls it beside the {@link RbacProvisioner} and with the same ordering: {@link
 * #add} before the activation is recorded (and {@link #remove} again if recording fails), {@link
 * #remove} before a revocation or expiry is recorded. {@link dev.kubejit.api.JitBroker#reconcile()}
 * and {@link dev.kubejit.api.JitBroker#expireDue()} also remove every {@linkplain #listManaged()
 * managed} membership whose expiry has passed or whose grant has ended, so a membership left behind
 * by a crash does not outlive its grant's window by more than one sweep.
 *
 * <p>Every operation must be idempotent (adding an existing membership or removing a missing one
 * succeeds) and must touch only what KubeJIT created: an adapter marks its groups as KubeJIT's and
 * {@link #listManaged()} returns only those.
 */
public interface MembershipProvisioner {
  /**
   * Makes the membership exist until its expiry.
   *
   * @throws ProvisioningException if it could not be made (unknown user, provider refused); the
   *     broker then grants nothing
   */
  void add(GroupMembership membership);

  /**
   * Makes the membership not exist (and, where the provider allows, removes the grant's group).
   *
   * @throws ProvisioningException if it could not be removed; the grant stays active and is retried
   */
  void remove(GroupMembership membership, EndCause cause);

  /**
   * Lists the memberships KubeJIT manages now, as the identity provider holds them.
   *
   * @throws ProvisioningException if the provider cannot be read
   */
  List<GroupMembership> listManaged();

  /** Returns a provisioner that keeps memberships in memory, for tests and demos. */
  static InMemoryMembershipProvisioner inMemory() {
    return new InMemoryMembershipProvisioner();
  }
}
