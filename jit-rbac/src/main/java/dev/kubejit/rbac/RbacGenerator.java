package dev.kubejit.rbac;

import static java.util.Objects.requireNonNull;

import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.Lifetimes;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * Generates the Role and RoleBinding (or, only when explicitly asked for a cluster-wide grant,
 * ClusterRole and ClusterRoleBinding) for a grant from a template, bound to a group and never to a
 * user.
 *
 * <p>Example: {@code RbacGenerator.builder(RbacTemplate.jitDebug()).grant(grant).generate()} binds
 * the grant's own group {@code jit:grant:<id>} in the grant's namespace.
 */
public final class RbacGenerator {
  private RbacGenerator() {}

  /** Returns a builder that generates objects from {@code template}. */
  public static Builder builder(RbacTemplate template) {
    return new Builder(requireNonNull(template, "template"));
  }

  private static void requireWithinCap(Duration d, String what) {
    if (d.compareTo(Lifetimes.ABSOLUTE_MAX) > 0) {
      throw new RbacException(what + " is " + d + ", more than the absolute maximum lifetime of "
          + Lifetimes.ABSOLUTE_MAX.toDays() + " days");
    }
  }

  /** Collects the inputs of one generation; strict: missing or contradictory inputs are refused. */
  public static final class Builder {
    private final RbacTemplate template;
    private Grant grant;
    private String namespace;
    private GrantId grantId;
    private String group;
    private Instant expiresAt;
    private String requestId;
    private String requester;
    private String justification;
    private String pod;
    private String role;
    private boolean clusterScope;
    private Clock clock = Clock.systemUTC();

    private Builder(RbacTemplate template) {
      this.template = template;
    }

    /**
     * Takes namespace, pod pin, grant id, group ({@link Grant#subjectGroup()}), expiry, request id,
     * requester, policy role and (unless set explicitly) justification from the grant.
     */
    public Builder grant(Grant grant) {
      if (this.grant != null) {
        throw new IllegalStateException("grant was already set to " + this.grant.id());
      }
      this.grant = requireNonNull(grant, "grant");
      return this;
    }

    /** Sets the namespace (when no grant is given). */
    public Builder namespace(String namespace) {
      this.namespace = Names.requireNamespace(namespace);
      return this;
    }

    /** Sets the grant id (when no grant is given). */
    public Builder grantId(GrantId grantId) {
      this.grantId = requireNonNull(grantId, "grantId");
      return this;
    }

    /** Binds this group (for example a team group {@code jit:oncall:<namespace>}) instead of the grant's own group. */
    public Builder group(String group) {
      if (this.group != null) {
        throw new IllegalStateException("group was already set to " + Names.quote(this.group));
      }
      this.group = Names.requireGroup(group);
      return this;
    }

    /** Sets the expiry (when no grant is given). */
    public Builder expiresAt(Instant expiresAt) {
      this.expiresAt = requireNonNull(expiresAt, "expiresAt");
      return this;
    }

    /** Sets the request id annotation (when no grant is given). */
    public Builder requestId(RequestId requestId) {
      this.requestId = requireNonNull(requestId, "requestId").value();
      return this;
    }

    /** Sets the requester annotation (when no grant is given). */
    public Builder requester(String requester) {
      this.requester = Names.sanitize(requireNonNull(requester, "requester"));
      return this;
    }

    /**
     * Sets the {@code kubejit.dev/role} annotation, the policy role whose TTL ceiling the RBAC write
     * webhook applies (when no grant is given).
     */
    public Builder role(String role) {
      if (role == null || role.isEmpty() || !role.equals(Names.sanitize(role))) {
        throw new RbacException("policy role must be non-empty printable text without line breaks: "
            + Names.quote(role));
      }
      this.role = role;
      return this;
    }

    /** Sets the justification annotation; control characters are removed and the text is capped. */
    public Builder justification(String justification) {
      this.justification = Names.sanitize(requireNonNull(justification, "justification"));
      return this;
    }

