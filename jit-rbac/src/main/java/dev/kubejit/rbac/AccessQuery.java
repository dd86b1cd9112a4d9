package dev.kubejit.rbac;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableSortedSet;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/**
 * A question for {@link RbacEvaluator}: may this user with these groups do a verb on a resource
 * (optionally a subresource, a namespace and a name), or on a non-resource URL.
 *
 * <p>Unless {@link Builder#exactGroups()} is called, the groups an authenticator adds are added
 * here too: {@code system:authenticated} for every user except {@code system:anonymous} (which
 * gets {@code system:unauthenticated}), and {@code system:serviceaccounts} plus
 * {@code system:serviceaccounts:<ns>} for {@code system:serviceaccount:<ns>:<name>} users.
 */
public final class AccessQuery {
  private final String user;
  private final ImmutableSortedSet<String> groups;
  private final String verb;
  private final String apiGroup;
  private final String resource;
  private final String subresource;
  private final String namespace;
  private final String name;
  private final String path;

  private AccessQuery(Builder b) {
    this.user = b.user;
    TreeSet<String> g = new TreeSet<>(b.groups);
    if (!b.exactGroups) {
      if ("system:anonymous".equals(b.user)) {
        g.add("system:unauthenticated");
      } else {
        g.add("system:authenticated");
      }
      if (b.user.startsWith("system:serviceaccount:")) {
        String[] parts = b.user.split(":", -1);
        if (parts.length == 4 && !parts[2].isEmpty() && !parts[3].isEmpty()) {
          g.add("system:serviceaccounts");
          g.add("system:serviceaccounts:" + parts[2]);
        }
      }
    }
    this.groups = ImmutableSortedSet.copyOf(g);
    this.verb = b.verb;
    this.apiGroup = b.apiGroup;
    this.resource = b.resource;
    this.subresource = b.subresource;
    this.namespace = b.namespace;
    this.name = b.name;
    this.path = b.path;
  }

  /** Returns a builder for a question about {@code user}. */
  public static Builder builder(String user) {
    return new Builder(user);
  }

  /** The user name. */
  public String user() {
    return user;
  }

  /** The effective groups (with the authenticator-added ones unless exact groups were asked for). */
  public ImmutableSortedSet<String> groups() {
    return groups;
  }

  /** The verb. */
  public String verb() {
    return verb;
  }

  /** Whether this asks about a non-resource URL. */
  public boolean isNonResource() {
    return path != null;
  }

  /** The API group ({@code ""} for core), for resource questions. */
  public String apiGroup() {
    return apiGroup;
  }

  /** The resource, for resource questions. */
  public String resource() {
    return resource;
  }

  /** The subresource, if any. */
  public Optional<String> subresource() {
    return Optional.ofNullable(subresource);
  }

  /** The namespace, empty for a cluster-wide question. */
  public Optional<String> namespace() {
    return Optional.ofNullable(namespace);
  }

  /** The resource name, if any. */
  public Optional<String> name() {
    return Optional.ofNullable(name);
  }

  /** The non-resource URL path, for non-resource questions. */
  public Optional<String> path() {
    return Optional.ofNullable(path);
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder(user).append(groups).append(' ').append(verb).append(' ');
    if (path != null) {
      return sb.append(path).toString();
    }
    sb.append(apiGroup.isEmpty() ? "" : apiGroup + "/").append(resource);
    if (subresource != null) {
      sb.append('/').append(subresource);
    }
    if (name != null) {
      sb.append(" name=").append(name);
    }
    return sb.append(" ns=").append(namespace == null ? "*" : namespace).toString();
  }

  /** Builds an {@link AccessQuery}; exactly one of {@code resource(...)} and {@code nonResource(...)} is required. */
  public static final class Builder {
    private final String user;
    private final TreeSet<String> groups = new TreeSet<>();
    private boolean exactGroups;
    private String verb;
    private String apiGroup;
    private String resource;
    private String subresource;
    private String namespace;
    private String name;
    private String path;

    private Builder(String user) {
      this.user = text(user, "user");
    }

    /** Adds groups. */
    public Builder groups(Collection<String> groups) {
      for (String g : groups) {
        this.groups.add(text(g, "group"));
      }
      return this;
    }

    /** Adds groups. */
    public Builder groups(String... groups) {
      return groups(List.of(groups));
    }

    /** Uses exactly the given groups, as a SubjectAccessReview does, without authenticator-added ones. */
    public Builder exactGroups() {
      this.exactGroups = true;
      return this;
    }

    /** Asks about {@code verb} on {@code apiGroup}/{@code resource} ({@code ""} is the core group). */
    public Builder resource(String verb, String apiGroup, String resource) {
      if (this.verb != null) {
        throw new IllegalStateException("the request was already set: " + this.verb);
      }
      this.verb = text(verb, "verb");
      this.apiGroup = requireNonNull(apiGroup, "apiGroup");
      this.resource = text(resource, "resource");
      return this;
    }

    /** Sets the subresource (for example {@code log} for {@code pods/log}). */
    public Builder subresource(String subresource) {
      this.subresource = text(subresource, "subresource");
      return this;
    }

    /** Sets the namespace. */
    public Builder namespace(String namespace) {
      this.namespace = text(namespace, "namespace");
      return this;
    }

    /** Sets the resource name. */
    public Builder name(String name) {
      this.name = text(name, "name");
      return this;
    }

    /** Asks about {@code verb} on the non-resource URL {@code path} (for example {@code /healthz}). */
    public Builder nonResource(String verb, String path) {
      if (this.verb != null) {
        throw new IllegalStateException("the request was already set: " + this.verb);
      }
      this.verb = text(verb, "verb");
      this.path = text(path, "path");
      if (!path.startsWith("/")) {
        throw new IllegalArgumentException("non-resource path must start with '/': " + Names.quote(path));
      }
      return this;
    }

    /**
     * Asks about {@code verb} on a target written as {@code kubectl auth can-i} takes it: a
     * non-resource URL starting with {@code /} ({@code /healthz}), or {@code resource} or {@code
     * resource/subresource} ({@code pods/log}) in {@code apiGroup} ({@code ""} is the core group).
     * The one parser of that form, used by {@code kubejit rbac can-i} and the escalation corpus.
     *
     * @throws IllegalArgumentException if the target is empty or has an empty resource or subresource
     * @throws IllegalStateException if the request was already set
     */
    public Builder target(String verb, String apiGroup, String target) {
      String t = text(target, "target");
      if (t.startsWith("/")) {
        return nonResource(verb, t);
      }
      int slash = t.indexOf('/');
      resource(verb, apiGroup, slash < 0 ? t : t.substring(0, slash));
      if (slash >= 0) {
        subresource(t.substring(slash + 1));
      }
      return this;
    }

    /**
     * Returns the query.
     *
     * @throws IllegalStateException if no request was set, or a resource field was set for a non-resource URL
     */
    public AccessQuery build() {
      if (verb == null) {
        throw new IllegalStateException("resource(...) or nonResource(...) is required");
      }
      if (path != null && (subresource != null || namespace != null || name != null)) {
        throw new IllegalStateException("a non-resource question has no subresource, namespace or name");
      }
      return new AccessQuery(this);
    }

    private static String text(String v, String what) {
      if (v == null || v.isEmpty() || v.chars().anyMatch(Character::isISOControl)) {
        throw new IllegalArgumentException(what + " must be non-empty text: " + Names.quote(v));
      }
      return v;
    }
  }
}
