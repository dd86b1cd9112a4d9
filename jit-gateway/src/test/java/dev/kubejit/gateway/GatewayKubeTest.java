package dev.kubejit.gateway;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.CredentialSpec;
import dev.kubejit.api.Grant;
import dev.kubejit.api.Identity;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.Scope;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.InMemoryAuditSink;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.audit.AuditCorrelator;
import dev.kubejit.audit.CompositeAuditSink;
import dev.kubejit.audit.FileAuditSink;
import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.credentials.GrantCredentialIssuer;
import dev.kubejit.credentials.KeyType;
import dev.kubejit.credentials.X509Issuer;
import dev.kubejit.credentials.ssh.SshCertificateAuthority;
import dev.kubejit.credentials.ssh.SshCertificateRequest;
import dev.kubejit.policy.PolicyEngine;
import dev.kubejit.policy.PolicyLoader;
import dev.kubejit.testing.FakeClock;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeNode;
import dev.kubejit.testing.KubeTest;
import dev.kubejit.testing.Kubectl;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The gateway end to end with the real OpenSSH client, the real control plane and pods on the real
 * node: the broker (jit-policy's example policy, the control plane's CA as the X.509 issuer, an SSH
 * CA) issues alice's certificate; she runs commands through {@code ssh}; the API server's audit log
 * shows what reached it.
 */
