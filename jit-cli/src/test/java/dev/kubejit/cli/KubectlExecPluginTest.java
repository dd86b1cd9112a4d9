package dev.kubejit.cli;

import static dev.kubejit.cli.ClientAgainstServerTest.as;
import static dev.kubejit.cli.ClientAgainstServerTest.json;
import static dev.kubejit.cli.ClientAgainstServerTest.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.GrantId;
import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.server.KubeJitServer;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import dev.kubejit.testing.Kubectl;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Locale;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The exec-plugin flow with the real kubectl against the real control plane: {@code kubejit serve}
 * has the control plane as its cluster (RBAC applied there, client certificates signed by its CA);
 * the engineer uses only {@code kubejit} and {@code kubectl}, before approval, during the grant and
 * after the revoke.
 */
@KubeTest
class KubectlExecPluginTest {
  @TempDir Path dir;

  @Test
  void kubectlWithTheGrantsKubeconfigBeforeApprovalDuringTheGrantAndAfterRevoke(KubeControlPlane cp) throws Exception {
    String ns = "payments-" + UUID.randomUUID().toString().substring(0, 8).toLowerCase(Locale.ROOT);
    new CoreV1Api(cp.adminClient()).createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name(ns))).execute();
    Path setup = dir.resolve("broker");
    Path alice = dir.resolve("alice");
    Path carol = dir.resolve("carol");
    Path launcher = ClientAgainstServerTest.launcher(dir);

    try (KubeJitServer server = ClientAgainstServerTest.serve(setup, yaml -> {
      // the API server trusts client certificates of its own CA: the broker signs with it
      CertificateAuthority.fromPem(cp.caCertificatePem(), cp.caPrivateKeyPem()).writeTo(setup.resolve("ca/cluster"));
      return yaml.replace("x509: ca/x509", "x509: ca/cluster")
          .replace("clusters: {}", "clusters:\n  test:\n    kubeconfig: " + cp.adminKubeconfig().toAbsolutePath());
    })) {
      ClientAgainstServerTest.login(server, setup, alice, "alice;oncall-payments");
      ClientAgainstServerTest.login(server, setup, carol, "carol;sre-leads");

      String id = json(as(alice, "request", "--role", "oncall-debug", "--action", "exec", "-n", ns, "--duration", "30m",
          "--ticket", "INC-7", "--reason", "checkout pods crash-looping", "-o", "json")).path("id").asText();

      // before approval: nothing to activate, no kubeconfig, no credential
      assertEquals(BrokerClient.EXIT_CONFLICT, as(alice, "activate", id).exit());
      ClientAgainstServerTest.Run noKubeconfig = as(alice, "kubeconfig", "--grant", GrantId.random().value(),
          "--exec-command", launcher.toString());
      assertEquals(BrokerClient.EXIT_NOT_FOUND, noKubeconfig.exit(), noKubeconfig.toString());
      assertNotEquals(0, as(alice, "credential", "--grant", GrantId.random().value()).exit());

      ok(as(carol, "approve", id, "--comment", "ok"));
      String act = ok(as(alice, "activate", id)).out();
      String grant = act.substring("grant ".length(), act.indexOf(' ', "grant ".length()));
      Path kubeconfig = dir.resolve("jit.kubeconfig");
      ok(as(alice, "kubeconfig", "--grant", grant, "--output", kubeconfig.toString(), "--exec-command", launcher.toString()));
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(kubeconfig)));
      assertTrue(!Files.readString(kubeconfig).contains("PRIVATE KEY"), "the kubeconfig holds no key");

      // during the grant: pods in the grant's namespace (the context's), nothing else
      Kubectl.Result pods = Kubectl.run(kubeconfig, null, "get", "pods");
      assertEquals(0, pods.exit(), pods.toString());
      assertTrue(pods.output().contains("No resources found in " + ns + " namespace"), pods.output());
      Kubectl.Result secrets = Kubectl.run(kubeconfig, null, "get", "secrets");
      assertNotEquals(0, secrets.exit());
      assertTrue(secrets.err().contains("Forbidden") && secrets.err().contains("User \"alice\""), secrets.err());
      Kubectl.Result elsewhere = Kubectl.run(kubeconfig, null, "get", "pods", "-n", "default");
      assertNotEquals(0, elsewhere.exit());
      assertTrue(elsewhere.err().contains("Forbidden"), elsewhere.err());

      // after the revoke: the plugin fails, and kubectl shows who revoked the grant
      ok(as(alice, "revoke", id, "--reason", "found it"));
      Kubectl.Result after = Kubectl.run(kubeconfig, null, "get", "pods");
      assertNotEquals(0, after.exit());
      assertTrue(after.err().contains("grant " + grant + " was revoked by alice"), after.err());
      assertTrue(after.err().contains("ask again with kubejit request"), after.err());
    }
  }
}
