package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.audit.AuditKeys;
import dev.kubejit.audit.AuditQuery;
import dev.kubejit.audit.AuditRecord;
import dev.kubejit.audit.AuditVerifier;
import dev.kubejit.audit.FileAuditSink;
import dev.kubejit.audit.VerificationResult;
import dev.kubejit.server.TestBroker.Reply;
import dev.kubejit.testing.PostgresServer;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;

/**
 * Load through the HTTP API of two {@code kubejit serve} replicas sharing one PostgreSQL store:
 * every request is submitted to one replica, approved by two approvers at once (one through each
 * replica), and the first {@code activations} are activated by their requester through both
 * replicas at once, then revoked. Calls go out from a pool of threads over several Java
 * HttpClients per replica. Checks: every submission is answered 201, of each pair of racing
 * approvals and activations exactly one wins and the other is answered 409, every replica's
 * signed audit log verifies, and across both logs each request has exactly one effective approval
 * and activations only where one was answered 200 (the losing writes' records are marked aborted).
 * Latency per call kind is printed as MEASURED lines.
 */
final class ReplicaLoad {
  private final int requests;
  private final int activations;
  private final int threads;
  private final Map<String, List<Long>> nanos = new ConcurrentHashMap<>();

  ReplicaLoad(int requests, int activations, int threads) {
    this.requests = requests;
    this.activations = activations;
    this.threads = threads;
  }

  /** What a run leaves for the caller's own checks. */
  static final class Result {
    /** Request id to the grant group of the activations that won. */
    final Map<String, String> groups = new ConcurrentHashMap<>();
    /** Every request this run submitted. */
    final java.util.Set<String> requestIds = ConcurrentHashMap.newKeySet();
  }

