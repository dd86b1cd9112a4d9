package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.credentials.ssh.SshCertificateAuthority;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kubejit serve} starts the SSH gateway of its {@code gateway:} section beside the API: the
 * real OpenSSH client sees the host certificate signed by the server's SSH CA (accepted through one
 * {@code @cert-authority} line, refused under another CA) and is refused with a plain key, which the
 * service's {@code /metrics} counts under the gateway's rule. Commands
 * in pods are covered by jit-gateway's kube tests; this is the wiring.
 */
class ServerGatewayTest {
  @TempDir Path dir;

  private static final String ALIAS = "kubejit-gateway";

  @Test
  void serveStartsTheGatewayWithItsHostCertificateAndTheServersUserCa() throws Exception {
    TestBroker.prepare(dir);
    Path gw = Files.createDirectories(dir.resolve("gw"));
    run(dir, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "host", "-f", gw.resolve("host").toString());
    run(dir, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice", "-f", gw.resolve("alice").toString());
    SshCertificateAuthority ca = SshCertificateAuthority.load(dir.resolve("ca/ssh/ssh_ca"), Clock.systemUTC());
    Files.writeString(gw.resolve("host-cert.pub"), ca.signHostCertificate(
        Files.readString(gw.resolve("host.pub")).strip(), List.of(ALIAS), Duration.ofDays(1)) + "\n");
    String caData = Base64.getEncoder().encodeToString(Files.readAllBytes(dir.resolve("tls/ca.crt")));
    Files.writeString(dir.resolve("prod.kubeconfig"), "apiVersion: v1\nkind: Config\nclusters:\n- name: prod\n  cluster:\n"
        + "    server: https://127.0.0.1:1\n    certificate-authority-data: " + caData + "\ncontexts:\n- name: prod\n"
        + "  context:\n    cluster: prod\n    user: broker\ncurrent-context: prod\nusers:\n- name: broker\n  user: {}\n");
    int port = TestBroker.freePort();
    String gateway = "gateway:\n  address: 127.0.0.1:" + port + "\n  cluster: prod\n  hostKeyFile: gw/host\n"
        + "  hostCertificateFile: gw/host-cert.pub\n  recordings: recordings\n  checkInterval: PT0.5S\n";
    try (TestBroker broker = TestBroker.prepared(dir, TestBroker.freePort(),
        "clusters:\n  prod:\n    kubeconfig: prod.kubeconfig\n", gateway)) {
      Path trusted = gw.resolve("known_hosts");
      Files.writeString(trusted, "@cert-authority " + ALIAS + " " + ca.publicKeyLine() + "\n");
      String[] plainKey = ssh(port, trusted, gw.resolve("alice"));
      assertEquals("255", plainKey[0], plainKey[2]);
      assertTrue(plainKey[2].contains("Permission denied"), "a plain key is refused after the host is trusted: " + plainKey[2]);
      assertFalse(plainKey[2].contains("Host key verification failed"), plainKey[2]);

      SshCertificateAuthority other = SshCertificateAuthority.generate(dev.kubejit.credentials.KeyType.ED25519,
          Clock.systemUTC());
      Path untrusted = gw.resolve("known_hosts_other");
      Files.writeString(untrusted, "@cert-authority " + ALIAS + " " + other.publicKeyLine() + "\n");
      String[] spoofCheck = ssh(port, untrusted, gw.resolve("alice"));
      assertEquals("255", spoofCheck[0], spoofCheck[2]);
      assertTrue(spoofCheck[2].contains("Host key verification failed"),
          "under another CA the gateway's host certificate is not trusted: " + spoofCheck[2]);

      // The gateway's counters are on the service's /metrics: the plain key was refused by its rule.
      java.net.http.HttpResponse<String> metrics = broker.client.send(java.net.http.HttpRequest.newBuilder(
          broker.base.resolve("/metrics")).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
      assertEquals(200, metrics.statusCode());
      String m = metrics.body();
      assertTrue(m.contains("kubejit_gateway_connections_total{outcome=\"refused\",rule=\"gateway:certificate-required\"} 1"),
          m);
      assertTrue(m.contains("kubejit_gateway_connections_total{outcome=\"accepted\",rule=\"none\"} 0"), m);
      assertTrue(m.contains("kubejit_gateway_sessions_live 0"), m);
      assertTrue(m.contains("kubejit_requests") || m.contains("kubejit_audit_write_seconds"), "the broker's own metrics too");
      java.net.http.HttpResponse<String> ready = broker.client.send(java.net.http.HttpRequest.newBuilder(
          broker.base.resolve("/readyz")).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
      assertEquals(200, ready.statusCode(), ready.body());
      assertTrue(ready.body().contains("\"gateway\":\"ok\""), ready.body());
    }
  }

  @Test
  void aGatewayForAClusterThatIsNotConfiguredIsRefused() {
    String yaml = "apiVersion: kubejit.dev/v1\nkind: ServerConfig\npolicy: policy.json\naudit:\n  directory: audit\n"
        + "  signingKeyFile: keys/audit-signing.key\ncertificateAuthorities:\n  x509: ca/x509\n  ssh: ca/ssh\n"
        + "listen:\n  address: 127.0.0.1:8443\nauthentication:\n  devHeader: {}\n"
        + "gateway:\n  address: 0.0.0.0:2222\n  cluster: prod\n  hostKeyFile: k\n  hostCertificateFile: c\n  recordings: r\n";
    ConfigException e = assertThrows(ConfigException.class,
        () -> ServerConfig.parse(yaml.getBytes(StandardCharsets.UTF_8), "kubejit.yaml", dir));
    assertTrue(e.getMessage().contains("gateway.cluster") && e.getMessage().contains("must be one of clusters"), e.getMessage());
    ConfigException missing = assertThrows(ConfigException.class, () -> ServerConfig.parse(
        yaml.replace("  recordings: r\n", "").getBytes(StandardCharsets.UTF_8), "kubejit.yaml", dir));
    assertTrue(missing.getMessage().contains("recordings"), missing.getMessage());
    ConfigException interval = assertThrows(ConfigException.class, () -> ServerConfig.parse(
        yaml.replace("  recordings: r\n", "  recordings: r\n  checkInterval: PT2M\n").getBytes(StandardCharsets.UTF_8),
        "kubejit.yaml", dir));
    assertTrue(interval.getMessage().contains("checkInterval"), interval.getMessage());
    ConfigException sameAddress = assertThrows(ConfigException.class, () -> ServerConfig.parse(
        yaml.replace("  recordings: r\n", "  recordings: r\n  healthAddress: 0.0.0.0:2222\n").getBytes(StandardCharsets.UTF_8),
        "kubejit.yaml", dir));
    assertTrue(sameAddress.getMessage().contains("healthAddress must differ"), sameAddress.getMessage());
    ConfigException badHealth = assertThrows(ConfigException.class, () -> ServerConfig.parse(
        yaml.replace("  recordings: r\n", "  recordings: r\n  healthAddress: 9090\n").getBytes(StandardCharsets.UTF_8),
        "kubejit.yaml", dir));
    assertTrue(badHealth.getMessage().contains("healthAddress") || badHealth.getMessage().contains("host:port"),
        badHealth.getMessage());
    String ok = yaml.replace("gateway:\n", "clusters:\n  prod:\n    kubeconfig: prod.kubeconfig\ngateway:\n");
    ServerConfig.Gateway defaults = ServerConfig.parse(ok.getBytes(StandardCharsets.UTF_8), "kubejit.yaml", dir).gateway()
        .orElseThrow();
    assertEquals("127.0.0.1", defaults.healthHost(), "health and metrics stay on loopback unless configured");
    assertEquals(9090, defaults.healthPort());
    ServerConfig.Gateway set = ServerConfig.parse(ok.replace("  recordings: r\n", "  recordings: r\n  healthAddress: 0.0.0.0:9191\n")
        .getBytes(StandardCharsets.UTF_8), "kubejit.yaml", dir).gateway().orElseThrow();
    assertEquals("0.0.0.0", set.healthHost());
    assertEquals(9191, set.healthPort());
  }

  /** Runs {@code help} through the gateway with {@code key} (no certificate); returns exit, stdout, stderr. */
  private String[] ssh(int port, Path knownHosts, Path key) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("ssh", "-F", "/dev/null", "-p", Integer.toString(port), "-i", key.toString(),
        "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "HostKeyAlias=" + ALIAS,
        "-o", "UserKnownHostsFile=" + knownHosts, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "ConnectTimeout=20",
        "alice@127.0.0.1", "help"));
    Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("ssh did not finish in 60 s");
    }
    return new String[] {Integer.toString(p.exitValue()), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
        new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8)};
  }

  private static void run(Path dir, String... command) throws Exception {
    Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new AssertionError(String.join(" ", command) + " failed: " + out);
    }
  }
}
