package dev.kubejit.rbac;

import static java.util.Objects.requireNonNull;

import dev.kubejit.api.EndCause;
import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.ManagedRbac;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.spi.RbacProvisioner;
import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.AuthorizationV1Api;
import io.kubernetes.client.openapi.models.V1ClusterRole;
import io.kubernetes.client.openapi.models.V1ClusterRoleBinding;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1Role;
import io.kubernetes.client.openapi.models.V1RoleBinding;
import io.kubernetes.client.openapi.models.V1ResourceAttributes;
import io.kubernetes.client.openapi.models.V1SubjectAccessReview;
import io.kubernetes.client.openapi.models.V1SubjectAccessReviewSpec;
import io.kubernetes.client.openapi.models.V1SubjectAccessReviewStatus;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An {@link RbacProvisioner} that applies a grant's generated Role and RoleBinding to a Kubernetes
 * cluster with the official client, verifies the result with SubjectAccessReview, and deletes the
 * objects when the grant ends.
 *
 * <p>Provisioning: generate (refusing invalid input before any API call), lint (refusing any
 * error finding), create-or-replace the role, then the binding with an ownerReference to the
 * role's uid, then ask the API server through SubjectAccessReview whether the grant's group gets
 * a few of the permissions it should get and none of a few it must not; if the answers disagree
 * within the verification timeout, the objects are deleted again and the call fails. Deprovisioning
 * deletes every managed binding and role labelled with the grant id; objects already gone count as
 * removed.
 *
 * <p>{@link #listManaged()} reads every managed RoleBinding and Role in all namespaces (and, with
 * {@link Builder#allowClusterScope()}, every managed ClusterRoleBinding and ClusterRole) by label,
 * and reports them per grant: the grant id label, the {@code kubejit.dev/request-id} annotation, the
 * oldest object's server-set creation time and the earliest {@code kubejit.dev/expires-at}. The
 * lists are served from the API server's watch cache ({@code resourceVersion=0}), not read through
 * to etcd, because the broker's sweep asks every few seconds; what they miss or still show for a
 * moment is within the broker's orphan grace. It needs {@code list} on those kinds cluster-wide,
 * which the broker's {@code kubejit-broker-cluster} ClusterRole already holds for the expiry reaper.
 */
public final class KubernetesRbacProvisioner implements RbacProvisioner {
  private static final Logger LOG = LoggerFactory.getLogger(KubernetesRbacProvisioner.class);

  private final RbacOps ops;
  private final AuthorizationV1Api authz;
  private final Map<String, RbacTemplate> templates;
  private final String defaultTemplate;
  private final RbacLinter linter;
  private final boolean allowClusterScope;
  private final Duration verificationTimeout;
  private final java.time.Clock clock;

  private KubernetesRbacProvisioner(Builder b) {
    this.ops = new RbacOps(b.client, b.maxAttempts, b.initialBackoff);
    this.authz = new AuthorizationV1Api(b.client);
    this.templates = Map.copyOf(b.templates);
    this.defaultTemplate = b.defaultTemplate;
    this.linter = RbacLinter.builder().maxJitDuration(b.maxGrantDuration).clock(b.clock).build();
    this.allowClusterScope = b.allowClusterScope;
    this.verificationTimeout = b.verificationTimeout;
    this.clock = b.clock;
  }

  /** Returns a builder for a provisioner that talks to the cluster through {@code client}. */
  public static Builder builder(ApiClient client) {
    return new Builder(client);
  }

  /**
   * Generates the grant's objects without applying them (what {@link #provision} would apply).
   *
   * @throws RbacException if the grant's template, namespace or group is invalid
   */
  public GeneratedRbac generate(Grant grant) {
    requireNonNull(grant, "grant");
    String name = grant.rbacTemplate().orElse(defaultTemplate);
    if (name == null) {
      throw new RbacException("grant " + grant.id() + " names no RBAC template and no default template is set");
    }
    RbacTemplate t = templates.get(name);
    if (t == null) {
      throw new RbacException("unknown RBAC template " + Names.quote(name) + " for grant " + grant.id());
    }
    RbacGenerator.Builder g = RbacGenerator.builder(t).grant(grant).clock(clock);
    if (grant.scope().isClusterWide()) {
      if (!allowClusterScope) {
        throw new RbacException("grant " + grant.id() + " is cluster-wide and this provisioner was not built with"
            + " allowClusterScope()");
      }
      g.clusterScope();
    }
    return g.generate();
  }

  /**
   * Applies and verifies the grant's RBAC objects.
   *
   * @throws RbacException if input is invalid, the objects have linter errors, cannot be applied,
   *     or verification disagrees (then nothing stays applied)
   */
  @Override
  public void provision(Grant grant) {
    GeneratedRbac gen = generate(grant);
    List<Finding> findings = linter.lint(gen);
    if (RbacLinter.hasErrors(findings)) {
      throw new RbacException("refusing to apply " + gen.name() + ": " + findings.stream().filter(Finding::isError)
          .map(Finding::toString).collect(Collectors.joining("; ")));
    }
    String ns = gen.namespace().orElse(null);
    try {
      KubernetesObject role = ops.apply(gen.role(), gen.grantId().value());
      ops.apply(gen.binding(role.getMetadata().getUid()), gen.grantId().value());
      verify(gen);
    } catch (RuntimeException e) {
      try {
        ops.deleteGrant(gen.grantId().value(), ns);
      } catch (RuntimeException rollback) {
        e.addSuppressed(rollback);
      }
      if (e instanceof dev.kubejit.api.ProvisioningException) {
        throw e;
      }
      throw new RbacException("cannot provision grant " + grant.id() + ": " + e.getMessage(), e);
    }
    LOG.info("provisioned {} for group {} until {}", gen.name(), gen.subjectGroup(), gen.expiresAt());
  }

  /**
   * Deletes the grant's bindings and roles; objects already gone count as removed.
   *
   * @throws RbacException if the API server refuses
   * @throws dev.kubejit.api.ProvisionerUnavailableException if it cannot be reached or is unavailable
   */
  @Override
  public void deprovision(Grant grant, EndCause cause) {
    requireNonNull(grant, "grant");
    requireNonNull(cause, "cause");
    GeneratedRbac gen;
    try {
      gen = generate(grant);
    } catch (RbacException unknown) {
      // The grant's template is no longer configured: its objects' names are unknown, find them by label.
      int n = ops.deleteGrant(grant.id().value(), grant.scope().namespace().orElse(null));
      LOG.info("deprovisioned grant {} ({}): {} objects deleted (found by label: {})", grant.id(), cause, n,
          unknown.getMessage());
      return;
    }
    int n = ops.deleteNamed(gen);
    LOG.info("deprovisioned grant {} ({}): {} objects deleted", grant.id(), cause, n);
  }

  /**
   * Lists the grants whose RBAC this provisioner manages, one entry per grant and namespace. An
   * object whose grant-id label is not a grant id, or that has no creation time, is left out (it
   * cannot be judged; the expiry reaper still deletes it at its expiry); an unreadable request id or
   * expiry is reported as absent, and so is a request id the grant's objects disagree on.
   *
   * @throws dev.kubejit.api.ProvisioningException if the cluster cannot be read
   */
  @Override
  public List<ManagedRbac> listManaged() {
    Map<String, Collected> byGrant = new LinkedHashMap<>();
    try {
      for (V1RoleBinding b : ops.retrying("list", () -> ops.api().listRoleBindingForAllNamespaces()
          .labelSelector(Names.MANAGED_SELECTOR).resourceVersion("0").execute()).getItems()) {
        collect(byGrant, "RoleBinding", b.getMetadata(), b.getMetadata().getNamespace());
      }
      for (V1Role r : ops.retrying("list", () -> ops.api().listRoleForAllNamespaces()
          .labelSelector(Names.MANAGED_SELECTOR).resourceVersion("0").execute()).getItems()) {
        collect(byGrant, "Role", r.getMetadata(), r.getMetadata().getNamespace());
      }
      if (allowClusterScope) {
        for (V1ClusterRoleBinding b : ops.retrying("list", () -> ops.api().listClusterRoleBinding()
            .labelSelector(Names.MANAGED_SELECTOR).resourceVersion("0").execute()).getItems()) {
          collect(byGrant, "ClusterRoleBinding", b.getMetadata(), null);
        }
        for (V1ClusterRole r : ops.retrying("list", () -> ops.api().listClusterRole()
            .labelSelector(Names.MANAGED_SELECTOR).resourceVersion("0").execute()).getItems()) {
          collect(byGrant, "ClusterRole", r.getMetadata(), null);
        }
      }
    } catch (ApiException e) {
      throw Kube.failure("cannot list managed RBAC: HTTP " + e.getCode() + " " + Kube.reason(e), e);
    }
    List<ManagedRbac> out = new ArrayList<>();
    for (Collected c : byGrant.values()) {
      out.add(ManagedRbac.of(c.grantId, c.requestConflict ? null : c.requestId, c.namespace, c.createdAt,
          c.expiresAt, c.objects));
    }
    return List.copyOf(out);
  }

  /**
   * Deletes the RBAC of a grant {@link #listManaged()} reported (bindings first), found by its
   * grant-id label in its namespace; objects already gone count as removed.
   *
   * @throws RbacException if the API server refuses
   * @throws dev.kubejit.api.ProvisionerUnavailableException if it cannot be reached or is unavailable
   */
  @Override
  public void deprovision(ManagedRbac managed, EndCause cause) {
    requireNonNull(managed, "managed");
    requireNonNull(cause, "cause");
    int n = ops.deleteGrant(managed.grantId().value(), managed.namespace().orElse(null));
    LOG.info("deprovisioned orphaned grant {} of request {} ({}): {} objects deleted", managed.grantId(),
        managed.requestId().map(RequestId::value).orElse("-"), cause, n);
  }

  /** One grant's objects while {@link #listManaged()} reads them. */
  private static final class Collected {
    final GrantId grantId;
    final String namespace;
    RequestId requestId;
    boolean requestConflict;
    Instant createdAt;
    Instant expiresAt;
    final List<String> objects = new ArrayList<>();

    Collected(GrantId grantId, String namespace) {
      this.grantId = grantId;
      this.namespace = namespace;
    }
  }

  private static void collect(Map<String, Collected> byGrant, String kind, V1ObjectMeta m, String namespace) {
    String label = m.getLabels() == null ? null : m.getLabels().get(Names.GRANT_ID);
    GrantId grantId;
    try {
      grantId = GrantId.parse(requireNonNull(label, "grant id label"));
    } catch (IllegalArgumentException | NullPointerException bad) {
      LOG.debug("{} {} has no usable grant id label; not listed", kind, Names.safe(m.getName()));
      return;
    }
    if (m.getCreationTimestamp() == null) {
      return;
    }
    Collected c = byGrant.computeIfAbsent(grantId.value() + "/" + (namespace == null ? "" : namespace),
        k -> new Collected(grantId, namespace));
    Map<String, String> ann = m.getAnnotations() == null ? Map.of() : m.getAnnotations();
    RequestId requestId = null;
    try {
      String raw = ann.get(Names.REQUEST_ID);
      requestId = raw == null ? null : RequestId.parse(raw);
    } catch (IllegalArgumentException bad) {
      c.requestConflict = true;
    }
    if (requestId != null) {
      if (c.requestId != null && !c.requestId.equals(requestId)) {
        c.requestConflict = true;
      }
      c.requestId = requestId;
    }
    Instant created = m.getCreationTimestamp().toInstant();
    c.createdAt = c.createdAt == null || created.isBefore(c.createdAt) ? created : c.createdAt;
    try {
      String raw = ann.get(Names.EXPIRES_AT);
      Instant expires = raw == null ? null : Instant.parse(raw);
      if (expires != null && (c.expiresAt == null || expires.isBefore(c.expiresAt))) {
        c.expiresAt = expires;
      }
    } catch (DateTimeParseException bad) {
      LOG.debug("{} {} has an unreadable expiry", kind, Names.safe(m.getName()));
    }
    c.objects.add(kind + "/" + (namespace == null ? "" : namespace + "/") + m.getName());
  }

  /** Number of 409 conflicts that were retried (for tests and metrics). */
  int conflictRetries() {
    return ops.conflictRetries.get();
  }

  RbacOps ops() {
    return ops;
  }

  /** One SubjectAccessReview expectation. */
  static final class Expectation {
    final AccessQuery query;
    final boolean allowed;

    Expectation(AccessQuery query, boolean allowed) {
      this.query = query;
      this.allowed = allowed;
    }

    @Override
    public String toString() {
      return (allowed ? "allow " : "deny ") + query;
    }
  }

  /** A few permitted and a few refused checks derived from the generated role. */
  static List<Expectation> expectations(GeneratedRbac gen) {
    String ns = gen.namespace().orElse(null);
    String user = "kubejit:verify:" + gen.grantId().value();
    RbacEvaluator local = RbacEvaluator.of(RbacSnapshot.of(gen));
    List<Expectation> out = new ArrayList<>();
    for (Rule r : gen.effectiveRules()) {
      if (out.size() >= 3 || r.resources.isEmpty() || r.verbs.isEmpty() || r.apiGroups.isEmpty()) {
        continue;
      }
      String res = r.resources.get(0);
      String verb = r.verbs.get(0);
      if (res.contains("*") || verb.equals("*") || r.apiGroups.get(0).equals("*")) {
        continue;
      }
      AccessQuery.Builder q = query(user, gen.subjectGroup(), verb, r.apiGroups.get(0), res, ns);
      if (!r.resourceNames.isEmpty()) {
        q.name(r.resourceNames.get(0));
      }
      out.add(new Expectation(q.build(), true));
    }
    List<AccessQuery> refused = new ArrayList<>();
    String other = "kube-system".equals(ns) ? "default" : "kube-system";
    refused.add(query(user, gen.subjectGroup(), "get", "", "secrets", ns).build());
    refused.add(query(user, gen.subjectGroup(), "create", "", "pods", ns).build());
    refused.add(query(user, gen.subjectGroup(), "create", Names.RBAC_GROUP, "rolebindings", ns).build());
    if (ns != null && !out.isEmpty()) {
      AccessQuery p = out.get(0).query;
      AccessQuery.Builder q = query(user, gen.subjectGroup(), p.verb(), p.apiGroup(),
          p.resource() + p.subresource().map(s -> "/" + s).orElse(""), other);
      p.name().ifPresent(q::name);
      refused.add(q.build());
    }
    gen.pod().ifPresent(pinned -> {
      if (ns != null) {
        refused.add(query(user, gen.subjectGroup(), "get", "", "pods/log", ns).name(pinned + "-other").build());
        refused.add(query(user, gen.subjectGroup(), "create", "", "pods/exec", ns).name(pinned + "-other").build());
      }
    });
    for (AccessQuery q : refused) {
      if (!local.check(q).allowed()) {
        out.add(new Expectation(q, false));
      }
    }
    return out;
  }

  private static AccessQuery.Builder query(String user, String group, String verb, String apiGroup, String res,
      String ns) {
    int slash = res.indexOf('/');
    AccessQuery.Builder b = AccessQuery.builder(user).groups(group).exactGroups()
        .resource(verb, apiGroup, slash < 0 ? res : res.substring(0, slash));
    if (slash >= 0) {
      b.subresource(res.substring(slash + 1));
    }
    if (ns != null) {
      b.namespace(ns);
    }
    return b;
  }

  private void verify(GeneratedRbac gen) {
    List<Expectation> exp = expectations(gen);
    long deadline = System.nanoTime() + verificationTimeout.toNanos();
    Map<Expectation, Boolean> last = new HashMap<>();
    while (true) {
      List<Expectation> wrong = new ArrayList<>();
      for (Expectation e : exp) {
        boolean got = sar(authz, e.query);
        last.put(e, got);
        if (got != e.allowed) {
          wrong.add(e);
        }
      }
      if (wrong.isEmpty()) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new RbacException("SubjectAccessReview disagrees with the intended grant " + gen.name()
            + " for group " + Names.quote(gen.subjectGroup()) + ": expected " + wrong);
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException ie) {
        Thread.currentThread().interrupt();
        throw new RbacException("interrupted while verifying " + gen.name());
      }
    }
  }

  /** Asks the API server; the query's groups are sent exactly as they are. */
  static boolean sar(AuthorizationV1Api authz, AccessQuery q) {
    V1SubjectAccessReviewSpec spec = new V1SubjectAccessReviewSpec().user(q.user()).groups(new ArrayList<>(q.groups()));
    if (q.isNonResource()) {
      spec.nonResourceAttributes(new io.kubernetes.client.openapi.models.V1NonResourceAttributes()
          .path(q.path().get()).verb(q.verb()));
    } else {
      V1ResourceAttributes ra = new V1ResourceAttributes().verb(q.verb()).group(q.apiGroup()).resource(q.resource());
      q.subresource().ifPresent(ra::subresource);
      q.namespace().ifPresent(ra::namespace);
      q.name().ifPresent(ra::name);
      spec.resourceAttributes(ra);
    }
    V1SubjectAccessReview review = new V1SubjectAccessReview().apiVersion("authorization.k8s.io/v1")
        .kind("SubjectAccessReview").spec(spec);
    try {
      V1SubjectAccessReviewStatus st = authz.createSubjectAccessReview(review).execute().getStatus();
      return st != null && Boolean.TRUE.equals(st.getAllowed());
    } catch (ApiException e) {
      throw Kube.failure("SubjectAccessReview failed: HTTP " + e.getCode() + " " + Kube.reason(e), e);
    }
  }

  @Override
  public String toString() {
    return "KubernetesRbacProvisioner{templates=" + templates.keySet() + ", default=" + defaultTemplate
        + ", maxGrant=" + linter.maxJitDuration() + (allowClusterScope ? ", cluster scope allowed" : "") + "}";
  }

  /** Builds a {@link KubernetesRbacProvisioner}; {@link #maxGrantDuration(Duration)} is required. */
  public static final class Builder {
    private final ApiClient client;
    private final Map<String, RbacTemplate> templates = new HashMap<>();
    private String defaultTemplate;
    private Duration maxGrantDuration;
    private java.time.Clock clock = java.time.Clock.systemUTC();
    private boolean allowClusterScope;
    private int maxAttempts = 6;
    private Duration initialBackoff = Duration.ofMillis(100);
    private Duration verificationTimeout = Duration.ofSeconds(10);

    private Builder(ApiClient client) {
      this.client = requireNonNull(client, "client");
      for (String n : List.of(RbacTemplate.ONCALL_DEBUG, RbacTemplate.JIT_DEBUG, RbacTemplate.JIT_CLUSTER_READ,
          RbacTemplate.LOGS_READER)) {
        templates.put(n, RbacTemplate.builtIn(n));
      }
    }

    /** Adds (or overrides a built-in with) a custom template, as supplied by a policy. */
    public Builder template(RbacTemplate template) {
      templates.put(template.name(), template);
      return this;
    }

    /** The template for grants that name none (default: none, such grants are refused). */
    public Builder defaultTemplate(String name) {
      this.defaultTemplate = Names.requireRoleName(name);
      return this;
    }

    /**
     * The longest grant the linter accepts (required).
     *
     * @throws IllegalArgumentException if not positive or above {@link dev.kubejit.api.Lifetimes#ABSOLUTE_MAX}
     */
    public Builder maxGrantDuration(Duration max) {
      this.maxGrantDuration = dev.kubejit.api.Lifetimes.requireWithinCap(requireNonNull(max, "maxGrantDuration"),
          "maxGrantDuration");
      return this;
    }

    /** The clock for expiry checks (default: system UTC). */
    public Builder clock(java.time.Clock clock) {
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    /** Allows cluster-wide grants, provisioned as ClusterRole and ClusterRoleBinding (default: refused). */
    public Builder allowClusterScope() {
      this.allowClusterScope = true;
      return this;
    }

    /** Bounds the retries of conflicts, 429 and 5xx (default 6 attempts, 100 ms initial backoff). */
    public Builder retries(int maxAttempts, Duration initialBackoff) {
      if (maxAttempts < 1 || maxAttempts > 20) {
        throw new IllegalArgumentException("maxAttempts must be in 1..20: " + maxAttempts);
      }
      this.maxAttempts = maxAttempts;
      this.initialBackoff = requireNonNull(initialBackoff, "initialBackoff");
      return this;
    }

    /** How long SubjectAccessReview may lag behind the applied objects (default 10 s). */
    public Builder verificationTimeout(Duration timeout) {
      this.verificationTimeout = requireNonNull(timeout, "timeout");
      return this;
    }

    /**
     * Returns the provisioner.
     *
     * @throws IllegalStateException if maxGrantDuration was not set, or the default template is unknown
     */
    public KubernetesRbacProvisioner build() {
      if (maxGrantDuration == null) {
        throw new IllegalStateException("maxGrantDuration is required");
      }
      if (defaultTemplate != null && !templates.containsKey(defaultTemplate)) {
        throw new IllegalStateException("default template " + defaultTemplate + " is not registered");
      }
      return new KubernetesRbacProvisioner(this);
    }
  }
}
