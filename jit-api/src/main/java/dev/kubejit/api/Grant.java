package dev.kubejit.api;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Access that has been activated: who holds it, for which role, action and scope, from when until
 * when, the Kubernetes group that carries it, and references to the credentials issued for it.
 *
 * <p>A grant is active at instant {@code t} when {@code grantedAt <= t < expiresAt}: a grant that
 * expires exactly now authorises nothing.
 */
public final class Grant {
  /** Prefix of the per-grant Kubernetes group that a grant's credentials carry. */
  public static final String GROUP_PREFIX = "jit:grant:";

  private final GrantId id;
  private final RequestId requestId;
  private final Identity holder;
  private final String role;
  private final Action action;
  private final Scope scope;
  private final Instant grantedAt;
  private final Instant expiresAt;
  private final String rbacTemplate;
  private final boolean breakGlass;
  private final String policyDigest;
  private final String justification;
  private final String ticket;
  private final ImmutableList<CredentialRef> credentials;

  private Grant(Builder b) {
    this.id = requireNonNull(b.id, "id");
    this.requestId = requireNonNull(b.requestId, "requestId");
    this.holder = requireNonNull(b.holder, "holder");
    this.role = Validation.requireName(b.role, "role");
    this.action = requireNonNull(b.action, "action");
    this.scope = requireNonNull(b.scope, "scope");
    this.grantedAt = requireNonNull(b.grantedAt, "grantedAt");
    this.expiresAt = requireNonNull(b.expiresAt, "expiresAt");
    if (!expiresAt.isAfter(grantedAt)) {
      throw new IllegalArgumentException("expiresAt " + expiresAt + " must be after grantedAt " + grantedAt);
    }
    this.rbacTemplate = b.rbacTemplate;
    this.breakGlass = b.breakGlass;
    this.policyDigest = b.policyDigest;
    this.justification =
        b.justification == null ? null : Validation.requireText(b.justification, "justification", 2048);
    this.ticket = b.ticket == null ? null : Validation.requireName(b.ticket, "ticket");
    this.credentials = ImmutableList.copyOf(b.credentials);
  }

  /** Returns a new builder. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder initialised from this grant. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.id = id;
    b.requestId = requestId;
    b.holder = holder;
    b.role = role;
    b.action = action;
    b.scope = scope;
    b.grantedAt = grantedAt;
    b.expiresAt = expiresAt;
    b.rbacTemplate = rbacTemplate;
    b.breakGlass = breakGlass;
    b.policyDigest = policyDigest;
    b.justification = justification;
    b.ticket = ticket;
    b.credentials = credentials;
    return b;
  }

  /** The grant's id. */
  public GrantId id() {
    return id;
  }

  /** The request it came from. */
  public RequestId requestId() {
    return requestId;
  }

  /** The person who holds it. */
  public Identity holder() {
    return holder;
  }

  /** The policy role. */
  public String role() {
    return role;
  }

  /** The action it was granted for. */
  public Action action() {
    return action;
  }

  /** Where it applies. */
  public Scope scope() {
    return scope;
  }

  /** When it was activated. */
  public Instant grantedAt() {
    return grantedAt;
  }

  /** The first instant at which it no longer authorises anything. */
  public Instant expiresAt() {
    return expiresAt;
  }

  /** Its length. */
  public Duration duration() {
    return Duration.between(grantedAt, expiresAt);
  }

  /** The Kubernetes group bound by this grant's RoleBinding and carried by its credentials. */
  public String subjectGroup() {
    return GROUP_PREFIX + id.value();
  }

  /** The RBAC template to provision, when the policy named one. */
  public Optional<String> rbacTemplate() {
    return Optional.ofNullable(rbacTemplate);
  }

  /** Whether this is a break-glass grant. */
  public boolean breakGlass() {
    return breakGlass;
  }

  /** The digest of the policy that allowed it. */
  public Optional<String> policyDigest() {
    return Optional.ofNullable(policyDigest);
  }

