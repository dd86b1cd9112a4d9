package dev.kubejit.server;

import com.google.common.collect.ImmutableMap;
import dev.kubejit.api.EndCause;
import dev.kubejit.api.Grant;
import dev.kubejit.api.ManagedRbac;
import dev.kubejit.api.ProvisioningException;
import dev.kubejit.api.spi.RbacProvisioner;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Provisions each grant's RBAC in the cluster its scope names, with that cluster's own provisioner;
 * a grant for a cluster the broker does not know is refused (nothing is granted). Lists what every
 * cluster's provisioner manages (a cluster that cannot be read is skipped and logged, so the others'
 * orphans are still removed), and removes a listed grant's RBAC through every cluster's provisioner
 * (grant ids are unique; where the grant has nothing, nothing is deleted).
 */
final class ClusterRbac implements RbacProvisioner {
  private static final Logger log = LoggerFactory.getLogger(ClusterRbac.class);
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
  public List<ManagedRbac> listManaged() {
    List<ManagedRbac> out = new ArrayList<>();
    for (Map.Entry<String, RbacProvisioner> e : byCluster.entrySet()) {
      try {
        out.addAll(e.getValue().listManaged());
      } catch (RuntimeException failed) {
        log.warn("cannot list the managed RBAC of cluster {}; its orphans wait for the next sweep: {}", e.getKey(),
            failed.toString());
      }
    }
    return List.copyOf(out);
  }

  @Override
  public void deprovision(ManagedRbac managed, EndCause cause) {
    RuntimeException failure = null;
    for (RbacProvisioner p : byCluster.values()) {
      try {
        p.deprovision(managed, cause);
      } catch (RuntimeException e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  @Override
  public String toString() {
    return "ClusterRbac" + byCluster.keySet();
  }
}
