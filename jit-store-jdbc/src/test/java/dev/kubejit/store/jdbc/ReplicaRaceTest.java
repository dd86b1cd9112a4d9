package dev.kubejit.store.jdbc;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.Scope;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.audit.AuditKeys;
import dev.kubejit.audit.AuditQuery;
import dev.kubejit.audit.AuditRecord;
import dev.kubejit.audit.AuditVerifier;
import dev.kubejit.audit.FileAuditSink;
import dev.kubejit.audit.VerificationResult;
import dev.kubejit.testing.FakeClock;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.RbacAuthorizationV1Api;
import io.kubernetes.client.openapi.models.V1Role;
import io.kubernetes.client.openapi.models.V1RoleBinding;
import dev.kubejit.testing.PostgresServer;
import dev.kubejit.testing.PostgresTest;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two brokers in separate JVMs share one PostgreSQL store and race on the same 500 requests:
 * approve, deny, activate and revoke from both sides in the same order, then both sweep expiry at
 * the same instant. Every request ends in exactly one terminal state, none is activated twice,
 * the RBAC each grant got is exactly one provisioning (a losing activation's provisioning is
 * removed again), each replica's signed audit chain verifies, and across the chains every request
 * has exactly one effective ending.
 *
 * <p>RBAC is real: each replica's {@code KubernetesRbacProvisioner} makes Roles and RoleBindings on
 * the test control plane, counted there after the race and after the sweep; each replica also
 * reports its provision and removal calls, counted across both JVMs.
 */
@PostgresTest
class ReplicaRaceTest {
  private static final int REQUESTS = 500;
  private static final Instant T0 = Instant.parse("2026-06-01T09:00:00Z");
  private static final Duration DEADLINE = Duration.ofMinutes(8);
  private static final String EOF = "\u0000eof";
  private static final String GRANT_LABEL = "kubejit.dev/grant-id";
  private static final Set<AuditEventType> ENDINGS = EnumSet.of(AuditEventType.REQUEST_DENIED,
      AuditEventType.REQUEST_EXPIRED, AuditEventType.REQUEST_REVOKED, AuditEventType.GRANT_EXPIRED,
      AuditEventType.GRANT_REVOKED, AuditEventType.GRANT_RECONCILED);

  @TempDir Path dir;

  @Test
  @KubeTest
  void twoReplicasInSeparateJvmsRaceOnFiveHundredRequests(PostgresServer server, KubeControlPlane cp)
      throws Exception {
    cp.ensureNamespace("payments");
    race(server, cp);
  }

  /** Grant id to the number of RoleBindings and Roles labelled with it in namespace payments. */
  private static Map<String, Integer> rbacObjects(KubeControlPlane cp) throws ApiException {
    RbacAuthorizationV1Api api = new RbacAuthorizationV1Api(cp.adminClient());
    Map<String, Integer> out = new HashMap<>();
    for (V1RoleBinding b : api.listNamespacedRoleBinding("payments").labelSelector(GRANT_LABEL).execute().getItems()) {
      out.merge(b.getMetadata().getLabels().get(GRANT_LABEL), 1, Integer::sum);
    }
    for (V1Role r : api.listNamespacedRole("payments").labelSelector(GRANT_LABEL).execute().getItems()) {
      out.merge(r.getMetadata().getLabels().get(GRANT_LABEL), 1, Integer::sum);
    }
    return out;
  }

