package dev.kubejit.cli;

import static dev.kubejit.cli.ClientAgainstServerTest.as;
import static dev.kubejit.cli.ClientAgainstServerTest.json;
import static dev.kubejit.cli.ClientAgainstServerTest.ok;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.credentials.ssh.SshCertificateAuthority;
import dev.kubejit.server.KubeJitServer;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeNode;
import dev.kubejit.testing.KubeTest;
import dev.kubejit.testing.Kubectl;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The engineer's key in a hardware token, with SoftHSM2 as the token, through {@code kubejit serve}
 * with its SSH gateway, a real control plane and a pod on the real node: a key generated inside the
 * token (sensitive, not extractable); {@code kubejit activate --key pkcs11:... --ssh} sending a CSR
 * signed by it and its public key; the broker issuing the grant's X.509 and SSH certificates; the
 * preinstalled kubectl listing pods through {@code kubejit proxy}, which finds the API server and
 * its CA through the broker ({@code /api/v1/clusters}) and does mutual TLS with the key that never
 * left the token; and the real {@code ssh}, configured by {@code kubejit ssh config}, running an
 * allowed command in the pod through the gateway with {@code PKCS11Provider}.
 */
@KubeTest
class Pkcs11ProxyKubeTest {
  static final String LOG_LINE = "2026-12-02T05:00:00Z ERROR kubejit-hsm-marker payment failed";

  @TempDir Path dir;

