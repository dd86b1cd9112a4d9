package dev.kubejit.server;

import static dev.kubejit.server.FaultRig.ALICE;
import static dev.kubejit.server.FaultRig.CAROL;
import static dev.kubejit.server.FaultRig.assertUnavailable;
import static dev.kubejit.server.FaultRig.ok;
import static dev.kubejit.server.FaultRig.submit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.audit.AuditKeys;
import dev.kubejit.audit.AuditVerifier;
import dev.kubejit.audit.FileAuditSink;
import dev.kubejit.audit.VerificationResult;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
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
 * refused with 503 {@code audit_unavailable} and changes nothing; each refused write is cut back to
 * the last acknowledged record, so the log on the full disk verifies (no torn line). When space
 * returns, the same broker and sink, not restarted, go on; the log is sealed, reopened as
 * ServerWiring opens it, and the whole log verifies with the public key and records each creation,
 * activation and denial that was answered 2xx, and nothing that was refused.
 */
class AuditDiskFullFaultTest {
  @TempDir Path dir;
  private Path mount;
  private final FaultRig rig = new FaultRig();
  private final RequestStore store = RequestStore.inMemory();
  private final KeyPair key = AuditKeys.generate();
  private int refusedUntilFull;
  private final List<FileAuditSink> sinks = new ArrayList<>();

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
    FileAuditSink s = FileAuditSink.builder(mount.resolve("audit.jsonl")).signingKey(key).clock(rig.clock).open();
    sinks.add(s);
    return s;
  }

  private void refused(HttpReply r) throws IOException {
    assertUnavailable(r, "audit_unavailable", "audit log is unavailable, so nothing was done");
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
    rig.start(store, sink);
    String id = ok(201, rig.call("POST", "/api/v1/requests", ALICE, submit("exec", "disk full test"))).path("id").asText();
    String other = ok(201, rig.call("POST", "/api/v1/requests", ALICE, submit("exec", "disk full test"))).path("id").asText();
    ok(200, rig.call("POST", "/api/v1/requests/" + id + "/approve", CAROL, ""));

    long filler = fill(mount.resolve("filler"));
    assertTrue(filler > 0, "the filler took the free space");
    // Records still fit into the log file's last allocated page; the first one that does not is refused.
    int created = 2;
    HttpReply r;
    while ((r = rig.call("POST", "/api/v1/requests", ALICE, submit("logs", "disk full test"))).status() == 201) {
      created++;
      assertTrue(created < 60, "still recording after 60 requests on a full file system");
    }
    refused(r);
    refusedUntilFull = created - 2;
    // From then on every kind of transition is refused and changes nothing.
    refused(rig.call("POST", "/api/v1/requests", ALICE, submit("logs", "disk full test")));
    refused(rig.call("POST", "/api/v1/requests/" + id + "/activate", ALICE, rig.csr));
    refused(rig.call("POST", "/api/v1/requests/" + other + "/approve", CAROL, ""));
    refused(rig.call("POST", "/api/v1/requests/" + other + "/deny", CAROL, TestBroker.json("comment", "no")));
    assertEquals("APPROVED", rig.state(id));
    assertEquals("PENDING_APPROVAL", rig.state(other));
    assertEquals(created, ok(200, rig.call("GET", "/api/v1/requests", ALICE, "")).path("items").size());

    // Every refused write was cut back: the log on the full disk is a valid chain with no torn line.
    VerificationResult full = AuditVerifier.withPublicKey(key.getPublic())
        .verify(FileAuditSink.files(List.of(mount.resolve("audit.jsonl"))));
    assertEquals(VerificationResult.Status.OPEN, full.status(), full.toString());

    // Space returns: the same broker and sink, not restarted, go on.
    Files.delete(mount.resolve("filler"));
    ok(200, rig.call("POST", "/api/v1/requests/" + id + "/activate", ALICE, rig.csr));
    ok(200, rig.call("POST", "/api/v1/requests/" + other + "/deny", CAROL, TestBroker.json("comment", "no")));
    ok(201, rig.call("POST", "/api/v1/requests", ALICE, submit("logs", "disk full test")));
    assertEquals("ACTIVE", rig.state(id));
    assertEquals("DENIED", rig.state(other));
    sink.close();
    // and a broker restarted as ServerWiring opens the sink (no torn-tail step) continues the log
    FileAuditSink reopened = openSink();
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