  private void race(PostgresServer server, KubeControlPlane cp) throws Exception {
    Backings.Postgres db = new Backings.Postgres(server, dir);
    KeyPair key = AuditKeys.generate();
    Path keyFile = AuditKeys.writePrivateKey(key.getPrivate(), dir.resolve("audit.key"));
    Path setupLog = dir.resolve("setup.log");
    Path requestsFile = dir.resolve("requests.txt");
    List<String> lines = new ArrayList<>();
    try (JdbcRequestStore store = db.open();
         FileAuditSink audit = FileAuditSink.builder(setupLog).signingKey(key).clock(new FakeClock(T0)).open()) {
      JitBroker setup = JitBroker.builder().clock(new FakeClock(T0)).store(store).auditSink(audit)
          .rbacProvisioner(RbacProvisioner.inMemory()).policy(ReplicaMain.policy())
          .requestTimeout(Duration.ofHours(2)).build();
      for (int i = 0; i < REQUESTS; i++) {
        String user = "engineer" + (i % 25);
        RequestRecord r = setup.submit(AccessRequest.builder().requester(ReplicaMain.requester(user))
            .role("oncall-debug").action(i % 5 == 0 ? Action.LOGS : Action.EXEC)
            .scope(Scope.namespace("prod", "payments")).duration(Duration.ofMinutes(30)).ticket("INC-" + i).build());
        lines.add(r.id().value() + " " + user);
      }
    }
    Files.write(requestsFile, lines);

    Path kubeconfig = cp.adminKubeconfig();
    Replica a = Replica.start(db, dir, keyFile, requestsFile, "a", 11, kubeconfig);
    Replica b = Replica.start(db, dir, keyFile, requestsFile, "b", 22, kubeconfig);
    Map<String, Integer> provisioned = new HashMap<>();
    Map<String, Integer> deprovisioned = new HashMap<>();
    Map<String, List<String>> activations = new HashMap<>();
    try {
      a.await("ready");
      b.await("ready");
      a.send("race");
      b.send("race");
      for (Replica r : List.of(a, b)) {
        r.await("raced");
      }
      for (Replica r : List.of(a, b)) {
        r.tally(provisioned, deprovisioned, activations);
      }
      try (JdbcRequestStore store = db.open()) {
        // After the race: exactly the active grants hold RBAC, each provisioned once.
        Set<String> active = store.list(EnumSet.of(RequestState.ACTIVE)).stream()
            .map(r -> r.grant().orElseThrow().id().value()).collect(Collectors.toSet());
        assertEquals(active, live(provisioned, deprovisioned), "RBAC is held by exactly the active grants");
        assertTrue(active.size() > 0 && active.size() < REQUESTS, "the race left some, not all, active: " + active.size());
        Map<String, Integer> objects = rbacObjects(cp);
        assertEquals(active, objects.keySet(), "Roles and RoleBindings exist for exactly the active grants");
        objects.forEach((g, n) -> assertEquals(2, n, "grant " + g + " has one Role and one RoleBinding"));
        int open = store.list(EnumSet.of(RequestState.PENDING_APPROVAL, RequestState.APPROVED, RequestState.ACTIVE)).size();

        String later = T0.plus(Duration.ofDays(1)).toString();
        a.send("sweep " + later);
        b.send("sweep " + later);
        int swept = 0;
        for (Replica r : List.of(a, b)) {
          swept += Integer.parseInt(r.await("swept").substring("swept ".length()));
        }
        assertEquals(open, swept, "both replicas swept at once; each open request was expired exactly once");
        System.out.println("replica race: " + active.size() + " active after the race, " + open + " open, swept " + swept);
      }
      a.send("exit");
      b.send("exit");
      for (Replica r : List.of(a, b)) {
        r.await("bye");
        r.tally(provisioned, deprovisioned, activations);
        assertEquals(0, r.exit(), r.name + " exited cleanly");
      }
    } finally {
      a.kill();
      b.kill();
    }

    try (JdbcRequestStore store = db.open()) {
      List<RequestRecord> all = store.list(EnumSet.allOf(RequestState.class));
      assertEquals(REQUESTS, all.size());
      Map<String, String> grantOf = new HashMap<>();
      for (RequestRecord r : all) {
        assertTrue(r.state().isTerminal(), r.id() + " ended: " + r.state());
        List<String> acts = activations.getOrDefault(r.id().value(), List.of());
        assertTrue(acts.size() <= 1, r.id() + " activated " + acts.size() + " times");
        if (r.grant().isPresent()) {
          String g = r.grant().orElseThrow().id().value();
          assertEquals(List.of(g), acts, "the stored grant of " + r.id() + " is the one activation that won");
          grantOf.put(r.id().value(), g);
        } else {
          assertEquals(List.of(), acts, r.id() + " was never activated");
        }
      }
      assertTrue(!grantOf.isEmpty(), "some requests were activated");
      provisioned.forEach((g, n) -> assertEquals(1, n, "grant " + g + " provisioned once"));
      assertTrue(provisioned.keySet().containsAll(grantOf.values()), "every grant got its RBAC");
      assertEquals(Set.of(), live(provisioned, deprovisioned), "no RBAC left after every grant ended");
      assertEquals(Map.of(), rbacObjects(cp), "no Role or RoleBinding left after every grant ended");
    } finally {
      db.close();
    }

    // Each replica's chain verifies; across the chains each request has one effective ending and
    // at most one effective activation (events of a losing write are marked aborted).
    List<AuditEvent> events = new ArrayList<>();
    for (String log : List.of("setup.log", "a.log", "b.log")) {
      List<Path> files = FileAuditSink.files(List.of(dir.resolve(log)));
      VerificationResult v = AuditVerifier.withPublicKey(key.getPublic()).verify(files);
      assertTrue(v.isOk(false), log + ": " + v);
      for (AuditRecord r : AuditQuery.builder().build().run(files).records()) {
        r.event().ifPresent(events::add);
      }
    }
    Set<String> aborted = new HashSet<>();
    for (AuditEvent e : events) {
      if (e.type() == AuditEventType.TRANSITION_ABORTED) {
        aborted.addAll(List.of(e.attributes().get("abortedEventIds").split(",")));
      }
    }
    Map<String, Integer> endings = new HashMap<>();
    Map<String, Integer> activated = new HashMap<>();
    for (AuditEvent e : events) {
      if (aborted.contains(e.id()) || e.requestId().isEmpty()) {
        continue;
      }
      String rid = e.requestId().orElseThrow().value();
      if (ENDINGS.contains(e.type())) {
        endings.merge(rid, 1, Integer::sum);
      } else if (e.type() == AuditEventType.GRANT_ACTIVATED) {
        activated.merge(rid, 1, Integer::sum);
      }
    }
    System.out.println("replica race: " + activated.size() + " activated, " + aborted.size()
        + " events of losing writes aborted across the chains, " + events.size() + " events in all");
    assertTrue(!aborted.isEmpty(), "the replicas did collide (some writes lost a compare-and-set)");
    assertEquals(REQUESTS, endings.size());
    endings.forEach((rid, n) -> assertEquals(1, n, "effective endings of " + rid));
    activated.forEach((rid, n) -> assertEquals(1, n, "effective activations of " + rid));
  }

