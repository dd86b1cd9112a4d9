package dev.kubejit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Identity;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.Scope;
import dev.kubejit.api.spi.AccessPolicy;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.membership.keycloak.KeycloakMembershipProvisioner;
import dev.kubejit.rbac.KubernetesRbacProvisioner;
import dev.kubejit.testing.Keycloak;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeNode;
import dev.kubejit.testing.Kubectl;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The identity-provider path end to end, with real peers only: Keycloak (HTTPS, test CA) as the
 * identity provider, a control plane whose API server authenticates its ID tokens ({@code
 * --oidc-*}, users prefixed {@code oidc:}), the broker with RBAC on that cluster and group
 * membership in Keycloak (a service account holding only {@code manage-users}), and the preinstalled
 * kubectl whose kubeconfig runs {@code kubejit credential --grant ID --oidc}, with a pod on the
 * real node (kubelet + containerd) to exec into.
 */
@Tag("kube")
class OidcMembershipKubeTest {
  /** The ID token lifetime of the kubectl client: the bound on how long a copy of a token keeps its groups. */
  static final Duration TOKEN_LIFETIME = Duration.ofSeconds(30);
  static final String CLIENT = "kubejit-kubectl";
  static final String NS = "payments-oidc";

  static final String LOG_LINE = "2026-12-02T05:00:00Z ERROR kubejit-oidc-marker payment failed";

  static Keycloak kc;
  static KubeControlPlane cp;
  static KubeNode node;

  @TempDir Path dir;