@KubeTest
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GatewayKubeTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String NS = "payments-gw";
  static final String LOG_LINE = "2026-12-02T05:00:00Z ERROR kubejit-gateway-marker payment failed";
  static final String SHADOW = "root:GATEWAY-SHADOW-MARKER:19000:0:99999:7:::";
  static final String FORWARDED = "served by busybox httpd in pod web, reached through ssh -L";
  static final Identity ALICE = Identity.of("alice", "oncall-payments");
  static final Identity CAROL = Identity.of("carol", "sre-leads");
  static final Identity DAVE = Identity.of("dave", "sre-leads");
  static final String WEB2_STARTED = "kubejit test pod web-2 serving on :8080";
  static final String WEB_STARTED = "kubejit test pod web serving on :8080";

  static KubeControlPlane cp;
  static Path dir;
  static FakeClock clock;
  static InMemoryAuditSink audit;
  static Path auditFile;
  static JitBroker broker;
  static SshCertificateAuthority sshCa;
  static SshGateway gateway;
  static Ssh ssh;
  static Path aliceKey;

  @BeforeAll
  static void start(KubeControlPlane controlPlane, KubeNode node) throws Exception {
    cp = controlPlane;
    dir = Files.createTempDirectory("kubejit-gateway-test");
    node.runPod(NS, "web", Map.of("/var/log/app.log", LOG_LINE + "\n", "/etc/shadow", SHADOW + "\n",
        "/www/forwarded.txt", FORWARDED + "\n"));
    node.runPod(NS, "web-2", Map.of("/var/log/app.log", LOG_LINE + "\n"));
    clock = new FakeClock(Instant.now());
    audit = AuditSink.inMemory();
    auditFile = dir.resolve("audit/audit.jsonl");
    Files.createDirectories(auditFile.getParent());
    AuditSink both = CompositeAuditSink.builder().required(audit)
        .required(FileAuditSink.builder(auditFile).withoutSignatures().clock(clock).open()).build();
    sshCa = SshCertificateAuthority.generate(KeyType.ED25519, clock);
    CertificateAuthority clusterCa = CertificateAuthority.fromPem(cp.caCertificatePem(), cp.caPrivateKeyPem());
    broker = JitBroker.builder().clock(clock)
        .policy(PolicyEngine.of(PolicyLoader.load(projectFile("jit-policy/src/test/resources/policies/payments-oncall.yaml"))))
        .store(RequestStore.inMemory()).auditSink(both).rbacProvisioner(RbacProvisioner.inMemory())
        .credentialIssuer(GrantCredentialIssuer.builder().clock(clock)
            .x509(X509Issuer.builder().authority(clusterCa).clock(clock).build())
            .issuer(sshCa.forGrants()).build())
        .build();
    Path hostKey = keygen("host");
    String hostCert = sshCa.signHostCertificate(Files.readString(dir.resolve("host.pub")).strip(),
        List.of(Ssh.HOST_ALIAS), Duration.ofDays(1));
    gateway = SshGateway.builder().cluster("prod").broker(broker).auditSink(both)
        .trustedUserCa(sshCa.publicKeyLine()).hostKeyFile(hostKey).hostCertificate(hostCert)
        .kubernetes(cp.serverUrl(), cp.apiServerCaBundlePem()).recordings(dir.resolve("recordings"))
        .listen("127.0.0.1", 0).clock(clock).checkInterval(Duration.ofMillis(250)).start();
    Path knownHosts = dir.resolve("known_hosts");
    Files.writeString(knownHosts, "@cert-authority " + Ssh.HOST_ALIAS + " " + sshCa.publicKeyLine() + "\n");
    ssh = new Ssh(gateway.port(), knownHosts);
    aliceKey = keygen("alice");
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  static Path projectFile(String relative) {
    String root = System.getProperty("kubejit.projectRoot");
    return (root == null ? Path.of("..") : Path.of(root)).resolve(relative);
  }

  static Path keygen(String name) throws IOException, InterruptedException {
    Path key = dir.resolve(name);
    Ssh.Result r = Ssh.exec(List.of("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key.toString()),
        null, 30);
    assertEquals(0, r.exit, r::toString);
    return key;
  }

  /** A grant of {@code action} for alice in {@value #NS}, with RBAC for its group as the provisioner would make. */
  static Grant grant(Action action, Scope scope) throws Exception {
    return grant(action, scope, "get, create");
  }

  /** As {@link #grant(Action, Scope)}, with {@code streamVerbs} on pods/exec and pods/portforward. */
  static Grant grant(Action action, Scope scope, String streamVerbs) throws Exception {
    return grant(ALICE, "oncall-debug", action, scope, streamVerbs);
  }

  /**
   * A grant of {@code role} and {@code action} for {@code requester}, whose SSH key is {@code <user>}
   * in the test directory ({@link #keygen}), with its certificate in {@link #certFile} and RBAC for
   * its group.
   */
  static Grant grant(Identity requester, String role, Action action, Scope scope, String streamVerbs)
      throws Exception {
    RequestRecord r = broker.submit(AccessRequest.builder().requester(requester).role(role).action(action)
        .scope(scope).ticket("INC-19").justification("issue 19 tests").build());
    if (r.state() != RequestState.APPROVED) {
      int needed = r.decision().approval().orElseThrow().minApprovals();
      broker.approve(r.id(), CAROL, "ok");
      if (needed > 1) {
        broker.approve(r.id(), DAVE, "ok");
      }
    }
    String pub = Files.readString(dir.resolve(requester.user() + ".pub")).strip();
    var activation = broker.activate(r.id(), requester, CredentialSpec.sshUserCertificate(pub, Map.of()));
    Grant g = activation.grant();
    Files.writeString(certFile(g), activation.credentials().get(0).material());
    String name = "grant-" + g.id().value();
    String rbac = String.join("\n",
        "apiVersion: rbac.authorization.k8s.io/v1", "kind: Role",
        "metadata: {name: " + name + ", namespace: " + NS + "}",
        "rules:",
        "- {apiGroups: [\"\"], resources: [pods], verbs: [get, list]}",
        "- {apiGroups: [\"\"], resources: [pods/log], verbs: [get]}",
        "- {apiGroups: [\"\"], resources: [pods/exec, pods/portforward], verbs: [" + streamVerbs + "]}",
        "---",
        "apiVersion: rbac.authorization.k8s.io/v1", "kind: RoleBinding",
        "metadata: {name: " + name + ", namespace: " + NS + "}",
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: " + name + "}",
        "subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: \"" + g.subjectGroup() + "\"}]", "");
    Kubectl.run(cp.adminKubeconfig(), rbac, "apply", "-f", "-").ok();
    return g;
  }

  static Path certFile(Grant g) {
    return dir.resolve(g.holder().user() + "-" + g.id().value() + "-cert.pub");
  }

  static List<String> as(Grant g) {
    return ssh.base("alice", aliceKey, certFile(g));
  }

  /** Refused with exit status 77 and {@code rule} named on stderr (any rule when null). */
  static void assertRefused(Ssh.Result r, String rule) {
    assertEquals(Runner.EXIT_REFUSED, r.exit, r::toString);
    assertTrue(r.err.contains("kubejit: refused by rule " + (rule == null ? "" : rule + ":")), r::toString);
  }

  static List<JsonNode> apiServerExecs(Grant g) {
    return cp.auditEvents(GatewayKubeTest::json).stream()
        .filter(e -> "exec".equals(e.path("objectRef").path("subresource").asText()))
        .filter(e -> e.path("user").path("groups").toString().contains(g.subjectGroup()))
        .toList();
  }

  static JsonNode json(String line) {
    try {
      return JSON.readTree(line);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Test
  @Order(1)
  void anAllowedCommandPrintsTheFileAndTheBypassCorpusIsRefusedWithItsRuleWithoutReachingTheApiServer() throws Exception {
    Grant g = grant(Action.EXEC, Scope.namespace("prod", NS));
    Ssh.Result ok = ssh.run(as(g), null, "exec web -- cat /var/log/app.log");
    assertEquals(0, ok.exit, ok::toString);
    assertEquals(LOG_LINE + "\n", ok.out, ok::toString);

    String[][] corpus = {
      {"read-logs", "cat", "/etc/shadow"},
      {"default-deny", "sh", "-c", "id"},
      {"default-deny", "/bin/sh"},
      {"command-syntax", "cat", "/var/log/app.log; id"},
      {"command-syntax", "cat", "$(id)"},
      {"read-logs", "cat", "/var/log/app.log", "/etc/shadow"},
      {"default-deny", "env", "X=1", "cat", "/var/log/app.log"},
      {"search-logs", "grep", "-e", "root", "/etc/shadow"},
      {null, "cat", "/var/log/../../etc/shadow"},
    };
    for (String[] c : corpus) {
      String[] argv = java.util.Arrays.copyOfRange(c, 1, c.length);
      Ssh.Result r = ssh.run(as(g), null, "exec web -- " + Ssh.quote(argv));
      assertRefused(r, c[0]);
      assertFalse(r.out.contains("GATEWAY-SHADOW-MARKER"), r::toString);
    }
    // stdin is an interactive session, which the command-filtered role refuses.
    assertRefused(ssh.run(as(g), "x", "exec web -i -- cat /var/log/app.log"), "oncall-debug/commands");
    // Exactly the one allowed exec reached the API server, as the grant's identity (alice, jit:grant:<id>).
    List<JsonNode> execs = cp.awaitAuditEvents(GatewayKubeTest::json,
        e -> "exec".equals(e.path("objectRef").path("subresource").asText())
            && e.path("user").path("groups").toString().contains(g.subjectGroup()),
        Duration.ofSeconds(20));
    Thread.sleep(1500); // let the audit backend flush anything a refusal might have caused
    execs = apiServerExecs(g);
    assertFalse(execs.isEmpty());
    for (JsonNode e : execs) {
      assertEquals("alice", e.path("user").path("username").asText(), e::toString);
      String uri = e.path("requestURI").asText();
      assertTrue(uri.contains("command=cat") && uri.contains("app.log"), uri);
      assertFalse(uri.contains("shadow") || uri.contains("command=sh") || uri.contains("command=env"), uri);
      assertFalse(e.path("impersonatedUser").isObject(), e::toString);
    }
    // The broker recorded each decision; the gateway recorded the execution with its recording's hash.
    AuditEvent exec = audit.events().stream()
        .filter(e -> g.id().equals(e.grantId().orElse(null)) && "execution".equals(e.attributes().get("gatewayEvent")))
        .findFirst().orElseThrow();
    assertEquals("0", exec.attributes().get("exitStatus"));
    assertEquals(Integer.toString((LOG_LINE + "\n").length()), exec.attributes().get("bytesOut"));
    Path cast = Path.of(exec.attributes().get("recording"));
    assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(cast))),
        exec.attributes().get("recordingSha256"));
    List<String> lines = Files.readAllLines(cast, UTF_8);
    assertEquals(2, JSON.readTree(lines.get(0)).path("version").asInt(), lines.get(0));
    StringBuilder replay = new StringBuilder();
    for (String l : lines.subList(1, lines.size())) {
      JsonNode ev = JSON.readTree(l);
      assertEquals("o", ev.get(1).asText());
      replay.append(ev.get(2).asText());
    }
    assertEquals(LOG_LINE + "\n", replay.toString());
    assertTrue(audit.events().stream().anyMatch(e -> g.id().equals(e.grantId().orElse(null))
        && "cat /etc/shadow".equals(e.attributes().get("command")) && "read-logs".equals(e.ruleId().orElse(null))));
    // kubejit audit correlate's engine lists the gateway's exec under the grant, as alice.
    AuditCorrelator.Result correlated = AuditCorrelator.correlate(List.of(auditFile), List.of(cp.auditLogPath()));
    AuditCorrelator.GrantUsage usage = correlated.grant(g.id().value()).orElseThrow();
    assertTrue(usage.calls().stream().anyMatch(c -> "exec".equals(c.subresource()) && "web".equals(c.name())
        && "alice".equals(c.user())), usage::toString);
    assertTrue(usage.calls().stream().noneMatch(c -> c.requestUri().contains("shadow")), usage::toString);
    AuditEvent connect = audit.events().stream()
        .filter(e -> g.id().equals(e.grantId().orElse(null)) && "connect".equals(e.attributes().get("gatewayEvent"))
            && e.outcome().map(o -> o.name().equals("ALLOW")).orElse(false))
        .findFirst().orElseThrow();
    assertTrue(connect.attributes().get("certificateKeyId").contains("grant=" + g.id().value()), connect::toString);
    assertTrue(connect.attributes().get("sourceAddress").startsWith("127.0.0.1:"), connect::toString);
    assertFalse(connect.attributes().get("sshSessionId").isEmpty());
  }

  @Test
  @Order(2)
  void theExitStatusAndStderrOfTheCommandComeBack() throws Exception {
    Grant g = grant(Action.EXEC, Scope.namespace("prod", NS));
    Ssh.Result r = ssh.run(as(g), null, "exec web -- cat /var/log/missing.log");
    assertEquals(1, r.exit, r::toString);
    assertTrue(r.err.contains("missing.log"), r::toString);
    Ssh.Result usage = ssh.run(as(g), null, "bash");
    assertEquals(Runner.EXIT_USAGE, usage.exit, usage::toString);
    assertTrue(usage.err.contains("there is no shell"), usage::toString);
    // a Role with create but not get on pods/exec: the API server refuses client-java's WebSocket
    // upgrade (a GET); said as a failure (69) with the 403, not as client-java's -1975219, which ssh
    // showed as 77, the refusal code, with nothing on stderr
    Grant createOnly = grant(Action.EXEC, Scope.namespace("prod", NS), "create");
    Ssh.Result forbidden = ssh.run(as(createOnly), null, "exec web -- cat /var/log/app.log");
    assertEquals(Runner.EXIT_UNAVAILABLE, forbidden.exit, forbidden::toString);
    assertTrue(forbidden.err.contains("403 Forbidden"), forbidden::toString);
  }

  @Test
  @Order(5)
  void aPodOutsideAPodPinnedGrantIsRefused() throws Exception {
    Grant g = grant(Action.EXEC, Scope.namespace("prod", NS).withPod("web"));
    assertEquals(0, ssh.run(as(g), null, "exec web -- cat /var/log/app.log").exit);
    assertRefused(ssh.run(as(g), null, "exec web-2 -- cat /var/log/app.log"), "broker:pod-scope");
  }

  /** The lines of {@code text} (split on newline, without a trailing empty one). */
  static List<String> lines(String text) {
    List<String> l = new ArrayList<>(List.of(text.split("\n", -1)));
    if (l.get(l.size() - 1).isEmpty()) {
      l.remove(l.size() - 1);
    }
    return l;
  }

  @Test
  @Order(6)
  void logsWithTailAndLineMode() throws Exception {
    Grant logs = grant(Action.LOGS, Scope.namespace("prod", NS));
    // The container's log: the pod's start-up line, then (the readiness probe's requests) httpd's own lines.
    Ssh.Result all = ssh.run(as(logs), null, "logs web-2");
    assertEquals(0, all.exit, all::toString);
    List<String> before = lines(all.out);
    assertEquals(WEB2_STARTED, before.get(0), all::toString);
    Ssh.Result r = ssh.run(as(logs), null, "logs web-2 --tail 2");
    assertEquals(0, r.exit, r::toString);
    List<String> tail = lines(r.out);
    assertTrue(tail.size() >= Math.min(2, before.size()) && tail.size() <= 2, r::toString);
    Ssh.Result one = ssh.run(as(logs), null, "logs web-2 -c app --tail 1");
    assertEquals(0, one.exit, one::toString);
    assertEquals(1, lines(one.out).size(), one::toString);
    // A log only grows: the tail is the end of what the log held then, so it is a block of the log read now,
    // and the start-up line is in it only while the log had no more than two lines.
    Ssh.Result after = ssh.run(as(logs), null, "logs web-2");
    assertEquals(0, after.exit, after::toString);
    assertTrue(after.out.startsWith(all.out), after::toString);
    assertTrue(after.out.contains(r.out) && after.out.contains(one.out), r + "\n" + after);
    if (before.size() > 2) {
      assertFalse(tail.contains(WEB2_STARTED), r::toString);
    }
    // Audited as an execution of the logs use, with the bytes the engineer got.
    int tailBytes = r.out.getBytes(UTF_8).length;
    assertTrue(audit.events().stream().anyMatch(e -> gatewayEvent(e, logs, "execution")
        && e.action().map(Action.LOGS::equals).orElse(false) && "web-2".equals(e.attributes().get("pod"))
        && "0".equals(e.attributes().get("exitStatus"))
        && Integer.toString(tailBytes).equals(e.attributes().get("bytesOut"))), "the logs execution record");
    // The API server saw alice in the grant's group read pods/log, no impersonation.
    List<JsonNode> reads = cp.awaitAuditEvents(GatewayKubeTest::json,
        e -> "log".equals(e.path("objectRef").path("subresource").asText())
            && e.path("user").path("groups").toString().contains(logs.subjectGroup()),
        Duration.ofSeconds(20));
    for (JsonNode e : reads) {
      assertEquals("alice", e.path("user").path("username").asText(), e::toString);
      assertEquals("web-2", e.path("objectRef").path("name").asText(), e::toString);
      assertFalse(e.path("impersonatedUser").isObject(), e::toString);
    }
    // exec under a logs grant is refused by the policy: the grant is for logs.
    assertRefused(ssh.run(as(logs), null, "exec web -- cat /var/log/app.log"), "oncall-debug/actions");

    Grant g = grant(Action.EXEC, Scope.namespace("prod", NS));
    List<String> opts = new ArrayList<>(as(g));
    opts.add("-T");
    Ssh.Result line = ssh.run(opts, "exec web -- cat /var/log/app.log\nexec web -- cat /etc/shadow\nsh\nexit\n", null);
    assertEquals(0, line.exit, line::toString);
    assertTrue(line.out.contains("kubejit> "), line::toString);
    assertTrue(line.out.contains(LOG_LINE), line::toString);
    assertFalse(line.out.contains("GATEWAY-SHADOW-MARKER"), line::toString);
    assertTrue(line.err.contains("refused by rule read-logs"), line::toString);
    assertTrue(line.err.contains("there is no shell"), line::toString);
  }

  @Test
  @Order(7)
  void aFollowIsCutWhenTheGrantExpiresAndWhenItIsRevoked() throws Exception {
    Grant g = grant(Action.EXEC, Scope.namespace("prod", NS));
    GatewayMetrics m0 = gateway.metrics();
    Ssh.Started follow = ssh.start(as(g), "exec web -- tail -f /var/log/app.log");
    awaitOutput(follow, LOG_LINE);
    long t0 = System.nanoTime();
    broker.revoke(g.requestId(), CAROL, "incident over");
    Ssh.Result r = follow.await(30);
    long revokeMs = Duration.ofNanos(System.nanoTime() - t0).toMillis();
    assertEquals(Runner.EXIT_REFUSED, r.exit, r::toString);
    assertTrue(r.err.contains("session closed") && r.err.contains("broker:grant-state"), r::toString);
    System.out.println("MEASURED revoke -> ssh exit during tail -f: " + revokeMs + " ms (check interval 250 ms)");

    Grant e = grant(Action.EXEC, Scope.namespace("prod", NS));
    Ssh.Started follow2 = ssh.start(as(e), "exec web -- tail -f /var/log/app.log");
    awaitOutput(follow2, LOG_LINE);
    long t1 = System.nanoTime();
    clock.set(e.expiresAt());
    Ssh.Result r2 = follow2.await(30);
    long expiryMs = Duration.ofNanos(System.nanoTime() - t1).toMillis();
    clock.set(Instant.now());
    assertEquals(Runner.EXIT_REFUSED, r2.exit, r2::toString);
    assertTrue(r2.err.contains("broker:grant-expiry"), r2::toString);
    System.out.println("MEASURED expiry -> ssh exit during tail -f: " + expiryMs + " ms (check interval 250 ms)");
    assertTrue(audit.events().stream().anyMatch(ev -> e.id().equals(ev.grantId().orElse(null))
        && "session-cut".equals(ev.attributes().get("gatewayEvent"))));
    GatewayMetrics m1 = gateway.metrics();
    assertEquals(1, m1.sessionsCutAtRevocation() - m0.sessionsCutAtRevocation(), m1::toString);
    assertEquals(1, m1.sessionsCutAtExpiry() - m0.sessionsCutAtExpiry(), m1::toString);
    assertEquals(2, m1.commandsAllowed() - m0.commandsAllowed(), m1::toString);
  }

  /**
   * {@code logs} under a grant that is not for the logs action (an exec grant of oncall-debug) is
   * refused by the policy before Kubernetes: exit 77, the rule on stderr, no pods/log request.
   */
  @Test
  @Order(11)
  void logsUnderAGrantWithoutTheLogsActionIsRefusedWithItsRule() throws Exception {
    Grant g = grant(Action.EXEC, Scope.namespace("prod", NS));
    Ssh.Result r = ssh.run(as(g), null, "logs web --tail 5");
    assertRefused(r, "oncall-debug/actions");
    assertTrue(r.err.contains("not LOGS") || r.err.toLowerCase(java.util.Locale.ROOT).contains("logs"), r::toString);
    assertFalse(r.out.contains(WEB_STARTED), r::toString);
    Ssh.Result follow = ssh.run(as(g), null, "logs web --follow");
    assertRefused(follow, "oncall-debug/actions");
    assertTrue(audit.events().stream().anyMatch(e -> g.id().equals(e.grantId().orElse(null))
        && e.type() == dev.kubejit.api.AuditEventType.USE_DENIED && e.action().map(Action.LOGS::equals).orElse(false)
        && "oncall-debug/actions".equals(e.ruleId().orElse(null))), "the broker's refusal");
    assertTrue(audit.events().stream().noneMatch(e -> gatewayEvent(e, g, "execution")), "no execution");
    Thread.sleep(1500); // let the audit backend flush anything a refusal might have caused
    assertTrue(cp.auditEvents(GatewayKubeTest::json).stream()
        .noneMatch(e -> "log".equals(e.path("objectRef").path("subresource").asText())
            && e.path("user").path("groups").toString().contains(g.subjectGroup())), "a pods/log request reached the API server");
  }

  @Test
  @Order(12)
  void aLogsFollowIsCutWhenTheGrantIsRevokedAndWhenItExpires() throws Exception {
    GatewayMetrics m0 = gateway.metrics();
    for (String end : List.of("revoke", "expiry")) {
      Grant g = grant(Action.LOGS, Scope.namespace("prod", NS));
      Ssh.Started follow = ssh.start(as(g), "logs web --follow");
      try {
        awaitOutput(follow, WEB_STARTED);
        long t0 = System.nanoTime();
        if (end.equals("revoke")) {
          // an auto-approved grant has no approvers: its holder ends it
          broker.revoke(g.requestId(), ALICE, "done reading");
        } else {
          clock.set(g.expiresAt());
        }
        Ssh.Result r = follow.await(30);
        long ms = Duration.ofNanos(System.nanoTime() - t0).toMillis();
        clock.set(Instant.now());
        assertEquals(Runner.EXIT_REFUSED, r.exit, r::toString);
        assertTrue(r.err.contains("kubejit: session closed: ") && r.err.contains(end.equals("revoke")
            ? "(rule broker:grant-state)" : "(rule broker:grant-expiry)"), r::toString);
        System.out.println("MEASURED " + end + " -> ssh exit during logs --follow: " + ms + " ms (check interval 250 ms)");
      } finally {
        clock.set(Instant.now());
        follow.process.destroy();
      }
      AuditEvent exec = awaitAudit(e -> gatewayEvent(e, g, "execution"), "the follow's execution record");
      assertEquals("true", exec.attributes().get("cut"), exec::toString);
      assertEquals(Integer.toString(Runner.EXIT_REFUSED), exec.attributes().get("exitStatus"), exec::toString);
      assertTrue(audit.events().stream().anyMatch(e -> gatewayEvent(e, g, "session-cut")));
    }
    GatewayMetrics m1 = gateway.metrics();
    assertEquals(1, m1.sessionsCutAtRevocation() - m0.sessionsCutAtRevocation(), m1::toString);
    assertEquals(1, m1.sessionsCutAtExpiry() - m0.sessionsCutAtExpiry(), m1::toString);
  }

  /**
   * {@code ssh -tt} asks for a PTY; the gateway accepts the request and ignores it: the command runs
   * and the exec request the API server sees has {@code tty=false} (no TTY reaches the pod).
   */
  @Test
  @Order(13)
  void aPtyRequestRunsTheCommandWithoutATtyInThePod() throws Exception {
    Grant g = grant(Action.EXEC, Scope.namespace("prod", NS));
    List<String> tty = new ArrayList<>(as(g));
    tty.add("-tt");
    Ssh.Result r = ssh.run(tty, null, "exec web -- cat /var/log/app.log");
    assertEquals(0, r.exit, r::toString);
    assertTrue(r.out.contains(LOG_LINE), r::toString);
    List<JsonNode> execs = cp.awaitAuditEvents(GatewayKubeTest::json,
        e -> "exec".equals(e.path("objectRef").path("subresource").asText())
            && e.path("user").path("groups").toString().contains(g.subjectGroup()),
        Duration.ofSeconds(20));
    for (JsonNode e : execs) {
      String uri = e.path("requestURI").asText();
      assertFalse(uri.contains("tty=true"), uri);
      assertTrue(uri.contains("tty=false"), uri);
    }
  }

  /**
   * {@code exec POD -i} forwards stdin only when the role allows an interactive exec: break-glass
   * (no command rules) does; what is typed reaches {@code cat} in the pod and comes back, as carol
   * in the grant's group. The end of the input does not end the command on this API server: it
   * speaks {@code v4.channel.k8s.io}, which has no way to close stdin (client-java sends the close
   * only on {@code v5.channel.k8s.io}), so the command runs until the session or the grant ends; here
   * the revocation ends it. (oncall-debug's refusal of {@code -i} is in the first test.)
   */
  @Test
  @Order(14)
  void stdinReachesThePodForARoleThatAllowsAnInteractiveExec() throws Exception {
    keygen("carol");
    Grant g = grant(CAROL, "break-glass", Action.EXEC, Scope.namespace("prod", NS), "get, create");
    List<String> a = new ArrayList<>(ssh.base("carol", dir.resolve("carol"), certFile(g)));
    a.addAll(List.of("127.0.0.1", "exec web -i -- cat"));
    Process p = new ProcessBuilder(a).start();
    Ssh.Started cat = new Ssh.Started(p);
    String input = "line one through ssh stdin\nline two\n";
    try {
      p.getOutputStream().write(input.getBytes(UTF_8));
      p.getOutputStream().flush();
      awaitOutput(cat, "line two\n");
      broker.revoke(g.requestId(), CAROL, "done");
      Ssh.Result r = cat.await(30);
      assertEquals(Runner.EXIT_REFUSED, r.exit, r::toString);
      assertEquals(input, r.out, r::toString);
      assertTrue(r.err.contains("(rule broker:grant-state)"), r::toString);
    } finally {
      p.destroy();
    }
    AuditEvent exec = awaitAudit(e -> gatewayEvent(e, g, "execution"), "the execution record");
    assertEquals(Integer.toString(input.length()), exec.attributes().get("bytesIn"), exec::toString);
    assertEquals(Integer.toString(input.length()), exec.attributes().get("bytesOut"), exec::toString);
    assertEquals("true", exec.attributes().get("cut"), exec::toString);
    List<JsonNode> execs = cp.awaitAuditEvents(GatewayKubeTest::json,
        e -> "exec".equals(e.path("objectRef").path("subresource").asText())
            && e.path("user").path("groups").toString().contains(g.subjectGroup()),
        Duration.ofSeconds(20));
    for (JsonNode e : execs) {
      assertEquals("carol", e.path("user").path("username").asText(), e::toString);
      assertTrue(e.path("requestURI").asText().contains("stdin=true"), e::toString);
      assertFalse(e.path("requestURI").asText().contains("tty=true"), e::toString);
    }
  }

  /** {@code ssh -N -L LOCAL:target} as alice with grant {@code g}, at log level INFO (open failures show). */
  static Ssh.Forwarding forward(Grant g, String target) throws Exception {
    return ssh.forward(ssh.base("alice", aliceKey, certFile(g), "INFO"), target);
  }

  static AuditEvent awaitAudit(java.util.function.Predicate<AuditEvent> p, String what) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (System.nanoTime() < deadline) {
      for (AuditEvent e : audit.events()) {
        if (p.test(e)) {
          return e;
        }
      }
      Thread.sleep(50);
    }
    throw new AssertionError("no audit record: " + what);
  }

  static boolean gatewayEvent(AuditEvent e, Grant g, String gatewayEvent) {
    return g.id().equals(e.grantId().orElse(null)) && gatewayEvent.equals(e.attributes().get("gatewayEvent"));
  }

  @Test
  @Order(8)
  void anSshLocalForwardReachesThePodsHttpServerAsTheGrantsIdentityAndIsAudited() throws Exception {
    Grant g = grant(Action.PORT_FORWARD, Scope.namespace("prod", NS));
    try (Ssh.Forwarding f = forward(g, "web." + NS + ":8080")) {
      assertTrue(f.listening, f.ssh.err::text);
      HttpResponse<String> r = f.get("/forwarded.txt");
      assertEquals(200, r.statusCode(), r::body);
      assertEquals(FORWARDED + "\n", r.body());
      // A second connection is a second channel and a second port-forward, decided again.
      HttpResponse<String> again = f.get("/");
      assertEquals(200, again.statusCode(), again::body);
      assertTrue(again.body().contains(NS + "/web"), again::body);
    }
    AuditEvent open = awaitAudit(e -> gatewayEvent(e, g, "forward-open"), "forward-open");
    assertEquals("web", open.attributes().get("pod"));
    assertEquals(NS, open.attributes().get("namespace"));
    assertEquals("8080", open.attributes().get("port"));
    assertEquals("oncall-debug/portforward", open.ruleId().orElse(null), open::toString);
    assertFalse(open.attributes().get("sshSessionId").isEmpty());
    AuditEvent close = awaitAudit(e -> gatewayEvent(e, g, "forward-close")
        && Long.parseLong(e.attributes().getOrDefault("bytesOut", "0")) > 0, "forward-close with bytes");
    assertTrue(Long.parseLong(close.attributes().get("bytesIn")) > 0, close::toString);
    assertTrue(close.attributes().containsKey("durationMs"), close::toString);
    assertEquals("false", close.attributes().get("cut"), close::toString);
    // The broker decided each forward (the same engine and record as an exec) ...
    assertTrue(audit.events().stream().anyMatch(e -> g.id().equals(e.grantId().orElse(null))
        && e.type() == dev.kubejit.api.AuditEventType.USE_ALLOWED && e.action().map(Action.PORT_FORWARD::equals).orElse(false)
        && e.attributes().get("gatewayEvent") == null && "web".equals(e.attributes().get("pod"))), "broker decision");
    // ... and the API server saw alice in the grant's group open pods/portforward, no impersonation.
    List<JsonNode> pf = cp.awaitAuditEvents(GatewayKubeTest::json,
        e -> "portforward".equals(e.path("objectRef").path("subresource").asText())
            && e.path("user").path("groups").toString().contains(g.subjectGroup()),
        Duration.ofSeconds(20));
    for (JsonNode e : pf) {
      assertEquals("alice", e.path("user").path("username").asText(), e::toString);
      assertEquals("web", e.path("objectRef").path("name").asText(), e::toString);
      assertFalse(e.path("impersonatedUser").isObject(), e::toString);
    }
  }

  @Test
  @Order(9)
  void forwardsAreRefusedWithTheRuleForAGrantWithoutPortForwardAPodOutsideAPinAndAnotherNamespace() throws Exception {
    Grant exec = grant(Action.EXEC, Scope.namespace("prod", NS));
    try (Ssh.Forwarding f = forward(exec, "web." + NS + ":8080")) {
      assertTrue(f.listening, f.ssh.err::text);
      assertThrows(IOException.class, () -> f.get("/index.html"));
      f.awaitStderr("open failed: administratively prohibited: kubejit: refused by rule oncall-debug/actions");
    }
    assertTrue(audit.events().stream().anyMatch(e -> exec.id().equals(e.grantId().orElse(null))
        && e.type() == dev.kubejit.api.AuditEventType.USE_DENIED && "oncall-debug/actions".equals(e.ruleId().orElse(null))
        && e.action().map(Action.PORT_FORWARD::equals).orElse(false)), "the broker's refusal");
    assertTrue(audit.events().stream().noneMatch(e -> gatewayEvent(e, exec, "forward-open")));

    Grant pinned = grant(Action.PORT_FORWARD, Scope.namespace("prod", NS).withPod("web"));
    try (Ssh.Forwarding ok = forward(pinned, "web:8080"); Ssh.Forwarding other = forward(pinned, "web-2." + NS + ":8080")) {
      assertEquals(200, ok.get("/").statusCode());
      assertThrows(IOException.class, () -> other.get("/"));
      other.awaitStderr("kubejit: refused by rule broker:pod-scope");
    }
    Grant pf = grant(Action.PORT_FORWARD, Scope.namespace("prod", NS));
    try (Ssh.Forwarding elsewhere = forward(pf, "web.default:8080"); Ssh.Forwarding host = forward(pf, "127.0.0.1:22")) {
      assertThrows(IOException.class, () -> elsewhere.get("/"));
      elsewhere.awaitStderr("kubejit: refused by rule gateway:forward-target");
      assertThrows(IOException.class, () -> host.get("/"));
      host.awaitStderr("kubejit: refused by rule gateway:forward-target");
    }
    AuditEvent refused = awaitAudit(e -> gatewayEvent(e, pf, "decision")
        && "gateway:forward-target".equals(e.ruleId().orElse(null)), "the gateway's refusal");
    assertEquals("USE_DENIED", refused.type().name());
    assertTrue(refused.reason().orElse("").contains("not POD." + NS), refused::toString);

    // A revoked grant whose certificate is still valid gets no session, so no forward.
    Grant revoked = grant(Action.PORT_FORWARD, Scope.namespace("prod", NS));
    broker.revoke(revoked.requestId(), CAROL, "done");
    try (Ssh.Forwarding f = forward(revoked, "web." + NS + ":8080")) {
      assertFalse(f.listening);
      Ssh.Result r = f.ssh.await(30);
      assertEquals(255, r.exit, r::toString);
      assertTrue(r.err.contains("Permission denied"), r::toString);
    }
    assertTrue(audit.events().stream().anyMatch(e -> revoked.requestId().equals(e.requestId().orElse(null))
        && "connect".equals(e.attributes().get("gatewayEvent")) && "broker:grant-state".equals(e.ruleId().orElse(null))));
  }

  @Test
  @Order(10)
  void aLiveForwardIsCutWhenTheGrantIsRevokedAndWhenItExpires() throws Exception {
    for (String end : List.of("revoke", "expiry")) {
      Grant g = grant(Action.PORT_FORWARD, Scope.namespace("prod", NS));
      try (Ssh.Forwarding f = forward(g, "web." + NS + ":8080")) {
        assertEquals(200, f.get("/").statusCode());
        // A connection held open (half an HTTP request, which httpd waits on) is a live forward.
        try (Socket live = new Socket(InetAddress.getLoopbackAddress(), f.port)) {
          live.setSoTimeout(30_000);
          live.getOutputStream().write("GET / HTTP/1.0\r\n".getBytes(UTF_8));
          live.getOutputStream().flush();
          awaitAudit(e -> audit.events().stream().filter(c -> gatewayEvent(c, g, "forward-open")).count() >= 2,
              "the live forward's open (after the GET's)");
          long t0 = System.nanoTime();
          if (end.equals("revoke")) {
            broker.revoke(g.requestId(), CAROL, "incident over");
          } else {
            clock.set(g.expiresAt());
          }
          int read;
          try {
            read = live.getInputStream().read();
          } catch (IOException reset) {
            read = -1;
          }
          long cutMs = Duration.ofNanos(System.nanoTime() - t0).toMillis();
          assertEquals(-1, read, "the connection got data instead of being closed");
          Ssh.Result r = f.ssh.await(30);
          long exitMs = Duration.ofNanos(System.nanoTime() - t0).toMillis();
          clock.set(Instant.now());
          System.out.println("MEASURED " + end + " -> forwarded connection closed: " + cutMs + " ms, ssh -N exit: "
              + exitMs + " ms (check interval 250 ms)");
          assertNotEquals(0, r.exit, r::toString);
          assertThrows(IOException.class, () -> f.get("/"));
        }
      } finally {
        clock.set(Instant.now());
      }
      AuditEvent cut = awaitAudit(e -> gatewayEvent(e, g, "forward-close") && "true".equals(e.attributes().get("cut")),
          "the cut forward's close");
      assertEquals("web", cut.attributes().get("pod"));
      assertTrue(audit.events().stream().anyMatch(e -> gatewayEvent(e, g, "session-cut")
          && e.ruleId().orElse("").equals(end.equals("revoke") ? "broker:grant-state" : "broker:grant-expiry")));
    }
  }

  static void awaitOutput(Ssh.Started s, String needle) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!s.out.text().contains(needle)) {
      if (System.nanoTime() > deadline || !s.process.isAlive()) {
        throw new AssertionError("no " + needle + " from ssh; stdout " + s.out.text() + " stderr " + s.err.text());
      }
      Thread.sleep(50);
    }
  }

  static String unique(String s) {
    return s + "-" + UUID.randomUUID().toString().substring(0, 8);
  }
}
