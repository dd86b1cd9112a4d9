package dev.kubejit.api;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableSortedSet;
import java.util.Arrays;
import java.util.Collection;
import java.util.Objects;
import java.util.Set;

/**
 * An authenticated person: a user name, the groups an identity provider vouches for, and where
 * that assertion came from.
 *
 * <p>Instances are immutable. The broker never derives an identity from request content; callers
 * construct it from whatever authenticated the caller (an OIDC token, a ChatOps platform's signed
 * payload, an mTLS certificate).
 */
public final class Identity {
  private final String user;
  private final ImmutableSortedSet<String> groups;
  private final String source;

  private Identity(String user, Collection<String> groups, String source) {
    this.user = PrincipalNames.check(user, "user");
    ImmutableSortedSet.Builder<String> b = ImmutableSortedSet.naturalOrder();
    for (String g : requireNonNull(groups, "groups")) {
      b.add(PrincipalNames.check(g, "group"));
    }
    this.groups = b.build();
    this.source = Validation.requireName(source, "identity source");
  }

  /**
   * Returns an identity with the given groups whose source is {@code "local"}; name where it came
   * from with {@link #assertedBy}: {@code Identity.of("alice", groups).assertedBy("oidc:https://idp.example")}.
   *
   * @throws IllegalArgumentException if the user or a group fails {@link PrincipalNames#check}
   */
  public static Identity of(String user, Collection<String> groups) {
    return new Identity(user, groups, "local");
  }

  /**
   * Returns an identity with the given groups whose source is {@code "local"}.
   *
   * @throws IllegalArgumentException if the user or a group fails {@link PrincipalNames#check}
   */
  public static Identity of(String user, String... groups) {
    return new Identity(user, Arrays.asList(groups), "local");
  }

  /**
   * Returns this identity as asserted by {@code source}: the identity provider, ChatOps platform or
   * certificate that authenticated it (for example {@code "oidc:https://idp.example"}, {@code "slack:T01"}).
   *
   * @throws IllegalArgumentException if the source is blank, has surrounding space or control characters
   */
  public Identity assertedBy(String source) {
    return new Identity(user, groups, source);
  }

  /** The user name; becomes the certificate CN and the Kubernetes user name. */
  public String user() {
    return user;
  }

  /** The groups, sorted. */
  public ImmutableSortedSet<String> groups() {
    return groups;
  }

  /** Where the identity was asserted (identity provider, ChatOps platform, ...). */
  public String source() {
    return source;
  }

  /** Whether this identity is in at least one of {@code candidates}. */
  public boolean inAnyGroup(Set<String> candidates) {
    for (String g : groups) {
      if (candidates.contains(g)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether this and {@code other} are the same person for the broker's rules (self-approval,
   * activation, use): the same user name, whatever source asserted it, so one person cannot approve
   * their own request by signing in through a second identity provider. Names are compared in
   * their {@link PrincipalNames#canonical canonical} form (NFKC and case folding), so
   * {@code Alice} and {@code alice} are one person.
   */
  public boolean samePerson(Identity other) {
    return PrincipalNames.same(user, other.user);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Identity
        && ((Identity) o).user.equals(user)
        && ((Identity) o).groups.equals(groups)
        && ((Identity) o).source.equals(source);
  }

  @Override
  public int hashCode() {
    return Objects.hash(user, groups, source);
  }

  @Override
  public String toString() {
    return user + groups + "@" + source;
  }
}
