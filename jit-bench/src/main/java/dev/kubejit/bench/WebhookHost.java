package dev.kubejit.bench;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.kubejit.admission.MalformedAdmissionReviewException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * An HTTPS host on 127.0.0.1 for one webhook handler (POST body in, the handler's JSON out, 400
 * for a malformed review), as {@code kubejit serve} mounts it, so that a real kube-apiserver can
 * call jit-admission's authorization webhook during {@link LifecycleBench}. Its serving
 * certificate is made by {@code openssl} under a throwaway CA for IP 127.0.0.1, in a directory the
 * caller owns and deletes.
 */
final class WebhookHost implements AutoCloseable {
  private final HttpsServer server;
  private final ExecutorService executor;
  private final String path;
  /** The CA that verifies the serving certificate (PEM). */
  final String caPem;

  private WebhookHost(HttpsServer server, ExecutorService executor, String path, String caPem) {
    this.server = server;
    this.executor = executor;
    this.path = path;
    this.caPem = caPem;
  }

  static WebhookHost start(Path dir, String path, UnaryOperator<byte[]> handler) throws Exception {
    char[] password = HexFormat.of().formatHex(SecureRandom.getInstanceStrong().generateSeed(16)).toCharArray();
    makeCertificates(dir, new String(password));
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(dir.resolve("tls.p12"))) {
      ks.load(in, password);
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, password);
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(kmf.getKeyManagers(), null, null);
    HttpsServer s = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
    s.setHttpsConfigurator(new HttpsConfigurator(tls));
    ExecutorService ex = Executors.newFixedThreadPool(4, r -> {
      Thread t = new Thread(r, "bench-webhook");
      t.setDaemon(true);
      return t;
    });
    s.setExecutor(ex);
    s.createContext(path, exchange -> serve(exchange, handler));
    s.start();
    return new WebhookHost(s, ex, path, Files.readString(dir.resolve("ca.crt"), UTF_8));
  }

  URI url() {
    return URI.create("https://127.0.0.1:" + server.getAddress().getPort() + path);
  }

  private static void serve(HttpExchange exchange, UnaryOperator<byte[]> handler) throws IOException {
    try (exchange) {
      if (!"POST".equals(exchange.getRequestMethod())) {
        exchange.sendResponseHeaders(405, -1);
        return;
      }
      byte[] body = exchange.getRequestBody().readNBytes(3 * 1024 * 1024 + 1);
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

  private static void makeCertificates(Path dir, String password) throws Exception {
    openssl(dir, null, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=kubejit-bench-webhook-ca", "-days", "1");
    openssl(dir, null, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "tls.key", "-out", "tls.csr", "-subj", "/CN=127.0.0.1");
    Files.writeString(dir.resolve("san.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
    openssl(dir, null, "x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "tls.crt", "-days", "1", "-extfile", "san.ext");
    // The keystore password goes through the environment, not the command line.
    openssl(dir, password, "pkcs12", "-export", "-in", "tls.crt", "-inkey", "tls.key", "-out", "tls.p12",
        "-passout", "env:KUBEJIT_BENCH_P12");
  }

  private static void openssl(Path dir, String p12Password, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
    if (p12Password != null) {
      pb.environment().put("KUBEJIT_BENCH_P12", p12Password);
    }
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("openssl " + args[0] + " failed: " + StoreBench.firstLine(out));
    }
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
