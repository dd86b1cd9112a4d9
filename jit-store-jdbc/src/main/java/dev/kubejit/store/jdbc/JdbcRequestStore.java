package dev.kubejit.store.jdbc;

import static java.util.Objects.requireNonNull;

import com.google.common.base.Preconditions;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.IncompatibleStoreException;
import dev.kubejit.api.KubeJitException;
import dev.kubejit.api.OwnerOnlyFiles;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.spi.RequestStore;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.MigrationState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

/**
 * A {@link RequestStore} on plain JDBC, durable and shareable: an embedded SQLite file (one
 * machine; several processes may use it at once) or a PostgreSQL server (several replicas).
 *
 * <pre>{@code
 * RequestStore store = JdbcRequestStore.builder().sqlite(Path.of(home, ".kubejit", "requests.db")).build();
 * RequestStore shared = JdbcRequestStore.builder().url("jdbc:postgresql://db:5432/kubejit")
 *     .credentials("kubejit", passwordSupplier).build();
 * }</pre>
 *
 * <p>Each request is one row: a JSON payload (in a numbered payload format, 1 today) and, written in
 * the same statement, the columns lookups filter on (state, grant id, window end; each indexed).
 * {@link #replace} is one {@code UPDATE … WHERE id = ? AND version = ?}: of several writers from
 * the same version, on any number of processes, exactly one changes the row. The schema is
 * versioned SQL in the jar, applied with Flyway (history table {@code kubejit_schema_history})
 * unless {@link Builder#migrate(boolean) migrate(false)} is set; a schema or a record written by a
 * newer KubeJIT is refused with {@link IncompatibleStoreException}, never read half-way.
 *
 * <p>Errors of the database are thrown as {@link KubeJitException}; no message or {@link
 * #toString()} contains the password. Close the store to release the connection pool it opened (a
 * {@link DataSource} given to the builder is left open).
 */
public final class JdbcRequestStore implements RequestStore, AutoCloseable {
  /** The schema version this code is written for: the highest migration in the jar. */
  static final int SCHEMA_VERSION = 1;
  /** Where the migrations live in the jar: not {@code db/migration}, so an application's own
   * Flyway set-up never picks them up. */
  static final String MIGRATIONS = "classpath:dev/kubejit/store/jdbc/migration";
  static final String HISTORY_TABLE = "kubejit_schema_history";

  private static final Logger log = LoggerFactory.getLogger(JdbcRequestStore.class);
  private static final String COLUMNS = "version, payload_format, payload";
  private static final Pattern URL_SECRET =
      Pattern.compile("(?i)(password|passwd|pwd|sslpassword|secret|token)\\s*=|//[^/?]*@");

  private final DataSource dataSource;
  private final HikariDataSource pool;
  private final String description;
  private final Dialect dialect;

  private enum Dialect { SQLITE, POSTGRESQL }

  private JdbcRequestStore(DataSource dataSource, HikariDataSource pool, String description, Dialect dialect) {
    this.dataSource = dataSource;
    this.pool = pool;
    this.description = description;
    this.dialect = dialect;
  }

