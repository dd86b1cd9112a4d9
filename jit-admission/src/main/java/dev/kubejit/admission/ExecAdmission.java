package dev.kubejit.admission;

import static java.util.Objects.requireNonNull;

import dev.kubejit.api.Action;
import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.Decision;
import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Identity;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.SafeText;
import dev.kubejit.api.Scope;
import dev.kubejit.api.Use;
import dev.kubejit.api.spi.AccessPolicy;
import dev.kubejit.api.spi.AuditSink;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The validating admission webhook for {@code CONNECT} on {@code pods/exec}, {@code pods/attach}
 * and {@code pods/portforward}, as a plain function from an {@code AdmissionReview} (JSON, {@code
 * admission.k8s.io/v1} or {@code v1beta1}) to the {@code AdmissionReview} answer in the same
 * version; an HTTP host (for example {@code kubejit serve}) posts the request body to {@link
 * #handle} and writes what it returns with status 200.
 *
 * <p>For a user in a grant group ({@link Grant#GROUP_PREFIX}{@code <id>}), the request is allowed
 * only if the grant is active now and held by that user, the cluster, namespace and (for a pinned
 * grant) pod are inside its scope, and the access policy allows the use: for exec, the {@code
 * command} array of the {@code PodExecOptions}, decided by {@link AccessPolicy#authorize} (the same
 * engine as {@code kubejit policy check}); with {@code stdin} or {@code tty}, also an interactive
 * session ({@link Use#action} exec without a command), which command-filtered roles refuse. Every
 * exec and attach use is marked {@link Use.Stream#DIRECT} (or {@code DIRECT_INTERACTIVE} with stdin
 * or tty), because the API server checks it only when the stream opens; a policy can refuse such
 * streams when they may run long (jit-policy's {@code exec.longRunning: gateway-only}) and restrict
 * the container ({@code exec.containers}).
 * Attach is an interactive session on the container's main process and is decided as one;
 * port-forward is a {@link Action#PORT_FORWARD} use. A refusal's {@code status.message} names the
 * rule and the reason.
 *
 * <p>Users in no grant group get no opinion (allowed, RBAC alone decides): KubeJIT answers only for
 * the access it granted, and refusing everyone else's exec would make the webhook a single point
 * of failure for every cluster user, including break-glass paths that do not go through KubeJIT.
 *
 * <p>Every decision on a grant identity is written to the audit sink (grant, argv, admission uid)
 * before it is returned; if the sink fails, the request is refused. The answer carries {@code
 * auditAnnotations} {@code grant}, {@code rule} and {@code decision}, which the API server records
 * in its own audit log as {@code <webhook name>/grant} etc. Thread-safe; decides from the {@link
 * GrantCache} in memory.
 */
public final class ExecAdmission {
  private static final Logger log = LoggerFactory.getLogger(ExecAdmission.class);
  private static final int MAX_MESSAGE = 1024;

  private final String cluster;
  private final GrantCache grants;
  private final AccessPolicy policy;
  private final AuditSink audit;
  private final Clock clock;

  private ExecAdmission(Builder b) {
    this.cluster = b.cluster;
    this.grants = b.grants;
    this.policy = b.policy;
    this.audit = b.audit;
    this.clock = b.clock;
  }

  /** Returns a builder; cluster, grant cache, policy and audit sink are required. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Decides one {@code AdmissionReview} and returns the answer as JSON.
   *
   * @throws MalformedAdmissionReviewException if the body is not an AdmissionReview with a request
   *     and a uid (answer HTTP 400; the API server then applies the failure policy)
   */
  public byte[] handle(byte[] admissionReviewJson) {
    AdmissionReview review = AdmissionReview.parse(admissionReviewJson);
    Verdict v = decide(review);
    Map<String, String> annotations = new LinkedHashMap<>();
    if (v.grant != null) {
      annotations.put("grant", v.grant.value());
    }
    annotations.put("decision", v.kind);
    if (v.rule != null) {
      annotations.put("rule", v.rule);
    }
    String what = review.subResource == null ? "request" : SafeText.quote(review.subResource);
    if ("exec".equals(review.subResource) || "attach".equals(review.subResource)
        || "portforward".equals(review.subResource)) {
      what = review.subResource;
    }
    String message = v.allowed ? null : abbreviate("kubejit: " + what + " refused by rule " + v.rule
        + (v.grant == null ? "" : " (grant " + v.grant.value() + ")") + ": " + v.reason);
    return review.respond(v.allowed, message, annotations);
  }

  private Verdict decide(AdmissionReview r) {
    List<String> grantGroups = new ArrayList<>(1);
    for (String g : r.groups) {
      if (g.startsWith(Grant.GROUP_PREFIX)) {
        grantGroups.add(g);
      }
    }
    if (grantGroups.isEmpty()) {
      return Verdict.noOpinion();
    }
    Instant now = clock.instant();
    Optional<Identity> caller = identity(r);
    if (grantGroups.size() > 1) {
      return record(r, now, caller, null, null, null,
          Verdict.deny(null, "admission:grant-groups", "the user is in " + grantGroups.size()
              + " grant groups; a KubeJIT credential carries exactly one"));
    }
    String idText = grantGroups.get(0).substring(Grant.GROUP_PREFIX.length());
    GrantId id;
    try {
      id = GrantId.parse(idText);
    } catch (IllegalArgumentException e) {
      return record(r, now, caller, null, null, null,
          Verdict.deny(null, "admission:grant-groups", "malformed grant group " + SafeText.quote(grantGroups.get(0))));
    }
    Optional<RequestRecord> found;
    try {
      found = grants.find(id);
    } catch (RuntimeException e) {
      log.warn("grant store lookup for {} failed; refusing: {}", id, e.toString());
      return record(r, now, caller, id, null, null,
          Verdict.deny(id, "admission:store", "grant " + id + " is not cached and the store failed ("
              + e.getClass().getSimpleName() + "); refused"));
    }
    if (found.isEmpty() || found.get().grant().isEmpty()) {
      return record(r, now, caller, id, null, null,
          Verdict.deny(id, "broker:unknown-grant", "grant " + id + " is unknown to KubeJIT"));
    }
    RequestRecord rec = found.get();
    Grant grant = rec.grant().get();
    if (rec.state() != RequestState.ACTIVE) {
      return record(r, now, caller, id, rec, null,
          Verdict.deny(id, "broker:grant-state", "grant " + id + " is " + rec.state()));
    }
    if (!grant.isActiveAt(now)) {
      return record(r, now, caller, id, rec, null,
          Verdict.deny(id, "broker:grant-expiry", "grant " + id + " is not active now; its window is "
              + grant.grantedAt() + " to " + grant.expiresAt()));
    }
    if (caller.isEmpty() || !caller.get().samePerson(grant.holder())) {
      return record(r, now, caller, id, rec, null,
          Verdict.deny(id, "broker:holder", SafeText.quote(String.valueOf(r.user)) + " does not hold grant " + id));
    }
    Scope scope = grant.scope();
    if (!scope.cluster().equals(cluster)) {
      return record(r, now, caller, id, rec, null,
          Verdict.deny(id, "admission:cluster", "grant " + id + " is for cluster " + scope.cluster()
              + ", this webhook guards " + cluster));
    }
    if (!"CONNECT".equals(r.operation) || !"".equals(nullToEmpty(r.resourceGroup)) || !"pods".equals(r.resource)) {
      return record(r, now, caller, id, rec, null,
          Verdict.deny(id, "admission:operation", "this webhook decides CONNECT on pods/exec, pods/attach and"
              + " pods/portforward, not " + SafeText.quote(r.operation + " " + r.resource + "/" + r.subResource)));
    }
    if (scope.namespace().isPresent() && !scope.namespace().get().equals(r.namespace)) {
      return record(r, now, caller, id, rec, null,
          Verdict.deny(id, "admission:namespace-scope", "grant " + id + " is for namespace "
              + scope.namespace().get() + ", not " + SafeText.quote(String.valueOf(r.namespace))));
    }
    if (scope.pod().isPresent() && !scope.pod().get().equals(r.name)) {
      return record(r, now, caller, id, rec, null,
          Verdict.deny(id, "broker:pod-scope", "grant " + id + " is pinned to pod " + scope.pod().get()
              + ", not " + SafeText.quote(String.valueOf(r.name))));
    }
    Use use;
    Use interactive = null;
    try {
      String container = r.container();
      if ("exec".equals(r.subResource)) {
        List<String> argv = r.command();
        if (argv == null || argv.isEmpty()) {
          return record(r, now, caller, id, rec, null,
              Verdict.deny(id, "admission:exec-command", "exec without a command"));
        }
        boolean attached = r.flag("stdin") || r.flag("tty");
        use = Use.command(argv).in(r.name, container)
            .over(attached ? Use.Stream.DIRECT_INTERACTIVE : Use.Stream.DIRECT);
        if (attached) {
          interactive = Use.action(Action.EXEC).in(r.name, container).over(Use.Stream.DIRECT_INTERACTIVE);
        }
      } else if ("attach".equals(r.subResource)) {
        use = Use.action(Action.EXEC).in(r.name, container)
            .over(r.flag("stdin") || r.flag("tty") ? Use.Stream.DIRECT_INTERACTIVE : Use.Stream.DIRECT);
      } else if ("portforward".equals(r.subResource)) {
        use = Use.action(Action.PORT_FORWARD).in(r.name, null);
      } else {
        return record(r, now, caller, id, rec, null,
            Verdict.deny(id, "admission:operation", "subresource " + SafeText.quote(String.valueOf(r.subResource))
                + " is not one this webhook decides"));
      }
    } catch (IllegalArgumentException e) {
      return record(r, now, caller, id, rec, null, Verdict.deny(id, "admission:request", e.getMessage()));
    }
    if (interactive != null) {
      Decision d = authorize(grant, interactive);
      if (!d.isAllowed()) {
        return record(r, now, caller, id, rec, use, Verdict.deny(id, d.ruleId().orElse("policy:default-deny"),
            "stdin/tty requested: " + d.reason()).withDecision(d));
      }
    }
    Decision d = authorize(grant, use);
    Verdict v = d.isAllowed()
        ? Verdict.allow(id, d.ruleId().orElse(null), d.reason())
        : Verdict.deny(id, d.ruleId().orElse("policy:default-deny"), d.reason());
    return record(r, now, caller, id, rec, use, v.withDecision(d));
  }

  private Decision authorize(Grant grant, Use use) {
    try {
      return requireNonNull(policy.authorize(grant, use), "policy returned null");
    } catch (RuntimeException e) {
      log.warn("policy failed on {} for grant {}; refusing: {}", use, grant.id(), e.toString());
      return Decision.deny("policy error (" + e.getClass().getSimpleName() + "); denied", "broker:policy-error");
    }
  }

  private static Optional<Identity> identity(AdmissionReview r) {
    if (r.user == null) {
      return Optional.empty();
    }
    try {
      return Optional.of(Identity.of(r.user).assertedBy("kube-apiserver"));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  /** Writes the decision to the audit sink; a sink failure turns it into a refusal. */
  private Verdict record(AdmissionReview r, Instant now, Optional<Identity> caller, GrantId id, RequestRecord rec,
      Use use, Verdict v) {
    boolean command = use != null && use.isCommand();
    AuditEventType type = command
        ? (v.allowed ? AuditEventType.COMMAND_ALLOWED : AuditEventType.COMMAND_DENIED)
        : (v.allowed ? AuditEventType.USE_ALLOWED : AuditEventType.USE_DENIED);
    try {
      AuditEvent.Builder ev = AuditEvent.builder(type, now)
          .outcome(v.allowed ? Decision.Outcome.ALLOW : Decision.Outcome.DENY)
          .reason(v.reason)
          .ruleId(v.rule)
          .attribute("enforcedBy", "admission-webhook")
          .attribute("admissionUid", r.uid)
          .attribute("subresource", String.valueOf(r.subResource))
          .attribute("namespace", String.valueOf(r.namespace))
          .attribute("pod", String.valueOf(r.name));
      caller.ifPresent(ev::actor);
      if (caller.isEmpty()) {
        ev.attribute("user", SafeText.quote(String.valueOf(r.user)));
      }
      if (id != null) {
        ev.grantId(id);
      }
      if (rec != null) {
        ev.requestId(rec.id()).request(rec.request()).attribute("role", rec.request().role());
      }
      if (v.decision != null) {
        ev.policy(v.decision.policyDigest().orElse(null), v.decision.policyRevision().orElse(null));
      }
      if (use != null) {
        use.container().ifPresent(c -> ev.attribute("container", c));
        if (command) {
          ev.attribute("command", use.describe());
        }
      }
      if ("exec".equals(r.subResource) || "attach".equals(r.subResource)) {
        ev.attribute("stdin", Boolean.toString(r.flag("stdin"))).attribute("tty", Boolean.toString(r.flag("tty")));
      }
      if ("portforward".equals(r.subResource)) {
        ev.attribute("ports", r.ports());
      }
      audit.write(List.of(ev.build()));
      return v;
    } catch (RuntimeException e) {
      log.error("could not record admission decision {} for request {}; refusing: {}", v.kind, r.uid, e.toString());
      return Verdict.deny(id, "admission:audit", "the decision could not be written to the audit log; refused");
    }
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }

  private static String abbreviate(String s) {
    return s.length() <= MAX_MESSAGE ? s : s.substring(0, MAX_MESSAGE - 1) + "…";
  }

  @Override
  public String toString() {
    return "ExecAdmission{cluster=" + cluster + ", " + grants + "}";
  }

  private static final class Verdict {
    final boolean allowed;
    final String kind;
    final GrantId grant;
    final String rule;
    final String reason;
    final Decision decision;

    private Verdict(boolean allowed, String kind, GrantId grant, String rule, String reason, Decision decision) {
      this.allowed = allowed;
      this.kind = kind;
      this.grant = grant;
      this.rule = rule;
      this.reason = reason;
      this.decision = decision;
    }

    static Verdict noOpinion() {
      return new Verdict(true, "no-opinion", null, null, null, null);
    }

    static Verdict allow(GrantId grant, String rule, String reason) {
      return new Verdict(true, "allow", grant, rule, reason, null);
    }

    static Verdict deny(GrantId grant, String rule, String reason) {
      return new Verdict(false, "deny", grant, rule, reason, null);
    }

    Verdict withDecision(Decision d) {
      return new Verdict(allowed, kind, grant, rule, reason, d);
    }
  }

  /** Builds an {@link ExecAdmission}. */
  public static final class Builder {
    private String cluster;
    private GrantCache grants;
    private AccessPolicy policy;
    private AuditSink audit;
    private Clock clock = Clock.systemUTC();

    private Builder() {}

    /** The cluster this webhook guards, as grants name it in their scope (required). */
    public Builder cluster(String cluster) {
      this.cluster = Scope.cluster(requireNonNull(cluster, "cluster")).cluster();
      return this;
    }

    /** Where grants are looked up (required). */
    public Builder grants(GrantCache grants) {
      this.grants = requireNonNull(grants, "grants");
      return this;
    }

    /** The access policy that decides uses, the broker's own (required). */
    public Builder policy(AccessPolicy policy) {
      this.policy = requireNonNull(policy, "policy");
      return this;
    }

    /** Where every decision is recorded (required; a failing sink refuses the request). */
    public Builder auditSink(AuditSink audit) {
      this.audit = requireNonNull(audit, "audit");
      return this;
    }

    /** The clock grant windows are checked against (default: system UTC). */
    public Builder clock(Clock clock) {
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Returns the webhook.
     *
     * @throws IllegalStateException if a required part is missing
     */
    public ExecAdmission build() {
      if (cluster == null || grants == null || policy == null || audit == null) {
        throw new IllegalStateException("cluster, grants, policy and auditSink are required");
      }
      return new ExecAdmission(this);
    }
  }
}
