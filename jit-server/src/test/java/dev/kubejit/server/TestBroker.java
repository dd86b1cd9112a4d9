package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kubejit.audit.AuditKeys;
import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.credentials.KeyType;
import dev.kubejit.credentials.ssh.SshCertificateAuthority;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * A broker setup on disk for tests (policy, CAs, audit key, a TLS serving CA and server
 * certificate made with the real openssl), a running {@link KubeJitServer} started from a real
 * kubejit.yaml, and an HTTP client that trusts the serving CA.
 */
final class TestBroker implements AutoCloseable {
  final Path dir;
  final KubeJitServer server;
  final HttpClient client;
  final URI base;

  private TestBroker(Path dir, KubeJitServer server, HttpClient client) {
    this.dir = dir;
    this.server = server;
    this.client = client;
    this.base = server.uri();
  }

  /** Starts a broker with dev-header authentication over TLS. */
  static TestBroker devHeader(Path dir) throws Exception {
    prepare(dir);
    String auth = "authentication:\n  devHeader:\n    header: X-KubeJIT-User\n";
    KubeJitServer s = start(dir, auth, "");
    return new TestBroker(dir, s, client(dir, null));
  }

  /** Starts a broker with mutual TLS; clients get certificates from {@link #clientCert}. */
  static TestBroker mtls(Path dir) throws Exception {
    prepare(dir);
    newCa(dir, "tls/client-ca", "/CN=test-client-ca");
    String auth = "authentication:\n  mtls:\n    clientCaFile: tls/client-ca.crt\n";
    KubeJitServer s = start(dir, auth, "");
    return new TestBroker(dir, s, client(dir, null));
  }

  /** Starts a broker with dev-header authentication and the given clusters section. */
  static TestBroker withClusters(Path dir, String clustersYaml) throws Exception {
    prepare(dir);
    String auth = "authentication:\n  devHeader:\n    header: X-KubeJIT-User\n";
    KubeJitServer s = start(dir, auth, clustersYaml);
    return new TestBroker(dir, s, client(dir, null));
  }

  /** Starts a broker with dev-header authentication, the given store section and clusters section. */
  static TestBroker withStore(Path dir, String storeYaml, String clustersYaml) throws Exception {
    prepare(dir);
    String auth = "authentication:\n  devHeader:\n    header: X-KubeJIT-User\n";
    KubeJitServer s = start(dir, auth, clustersYaml, storeYaml);
    return new TestBroker(dir, s, client(dir, null));
  }

  /**
   * Starts a broker with dev-header authentication and {@code extraYaml} (top-level sections such as
   * {@code chatops:}) appended to its kubejit.yaml; {@code setup} runs after the directory is
   * prepared and before the server starts.
   */
  static TestBroker withExtra(Path dir, String extraYaml, ThrowingConsumer<Path> setup) throws Exception {
    prepare(dir);
    setup.accept(dir);
    String auth = "authentication:\n  devHeader:\n    header: X-KubeJIT-User\n";
    KubeJitServer s = start(dir, auth + extraYaml, "");
    return new TestBroker(dir, s, client(dir, null));
  }

  /** A consumer that may throw. */
  @FunctionalInterface
  interface ThrowingConsumer<T> {
    void accept(T t) throws Exception;
  }

  /**
   * Starts a broker with dev-header authentication on {@code port}, on files made earlier by
   * {@link #prepare}, with the given clusters section and further top-level sections.
   */
  static TestBroker prepared(Path dir, int port, String clustersYaml, String extraYaml) throws Exception {
    String auth = "authentication:\n  devHeader:\n    header: X-KubeJIT-User\n";
    KubeJitServer s = start(dir, auth, clustersYaml + extraYaml, "store:\n  sqlite:\n    file: kubejit.db\n", port);
    return new TestBroker(dir, s, client(dir, null));
  }

  static void newCa(Path dir, String prefix, String subject) throws Exception {
    openssl(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", prefix + ".key", "-out", prefix + ".crt", "-subj", subject, "-days", "2",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign");
  }

  private static KubeJitServer start(Path dir, String auth, String clusters) throws IOException {
    return start(dir, auth, clusters, "store:\n  sqlite:\n    file: kubejit.db\n");
  }