    /** Pins the role to one pod (when no grant is given; a grant's scope supplies its own pod). */
    public Builder pod(String pod) {
      this.pod = Names.requirePodName(requireNonNull(pod, "pod"));
      return this;
    }

    /** The clock whose now bounds the expiry by {@link Lifetimes#ABSOLUTE_MAX} (default: system UTC). */
    public Builder clock(Clock clock) {
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    /** Explicitly asks for a ClusterRole and ClusterRoleBinding; needs a cluster-wide grant scope. */
    public Builder clusterScope() {
      this.clusterScope = true;
      return this;
    }

    /**
     * Generates the objects.
     *
     * @throws RbacException if an input is missing, invalid or contradictory, or the lifetime (the
     *     grant's window, and the expiry measured from the clock's now) exceeds {@link
     *     Lifetimes#ABSOLUTE_MAX}
     */
    public GeneratedRbac generate() {
      String ns = namespace;
      GrantId id = grantId;
      Instant exp = expiresAt;
      String req = requestId;
      String who = requester;
      String grp = group;
      String policyRole = role;
      if (grant != null) {
        if (ns != null || id != null || exp != null || req != null || who != null || policyRole != null) {
          throw new RbacException("grant() already supplies namespace, grant id, expiry, request id, requester and"
              + " role");
        }
        policyRole = grant.role();
        if (policyRole.isEmpty() || !policyRole.equals(Names.sanitize(policyRole))) {
          throw new RbacException("grant " + grant.id() + " has a policy role that is not printable text: "
              + Names.quote(policyRole));
        }
        id = grant.id();
        exp = grant.expiresAt();
        req = grant.requestId().value();
        who = Names.sanitize(grant.holder().user());
        if (grant.scope().isClusterWide()) {
          if (!clusterScope) {
            throw new RbacException("grant " + id + " has a cluster-wide scope; cluster-scoped RBAC must be"
                + " requested explicitly with clusterScope()");
          }
        } else {
          if (clusterScope) {
            throw new RbacException("clusterScope() contradicts the namespaced scope of grant " + id + ": "
                + grant.scope());
          }
          ns = Names.requireNamespace(grant.scope().namespace().orElseThrow());
        }
        if (grp == null) {
          grp = Names.requireGroup(grant.subjectGroup());
        }
      }
      String pinned = pod;
      if (grant != null && grant.scope().pod().isPresent()) {
        if (pinned != null) {
          throw new RbacException("grant() already supplies the pod " + Names.quote(grant.scope().pod().get()));
        }
        pinned = Names.requirePodName(grant.scope().pod().get());
      }
      if (pinned != null && clusterScope) {
        throw new RbacException("a pod-pinned grant cannot be cluster-scoped");
      }
      String why = justification;
      if (why == null && grant != null) {
        why = grant.justification().map(Names::sanitize).orElse(null);
      }
      if (id == null) {
        throw new RbacException("a grant id is required (grant() or grantId())");
      }
      if (exp == null) {
        throw new RbacException("an expiry is required (grant() or expiresAt())");
      }
      if (grp == null) {
        throw new RbacException("a subject group is required (grant() or group())");
      }
      if (grant != null) {
        requireWithinCap(grant.duration(), "the window of grant " + id);
      }
      Instant now = clock.instant();
      if (exp.isAfter(now)) {
        requireWithinCap(Duration.between(now, exp), "the time from now (" + now + ") to the expiry " + exp);
      }
      if (clusterScope && ns != null) {
        throw new RbacException("clusterScope() contradicts namespace " + Names.quote(ns));
      }
      if (!clusterScope && ns == null) {
        throw new RbacException("a namespace is required unless clusterScope() is requested");
      }
      if (template.clusterOnly() && !clusterScope) {
        throw new RbacException("template " + template.name() + " grants cluster-scoped resources and needs"
            + " clusterScope()");
      }
      String name = Names.objectName(template.name(), id.value());
      return new GeneratedRbac(template, ns, name, grp, id, exp, req, who, why, pinned, policyRole);
    }
  }
}
