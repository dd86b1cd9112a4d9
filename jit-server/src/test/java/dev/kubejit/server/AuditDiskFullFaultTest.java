package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kubejit.api.AuditException;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.audit.AuditKeys;
import dev.kubejit.audit.AuditVerifier;
import dev.kubejit.audit.FileAuditSink;
import dev.kubejit.audit.VerificationResult;
import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.credentials.GrantCredentialIssuer;
import dev.kubejit.credentials.KeyType;
import dev.kubejit.credentials.X509Issuer;
import dev.kubejit.policy.PolicyEngine;
import dev.kubejit.policy.PolicyFormat;
import dev.kubejit.policy.PolicyLoader;
import dev.kubejit.testing.FakeClock;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fault: the audit log's file system fills up. The log lives on a real tmpfs of 1 MiB (mounted
 * here; the suite runs as root), the broker is served through {@link BrokerHttpApi} with a real
 * {@link FileAuditSink}, and a filler file takes the remaining space. Every transition is then
 * refused with 503 {@code audit_unavailable} and changes nothing; the sink stays failed even when
 * space returns (fail closed); the write that hit the full disk leaves a torn last line, so a broker
 * opened as ServerWiring opens it refuses to start until the operator's step (verify: TORN_TAIL;
 * reopen with truncateTornTail); then the broker on the same store and log continues it, and the
 * whole log verifies with the public key and records each creation, activation and denial that was
 * answered 2xx, and nothing that was refused.
 */
class AuditDiskFullFaultTest {
  private static final String ALICE = "alice;oncall-payments";
  private static final String CAROL = "carol;sre-leads";
  @TempDir Path dir;
  private Path mount;
  private final FakeClock clock = new FakeClock(Instant.now().truncatedTo(ChronoUnit.SECONDS));
  private final RequestStore store = RequestStore.inMemory();
  private final KeyPair key = AuditKeys.generate();
  private BrokerHttpApi api;
  private int refusedUntilFull;
  private final List<FileAuditSink> sinks = new ArrayList<>();
  private final String CSR = csrBody();

  private static String csrBody() {
    try {
      return TestBroker.json("csr", TestBroker.csr("alice"));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @BeforeEach
  void mountTmpfs() throws Exception {
    mount = Files.createDirectory(dir.resolve("audit"));
    run("mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", mount.toString());
  }

  @AfterEach
  void unmount() throws Exception {
    for (FileAuditSink s : sinks) {
      try {
        s.close();
      } catch (RuntimeException ignored) {
        // closed already, or a failed sink that cannot seal; the mount goes anyway
      }
    }
    run("umount", "--lazy", mount.toString());
  }

  private static void run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail(String.join(" ", command) + " did not finish in 30 s");
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.exitValue() != 0) {
      fail(String.join(" ", command) + " failed (" + p.exitValue() + "): " + out
          + " — this fault test needs root and permission to mount a tmpfs (the CI container runs as root)");
    }
  }

  private FileAuditSink openSink() {
    // As ServerWiring opens it.
    FileAuditSink s = FileAuditSink.builder(mount.resolve("audit.jsonl")).signingKey(key).clock(clock).open();
    sinks.add(s);
    return s;
  }

  private BrokerHttpApi api(FileAuditSink sink) throws IOException {
    byte[] policy;
    try (InputStream in = AuditDiskFullFaultTest.class.getResourceAsStream("/test-policy.json")) {
      policy = in.readAllBytes();
    }
    CertificateAuthority ca = CertificateAuthority.builder().keyType(KeyType.ED25519).commonName("fault-ca")
        .validity(Duration.ofDays(2)).clock(clock).generate();
    JitBroker broker = JitBroker.builder().clock(clock)
        .policy(PolicyEngine.of(PolicyLoader.parse(policy, PolicyFormat.JSON, "test-policy.json", "t")))
        .store(store).auditSink(sink).rbacProvisioner(RbacProvisioner.inMemory())
        .credentialIssuer(GrantCredentialIssuer.builder().x509(X509Issuer.builder().authority(ca).clock(clock).build())
            .clock(clock).build())
        .build();
    return BrokerHttpApi.builder().broker(broker).authenticator(new DevHeaderAuthenticator("X-User")).build();
  }

  private HttpReply call(String method, String path, String user, String body) {
    return api.handle(HttpCall.of(method, path, null, body.getBytes(StandardCharsets.UTF_8),
        Presented.of(Map.of("X-User", user, "Content-Type", "application/json"), List.of(), "127.0.0.1")));
  }

  private JsonNode ok(int status, HttpReply r) throws IOException {
    assertEquals(status, r.status(), r.bodyText());
    return Json.MAPPER.readTree(r.body());
  }

  private void refused(HttpReply r) throws IOException {
    assertEquals(503, r.status(), r.bodyText());
    JsonNode e = Json.MAPPER.readTree(r.body()).path("error");
    assertEquals("audit_unavailable", e.path("code").asText(), r.bodyText());
    assertTrue(e.path("message").asText().contains("audit log is unavailable, so nothing was done"), r.bodyText());
  }

