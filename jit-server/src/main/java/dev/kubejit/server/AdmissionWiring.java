package dev.kubejit.server;

import dev.kubejit.admission.AdmissionEndpoints;
import dev.kubejit.admission.ExecAdmission;
import dev.kubejit.admission.GrantCache;
import dev.kubejit.admission.RbacLint;
import dev.kubejit.admission.RbacWriteAdmission;
import dev.kubejit.admission.RevocationAuthorizer;
import dev.kubejit.admission.RoleLookup;
import dev.kubejit.api.spi.AccessPolicy;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.Notifier;
import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.policy.PolicyEngine;
import dev.kubejit.rbac.RbacLinter;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.JSON;
import io.kubernetes.client.openapi.apis.RbacAuthorizationV1Api;
import java.time.Clock;
import java.util.Deque;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code admission} section of kubejit.yaml: a grant cache over the server's store that hears
 * the broker's notifications (so a revocation here takes effect at once), and the webhooks of
 * jit-admission mounted on the server's TLS listener at {@code /admission/exec}, {@code
 * /admission/rbac} and {@code /authorize}. The RBAC guardrails use jit-rbac's linter and read the
 * role a binding refers to from the guarded cluster with the broker's credentials, and bound each
 * KubeJIT binding by its policy role's {@code maxDuration} when the policy is jit-policy's (a
 * policy that cannot say its roles' ceilings leaves only {@code maxBindingDuration}, with a
 * warning at start).
 */
final class AdmissionWiring {
  private static final Logger log = LoggerFactory.getLogger(AdmissionWiring.class);
  private static final AdmissionWiring NONE = new AdmissionWiring(null, null);

  private final ServerConfig.Admission config;
  private final GrantCache grants;

  private AdmissionWiring(ServerConfig.Admission config, GrantCache grants) {
    this.config = config;
    this.grants = grants;
  }

  /** Starts the grant cache when {@code admission} is configured; it is closed with the server. */
  static AdmissionWiring start(ServerConfig config, RequestStore store, Clock clock, Deque<AutoCloseable> opened) {
    if (config.admission().isEmpty()) {
      return NONE;
    }
    ServerConfig.Admission a = config.admission().get();
    GrantCache grants = GrantCache.start(store, clock, a.grantRefresh());
    opened.push(grants);
    return new AdmissionWiring(a, grants);
  }

  /** What the broker notifies so that the cache hears of revocations and expiries at once. */
  Notifier notifier() {
    return grants == null ? Notifier.none() : grants;
  }

  /** Mounts the configured webhooks. */
  void mount(KubeJitServer.Builder server, AccessPolicy policy, AuditSink audit, Map<String, ApiClient> clusters,
      Clock clock) {
    if (config == null) {
      return;
    }
    AdmissionEndpoints.Builder b = AdmissionEndpoints.builder();
    if (config.exec()) {
      b.exec(ExecAdmission.builder().cluster(config.cluster()).grants(grants).policy(policy).auditSink(audit)
          .clock(clock).build());
    }
    if (config.authorize()) {
      b.authorizer(RevocationAuthorizer.of(grants, audit, clock));
    }
    if (config.rbac().isPresent()) {
      ServerConfig.Admission.Rbac r = config.rbac().get();
      RbacLinter linter = RbacLinter.builder().maxJitDuration(r.maxBindingDuration()).clock(clock).build();
      RbacLint lint = json -> linter.lintYaml(json).stream()
          .map(f -> RbacLint.Finding.of(f.id(), f.isError(), f.message())).collect(Collectors.toList());
      RbacWriteAdmission.Builder rbac = RbacWriteAdmission.builder().lint(lint).escalationChecks(r.escalationChecks())
          .allowUsers(r.allowUsers().toArray(new String[0])).allowGroups(r.allowGroups().toArray(new String[0]))
          .roleLookup(roleLookup(clusters.get(config.cluster()))).auditSink(audit).clock(clock);
      if (policy instanceof PolicyEngine) {
        Map<String, java.time.Duration> ceilings = ((PolicyEngine) policy).policy().maxDurations();
        rbac.roleCeilings(ceilings);
        log.info("RBAC guardrails bound KubeJIT bindings by their role's maxDuration: {}", ceilings);
      } else {
        log.warn("the access policy ({}) cannot give its roles' maxDuration: per-role ceilings are off for"
            + " KubeJIT bindings and only admission.rbac.maxBindingDuration ({}) applies",
            policy.getClass().getSimpleName(), r.maxBindingDuration());
      }
      b.rbac(rbac.build());
    }
    AdmissionEndpoints endpoints = b.build();
    for (String path : endpoints.paths()) {
      server.mount(path, call -> {
        if (call.bodyTooLarge()) {
          return HttpReply.of(413, Map.of("Content-Type", "application/json"),
              "{\"error\":{\"code\":\"payload_too_large\",\"message\":\"review body too large\"}}".getBytes(
                  java.nio.charset.StandardCharsets.UTF_8));
        }
        AdmissionEndpoints.Reply reply = endpoints.handle(call.method(), call.path(), call.bodyUnsafe());
        return HttpReply.of(reply.status(), Map.of("Content-Type", reply.contentType()), reply.body());
      });
    }
    log.info("admission webhooks for cluster {} at {}; grant cache refreshed every {}", config.cluster(),
        endpoints.paths(), config.grantRefresh());
  }

  /** Reads a Role or ClusterRole from the guarded cluster; a 404 is "does not exist". */
  static RoleLookup roleLookup(ApiClient client) {
    RbacAuthorizationV1Api api = new RbacAuthorizationV1Api(client);
    JSON json = new JSON();
    return (kind, namespace, name) -> {
      try {
        Object role = "Role".equals(kind) ? api.readNamespacedRole(name, namespace).execute()
            : api.readClusterRole(name).execute();
        return Optional.of(json.serialize(role));
      } catch (ApiException e) {
        if (e.getCode() == 404) {
          return Optional.empty();
        }
        throw new IllegalStateException("reading " + kind + " " + name + " failed with HTTP " + e.getCode());
      }
    };
  }
}