  @BeforeAll
  static void start() throws Exception {
    kc = Keycloak.shared();
    kc.createPublicClient(CLIENT, TOKEN_LIFETIME);
    cp = KubeControlPlane.startWithOidc(KubeControlPlane.Oidc.issuer(kc.issuer()).clientId(CLIENT)
        .caFile(kc.caCertificateFile()).usernameClaim("preferred_username").usernamePrefix("oidc:")
        .groupsClaim(Keycloak.GROUPS_CLAIM));
    new CoreV1Api(cp.adminClient()).createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name(NS))).execute();
    node = KubeNode.start(cp);
    node.runPod(NS, "web", Map.of("/var/log/app.log", LOG_LINE + "\n"));
  }

  @AfterAll
  static void stop() {
    if (node != null) {
      node.close();
    }
    if (cp != null) {
      cp.close();
    }
  }

  @Test
  void aGrantIsAGroupInTheIdpTokenWhileItLasts() throws Exception {
    char[] secret = kc.createServiceAccountClient("kubejit-broker-oidc", "manage-users");
    JitBroker broker = JitBroker.builder()
        .policy(AccessPolicy.staticRules().role("oncall-debug", r -> r.requesters(Keycloak.SRE).namespaces(NS)
            .durations(Duration.ofMinutes(30), Duration.ofHours(1)).rbacTemplate("oncall-debug")
            .manual(Action.EXEC, 1, Keycloak.PAYMENTS_ONCALL)).build())
        .store(RequestStore.inMemory())
        .auditSink(AuditSink.inMemory())
        .rbacProvisioner(KubernetesRbacProvisioner.builder(cp.adminClient()).maxGrantDuration(Duration.ofHours(8)).build())
        .membershipProvisioner(KeycloakMembershipProvisioner.builder().server(kc.baseUrl()).realm(Keycloak.REALM)
            .clientCredentials("kubejit-broker-oidc", secret).sslContext(kc.sslContext()).build())
        .build();
    Identity alice = Identity.of("alice", List.of(Keycloak.SRE)).assertedBy("keycloak");
    Identity carol = Identity.of("carol", List.of(Keycloak.PAYMENTS_ONCALL)).assertedBy("keycloak");

    // alice logged in to the identity provider (what kubejit login leaves in ~/.kubejit)
    ClientHome home = ClientHome.resolve(dir.resolve("alice"));
    Properties config = new Properties();
    config.setProperty("server", "https://broker.invalid");
    config.setProperty("auth", "oidc");
    config.setProperty("issuer", kc.issuer());
    config.setProperty("clientId", CLIENT);
    config.setProperty("issuerCaFile", kc.caCertificateFile().toString());
    home.writeConfig(config);
    Keycloak.Tokens login = kc.passwordGrant("alice", CLIENT);
    Properties tokens = new Properties();
    tokens.setProperty("idToken", login.idToken());
    tokens.setProperty("idTokenExpiresAt", Long.toString(OidcLogin.expiry(login.idToken()).getEpochSecond()));
    tokens.setProperty("refreshToken", login.refreshToken());
    tokens.setProperty("tokenEndpoint", kc.tokenEndpoint().toString());
    home.writeTokens(tokens);
    Path launcher = ClientAgainstServerTest.launcher(dir);

    // before approval: alice is authenticated as oidc:alice, but her token has no grant group: forbidden
    Path plain = kubeconfig("plain", "    token: " + login.idToken() + "\n");
    Kubectl.Result before = awaitAuthenticated(plain);
    assertNotEquals(0, before.exit());
    assertTrue(before.err().contains("Forbidden") && before.err().contains("User \"oidc:alice\""), before.err());
    assertFalse(groups(login.idToken()).stream().anyMatch(g -> g.startsWith(Grant.GROUP_PREFIX)));
    Kubectl.Result noGrant = Kubectl.run(pluginKubeconfig(launcher, GrantId.random().value()), null, "get", "pods");
    assertNotEquals(0, noGrant.exit());
    assertTrue(noGrant.err().contains("does not put you in group"), noGrant.err());

    RequestRecord req = broker.submit(AccessRequest.builder().requester(alice).role("oncall-debug").action(Action.EXEC)
        .scope(Scope.namespace("oidc", NS)).duration(Duration.ofMinutes(30)).ticket("INC-18").build());
    long approvedAt = System.nanoTime();
    broker.approve(req.id(), carol, "go");
    Grant grant = broker.activate(req.id(), alice).grant();
    Path jit = pluginKubeconfig(launcher, grant.id().value());
    Kubectl.Result during = Kubectl.run(jit, null, "get", "pods");
    long working = System.nanoTime() - approvedAt;
    assertEquals(0, during.exit(), during.toString());
    assertTrue(during.output().contains("web"), during.output());
    // exec in the real node's pod: the grant's role allows pods/exec, and the token's group reaches it
    Kubectl.Result exec = Kubectl.run(jit, null, "exec", "web", "--", "cat", "/var/log/app.log");
    long execWorking = System.nanoTime() - approvedAt;
    assertEquals(0, exec.exit(), exec.toString());
    assertTrue(exec.output().contains(LOG_LINE), exec.output());
    String refreshed = home.tokens().getProperty("idToken");
    assertTrue(groups(refreshed).contains(grant.subjectGroup()), "the plugin refreshed the token: " + groups(refreshed));
    Kubectl.Result secrets = Kubectl.run(jit, null, "get", "secrets");
    assertNotEquals(0, secrets.exit(), "the grant's role does not cover secrets");
    Kubectl.Result elsewhere = Kubectl.run(jit, null, "get", "pods", "-n", "default");
    assertNotEquals(0, elsewhere.exit(), "nor another namespace");
    System.out.printf("MEASURED OIDC path: approval to a working token (approve, activate: RBAC + Keycloak group, "
        + "plugin refresh, kubectl get pods) %d ms; to kubectl exec in the node's pod done %d ms (load %.1f)%n",
        working / 1_000_000, execWorking / 1_000_000, load());

    long revokedAt = System.nanoTime();
    broker.revoke(req.id(), carol, "fixed");
    // RBAC went first: the token alice still holds carries the group, and is already useless
    assertTrue(groups(home.tokens().getProperty("idToken")).contains(grant.subjectGroup()));
    Kubectl.Result after = Kubectl.run(jit, null, "get", "pods");
    assertNotEquals(0, after.exit());
    assertTrue(after.err().contains("Forbidden"), after.err());
    Kubectl.Result execAfter = Kubectl.run(jit, null, "exec", "web", "--", "cat", "/var/log/app.log");
    long execRefused = System.nanoTime() - revokedAt;
    assertNotEquals(0, execAfter.exit(), execAfter.toString());
    assertFalse(execAfter.output().contains(LOG_LINE), execAfter.output());
    System.out.printf("MEASURED OIDC path: revoke to kubectl exec refused (RBAC removed before revoke returned; "
        + "the cached token still carries the group) %d ms%n", execRefused / 1_000_000);
    // the next token no longer carries the group
    Keycloak.Tokens next = kc.refresh(home.tokens().getProperty("refreshToken"), CLIENT);
    assertFalse(groups(next.idToken()).contains(grant.subjectGroup()), groups(next.idToken()).toString());
    // and the plugin stops handing out a token with it at the latest when the cached one expires
    long lag;
    while (true) {
      OidcGrantTokenTest.Run r = OidcGrantTokenTest.plugin(home, grant.id().value());
      if (r.exit() != 0) {
        lag = System.nanoTime() - revokedAt;
        assertTrue(r.err().contains("does not put you in group"), r.err());
        break;
      }
      assertTrue(System.nanoTime() - revokedAt < TOKEN_LIFETIME.plusSeconds(15).toNanos(),
          "the plugin still hands out a token with the group " + TOKEN_LIFETIME + " after revoke");
      Thread.sleep(1000);
    }
    System.out.printf("MEASURED OIDC path: revocation lag of the token's group (revoke to the plugin refusing) %d ms "
        + "(token lifetime %d s; RBAC was removed before the revoke returned; load %.1f)%n", lag / 1_000_000,
        TOKEN_LIFETIME.toSeconds(), load());
  }

  private static double load() {
    return java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
  }

  /** kubectl with a static token, until the API server's OIDC authenticator (started asynchronously) knows the issuer. */
  private static Kubectl.Result awaitAuthenticated(Path kubeconfig) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    while (true) {
      Kubectl.Result r = Kubectl.run(kubeconfig, null, "get", "pods");
      boolean unauthenticated = r.err().contains("Unauthorized") || r.err().contains("provide credentials");
      if (!unauthenticated || System.nanoTime() > deadline) {
        return r;
      }
      Thread.sleep(1000);
    }
  }

  private Path pluginKubeconfig(Path launcher, String grantId) throws Exception {
    return kubeconfig("plugin-" + grantId, "    exec:\n"
        + "      apiVersion: client.authentication.k8s.io/v1\n"
        + "      command: " + launcher + "\n"
        + "      args: [credential, --grant, " + grantId + ", --oidc, --home, " + dir.resolve("alice") + "]\n"
        + "      interactiveMode: Never\n");
  }

  private Path kubeconfig(String name, String user) throws Exception {
    String ca = Base64.getEncoder().encodeToString(cp.apiServerCaBundlePem().getBytes(StandardCharsets.UTF_8));
    Path file = dir.resolve(name + ".kubeconfig");
    Files.writeString(file, "apiVersion: v1\nkind: Config\n"
        + "clusters:\n- name: oidc\n  cluster:\n    server: " + cp.serverUrl() + "\n    certificate-authority-data: " + ca
        + "\nusers:\n- name: alice\n  user:\n" + user
        + "contexts:\n- name: jit\n  context: {cluster: oidc, user: alice, namespace: " + NS + "}\n"
        + "current-context: jit\n");
    return file;
  }

  private static List<String> groups(String idToken) throws Exception {
    JsonNode claims = BrokerClient.JSON.readTree(Base64.getUrlDecoder().decode(idToken.split("\\.")[1]));
    return java.util.stream.StreamSupport.stream(claims.path(Keycloak.GROUPS_CLAIM).spliterator(), false)
        .map(JsonNode::asText).toList();
  }
}