  private static String submit(String action) throws Exception {
    return TestBroker.json("role", "oncall-debug", "action", action, "cluster", "prod", "namespace", "payments",
        "duration", "PT20M", "ticket", "INC-1", "reason", "disk full test");
  }

  private String state(String id) throws IOException {
    return ok(200, call("GET", "/api/v1/requests/" + id, ALICE, "")).path("state").asText();
  }

  private static long fill(Path file) {
    long written = 0;
    byte[] block = new byte[4096];
    try (OutputStream out = Files.newOutputStream(file)) {
      while (true) {
        out.write(block);
        written += block.length;
      }
    } catch (IOException full) {
      return written;
    }
  }

  @Test
  void aFullAuditDiskRefusesEveryTransitionAndTheLogContinuesAndVerifiesAfterSpaceReturns() throws Exception {
    FileAuditSink sink = openSink();
    api = api(sink);
    String id = ok(201, call("POST", "/api/v1/requests", ALICE, submit("exec"))).path("id").asText();
    String other = ok(201, call("POST", "/api/v1/requests", ALICE, submit("exec"))).path("id").asText();
    ok(200, call("POST", "/api/v1/requests/" + id + "/approve", CAROL, ""));

    long filler = fill(mount.resolve("filler"));
    assertTrue(filler > 0, "the filler took the free space");
    // Records still fit into the log file's last allocated page; the first one that does not is refused.
    int created = 2;
    HttpReply r;
    while ((r = call("POST", "/api/v1/requests", ALICE, submit("logs"))).status() == 201) {
      created++;
      assertTrue(created < 60, "still recording after 60 requests on a full file system");
    }
    refused(r);
    refusedUntilFull = created - 2;
    // From then on every kind of transition is refused and changes nothing.
    refused(call("POST", "/api/v1/requests", ALICE, submit("logs")));
    refused(call("POST", "/api/v1/requests/" + id + "/activate", ALICE, CSR));
    refused(call("POST", "/api/v1/requests/" + other + "/approve", CAROL, ""));
    refused(call("POST", "/api/v1/requests/" + other + "/deny", CAROL, TestBroker.json("comment", "no")));
    assertEquals("APPROVED", state(id));
    assertEquals("PENDING_APPROVAL", state(other));
    assertEquals(created, ok(200, call("GET", "/api/v1/requests", ALICE, "")).path("items").size());

    // Space returns: this sink stays failed (fail closed, it cannot know what reached the disk) ...
    Files.delete(mount.resolve("filler"));
    refused(call("POST", "/api/v1/requests/" + id + "/activate", ALICE, CSR));
    assertEquals("APPROVED", state(id));
    try {
      sink.close();
    } catch (AuditException sealFailed) {
      // the seal of a failed sink may not be writable; the log stays unsealed, which the reopen recovers
    }
    // ... and the write that hit the full disk left a torn line, so a broker restarted as ServerWiring
    // opens the sink refuses to start until an operator verifies the log and truncates the torn tail.
    AuditException torn = org.junit.jupiter.api.Assertions.assertThrows(AuditException.class, this::openSink);
    assertTrue(torn.getMessage().contains("torn") && torn.getMessage().contains("truncateTornTail"), torn.getMessage());
    VerificationResult before = AuditVerifier.withPublicKey(key.getPublic())
        .verify(FileAuditSink.files(List.of(mount.resolve("audit.jsonl"))));
    assertEquals(VerificationResult.Status.TORN_TAIL, before.status(), before.toString());
    FileAuditSink reopened = FileAuditSink.builder(mount.resolve("audit.jsonl")).signingKey(key).clock(clock)
        .truncateTornTail().open();
    sinks.add(reopened);
    api = api(reopened);
    ok(200, call("POST", "/api/v1/requests/" + id + "/activate", ALICE, CSR));
    ok(200, call("POST", "/api/v1/requests/" + other + "/deny", CAROL, TestBroker.json("comment", "no")));
    ok(201, call("POST", "/api/v1/requests", ALICE, submit("logs")));
    assertEquals("ACTIVE", state(id));
    assertEquals("DENIED", state(other));
    reopened.close();

    VerificationResult v = AuditVerifier.withPublicKey(key.getPublic())
        .verify(FileAuditSink.files(List.of(mount.resolve("audit.jsonl"))));
    assertEquals(VerificationResult.Status.SEALED, v.status(), v.toString());
    Map<String, Integer> types = new java.util.TreeMap<>();
    for (String line : Files.readAllLines(mount.resolve("audit.jsonl"), StandardCharsets.UTF_8)) {
      JsonNode n = Json.MAPPER.readTree(line);
      if (n.has("requestId")) {
        types.merge(n.path("type").asText(), 1, Integer::sum);
      }
    }
    System.out.println("disk full: " + refusedUntilFull + " requests still fitted after the filler; audit records "
        + types);
    assertEquals(created + 1, types.get("REQUEST_CREATED"), "one record per request answered 201: " + types);
    assertEquals(1, types.get("GRANT_ACTIVATED"), "the one activation answered 200: " + types);
    assertEquals(1, types.get("REQUEST_DENIED"), "the one denial answered 200: " + types);
  }
}
