package dev.kubejit.cli;

import static dev.kubejit.cli.ClientAgainstServerTest.as;
import static dev.kubejit.cli.ClientAgainstServerTest.cli;
import static dev.kubejit.cli.ClientAgainstServerTest.json;
import static dev.kubejit.cli.ClientAgainstServerTest.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.server.KubeJitServer;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeNode;
import dev.kubejit.testing.KubeTest;
import dev.kubejit.testing.Kubectl;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole path an engineer takes, with nothing made by the test that the product would make:
 * {@code kubejit serve} has the shared control plane as its cluster (it applies the grant's RBAC
 * and signs client certificates with the cluster's CA) and mounts the exec admission webhook,
 * which {@code kubejit admission manifest} registers with the API server; the engineer gets a
 * kubeconfig from {@code kubejit kubeconfig} (the exec plugin presents the broker-issued
 * certificate) and runs the preinstalled kubectl against a pod on the real node.
 *
 * <p>RBAC from the {@code oncall-debug} template allows exec and port-forward alike; the webhook
 * lets through only the commands of the role's rules, and port-forward only for a grant for that
 * action. After the revoke the webhook refuses at once, before the binding is gone.
 */
@KubeTest
class AdmissionWithBrokerCertificateKubeTest {
  private static final String LOG_LINE = "2026-12-03T06:00:00Z ERROR kubejit-e2e-admission-marker payment failed";
  private static final String SHADOW = "root:E2E-ADMISSION-SHADOW:19000:0:99999:7:::";
  private static final String SELECTOR = "kubejit.dev/exec-admission";

  @TempDir Path dir;

  private static Kubectl.Result exec(Path kubeconfig, String... argv) throws Exception {
    List<String> args = new ArrayList<>(List.of("exec", "web", "--"));
    args.addAll(List.of(argv));
    return Kubectl.run(kubeconfig, null, args.toArray(String[]::new));
  }

  private static void assertRefused(Kubectl.Result r, String rule) {
    assertNotEquals(0, r.exit(), r::toString);
    assertTrue(r.err().contains("admission webhook \"exec.kubejit.dev\" denied the request")
        && r.err().contains("refused by rule " + rule), r::toString);
  }

  @Test
  void plainKubectlWithTheBrokersCertificateIsDecidedByTheServersExecWebhook(KubeControlPlane cp, KubeNode node)
      throws Exception {
    String ns = "payments-e2e-" + UUID.randomUUID().toString().substring(0, 8).toLowerCase(Locale.ROOT);
    node.runPod(ns, "web", Map.of("/var/log/app.log", LOG_LINE + "\n", "/etc/shadow", SHADOW + "\n"));
    Path admin = cp.adminKubeconfig();
    // only this test's namespace is enforced, so other tests sharing the control plane are untouched
    Kubectl.run(admin, null, "label", "namespace", ns, SELECTOR + "=" + ns, "--overwrite").ok();
    Path setup = dir.resolve("broker");
    Path alice = dir.resolve("alice");
    Path carol = dir.resolve("carol");
    Path dave = dir.resolve("dave");
    Path launcher = ClientAgainstServerTest.launcher(dir);
    String configuration = "kubejit-exec-" + ns;

    try (KubeJitServer server = ClientAgainstServerTest.serve(setup, yaml -> {
      CertificateAuthority.fromPem(cp.caCertificatePem(), cp.caPrivateKeyPem()).writeTo(setup.resolve("ca/cluster"));
      return yaml.replace("x509: ca/x509", "x509: ca/cluster")
          .replace("clusters: {}", "clusters:\n  test:\n    kubeconfig: " + admin.toAbsolutePath())
          + "admission:\n  cluster: test\n  grantRefresh: PT2S\n  authorize: false\n";
    })) {
      String manifest = ok(cli("admission", "manifest", "--ca-file", setup.resolve("tls/ca.crt").toString(),
          "--url", server.uri().resolve("/admission/exec").toString(), "--namespace-selector", SELECTOR + "=" + ns,
          "--name", configuration)).out();
      Kubectl.run(admin, manifest, "apply", "-f", "-").ok();
      try {
        ClientAgainstServerTest.login(server, setup, alice, "alice;oncall-payments");
        ClientAgainstServerTest.login(server, setup, carol, "carol;sre-leads");
        ClientAgainstServerTest.login(server, setup, dave, "dave;sre-leads");

        String id = json(as(alice, "request", "--role", "oncall-debug", "--action", "exec", "-n", ns, "--duration",
            "30m", "--ticket", "INC-17", "--reason", "payments failing on web", "-o", "json")).path("id").asText();
        ok(as(carol, "approve", id, "--comment", "ok"));
        String grant = grantIn(ok(as(alice, "activate", id)).out());
        Path kubeconfig = kubeconfigFor(alice, launcher, grant, "exec.kubeconfig");

        // the API server consults the webhook once its informer has the configuration
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
          Kubectl.Result probe = exec(kubeconfig, "ls", "/etc");
          if (probe.err().contains("denied the request")) {
            break;
          }
          assertFalse(System.nanoTime() > deadline, "the exec webhook was not consulted within 60 s: " + probe);
          Thread.sleep(200);
        }
        Kubectl.Result shadow = exec(kubeconfig, "cat", "/etc/shadow");
        assertFalse(shadow.out().contains("E2E-ADMISSION-SHADOW"), shadow::toString);
        assertRefused(shadow, "read-logs");
        Kubectl.Result allowed = exec(kubeconfig, "cat", "/var/log/app.log");
        assertEquals(0, allowed.exit(), allowed::toString);
        assertEquals(LOG_LINE + "\n", allowed.out());
        assertRefused(exec(kubeconfig, "sh", "-c", "id"), "default-deny");
        assertRefused(exec(kubeconfig, "cat", "/var/log/app.log", "/etc/shadow"), "read-logs");

        // RBAC allows port-forward under this exec grant; the webhook does not
        Kubectl.Result pfRbac = Kubectl.run(kubeconfig, null, "auth", "can-i", "create", "pods",
            "--subresource=portforward");
        assertEquals("yes", pfRbac.out().strip(), pfRbac::toString);
        IllegalStateException refusedForward = assertThrows(IllegalStateException.class,
            () -> Kubectl.portForward(kubeconfig, dir, ns, "pod/web", 8080).close());
        assertTrue(refusedForward.getMessage().contains("refused by rule oncall-debug/actions"),
            refusedForward::getMessage);

        // a port-forward grant (two approvers) forwards to the pod's HTTP server
        String fwdId = json(as(alice, "request", "--role", "oncall-debug", "--action", "portforward", "-n", ns,
            "--duration", "30m", "--ticket", "INC-17", "--reason", "health page", "-o", "json")).path("id").asText();
        ok(as(carol, "approve", fwdId, "--comment", "ok"));
        ok(as(dave, "approve", fwdId, "--comment", "ok"));
        Path forwarding = kubeconfigFor(alice, launcher, grantIn(ok(as(alice, "activate", fwdId)).out()),
            "fwd.kubeconfig");
        try (Kubectl.PortForward pf = Kubectl.portForward(forwarding, dir, ns, "pod/web", 8080)) {
          HttpResponse<String> page = HttpClient.newBuilder().proxy(HttpClient.Builder.NO_PROXY).build().send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + pf.localPort() + "/"))
                  .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
          assertEquals(200, page.statusCode());
          assertEquals("kubejit test pod " + ns + "/web\n", page.body());
        }
        assertRefused(exec(forwarding, "cat", "/var/log/app.log"), "oncall-debug/actions");

        // the certificate the broker issued, outside the plugin: it stays valid after the revoke,
        // so only the cluster's own checks (webhook, RBAC) can refuse it
        GrantCredentials creds = new GrantCredentials(ClientHome.resolve(alice), Clock.systemUTC());
        X509Certificate cert = creds.cachedCertificate(grant);
        assertTrue(cert.getSubjectX500Principal().getName().contains("CN=alice"), cert::toString);
        Path crt = dir.resolve("alice-grant.crt");
        Files.writeString(crt, "-----BEGIN CERTIFICATE-----\n"
            + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(cert.getEncoded()) + "\n-----END CERTIFICATE-----\n");
        Path direct = dir.resolve("direct.kubeconfig");
        Files.writeString(direct, "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: "
            + cp.serverUrl() + "\n    certificate-authority-data: " + Base64.getEncoder().encodeToString(
                cp.apiServerCaBundlePem().getBytes(StandardCharsets.US_ASCII))
            + "\nusers:\n- name: alice\n  user:\n    client-certificate: " + crt + "\n    client-key: " + creds.keyFile()
            + "\ncontexts:\n- name: jit\n  context: {cluster: test, user: alice, namespace: " + ns + "}\n"
            + "current-context: jit\n");
        Kubectl.Result before = exec(direct, "cat", "/var/log/app.log");
        assertEquals(LOG_LINE + "\n", before.out(), before::toString);

        // revoke: the next exec with that certificate is refused at once
        ok(as(alice, "revoke", id, "--reason", "found it"));
        long t0 = System.nanoTime();
        Kubectl.Result after = exec(direct, "cat", "/var/log/app.log");
        long millis = (System.nanoTime() - t0) / 1_000_000;
        assertNotEquals(0, after.exit(), after::toString);
        assertFalse(after.out().contains(LOG_LINE), after::toString);
        assertTrue(cert.getNotAfter().toInstant().isAfter(java.time.Instant.now()), "the certificate is still valid");
        assertTrue((after.err().contains("denied the request") && after.err().contains("broker:grant-state"))
            || after.err().contains("Forbidden"), after::toString);
        Kubectl.Result plugin = exec(kubeconfig, "cat", "/var/log/app.log");
        assertTrue(plugin.err().contains("grant " + grant + " was revoked by alice"), plugin::toString);
        System.out.println("kubejit serve + broker-issued certificate: revoke -> next exec refused in " + millis
            + " ms: " + after.err().strip());
      } finally {
        Kubectl.run(admin, null, "delete", "validatingwebhookconfiguration", configuration, "--ignore-not-found");
      }
    }
  }

  /** The grant id in what {@code kubejit activate} printed ({@code grant <id> ...}). */
  private static String grantIn(String activated) {
    assertTrue(activated.startsWith("grant "), activated);
    return activated.substring("grant ".length(), activated.indexOf(' ', "grant ".length()));
  }

  /** The exec-plugin kubeconfig of the grant that {@code activate} printed. */
  private Path kubeconfigFor(Path home, Path launcher, String grant, String name) {
    Path kubeconfig = dir.resolve(name);
    ok(as(home, "kubeconfig", "--grant", grant, "--output", kubeconfig.toString(), "--exec-command",
        launcher.toString()));
    return kubeconfig;
  }
}