  private static KubeJitServer start(Path dir, String auth, String clusters, String store) throws IOException {
    return start(dir, auth, clusters, store, freePort());
  }

  static int freePort() throws IOException {
    try (ServerSocket probe = new ServerSocket(0)) {
      return probe.getLocalPort();
    }
  }

  private static KubeJitServer start(Path dir, String auth, String clusters, String store, int port) throws IOException {
    return KubeJitServer.start(ServerConfig.load(writeConfig(dir, auth, clusters, store, port)));
  }

  static Path writeConfig(Path dir, String auth, String clusters, String store, int port) throws IOException {
    String yaml = "apiVersion: kubejit.dev/v1\nkind: ServerConfig\npolicy: policy.json\n"
        + store
        + "audit:\n  directory: audit\n  signingKeyFile: keys/audit-signing.key\n"
        + "certificateAuthorities:\n  x509: ca/x509\n  ssh: ca/ssh\n"
        + clusters
        + "adminGroups: [incident-commanders]\n"
        + "listen:\n  address: 127.0.0.1:" + port + "\n  tls:\n    certFile: tls/server.crt\n    keyFile: tls/server.key\n"
        + auth;
    Path config = dir.resolve("kubejit.yaml");
    Files.writeString(config, yaml);
    return config;
  }

  /**
   * One replica of a replicated service: its own directory (CAs, audit log, TLS), the given store
   * and clusters sections, dev-header authentication, and {@code clock} as its machine's clock.
   */
  static TestBroker replica(Path dir, String storeYaml, String clustersYaml, Clock clock) throws Exception {
    prepare(dir);
    String auth = "authentication:\n  devHeader:\n    header: X-KubeJIT-User\n";
    Path config = writeConfig(dir, auth, clustersYaml, storeYaml, freePort());
    return new TestBroker(dir, ServerWiring.start(ServerConfig.load(config), clock), client(dir, null));
  }

  /** The store section for a PostgreSQL database, its password in an owner-only file in {@code dir}. */
  static String postgresStore(Path dir, String jdbcUrl, String user, char[] password) throws IOException {
    Path pw = dir.resolve("pg-password");
    Files.writeString(pw, new String(password));
    Files.setPosixFilePermissions(pw, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    return "store:\n  postgresql:\n    url: " + jdbcUrl + "\n    user: " + user + "\n    passwordFile: " + pw + "\n";
  }

  static void prepare(Path dir) throws Exception {
    Clock clock = Clock.systemUTC();
    try (InputStream in = TestBroker.class.getResourceAsStream("/test-policy.json")) {
      Files.write(dir.resolve("policy.json"), in.readAllBytes());
    }
    CertificateAuthority.builder().keyType(KeyType.ED25519).commonName("test-user-ca").validity(Duration.ofDays(2))
        .clock(clock).generate().writeTo(Files.createDirectories(dir.resolve("ca/x509")));
    SshCertificateAuthority.generate(KeyType.ED25519, clock).writeTo(Files.createDirectories(dir.resolve("ca/ssh")));
    KeyPair audit = AuditKeys.generate();
    AuditKeys.writePrivateKey(audit.getPrivate(), Files.createDirectories(dir.resolve("keys")).resolve("audit-signing.key"));
    Files.createDirectories(dir.resolve("audit"));
    Files.createDirectories(dir.resolve("tls"));
    newCa(dir, "tls/ca", "/CN=test-serving-ca");
    openssl(dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "tls/server.key", "-out", "tls/server.csr", "-subj", "/CN=localhost");
    Files.writeString(dir.resolve("tls/server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        + "extendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n");
    openssl(dir, "x509", "-req", "-in", "tls/server.csr", "-CA", "tls/ca.crt", "-CAkey", "tls/ca.key",
        "-CAcreateserial", "-out", "tls/server.crt", "-days", "2", "-extfile", "tls/server.ext");
  }

  /** Issues a client certificate with {@code subject} (e.g. /CN=alice/O=g) from the CA at {@code caPrefix}. */
  static void clientCert(Path dir, String caPrefix, String name, String subject) throws Exception {
    openssl(dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "tls/" + name + ".key", "-out", "tls/" + name + ".csr", "-subj", subject);
    Files.writeString(dir.resolve("tls/client.ext"), "extendedKeyUsage=clientAuth\nbasicConstraints=critical,CA:FALSE\n");
    openssl(dir, "x509", "-req", "-in", "tls/" + name + ".csr", "-CA", caPrefix + ".crt", "-CAkey", caPrefix + ".key",
        "-CAcreateserial", "-out", "tls/" + name + ".crt", "-days", "1", "-extfile", "tls/client.ext");
  }

  static void openssl(Path dir, String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add("openssl");
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("openssl " + args[0] + " failed: " + new String(out, StandardCharsets.UTF_8));
    }
  }

  /** An HTTP client trusting the serving CA, presenting {@code clientName}'s certificate when not null. */
  static HttpClient client(Path dir, String clientName) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("ca", Pem.certificates(dir.resolve("tls/ca.crt")).get(0));
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext ctx = SSLContext.getInstance("TLS");
    KeyManagerFactory kmf = null;
    if (clientName != null) {
      char[] pw = "test".toCharArray();
      KeyStore ks = Pem.keyStore(dir.resolve("tls/" + clientName + ".crt"), dir.resolve("tls/" + clientName + ".key"), pw);
      kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, pw);
    }
    ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    return HttpClient.newBuilder().sslContext(ctx).connectTimeout(Duration.ofSeconds(10)).build();
  }

