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
import dev.kubejit.server.KubeJitServer;
import dev.kubejit.testing.KubeControlPlane;
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
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The engineer's key in a hardware token, with SoftHSM2 as the token: a key generated inside it
 * (sensitive, not extractable), {@code kubejit activate --key pkcs11:...} sending a CSR signed by it,
 * the broker issuing the grant's certificate, and the preinstalled kubectl listing pods through
 * {@code kubejit proxy}, which does mutual TLS with the key that never left the token.
 */
@KubeTest
class Pkcs11ProxyKubeTest {
  static final Path MODULE = Path.of("/usr/lib/softhsm/libsofthsm2.so");

  @TempDir Path dir;

  @Test
  void kubectlThroughTheProxyWithTheKeyInSoftHsm(KubeControlPlane cp) throws Exception {
    assertTrue(Files.isRegularFile(MODULE), "SoftHSM2 is missing: run scripts/test-deps.sh (package softhsm2)");
    // a token of this test's own (SOFTHSM2_CONF), with a PIN in a 0600 file
    Path tokens = Files.createDirectories(dir.resolve("softhsm/tokens"));
    Path conf = dir.resolve("softhsm/softhsm2.conf");
    Files.writeString(conf, "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\n");
    Path pinFile = dir.resolve("pin");
    Files.writeString(pinFile, "4711-" + UUID.randomUUID() + "\n");
    Files.setPosixFilePermissions(pinFile, PosixFilePermissions.fromString("rw-------"));
    String pin = Files.readString(pinFile).strip();
    run(conf, List.of("softhsm2-util", "--init-token", "--free", "--label", "kubejit-test", "--pin", pin, "--so-pin",
        "so-" + pin));
    String[] keygen = run(conf, List.of(java(), "-cp", System.getProperty("java.class.path"),
        SoftHsmKeyGen.class.getName(), MODULE.toString(), pinFile.toString(), "alice-key")).split("\n");
    assertTrue(keygen[0].contains("token object, sensitive, unextractable") && keygen[0].contains("encoded=none"),
        "the key lives in the token and cannot be read out: " + keygen[0]);
    byte[] tokenPublicKey = Base64.getDecoder().decode(keygen[1].strip());
    String uri = "pkcs11:object=alice-key;token=kubejit-test;type=private?module-path=" + MODULE
        + "&pin-source=file:" + pinFile;

    String ns = "payments-hsm-" + UUID.randomUUID().toString().substring(0, 8).toLowerCase(Locale.ROOT);
    new CoreV1Api(cp.adminClient()).createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name(ns))).execute();
    Path setup = dir.resolve("broker");
    Path alice = dir.resolve("alice");
    Path carol = dir.resolve("carol");
    Path launcher = ClientAgainstServerTest.launcher(dir);
    try (KubeJitServer server = ClientAgainstServerTest.serve(setup, yaml -> {
      CertificateAuthority.fromPem(cp.caCertificatePem(), cp.caPrivateKeyPem()).writeTo(setup.resolve("ca/cluster"));
      return yaml.replace("x509: ca/x509", "x509: ca/cluster")
          .replace("clusters: {}", "clusters:\n  test:\n    kubeconfig: " + cp.adminKubeconfig().toAbsolutePath());
    })) {
      ClientAgainstServerTest.login(server, setup, alice, "alice;oncall-payments");
      ClientAgainstServerTest.login(server, setup, carol, "carol;sre-leads");
      String id = json(as(alice, "request", "--role", "oncall-debug", "--action", "exec", "-n", ns, "--duration", "30m",
          "--ticket", "INC-18", "--reason", "hardware key", "-o", "json")).path("id").asText();
      ok(as(carol, "approve", id, "--comment", "ok"));

      String act = run(conf, List.of(launcher.toString(), "activate", id, "--key", uri, "--home", alice.toString()));
      String grant = act.substring("grant ".length(), act.indexOf(' ', "grant ".length()));
      assertTrue(act.contains("PKCS#11 token"), act);
      assertFalse(Files.exists(alice.resolve("keys/x509.key")), "no software key was made");
      assertArrayEquals(tokenPublicKey, new GrantCredentials(ClientHome.resolve(alice), Clock.systemUTC())
          .cachedCertificate(grant).getPublicKey().getEncoded(), "the grant's certificate is for the token's key");

      Path ca = dir.resolve("apiserver-ca.crt");
      Files.writeString(ca, cp.apiServerCaBundlePem());
      ProcessBuilder pb = new ProcessBuilder(launcher.toString(), "proxy", "--grant", grant, "--key", uri, "--server",
          cp.serverUrl(), "--certificate-authority", ca.toString(), "--home", alice.toString())
          .redirectError(dir.resolve("proxy.err").toFile());
      pb.environment().put("SOFTHSM2_CONF", conf.toString());
      Process proxy = pb.start();
      try {
        String first = new BufferedReader(new InputStreamReader(proxy.getInputStream(), StandardCharsets.UTF_8)).readLine();
        assertTrue(first != null && first.startsWith("kubejit proxy: http://127.0.0.1:"),
            first + " / " + Files.readString(dir.resolve("proxy.err")));
        String local = first.substring("kubejit proxy: ".length(), first.indexOf(' ', "kubejit proxy: ".length()));
        Path kubeconfig = dir.resolve("proxy.kubeconfig");
        Files.writeString(kubeconfig, "apiVersion: v1\nkind: Config\nclusters:\n- name: proxy\n  cluster:\n    server: "
            + local + "\nusers:\n- name: token\n  user: {}\ncontexts:\n- name: jit\n  context: {cluster: proxy, user: token, "
            + "namespace: " + ns + "}\ncurrent-context: jit\n");
        assertFalse(Files.readString(kubeconfig).contains("PRIVATE KEY"));
        Kubectl.Result pods = Kubectl.run(kubeconfig, null, "get", "pods");
        assertEquals(0, pods.exit(), pods + " / " + Files.readString(dir.resolve("proxy.err")));
        assertTrue(pods.output().contains("No resources found in " + ns + " namespace"), pods.output());
        Kubectl.Result secrets = Kubectl.run(kubeconfig, null, "get", "secrets");
        assertNotEquals(0, secrets.exit());
        assertTrue(secrets.err().contains("Forbidden") && secrets.err().contains("User \"alice\""), secrets.err());

        ok(as(alice, "revoke", id, "--reason", "done"));
        Kubectl.Result after = Kubectl.run(kubeconfig, null, "get", "pods");
        assertNotEquals(0, after.exit(), "RBAC is gone: the certificate still authenticates, and authorises nothing");
        assertTrue(after.err().contains("Forbidden"), after.err());
      } finally {
        proxy.destroy();
        proxy.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  private static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /** Runs a command with the test's SoftHSM configuration; returns its standard output, fails on a non-zero exit. */
  private String run(Path conf, List<String> command) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(command)).redirectError(ProcessBuilder.Redirect.PIPE);
    pb.environment().put("SOFTHSM2_CONF", conf.toString());
    Process p = pb.start();
    var err = p.getErrorStream().readAllBytes();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), command.get(0) + " " + command.get(1) + " failed: " + out
        + new String(err, StandardCharsets.UTF_8));
    return out;
  }
}