  /**
   * Runs the load on replicas in {@code dirA} and {@code dirB} with {@code clustersYaml}; {@code
   * whileActive} sees every won activation before the revocations.
   */
  Result run(Path dirA, Path dirB, String clustersYaml, Consumer<Result> whileActive) throws Exception {
    long started = System.nanoTime();
    Result result = new Result();
    try (PostgresServer pg = PostgresServer.start()) {
      String url = pg.jdbcUrl(pg.createDatabase());
      TestBroker a = TestBroker.replica(dirA, TestBroker.postgresStore(dirA, url, pg.superuser(), pg.password()),
          clustersYaml, Clock.systemUTC());
      TestBroker b;
      try {
        b = TestBroker.replica(dirB, TestBroker.postgresStore(dirB, url, pg.superuser(), pg.password()), clustersYaml,
            Clock.systemUTC());
      } catch (Exception e) {
        a.close();
        throw e;
      }
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      try {
        List<TestBroker> replicas = List.of(a, b);
        List<List<HttpClient>> clients = List.of(clients(dirA), clients(dirB));
        System.out.println("MEASURED replica load: set-up (PostgreSQL, two replicas) took "
            + (System.nanoTime() - started) / 1_000_000 + " ms");
        long t0 = System.nanoTime();

        // 1. Submissions, alternating replicas.
        List<String> ids = all(pool, requests, i -> {
          String body = TestBroker.json("role", "oncall-debug", "action", "exec", "cluster", "prod", "namespace",
              "payments", "duration", "PT20M", "ticket", "INC-" + i, "reason", "load " + i);
          Reply r = timed("submit", () -> call(replicas, clients, i, "POST", "/api/v1/requests", requester(i), body));
          r.expect(201);
          String id = r.json.path("id").asText();
          result.requestIds.add(id);
          return id;
        });
        long t1 = System.nanoTime();

        // 2. Two approvers at once, one through each replica: exactly one vote takes effect.
        List<List<Integer>> votes = all(pool, requests * 2, k -> {
          int i = k / 2;
          String approver = (k % 2 == 0 ? "carol" : "dave") + ";sre-leads";
          Reply r = timed("approve", () -> call(replicas, clients, k, "POST",
              "/api/v1/requests/" + ids.get(i) + "/approve", approver, ""));
          return List.of(i, r.status);
        });
        countWinners(votes, requests, "approval");
        long t2 = System.nanoTime();

        // 3. The requester activates through both replicas at once: exactly one activation.
        List<List<Integer>> acts = all(pool, activations * 2, k -> {
          int i = k / 2;
          String csr = TestBroker.json("csr", TestBroker.csr("user" + (i % 50)));
          Reply r = timed("activate", () -> call(replicas, clients, k, "POST",
              "/api/v1/requests/" + ids.get(i) + "/activate", requester(i), csr));
          if (r.status == 200) {
            result.groups.put(ids.get(i), r.json.path("grant").path("group").asText());
          }
          return List.of(i, r.status);
        });
        countWinners(acts, activations, "activation");
        long t3 = System.nanoTime();
        whileActive.accept(result);

        // 4. Reads, then revocations of the activated grants, each through the other replica.
        all(pool, requests, i -> {
          timed("get", () -> call(replicas, clients, i + 1, "GET", "/api/v1/requests/" + ids.get(i), requester(i), null))
              .expect(200);
          return null;
        });
        all(pool, activations, i -> {
          timed("revoke", () -> call(replicas, clients, i + 1, "POST", "/api/v1/requests/" + ids.get(i) + "/revoke",
              requester(i), TestBroker.json("reason", "load done"))).expect(200);
          return null;
        });
        long t4 = System.nanoTime();
        System.out.printf("MEASURED replica load: %d submissions in %d ms, %d racing approvals in %d ms, %d racing "
                + "activations in %d ms, %d reads and %d revocations in %d ms; %d client threads, %d HttpClients per "
                + "replica%n", requests, (t1 - t0) / 1_000_000, requests * 2, (t2 - t1) / 1_000_000, activations * 2,
            (t3 - t2) / 1_000_000, requests, activations, (t4 - t3) / 1_000_000, threads, clients.get(0).size());
        printLatencies();
      } finally {
        pool.shutdownNow();
        b.close();
        a.close();
      }
      verifyAudit(List.of(dirA, dirB), result);
      System.out.println("MEASURED replica load: whole run " + (System.nanoTime() - started) / 1_000_000
          + " ms, load average " + Files.readString(Path.of("/proc/loadavg")).trim());
    }
    return result;
  }

  private static String requester(int i) {
    return "user" + (i % 50) + ";oncall-payments";
  }