  /** The justification of the request it came from. */
  public Optional<String> justification() {
    return Optional.ofNullable(justification);
  }

  /** The ticket of the request it came from. */
  public Optional<String> ticket() {
    return Optional.ofNullable(ticket);
  }

  /** References to the credentials issued for it. */
  public ImmutableList<CredentialRef> credentials() {
    return credentials;
  }

  /** Whether it authorises anything at {@code now}: {@code grantedAt <= now < expiresAt}. */
  public boolean isActiveAt(Instant now) {
    return !now.isBefore(grantedAt) && now.isBefore(expiresAt);
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Grant)) {
      return false;
    }
    Grant g = (Grant) o;
    return id.equals(g.id) && requestId.equals(g.requestId) && holder.equals(g.holder) && role.equals(g.role)
        && action.equals(g.action) && scope.equals(g.scope) && grantedAt.equals(g.grantedAt)
        && expiresAt.equals(g.expiresAt) && Objects.equals(rbacTemplate, g.rbacTemplate)
        && breakGlass == g.breakGlass && Objects.equals(policyDigest, g.policyDigest)
        && Objects.equals(justification, g.justification) && Objects.equals(ticket, g.ticket)
        && credentials.equals(g.credentials);
  }

  @Override
  public int hashCode() {
    return id.hashCode();
  }

  @Override
  public String toString() {
    return "Grant{" + id + " " + holder.user() + " " + role + "/" + action + " " + scope + " "
        + grantedAt + ".." + expiresAt + (breakGlass ? " BREAK-GLASS" : "") + "}";
  }

  /** Builds a {@link Grant}. */
  public static final class Builder {
    private GrantId id;
    private RequestId requestId;
    private Identity holder;
    private String role;
    private Action action;
    private Scope scope;
    private Instant grantedAt;
    private Instant expiresAt;
    private String rbacTemplate;
    private boolean breakGlass;
    private String policyDigest;
    private String justification;
    private String ticket;
    private List<CredentialRef> credentials = ImmutableList.of();

    private Builder() {}

    /** Sets the id. */
    public Builder id(GrantId id) {
      this.id = requireNonNull(id);
      return this;
    }

    /** Sets the originating request. */
    public Builder requestId(RequestId requestId) {
      this.requestId = requireNonNull(requestId);
      return this;
    }

    /** Sets the holder. */
    public Builder holder(Identity holder) {
      this.holder = requireNonNull(holder);
      return this;
    }

    /** Sets the policy role. */
    public Builder role(String role) {
      this.role = requireNonNull(role);
      return this;
    }

    /** Sets the action. */
    public Builder action(Action action) {
      this.action = requireNonNull(action);
      return this;
    }

    /** Sets the scope. */
    public Builder scope(Scope scope) {
      this.scope = requireNonNull(scope);
      return this;
    }

    /** Sets the validity window, {@code [grantedAt, expiresAt)}. */
    public Builder window(Instant grantedAt, Instant expiresAt) {
      this.grantedAt = requireNonNull(grantedAt);
      this.expiresAt = requireNonNull(expiresAt);
      return this;
    }

    /** Sets the RBAC template. */
    public Builder rbacTemplate(String template) {
      this.rbacTemplate = template;
      return this;
    }

    /** Marks the grant as break-glass. */
    public Builder breakGlass(boolean breakGlass) {
      this.breakGlass = breakGlass;
      return this;
    }

    /** Sets the digest of the deciding policy. */
    public Builder policyDigest(String digest) {
      this.policyDigest = digest;
      return this;
    }

    /** Sets the justification and ticket of the originating request (either may be null). */
    public Builder why(String justification, String ticket) {
      this.justification = justification;
      this.ticket = ticket;
      return this;
    }

    /** Sets the credential references. */
    public Builder credentials(List<CredentialRef> credentials) {
      this.credentials = ImmutableList.copyOf(credentials);
      return this;
    }

    /** Returns the grant. */
    public Grant build() {
      return new Grant(this);
    }
  }
}