  private static Set<String> live(Map<String, Integer> provisioned, Map<String, Integer> deprovisioned) {
    Set<String> out = new HashSet<>(provisioned.keySet());
    out.removeAll(deprovisioned.keySet());
    return out;
  }

  /** A replica JVM, its stdout read line by line on a thread. */
  private static final class Replica {
    final String name;
    final Process process;
    final OutputStream stdin;
    final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    final List<String> unread = new ArrayList<>();
    final Path stderr;

    private Replica(String name, Process process, Path stderr) {
      this.name = name;
      this.process = process;
      this.stdin = process.getOutputStream();
      this.stderr = stderr;
    }

    static Replica start(Backings.Postgres db, Path dir, Path keyFile, Path requests, String name, long seed,
        Path kubeconfig) throws IOException {
      String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      List<String> child = db.child().args();
      Path stderr = dir.resolve(name + ".err");
      List<String> cmd = new ArrayList<>(List.of(java, "-cp", cp, ReplicaMain.class.getName(), child.get(0),
          child.get(1), child.get(2), dir.resolve(name + ".log").toString(), keyFile.toString(), name,
          requests.toString(), T0.plus(Duration.ofMinutes(1)).toString(), Long.toString(seed)));
      cmd.add(kubeconfig.toString());
      Process p = new ProcessBuilder(cmd).redirectError(stderr.toFile()).start();
      Replica r = new Replica(name, p, stderr);
      Thread t = new Thread(() -> {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), UTF_8))) {
          for (String line = in.readLine(); line != null; line = in.readLine()) {
            r.lines.add(line);
          }
        } catch (IOException e) {
          r.lines.add("read error " + e);
        } finally {
          r.lines.add(EOF);
        }
      }, "replica-" + name);
      t.setDaemon(true);
      t.start();
      return r;
    }

    void send(String command) throws IOException {
      stdin.write((command + "\n").getBytes(UTF_8));
      stdin.flush();
    }

    /** Waits for a line starting with {@code prefix}, keeping the lines before it for {@link #tally}. */
    String await(String prefix) throws Exception {
      long deadline = System.nanoTime() + DEADLINE.toNanos();
      while (true) {
        long left = deadline - System.nanoTime();
        String line = left <= 0 ? null : lines.poll(left, TimeUnit.NANOSECONDS);
        if (line == null || line.equals(EOF)) {
          fail("replica " + name + (line == null ? " did not say " + prefix + " within " + DEADLINE : " ended before " + prefix)
              + "; stderr:\n" + tail());
        }
        if (line.startsWith(prefix)) {
          return line;
        }
        unread.add(line);
      }
    }

    void tally(Map<String, Integer> provisioned, Map<String, Integer> deprovisioned, Map<String, List<String>> acts) {
      for (String line : unread) {
        String[] f = line.split(" ");
        switch (f[0]) {
          case "provision":
            provisioned.merge(f[1], 1, Integer::sum);
            break;
          case "deprovision":
            deprovisioned.merge(f[1], 1, Integer::sum);
            break;
          case "activated":
            acts.computeIfAbsent(f[1], k -> new ArrayList<>()).add(f[2]);
            break;
          default:
            fail("replica " + name + " said " + line);
        }
      }
      unread.clear();
    }

    int exit() throws Exception {
      assertTrue(process.waitFor(60, TimeUnit.SECONDS), name + " exits");
      return process.exitValue();
    }

    void kill() {
      process.destroyForcibly();
    }

    String tail() {
      try {
        String s = Files.exists(stderr) ? Files.readString(stderr) : "";
        return s.length() > 6000 ? s.substring(s.length() - 6000) : s;
      } catch (IOException e) {
        return e.toString();
      }
    }
  }
}
