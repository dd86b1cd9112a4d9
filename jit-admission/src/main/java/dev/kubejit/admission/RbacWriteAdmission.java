package dev.kubejit.admission;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.Decision;
import dev.kubejit.api.Identity;
import dev.kubejit.api.SafeText;
import dev.kubejit.api.spi.AuditSink;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The RBAC write guardrails: a validating admission webhook for {@code CREATE} and {@code UPDATE}
 * of Roles, ClusterRoles, RoleBindings and ClusterRoleBindings, deciding through the {@link
 * RbacLint} port, as a plain function from an {@code AdmissionReview} to its answer.
 *
 * <ul>
 *   <li>The <b>KubeJIT checks</b> apply to every author: a binding labelled {@code
 *       app.kubernetes.io/managed-by: kubejit} must carry a {@code kubejit.dev/expires-at} within
 *       the linter's ceiling ({@code jit-no-expiry}, {@code jit-expiry-too-long}, {@code
 *       jit-created-in-future}) and bind only a non-system group ({@code jit-subject}). The
 *       broker's own bindings meet them; a hand-made one that imitates KubeJIT's labels does not.
 *       With {@linkplain Builder#roleCeilings per-role ceilings}, such a binding must also name its
 *       policy role in {@code kubejit.dev/role} ({@code jit-unknown-role}) and live no longer than
 *       that role's {@code maxDuration} plus {@link #CEILING_SKEW} ({@code
 *       jit-role-expiry-too-long}).
 *   <li>The <b>escalation checks</b> (every other error the linter reports: {@code
 *       privileged-roleref}, {@code escalation-verb}, {@code secrets-read}, {@code nodes-proxy},
 *       {@code wildcard}, ...) apply when enabled and the author is neither a listed user nor in a
 *       listed group (the broker's service account, the GitOps controller).
 * </ul>
 *
 * <p>With a {@link RoleLookup}, a binding is linted together with the role it refers to, read
 * from the API server, so that a ClusterRoleBinding to a custom ClusterRole with {@code pods/exec}
 * is judged by what the two reach together ({@code exec-crb}, ...); a KubeJIT-labelled binding
 * whose role does not exist, is not KubeJIT's or is another grant's is refused ({@code
 * unknown-roleref}: the broker creates the grant's own role first), and one created already expired is refused ({@code jit-expired}). Without a lookup,
 * {@code unknown-roleref} is ignored and a binding to a custom role is judged by that role's own
 * admission; see {@code docs/admission.md}.
 * Refusals name every error finding and are written to the audit sink; allowed writes are not
 * (the API server's audit log records them). Thread-safe.
 */
public final class RbacWriteAdmission {
  private static final Logger log = LoggerFactory.getLogger(RbacWriteAdmission.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> KUBEJIT_CHECKS =
      Set.of("jit-no-expiry", "jit-expiry-too-long", "jit-created-in-future", "jit-subject", "malformed",
          "unknown-roleref");
  private static final Set<String> IGNORED = Set.of("unknown-roleref");
  private static final Set<String> RESOURCES = Set.of("roles", "clusterroles", "rolebindings", "clusterrolebindings");
  private static final int MAX_MESSAGE = 1024;
  private static final String ROLE_ANNOTATION = "kubejit.dev/role";
  private static final String EXPIRES_AT = "kubejit.dev/expires-at";

  /**
   * How much longer than its role's ceiling a KubeJIT binding may live: the broker computes the
   * expiry on its own clock and the API server stamps the creation time on its clock (to the
   * second), so the two may disagree by this much without the binding being refused.
   */
  public static final Duration CEILING_SKEW = Duration.ofMinutes(2);

  private final RbacLint lint;
  private final boolean escalationChecks;
  private final Set<String> allowedUsers;
  private final Set<String> allowedGroups;
  private final AuditSink audit;
  private final Clock clock;
  private final RoleLookup roles;
  private final Map<String, Duration> ceilings;

  private RbacWriteAdmission(Builder b) {
    this.roles = b.roles;
    this.ceilings = b.ceilings;
    this.lint = b.lint;
    this.escalationChecks = b.escalationChecks;
    this.allowedUsers = Set.copyOf(b.allowedUsers);
    this.allowedGroups = Set.copyOf(b.allowedGroups);
    this.audit = b.audit;
    this.clock = b.clock;
  }

  /** Returns a builder; the lint port and audit sink are required. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Decides one {@code AdmissionReview} and returns the answer as JSON.
   *
   * @throws MalformedAdmissionReviewException if the body is not an AdmissionReview with a request
   *     and a uid
   */
  public byte[] handle(byte[] admissionReviewJson) {
    AdmissionReview r = AdmissionReview.parse(admissionReviewJson);
    Map<String, String> annotations = new LinkedHashMap<>();
    if (!("CREATE".equals(r.operation) || "UPDATE".equals(r.operation))
        || !"rbac.authorization.k8s.io".equals(r.resourceGroup) || !RESOURCES.contains(r.resource)
        || (r.subResource != null && !r.subResource.isEmpty())) {
      annotations.put("decision", "no-opinion");
      return r.respond(true, null, annotations);
    }
    boolean trusted = allowedUsers.contains(r.user) || r.groups.stream().anyMatch(allowedGroups::contains);
    List<RbacLint.Finding> refusing = new ArrayList<>();
    try {
      String objects = essentials(r.object);
      // The linter's unknown-roleref for a role it cannot see is noise without a lookup (and
      // replaced by the webhook's own finding with one); once the role is read, it is the linter's
      // verdict that the role is not KubeJIT's or belongs to another grant, and it counts.
      boolean roleSeen = false;
      if (r.resource.endsWith("bindings")) {
        boolean jit = isKubeJit(r.object);
        if (jit && "CREATE".equals(r.operation)) {
          expired(r.object).ifPresent(refusing::add);
        }
        if (jit && ceilings != null) {
          roleCeiling(r.object).ifPresent(refusing::add);
        }
        if (roles != null) {
          RbacLint.Finding missing = null;
          JsonNode ref = r.object.path("roleRef");
          String kind = ref.path("kind").asText();
          String roleName = ref.path("name").asText();
          String ns = "Role".equals(kind) ? r.namespace : null;
          java.util.Optional<String> role = ("Role".equals(kind) || "ClusterRole".equals(kind)) && !roleName.isEmpty()
              ? roles.find(kind, ns, roleName) : java.util.Optional.empty();
          if (role.isPresent()) {
            objects = objects + "\n---\n" + essentials(parse(role.get()));
            roleSeen = true;
          } else if (jit) {
            missing = RbacLint.Finding.of("unknown-roleref", true, "the " + SafeText.quote(kind) + " "
                + SafeText.quote(roleName) + " this KubeJIT binding refers to does not exist; the broker creates"
                + " the role before its binding");
            refusing.add(missing);
          }
        }
      }
      for (RbacLint.Finding f : lint.lint(objects)) {
        if (!f.isError() || (IGNORED.contains(f.id()) && !roleSeen)) {
          continue;
        }
        if (KUBEJIT_CHECKS.contains(f.id()) || (escalationChecks && !trusted)) {
          refusing.add(f);
        }
      }
    } catch (MalformedAdmissionReviewException e) {
      throw e;
    } catch (RuntimeException e) {
      log.warn("RBAC lint failed on {} {}; refusing: {}", r.resource, r.name, e.toString());
      refusing.add(RbacLint.Finding.of("lint-error", true, "the linter or the role lookup failed (" + e.getClass().getSimpleName()
          + "); refused"));
    }
    if (refusing.isEmpty()) {
      annotations.put("decision", "allow");
      return r.respond(true, null, annotations);
    }
    StringBuilder ids = new StringBuilder();
    StringBuilder why = new StringBuilder();
    for (RbacLint.Finding f : refusing) {
      ids.append(ids.length() == 0 ? "" : ",").append(f.id());
      why.append(why.length() == 0 ? "" : "; ").append(f.id()).append(": ").append(f.message());
    }
    String message = "kubejit: " + r.operation + " " + r.resource + " " + SafeText.quote(String.valueOf(r.name))
        + " refused by rule " + ids + ": " + why;
    if (message.length() > MAX_MESSAGE) {
      message = message.substring(0, MAX_MESSAGE - 1) + "…";
    }
    annotations.put("decision", "deny");
    annotations.put("rule", ids.toString());
    if (!record(r, ids.toString(), message)) {
      annotations.put("rule", "admission:audit");
      return r.respond(false, "kubejit: the refusal could not be written to the audit log; refused", annotations);
    }
    return r.respond(false, message, annotations);
  }

  private static boolean isKubeJit(JsonNode object) {
    return "kubejit".equals(object.path("metadata").path("labels").path("app.kubernetes.io/managed-by").asText(null));
  }

  /** A KubeJIT binding created with an expiry that has already passed. */
  private java.util.Optional<RbacLint.Finding> expired(JsonNode object) {
    String at = object.path("metadata").path("annotations").path("kubejit.dev/expires-at").asText(null);
    if (at == null) {
      return java.util.Optional.empty(); // jit-no-expiry, from the linter
    }
    try {
      java.time.Instant expiry = java.time.Instant.parse(at);
      if (!expiry.isAfter(clock.instant())) {
        return java.util.Optional.of(RbacLint.Finding.of("jit-expired", true, "kubejit.dev/expires-at " + at
            + " has already passed; the broker never creates an expired binding"));
      }
    } catch (java.time.format.DateTimeParseException e) {
      // the linter reports a malformed expiry
    }
    return java.util.Optional.empty();
  }

  /**
   * A KubeJIT binding that names no role of the policy, or lives longer than its role's ceiling:
   * from its creation time (set by the API server; the webhook's now when absent) to its expiry.
   * A missing or malformed expiry is left to the linter ({@code jit-no-expiry}).
   */
  private java.util.Optional<RbacLint.Finding> roleCeiling(JsonNode object) {
    JsonNode meta = object.path("metadata");
    String role = meta.path("annotations").path(ROLE_ANNOTATION).asText(null);
    if (role == null) {
      return java.util.Optional.of(RbacLint.Finding.of("jit-unknown-role", true, "this KubeJIT binding has no "
          + ROLE_ANNOTATION + " annotation naming the policy role whose ceiling bounds it"));
    }
    Duration ceiling = ceilings.get(role);
    if (ceiling == null) {
      return java.util.Optional.of(RbacLint.Finding.of("jit-unknown-role", true, ROLE_ANNOTATION + " "
          + SafeText.quote(role) + " is not a role of the policy"));
    }
    Instant expiry;
    try {
      expiry = Instant.parse(meta.path("annotations").path(EXPIRES_AT).asText(""));
    } catch (DateTimeParseException e) {
      return java.util.Optional.empty(); // jit-no-expiry, from the linter
    }
    Instant from = clock.instant();
    String created = meta.path("creationTimestamp").asText(null);
    if (created != null) {
      try {
        from = Instant.parse(created);
      } catch (DateTimeParseException e) {
        // an unreadable creation time is measured from now, like an absent one
      }
    }
    Duration lifetime = Duration.between(from, expiry);
    if (lifetime.compareTo(ceiling.plus(CEILING_SKEW)) <= 0) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(RbacLint.Finding.of("jit-role-expiry-too-long", true, "role " + SafeText.quote(role)
        + " allows at most " + SafeText.quote(ceiling.toString()) + " but this binding lives "
        + SafeText.quote(lifetime.toString()) + " (from " + SafeText.quote(from.toString()) + " to "
        + SafeText.quote(expiry.toString()) + ")"));
  }

  private static JsonNode parse(String json) {
    try {
      return JSON.readTree(json);
    } catch (java.io.IOException e) {
      throw new IllegalStateException("the role lookup returned no JSON document");
    }
  }

  /** The fields the linter reads; server-populated metadata (managedFields, uid, ...) is dropped. */
  private static String essentials(JsonNode object) {
    if (object == null || !object.isObject()) {
      throw new MalformedAdmissionReviewException("request.object must be the RBAC object");
    }
    ObjectNode out = JSON.createObjectNode();
    for (String f : List.of("apiVersion", "kind", "rules", "aggregationRule", "subjects", "roleRef")) {
      if (object.has(f)) {
        out.set(f, object.get(f));
      }
    }
    JsonNode meta = object.get("metadata");
    ObjectNode m = out.putObject("metadata");
    if (meta != null && meta.isObject()) {
      for (String f : List.of("name", "namespace", "labels", "annotations", "creationTimestamp")) {
        if (meta.has(f) && !meta.get(f).isNull()) {
          m.set(f, meta.get(f));
        }
      }
      if (!m.has("name") && meta.has("generateName")) {
        m.put("name", meta.get("generateName").asText() + "generated");
      }
    }
    return out.toString();
  }

  private boolean record(AdmissionReview r, String rules, String message) {
    try {
      AuditEvent.Builder ev = AuditEvent.builder(AuditEventType.USE_DENIED, clock.instant())
          .outcome(Decision.Outcome.DENY).reason(message).ruleId(rules.contains(",") ? rules.substring(0, rules.indexOf(','))
              : rules)
          .attribute("enforcedBy", "rbac-write-webhook")
          .attribute("admissionUid", r.uid)
          .attribute("operation", String.valueOf(r.operation))
          .attribute("resource", String.valueOf(r.resource))
          .attribute("object", (r.namespace == null ? "" : r.namespace + "/") + r.name)
          .attribute("findings", rules);
      try {
        ev.actor(Identity.of(r.user).assertedBy("kube-apiserver"));
      } catch (RuntimeException e) {
        ev.attribute("user", SafeText.quote(String.valueOf(r.user)));
      }
      audit.write(List.of(ev.build()));
      return true;
    } catch (RuntimeException e) {
      log.error("could not record RBAC refusal for request {}: {}", r.uid, e.toString());
      return false;
    }
  }

  @Override
  public String toString() {
    return "RbacWriteAdmission{escalationChecks=" + escalationChecks + ", allowedUsers=" + allowedUsers
        + ", allowedGroups=" + allowedGroups + (ceilings == null ? "" : ", roleCeilings=" + ceilings) + "}";
  }

  /** Builds an {@link RbacWriteAdmission}. */
  public static final class Builder {
    private RbacLint lint;
    private boolean escalationChecks;
    private final List<String> allowedUsers = new ArrayList<>();
    private final List<String> allowedGroups = new ArrayList<>();
    private AuditSink audit;
    private Clock clock = Clock.systemUTC();
    private RoleLookup roles;
    private Map<String, Duration> ceilings;

    private Builder() {}

    /**
     * Per-role TTL ceilings, policy role name to its {@code maxDuration} (default: none; only the
     * linter's global ceiling applies). With them, every KubeJIT-labelled binding, whoever writes
     * it, must name one of these roles in {@code kubejit.dev/role} and expire no later than that
     * role's ceiling plus {@link #CEILING_SKEW} after its creation.
     *
     * @throws IllegalArgumentException if the map is empty or a ceiling is not positive
     * @throws NullPointerException if the map, a name or a ceiling is null
     */
    public Builder roleCeilings(Map<String, Duration> ceilings) {
      requireNonNull(ceilings, "ceilings");
      if (ceilings.isEmpty()) {
        throw new IllegalArgumentException("roleCeilings is empty: every KubeJIT binding would be refused");
      }
      Map<String, Duration> copy = new LinkedHashMap<>();
      ceilings.forEach((role, max) -> {
        requireNonNull(role, "role");
        requireNonNull(max, "ceiling of role " + SafeText.quote(role));
        if (max.isNegative() || max.isZero()) {
          throw new IllegalArgumentException("the ceiling of role " + SafeText.quote(role) + " must be positive: " + max);
        }
        copy.put(role, max);
      });
      this.ceilings = Collections.unmodifiableMap(copy);
      return this;
    }

    /**
     * Reads the role a binding refers to, so that both are linted together (default: none; the
     * binding is judged alone and {@code unknown-roleref} is ignored).
     */
    public Builder roleLookup(RoleLookup roles) {
      this.roles = requireNonNull(roles, "roles");
      return this;
    }

    /** The linter port (required). */
    public Builder lint(RbacLint lint) {
      this.lint = requireNonNull(lint, "lint");
      return this;
    }

    /** Also refuse escalations by authors outside the allow-list (default: KubeJIT checks only). */
    public Builder escalationChecks(boolean enabled) {
      this.escalationChecks = enabled;
      return this;
    }

    /** Users exempt from the escalation checks, for example {@code system:serviceaccount:kubejit:broker}. */
    public Builder allowUsers(String... users) {
      for (String u : users) {
        allowedUsers.add(requireNonNull(u, "user"));
      }
      return this;
    }

    /** Groups whose members are exempt from the escalation checks (the GitOps controller's). */
    public Builder allowGroups(String... groups) {
      for (String g : groups) {
        allowedGroups.add(requireNonNull(g, "group"));
      }
      return this;
    }

    /** Where refusals are recorded (required; if it fails, the write is refused anyway). */
    public Builder auditSink(AuditSink audit) {
      this.audit = requireNonNull(audit, "audit");
      return this;
    }

    /** The clock for audit records and the {@code jit-expired} check (default: system UTC). */
    public Builder clock(Clock clock) {
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Returns the webhook.
     *
     * @throws IllegalStateException without a lint port or audit sink
     */
    public RbacWriteAdmission build() {
      if (lint == null || audit == null) {
        throw new IllegalStateException("lint and auditSink are required");
      }
      return new RbacWriteAdmission(this);
    }
  }
}
