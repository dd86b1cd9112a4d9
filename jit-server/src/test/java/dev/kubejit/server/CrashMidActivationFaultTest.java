package dev.kubejit.server;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditException;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.InMemoryAuditSink;
import dev.kubejit.audit.AuditKeys;
import dev.kubejit.audit.AuditVerifier;
import dev.kubejit.audit.FileAuditSink;
import dev.kubejit.audit.VerificationResult;
import dev.kubejit.rbac.ExpiryReaper;
import dev.kubejit.store.jdbc.JdbcRequestStore;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.apis.RbacAuthorizationV1Api;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1Role;
import io.kubernetes.client.openapi.models.V1RoleBinding;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fault: a broker process is killed with SIGKILL in the middle of an activation (issue 22).
 *
 * <p>Each run starts {@link CrashBrokerMain} in a child JVM on its own SQLite store and signed
 * audit log, against the shared test control plane: it activates one grant completely, then stops
 * a second activation at one of four kill points — after the API server created the Role
 * ({@code role}), after it created the RoleBinding ({@code binding}), after the certificate was
 * issued and before the audit record ({@code credential}), after the audit record was durable and
 * before the store's compare-and-set ({@code audit}) — and the test sends SIGKILL a random 0–50 ms
 * later. A broker is then restarted in this JVM on the same store, log and cluster, as {@code
 * kubejit serve} starts (reconcile, then an expiry sweep every {@link #EXPIRY_TICK}), next to the
 * leader-elected {@link ExpiryReaper} that {@code kubejit serve} runs per cluster.
 *
 * <p>Invariants: at restart no request is recorded ACTIVE without its RoleBinding and Role, and
 * the crashed activation is not ACTIVE; right after the restarted broker's reconcile (orphan grace
 * {@link CrashBrokerMain#ORPHAN_GRACE}) the crashed activation's RBAC is gone with a {@code
 * GRANT_RECONCILED orphan=true} record, and no KubeJIT RBAC object of the run exists without a
 * record of its grant in the run's log; after the grants' expiry no KubeJIT RBAC object of any run
 * is left, each disappeared within one reaper interval of its expiry, every grant whose RBAC
 * existed has a record in its run's audit log with its grant id, and every log verifies (sealed
 * with the public key after the restarted broker closed it; a torn tail at restart would be cut with
 * {@code truncateTornTail()} as {@code docs/audit.md} says, and is counted). Each kill point runs
 * {@code kubejit.crash.runs} times, {@code kubejit.crash.parallel} children at a time (default 3).
 * The default in the normal build is 4 runs per kill point (16 children, about 3 minutes on the
 * loaded 2-core test machine); the 20 runs per kill point are the documented
 * {@code -Dkubejit.crash.runs=20} run (see {@code docs/reliability.md} for both figures).
 */
@KubeTest
class CrashMidActivationFaultTest {
  private static final String NS = "crash-mid-activation";
  private static final List<String> POINTS = List.of("role", "binding", "credential", "audit");
  private static final int RUNS = Integer.getInteger("kubejit.crash.runs", 4);
  private static final int PARALLEL = Integer.getInteger("kubejit.crash.parallel", 3);
  /** Short grants, so that everything a crash left behind expires within the test. */
  private static final Duration GRANT = Duration.ofSeconds(20);
  /** The reaper's tick: the longest its worker waits before it reads the clock again. */
  private static final Duration REAPER_TICK = Duration.ofSeconds(1);
  /** The restarted brokers' expiry sweep (kubejit serve: every few seconds). */
  private static final Duration EXPIRY_TICK = Duration.ofSeconds(1);
  /**
   * One reaper interval: the tick plus the delete call itself and the poll that sees it, on a
   * loaded shared machine (load 20–35 while this was written; same margin as ExpiryReaperKubeTest).
   */
  private static final Duration REAPER_INTERVAL = REAPER_TICK.plus(Duration.ofSeconds(3));
  private static final Duration POLL = Duration.ofMillis(250);
  /** Checks of what must exist before an expiry skip objects this close to it (the reaper may be at work). */
  private static final Duration SETTLE = Duration.ofSeconds(2);
  private static final Duration CHILD_DEADLINE = Duration.ofSeconds(240);

  @TempDir Path dir;

  /** One kill of one child and the broker restarted after it. */
  private static final class Run {
    final int n;
    final String point;
    final long seed = ThreadLocalRandom.current().nextLong();
    final Path db;
    final Path log;
    final List<String> provisioned = Collections.synchronizedList(new ArrayList<>());
    String survivorRequest;
    String survivorGrant;
    String crashedRequest;
    String crashedGrant;
    long killDelayMs;
    double toKillPointSeconds;
    double restartSeconds;
    long orphanRecords;
    VerificationResult.Status atRestart;
    volatile FileAuditSink sink;
    JdbcRequestStore store;
    JitBroker broker;

    Run(int n, String point, Path dir) {
      this.n = n;
      this.point = point;
      this.db = dir.resolve("run-" + n + ".db");
      this.log = dir.resolve("run-" + n + "-audit.jsonl");
    }

    @Override
    public String toString() {
      return "run " + n + " (" + point + ", seed " + seed + ")";
    }
  }

  /** A managed object seen by the poller. */
  private static final class Seen {
    final String what;
    final String grantId;
    final Instant expiresAt;
    volatile Instant lastSeen;

    Seen(String what, String grantId, Instant expiresAt, Instant seen) {
      this.what = what;
      this.grantId = grantId;
      this.expiresAt = expiresAt;
      this.lastSeen = seen;
    }
  }

  private final Map<String, Run> byGrant = new ConcurrentHashMap<>();
  private final Map<String, Seen> seen = new ConcurrentHashMap<>();
  private final InMemoryAuditSink otherEvents = AuditSink.inMemory();
  /** Filled before any run starts; read by the expiry loop. */
  private final List<Run> runs = new java.util.concurrent.CopyOnWriteArrayList<>();

  /**
   * The reaper's audit sink: each event goes to the log of the run its grant belongs to. Until that
   * run's broker is restarted the write fails, and the reaper keeps the event and retries it, as it
   * does when a real sink fails.
   */
  private final AuditSink router = events -> {
    for (AuditEvent e : events) {
      Run r = e.grantId().map(g -> byGrant.get(g.value())).orElse(null);
      if (r != null && r.sink == null) {
        throw new AuditException("the log of " + r + " is not open yet");
      }
    }
    for (AuditEvent e : events) {
      Run r = e.grantId().map(g -> byGrant.get(g.value())).orElse(null);
      if (r == null) {
        otherEvents.write(List.of(e));
      } else {
        r.sink.write(List.of(e));
      }
    }
  };

  @Test
  void aBrokerKilledMidActivationLeavesNothingGrantedOrUnrecordedAfterRestart(KubeControlPlane cp) throws Exception {
    long started = System.nanoTime();
    namespace(cp);
    KeyPair key = AuditKeys.generate();
    Path keyFile = AuditKeys.writePrivateKey(key.getPrivate(), dir.resolve("audit-key.pem"));
    RbacAuthorizationV1Api rbac = new RbacAuthorizationV1Api(cp.adminClient());
    ExpiryReaper reaper = ExpiryReaper.builder(cp.adminClient()).auditSink(router).clusterName("prod")
        .identity("crash-fault-reaper").leaseNamespace("default").leaseName("crash-fault-reaper")
        .leaseDuration(Duration.ofSeconds(4)).renewDeadline(Duration.ofSeconds(3)).retryPeriod(Duration.ofSeconds(1))
        .tick(REAPER_TICK).build();
    ScheduledExecutorService loops = Executors.newScheduledThreadPool(2, r -> {
      Thread t = new Thread(r, "crash-fault-loop");
      t.setDaemon(true);
      return t;
    });
    ExecutorService pool = Executors.newFixedThreadPool(PARALLEL);
    try {
      reaper.start();
      await("the reaper leads", Duration.ofSeconds(60), reaper::isLeader);
      loops.scheduleWithFixedDelay(() -> poll(rbac), 0, POLL.toMillis(), TimeUnit.MILLISECONDS);
      loops.scheduleWithFixedDelay(this::expireDue, EXPIRY_TICK.toMillis(), EXPIRY_TICK.toMillis(),
          TimeUnit.MILLISECONDS);

      for (int i = 0; i < RUNS * POINTS.size(); i++) {
        runs.add(new Run(i, POINTS.get(i % POINTS.size()), dir));
      }
      List<Future<Run>> futures = new ArrayList<>();
      for (Run run : runs) {
        futures.add(pool.submit(() -> crashAndRestart(run, cp, key, keyFile, rbac)));
      }
      for (Future<Run> f : futures) {
        f.get(30, TimeUnit.MINUTES);
      }
      double crashPhase = (System.nanoTime() - started) / 1e9;

      // Everything expires GRANT after its activation; wait one reaper interval beyond the last expiry.
      Instant lastExpiry = seen.values().stream().map(s -> s.expiresAt).max(Instant::compareTo).orElseThrow();
      await("every run's RBAC is gone and no grant is ACTIVE", Duration.between(Instant.now(), lastExpiry)
          .plus(REAPER_INTERVAL).plus(Duration.ofSeconds(60)), () -> managed(rbac).isEmpty()
          && runs.stream().allMatch(r -> r.store.list(EnumSet.of(RequestState.ACTIVE)).isEmpty()));
      Thread.sleep(POLL.toMillis() * 2);

      List<Long> lagsMs = new ArrayList<>();
      List<String> late = new ArrayList<>();
      for (Seen s : seen.values()) {
        long lag = Duration.between(s.expiresAt, s.lastSeen).toMillis();
        lagsMs.add(lag);
        if (lag > REAPER_INTERVAL.toMillis()) {
          late.add(s.what + " seen " + lag + " ms after its expiry");
        }
      }
      Collections.sort(lagsMs);
      reaper.close();
      loops.shutdownNow();
      loops.awaitTermination(30, TimeUnit.SECONDS);

      Map<String, Integer> ends = new TreeMap<>();
      for (Run run : runs) {
        finalChecks(run, key, rbac, ends);
      }
      Map<VerificationResult.Status, Long> atRestart = runs.stream()
          .collect(Collectors.groupingBy(r -> r.atRestart, () -> new java.util.EnumMap<>(VerificationResult.Status.class),
              Collectors.counting()));
      double total = (System.nanoTime() - started) / 1e9;
      System.out.printf("MEASURED crash mid-activation: %d runs (%d per kill point %s), %d children in parallel; "
              + "child start to kill point median %.1f s max %.1f s; restart+reconcile median %.2f s; crash phase %.0f s; "
              + "total %.0f s%n", runs.size(), RUNS, POINTS, PARALLEL,
          median(runs.stream().map(r -> r.toKillPointSeconds).collect(Collectors.toList())),
          runs.stream().mapToDouble(r -> r.toKillPointSeconds).max().orElse(0),
          median(runs.stream().map(r -> r.restartSeconds).collect(Collectors.toList())), crashPhase, total);
      System.out.printf("MEASURED crash mid-activation: %d RBAC objects seen; last seen after expiry: median %d ms, "
              + "max %d ms (bound %d ms); logs at restart %s; ends recorded %s; reaper events for other grants %d; "
              + "crashed grants removed as orphans by the restarted broker's reconcile %d of %d%n",
          lagsMs.size(), lagsMs.get(lagsMs.size() / 2), lagsMs.get(lagsMs.size() - 1), REAPER_INTERVAL.toMillis(),
          atRestart, ends, otherEvents.events().size(), runs.stream().filter(r -> r.orphanRecords == 1).count(),
          runs.size());
      System.out.println("MEASURED crash mid-activation: load average " + Files.readString(Path.of("/proc/loadavg")).trim());
      assertEquals(List.of(), late, "nothing outlives its expiry by more than one reaper interval");
    } finally {
      pool.shutdownNow();
      loops.shutdownNow();
      reaper.close();
      for (Run run : runs) {
        closeQuietly(run);
      }
      cleanUp(rbac);
    }
  }

  private Run crashAndRestart(Run run, KubeControlPlane cp, KeyPair key, Path keyFile, RbacAuthorizationV1Api rbac)
      throws Exception {
    String cp0 = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = List.of(java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx256m", "-cp", cp0,
        CrashBrokerMain.class.getName(), run.point, run.db.toString(), run.log.toString(), keyFile.toString(),
        cp.adminKubeconfig().toString(), NS, Long.toString(GRANT.toSeconds()), Long.toString(run.seed));
    Path stderr = dir.resolve("run-" + run.n + ".err");
    long t0 = System.nanoTime();
    Process p = new ProcessBuilder(cmd).redirectError(stderr.toFile()).start();
    try {
      LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
      Thread reader = new Thread(() -> {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), UTF_8))) {
          for (String line = r.readLine(); line != null; line = r.readLine()) {
            lines.add(line);
          }
        } catch (IOException e) {
          lines.add("READ-ERROR " + e);
        } finally {
          lines.add("EOF");
        }
      }, "crash-child-" + run.n);
      reader.setDaemon(true);
      reader.start();
      long deadline = System.nanoTime() + CHILD_DEADLINE.toNanos();
      boolean killed = false;
      while (true) {
        String line = lines.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        if (line == null) {
          throw new AssertionError(run + ": no kill point within " + CHILD_DEADLINE + "; stderr:\n" + tail(stderr));
        }
        String[] w = line.split(" ");
        if (w[0].equals("EOF")) {
          break;
        } else if (w[0].equals("PROVISION")) {
          // Known before any of the grant's RBAC exists, so the reaper's events and the poller find their run.
          run.provisioned.add(w[1]);
          byGrant.put(w[1], run);
        } else if (w[0].equals("ACTIVE")) {
          run.survivorRequest = w[1];
          run.survivorGrant = w[2];
        } else if (w[0].equals("ARMED")) {
          run.crashedRequest = w[1];
        } else if (w[0].equals("KILLPOINT") && !killed) {
          assertEquals(run.point, w[1], run + ": " + line);
          run.crashedGrant = w[2];
          run.toKillPointSeconds = (System.nanoTime() - t0) / 1e9;
          run.killDelayMs = ThreadLocalRandom.current().nextLong(51);
          Thread.sleep(run.killDelayMs);
          assertTrue(p.toHandle().destroyForcibly(), "SIGKILL sent");
          killed = true;
        } else {
          throw new AssertionError(run + ": unexpected output " + line + "; stderr:\n" + tail(stderr));
        }
      }
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), run + ": the child ended");
      assertTrue(killed, run + ": the child ended before its kill point; stderr:\n" + tail(stderr));
      assertEquals(137, p.exitValue(), run + ": died of SIGKILL");
    } finally {
      p.destroyForcibly();
    }
    assertEquals(2, run.provisioned.size(), run + ": two activations provisioned RBAC: " + run.provisioned);
    assertEquals(run.crashedGrant, run.provisioned.get(1), run.toString());
    restart(run, cp, key, rbac);
    return run;
  }

  /** As kubejit serve starts on the same store, log and cluster: open the log, reconcile, sweep. */
  private void restart(Run run, KubeControlPlane cp, KeyPair key, RbacAuthorizationV1Api rbac) throws Exception {
    long t0 = System.nanoTime();
    VerificationResult v = AuditVerifier.withPublicKey(key.getPublic()).verify(FileAuditSink.files(List.of(run.log)));
    run.atRestart = v.status();
    assertTrue(v.status() == VerificationResult.Status.OPEN || v.status() == VerificationResult.Status.TORN_TAIL,
        run + ": a crashed writer's log is open (or has a torn tail), never tampered: " + v);
    FileAuditSink.Builder b = FileAuditSink.builder(run.log).signingKey(key);
    if (v.status() == VerificationResult.Status.TORN_TAIL) {
      b.truncateTornTail(); // the operator's step in docs/audit.md
    }
    run.store = JdbcRequestStore.builder().sqlite(run.db).build();
    FileAuditSink sink = b.open();
    run.broker = JitBroker.builder().clock(Clock.systemUTC()).policy(CrashBrokerMain.policy(NS, GRANT))
        .store(run.store).auditSink(sink).rbacProvisioner(CrashBrokerMain.provisioner(cp.adminClient()))
        .credentialIssuer(CrashBrokerMain.issuer(Clock.systemUTC())).orphanGrace(CrashBrokerMain.ORPHAN_GRACE).build();
    // What the crash left in the cluster, read before the restarted broker's reconcile removes it.
    boolean role = exists(rbac, "Role", run.crashedGrant);
    boolean binding = exists(rbac, "RoleBinding", run.crashedGrant);
    if (Instant.now().plus(SETTLE).isBefore(crashedExpiry(run))) {
      assertTrue(role, run + ": the Role was created before the kill");
      assertEquals(!run.point.equals("role"), binding, run + ": the RoleBinding exists iff it was created before the kill");
    }
    run.broker.reconcile();
    run.restartSeconds = (System.nanoTime() - t0) / 1e9;
    run.sink = sink; // from now on the expiry loop sweeps it, as kubejit serve starts its sweep after reconcile

    // Right after reconcile, not only after expiry: the crashed activation's RBAC is gone and recorded,
    // and no RBAC object of this run is without a record of its grant in this run's log.
    Instant reconciled = Instant.now();
    assertTrue(!exists(rbac, "Role", run.crashedGrant) && !exists(rbac, "RoleBinding", run.crashedGrant),
        run + ": the crashed activation's RBAC is removed by the restarted broker's reconcile");
    run.orphanRecords = orphanRecords(run.log, run.crashedGrant);
    if (reconciled.plus(SETTLE).isBefore(crashedExpiry(run))) {
      assertEquals(1, run.orphanRecords, run + ": the removal is recorded once as an orphan by reconcile: "
          + types(run.log, run.crashedGrant));
    }
    for (V1ObjectMeta m : managed(rbac).values()) {
      String g = m.getLabels().get("kubejit.dev/grant-id");
      if (run.provisioned.contains(g)) {
        assertTrue(!types(run.log, g).isEmpty(), run + ": RBAC of grant " + g + " exists without an audit record");
      }
    }

    // The crashed activation never reached the store: its request is still APPROVED, without a grant.
    RequestRecord crashed = run.store.find(RequestId.parse(run.crashedRequest)).orElseThrow();
    assertEquals(RequestState.APPROVED, crashed.state(), run.toString());
    assertTrue(crashed.grant().isEmpty(), run.toString());
    // No grant recorded ACTIVE without its RBAC (the survivor is ACTIVE, or already expired and ended).
    for (RequestRecord r : run.store.list(EnumSet.of(RequestState.ACTIVE))) {
      if (!r.grant().orElseThrow().expiresAt().isAfter(Instant.now().plus(SETTLE))) {
        continue; // due: the reaper may remove its RBAC now, and the next sweep ends it
      }
      String g = r.grant().orElseThrow().id().value();
      assertTrue(exists(rbac, "RoleBinding", g) && exists(rbac, "Role", g),
          run + ": grant " + g + " is ACTIVE in the store but its RoleBinding or Role is missing");
    }
    RequestRecord survivor = run.store.find(RequestId.parse(run.survivorRequest)).orElseThrow();
    assertTrue(survivor.state() == RequestState.ACTIVE || survivor.state() == RequestState.EXPIRED,
        run + ": " + survivor.state());
    // The log holds only what happened before the kill (and the reconcile's record).
    List<String> recorded = types(run.log, run.crashedGrant);
    if (run.point.equals("audit")) {
      assertTrue(recorded.contains("GRANT_ACTIVATED"), run + ": " + recorded);
    } else {
      assertTrue(!recorded.contains("GRANT_ACTIVATED") && !recorded.contains("CREDENTIAL_ISSUED"),
          run + ": nothing of the crashed activation was recorded before its audit step: " + recorded);
    }
  }

  private Instant crashedExpiry(Run run) {
    // The grant starts just before its RBAC is applied; its objects carry the exact expiry.
    return seen.values().stream().filter(s -> s.grantId.equals(run.crashedGrant)).map(s -> s.expiresAt).findFirst()
        .orElse(Instant.MAX);
  }

  private void finalChecks(Run run, KeyPair key, RbacAuthorizationV1Api rbac, Map<String, Integer> ends)
      throws Exception {
    for (String g : run.provisioned) {
      assertTrue(!exists(rbac, "RoleBinding", g) && !exists(rbac, "Role", g), run + ": RBAC of grant " + g + " is left");
    }
    assertEquals(List.of(), run.store.list(EnumSet.of(RequestState.ACTIVE)), run + ": nothing is still ACTIVE");
    run.sink.close();
    VerificationResult v = AuditVerifier.withPublicKey(key.getPublic()).verify(FileAuditSink.files(List.of(run.log)));
    assertEquals(VerificationResult.Status.SEALED, v.status(), run + ": " + v);
    // Every grant whose RBAC existed has a record with its grant id; the crashed one, an end record.
    for (Seen s : seen.values()) {
      if (run.provisioned.contains(s.grantId)) {
        assertTrue(!types(run.log, s.grantId).isEmpty(), run + ": " + s.what + " existed without an audit record");
      }
    }
    List<String> crashed = types(run.log, run.crashedGrant);
    List<String> endTypes = crashed.stream().filter(t -> t.equals("GRANT_EXPIRED") || t.equals("GRANT_RECONCILED"))
        .collect(Collectors.toList());
    assertTrue(!endTypes.isEmpty(), run + ": the crashed grant's RBAC removal is recorded: " + crashed);
    ends.merge(run.point + ":" + String.join("+", new java.util.TreeSet<>(endTypes)), 1, Integer::sum);
    List<String> survivor = types(run.log, run.survivorGrant);
    assertTrue(survivor.contains("GRANT_ACTIVATED") && (survivor.contains("GRANT_EXPIRED")
        || survivor.contains("GRANT_RECONCILED")), run + ": the survivor's life is recorded: " + survivor);
    run.store.close();
  }

  /** How many {@code GRANT_RECONCILED} events with {@code orphan=true} {@code log} holds for {@code grantId}. */
  private static long orphanRecords(Path log, String grantId) throws IOException {
    long n = 0;
    for (String line : Files.readAllLines(log, UTF_8)) {
      JsonNode node;
      try {
        node = Json.MAPPER.readTree(line);
      } catch (IOException torn) {
        continue;
      }
      if (node != null && grantId.equals(node.path("grantId").asText(null))
          && "GRANT_RECONCILED".equals(node.path("type").asText())
          && "true".equals(node.path("attributes").path("orphan").asText(null))) {
        n++;
      }
    }
    return n;
  }

  /** The audit event types recorded in {@code log} for {@code grantId}, in order. */
  private static List<String> types(Path log, String grantId) throws IOException {
    List<String> out = new ArrayList<>();
    for (String line : Files.readAllLines(log, UTF_8)) {
      if (line.isBlank()) {
        continue;
      }
      JsonNode n;
      try {
        n = Json.MAPPER.readTree(line);
      } catch (IOException torn) {
        continue;
      }
      if (grantId.equals(n.path("grantId").asText(null))) {
        out.add(n.path("type").asText());
      }
    }
    return out;
  }

  private static boolean exists(RbacAuthorizationV1Api rbac, String kind, String grantId) throws ApiException {
    String selector = "app.kubernetes.io/managed-by=kubejit,kubejit.dev/grant-id=" + grantId;
    return kind.equals("Role")
        ? !rbac.listNamespacedRole(NS).labelSelector(selector).execute().getItems().isEmpty()
        : !rbac.listNamespacedRoleBinding(NS).labelSelector(selector).execute().getItems().isEmpty();
  }

  /** Every KubeJIT-managed Role and RoleBinding in the namespace, as kind/name → metadata. */
  private static Map<String, V1ObjectMeta> managed(RbacAuthorizationV1Api rbac) {
    Map<String, V1ObjectMeta> out = new LinkedHashMap<>();
    try {
      for (V1Role r : rbac.listNamespacedRole(NS).labelSelector("app.kubernetes.io/managed-by=kubejit").execute()
          .getItems()) {
        out.put("Role/" + r.getMetadata().getName(), r.getMetadata());
      }
      for (V1RoleBinding b : rbac.listNamespacedRoleBinding(NS).labelSelector("app.kubernetes.io/managed-by=kubejit")
          .execute().getItems()) {
        out.put("RoleBinding/" + b.getMetadata().getName(), b.getMetadata());
      }
    } catch (ApiException e) {
      throw new IllegalStateException("cannot list RBAC: HTTP " + e.getCode(), e);
    }
    return out;
  }

  private void poll(RbacAuthorizationV1Api rbac) {
    try {
      Instant now = Instant.now();
      for (Map.Entry<String, V1ObjectMeta> e : managed(rbac).entrySet()) {
        V1ObjectMeta m = e.getValue();
        Seen s = seen.computeIfAbsent(m.getUid(), uid -> new Seen(e.getKey(), m.getLabels().get("kubejit.dev/grant-id"),
            Instant.parse(m.getAnnotations().get("kubejit.dev/expires-at")), now));
        s.lastSeen = now;
      }
    } catch (RuntimeException e) {
      System.err.println("crash fault poller: " + e);
    }
  }

  private void expireDue() {
    for (Run run : runs) {
      JitBroker b = run.broker;
      if (b != null && run.sink != null) {
        try {
          b.expireDue();
        } catch (RuntimeException e) {
          System.err.println("expiry sweep of " + run + ": " + e);
        }
      }
    }
  }

  private static void namespace(KubeControlPlane cp) throws ApiException {
    try {
      new CoreV1Api(cp.adminClient()).createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name(NS))).execute();
    } catch (ApiException e) {
      if (e.getCode() != 409) {
        throw e;
      }
    }
  }

  private void cleanUp(RbacAuthorizationV1Api rbac) {
    try {
      for (Map.Entry<String, V1ObjectMeta> e : managed(rbac).entrySet()) {
        String name = e.getValue().getName();
        if (e.getKey().startsWith("Role/")) {
          rbac.deleteNamespacedRole(name, NS).execute();
        } else {
          rbac.deleteNamespacedRoleBinding(name, NS).execute();
        }
      }
    } catch (ApiException | RuntimeException e) {
      System.err.println("crash fault clean-up: " + e);
    }
  }

  private static void closeQuietly(Run run) {
    try {
      if (run.sink != null) {
        run.sink.close();
      }
    } catch (RuntimeException ignored) {
      // closed already
    }
    if (run.store != null) {
      run.store.close();
    }
  }

  private static double median(List<Double> xs) {
    List<Double> s = new ArrayList<>(xs);
    Collections.sort(s);
    return s.isEmpty() ? 0 : s.get(s.size() / 2);
  }

  private static String tail(Path file) {
    try {
      String s = Files.readString(file, UTF_8);
      return s.length() > 4000 ? "..." + s.substring(s.length() - 4000) : s;
    } catch (IOException e) {
      return "(cannot read " + file + ")";
    }
  }

  private static void await(String what, Duration timeout, java.util.function.BooleanSupplier cond)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting until " + what);
      }
      Thread.sleep(100);
    }
  }
}
