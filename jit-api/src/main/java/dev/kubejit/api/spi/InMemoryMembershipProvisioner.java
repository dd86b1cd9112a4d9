package dev.kubejit.api.spi;

import com.google.common.collect.ImmutableMap;
import dev.kubejit.api.EndCause;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.GroupMembership;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** A {@link MembershipProvisioner} that keeps memberships in memory. */
public final class InMemoryMembershipProvisioner implements MembershipProvisioner {
  private final Map<GrantId, GroupMembership> current = new ConcurrentHashMap<>();
  private final Map<GrantId, EndCause> removed = new ConcurrentHashMap<>();

  InMemoryMembershipProvisioner() {}

  @Override
  public void add(GroupMembership membership) {
    current.put(membership.grantId(), membership);
  }

  @Override
  public void remove(GroupMembership membership, EndCause cause) {
    if (current.remove(membership.grantId()) != null) {
      removed.put(membership.grantId(), cause);
    }
  }

  @Override
  public List<GroupMembership> listManaged() {
    return List.copyOf(current.values());
  }

  /** Whether the grant's membership exists now. */
  public boolean isMember(GrantId id) {
    return current.containsKey(id);
  }

  /** Why each removed membership was removed. */
  public ImmutableMap<GrantId, EndCause> removed() {
    return ImmutableMap.copyOf(removed);
  }
}
