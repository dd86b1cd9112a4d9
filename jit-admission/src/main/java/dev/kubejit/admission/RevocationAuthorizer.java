package dev.kubejit.admission;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.Decision;
import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Identity;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.SafeText;
import dev.kubejit.api.spi.AuditSink;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The authorization webhook for API servers run with {@code --authorization-mode=...,Webhook,RBAC}:
 * a plain function from a {@code SubjectAccessReview} ({@code authorization.k8s.io/v1} or {@code
 * v1beta1}) to its answer. For a user in a grant group whose grant is unknown, revoked, expired,
 * outside its window or held by someone else, it answers {@code denied: true}, which stops the
 * request before RBAC, so a revocation takes effect at the next request rather than when the
 * RoleBinding is deleted. For everyone else, and for a grant that is active, it gives no opinion
 * ({@code allowed: false, denied: false}) and RBAC decides. It never allows anything.
 *
 * <p>Denials are written to the audit sink (the API server calls this on every request, so
 * no-opinion answers are not). Decides from the {@link GrantCache}; thread-safe.
 */
public final class RevocationAuthorizer {
  private static final Logger log = LoggerFactory.getLogger(RevocationAuthorizer.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String V1 = "authorization.k8s.io/v1";
  private static final String V1BETA1 = "authorization.k8s.io/v1beta1";

  private final GrantCache grants;
  private final AuditSink audit;
  private final Clock clock;

  private RevocationAuthorizer(GrantCache grants, AuditSink audit, Clock clock) {
    this.grants = requireNonNull(grants, "grants");
    this.audit = requireNonNull(audit, "audit");
    this.clock = requireNonNull(clock, "clock");
  }

  /** Returns the authorizer deciding from {@code grants}, recording denials to {@code audit}. */
  public static RevocationAuthorizer of(GrantCache grants, AuditSink audit, Clock clock) {
    return new RevocationAuthorizer(grants, audit, clock);
  }

  /**
   * jit-rbac's provisioner verifies a new binding with a SubjectAccessReview for the user {@code
   * kubejit:verify:<id>} in exactly the group {@code jit:grant:<id>}, before the grant is recorded
   * active; that question gets no opinion (RBAC answers it). No credential the broker issues names
   * that user.
   */
  private static boolean isProvisionerCheck(String user, List<String> grantGroups) {
    return grantGroups.size() == 1 && user != null
        && user.equals(PROVISIONER_CHECK_PREFIX + grantGroups.get(0).substring(Grant.GROUP_PREFIX.length()));
  }

  static final String PROVISIONER_CHECK_PREFIX = "kubejit:verify:";

  /**
   * Decides one {@code SubjectAccessReview} and returns the answer as JSON.
   *
   * @throws MalformedAdmissionReviewException if the body is not a SubjectAccessReview with a spec
   */
  public byte[] handle(byte[] subjectAccessReviewJson) {
    if (subjectAccessReviewJson == null || subjectAccessReviewJson.length == 0
        || subjectAccessReviewJson.length > AdmissionReview.MAX_BYTES) {
      throw new MalformedAdmissionReviewException("expected a SubjectAccessReview of 1 byte to 3 MiB");
    }
    JsonNode root;
    try {
      root = JSON.readTree(subjectAccessReviewJson);
    } catch (IOException e) {
      throw new MalformedAdmissionReviewException("body is not JSON: " + e.getClass().getSimpleName());
    }
    String apiVersion = root == null ? null : root.path("apiVersion").asText(null);
    if (!V1.equals(apiVersion) && !V1BETA1.equals(apiVersion)
        || !"SubjectAccessReview".equals(root.path("kind").asText()) || !root.path("spec").isObject()) {
      throw new MalformedAdmissionReviewException("expected a SubjectAccessReview (" + V1 + " or " + V1BETA1
          + ") with a spec");
    }
    JsonNode spec = root.get("spec");
    String user = spec.path("user").asText(null);
    // v1 names the list "groups", v1beta1 "group".
    JsonNode groupNode = spec.has("groups") ? spec.get("groups") : spec.get("group");
    List<String> grantGroups = new ArrayList<>();
    if (groupNode != null && groupNode.isArray()) {
      for (JsonNode g : groupNode) {
        if (g.isTextual() && g.asText().startsWith(Grant.GROUP_PREFIX)) {
          grantGroups.add(g.asText());
        }
      }
    }
    String denial = grantGroups.isEmpty() || isProvisionerCheck(user, grantGroups) ? null : denial(user, grantGroups);
    ObjectNode out = JSON.createObjectNode();
    out.put("apiVersion", apiVersion);
    out.put("kind", "SubjectAccessReview");
    ObjectNode status = out.putObject("status");
    status.put("allowed", false);
    if (denial != null) {
      status.put("denied", true);
      status.put("reason", "kubejit: " + denial);
      record(user, grantGroups, spec, denial);
    }
    try {
      return JSON.writeValueAsBytes(out);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot render SubjectAccessReview", e);
    }
  }

  /** Why the request must be denied, or null for no opinion. */
  private String denial(String user, List<String> grantGroups) {
    Instant now = clock.instant();
    for (String group : grantGroups) {
      GrantId id;
      try {
        id = GrantId.parse(group.substring(Grant.GROUP_PREFIX.length()));
      } catch (IllegalArgumentException e) {
        return "malformed grant group " + SafeText.quote(group);
      }
      Optional<RequestRecord> found;
      try {
        found = grants.find(id);
      } catch (RuntimeException e) {
        log.warn("grant store lookup for {} failed; denying: {}", id, e.toString());
        return "grant " + id + " could not be checked (" + e.getClass().getSimpleName() + "); denied";
      }
      if (found.isEmpty() || found.get().grant().isEmpty()) {
        return "grant " + id + " is unknown to KubeJIT";
      }
      RequestRecord rec = found.get();
      Grant grant = rec.grant().get();
      if (rec.state() != RequestState.ACTIVE) {
        return "grant " + id + " is " + rec.state();
      }
      if (!grant.isActiveAt(now)) {
        return "grant " + id + " is not active now (" + grant.grantedAt() + " to " + grant.expiresAt() + ")";
      }
      boolean holder;
      try {
        holder = user != null && Identity.of(user).samePerson(grant.holder());
      } catch (IllegalArgumentException e) {
        holder = false;
      }
      if (!holder) {
        return SafeText.quote(String.valueOf(user)) + " does not hold grant " + id;
      }
    }
    return null;
  }

  private void record(String user, List<String> grantGroups, JsonNode spec, String denial) {
    try {
      JsonNode ra = spec.path("resourceAttributes");
      AuditEvent.Builder ev = AuditEvent.builder(AuditEventType.USE_DENIED, clock.instant())
          .outcome(Decision.Outcome.DENY).reason(denial).ruleId("authorization-webhook")
          .attribute("enforcedBy", "authorization-webhook")
          .attribute("grantGroups", String.join(",", grantGroups))
          .attribute("verb", ra.path("verb").asText(spec.path("nonResourceAttributes").path("verb").asText("")))
          .attribute("resource", ra.path("resource").asText(spec.path("nonResourceAttributes").path("path").asText("")))
          .attribute("namespace", ra.path("namespace").asText(""));
      if (grantGroups.size() == 1) {
        try {
          ev.grantId(GrantId.parse(grantGroups.get(0).substring(Grant.GROUP_PREFIX.length())));
        } catch (IllegalArgumentException ignored) {
          // malformed: the attribute above carries it
        }
      }
      try {
        ev.actor(Identity.of(String.valueOf(user)).assertedBy("kube-apiserver"));
      } catch (IllegalArgumentException e) {
        ev.attribute("user", SafeText.quote(String.valueOf(user)));
      }
      audit.write(List.of(ev.build()));
    } catch (RuntimeException e) {
      // The denial stands either way; losing its record is logged loudly.
      log.error("could not record authorization denial for {}: {}", SafeText.quote(String.valueOf(user)), e.toString());
    }
  }

  /**
   * The kubeconfig the API server's {@code --authorization-webhook-config-file} points at: the
   * webhook's https URL and the CA that verifies its serving certificate. Start the API server with
   * {@code --authorization-mode=Node,Webhook,RBAC} and short {@code
   * --authorization-webhook-cache-authorized-ttl} / {@code -unauthorized-ttl} (their defaults, 5 min
   * and 30 s, delay a revocation by as much).
   */
  public static String apiServerKubeconfig(java.net.URI url, String caBundlePem) {
    WebhookManifest.Builder check = WebhookManifest.builder().url(url).caBundlePem(caBundlePem);
    check.build();
    String ca = java.util.Base64.getEncoder().encodeToString(
        (caBundlePem.strip() + "\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    return String.join("\n",
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: kubejit-authorization",
        "  cluster:",
        "    server: \"" + url + "\"",
        "    certificate-authority-data: " + ca,
        "users:",
        "- name: kube-apiserver",
        "  user: {}",
        "contexts:",
        "- name: webhook",
        "  context: {cluster: kubejit-authorization, user: kube-apiserver}",
        "current-context: webhook",
        "");
  }

  @Override
  public String toString() {
    return "RevocationAuthorizer{" + grants + "}";
  }
}
