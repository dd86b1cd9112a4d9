package dev.kubejit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.credentials.IssuedCertificate;
import dev.kubejit.credentials.X509Issuer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The client's pieces that need no broker: files and their modes, the engineer's key and CSR, the
 * certificate cache's freshness, kubeconfig rendering (read back by the real kubectl), output
 * formats, argument checks, and the kubectl plugin launcher (found by the real {@code kubectl plugin list}).
 */
class ClientPiecesTest {
  static final String G = dev.kubejit.api.GrantId.random().value();
  static final String R = dev.kubejit.api.RequestId.random().value();
  @TempDir Path dir;
  final StringWriter out = new StringWriter();
  final StringWriter err = new StringWriter();

  int run(String... args) {
    return Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
  }

  static String mode(Path p) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
  }

  record Proc(int exit, String output) {}

  static Proc exec(Map<String, String> env, String... cmd) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().putAll(env);
    Process p = pb.start();
    String o = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), List.of(cmd).toString());
    return new Proc(p.exitValue(), o);
  }

  @Test
  void configAndTokensAre0600InA0700HomeAndAReadableFileIsRefused() throws Exception {
    ClientHome h = ClientHome.resolve(dir.resolve("home"));
    Properties c = new Properties();
    c.setProperty("server", "https://broker.example:8443");
    c.setProperty("auth", "oidc");
    h.writeConfig(c);
    Properties t = new Properties();
    t.setProperty("idToken", "header.payload.signature");
    t.setProperty("refreshToken", "refresh-secret");
    h.writeTokens(t);
    assertEquals("rwx------", mode(h.dir()));
    assertEquals("rw-------", mode(h.configFile()));
    assertEquals("rw-------", mode(h.tokensFile()));
    assertEquals("https://broker.example:8443", h.config().getProperty("server"));
    assertEquals("refresh-secret", h.tokens().getProperty("refreshToken"));
    try (var files = Files.list(h.dir())) {
      assertEquals(List.of("config", "tokens"), files.map(p -> p.getFileName().toString()).sorted().toList(), "no temporary file left");
    }

    Files.setPosixFilePermissions(h.tokensFile(), PosixFilePermissions.fromString("rw-r--r--"));
    CliException e = assertThrows(CliException.class, h::tokens);
    assertTrue(e.getMessage().contains("chmod 600"), e.getMessage());
    assertFalse(e.getMessage().contains("refresh-secret"));
  }

  @Test
  void withoutALoginEveryBrokerCommandSaysHowToLogIn() {
    String home = dir.resolve("empty").toString();
    for (String[] args : List.of(new String[] {"get", "requests", "--home", home},
        new String[] {"credential", "--grant", G, "--home", home})) {
      out.getBuffer().setLength(0);
      err.getBuffer().setLength(0);
      assertEquals(BrokerClient.EXIT_UNAUTHENTICATED, run(args), err.toString());
      assertTrue(err.toString().contains("kubejit login --server"), err.toString());
      assertEquals("", out.toString());
    }
  }

  @Test
  void argumentsAreCheckedBeforeAnythingIsSent() {
    String home = dir.resolve("h").toString();
    assertEquals(64, run("request", "--role", "debug", "--action", "exec", "-n", "payments", "--duration", "30m", "--home", home));
    assertTrue(err.toString().contains("--reason"), err.toString());
    err.getBuffer().setLength(0);
    assertEquals(64, run("approve", "not-a-request-id", "--home", home));
    assertTrue(err.toString().contains("not a request id"), err.toString());
    err.getBuffer().setLength(0);
    assertEquals(64, run("deny", R, "--home", home));
    assertTrue(err.toString().contains("--comment"), err.toString());
    err.getBuffer().setLength(0);
    assertEquals(64, run("credential", "--grant", G, "--ca", dir.toString(), "--home", home));
    assertTrue(err.toString().contains("--grant takes the certificate from the broker"), err.toString());
    err.getBuffer().setLength(0);
    assertEquals(64, run("credential", "--user", "alice"));
    assertTrue(err.toString().contains("either --grant ID"), err.toString());
    err.getBuffer().setLength(0);
    assertEquals(64, run("get", "pods", "--home", home));
    err.getBuffer().setLength(0);
    assertEquals(64, run("credential", "--grant", "../../etc", "--home", home));
    assertTrue(err.toString().contains("not a grant id"), err.toString());
    err.getBuffer().setLength(0);
    assertEquals(64, run("kubeconfig", "--grant", G, "--exec-command", "relative/kubejit", "--home", home));
    assertTrue(err.toString().contains("absolute path"), err.toString());
    assertFalse(Files.exists(Path.of(home)), "a refused command writes nothing");
  }

  @Test
  void brokerUrlMustBeHttpsExceptOnLoopback() {
    assertEquals("https://broker.example:8443", BrokerClient.serverUri("https://broker.example:8443/").toString());
    assertEquals("http://127.0.0.1:8080", BrokerClient.serverUri("http://127.0.0.1:8080").toString());
    for (String bad : List.of("http://broker.example:8080", "ftp://broker.example", "https://user:pw@broker.example",
        "broker.example", "https://broker.example/?x=1")) {
      CliException e = assertThrows(CliException.class, () -> BrokerClient.serverUri(bad), bad);
      assertEquals(64, e.exitCode(), bad);
      assertFalse(e.getMessage().contains("pw@"), "a password in the URL is not echoed... unless it is the URL itself: " + bad);
    }
  }

  @Test
  void apiErrorCodesMapToStableExitCodes() {
    assertEquals(4, BrokerClient.exitFor("unauthenticated", 401));
    assertEquals(5, BrokerClient.exitFor("approval_refused", 403));
    assertEquals(5, BrokerClient.exitFor("policy_denied", 403));
    assertEquals(6, BrokerClient.exitFor("not_found", 404));
    assertEquals(7, BrokerClient.exitFor("grant_ended", 409));
    assertEquals(8, BrokerClient.exitFor("unknown_field", 400));
    assertEquals(9, BrokerClient.exitFor("internal", 500));
    assertEquals(9, BrokerClient.exitFor("something_new", 503));
    assertEquals(7, BrokerClient.exitFor("something_new", 409));
  }

  @Test
  void theKeyIsMadeOnceWithMode0600AndTheCsrCarriesOnlyItsPublicHalf() throws Exception {
    ClientHome h = ClientHome.resolve(dir.resolve("home"));
    GrantCredentials g = new GrantCredentials(h, Clock.systemUTC());
    String csr = g.csr();
    assertEquals("rw-------", mode(g.keyFile()));
    assertEquals("rwx------", mode(h.keysDir()));
    byte[] key = Files.readAllBytes(g.keyFile());
    assertTrue(csr.startsWith("-----BEGIN CERTIFICATE REQUEST-----"), csr);
    assertFalse(csr.contains("PRIVATE"));
    assertEquals(csr, g.csr(), "the same key and CSR the second time");
    assertTrue(java.util.Arrays.equals(key, Files.readAllBytes(g.keyFile())), "the key is not replaced");

    // openssl: the CSR verifies, has an empty subject (the broker decides the names) and holds the key's public half
    Path csrFile = g.csrFile();
    Proc verify = exec(Map.of(), "openssl", "req", "-in", csrFile.toString(), "-noout", "-verify", "-subject");
    assertEquals(0, verify.exit(), verify.output());
    assertTrue(verify.output().contains("subject="), verify.output());
    assertFalse(verify.output().contains("CN"), verify.output());
    Proc csrPub = exec(Map.of(), "openssl", "req", "-in", csrFile.toString(), "-noout", "-pubkey");
    Proc keyPub = exec(Map.of(), "openssl", "pkey", "-in", g.keyFile().toString(), "-pubout");
    assertEquals(0, keyPub.exit(), keyPub.output());
    assertEquals(keyPub.output(), csrPub.output());
    assertTrue(keyPub.output().startsWith("-----BEGIN PUBLIC KEY-----"));

    Files.delete(g.csrFile());
    CliException half = assertThrows(CliException.class, g::csr);
    assertTrue(half.getMessage().contains("remove both"), half.getMessage());
  }

  @Test
  void aCachedCertificateIsFreshUntilShortlyBeforeItExpires() throws Exception {
    ClientHome h = ClientHome.resolve(dir.resolve("home"));
    Instant t0 = Instant.parse("2026-12-02T04:00:00Z");
    GrantCredentials g = new GrantCredentials(h, Clock.systemUTC());
    CertificateAuthority ca = CertificateAuthority.builder().commonName("test-ca").validity(Duration.ofDays(1))
        .clock(Clock.fixed(t0.minusSeconds(3600), ZoneOffset.UTC)).generate();
    IssuedCertificate c = X509Issuer.builder().authority(ca).clock(Clock.fixed(t0, ZoneOffset.UTC)).build()
        .issueFromCsr(g.csr(), "alice", List.of("jit:grant:" + G), Duration.ofMinutes(30));
    JsonNode grant = BrokerClient.object("id", G, "requestId", R);
    JsonNode creds = BrokerClient.JSON.valueToTree(List.of(Map.of("kind", "x509", "certificate", c.certificatePem())));
    g.store(grant, creds);
    Path cache = g.cacheFile(G);
    assertEquals("rw-------", mode(cache));
    assertEquals("rwx------", mode(h.cacheDir()));
    JsonNode entry = BrokerClient.JSON.readTree(cache.toFile());
    assertEquals(R, entry.path("requestId").asText());
    assertFalse(entry.toString().contains("PRIVATE KEY"), "the cache holds the certificate, not the key");

    var cert = GrantCredentials.certificate(c.certificatePem());
    Instant notAfter = cert.getNotAfter().toInstant();
    assertTrue(new GrantCredentials(h, Clock.fixed(t0.plusSeconds(60), ZoneOffset.UTC)).fresh(cert));
    assertTrue(new GrantCredentials(h, Clock.fixed(notAfter.minusSeconds(61), ZoneOffset.UTC)).fresh(cert));
    assertFalse(new GrantCredentials(h, Clock.fixed(notAfter.minusSeconds(60), ZoneOffset.UTC)).fresh(cert), "1 minute before notAfter");
    assertFalse(new GrantCredentials(h, Clock.fixed(notAfter.plusSeconds(1), ZoneOffset.UTC)).fresh(cert));

    assertThrows(IllegalArgumentException.class, () -> g.cacheFile("../../etc/passwd"), "a grant id never becomes a path");
    CliException noX509 = assertThrows(CliException.class, () -> g.store(grant, BrokerClient.JSON.valueToTree(
        List.of(Map.of("kind", "ssh", "certificate", "ssh-ed25519-cert-v01@openssh.com AAAA"))))); 
    assertTrue(noX509.getMessage().contains("no X.509"), noX509.getMessage());
  }

  static String caPem() {
    return CertificateAuthority.builder().commonName("cluster-ca").validity(Duration.ofDays(1)).generate().certificatePem();
  }

  @Test
  void theKubeconfigRunsTheGrantsExecPluginInTheGrantsNamespaceAsKubectlReadsIt() throws Exception {
    String pem = caPem();
    JsonNode grant = BrokerClient.object("id", G, "cluster", "prod", "namespace", "payments");
    for (String caData : List.of(pem, Base64.getEncoder().encodeToString(pem.getBytes(StandardCharsets.US_ASCII)))) {
      JsonNode cluster = BrokerClient.object("name", "prod", "server", "https://127.0.0.1:6443", "certificateAuthorityData", caData);
      String yaml = ClientCommands.KubeconfigCmd.render(G, grant, cluster,
          Path.of("/opt/kubejit/kubejit"), dir.resolve("home"));
      Path kc = dir.resolve("kc.yaml");
      Files.writeString(kc, yaml);
      Proc view = exec(Map.of(), "kubectl", "config", "view", "--kubeconfig", kc.toString(), "--raw", "-o", "json");
      assertEquals(0, view.exit(), view.output());
      JsonNode v = BrokerClient.JSON.readTree(view.output());
      assertEquals("jit-" + G, v.path("current-context").asText());
      assertEquals("payments", v.path("contexts").get(0).path("context").path("namespace").asText());
      assertEquals("https://127.0.0.1:6443", v.path("clusters").get(0).path("cluster").path("server").asText());
      assertEquals(pem, new String(Base64.getDecoder().decode(
          v.path("clusters").get(0).path("cluster").path("certificate-authority-data").asText()), StandardCharsets.US_ASCII));
      JsonNode exec = v.path("users").get(0).path("user").path("exec");
      assertEquals("/opt/kubejit/kubejit", exec.path("command").asText());
      assertEquals(List.of("credential", "--grant", G), strings(exec.path("args")));
      assertEquals("client.authentication.k8s.io/v1", exec.path("apiVersion").asText());
      assertEquals("Never", exec.path("interactiveMode").asText());
      assertFalse(exec.path("provideClusterInfo").asBoolean(true));
      assertEquals("KUBEJIT_HOME", exec.path("env").get(0).path("name").asText());
      assertEquals(dir.resolve("home").toString(), exec.path("env").get(0).path("value").asText());
    }
    String noHome = ClientCommands.KubeconfigCmd.render(G, grant,
        BrokerClient.object("name", "prod", "server", "https://127.0.0.1:6443", "certificateAuthorityData", pem),
        Path.of("/opt/kubejit/kubejit"), null);
    assertFalse(new YAMLMapper().readTree(noHome).path("users").get(0).path("user").path("exec").has("env"));
    for (JsonNode bad : List.of(
        BrokerClient.object("name", "prod", "server", "http://10.0.0.1:6443", "certificateAuthorityData", pem),
        BrokerClient.object("name", "prod", "server", "https://10.0.0.1:6443", "certificateAuthorityData", "bm90IGEgY2VydA=="))) {
      assertThrows(CliException.class, () -> ClientCommands.KubeconfigCmd.render(G, grant, bad,
          Path.of("/opt/kubejit/kubejit"), null));
    }
  }

  static List<String> strings(JsonNode array) {
    List<String> l = new ArrayList<>();
    array.forEach(n -> l.add(n.asText()));
    return l;
  }

  @Test
  void tablesEscapeWhatAServerCouldSmuggleAndJsonAndYamlKeepTheApisObjects() throws Exception {
    JsonNode r = BrokerClient.JSON.readTree("{\"id\":\"abc\",\"state\":\"PENDING\",\"requester\":{\"user\":\"eve\\u001b[2J\\nroot\","
        + "\"groups\":[]},\"role\":\"debug\",\"action\":\"exec\",\"cluster\":\"prod\",\"namespace\":\"payments\"}");
    String table = Output.table(List.of(r), Output.REQUEST_COLUMNS);
    assertEquals(2, table.lines().count(), table);
    assertFalse(table.contains("\u001b"), table);
    assertTrue(table.contains("eve\\u001b[2J\\u000aroot"), table);
    assertTrue(table.lines().findFirst().orElseThrow().startsWith("ID    STATE     REQUESTER"), table);
    assertFalse(Output.describe(r).contains("\u001b"));

    StringWriter json = new StringWriter();
    Output.print(new PrintWriter(json), Output.Format.json, r, List.of(r), Output.REQUEST_COLUMNS);
    assertEquals(r, BrokerClient.JSON.readTree(json.toString()));
    StringWriter yaml = new StringWriter();
    Output.print(new PrintWriter(yaml), Output.Format.yaml, r, List.of(r), Output.REQUEST_COLUMNS);
    assertEquals(r, new YAMLMapper().readTree(yaml.toString()));
  }

  @Test
  void theIdTokensExpiryIsReadWithoutEchoingTheToken() {
    String payload = Base64.getUrlEncoder().withoutPadding().encodeToString("{\"exp\":1796000000,\"sub\":\"a\"}".getBytes(StandardCharsets.UTF_8));
    assertEquals(Instant.ofEpochSecond(1796000000), OidcLogin.expiry("eyJhbGciOiJSUzI1NiJ9." + payload + ".sig"));
    CliException e = assertThrows(CliException.class, () -> OidcLogin.expiry("secret-opaque-token"));
    assertFalse(e.getMessage().contains("secret-opaque-token"));
  }

  /** The launcher's directory on PATH: the real kubectl lists kubectl-jit and runs it as 'kubectl jit'. */
  @Test
  void kubectlFindsAndRunsTheJitPlugin() throws Exception {
    Path bin = Path.of("..", "bin").toAbsolutePath().normalize();
    assertTrue(Files.isExecutable(bin.resolve("kubectl-jit")), bin.toString());
    Path kubectl = Path.of(exec(Map.of(), "sh", "-c", "command -v kubectl").output().trim());
    Path launcher = dir.resolve("kubejit");
    Files.writeString(launcher, "#!/bin/sh\nexec " + javaCommand() + " \"$@\"\n");
    Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwx------"));
    String path = bin + ":" + kubectl.getParent() + ":/usr/bin:/bin";
    Proc list = exec(Map.of("PATH", path), kubectl.toString(), "plugin", "list");
    assertTrue(list.output().contains(bin.resolve("kubectl-jit").toString()), list.output());
    Proc version = exec(Map.of("PATH", path, "KUBEJIT", launcher.toString(), "KUBEJIT_HOME", dir.resolve("h").toString()),
        kubectl.toString(), "jit", "--version");
    assertEquals(0, version.exit(), version.output());
    assertTrue(version.output().startsWith("kubejit 0.1.0-SNAPSHOT"), version.output());
    Proc get = exec(Map.of("PATH", path, "KUBEJIT", launcher.toString(), "KUBEJIT_HOME", dir.resolve("h").toString()),
        kubectl.toString(), "jit", "get", "grants");
    assertEquals(BrokerClient.EXIT_UNAUTHENTICATED, get.exit(), get.output());
    assertTrue(get.output().contains("kubejit login --server"), get.output());
  }

  /** This JVM with this test class path, running the CLI's Main (the shaded jar does not exist while tests run). */
  static String javaCommand() {
    return "'" + Path.of(System.getProperty("java.home"), "bin", "java") + "' -cp '" + System.getProperty("java.class.path")
        + "' dev.kubejit.cli.Main";
  }
}
