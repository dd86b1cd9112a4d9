package dev.kubejit.api;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * One identity-provider group membership that KubeJIT manages for a grant: user {@link #user()}
 * is a member of group {@link #group()} until {@link #expiresAt()}, because of grant {@link
 * #grantId()}. The group is the grant's {@link Grant#subjectGroup()}, the one its RoleBinding
 * names, so a token that carries it is worth exactly what the grant allows.
 */
public final class GroupMembership {
  private final GrantId grantId;
  private final RequestId requestId;
  private final String user;
  private final String group;
  private final Instant expiresAt;

  private GroupMembership(GrantId grantId, RequestId requestId, String user, String group, Instant expiresAt) {
    this.grantId = requireNonNull(grantId, "grantId");
    this.requestId = requestId;
    this.user = PrincipalNames.check(user, "user");
    this.group = PrincipalNames.check(group, "group");
    this.expiresAt = requireNonNull(expiresAt, "expiresAt");
  }

  /** The membership a grant stands for: its holder in its subject group until it expires. */
  public static GroupMembership of(Grant grant) {
    requireNonNull(grant, "grant");
    return new GroupMembership(grant.id(), grant.requestId(), grant.holder().user(), grant.subjectGroup(),
        grant.expiresAt());
  }

  /**
   * A membership as an adapter read it back from the identity provider.
   *
   * @throws IllegalArgumentException if the user or group is not an acceptable name ({@link
   *     PrincipalNames#check})
   */
  public static GroupMembership of(GrantId grantId, String user, String group, Instant expiresAt) {
    return new GroupMembership(grantId, null, user, group, expiresAt);
  }

  /**
   * A membership as an adapter read it back from the identity provider, with the request its grant
   * was activated for (which lets the broker's sweep remove it when an activation crashed before
   * its grant was recorded; see {@link JitBroker.Builder#orphanGrace}).
   *
   * @throws IllegalArgumentException if the user or group is not an acceptable name ({@link
   *     PrincipalNames#check})
   */
  public static GroupMembership of(GrantId grantId, RequestId requestId, String user, String group,
      Instant expiresAt) {
    return new GroupMembership(grantId, requireNonNull(requestId, "requestId"), user, group, expiresAt);
  }

  /** The grant this membership belongs to. */
  public GrantId grantId() {
    return grantId;
  }

  /** The request the grant was activated for, when the membership says (adapters may not keep it). */
  public Optional<RequestId> requestId() {
    return Optional.ofNullable(requestId);
  }

  /** The identity provider's user name of the grant's holder. */
  public String user() {
    return user;
  }

  /** The group the user is a member of (the grant's subject group). */
  public String group() {
    return group;
  }

  /** The first instant at which the membership must no longer exist. */
  public Instant expiresAt() {
    return expiresAt;
  }

  /** Whether the membership should still exist at {@code now} (it ends exactly at its expiry). */
  public boolean isActiveAt(Instant now) {
    return now.isBefore(expiresAt);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof GroupMembership m && grantId.equals(m.grantId) && Objects.equals(requestId, m.requestId)
        && user.equals(m.user)
        && group.equals(m.group) && expiresAt.equals(m.expiresAt);
  }

  @Override
  public int hashCode() {
    return Objects.hash(grantId, requestId, user, group, expiresAt);
  }

  @Override
  public String toString() {
    return "GroupMembership[" + SafeText.quote(user) + " in " + SafeText.quote(group) + " until " + expiresAt
        + ", grant " + grantId + "]";
  }
}
