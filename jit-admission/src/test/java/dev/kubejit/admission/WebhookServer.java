package dev.kubejit.admission;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * A minimal HTTPS host for a webhook handler on 127.0.0.1, the way {@code kubejit serve} mounts
 * it: POST body in, 200 with the handler's answer out, 400 for a malformed review. Its serving
 * certificate is made by the real openssl under a throwaway CA for IP 127.0.0.1.
 */
final class WebhookServer implements AutoCloseable {
  private final HttpsServer server;
  private final ExecutorService executor;
  final String caPem;

  private WebhookServer(HttpsServer server, ExecutorService executor, String caPem) {
    this.server = server;
    this.executor = executor;
    this.caPem = caPem;
  }

  static WebhookServer start(Path dir, int port, String path, UnaryOperator<byte[]> handler) throws Exception {
    Path p12 = dir.resolve("tls.p12");
    if (!Files.exists(p12)) {
      makeCertificates(dir);
    }
    char[] password = "changeit-test-only".toCharArray();
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(p12)) {
      ks.load(in, password);
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, password);
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(kmf.getKeyManagers(), null, null);
    HttpsServer s = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64);
    s.setHttpsConfigurator(new HttpsConfigurator(tls));
    ExecutorService ex = Executors.newFixedThreadPool(4);
    s.setExecutor(ex);
    s.createContext(path, exchange -> serve(exchange, handler));
    s.start();
    return new WebhookServer(s, ex, Files.readString(dir.resolve("ca.crt"), UTF_8));
  }

  private static void serve(HttpExchange exchange, UnaryOperator<byte[]> handler) throws IOException {
    try (exchange) {
      if (!"POST".equals(exchange.getRequestMethod())) {
        exchange.sendResponseHeaders(405, -1);
        return;
      }
      byte[] body = exchange.getRequestBody().readNBytes(AdmissionReview.MAX_BYTES + 1);
      byte[] answer;
      int status = 200;
      try {
        answer = handler.apply(body);
      } catch (MalformedAdmissionReviewException e) {
        status = 400;
        answer = e.getMessage().getBytes(UTF_8);
      }
      exchange.getResponseHeaders().set("Content-Type", status == 200 ? "application/json" : "text/plain");
      exchange.sendResponseHeaders(status, answer.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(answer);
      }
    }
  }

  int port() {
    return server.getAddress().getPort();
  }

  private static void makeCertificates(Path dir) throws Exception {
    openssl(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=kubejit-webhook-test-ca", "-days", "2");
    openssl(dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "tls.key", "-out", "tls.csr", "-subj", "/CN=127.0.0.1");
    Files.writeString(dir.resolve("san.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
    openssl(dir, "x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "tls.crt", "-days", "2", "-extfile", "san.ext");
    openssl(dir, "pkcs12", "-export", "-in", "tls.crt", "-inkey", "tls.key", "-out", "tls.p12",
        "-passout", "pass:changeit-test-only");
  }

  private static void openssl(Path dir, String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("openssl " + String.join(" ", args) + " failed: " + out);
    }
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
