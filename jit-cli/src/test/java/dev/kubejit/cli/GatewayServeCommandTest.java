package dev.kubejit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kubejit.credentials.ssh.SshCertificateAuthority;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kubejit gateway serve} and {@code kubejit serve} as two separate JVMs on one shared store
 * (the SQLite file of {@code kubejit init}): a grant activated through the broker's API logs in at
 * the gateway with the real {@code ssh}; revoking it through the broker cuts the gateway's live
 * session and refuses the next login; the gateway's {@code /healthz}, {@code /readyz} and
 * {@code /metrics} say so. Before the broker has created its store, and without a {@code gateway:}
 * section, the gateway refuses to start. No Kubernetes is needed: {@code help} and line mode are
 * answered by the gateway itself.
 */
class GatewayServeCommandTest {
  private static final String ALIAS = "kubejit-gateway";
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  @Test
  void theGatewaySeesGrantsOfASeparateBrokerProcessAndCutsTheSessionWhenTheBrokerRevokes() throws Exception {
    Path dir = tmp.resolve("dev");
    StringWriter initOut = new StringWriter();
    assertEquals(0, Main.run(new String[] {"init", dir.toString()}, new PrintWriter(initOut, true),
        new PrintWriter(initOut, true)), initOut.toString());
    int apiPort = freePort();
    int sshPort = freePort();
    int healthPort = freePort();
    Path brokerConfig = dir.resolve("kubejit.yaml");
    String brokerYaml = Files.readString(brokerConfig).replace("127.0.0.1:8443", "127.0.0.1:" + apiPort);
    Files.writeString(brokerConfig, brokerYaml);

    Path gw = Files.createDirectories(dir.resolve("gw"));
    keygen(gw.resolve("host"));
    keygen(gw.resolve("alice"));
    SshCertificateAuthority ca = SshCertificateAuthority.load(dir.resolve("ca/ssh/ssh_ca"), Clock.systemUTC());
    Files.writeString(gw.resolve("host-cert.pub"), ca.signHostCertificate(
        Files.readString(gw.resolve("host.pub")).strip(), List.of(ALIAS), Duration.ofDays(1)) + "\n");
    Path knownHosts = gw.resolve("known_hosts");
    Files.writeString(knownHosts, "@cert-authority " + ALIAS + " " + ca.publicKeyLine() + "\n");
    // Nothing listens at this API server: login, help and line mode never reach Kubernetes.
    String caData = Base64.getEncoder().encodeToString(Files.readAllBytes(dir.resolve("tls/ca.crt")));
    Files.writeString(dir.resolve("prod.kubeconfig"), "apiVersion: v1\nkind: Config\nclusters:\n- name: prod\n  cluster:\n"
        + "    server: https://127.0.0.1:1\n    certificate-authority-data: " + caData + "\ncontexts:\n- name: prod\n"
        + "  context:\n    cluster: prod\n    user: gateway\ncurrent-context: prod\nusers:\n- name: gateway\n  user: {}\n");
    Path gatewayConfig = dir.resolve("gateway.yaml");
    Files.writeString(gatewayConfig, brokerYaml.replace("clusters: {}", "clusters:\n  prod:\n    kubeconfig: prod.kubeconfig")
        + "gateway:\n  address: 127.0.0.1:" + sshPort + "\n  healthAddress: 127.0.0.1:" + healthPort
        + "\n  cluster: prod\n  hostKeyFile: gw/host\n  hostCertificateFile: gw/host-cert.pub\n  recordings: recordings\n"
        + "  checkInterval: PT0.25S\n");

    // Refused before anything runs: no gateway section, and a store no broker has created yet.
    String[] noSection = cli("gateway", "serve", "--config", brokerConfig.toString());
    assertEquals("1", noSection[0], noSection[2]);
    assertTrue(noSection[2].contains("needs a gateway: section"), noSection[2]);
    assertTrue(!Files.exists(dir.resolve("kubejit.db")), "init does not create the store");
    String[] noStore = cli("gateway", "serve", "--config", gatewayConfig.toString());
    assertEquals("1", noStore[0], noStore[2]);
    assertTrue(noStore[2].contains("store.sqlite.file") && noStore[2].contains("does not exist"), noStore[2]);
    assertTrue(!Files.exists(dir.resolve("kubejit.db")), "the refused gateway created no store");

    Process broker = start("serve", brokerConfig);
    Process gateway = null;
    try {
      BlockingQueue<String> brokerOut = drain(broker.getInputStream());
      waitFor(broker, brokerOut, "listening on https://127.0.0.1:" + apiPort);
      gateway = start("gateway", gatewayConfig);
      BlockingQueue<String> gatewayOut = drain(gateway.getInputStream());
      waitFor(gateway, gatewayOut, "SSH on port " + sshPort);

      HttpClient plain = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
      URI health = URI.create("http://127.0.0.1:" + healthPort);
      assertEquals(200, get(plain, health.resolve("/healthz")).statusCode());
      HttpResponse<String> ready = get(plain, health.resolve("/readyz"));
      assertEquals(200, ready.statusCode(), ready.body());
      assertEquals("ok", JSON.readTree(ready.body()).path("checks").path("ssh").asText(), ready.body());
      assertEquals("ok", JSON.readTree(ready.body()).path("checks").path("store").asText(), ready.body());
      assertEquals(404, get(plain, health.resolve("/api/v1/whoami")).statusCode(), "only health paths are served");
      assertEquals(405, plain.send(HttpRequest.newBuilder(health.resolve("/metrics"))
          .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString()).statusCode());

      // The grant comes from the broker process, through its API.
      HttpClient api = trusting(dir.resolve("tls/ca.crt"));
      URI base = URI.create("https://127.0.0.1:" + apiPort);
      JsonNode submitted = post(api, base.resolve("/api/v1/requests"), "alice;oncall-payments",
          "{\"role\":\"oncall-debug\",\"action\":\"logs\",\"cluster\":\"prod\",\"namespace\":\"payments\","
              + "\"duration\":\"PT30M\",\"ticket\":\"INC-19\",\"reason\":\"gateway serve test\"}");
      String requestId = submitted.path("id").asText();
      assertEquals("APPROVED", submitted.path("state").asText(), submitted.toString());
      JsonNode activated = post(api, base.resolve("/api/v1/requests/" + requestId + "/activate"), "alice;oncall-payments",
          JSON.createObjectNode().put("sshPublicKey", Files.readString(gw.resolve("alice.pub")).strip()).toString());
      String certificate = activated.path("credentials").get(0).path("certificate").asText();
      Path cert = gw.resolve("alice-cert.pub");
      Files.writeString(cert, certificate + "\n");

      List<String> ssh = sshBase(sshPort, knownHosts, gw.resolve("alice"), cert);
      String[] help = run(ssh, "help");
      assertEquals("0", help[0], help[2]);
      assertTrue(help[1].contains("exec POD"), help[1]);

      // An idle line-mode session, then the broker process revokes: the gateway process cuts it.
      List<String> lineMode = new ArrayList<>(ssh);
      lineMode.addAll(List.of("-T", "127.0.0.1"));
      Process session = new ProcessBuilder(lineMode).start();
      StringBuilder sessionOut = new StringBuilder();
      StringBuilder sessionErr = new StringBuilder();
      pump(session.getInputStream(), sessionOut);
      pump(session.getErrorStream(), sessionErr);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!text(sessionOut).contains("kubejit> ")) {
        assertTrue(session.isAlive() && System.nanoTime() < deadline, () -> "no prompt: " + sessionOut + sessionErr);
        Thread.sleep(20);
      }
      long t0 = System.nanoTime();
      post(api, base.resolve("/api/v1/requests/" + requestId + "/revoke"), "alice;oncall-payments",
          "{\"reason\":\"done\"}");
      assertTrue(session.waitFor(30, TimeUnit.SECONDS), "the gateway kept the session after the broker revoked the grant");
      long ms = Duration.ofNanos(System.nanoTime() - t0).toMillis();
      Thread.sleep(200);
      assertEquals(77, session.exitValue(), () -> sessionOut + "\n" + sessionErr);
      assertTrue(text(sessionErr).contains("session closed") && text(sessionErr).contains("broker:grant-state"),
          () -> text(sessionErr));
      System.out.println("MEASURED revoke through kubejit serve -> idle session at kubejit gateway serve closed: " + ms
          + " ms (separate JVMs, shared SQLite store, check interval 250 ms)");

      String[] again = run(ssh, "help");
      assertEquals("255", again[0], again[2]);
      assertTrue(again[2].contains("Permission denied"), again[2]);

      HttpResponse<String> metrics = get(plain, health.resolve("/metrics"));
      assertEquals(200, metrics.statusCode());
      String m = metrics.body();
      assertEquals(2.0, metric(m, "kubejit_gateway_connections_total", "outcome=\"accepted\",rule=\"none\""), m);
      assertTrue(metric(m, "kubejit_gateway_connections_total", "outcome=\"refused\",rule=\"broker:grant-state\"") >= 1, m);
      assertEquals(1.0, metric(m, "kubejit_gateway_sessions_cut_total", "reason=\"revoked\""), m);
      assertEquals(0.0, metric(m, "kubejit_gateway_sessions_cut_total", "reason=\"expired\""), m);
      assertEquals(0.0, metric(m, "kubejit_gateway_sessions_live", null), m);
      assertEquals(0.0, metric(m, "kubejit_gateway_commands_total", "outcome=\"allowed\""), m);

      // The gateway's audit chain is its own file beside the broker's.
      assertTrue(Files.size(dir.resolve("audit/gateway-audit.jsonl")) > 0);
    } finally {
      if (gateway != null) {
        gateway.destroy();
        gateway.waitFor(30, TimeUnit.SECONDS);
        gateway.destroyForcibly();
      }
      broker.destroy();
      broker.waitFor(30, TimeUnit.SECONDS);
      broker.destroyForcibly();
    }
  }

  /** The value of one Prometheus sample, {@code labels} as they appear inside the braces (null: none). */
  static double metric(String text, String name, String labels) {
    Pattern p = Pattern.compile("^" + Pattern.quote(name) + (labels == null ? "" : "\\{" + Pattern.quote(labels) + ",?\\}")
        + " ([0-9.eE+-]+)$", Pattern.MULTILINE);
    Matcher m = p.matcher(text);
    if (!m.find()) {
      throw new AssertionError("no sample " + name + "{" + labels + "} in:\n" + text);
    }
    return Double.parseDouble(m.group(1));
  }

  private static String[] cli(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new String[] {Integer.toString(code), out.toString(), err.toString()};
  }

  private static Process start(String command, Path config) throws Exception {
    Path java = Paths.get(System.getProperty("java.home"), "bin", "java");
    List<String> cmd = new ArrayList<>(List.of(java.toString(), "-cp", System.getProperty("java.class.path"),
        "dev.kubejit.cli.Main"));
    if (command.equals("gateway")) {
      cmd.addAll(List.of("gateway", "serve"));
    } else {
      cmd.add("serve");
    }
    cmd.addAll(List.of("--config", config.toString()));
    return new ProcessBuilder(cmd).redirectErrorStream(true).start();
  }

  private static void waitFor(Process p, BlockingQueue<String> lines, String needle) throws InterruptedException {
    StringBuilder seen = new StringBuilder();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (seen.indexOf(needle) < 0) {
      String line = lines.poll(1, TimeUnit.SECONDS);
      if (line != null) {
        seen.append(line).append('\n');
      } else {
        assertTrue(p.isAlive() && System.nanoTime() < deadline, "did not start:\n" + seen);
      }
    }
  }

  private static BlockingQueue<String> drain(InputStream in) {
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    Thread t = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        for (String l = r.readLine(); l != null; l = r.readLine()) {
          lines.add(l);
        }
      } catch (java.io.IOException e) {
        // the process ended
      }
    }, "process-output");
    t.setDaemon(true);
    t.start();
    return lines;
  }

  private static void pump(InputStream in, StringBuilder into) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[4096];
      try {
        for (int n = in.read(buf); n >= 0; n = in.read(buf)) {
          synchronized (into) {
            into.append(new String(buf, 0, n, StandardCharsets.UTF_8));
          }
        }
      } catch (java.io.IOException e) {
        // closed
      }
    }, "ssh-output");
    t.setDaemon(true);
    t.start();
  }

  private static String text(StringBuilder b) {
    synchronized (b) {
      return b.toString();
    }
  }

  static List<String> sshBase(int port, Path knownHosts, Path key, Path cert) {
    return new ArrayList<>(List.of("ssh", "-F", "/dev/null", "-p", Integer.toString(port), "-i", key.toString(),
        "-o", "CertificateFile=" + cert, "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=yes", "-o", "HostKeyAlias=" + ALIAS, "-o", "UserKnownHostsFile=" + knownHosts,
        "-o", "GlobalKnownHostsFile=/dev/null", "-o", "ConnectTimeout=20", "-o", "LogLevel=ERROR", "-l", "alice"));
  }

  private static String[] run(List<String> base, String command) throws Exception {
    List<String> cmd = new ArrayList<>(base);
    cmd.add("127.0.0.1");
    cmd.add(command);
    Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
    StringBuilder out = new StringBuilder();
    StringBuilder err = new StringBuilder();
    pump(p.getInputStream(), out);
    pump(p.getErrorStream(), err);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("ssh did not finish in 60 s");
    }
    Thread.sleep(100);
    return new String[] {Integer.toString(p.exitValue()), text(out), text(err)};
  }

  private static void keygen(Path key) throws Exception {
    Process p = new ProcessBuilder("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", key.getFileName().toString(), "-f",
        key.toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0, out);
  }

  private static int freePort() throws Exception {
    try (ServerSocket probe = new ServerSocket(0)) {
      return probe.getLocalPort();
    }
  }

  private static HttpResponse<String> get(HttpClient client, URI uri) throws Exception {
    return client.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode post(HttpClient client, URI uri, String user, String body) throws Exception {
    HttpResponse<String> r = client.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30))
        .header("X-KubeJIT-User", user).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    assertTrue(r.statusCode() == 200 || r.statusCode() == 201, () -> uri + ": " + r.statusCode() + " " + r.body());
    return JSON.readTree(r.body());
  }

  private static HttpClient trusting(Path caFile) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    try (InputStream in = Files.newInputStream(caFile)) {
      trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return HttpClient.newBuilder().sslContext(ctx).connectTimeout(Duration.ofSeconds(10)).build();
  }
}