  private static List<HttpClient> clients(Path dir) throws Exception {
    List<HttpClient> out = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      out.add(TestBroker.client(dir, null));
    }
    return out;
  }

  /** Call {@code k} goes to replica {@code k % 2} through one of its clients. */
  private static Reply call(List<TestBroker> replicas, List<List<HttpClient>> clients, int k, String method,
      String path, String user, String body) throws Exception {
    int r = k % 2;
    List<HttpClient> cs = clients.get(r);
    return replicas.get(r).call(cs.get((k / 2) % cs.size()), method, path, user, body, "application/json");
  }

  private Reply timed(String kind, Callable<Reply> call) throws Exception {
    long t = System.nanoTime();
    Reply r = call.call();
    nanos.computeIfAbsent(kind, k -> Collections.synchronizedList(new ArrayList<>())).add(System.nanoTime() - t);
    return r;
  }

  /** A task per index, all submitted at once; their results in index order (the first failure is thrown). */
  private static <T> List<T> all(ExecutorService pool, int n, IndexedTask<T> task) throws Exception {
    List<Future<T>> fs = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int k = i;
      fs.add(pool.submit(() -> task.run(k)));
    }
    List<T> out = new ArrayList<>();
    for (Future<T> f : fs) {
      try {
        out.add(f.get());
      } catch (java.util.concurrent.ExecutionException e) {
        if (e.getCause() instanceof AssertionError) {
          throw (AssertionError) e.getCause();
        }
        throw e;
      }
    }
    return out;
  }

  @FunctionalInterface
  interface IndexedTask<T> {
    T run(int index) throws Exception;
  }

  /** Per request index, exactly one 200 and one 409. */
  private static void countWinners(List<List<Integer>> outcomes, int n, String what) {
    Map<Integer, List<Integer>> byRequest = new TreeMap<>();
    for (List<Integer> o : outcomes) {
      byRequest.computeIfAbsent(o.get(0), k -> new ArrayList<>()).add(o.get(1));
    }
    assertEquals(n, byRequest.size());
    byRequest.forEach((i, statuses) -> {
      Collections.sort(statuses);
      assertEquals(List.of(200, 409), statuses, "racing " + what + "s of request " + i);
    });
  }

  private void printLatencies() {
    new TreeMap<>(nanos).forEach((kind, list) -> {
      List<Long> l;
      synchronized (list) {
        l = new ArrayList<>(list);
      }
      Collections.sort(l);
      System.out.printf("MEASURED replica load latency %s: n=%d p50=%d ms p99=%d ms max=%d ms%n", kind, l.size(),
          pct(l, 50), pct(l, 99), l.get(l.size() - 1) / 1_000_000);
    });
  }

  private static long pct(List<Long> sorted, int p) {
    int idx = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, idx)) / 1_000_000;
  }

  /** Each replica's chain verifies sealed; across them, one effective approval per request, one activation per won one. */
  private void verifyAudit(List<Path> dirs, Result result) {
    // JitBroker stamps a transition's events when it writes them, after its RBAC and credential
    // work, so each chain verifies with the verifier's default backwards-time tolerance although
    // single calls took seconds; the longest call is printed beside it.
    long longest = nanos.values().stream().flatMap(l -> { synchronized (l) { return new ArrayList<>(l).stream(); } })
        .mapToLong(Long::longValue).max().orElse(0);
    System.out.println("MEASURED replica load: audit verified with the default backwards-time tolerance "
        + AuditVerifier.DEFAULT_TIME_TOLERANCE.toMillis() + " ms; longest call " + longest / 1_000_000 + " ms");
    List<AuditEvent> events = new ArrayList<>();
    for (Path dir : dirs) {
      List<Path> files = FileAuditSink.files(List.of(dir.resolve("audit/audit.jsonl")));
      VerificationResult v = AuditVerifier.withPublicKey(
          AuditKeys.readKeyPair(dir.resolve("keys/audit-signing.key")).getPublic()).verify(files);
      assertTrue(v.isOk(false), dir + ": " + v);
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
    Map<String, Integer> approved = new HashMap<>();
    Map<String, Integer> activated = new HashMap<>();
    Map<String, Integer> revoked = new HashMap<>();
    for (AuditEvent e : events) {
      if (aborted.contains(e.id()) || e.requestId().isEmpty()) {
        continue;
      }
      String rid = e.requestId().orElseThrow().value();
      if (e.type() == AuditEventType.REQUEST_APPROVED) {
        approved.merge(rid, 1, Integer::sum);
      } else if (e.type() == AuditEventType.GRANT_ACTIVATED) {
        activated.merge(rid, 1, Integer::sum);
      } else if (e.type() == AuditEventType.GRANT_REVOKED) {
        revoked.merge(rid, 1, Integer::sum);
      }
    }
    System.out.println("MEASURED replica load audit: " + events.size() + " events across both logs, " + aborted.size()
        + " of them aborted (losing writes)");
    assertEquals(requests, approved.size(), "requests with an effective approval");
    approved.forEach((rid, n) -> assertEquals(1, n, "effective approvals of " + rid));
    assertEquals(result.groups.keySet(), activated.keySet(), "effective activations are the ones answered 200");
    activated.forEach((rid, n) -> assertEquals(1, n, "effective activations of " + rid));
    assertEquals(result.groups.keySet(), revoked.keySet(), "every activated grant was revoked once");
    revoked.forEach((rid, n) -> assertEquals(1, n, "effective revocations of " + rid));
  }
}
