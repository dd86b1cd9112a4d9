package dev.kubejit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kubejit init} then {@code kubejit serve} in a separate JVM: it serves HTTPS with the
 * development certificate, says where it listens and warns about header authentication, and stops
 * cleanly on SIGTERM (a second start on the same files works, so the store and audit log were
 * released).
 */
class ServeCommandTest {
  @TempDir Path tmp;

  @Test
  void initThenServeOverTlsAndStopOnSigterm() throws Exception {
    Path dir = tmp.resolve("dev");
    StringWriter out = new StringWriter();
    assertEquals(0, Main.run(new String[] {"init", dir.toString()}, new PrintWriter(out, true), new PrintWriter(out, true)),
        out.toString());
    int port;
    try (ServerSocket probe = new ServerSocket(0)) {
      port = probe.getLocalPort();
    }
    Path config = dir.resolve("kubejit.yaml");
    Files.writeString(config, Files.readString(config).replace("127.0.0.1:8443", "127.0.0.1:" + port));
    HttpClient client = trusting(dir.resolve("tls/ca.crt"));

    for (int run = 0; run < 2; run++) {
      Process p = serve(config);
      BlockingQueue<String> lines = drain(p.getInputStream());
      try {
        StringBuilder seen = new StringBuilder();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (seen.indexOf("listening on https://127.0.0.1:" + port) < 0) {
          String line = lines.poll(1, TimeUnit.SECONDS);
          if (line != null) {
            seen.append(line).append('\n');
          } else {
            assertTrue(p.isAlive() && System.nanoTime() < deadline, "serve did not start:\n" + seen);
          }
        }
        HttpResponse<String> health = client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + "/healthz"))
            .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, health.statusCode());
        HttpResponse<String> me = client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + "/api/v1/whoami"))
            .header("X-KubeJIT-User", "alice;oncall-payments").build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, me.statusCode(), me.body());
        assertTrue(me.body().contains("\"user\":\"alice\""), me.body());

        p.destroy(); // SIGTERM
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "serve did not stop on SIGTERM");
        StringBuilder rest = new StringBuilder(seen);
        for (String l = lines.poll(2, TimeUnit.SECONDS); l != null; l = lines.poll(2, TimeUnit.SECONDS)) {
          rest.append(l).append('\n');
        }
        String all = rest.toString();
        assertTrue(all.contains("WARNING: development mode"), all);
        assertFalse(all.contains("Exception"), all);
        assertEquals(143, p.exitValue(), all);
      } finally {
        p.destroyForcibly();
      }
    }
  }

  private static Process serve(Path config) throws Exception {
    Path java = Paths.get(System.getProperty("java.home"), "bin", "java");
    return new ProcessBuilder(List.of(java.toString(), "-cp", System.getProperty("java.class.path"),
        "dev.kubejit.cli.Main", "serve", "--config", config.toString())).redirectErrorStream(true).start();
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
    }, "serve-output");
    t.setDaemon(true);
    t.start();
    return lines;
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
