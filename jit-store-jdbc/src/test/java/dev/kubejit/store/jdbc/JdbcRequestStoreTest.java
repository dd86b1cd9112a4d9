package dev.kubejit.store.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.Approval;
import dev.kubejit.api.ApprovalRequirement;
import dev.kubejit.api.CredentialKind;
import dev.kubejit.api.CredentialRef;
import dev.kubejit.api.Decision;
import dev.kubejit.api.EndCause;
import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Identity;
import dev.kubejit.api.IncompatibleStoreException;
import dev.kubejit.api.KubeJitException;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.Scope;
import dev.kubejit.testing.PostgresServer;
import dev.kubejit.testing.PostgresTest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sqlite.SQLiteDataSource;

/** Builder rules, schema checks, the payload's fidelity, and that secrets stay out of messages. */
class JdbcRequestStoreTest {
  private static final Instant T0 = Instant.parse("2026-02-03T04:05:06.123456789Z");

  @TempDir Path dir;

  /** A record using every optional field, so a round trip proves the payload loses nothing. */
  static RequestRecord everyField() {
    Identity alice = Identity.of("alice", List.of("oncall-payments", "sre")).assertedBy("okta");
    AccessRequest request = AccessRequest.builder().requester(alice).role("oncall-debug").action(Action.of("exec"))
        .scope(Scope.namespace("prod-eu", "payments").withPod("api-7f9c").withNode("node-3"))
        .duration(Duration.ofMinutes(45)).justification("INC-9 \"quoted\" ünïcode ✓ and more")
        .ticket("INC-9").strictDuration(true).build();
    Decision decision = Decision.builder(Decision.Outcome.NEEDS_APPROVAL, "two leads")
        .ruleId("rule-1").policy("sha256-abc", "git-123").grantedDuration(Duration.ofMinutes(30), true)
        .approval(ApprovalRequirement.of(List.of("sre-leads", "security"), 2)).breakGlass(true)
        .rbacTemplate("jit-debug").build();
    RequestId id = RequestId.random();
    Grant grant = Grant.builder().id(GrantId.random()).requestId(id).holder(alice).role("oncall-debug")
        .action(Action.EXEC).scope(request.scope()).window(T0, T0.plus(Duration.ofMinutes(30)))
        .rbacTemplate("jit-debug").breakGlass(true).policyDigest("sha256-abc").why("because", "INC-9")
        .credentials(List.of(CredentialRef.of(CredentialKind.SSH_USER_CERTIFICATE, "serial-1", "SHA256:fp",
            T0.plus(Duration.ofMinutes(29))))).build();
    return RequestRecord.builder().id(id).request(request).decision(decision).state(RequestState.REVOKED)
        .window(T0, T0.plus(Duration.ofHours(1)))
        .approvals(List.of(Approval.approve(Identity.of("carol", List.of("sre-leads")).assertedBy("okta"), T0, "ok"),
            Approval.deny(Identity.of("dave", List.of("security")).assertedBy("okta"), T0.plusNanos(1), null)))
        .grant(grant).ended(EndCause.REVOKED, T0.plusSeconds(60), Identity.of("ivan", List.of("ic")).assertedBy("okta"), "done")
        .reviewRequired(true).version(9).build();
  }

  @Test
  void payloadKeepsEveryField() {
    RequestRecord r = everyField();
    assertEquals(r, RecordCodec.decode(RecordCodec.encode(r)));
    try (JdbcRequestStore store = JdbcRequestStore.builder().sqlite(dir.resolve("a.db")).build()) {
      store.insert(r);
      assertEquals(r, store.find(r.id()).orElseThrow());
      assertEquals(r, store.findByGrant(r.grant().orElseThrow().id()).orElseThrow());
    }
  }

