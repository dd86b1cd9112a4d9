package dev.kubejit.api;

import com.google.common.collect.ImmutableSortedSet;
import java.util.Collection;
import java.util.Objects;

/**
 * Who must approve and how many distinct approvers are needed (N of M); the requester never
 * counts, whatever groups they are in.
 */
public final class ApprovalRequirement {
  private final ImmutableSortedSet<String> approverGroups;
  private final int minApprovals;

  private ApprovalRequirement(Collection<String> approverGroups, int minApprovals) {
    if (minApprovals < 1) {
      throw new IllegalArgumentException("minApprovals must be at least 1: " + minApprovals);
    }
    if (approverGroups.isEmpty()) {
      throw new IllegalArgumentException("manual approval needs at least one approver group");
    }
    ImmutableSortedSet.Builder<String> b = ImmutableSortedSet.naturalOrder();
    for (String g : approverGroups) {
      b.add(PrincipalNames.check(g, "approver group"));
    }
    this.approverGroups = b.build();
    this.minApprovals = minApprovals;
  }

  /** Requires {@code minApprovals} distinct approvers from any of {@code approverGroups}. */
  public static ApprovalRequirement of(Collection<String> approverGroups, int minApprovals) {
    return new ApprovalRequirement(approverGroups, minApprovals);
  }

  /** Groups whose members may approve. */
  public ImmutableSortedSet<String> approverGroups() {
    return approverGroups;
  }

  /** Number of distinct approvers required. */
  public int minApprovals() {
    return minApprovals;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ApprovalRequirement
        && ((ApprovalRequirement) o).approverGroups.equals(approverGroups)
        && ((ApprovalRequirement) o).minApprovals == minApprovals;
  }

  @Override
  public int hashCode() {
    return Objects.hash(approverGroups, minApprovals);
  }

  @Override
  public String toString() {
    return minApprovals + " of " + approverGroups;
  }
}
