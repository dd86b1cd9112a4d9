package dev.kubejit.api.spi;

import com.google.common.collect.ImmutableMap;
import dev.kubejit.api.EndCause;
import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.ManagedRbac;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An {@link RbacProvisioner} that keeps provisioned grants in memory. It lists them as {@link
 * #listManaged() managed}, each created at its grant's {@link Grant#grantedAt()} (the instant the
 * broker provisioned it, by the broker's clock).
 */
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

  @Override
  public List<ManagedRbac> listManaged() {
    List<ManagedRbac> out = new ArrayList<>();
    for (Grant g : provisioned.values()) {
      out.add(ManagedRbac.of(g.id(), g.requestId(), g.scope().namespace().orElse(null), g.grantedAt(), g.expiresAt(),
          List.of("Role+RoleBinding/" + g.id())));
    }
    return List.copyOf(out);
  }

  @Override
  public void deprovision(ManagedRbac managed, EndCause cause) {
    if (provisioned.remove(managed.grantId()) != null) {
      removed.put(managed.grantId(), cause);
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
