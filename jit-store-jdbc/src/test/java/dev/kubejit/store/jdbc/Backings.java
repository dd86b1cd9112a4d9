package dev.kubejit.store.jdbc;

import dev.kubejit.api.RequestRecord;
import dev.kubejit.testing.ChildStore;
import dev.kubejit.testing.PostgresServer;
import dev.kubejit.testing.SharedRequestStoreContract;
import dev.kubejit.testing.StoreOpener;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Properties;

/** SQLite files and PostgreSQL databases as backing stores for the contracts and the proofs. */
final class Backings {
  private Backings() {}

  /** Writes a record as a newer KubeJIT would: payload format one above the code's, version + 1. */
  static void writeAsNewerFormat(Connection c, RequestRecord r) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "UPDATE kubejit_request SET version = version + 1, payload_format = ?, payload = ? WHERE id = ?")) {
      ps.setInt(1, RecordCodec.FORMAT + 1);
      ps.setString(2, "{\"format\":" + (RecordCodec.FORMAT + 1) + ",\"record\":" + RecordCodec.encode(r) + "}");
      ps.setString(3, r.id().value());
      if (ps.executeUpdate() != 1) {
        throw new IllegalStateException("no row " + r.id());
      }
    }
  }

  /** Records a schema migration above the code's in the history table, as a newer KubeJIT would. */
  static void upgradeSchemaBeyondCode(Connection c) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.executeUpdate("INSERT INTO " + JdbcRequestStore.HISTORY_TABLE + " (installed_rank, version, description, type,"
          + " script, checksum, installed_by, execution_time, success) VALUES (99, '"
          + (JdbcRequestStore.SCHEMA_VERSION + 1) + "', 'from a newer KubeJIT', 'SQL', 'V"
          + (JdbcRequestStore.SCHEMA_VERSION + 1) + "__future.sql', 0, 'test', 0, TRUE)");
    }
  }

  /** One SQLite file. */
  static final class Sqlite implements SharedRequestStoreContract.Backing {
    private final Path file;

    Sqlite(Path file) {
      this.file = file;
    }

    @Override
    public JdbcRequestStore open() {
      return JdbcRequestStore.builder().sqlite(file).build();
    }

    Connection connect() throws SQLException {
      return DriverManager.getConnection("jdbc:sqlite:" + file);
    }

    @Override
    public void writeAsNewerFormat(RequestRecord record) throws SQLException {
      try (Connection c = connect()) {
        Backings.writeAsNewerFormat(c, record);
      }
    }

    @Override
    public void upgradeSchemaBeyondCode() throws SQLException {
      try (Connection c = connect()) {
        Backings.upgradeSchemaBeyondCode(c);
      }
    }

    @Override
    public ChildStore child() {
      return ChildStore.of(SqliteOpener.class, List.of(file.toString()));
    }

    @Override
    public void close() {}
  }

  /** Opens a SQLite store in a child JVM: argument 1 is the file. */
  public static final class SqliteOpener implements StoreOpener {
    /** Used reflectively by the child JVM. */
    public SqliteOpener() {}

    @Override
    public JdbcRequestStore open(List<String> args) {
      return JdbcRequestStore.builder().sqlite(Path.of(args.get(0))).build();
    }
  }

  /** One PostgreSQL database on the shared test server, dropped on close. */
  static final class Postgres implements SharedRequestStoreContract.Backing {
    private final PostgresServer server;
    private final String database;
    private final Path passwordFile;

    Postgres(PostgresServer server, Path tempDir) throws Exception {
      this.server = server;
      this.database = server.createDatabase();
      this.passwordFile = tempDir.resolve(database + ".password");
      Files.writeString(passwordFile, new String(server.password()), StandardCharsets.UTF_8);
      Files.setPosixFilePermissions(passwordFile, PosixFilePermissions.fromString("rw-------"));
    }

    String url() {
      return server.jdbcUrl(database);
    }

    @Override
    public JdbcRequestStore open() {
      return JdbcRequestStore.builder().url(url()).credentials(server.superuser(), server.password()).build();
    }

    Connection connect() throws SQLException {
      Properties p = new Properties();
      p.setProperty("user", server.superuser());
      p.setProperty("password", new String(server.password()));
      return DriverManager.getConnection(url(), p);
    }

    @Override
    public void writeAsNewerFormat(RequestRecord record) throws SQLException {
      try (Connection c = connect()) {
        Backings.writeAsNewerFormat(c, record);
      }
    }

    @Override
    public void upgradeSchemaBeyondCode() throws SQLException {
      try (Connection c = connect()) {
        Backings.upgradeSchemaBeyondCode(c);
      }
    }

    @Override
    public ChildStore child() {
      return ChildStore.of(PostgresOpener.class, List.of(url(), server.superuser(), passwordFile.toString()));
    }

    @Override
    public void close() throws Exception {
      server.dropDatabase(database);
    }
  }

  /** Opens a PostgreSQL store in a child JVM: URL, user, and a file holding the password. */
  public static final class PostgresOpener implements StoreOpener {
    /** Used reflectively by the child JVM. */
    public PostgresOpener() {}

    @Override
    public JdbcRequestStore open(List<String> args) throws Exception {
      char[] password = Files.readString(Path.of(args.get(2)), StandardCharsets.UTF_8).trim().toCharArray();
      return JdbcRequestStore.builder().url(args.get(0)).credentials(args.get(1), password).build();
    }
  }
}