  /** A response with its JSON body parsed (null when it is not JSON). */
  static final class Reply {
    final int status;
    final String body;
    final JsonNode json;
    final HttpResponse<String> raw;

    Reply(HttpResponse<String> r) {
      this.raw = r;
      this.status = r.statusCode();
      this.body = r.body();
      JsonNode j;
      try {
        j = Json.MAPPER.readTree(body);
      } catch (IOException e) {
        j = null;
      }
      this.json = j;
    }

    String code() {
      return json.path("error").path("code").asText();
    }

    String message() {
      return json.path("error").path("message").asText();
    }

    Reply expect(int s) {
      assertEquals(s, status, () -> "expected " + s + ", got " + status + ": " + body);
      return this;
    }

    Reply expectError(int s, String code) {
      expect(s);
      assertEquals(code, code(), body);
      return this;
    }
  }

  Reply call(String method, String path, String user, String body) throws Exception {
    return call(client, method, path, user, body, "application/json");
  }

  Reply call(HttpClient c, String method, String path, String user, String body, String contentType) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(30));
    if (user != null) {
      b.header("X-KubeJIT-User", user);
    }
    if (body != null) {
      if (contentType != null) {
        b.header("Content-Type", contentType);
      }
      b.method(method, HttpRequest.BodyPublishers.ofString(body));
    } else {
      b.method(method, HttpRequest.BodyPublishers.noBody());
    }
    return new Reply(c.send(b.build(), HttpResponse.BodyHandlers.ofString()));
  }

  Reply get(String path, String user) throws Exception {
    return call("GET", path, user, null);
  }

  Reply post(String path, String user, String body) throws Exception {
    return call("POST", path, user, body);
  }

  /** A fresh EC key's PKCS#10 CSR (PEM) with CN=cn; the key stays in the test. */
  static String csr(String cn) throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(256);
    KeyPair kp = g.generateKeyPair();
    byte[] der = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=" + cn), kp.getPublic())
        .build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate())).getEncoded();
    return "-----BEGIN CERTIFICATE REQUEST-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END CERTIFICATE REQUEST-----\n";
  }

  static X509Certificate parseCertificate(String pem) throws Exception {
    return (X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509")
        .generateCertificate(new java.io.ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
  }

  /** A JSON object from alternating names and values. */
  static String json(Object... kv) throws Exception {
    com.fasterxml.jackson.databind.node.ObjectNode o = Json.MAPPER.createObjectNode();
    for (int i = 0; i < kv.length; i += 2) {
      o.putPOJO((String) kv[i], kv[i + 1]);
    }
    return Json.MAPPER.writeValueAsString(o);
  }

  @Override
  public void close() {
    server.close();
  }
}
