package dev.kubejit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.kubejit.server.KubeJitServer;
import dev.kubejit.server.ServerConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import javax.security.auth.x500.X500Principal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The client commands against a real {@code kubejit serve} over TLS (the development setup of
 * {@code kubejit init}, with development-header authentication), each run as the engineer or
 * approver would run it: {@code Main.run(args)} with its own {@code --home}.
 */
class ClientAgainstServerTest {
  @TempDir Path dir;

  record Run(int exit, String out, String err) {
    @Override
    public String toString() {
      return "exit " + exit + "\n--- out\n" + out + "--- err\n" + err;
    }
  }

  static Run cli(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Run(exit, out.toString(), err.toString());
  }

  /** Runs as the user whose client directory is {@code home}. */
  static Run as(Path home, String... args) {
    String[] all = new String[args.length + 2];
    System.arraycopy(args, 0, all, 0, args.length);
    all[args.length] = "--home";
    all[args.length + 1] = home.toString();
    return cli(all);
  }

  static Run ok(Run r) {
    assertEquals(0, r.exit(), r.toString());
    return r;
  }

  static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** {@code kubejit init} a setup, adjust its kubejit.yaml, and start the server from it. */
  static KubeJitServer serve(Path setup, UnaryOperator<String> edit) throws Exception {
    ok(cli("init", setup.toString()));
    Path config = setup.resolve("kubejit.yaml");
    String yaml = Files.readString(config).replace("127.0.0.1:8443", "127.0.0.1:" + freePort());
    Files.writeString(config, edit.apply(yaml));
    return KubeJitServer.start(ServerConfig.load(config));
  }

  static void login(KubeJitServer server, Path setup, Path home, String devUser) {
    Run r = as(home, "login", "--server", server.uri().toString(), "--ca-file", setup.resolve("tls/ca.crt").toString(),
        "--dev-user", devUser);
    ok(r);
    String user = devUser.split(";")[0];
    assertTrue(r.out().startsWith("Logged in to " + server.uri() + " as " + user + " "), r.out());
  }

  static JsonNode json(Run r) throws Exception {
    return BrokerClient.JSON.readTree(ok(r).out());
  }

  @Test
  void anEngineerAndAnApproverThroughTheWholeLifecycle() throws Exception {
    Path setup = dir.resolve("broker");
    Path alice = dir.resolve("alice");
    Path carol = dir.resolve("carol");
    Path dave = dir.resolve("dave");
    try (KubeJitServer server = serve(setup, y -> y)) {
      assertTrue(server.isTls());

      // a broker whose certificate the client cannot verify: refused, nothing stored
      Run untrusted = as(dir.resolve("nobody"), "login", "--server", server.uri().toString(), "--dev-user", "eve");
      assertEquals(BrokerClient.EXIT_UNREACHABLE, untrusted.exit(), untrusted.toString());
      assertTrue(untrusted.err().startsWith("kubejit: TLS with " + server.uri()), untrusted.err());
      assertFalse(Files.exists(dir.resolve("nobody").resolve("config")));

      login(server, setup, alice, "alice;oncall-payments");
      login(server, setup, carol, "carol;sre-leads");
      login(server, setup, dave, "dave");
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(alice.resolve("config"))));

      // the engineer asks
      JsonNode req = json(as(alice, "request", "--role", "oncall-debug", "--action", "exec", "-n", "payments",
          "--cluster", "prod", "--duration", "45m", "--ticket", "INC-42", "--reason", "thread dump of the checkout service",
          "-o", "json"));
      String id = req.path("id").asText();
      assertEquals("alice", req.path("requester").path("user").asText());
      assertEquals("PT45M", req.path("durationRequested").asText());
      assertEquals("INC-42", req.path("ticket").asText());
      String pending = req.path("state").asText();
      assertTrue(pending.startsWith("PENDING"), pending);

      // refusals keep the server's message and map to stable exit codes
      Run self = as(alice, "approve", id, "--comment", "lgtm");
      assertEquals(BrokerClient.EXIT_FORBIDDEN, self.exit(), self.toString());
      assertTrue(self.err().startsWith("kubejit: ") && self.err().contains("(approval_refused)"), self.err());
      Run nobody = as(dave, "approve", id);
      assertNotEquals(0, nobody.exit(), nobody.toString());
      Run early = as(alice, "activate", id);
      assertEquals(BrokerClient.EXIT_CONFLICT, early.exit(), early.toString());
      Run bogus = as(alice, "request", "--role", "oncall-debug", "--action", "teleport", "-n", "payments", "--cluster", "prod",
          "--duration", "30m", "--ticket", "INC-42", "--reason", "x");
      assertEquals(BrokerClient.EXIT_FORBIDDEN, bogus.exit(), bogus.toString());
      assertTrue(bogus.err().startsWith("kubejit: denied by policy: action teleport is not allowed"), bogus.err());
      assertTrue(bogus.err().trim().endsWith("(policy_denied)"), bogus.err());

      // the approver sees it, and approves
      Run list = ok(as(carol, "get", "requests", "--state", pending));
      assertTrue(list.out().startsWith("ID "), list.out());
      assertTrue(list.out().lines().anyMatch(l -> l.startsWith(id + " ") && l.contains(" alice ") && l.contains(" INC-42 ")), list.out());
      Run approved = ok(as(carol, "approve", id, "--comment", "go ahead"));
      assertTrue(approved.out().startsWith("request " + id + " APPROVED"), approved.out());
      assertTrue(approved.out().contains("approved by carol at "), approved.out());
      assertTrue(approved.out().contains(": go ahead"), approved.out());

