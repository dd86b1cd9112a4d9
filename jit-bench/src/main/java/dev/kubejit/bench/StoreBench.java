package dev.kubejit.bench;

import com.google.gson.JsonObject;
import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.ApprovalRequirement;
import dev.kubejit.api.Decision;
import dev.kubejit.api.Identity;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.Scope;
import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.store.jdbc.JdbcRequestStore;
import dev.kubejit.store.kubernetes.KubernetesRequestStore;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.Kubectl;
import dev.kubejit.testing.PostgresServer;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.apis.CustomObjectsApi;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.sqlite.SQLiteConfig;

/**
 * Item 7, outside JMH (the peers take seconds to start and are shared by every measurement):
 * compare-and-set transitions per second and p99 through {@link RequestStore#replace} for SQLite,
 * PostgreSQL ({@link JdbcRequestStore}) and the Kubernetes store ({@link KubernetesRequestStore}
 * against a real kube-apiserver), with 1 and 8 threads, each thread moving its own request from
 * version v to v + 1; against the engine's own floor on the same backend in the same run: a bare
 * {@code UPDATE kubejit_request SET version = ?, payload = ? WHERE id = ? AND version = ?} through
 * plain JDBC (one connection per thread, same SQLite pragmas as the store), and a bare PUT of the
 * object's status with its last resourceVersion through client-java. Store and floor alternate
 * in rounds, so both see the same machine.
 */
final class StoreBench {
  interface Op {
    void run() throws Exception;
  }

  interface OpFactory {
    /** One operation per thread; each call to run() is one successful compare-and-set. */
    Op forThread(int thread) throws Exception;
  }

  private final int rounds;
  private final long roundNanos;
  private final Path dataDir;
  private final Rows rows = Rows.create();

  private StoreBench(boolean quick, Path dataDir) {
    this.rounds = quick ? 2 : 3;
    this.roundNanos = TimeUnit.MILLISECONDS.toNanos(quick ? 1000 : 2000);
    this.dataDir = dataDir;
  }

  static Rows run(boolean quick, Path dataDir) {
    StoreBench b = new StoreBench(quick, dataDir);
    // -Dkubejit.bench.stores=kubernetes (a comma-separated subset of sqlite,postgres,kubernetes)
    List<String> which = List.of(System.getProperty("kubejit.bench.stores", "sqlite,postgres,kubernetes").split(","));
    if (which.contains("sqlite")) {
      b.sqlite();
    }
    if (which.contains("postgres")) {
      b.postgres();
    }
    if (which.contains("kubernetes")) {
      b.kubernetes();
    }
    return b.rows;
  }

  static RequestRecord record(int i) {
    AccessRequest q = AccessRequest.builder().requester(Identity.of("bench-" + i, List.of("oncall-payments")))
        .role("oncall-debug").action(Action.EXEC).scope(Scope.namespace("prod", "payments"))
        .justification("INC-42: payments 500s").ticket("INC-42").build();
    Decision d = Decision.builder(Decision.Outcome.NEEDS_APPROVAL, "needs one sre-lead").ruleId("r1")
        .policy("sha256:" + "ab".repeat(32), "git:1234").approval(ApprovalRequirement.of(List.of("sre-leads"), 1))
        .build();
    Instant t = Instant.now();
    return RequestRecord.builder().id(RequestId.random()).request(q).decision(d).state(RequestState.PENDING_APPROVAL)
        .window(t, t.plusSeconds(3600)).version(1).build();
  }

  /** Through the store: each thread moves its own record one version on. */
  private static OpFactory viaStore(RequestStore store) {
    return thread -> {
      RequestRecord first = record(thread);
      store.insert(first);
      AtomicReference<RequestRecord> current = new AtomicReference<>(first);
      return () -> {
        RequestRecord c = current.get();
        RequestRecord next = c.toBuilder().version(c.version() + 1).build();
        if (!store.replace(c, next)) {
          throw new IllegalStateException("store refused an uncontended replace of " + c.id());
        }
        current.set(next);
      };
    };
  }

  // ------------------------------------------------------------------ JDBC

  private void sqlite() {
    String what = "7 stores: SQLite (WAL, synchronous=FULL)";
    try {
      Path dir = Files.createTempDirectory(dataDir, "sqlite-");
      Path file = dir.resolve("requests.db");
      try (JdbcRequestStore store = JdbcRequestStore.builder().sqlite(file).build()) {
        OpFactory bare = bareJdbc(() -> {
          SQLiteConfig sc = new SQLiteConfig();
          sc.setJournalMode(SQLiteConfig.JournalMode.WAL);
          sc.setSynchronous(SQLiteConfig.SynchronousMode.FULL);
          sc.setBusyTimeout(10_000);
          return sc.createConnection("jdbc:sqlite:" + file);
        }, store);
        compare(what, store, viaStore(store), bare, "bare JDBC UPDATE … WHERE version = ?");
      } finally {
        AuditBench.deleteTree(dir);
      }
    } catch (Exception | LinkageError e) {
      rows.notRun(what, "failed: " + e);
    }
  }