  /** Returns a new builder; exactly one of {@code sqlite}, {@code url} and {@code dataSource} is required. */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public void insert(RequestRecord record) {
    requireNonNull(record, "record");
    String sql = "INSERT INTO kubejit_request (id, version, state, grant_id, created_ns, window_end_ns, "
        + "payload_format, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING";
    try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, record.id().value());
      ps.setLong(2, record.version());
      ps.setString(3, record.state().name());
      setRow(ps, 4, record);
      if (ps.executeUpdate() != 1) {
        throw new IllegalStateException("request " + record.id() + " already exists");
      }
    } catch (SQLException e) {
      if (isUniqueViolation(e)) {
        throw new IllegalStateException("grant " + record.grant().map(g -> g.id().toString()).orElse("?")
            + " of request " + record.id() + " already belongs to another request", e);
      }
      throw failure("insert request " + record.id(), e);
    }
  }

  @Override
  public Optional<RequestRecord> find(RequestId id) {
    requireNonNull(id, "id");
    List<RequestRecord> found = query("SELECT id, " + COLUMNS + " FROM kubejit_request WHERE id = ?",
        "find request " + id, id.value());
    return found.stream().findFirst();
  }

  @Override
  public Optional<RequestRecord> findByGrant(GrantId id) {
    requireNonNull(id, "id");
    List<RequestRecord> found = query("SELECT id, " + COLUMNS + " FROM kubejit_request WHERE grant_id = ?",
        "find grant " + id, id.value());
    return found.stream().findFirst();
  }

  /**
   * {@inheritDoc}
   *
   * @throws IllegalArgumentException if the ids differ or {@code updated} does not have a higher
   *     version than {@code expected}
   */
  @Override
  public boolean replace(RequestRecord expected, RequestRecord updated) {
    requireNonNull(expected, "expected");
    requireNonNull(updated, "updated");
    if (!expected.id().equals(updated.id())) {
      throw new IllegalArgumentException("ids differ: " + expected.id() + " vs " + updated.id());
    }
    if (updated.version() <= expected.version()) {
      throw new IllegalArgumentException("request " + updated.id() + ": version " + updated.version()
          + " does not follow " + expected.version());
    }
    String sql = "UPDATE kubejit_request SET version = ?, state = ?, grant_id = ?, created_ns = ?, "
        + "window_end_ns = ?, payload_format = ?, payload = ? "
        + "WHERE id = ? AND version = ? AND payload_format <= ?";
    try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setLong(1, updated.version());
      ps.setString(2, updated.state().name());
      setRow(ps, 3, updated);
      ps.setString(8, updated.id().value());
      ps.setLong(9, expected.version());
      ps.setInt(10, RecordCodec.FORMAT);
      return ps.executeUpdate() == 1;
    } catch (SQLException e) {
      if (isUniqueViolation(e)) {
        throw new IllegalStateException("grant of request " + updated.id() + " already belongs to another request", e);
      }
      throw failure("update request " + updated.id(), e);
    }
  }

  @Override
  public List<RequestRecord> list(Set<RequestState> states) {
    requireNonNull(states, "states");
    if (states.isEmpty()) {
      return List.of();
    }
    StringBuilder sql = new StringBuilder("SELECT id, " + COLUMNS + " FROM kubejit_request WHERE state IN (");
    Object[] args = new Object[states.size()];
    int i = 0;
    for (RequestState s : states) {
      sql.append(i == 0 ? "?" : ", ?");
      args[i++] = s.name();
    }
    sql.append(") ORDER BY created_ns, id");
    List<RequestRecord> out = query(sql.toString(), "list requests in " + states, args);
    out.sort(Comparator.comparing(RequestRecord::createdAt).thenComparing(r -> r.id().value()));
    return out;
  }

  /** Reads the window-end index: only the rows due by {@code end} are read. */
  @Override
  public List<RequestRecord> listEndingBy(Instant end) {
    requireNonNull(end, "end");
    List<RequestRecord> rows = query("SELECT id, " + COLUMNS + " FROM kubejit_request "
        + "WHERE window_end_ns IS NOT NULL AND window_end_ns <= ? ORDER BY window_end_ns, id",
        "list requests ending by " + end, epochNanos(end));
    // The column saturates outside 1677..2262; the payload is exact.
    List<RequestRecord> out = new ArrayList<>();
    for (RequestRecord r : rows) {
      if (r.windowEnd().map(w -> !w.isAfter(end)).orElse(false)) {
        out.add(r);
      }
    }
    out.sort(Comparator.comparing((RequestRecord r) -> r.windowEnd().orElseThrow()).thenComparing(r -> r.id().value()));
    return out;
  }

  /**
   * The database server's clock now: PostgreSQL's {@code clock_timestamp()} (microseconds), or, for
   * SQLite, this machine's clock as SQLite reads it (milliseconds). Replicas sharing a PostgreSQL
   * database can take expiry decisions against this one clock instead of each against its own.
   *
   * @throws KubeJitException if the database cannot be reached
   */
  public Instant databaseTime() {
    String sql = dialect == Dialect.POSTGRESQL
        ? "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)"
        : "SELECT CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER) * 1000";
    try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql);
        ResultSet rs = ps.executeQuery()) {
      if (!rs.next()) {
        throw new KubeJitException("request store " + description + ": the database returned no time");
      }
      long micros = rs.getLong(1);
      return Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1000L);
    } catch (SQLException e) {
      throw failure("read the database's time", e);
    }
  }

  /** Closes the connection pool this store opened; a data source given to the builder stays open. */
  @Override
  public void close() {
    if (pool != null) {
      pool.close();
    }
  }

  @Override
  public String toString() {
    return "JdbcRequestStore{" + description + "}";
  }

  private static void setRow(PreparedStatement ps, int at, RequestRecord r) throws SQLException {
    ps.setString(at, r.grant().map(g -> g.id().value()).orElse(null));
    ps.setLong(at + 1, epochNanos(r.createdAt()));
    Optional<Instant> end = r.windowEnd();
    if (end.isPresent()) {
      ps.setLong(at + 2, epochNanos(end.get()));
    } else {
      ps.setNull(at + 2, java.sql.Types.BIGINT);
    }
    ps.setInt(at + 3, RecordCodec.FORMAT);
    ps.setString(at + 4, RecordCodec.encode(r));
  }

  private List<RequestRecord> query(String sql, String what, Object... args) {
    List<RequestRecord> out = new ArrayList<>();
    try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(decodeRow(rs.getString(1), rs.getLong(2), rs.getInt(3), rs.getString(4)));
        }
      }
    } catch (SQLException e) {
      throw failure(what, e);
    }
    return out;
  }

  private static RequestRecord decodeRow(String id, long version, int format, String payload) {
    if (format > RecordCodec.FORMAT) {
      throw new IncompatibleStoreException("request " + id + " was written in payload format " + format
          + " by a newer KubeJIT; this version reads formats up to " + RecordCodec.FORMAT + ". Upgrade KubeJIT.");
    }
    if (format < 1) {
      throw new KubeJitException("request " + id + " has an invalid payload format " + format);
    }
    RequestRecord r;
    try {
      r = RecordCodec.decode(payload);
    } catch (RuntimeException e) {
      throw new KubeJitException("request " + id + " in the store is unreadable: " + e.getMessage(), e);
    }
    if (!r.id().value().equals(id) || r.version() != version) {
      throw new KubeJitException("request " + id + " in the store is inconsistent: row version " + version
          + ", payload " + r.id() + " version " + r.version());
    }
    return r;
  }

  static long epochNanos(Instant t) {
    try {
      return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000_000L), t.getNano());
    } catch (ArithmeticException outOfRange) {
      return t.getEpochSecond() < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
    }
  }

  private boolean isUniqueViolation(SQLException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLException) {
        SQLException s = (SQLException) t;
        if ("23505".equals(s.getSQLState())) {
          return true;
        }
        String m = String.valueOf(s.getMessage());
        if (dialect == Dialect.SQLITE && m.contains("UNIQUE constraint failed")) {
          return true;
        }
      }
    }
    return false;
  }

  private KubeJitException failure(String what, SQLException e) {
    return new KubeJitException("request store " + description + ": could not " + what + ": " + e.getMessage(), e);
  }

  /** Builds a {@link JdbcRequestStore}; each option may be set once. */
  public static final class Builder {
    private Path sqlite;
    private String url;
    private DataSource dataSource;
    private String user;
    private Supplier<char[]> password;
    private Boolean migrate;
    private Duration busyTimeout;
    private Integer poolSize;

    private Builder() {}

    /**
     * Uses (and creates, mode 0600, if absent) the SQLite database in {@code file}, in WAL mode with
     * {@code synchronous=FULL}, so several processes on this machine can share it.
     */
    public Builder sqlite(Path file) {
      requireSource("sqlite");
      this.sqlite = requireNonNull(file, "file").toAbsolutePath().normalize();
      return this;
    }

    /**
     * Connects to a JDBC URL ({@code jdbc:postgresql://…} or {@code jdbc:sqlite:…}) through a
     * connection pool (HikariCP); give the password with {@link #credentials}, never in the URL.
     *
     * @throws IllegalArgumentException if the URL is not a JDBC URL or carries a password
     */
    public Builder url(String jdbcUrl) {
      requireSource("url");
      requireNonNull(jdbcUrl, "jdbcUrl");
      Preconditions.checkArgument(jdbcUrl.startsWith("jdbc:"), "not a JDBC URL (must start with jdbc:): %s",
          redact(jdbcUrl));
      if (URL_SECRET.matcher(jdbcUrl).find()) {
        throw new IllegalArgumentException("the JDBC URL carries a password or user info; pass credentials with"
            + " credentials(user, password) so they stay out of logs: " + redact(jdbcUrl));
      }
      this.url = jdbcUrl;
      return this;
    }

    /** Uses the application's own data source (its pool, its credentials); it is not closed by the store. */
    public Builder dataSource(DataSource dataSource) {
      requireSource("dataSource");
      this.dataSource = requireNonNull(dataSource, "dataSource");
      return this;
    }

    /** The user and password for {@link #url}; the array is copied, so the caller may clear it. */
    public Builder credentials(String user, char[] password) {
      requireNonNull(password, "password");
      return credentials(user, new UrlDataSource.CopiedPassword(password));
    }

    /**
     * The user for {@link #url} and where to get the password, asked each time the pool opens a
     * connection (so a rotated password is used without a restart).
     */
    public Builder credentials(String user, Supplier<char[]> password) {
      Preconditions.checkState(this.user == null, "credentials were already set for user %s", this.user);
      Preconditions.checkArgument(user != null && !user.isBlank(), "user must not be blank");
      this.user = user;
      this.password = requireNonNull(password, "password");
      return this;
    }

    /**
     * Whether to apply the schema migrations at start (default true); with false the schema must
     * already be at this code's version (the embedder runs the migrations in the jar's {@code
     * dev/kubejit/store/jdbc/migration} itself), else {@link #build()} fails.
     */
    public Builder migrate(boolean migrate) {
      Preconditions.checkState(this.migrate == null, "migrate was already set to %s", this.migrate);
      this.migrate = migrate;
      return this;
    }

    /** How long a SQLite writer waits for another process's write to finish (default 10 s). */
    public Builder busyTimeout(Duration timeout) {
      Preconditions.checkState(busyTimeout == null, "busyTimeout was already set to %s", busyTimeout);
      requireNonNull(timeout, "timeout");
      Preconditions.checkArgument(!timeout.isNegative() && timeout.compareTo(Duration.ofMinutes(10)) <= 0,
          "busyTimeout must be between 0 and 10 minutes: %s", timeout);
      this.busyTimeout = timeout;
      return this;
    }

    /** The connection pool's size for {@link #sqlite} or {@link #url} (default 4 and 10). */
    public Builder poolSize(int size) {
      Preconditions.checkState(poolSize == null, "poolSize was already set to %s", poolSize);
      Preconditions.checkArgument(size >= 1 && size <= 200, "poolSize must be between 1 and 200: %s", size);
      this.poolSize = size;
      return this;
    }

    /**
     * Opens the store: connects, applies or checks the schema.
     *
     * @throws IllegalStateException if the options contradict each other (no or several sources,
     *     credentials or pool size with a data source, a busy timeout without SQLite)
     * @throws IncompatibleStoreException if the schema is newer than this code
     * @throws KubeJitException if the database cannot be reached, or the schema is missing or older
     *     and {@code migrate(false)} was set
     */
    public JdbcRequestStore build() {
      Preconditions.checkState(sqlite != null || url != null || dataSource != null,
          "no database: call sqlite(Path), url(String) or dataSource(DataSource)");
      Preconditions.checkState(user == null || url != null,
          "credentials apply only to url(String); a SQLite file has none and a DataSource brings its own");
      Preconditions.checkState(poolSize == null || dataSource == null,
          "poolSize does not apply to a DataSource you give (it is your pool)");
      boolean sqliteUrl = url != null && url.startsWith("jdbc:sqlite:");
      Preconditions.checkState(busyTimeout == null || sqlite != null || sqliteUrl,
          "busyTimeout applies only to SQLite");
      HikariDataSource pool = null;
      DataSource ds;
      String description;
      if (dataSource != null) {
        ds = dataSource;
        description = "dataSource " + dataSource.getClass().getSimpleName();
      } else {
        HikariConfig cfg = new HikariConfig();
        cfg.setPoolName("kubejit-request-store");
        cfg.setInitializationFailTimeout(1);
        if (sqlite != null || sqliteUrl) {
          String sqliteJdbc = sqlite != null ? "jdbc:sqlite:" + prepareSqliteFile(sqlite) : url;
          description = sqlite != null ? "sqlite " + sqlite : redact(url);
          SQLiteConfig sc = new SQLiteConfig();
          sc.setJournalMode(SQLiteConfig.JournalMode.WAL);
          sc.setSynchronous(SQLiteConfig.SynchronousMode.FULL);
          sc.setBusyTimeout((int) Math.min(Integer.MAX_VALUE, (busyTimeout == null ? Duration.ofSeconds(10)
              : busyTimeout).toMillis()));
          SQLiteDataSource sds = new SQLiteDataSource(sc);
          sds.setUrl(sqliteJdbc);
          cfg.setDataSource(sds);
          cfg.setMaximumPoolSize(poolSize == null ? 4 : poolSize);
        } else {
          description = redact(url) + (user == null ? "" : " user=" + user);
          cfg.setDataSource(new UrlDataSource(url, redact(url), user, password));
          cfg.setMaximumPoolSize(poolSize == null ? 10 : poolSize);
        }
        try {
          pool = new HikariDataSource(cfg);
        } catch (RuntimeException e) {
          throw new KubeJitException("request store " + description + ": cannot connect: " + rootMessage(e), e);
        }
        ds = pool;
      }
      try {
        Dialect dialect = dialectOf(ds, description);
        prepareSchema(ds, description, migrate == null || migrate);
        log.info("request store {} ready (schema {}, payload format {})", description, SCHEMA_VERSION,
            RecordCodec.FORMAT);
        return new JdbcRequestStore(ds, pool, description, dialect);
      } catch (RuntimeException e) {
        if (pool != null) {
          pool.close();
        }
        throw e;
      }
    }

    private void requireSource(String option) {
      Preconditions.checkState(sqlite == null && url == null && dataSource == null,
          "%s: the database was already set (%s)", option,
          sqlite != null ? "sqlite " + sqlite : url != null ? "url " + redact(url) : "a dataSource");
    }

    private static Path prepareSqliteFile(Path file) {
      try {
        Path dir = file.getParent();
        if (dir != null && !Files.isDirectory(dir)) {
          try {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
          } catch (UnsupportedOperationException notPosix) {
            Files.createDirectories(dir);
          }
        }
        if (!Files.exists(file)) {
          try {
            OwnerOnlyFiles.createNew(file, new byte[0]);
          } catch (FileAlreadyExistsException raced) {
            // another process created it first; fine
          }
        }
        return file;
      } catch (IOException e) {
        throw new KubeJitException("request store: cannot create the SQLite file " + file + ": " + e, e);
      }
    }

    private static Dialect dialectOf(DataSource ds, String description) {
      try (Connection c = ds.getConnection()) {
        String product = c.getMetaData().getDatabaseProductName();
        if ("SQLite".equalsIgnoreCase(product)) {
          return Dialect.SQLITE;
        }
        if ("PostgreSQL".equalsIgnoreCase(product)) {
          return Dialect.POSTGRESQL;
        }
        throw new IllegalArgumentException("request store " + description + ": " + product
            + " is not supported (SQLite or PostgreSQL)");
      } catch (SQLException e) {
        throw new KubeJitException("request store " + description + ": cannot connect: " + e.getMessage(), e);
      }
    }

    private static void prepareSchema(DataSource ds, String description, boolean migrate) {
      Flyway flyway = Flyway.configure(JdbcRequestStore.class.getClassLoader()).dataSource(ds)
          .locations(MIGRATIONS).table(HISTORY_TABLE).failOnMissingLocations(true)
          .validateMigrationNaming(true).cleanDisabled(true).load();
      try {
        int found = checkNotNewer(flyway, description);
        if (found < SCHEMA_VERSION) {
          if (!migrate) {
            throw new KubeJitException("request store " + description + ": "
                + (found == 0 ? "has no KubeJIT schema" : "has schema version " + found)
                + " but this KubeJIT needs version " + SCHEMA_VERSION + ", and migrate(false) was set; apply the"
                + " migrations shipped in jit-store-jdbc (dev/kubejit/store/jdbc/migration) or allow migrate");
          }
          try {
            flyway.migrate();
          } catch (FlywayException raced) {
            // Another process opening the same new database may have migrated it first.
            if (checkNotNewer(flyway, description) != SCHEMA_VERSION) {
              throw raced;
            }
            log.debug("request store {}: another process migrated the schema first ({})", description,
                raced.getMessage());
          }
          int now = checkNotNewer(flyway, description);
          if (now != SCHEMA_VERSION) {
            throw new KubeJitException("request store " + description + ": migration ended at schema version "
                + now + ", expected " + SCHEMA_VERSION);
          }
          log.info("request store {}: schema migrated from version {} to {}", description, found, SCHEMA_VERSION);
        }
      } catch (FlywayException e) {
        throw new KubeJitException("request store " + description + ": schema check or migration failed: "
            + e.getMessage(), e);
      }
    }

    /** Returns the applied schema version (0 for none) and refuses a newer or failed one. */
    private static int checkNotNewer(Flyway flyway, String description) {
      int highest = 0;
      for (MigrationInfo m : flyway.info().applied()) {
        if (m.getState() == MigrationState.FAILED) {
          throw new KubeJitException("request store " + description + ": migration " + m.getVersion()
              + " failed earlier; repair the schema history before use");
        }
        if (m.getVersion() == null) {
          continue;
        }
        int v;
        try {
          v = Integer.parseInt(m.getVersion().getVersion());
        } catch (NumberFormatException e) {
          v = Integer.MAX_VALUE;
        }
        highest = Math.max(highest, v);
      }
      if (highest > SCHEMA_VERSION) {
        throw new IncompatibleStoreException("request store " + description + " has schema version "
            + (highest == Integer.MAX_VALUE ? "(unknown, newer)" : Integer.toString(highest))
            + ", newer than version " + SCHEMA_VERSION + " that this KubeJIT supports; upgrade KubeJIT");
      }
      return highest;
    }

    private static String rootMessage(Throwable e) {
      Throwable t = e;
      while (t.getCause() != null && t.getCause() != t) {
        t = t.getCause();
      }
      return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }
  }

  /** The URL without query parameters or user info, for messages and logs. */
  static String redact(String url) {
    String u = url;
    int q = u.indexOf('?');
    if (q >= 0) {
      u = u.substring(0, q) + "?…";
    }
    int semicolon = u.indexOf(';');
    if (semicolon >= 0) {
      u = u.substring(0, semicolon) + ";…";
    }
    if (!u.toLowerCase(Locale.ROOT).startsWith("jdbc:")) {
      return "(not a JDBC URL)";
    }
    return u.replaceAll("//[^/@]*@", "//…@");
  }
}