      // the engineer activates: the key is made here, only the CSR goes to the broker
      Run act = ok(as(alice, "activate", id));
      assertTrue(act.out().startsWith("grant "), act.out());
      String grant = act.out().substring("grant ".length(), act.out().indexOf(' ', "grant ".length()));
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(alice.resolve("keys/x509.key"))));
      assertTrue(act.out().contains("next: kubejit kubeconfig --grant " + grant), act.out());

      JsonNode grants = new YAMLMapper().readTree(ok(as(alice, "get", "grants", "-o", "yaml")).out());
      assertEquals(grant, grants.path("items").get(0).path("id").asText());
      assertEquals(id, grants.path("items").get(0).path("requestId").asText());
      Instant grantExpires = Instant.parse(grants.path("items").get(0).path("expiresAt").asText());
      JsonNode one = json(as(alice, "get", "requests", id, "-o", "json"));
      assertEquals("ACTIVE", one.path("state").asText());

      // the exec plugin: an ExecCredential v1 with the broker's certificate for alice's own key
      JsonNode ec = json(as(alice, "credential", "--grant", grant));
      assertEquals("client.authentication.k8s.io/v1", ec.path("apiVersion").asText());
      assertEquals("ExecCredential", ec.path("kind").asText());
      String certPem = ec.path("status").path("clientCertificateData").asText();
      X509Certificate cert = GrantCredentials.certificate(certPem);
      String subject = cert.getSubjectX500Principal().getName(X500Principal.RFC2253);
      assertTrue(subject.contains("CN=alice"), subject);
      assertTrue(subject.contains("O=jit:grant:" + grant), subject);
      assertFalse(cert.getNotAfter().toInstant().isAfter(grantExpires), "the certificate ends with the grant at the latest");
      assertEquals(Files.readString(alice.resolve("keys/x509.key")), ec.path("status").path("clientKeyData").asText());
      assertTrue(Instant.parse(ec.path("status").path("expirationTimestamp").asText()).isBefore(cert.getNotAfter().toInstant()));
      JsonNode again = json(as(alice, "credential", "--grant", grant));
      assertEquals(certPem, again.path("status").path("clientCertificateData").asText(), "the cached certificate is used");
      Run notHers = as(carol, "credential", "--grant", grant);
      assertNotEquals(0, notHers.exit(), notHers.toString());

      // v1beta1 when kubectl asks for it, through a real process and the launcher
      Path launcher = launcher(dir);
      ClientPiecesTest.Proc beta = ClientPiecesTest.exec(Map.of("KUBEJIT_HOME", alice.toString(), "KUBERNETES_EXEC_INFO",
          "{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"spec\":{\"interactive\":false}}"),
          launcher.toString(), "credential", "--grant", grant);
      assertEquals(0, beta.exit(), beta.output());
      assertEquals("client.authentication.k8s.io/v1beta1", BrokerClient.JSON.readTree(beta.output()).path("apiVersion").asText());

      // revoked: the plugin fails with who revoked it and how to ask again, and forgets the certificate
      Run revoked = ok(as(alice, "revoke", id, "--reason", "done with the dump"));
      assertTrue(revoked.out().startsWith("request " + id + " REVOKED"), revoked.out());
      assertTrue(revoked.out().contains("by alice"), revoked.out());
      Run ended = as(alice, "credential", "--grant", grant);
      assertEquals(BrokerClient.EXIT_CONFLICT, ended.exit(), ended.toString());
      assertTrue(ended.err().startsWith("kubejit: grant " + grant + " was revoked by alice at "), ended.err());
      assertTrue(ended.err().contains("done with the dump"), ended.err());
      assertTrue(ended.err().contains("ask again with kubejit request"), ended.err());
      assertTrue(ended.err().trim().endsWith("(grant_ended)"), ended.err());
      assertFalse(Files.exists(alice.resolve("cache").resolve(grant + ".json")));
      assertEquals("", ended.out());

      // deny needs a comment; a denied request cannot be activated
      String id2 = json(as(alice, "request", "--role", "oncall-debug", "--action", "exec", "-n", "payments", "--cluster", "prod",
          "--duration", "30m", "--ticket", "INC-43", "--reason", "again", "-o", "json")).path("id").asText();
      assertEquals(64, as(carol, "deny", id2).exit());
      Run denied = ok(as(carol, "deny", id2, "--comment", "use the logs action instead"));
      assertTrue(denied.out().startsWith("request " + id2 + " DENIED"), denied.out());
      assertEquals(BrokerClient.EXIT_CONFLICT, as(alice, "activate", id2).exit());
      JsonNode mine = json(as(alice, "get", "requests", "-o", "json"));
      List<String> states = new java.util.ArrayList<>();
      mine.path("items").forEach(r -> states.add(r.path("state").asText()));
      assertTrue(states.contains("REVOKED") && states.contains("DENIED"), states.toString());
    }
  }

  /** A launcher script like ./kubejit, running this JVM's class path (the shaded jar is not built while tests run). */
  static Path launcher(Path dir) throws Exception {
    Path launcher = dir.resolve("bin/kubejit");
    Files.createDirectories(launcher.getParent());
    Files.writeString(launcher, "#!/bin/sh\nexec " + ClientPiecesTest.javaCommand() + " \"$@\"\n", StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwx------"));
    return launcher;
  }
}
