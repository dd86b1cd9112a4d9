package dev.kubejit.api.spi;

import com.google.common.collect.ImmutableMap;
import dev.kubejit.api.EndCause;
import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** An {@link RbacProvisioner} that keeps provisioned grants in memory. */
public final class InMemoryRbacProvisioner implements RbacProvisioner {
  private final Map<GrantId, Grant> provisioned = new ConcurrentHashMap<>();
  private final Map<GrantId, EndCause> removed = new ConcurrentHashMap<>();

  InMemoryRbacProvisioner() {}

  @Override
  public void provision(Grant grant) {
    provisioned.put(grant.id(), grant);
  }

  @Override
  public void deprovision(Grant grant, EndCause cause) {
    if (provisioned.remove(grant.id()) != null) {
      removed.put(grant.id(), cause);
    }
  }

  /** Whether the grant's objects currently exist. */
  public boolean isProvisioned(GrantId id) {
    return provisioned.containsKey(id);
  }

  /** Grants whose objects exist now. */
  public ImmutableMap<GrantId, Grant> provisioned() {
    return ImmutableMap.copyOf(provisioned);
  }

  /** Why each removed grant's objects were removed. */
  public ImmutableMap<GrantId, EndCause> removed() {
    return ImmutableMap.copyOf(removed);
  }
}
