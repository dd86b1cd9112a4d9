package dev.kubejit.server;

import com.google.common.collect.ImmutableMap;
import dev.kubejit.api.EndCause;
import dev.kubejit.api.Grant;
import dev.kubejit.api.ProvisioningException;
import dev.kubejit.api.spi.RbacProvisioner;
import java.util.Map;

/**
 * Provisions each grant's RBAC in the cluster its scope names, with that cluster's own provisioner;
 * a grant for a cluster the broker does not know is refused (nothing is granted).
 */
final class ClusterRbac implements RbacProvisioner {
  private final ImmutableMap<String, RbacProvisioner> byCluster;

  ClusterRbac(Map<String, RbacProvisioner> byCluster) {
    this.byCluster = ImmutableMap.copyOf(byCluster);
  }

  private RbacProvisioner of(Grant grant) {
    RbacProvisioner p = byCluster.get(grant.scope().cluster());
    if (p == null) {
      throw new ProvisioningException("grant " + grant.id() + " is for cluster \"" + grant.scope().cluster()
          + "\", which this broker does not provision (configured: " + byCluster.keySet() + ")");
    }
    return p;
  }

  @Override
  public void provision(Grant grant) {
    of(grant).provision(grant);
  }

  @Override
  public void deprovision(Grant grant, EndCause cause) {
    of(grant).deprovision(grant, cause);
  }

  @Override
  public String toString() {
    return "ClusterRbac" + byCluster.keySet();
  }
}
