package dev.kubejit.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
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
import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.credentials.GrantCredentialIssuer;
import dev.kubejit.credentials.KeyType;
import dev.kubejit.credentials.X509Issuer;
import dev.kubejit.credentials.ssh.SshCertificateAuthority;
import dev.kubejit.credentials.ssh.SshCertificateRequest;
import dev.kubejit.policy.PolicyEngine;
import dev.kubejit.policy.PolicyLoader;
import dev.kubejit.testing.FakeClock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Login and host trust with the real OpenSSH client, no Kubernetes needed: the probe command is
 * {@code help}, which the gateway answers itself once the login is accepted. Every certificate that
 * is not exactly right, a plain key and password or keyboard-interactive logins are refused and
 * audited with their rule; a grant revoked in the broker is refused with a still-valid certificate;
 * the host certificate is trusted through one {@code @cert-authority} line with {@code
 * StrictHostKeyChecking yes}, and a host with a key certified by another CA is refused.
 */
class GatewayLoginTest {
  static final Identity ALICE = Identity.of("alice", "oncall-payments");
  static final Identity CAROL = Identity.of("carol", "sre-leads");
  static final String NS = "payments-gw";

  static Path dir;
  static FakeClock clock;
  static InMemoryAuditSink audit;
  static JitBroker broker;
  static SshCertificateAuthority sshCa;
  static CertificateAuthority x509Ca;
  static SshGateway gateway;
  static Ssh ssh;
  static Path aliceKey;

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("kubejit-gateway-login");
    clock = new FakeClock(Instant.now());
    audit = AuditSink.inMemory();
    sshCa = SshCertificateAuthority.generate(KeyType.ED25519, clock);
    // The grants' client certificates are real (the gateway builds a Kubernetes client per grant);
    // the API server they would be shown to does not exist.
    x509Ca = CertificateAuthority.builder().commonName("kubejit-gateway-login-test").validity(Duration.ofDays(2))
        .clock(clock).generate();
    broker = JitBroker.builder().clock(clock)
        .policy(PolicyEngine.of(PolicyLoader.load(GatewayKubeTest.projectFile(
            "jit-policy/src/test/resources/policies/payments-oncall.yaml"))))
        .store(RequestStore.inMemory()).auditSink(audit).rbacProvisioner(RbacProvisioner.inMemory())
        .credentialIssuer(GrantCredentialIssuer.builder().clock(clock)
            .x509(X509Issuer.builder().authority(x509Ca).clock(clock).build())
            .issuer(sshCa.forGrants()).build())
        .build();
    Path hostKey = keygen("host");
    String hostCert = sshCa.signHostCertificate(Files.readString(dir.resolve("host.pub")).strip(),
        List.of(Ssh.HOST_ALIAS), Duration.ofDays(1));
    gateway = gateway(hostKey, hostCert, audit);
    Path knownHosts = dir.resolve("known_hosts");
    Files.writeString(knownHosts, "@cert-authority " + Ssh.HOST_ALIAS + " " + sshCa.publicKeyLine() + "\n");
    ssh = new Ssh(gateway.port(), knownHosts);
    aliceKey = keygen("alice");
  }

  static SshGateway gateway(Path hostKey, String hostCert, AuditSink sink) {
    // Nothing listens at this API server: logins and help never need it.
    return SshGateway.builder().cluster("prod").broker(broker).auditSink(sink)
        .trustedUserCa(sshCa.publicKeyLine()).hostKeyFile(hostKey).hostCertificate(hostCert)
        .kubernetes("https://127.0.0.1:1", x509Ca.certificatePem()).recordings(dir.resolve("recordings"))
        .listen("127.0.0.1", 0).clock(clock).start();
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  static Path keygen(String name) throws IOException, InterruptedException {
    Path key = dir.resolve(name);
    Ssh.Result r = Ssh.exec(List.of("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key.toString()),
        null, 30);
    assertEquals(0, r.exit, r::toString);
    return key;
  }

  /** An approved, activated exec grant for alice with her certificate in {@code alice-<grant>-cert.pub}. */
  static Grant grant() throws Exception {
    return grant(Action.EXEC);
  }

  /** As {@link #grant()}, for {@code action}. */
  static Grant grant(Action action) throws Exception {
    RequestRecord r = broker.submit(AccessRequest.builder().requester(ALICE).role("oncall-debug").action(action)
        .scope(Scope.namespace("prod", NS)).ticket("INC-19").justification("issue 19 tests").build());
    if (r.state() != RequestState.APPROVED) {
      broker.approve(r.id(), CAROL, "ok");
      if (broker.find(r.id()).orElseThrow().state() != RequestState.APPROVED) {
        broker.approve(r.id(), Identity.of("dave", "sre-leads"), "ok");
      }
    }
    String pub = Files.readString(dir.resolve("alice.pub")).strip();
    var activation = broker.activate(r.id(), ALICE, CredentialSpec.sshUserCertificate(pub, Map.of()));
    Grant g = activation.grant();
    Files.writeString(certFile(g), activation.credentials().get(0).material());
    return g;
  }

  static Path certFile(Grant g) {
    return dir.resolve("alice-" + g.id().value() + "-cert.pub");
  }

  /** A certificate for alice's key naming grant {@code g}, signed by {@code ca} with its clock. */
  static Path cert(SshCertificateAuthority ca, Grant g, String name, String principal, Duration ttl, String sourceAddress)
      throws IOException {
    SshCertificateRequest.Builder b = SshCertificateRequest.builder()
        .publicKey(Files.readString(dir.resolve("alice.pub")).strip())
        .keyId("kubejit:request=" + g.requestId().value() + ":grant=" + g.id().value() + ":user=alice")
        .principals(principal).ttl(ttl);
    if (sourceAddress != null) {
      b.sourceAddresses(sourceAddress);
    }
    Path f = dir.resolve(name + "-cert.pub");
    Files.writeString(f, ca.sign(b.build()).line() + "\n");
    return f;
  }

  static long refusedDelta(GatewayMetrics before, GatewayMetrics after, String rule) {
    return after.connectionsRefused().getOrDefault(rule, 0L) - before.connectionsRefused().getOrDefault(rule, 0L);
  }

  static void assertLoginRefused(Ssh.Result r) {
    assertEquals(255, r.exit, r::toString);
    assertTrue(r.err.contains("Permission denied"), r::toString);
    assertFalse(r.out.contains("usage:"), r::toString);
  }

  static List<String> refusalsSince(int from) {
    List<AuditEvent> all = audit.events();
    return all.subList(from, all.size()).stream()
        .filter(e -> "connect".equals(e.attributes().get("gatewayEvent")) && e.ruleId().isPresent())
        .map(e -> e.ruleId().get() + " " + e.reason().orElse("")).toList();
  }

  @Test
  void theBrokersCertificateLogsInAndEachWrongCertificateIsRefusedAndAudited() throws Exception {
    Grant g = grant();
    GatewayMetrics m0 = gateway.metrics();
    Ssh.Result ok = ssh.run(ssh.base("alice", aliceKey, certFile(g)), null, "help");
    assertEquals(0, ok.exit, ok::toString);
    assertTrue(ok.out.contains("exec POD"), ok::toString);
    AuditEvent connect = audit.events().stream()
        .filter(e -> "connect".equals(e.attributes().get("gatewayEvent")) && e.ruleId().isEmpty())
        .reduce((a, b) -> b).orElseThrow();
    assertEquals(g.id(), connect.grantId().orElseThrow());
    assertTrue(connect.attributes().get("certificateKeyId").contains(":grant=" + g.id().value() + ":"));
    assertTrue(connect.attributes().get("sourceAddress").startsWith("127.0.0.1:"));
    assertTrue(connect.attributes().get("sshSessionId").matches("[0-9a-f]{40,}"), connect::toString);
    assertFalse(connect.attributes().get("certificateSerial").isEmpty());

    Instant now = clock.instant();
    Object[][] cases = {
      {cert(sshCa.withClock(Clock.fixed(now.minus(Duration.ofHours(2)), ZoneOffset.UTC)), g, "expired", "alice",
          Duration.ofMinutes(30), null), "alice", "expired at"},
      {cert(sshCa.withClock(Clock.fixed(now.plus(Duration.ofHours(2)), ZoneOffset.UTC)), g, "future", "alice",
          Duration.ofMinutes(30), null), "alice", "is not valid before"},
      {cert(sshCa, g, "bob", "bob", Duration.ofMinutes(30), null), "alice", "is not valid for principal"},
      {cert(sshCa, g, "bob2", "bob", Duration.ofMinutes(30), null), "bob", "does not hold grant"},
      {cert(SshCertificateAuthority.generate(KeyType.ED25519, clock), g, "wrong-ca", "alice", Duration.ofMinutes(30),
          null), "alice", "untrusted CA"},
      {cert(sshCa, g, "elsewhere", "alice", Duration.ofMinutes(30), "10.99.0.0/16"), "alice", "source-address"},
      {null, "alice", "plain public keys are refused"},
    };
    for (Object[] c : cases) {
      int before = audit.events().size();
      Ssh.Result r = ssh.run(ssh.base((String) c[1], aliceKey, (Path) c[0]), null, "help");
      assertLoginRefused(r);
      List<String> rules = refusalsSince(before);
      String needle = (String) c[2];
      assertTrue(rules.stream().anyMatch(x -> x.contains(needle)), needle + " not in " + rules + " for " + c[0]);
    }
    // The same source-address rule with our own address is accepted.
    Path here = cert(sshCa, g, "here", "alice", Duration.ofMinutes(30), "127.0.0.1/32");
    assertEquals(0, ssh.run(ssh.base("alice", aliceKey, here), null, "help").exit);

    // The counters saw the same: two logins, and each refusal under its rule.
    GatewayMetrics m1 = gateway.metrics();
    assertEquals(2, m1.connectionsAccepted() - m0.connectionsAccepted(), m1::toString);
    // OpenSSH offers the plain key after a refused certificate, so each case may add one of these too.
    assertTrue(refusedDelta(m0, m1, "gateway:certificate-required") >= 1, m1::toString);
    assertEquals(1, refusedDelta(m0, m1, "broker:holder"), m1::toString);
    assertEquals(5, refusedDelta(m0, m1, "gateway:certificate"), m1::toString);
    assertEquals(0, m1.commandsAllowed() - m0.commandsAllowed(), "help is not a command that reaches a pod");
  }

  @Test
  void passwordAndKeyboardInteractiveAreNotOffered() throws Exception {
    List<String> password = new ArrayList<>(ssh.base("alice", null, null));
    password.addAll(List.of("-o", "PreferredAuthentications=password,keyboard-interactive", "-o",
        "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1"));
    Ssh.Result pw = ssh.run(password, null, "help");
    assertEquals(255, pw.exit, pw::toString);
    assertTrue(pw.err.contains("Permission denied (publickey)"), pw::toString);
  }

  @Test
  void aRevokedGrantIsRefusedWithAStillValidCertificate() throws Exception {
    Grant g = grant();
    assertEquals(0, ssh.run(ssh.base("alice", aliceKey, certFile(g)), null, "help").exit);
    broker.revoke(g.requestId(), CAROL, "incident over");
    int before = audit.events().size();
    assertLoginRefused(ssh.run(ssh.base("alice", aliceKey, certFile(g)), null, "help"));
    assertTrue(refusalsSince(before).stream().anyMatch(r -> r.startsWith("broker:grant-state") && r.contains("revoked")),
        () -> refusalsSince(before).toString());
  }

  @Test
  void aHostWithAKeyCertifiedByAnotherCaIsRefusedWithStrictHostKeyChecking() throws Exception {
    Grant g = grant();
    SshCertificateAuthority mallory = SshCertificateAuthority.generate(KeyType.ED25519, clock);
    Path key = keygen("impostor");
    String cert = mallory.signHostCertificate(Files.readString(dir.resolve("impostor.pub")).strip(),
        List.of(Ssh.HOST_ALIAS), Duration.ofDays(1));
    try (SshGateway impostor = gateway(key, cert, AuditSink.inMemory())) {
      Ssh spoofed = new Ssh(impostor.port(), ssh.knownHosts);
      Ssh.Result r = spoofed.run(spoofed.base("alice", aliceKey, certFile(g)), null, "help");
      assertEquals(255, r.exit, r::toString);
      assertTrue(r.err.contains("Host key verification failed"), r::toString);
      assertFalse(r.out.contains("usage:"), r::toString);
    }
    // A plain host key (no certificate) is not trusted either: known_hosts has only the @cert-authority line.
    Ssh.Result ok = ssh.run(ssh.base("alice", aliceKey, certFile(g)), null, "help");
    assertEquals(0, ok.exit, ok::toString);
  }

  @Test
  void anIdleLineModeSessionIsClosedWithAMessageWhenTheGrantIsRevoked() throws Exception {
    Grant g = grant();
    List<String> opts = new ArrayList<>(ssh.base("alice", aliceKey, certFile(g)));
    opts.addAll(List.of("-T", "127.0.0.1"));
    Process p = new ProcessBuilder(opts).start();
    Ssh.Drain out = new Ssh.Drain(p.getInputStream());
    Ssh.Drain err = new Ssh.Drain(p.getErrorStream());
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!out.text().contains("kubejit> ")) {
      assertTrue(System.nanoTime() < deadline && p.isAlive(), () -> "no prompt: " + out.text() + err.text());
      Thread.sleep(20);
    }
    GatewayMetrics m0 = gateway.metrics();
    assertTrue(m0.liveSessions() >= 1, m0::toString);
    long t0 = System.nanoTime();
    broker.revoke(g.requestId(), CAROL, "incident over");
    assertTrue(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS), "the session stayed open after the revocation");
    long ms = Duration.ofNanos(System.nanoTime() - t0).toMillis();
    GatewayMetrics m1 = gateway.metrics();
    assertEquals(1, m1.sessionsCutAtRevocation() - m0.sessionsCutAtRevocation(), m1::toString);
    assertEquals(0, m1.sessionsCutAtExpiry() - m0.sessionsCutAtExpiry(), m1::toString);
    err.finish();
    assertEquals(Runner.EXIT_REFUSED, p.exitValue(), () -> out.text() + err.text());
    assertTrue(err.text().contains("session closed") && err.text().contains("broker:grant-state"), err::text);
    System.out.println("MEASURED revoke -> idle line-mode ssh exit: " + ms + " ms (check interval 1 s)");
    assertTrue(audit.events().stream().anyMatch(e -> g.id().equals(e.grantId().orElse(null))
        && "session-cut".equals(e.attributes().get("gatewayEvent"))));
    p.getOutputStream().close();
  }

  /**
   * Decisions come before Kubernetes: this gateway's API server does not exist, so a command that
   * is allowed fails with 69 (unavailable), while every command of the bypass corpus is refused
   * with its rule and 77 without any attempt to reach Kubernetes (no execution record).
   */
  @Test
  void theBypassCorpusIsRefusedWithItsRuleBeforeKubernetesIsContacted() throws Exception {
    Grant g = grant();
    List<String> as = ssh.base("alice", aliceKey, certFile(g));
    GatewayMetrics m0 = gateway.metrics();
    Ssh.Result allowed = ssh.run(as, null, "exec web -- cat /var/log/app.log");
    assertEquals(Runner.EXIT_UNAVAILABLE, allowed.exit, allowed::toString);
    String[][] corpus = {
      {"read-logs", "cat", "/etc/shadow"},
      {"default-deny", "sh", "-c", "id"},
      {"default-deny", "/bin/sh"},
      {"command-syntax", "cat", "/var/log/app.log; id"},
      {"command-syntax", "cat", "$(id)"},
      {"read-logs", "cat", "/var/log/app.log", "/etc/shadow"},
      {"default-deny", "env", "X=1", "cat", "/var/log/app.log"},
      {"search-logs", "grep", "-e", "root", "/etc/shadow"},
    };
    int before = audit.events().size();
    for (String[] c : corpus) {
      String[] argv = java.util.Arrays.copyOfRange(c, 1, c.length);
      Ssh.Result r = ssh.run(as, null, "exec web -- " + Ssh.quote(argv));
      assertEquals(Runner.EXIT_REFUSED, r.exit, r::toString);
      assertTrue(r.err.contains("kubejit: refused by rule " + c[0] + ":"), r::toString);
    }
    Ssh.Result stdin = ssh.run(as, "x", "exec web -i -- cat /var/log/app.log");
    assertEquals(Runner.EXIT_REFUSED, stdin.exit, stdin::toString);
    assertTrue(stdin.err.contains("stdin requested"), stdin::toString);
    List<AuditEvent> after = audit.events().subList(before, audit.events().size());
    assertTrue(after.stream().noneMatch(e -> "execution".equals(e.attributes().get("gatewayEvent"))), after::toString);
    assertEquals(corpus.length, after.stream().filter(e -> e.type() == dev.kubejit.api.AuditEventType.COMMAND_DENIED
        && g.id().equals(e.grantId().orElse(null))).count(), after::toString);
    GatewayMetrics m1 = gateway.metrics();
    assertEquals(1, m1.commandsAllowed() - m0.commandsAllowed(), m1::toString);
    assertEquals(corpus.length + 1, m1.commandsRefused() - m0.commandsRefused(), m1::toString);

    // A pod-pinned grant refuses other pods.
    RequestRecord r = broker.submit(AccessRequest.builder().requester(ALICE).role("oncall-debug").action(Action.EXEC)
        .scope(Scope.namespace("prod", NS).withPod("web")).ticket("INC-19").justification("pinned").build());
    broker.approve(r.id(), CAROL, "ok");
    var activation = broker.activate(r.id(), ALICE, CredentialSpec.sshUserCertificate(
        Files.readString(dir.resolve("alice.pub")).strip(), Map.of()));
    Path pinned = dir.resolve("pinned-cert.pub");
    Files.writeString(pinned, activation.credentials().get(0).material());
    Ssh.Result other = ssh.run(ssh.base("alice", aliceKey, pinned), null, "exec web-2 -- cat /var/log/app.log");
    assertEquals(Runner.EXIT_REFUSED, other.exit, other::toString);
    assertTrue(other.err.contains("refused by rule broker:pod-scope"), other::toString);
  }

  @Test
  void forwardsAreDecidedPerChannelAndRefusedWithTheRuleInTheOpenFailure() throws Exception {
    // An exec grant: the policy refuses the portforward use (the broker audits it).
    Grant exec = grant();
    try (Ssh.Forwarding f = ssh.forward(ssh.base("alice", aliceKey, certFile(exec), "INFO"), "web." + NS + ":8080")) {
      assertTrue(f.listening, f.ssh.err::text);
      assertEquals(-1, f.connectAndRead());
      f.awaitStderr("open failed: administratively prohibited: kubejit: refused by rule oncall-debug/actions:");
    }
    assertTrue(audit.events().stream().anyMatch(e -> exec.id().equals(e.grantId().orElse(null))
        && e.type() == AuditEventType.USE_DENIED && e.action().map(Action.PORT_FORWARD::equals).orElse(false)
        && "oncall-debug/actions".equals(e.ruleId().orElse(null)) && "web".equals(e.attributes().get("pod"))));
    // A portforward grant: hosts that are not a pod of the grant's namespace never reach the policy.
    Grant pf = grant(Action.PORT_FORWARD);
    for (String target : List.of("127.0.0.1:" + gateway.port(), "web.default:8080", "web.payments-gw.svc:8080",
        "web.v1:8080")) {
      try (Ssh.Forwarding f = ssh.forward(ssh.base("alice", aliceKey, certFile(pf), "INFO"), target)) {
        assertTrue(f.listening, f.ssh.err::text);
        assertEquals(-1, f.connectAndRead());
        f.awaitStderr("kubejit: refused by rule gateway:forward-target:");
      }
    }
    assertEquals(4, audit.events().stream().filter(e -> pf.id().equals(e.grantId().orElse(null))
        && "decision".equals(e.attributes().get("gatewayEvent"))
        && "gateway:forward-target".equals(e.ruleId().orElse(null))).count());
    // Allowed by the policy, but this gateway's API server does not answer: connect failed, and audited.
    try (Ssh.Forwarding f = ssh.forward(ssh.base("alice", aliceKey, certFile(pf), "INFO"), "web." + NS + ":8080")) {
      assertEquals(-1, f.connectAndRead());
      f.awaitStderr("open failed: connect failed: kubejit: refused by rule gateway:kubernetes:");
    }
    AuditEvent failed = audit.events().stream().filter(e -> pf.id().equals(e.grantId().orElse(null))
        && "forward-close".equals(e.attributes().get("gatewayEvent"))).findFirst().orElseThrow();
    assertEquals("false", failed.attributes().get("opened"));
    assertEquals("web", failed.attributes().get("pod"));
    // Remote forwarding stays refused.
    List<String> remote = new ArrayList<>(ssh.base("alice", aliceKey, certFile(pf), "INFO"));
    remote.addAll(List.of("-N", "-o", "ExitOnForwardFailure=yes", "-R", "127.0.0.1:0:127.0.0.1:22"));
    Ssh.Result r = ssh.run(remote, null, null);
    assertEquals(255, r.exit, r::toString);
    assertTrue(r.err.contains("remote port forwarding failed"), r::toString);
  }

  /** A certificate for alice's key naming grant {@code g}, signed by ssh-keygen with the test CA and {@code -O option}. */
  static Path keygenCert(Grant g, String name, String option) throws Exception {
    Path caDir = dir.resolve("ssh-keygen-ca");
    if (!Files.exists(caDir.resolve("ssh_ca"))) {
      Files.createDirectories(caDir);
      sshCa.writeTo(caDir);
    }
    Path pub = dir.resolve(name + ".pub");
    Files.copy(dir.resolve("alice.pub"), pub);
    Ssh.Result r = Ssh.exec(List.of("ssh-keygen", "-q", "-s", caDir.resolve("ssh_ca").toString(), "-I",
        "kubejit:request=" + g.requestId().value() + ":grant=" + g.id().value() + ":user=alice", "-n", "alice",
        "-V", "-5m:+30m", "-O", option, pub.toString()), null, 30);
    assertEquals(0, r.exit, r::toString);
    return dir.resolve(name + "-cert.pub");
  }

  /**
   * Critical options the gateway cannot honour: {@code force-command} (the project's own builder) and
   * {@code verify-required} (ssh-keygen) are refused by the gateway with rule {@code gateway:critical-option};
   * an option OpenSSH does not define is refused by the shared verifier ({@code gateway:certificate}). Each
   * certificate is otherwise right: signed by the trusted CA, for alice, naming her active grant.
   */
  @Test
  void certificatesWithCriticalOptionsTheGatewayCannotHonourAreRefusedAndAudited() throws Exception {
    Grant g = grant();
    Path forced = dir.resolve("forced-cert.pub");
    Files.writeString(forced, sshCa.sign(SshCertificateRequest.builder()
        .publicKey(Files.readString(dir.resolve("alice.pub")).strip())
        .keyId("kubejit:request=" + g.requestId().value() + ":grant=" + g.id().value() + ":user=alice")
        .principals("alice").ttl(Duration.ofMinutes(30)).forceCommand("help").build()).line() + "\n");
    Object[][] cases = {
      {forced, "gateway:critical-option", "\"force-command\""},
      {keygenCert(g, "verify", "verify-required"), "gateway:critical-option", "\"verify-required\""},
      {keygenCert(g, "unknown", "critical:kubejit-unknown=1"), "gateway:certificate",
          "unknown critical option \"kubejit-unknown\""},
    };
    GatewayMetrics m0 = gateway.metrics();
    for (Object[] c : cases) {
      int before = audit.events().size();
      Ssh.Result r = ssh.run(ssh.base("alice", aliceKey, (Path) c[0]), null, "help");
      assertLoginRefused(r);
      List<String> rules = refusalsSince(before);
      assertTrue(rules.stream().anyMatch(x -> x.startsWith(c[1] + " ") && x.contains((String) c[2])),
          c[1] + " " + c[2] + " not in " + rules);
      AuditEvent refused = audit.events().subList(before, audit.events().size()).stream()
          .filter(e -> c[1].equals(e.ruleId().orElse(null))).findFirst().orElseThrow();
      assertEquals(AuditEventType.USE_DENIED, refused.type(), refused::toString);
      assertTrue(refused.attributes().get("certificateKeyId").contains(":grant=" + g.id().value() + ":"),
          refused::toString);
    }
    GatewayMetrics m1 = gateway.metrics();
    assertEquals(2, refusedDelta(m0, m1, "gateway:critical-option"), m1::toString);
    assertEquals(1, refusedDelta(m0, m1, "gateway:certificate"), m1::toString);
    assertEquals(0, m1.connectionsAccepted() - m0.connectionsAccepted(), m1::toString);
    // The same grant's plain certificate still logs in: nothing was changed by the refusals.
    assertEquals(0, ssh.run(ssh.base("alice", aliceKey, certFile(g)), null, "help").exit);
  }

  /**
   * A PTY request is accepted and ignored: {@code ssh -tt} without a command gets line mode (the
   * prompt, the gateway's own commands, no shell), and with a command runs that command as without
   * a PTY. No TTY reaches a pod (GatewayKubeTest checks the API server's exec request).
   */
  @Test
  void aPtyRequestGetsLineModeAndNoShell() throws Exception {
    Grant g = grant();
    List<String> tty = new ArrayList<>(ssh.base("alice", aliceKey, certFile(g)));
    tty.add("-tt");
    Ssh.Result line = ssh.run(tty, "help\nsh\nexit\n", null);
    assertEquals(0, line.exit, line::toString);
    assertTrue(line.out.contains("there is no shell") && line.out.contains("kubejit> "), line::toString);
    assertTrue(line.out.contains("exec POD"), line::toString);
    // "sh" is not a command of the language: a usage error, the line loop goes on to "exit"
    assertTrue(line.err.contains("kubejit: ") && line.err.contains("usage:"), line::toString);
    Ssh.Result one = ssh.run(tty, null, "help");
    assertEquals(0, one.exit, one::toString);
    assertTrue(one.out.contains("exec POD"), one::toString);
    Ssh.Result shell = ssh.run(tty, null, "bash");
    assertEquals(Runner.EXIT_USAGE, shell.exit, shell::toString);
  }

  /**
   * The grant's Kubernetes client (made for its first command) is dropped when the grant ends and
   * the sweep cuts its session; and a client whose certificate has ended is dropped by the next
   * sweep even when no session is open.
   */
  @Test
  void theGrantsKubernetesClientIsDroppedWhenTheGrantEnds() throws Exception {
    Grant g = grant();
    List<String> opts = new ArrayList<>(ssh.base("alice", aliceKey, certFile(g)));
    opts.addAll(List.of("-T", "127.0.0.1"));
    Process p = new ProcessBuilder(opts).start();
    Ssh.Drain out = new Ssh.Drain(p.getInputStream());
    Ssh.Drain err = new Ssh.Drain(p.getErrorStream());
    try {
      awaitText(out, "kubejit> ", p, err);
      assertFalse(gateway.holdsClientFor(g.id()));
      // Allowed by the policy; the client is made, and the API server (none listens) is not reached.
      p.getOutputStream().write("exec web -- cat /var/log/app.log\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
      p.getOutputStream().flush();
      awaitText(err, "failed", p, out);
      assertTrue(gateway.holdsClientFor(g.id()), () -> out.text() + err.text());
      broker.revoke(g.requestId(), CAROL, "incident over");
      assertTrue(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS), "the session stayed open after the revocation");
      assertFalse(gateway.holdsClientFor(g.id()), "the revoked grant's client is still held");
    } finally {
      p.destroy();
    }

    // No session open when the grant's window ends: the client goes with its certificate.
    Grant h = grant();
    Ssh.Result r = ssh.run(ssh.base("alice", aliceKey, certFile(h)), null, "exec web -- cat /var/log/app.log");
    assertEquals(Runner.EXIT_UNAVAILABLE, r.exit, r::toString);
    assertTrue(gateway.holdsClientFor(h.id()));
    Instant now = clock.instant();
    try {
      clock.set(h.expiresAt().plusSeconds(1));
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (gateway.holdsClientFor(h.id())) {
        assertTrue(System.nanoTime() < deadline, "the ended grant's client is still held");
        Thread.sleep(50);
      }
    } finally {
      clock.set(now);
    }
  }

  static void awaitText(Ssh.Drain d, String needle, Process p, Ssh.Drain other) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!d.text().contains(needle)) {
      assertTrue(System.nanoTime() < deadline && p.isAlive(), () -> "no " + needle + ": " + d.text() + other.text());
      Thread.sleep(20);
    }
  }
}