  private void postgres() {
    String what = "7 stores: PostgreSQL 15 (test server, synchronous_commit=off)";
    PostgresServer pg;
    try {
      pg = PostgresServer.start();
    } catch (RuntimeException e) {
      rows.notRun(what, "PostgreSQL absent: " + firstLine(e.getMessage()));
      return;
    }
    try (pg) {
      String db = pg.createDatabase();
      String url = pg.jdbcUrl(db);
      try (JdbcRequestStore store = JdbcRequestStore.builder().url(url).credentials(pg.superuser(), pg.password())
          .build()) {
        OpFactory bare = bareJdbc(() -> {
          Properties p = new Properties();
          p.setProperty("user", pg.superuser());
          p.setProperty("password", new String(pg.password()));
          return DriverManager.getConnection(url, p);
        }, store);
        compare(what, store, viaStore(store), bare, "bare JDBC UPDATE … WHERE version = ?");
      }
    } catch (Exception | LinkageError e) {
      rows.notRun(what, "failed: " + e);
    }
  }

  interface Connector {
    Connection connect() throws Exception;
  }

  /**
   * The floor: each thread has its own row (inserted through the store so that it is a real
   * request row) and its own connection, and rewrites the row's payload (unchanged, so the row
   * keeps its size) with the next version, conditioned on the current one.
   */
  private static OpFactory bareJdbc(Connector connector, RequestStore store) {
    return thread -> {
      RequestRecord r = record(1000 + thread);
      store.insert(r);
      Connection c = connector.connect();
      String payload;
      try (PreparedStatement ps = c.prepareStatement("SELECT payload FROM kubejit_request WHERE id = ?")) {
        ps.setString(1, r.id().value());
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          payload = rs.getString(1);
        }
      }
      PreparedStatement update =
          c.prepareStatement("UPDATE kubejit_request SET version = ?, payload = ? WHERE id = ? AND version = ?");
      long[] version = {r.version()};
      String id = r.id().value();
      return () -> {
        update.setLong(1, version[0] + 1);
        update.setString(2, payload);
        update.setString(3, id);
        update.setLong(4, version[0]);
        if (update.executeUpdate() != 1) {
          throw new IllegalStateException("bare update of " + id + " found another version");
        }
        version[0]++;
      };
    };
  }

  // ------------------------------------------------------------------ Kubernetes

  private void kubernetes() {
    String what = "7 stores: Kubernetes (AccessRequest CRD, kube-apiserver + etcd of jit-testing)";
    KubeControlPlane cp;
    try {
      cp = KubeControlPlane.start();
    } catch (RuntimeException | LinkageError e) {
      rows.notRun(what, "control plane absent: " + firstLine(String.valueOf(e.getMessage())));
      return;
    }
    try (cp) {
      Path crd = Files.createTempFile(dataDir, "crd-", ".yaml");
      Files.writeString(crd, KubernetesRequestStore.crdYaml());
      Kubectl.run(cp.adminKubeconfig(), null, "apply", "-f", crd.toString()).ok();
      Kubectl.run(cp.adminKubeconfig(), null, "wait", "--for=condition=Established", "--timeout=60s",
          "crd/accessrequests.kubejit.dev").ok();
      Files.delete(crd);
      ApiClient admin = cp.adminClient();
      String ns = "bench-store";
      new CoreV1Api(admin).createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name(ns))).execute();
      try (KubernetesRequestStore store = KubernetesRequestStore.builder().clientJavaApiClient(admin).namespace(ns)
          .build()) {
        compare(what, store, viaStore(store), bareKube(admin, ns, store), "bare client-java PUT …/status with resourceVersion");
      }
    } catch (Exception | LinkageError e) {
      rows.notRun(what, "failed: " + e);
    }
  }

  /** The floor: one PUT of the status subresource per transition, with the resourceVersion the last PUT returned. */
  private static OpFactory bareKube(ApiClient client, String ns, RequestStore store) {
    CustomObjectsApi api = new CustomObjectsApi(client);
    return thread -> {
      RequestRecord r = record(1000 + thread);
      store.insert(r);
      String name = r.id().value();
      // The store writes an inserted object's first status in the background (the API server
      // ignores status on create); start from the object once it has one.
      JsonObject obj;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (true) {
        obj = client.<JsonObject>execute(api.getNamespacedCustomObject("kubejit.dev", "v1alpha1", ns,
            "accessrequests", name).buildCall(null), JsonObject.class).getData();
        if (obj.get("status") != null && obj.get("status").isJsonObject()) {
          break;
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("AccessRequest " + name + " has no status 30 s after its insert");
        }
        Thread.sleep(20);
      }
      JsonObject current = obj;
      return () -> {
        JsonObject status = current.getAsJsonObject("status");
        status.addProperty("version", status.get("version").getAsLong() + 1);
        JsonObject written = client.<JsonObject>execute(api.replaceNamespacedCustomObjectStatus("kubejit.dev",
            "v1alpha1", ns, "accessrequests", name, current).buildCall(null), JsonObject.class).getData();
        current.getAsJsonObject("metadata").addProperty("resourceVersion",
            written.getAsJsonObject("metadata").get("resourceVersion").getAsString());
      };
    };
  }

  // ------------------------------------------------------------------ measuring

  private record Round(double perSecond, Rows.Latencies latencies) {}

  private void compare(String what, RequestStore store, OpFactory viaStore, OpFactory bare, String bareName)
      throws Exception {
    for (int threads : new int[] {1, 8}) {
      List<Op> storeOps = new ArrayList<>();
      List<Op> bareOps = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        storeOps.add(viaStore.forThread(t + threads * 100));
        bareOps.add(bare.forThread(t + threads * 100));
      }
      // warm-up: a round of each, not counted
      round(storeOps, roundNanos / 2);
      round(bareOps, roundNanos / 2);
      List<Double> sRates = new ArrayList<>();
      List<Double> bRates = new ArrayList<>();
      Rows.Latencies sLat = new Rows.Latencies();
      Rows.Latencies bLat = new Rows.Latencies();
      for (int i = 0; i < rounds; i++) {
        boolean storeFirst = i % 2 == 0;
        Round a = round(storeFirst ? storeOps : bareOps, roundNanos);
        Round b = round(storeFirst ? bareOps : storeOps, roundNanos);
        Round s = storeFirst ? a : b;
        Round f = storeFirst ? b : a;
        sRates.add(s.perSecond());
        bRates.add(f.perSecond());
        sLat.addAll(s.latencies());
        bLat.addAll(f.latencies());
      }
      double ratio = Rows.median(sRates) / Rows.median(bRates);
      rows.add(what + ", " + threads + " thread" + (threads == 1 ? "" : "s") + ", CAS transitions/s",
          Rows.rate(sRates, "/s") + "; p50 " + Rows.time(sLat.quantile(0.5)) + ", p99 " + Rows.time(sLat.quantile(0.99)),
          bareName + ": " + Rows.rate(bRates, "/s") + "; p50 " + Rows.time(bLat.quantile(0.5)) + ", p99 "
              + Rows.time(bLat.quantile(0.99)),
          ratio, "— (none set; the floor is the limit)", null);
      System.err.printf(Locale.ROOT, "stores: %s, %d threads: store %.0f/s, floor %.0f/s%n", what, threads,
          Rows.median(sRates), Rows.median(bRates));
    }
  }

  /** Runs each op on its own thread for the given time; returns transitions per second and every latency. */
  private static Round round(List<Op> ops, long nanos) throws Exception {
    Rows.Latencies lat = new Rows.Latencies();
    CountDownLatch go = new CountDownLatch(1);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    long[] counts = new long[ops.size()];
    List<Thread> threads = new ArrayList<>();
    long[] window = new long[2];
    for (int i = 0; i < ops.size(); i++) {
      int k = i;
      Thread t = new Thread(() -> {
        Rows.Latencies mine = new Rows.Latencies();
        try {
          go.await();
          long end = window[1];
          long now = System.nanoTime();
          while (now < end) {
            ops.get(k).run();
            long after = System.nanoTime();
            mine.add(after - now);
            counts[k]++;
            now = after;
          }
        } catch (Throwable e) {
          failure.compareAndSet(null, e);
        }
        lat.addAll(mine);
      }, "bench-store-" + i);
      threads.add(t);
      t.start();
    }
    window[0] = System.nanoTime();
    window[1] = window[0] + nanos;
    go.countDown();
    for (Thread t : threads) {
      t.join();
    }
    if (failure.get() != null) {
      throw new IllegalStateException("a transition failed: " + failure.get(), failure.get());
    }
    long total = 0;
    for (long c : counts) {
      total += c;
    }
    long elapsed = Math.max(System.nanoTime() - window[0], nanos);
    return new Round(total * 1e9 / elapsed, lat);
  }

  /** The first sentence of a (possibly long) message, for a table cell. */
  static String firstLine(String s) {
    int nl = s.indexOf('\n');
    String line = nl < 0 ? s : s.substring(0, nl);
    int stop = line.indexOf(". ");
    return stop < 0 ? line : line.substring(0, stop);
  }
}