  @Test
  void kubectlThroughTheProxyAndSshThroughTheGatewayWithTheKeyInSoftHsm(KubeControlPlane cp, KubeNode node)
      throws Exception {
    SoftHsmToken token = SoftHsmToken.create(dir, "kubejit-test", "alice-key");
    assertTrue(token.keyDescription.contains("token object, sensitive, unextractable")
        && token.keyDescription.contains("encoded=none"), "the key lives in the token and cannot be read out: "
        + token.keyDescription);
    String uri = token.uri();
    Map<String, String> askpass = token.askpassEnv(dir);

    String ns = "payments-hsm-" + UUID.randomUUID().toString().substring(0, 8).toLowerCase(Locale.ROOT);
    new CoreV1Api(cp.adminClient()).createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name(ns))).execute();
    node.runPod(ns, "web", Map.of("/var/log/app.log", LOG_LINE + "\n"));
    Path setup = dir.resolve("broker");
    Path alice = dir.resolve("alice");
    Path carol = dir.resolve("carol");
    Path launcher = ClientAgainstServerTest.launcher(dir);
    int sshPort = ClientAgainstServerTest.freePort();
    try (KubeJitServer server = ClientAgainstServerTest.serve(setup, yaml -> {
      CertificateAuthority.fromPem(cp.caCertificatePem(), cp.caPrivateKeyPem()).writeTo(setup.resolve("ca/cluster"));
      Path gw = setup.resolve("gw");
      try {
        Files.createDirectories(gw);
        CredentialCommandTest.exec(gw, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "host");
        Files.writeString(gw.resolve("host-cert.pub"), SshCertificateAuthority.load(setup.resolve("ca/ssh/ssh_ca"),
            Clock.systemUTC()).signHostCertificate(Files.readString(gw.resolve("host.pub")).strip(), List.of("127.0.0.1"),
            Duration.ofDays(1)) + "\n");
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      return yaml.replace("x509: ca/x509", "x509: ca/cluster")
          .replace("clusters: {}", "clusters:\n  test:\n    kubeconfig: " + cp.adminKubeconfig().toAbsolutePath())
          + "gateway:\n  address: 127.0.0.1:" + sshPort + "\n  cluster: test\n  hostKeyFile: gw/host\n"
          + "  hostCertificateFile: gw/host-cert.pub\n  recordings: recordings\n  checkInterval: PT0.5S\n";
    })) {
      ClientAgainstServerTest.login(server, setup, alice, "alice;oncall-payments");
      ClientAgainstServerTest.login(server, setup, carol, "carol;sre-leads");
      String id = json(as(alice, "request", "--role", "oncall-debug", "--action", "exec", "-n", ns, "--duration", "30m",
          "--ticket", "INC-18", "--reason", "hardware key", "-o", "json")).path("id").asText();
      ok(as(carol, "approve", id, "--comment", "ok"));

      String act = token.run(List.of(launcher.toString(), "activate", id, "--key", uri, "--ssh", "--home", alice.toString()),
          Map.of());
      String grant = act.substring("grant ".length(), act.indexOf(' ', "grant ".length()));
      assertTrue(act.contains("PKCS#11 token"), act);
      assertTrue(act.contains("next: kubejit proxy --grant " + grant + " --key '" + uri + "'\n"), act);
      assertTrue(act.contains("SSH certificate for the key in your PKCS#11 token kept in "), act);
      assertFalse(Files.exists(alice.resolve("keys/x509.key")), "no software key was made");
      assertFalse(Files.exists(alice.resolve("keys/ssh_ed25519")), "no software SSH key was made");
      assertArrayEquals(token.publicKey, new GrantCredentials(ClientHome.resolve(alice), Clock.systemUTC())
          .cachedCertificate(grant).getPublicKey().getEncoded(), "the grant's certificate is for the token's key");

      // kubectl through the proxy: no --server, no --certificate-authority; the broker names the cluster
      ProcessBuilder pb = new ProcessBuilder(launcher.toString(), "proxy", "--grant", grant, "--key", uri,
          "--home", alice.toString()).redirectError(dir.resolve("proxy.err").toFile());
      pb.environment().put("SOFTHSM2_CONF", token.conf.toString());
      Process proxy = pb.start();
      try {
        String first = new BufferedReader(new InputStreamReader(proxy.getInputStream(), StandardCharsets.UTF_8)).readLine();
        assertTrue(first != null && first.startsWith("kubejit proxy: http://127.0.0.1:"),
            first + " / " + Files.readString(dir.resolve("proxy.err")));
        assertTrue(first.contains(" -> " + cp.serverUrl()), "upstream is the broker's cluster: " + first);
        String local = first.substring("kubejit proxy: ".length(), first.indexOf(' ', "kubejit proxy: ".length()));
        Path kubeconfig = dir.resolve("proxy.kubeconfig");
        Files.writeString(kubeconfig, "apiVersion: v1\nkind: Config\nclusters:\n- name: proxy\n  cluster:\n    server: "
            + local + "\nusers:\n- name: token\n  user: {}\ncontexts:\n- name: jit\n  context: {cluster: proxy, user: token, "
            + "namespace: " + ns + "}\ncurrent-context: jit\n");
        assertFalse(Files.readString(kubeconfig).contains("PRIVATE KEY"));
        Kubectl.Result pods = Kubectl.run(kubeconfig, null, "get", "pods");
        assertEquals(0, pods.exit(), pods + " / " + Files.readString(dir.resolve("proxy.err")));
        assertTrue(pods.output().contains("web"), pods.output());
        Kubectl.Result secrets = Kubectl.run(kubeconfig, null, "get", "secrets");
        assertNotEquals(0, secrets.exit());
        assertTrue(secrets.err().contains("Forbidden") && secrets.err().contains("User \"alice\""), secrets.err());

        // ssh through the gateway with the key in the token, configured by kubejit ssh config
        Path knownHosts = dir.resolve("known_hosts.kubejit");
        ClientAgainstServerTest.Run cfg = ok(as(alice, "ssh", "config", "--grant", grant, "--gateway",
            "127.0.0.1:" + sshPort, "--ca-public-key", setup.resolve("ca/ssh/ssh_ca.pub").toString(),
            "--known-hosts", knownHosts.toString()));
        String[] parts = cfg.out().split("\n\n", 2);
        assertTrue(parts[0].contains("\n  PKCS11Provider " + SoftHsmToken.MODULE + "\n"), cfg.out());
        assertTrue(parts[0].contains("\n  CertificateFile " + alice.resolve("keys/pkcs11-" + grant + "-cert.pub") + "\n"),
            cfg.out());
        Files.writeString(dir.resolve("ssh_config"), parts[0] + "\n");
        Files.writeString(knownHosts, parts[1].lines().filter(l -> l.startsWith("@cert-authority ")).findFirst()
            .orElseThrow() + "\n");
        String[] cat = token.exec(List.of("ssh", "-F", dir.resolve("ssh_config").toString(), "-o", "IdentityAgent=none",
            "-o", "GlobalKnownHostsFile=/dev/null", "kubejit-" + grant, "exec web -- cat /var/log/app.log"), askpass);
        assertEquals("0", cat[0], cat[1] + cat[2]);
        assertTrue(cat[1].contains(LOG_LINE), cat[1] + cat[2]);
        String[] refused = token.exec(List.of("ssh", "-F", dir.resolve("ssh_config").toString(), "-o", "IdentityAgent=none",
            "-o", "GlobalKnownHostsFile=/dev/null", "kubejit-" + grant, "exec web -- cat /etc/shadow"), askpass);
        assertNotEquals("0", refused[0], "the policy allows cat under /var/log only: " + refused[1] + refused[2]);

        ok(as(alice, "revoke", id, "--reason", "done"));
        Kubectl.Result after = Kubectl.run(kubeconfig, null, "get", "pods");
        assertNotEquals(0, after.exit(), "RBAC is gone: the certificate still authenticates, and authorises nothing");
        assertTrue(after.err().contains("Forbidden"), after.err());
        String[] ended = token.exec(List.of("ssh", "-F", dir.resolve("ssh_config").toString(), "-o", "IdentityAgent=none",
            "-o", "GlobalKnownHostsFile=/dev/null", "kubejit-" + grant, "exec web -- cat /var/log/app.log"), askpass);
        assertNotEquals("0", ended[0], "the gateway refuses a revoked grant's certificate: " + ended[1] + ended[2]);
      } finally {
        proxy.destroy();
        proxy.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }
}