  @Test
  void sqliteDatabaseTimeIsThisMachinesClock() {
    try (JdbcRequestStore store = JdbcRequestStore.builder().sqlite(dir.resolve("t.db")).build()) {
      Instant before = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
      Instant t = store.databaseTime();
      Instant after = Instant.now();
      assertTrue(!t.isBefore(before.minusMillis(1)) && !t.isAfter(after.plusMillis(1)), before + " " + t + " " + after);
    }
    JdbcRequestStore closed = JdbcRequestStore.builder().sqlite(dir.resolve("t.db")).build();
    closed.close();
    assertThrows(KubeJitException.class, closed::databaseTime);
  }

  @Test
  void sqliteFileIsOwnerOnlyAndInWalMode() throws Exception {
    Path file = dir.resolve("sub/dir/kubejit.db");
    try (JdbcRequestStore store = JdbcRequestStore.builder().sqlite(file).build()) {
      store.insert(everyField());
    }
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file.getParent())));
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("PRAGMA journal_mode")) {
      rs.next();
      assertEquals("wal", rs.getString(1));
    }
  }

  @Test
  void expiryAndStateQueriesUseTheirIndexes() throws Exception {
    Path file = dir.resolve("plan.db");
    JdbcRequestStore.builder().sqlite(file).build().close();
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
      assertTrue(plan(s, "SELECT payload FROM kubejit_request WHERE window_end_ns IS NOT NULL AND window_end_ns <= 5"
          + " ORDER BY window_end_ns, id").contains("kubejit_request_window_end"));
      assertTrue(plan(s, "SELECT payload FROM kubejit_request WHERE state IN ('ACTIVE') ORDER BY created_ns, id")
          .contains("kubejit_request_state"));
      assertTrue(plan(s, "SELECT payload FROM kubejit_request WHERE grant_id = 'x'").contains("kubejit_request_grant"));
    }
  }

  private static String plan(Statement s, String sql) throws Exception {
    StringBuilder out = new StringBuilder();
    try (ResultSet rs = s.executeQuery("EXPLAIN QUERY PLAN " + sql)) {
      while (rs.next()) {
        out.append(rs.getString(4)).append('\n');
      }
    }
    return out.toString();
  }

  @Test
  void unreadablePayloadIsReportedNotHalfRead() throws Exception {
    Path file = dir.resolve("bad.db");
    RequestRecord r = everyField();
    try (JdbcRequestStore store = JdbcRequestStore.builder().sqlite(file).build()) {
      store.insert(r);
      try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
        s.executeUpdate("UPDATE kubejit_request SET payload = '{\"id\":\"" + r.id().value() + "\"}'");
      }
      KubeJitException e = assertThrows(KubeJitException.class, () -> store.find(r.id()));
      assertTrue(e.getMessage().contains("unreadable") && e.getMessage().contains(r.id().value()), e.getMessage());
    }
  }

  @Test
  void newerPayloadFormatNamesBothFormats() throws Exception {
    Path file = dir.resolve("future.db");
    RequestRecord r = everyField();
    try (JdbcRequestStore store = JdbcRequestStore.builder().sqlite(file).build()) {
      store.insert(r);
      new Backings.Sqlite(file).writeAsNewerFormat(r.toBuilder().version(10).build());
      IncompatibleStoreException e = assertThrows(IncompatibleStoreException.class, () -> store.find(r.id()));
      assertTrue(e.getMessage().contains("payload format 2") && e.getMessage().contains("up to 1"), e.getMessage());
    }
  }

  @Test
  void newerSchemaNamesBothVersions() throws Exception {
    Path file = dir.resolve("newer.db");
    JdbcRequestStore.builder().sqlite(file).build().close();
    new Backings.Sqlite(file).upgradeSchemaBeyondCode();
    for (boolean migrate : new boolean[] {true, false}) {
      IncompatibleStoreException e = assertThrows(IncompatibleStoreException.class,
          () -> JdbcRequestStore.builder().sqlite(file).migrate(migrate).build());
      assertTrue(e.getMessage().contains("schema version 2") && e.getMessage().contains("version 1"), e.getMessage());
    }
  }

  @Test
  void migrateFalseOnAnEmptyDatabaseFailsAndCreatesNothing() throws Exception {
    Path file = dir.resolve("empty.db");
    KubeJitException e = assertThrows(KubeJitException.class,
        () -> JdbcRequestStore.builder().sqlite(file).migrate(false).build());
    assertTrue(e.getMessage().contains("has no KubeJIT schema") && e.getMessage().contains("migrate(false)"),
        e.getMessage());
    assertEquals(List.of(), tables(file), "nothing was created");
  }

  @Test
  void migrateFalseOnAnOlderSchemaFails() throws Exception {
    Path file = dir.resolve("older.db");
    SQLiteDataSource ds = new SQLiteDataSource();
    ds.setUrl("jdbc:sqlite:" + file);
    // A schema history at version 0: a database prepared for KubeJIT before its first migration.
    Flyway.configure().dataSource(ds).table(JdbcRequestStore.HISTORY_TABLE).locations(JdbcRequestStore.MIGRATIONS)
        .baselineVersion("0").load().baseline();
    KubeJitException e = assertThrows(KubeJitException.class,
        () -> JdbcRequestStore.builder().sqlite(file).migrate(false).build());
    assertTrue(e.getMessage().contains("needs version 1"), e.getMessage());
    assertFalse(tables(file).contains("kubejit_request"));
    // With migrations allowed, the same database is brought up to date and works.
    try (JdbcRequestStore store = JdbcRequestStore.builder().sqlite(file).build()) {
      store.insert(everyField());
      assertEquals(1, store.list(EnumSet.allOf(RequestState.class)).size());
    }
    JdbcRequestStore.builder().sqlite(file).migrate(false).build().close();
  }

  private static List<String> tables(Path file) throws Exception {
    List<String> out = new ArrayList<>();
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  /** A bot, the CLI and a reaper starting at once on a new file: all open it, the schema is made once. */
  @Test
  void concurrentFirstOpensOfANewSqliteFileAllSucceed() throws Exception {
    Path file = dir.resolve("race.db");
    int n = 4;
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(n);
    try {
      java.util.concurrent.CountDownLatch start = new java.util.concurrent.CountDownLatch(1);
      List<java.util.concurrent.Future<JdbcRequestStore>> opened = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        opened.add(pool.submit(() -> {
          start.await();
          return JdbcRequestStore.builder().sqlite(file).build();
        }));
      }
      start.countDown();
      for (java.util.concurrent.Future<JdbcRequestStore> f : opened) {
        try (JdbcRequestStore s = f.get(60, java.util.concurrent.TimeUnit.SECONDS)) {
          s.list(EnumSet.allOf(RequestState.class));
        }
      }
    } finally {
      pool.shutdownNow();
    }
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM " + JdbcRequestStore.HISTORY_TABLE + " WHERE version = '1'")) {
      rs.next();
      assertEquals(1, rs.getInt(1), "the migration ran once");
    }
  }

  @Test
  void theMigrationsInTheJarEndAtTheCodeSchemaVersion() throws Exception {
    Path dirInJar = Path.of(JdbcRequestStore.class.getResource("/" + JdbcRequestStore.MIGRATIONS.substring(
        "classpath:".length())).toURI());
    int highest = 0;
    try (var files = Files.list(dirInJar)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        String name = p.getFileName().toString();
        assertTrue(name.matches("V[0-9]+__[a-z_]+\\.sql"), "migration name " + name);
        highest = Math.max(highest, Integer.parseInt(name.substring(1, name.indexOf("__"))));
      }
    }
    assertEquals(JdbcRequestStore.SCHEMA_VERSION, highest);
  }

  @Test
  void replaceRefusesMismatchedIdsAndVersionsThatDoNotAdvance() {
    try (JdbcRequestStore store = JdbcRequestStore.builder().sqlite(dir.resolve("r.db")).build()) {
      RequestRecord r = everyField();
      store.insert(r);
      assertThrows(IllegalArgumentException.class, () -> store.replace(r, r));
      RequestRecord other = everyField();
      assertThrows(IllegalArgumentException.class, () -> store.replace(r, other.toBuilder().version(10).build()));
      assertEquals(r, store.find(r.id()).orElseThrow());
    }
  }

  @Test
  void aGrantIdBelongsToOneRequest() {
    try (JdbcRequestStore store = JdbcRequestStore.builder().sqlite(dir.resolve("g.db")).build()) {
      RequestRecord r = everyField();
      store.insert(r);
      RequestId otherId = RequestId.random();
      Grant sameGrant = r.grant().orElseThrow().toBuilder().requestId(otherId).build();
      RequestRecord thief = r.toBuilder().id(otherId).grant(sameGrant).build();
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> store.insert(thief));
      assertTrue(e.getMessage().contains("already belongs"), e.getMessage());
      assertTrue(store.find(otherId).isEmpty());
    }
  }

  /** One tiny test per builder misuse; each names what was wrong. */
  @Nested
  class BuilderMisuse {
    @Test
    void noDatabase() {
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> JdbcRequestStore.builder().build());
      assertTrue(e.getMessage().contains("no database"), e.getMessage());
    }

    @Test
    void twoDatabases() {
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> JdbcRequestStore.builder().sqlite(dir.resolve("x.db")).url("jdbc:postgresql://127.0.0.1/x"));
      assertTrue(e.getMessage().contains("already set") && e.getMessage().contains("x.db"), e.getMessage());
    }

    @Test
    void migrateTwice() {
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> JdbcRequestStore.builder().migrate(false).migrate(true));
      assertTrue(e.getMessage().contains("already set to false"), e.getMessage());
    }

    @Test
    void credentialsWithSqlite() {
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> JdbcRequestStore.builder()
          .sqlite(dir.resolve("x.db")).credentials("u", "pw".toCharArray()).build());
      assertTrue(e.getMessage().contains("credentials apply only to url"), e.getMessage());
    }

    @Test
    void poolSizeWithDataSource() {
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> JdbcRequestStore.builder()
          .dataSource(new SQLiteDataSource()).poolSize(3).build());
      assertTrue(e.getMessage().contains("poolSize"), e.getMessage());
    }

    @Test
    void busyTimeoutWithPostgres() {
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> JdbcRequestStore.builder()
          .url("jdbc:postgresql://127.0.0.1:1/x").busyTimeout(Duration.ofSeconds(1)).build());
      assertTrue(e.getMessage().contains("only to SQLite"), e.getMessage());
    }

    @Test
    void outOfRangeValues() {
      assertThrows(IllegalArgumentException.class, () -> JdbcRequestStore.builder().poolSize(0));
      assertThrows(IllegalArgumentException.class, () -> JdbcRequestStore.builder().busyTimeout(Duration.ofSeconds(-1)));
      assertThrows(IllegalArgumentException.class, () -> JdbcRequestStore.builder().url("postgresql://h/db"));
      assertThrows(IllegalArgumentException.class, () -> JdbcRequestStore.builder().credentials(" ", new char[1]));
    }

    @Test
    void passwordInTheUrlIsRefusedWithoutEchoingIt() {
      for (String url : List.of("jdbc:postgresql://db/kubejit?user=k&password=hunter2secret",
          "jdbc:postgresql://k:hunter2secret@db/kubejit")) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> JdbcRequestStore.builder().url(url));
        assertFalse(e.getMessage().contains("hunter2secret"), e.getMessage());
      }
    }

    @Test
    void unsupportedDatabaseIsRefused() {
      // Any JDBC database other than SQLite or PostgreSQL: a data source whose metadata says so.
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JdbcRequestStore.builder()
          .dataSource(new OtherDatabase()).build());
      assertTrue(e.getMessage().contains("not supported"), e.getMessage());
    }
  }

  /** Secrets: the password is never in toString() or in a message, also when the login fails. */
  @Nested
  @PostgresTest
  class Secrets {
    private final PostgresServer server;

    Secrets(PostgresServer server) {
      this.server = server;
    }

    @Test
    void passwordStaysOutOfToStringAndMessages() throws Exception {
      String db = server.createDatabase();
      try {
        char[] password = server.password();
        String secret = new String(password);
        try (JdbcRequestStore store = JdbcRequestStore.builder().url(server.jdbcUrl(db))
            .credentials(server.superuser(), password).build()) {
          java.util.Arrays.fill(password, 'x');
          store.insert(everyField());
          assertFalse(store.toString().contains(secret), store.toString());
          assertTrue(store.toString().contains("user=" + server.superuser()), store.toString());
        }
        char[] wrong = "wrong-but-secret-pw".toCharArray();
        KubeJitException e = assertThrows(KubeJitException.class, () -> JdbcRequestStore.builder()
            .url(server.jdbcUrl(db)).credentials(server.superuser(), wrong).build());
        for (Throwable t = e; t != null; t = t.getCause()) {
          assertFalse(String.valueOf(t.getMessage()).contains("wrong-but-secret-pw"), t.toString());
          assertFalse(String.valueOf(t.getMessage()).contains(secret), t.toString());
        }
        assertTrue(e.getMessage().contains("cannot connect"), e.getMessage());
      } finally {
        server.dropDatabase(db);
      }
    }

    @Test
    void databaseTimeIsPostgresClockInMicroseconds() throws Exception {
      String db = server.createDatabase();
      try (JdbcRequestStore store = JdbcRequestStore.builder().url(server.jdbcUrl(db))
          .credentials(server.superuser(), server.password()).build()) {
        // The server runs on this machine, so its clock and Java's agree to well within a second.
        Instant before = Instant.now();
        Instant t = store.databaseTime();
        Instant after = Instant.now();
        assertTrue(!t.isBefore(before.minusSeconds(1)) && !t.isAfter(after.plusSeconds(1)), before + " " + t + " " + after);
        assertEquals(0, t.getNano() % 1000, "microseconds: " + t);
        Instant later = store.databaseTime();
        assertFalse(later.isBefore(t), t + " then " + later);
      } finally {
        server.dropDatabase(db);
      }
    }

    @Test
    void aRotatedPasswordIsAskedForEachNewConnection() throws Exception {
      String db = server.createDatabase();
      try {
        AtomicInteger asked = new AtomicInteger();
        try (JdbcRequestStore store = JdbcRequestStore.builder().url(server.jdbcUrl(db))
            .credentials(server.superuser(), () -> {
              asked.incrementAndGet();
              return server.password();
            }).poolSize(2).build()) {
          store.insert(everyField());
          assertTrue(asked.get() >= 1);
        }
      } finally {
        server.dropDatabase(db);
      }
    }
  }

  /** A data source of a database product KubeJIT does not support. */
  private static final class OtherDatabase extends SQLiteDataSource {
    @Override
    public Connection getConnection() throws java.sql.SQLException {
      Connection real = super.getConnection();
      return (Connection) java.lang.reflect.Proxy.newProxyInstance(getClass().getClassLoader(),
          new Class<?>[] {Connection.class}, (proxy, m, args) -> {
            if (m.getName().equals("getMetaData")) {
              java.sql.DatabaseMetaData md = real.getMetaData();
              return java.lang.reflect.Proxy.newProxyInstance(getClass().getClassLoader(),
                  new Class<?>[] {java.sql.DatabaseMetaData.class}, (p2, m2, a2) ->
                      m2.getName().equals("getDatabaseProductName") ? "H2" : m2.invoke(md, a2));
            }
            return m.invoke(real, args);
          });
    }
  }
}
