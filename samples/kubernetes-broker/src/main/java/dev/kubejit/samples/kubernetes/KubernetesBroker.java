package dev.kubejit.samples.kubernetes;

import dev.kubejit.api.JitBroker;
import dev.kubejit.api.spi.Notifier;
import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.audit.FileAuditSink;
import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.credentials.GrantCredentialIssuer;
import dev.kubejit.credentials.X509Issuer;
import dev.kubejit.policy.Policy;
import dev.kubejit.policy.PolicyEngine;
import dev.kubejit.rbac.KubernetesRbacProvisioner;
import io.kubernetes.client.openapi.ApiClient;
import java.time.Clock;
import java.time.Duration;

/**
 * Production wiring of a broker: the reviewed policy file decides, every transition is written to
 * a hash-chained, fsync'ed audit log, RBAC is applied to the cluster and verified, and client
 * certificates are signed for the holder's own key with the per-grant group.
 *
 * <p>Run an {@code ExpiryReaper} beside it (jit-rbac) so bindings are deleted at their expiry even
 * while no broker runs, and call {@link JitBroker#expireDue()} periodically.
 */
public final class KubernetesBroker {
  private KubernetesBroker() {}

  /**
   * Wires a broker from its parts.
   *
   * @param cluster an ApiClient allowed to manage Roles and RoleBindings and create SubjectAccessReviews
   * @param policy the loaded, reviewed policy
   * @param audit the audit sink the broker fails closed on
   * @param clientCa the CA the API server trusts for client certificates ({@code --client-ca-file})
   * @param store where requests live; shared by every replica and the reaper in production
   * @param notifier where humans are told (ChatOps)
   */
  public static JitBroker wire(ApiClient cluster, Policy policy, RequestStore store, FileAuditSink audit,
      CertificateAuthority clientCa, Notifier notifier, Clock clock) {
    return JitBroker.builder()
        .clock(clock)
        .policy(PolicyEngine.of(policy))
        .store(store)
        .auditSink(audit)
        .rbacProvisioner(KubernetesRbacProvisioner.builder(cluster).maxGrantDuration(Duration.ofHours(8))
            .clock(clock).build())
        .credentialIssuer(GrantCredentialIssuer.builder()
            .x509(X509Issuer.builder().authority(clientCa).clock(clock).build()).clock(clock).build())
        .notifier(notifier)
        .build();
  }
}
