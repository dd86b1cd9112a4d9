package dev.kubejit.testing;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A throwaway PostgreSQL server for tests: {@code initdb} into a temporary directory, {@code pg_ctl
 * start} on a free loopback port (no Unix socket outside that directory, no TCP beyond
 * 127.0.0.1), password authentication (SCRAM) for a generated superuser, and everything removed by
 * {@link #close()}. Runs the server as the {@code postgres} user through {@code runuser} when the
 * JVM runs as root (initdb refuses root). Binaries come from {@code $KUBEJIT_PG_BIN}, else {@code
 * /usr/lib/postgresql/15/bin} (Debian's {@code postgresql} package, installed by {@code
 * scripts/test-deps.sh}).
 *
 * <p>The server keeps {@code fsync} on but sets {@code synchronous_commit=off}: a commit may be lost
 * if the <em>server</em> crashes, which no test does; client processes killed mid-write see exactly
 * PostgreSQL's usual atomicity.
 */
public final class PostgresServer implements AutoCloseable {
  /** The environment variable naming a directory with initdb, pg_ctl and postgres. */
  public static final String BIN_ENV = "KUBEJIT_PG_BIN";
  private static final Path DEFAULT_BIN = Path.of("/usr/lib/postgresql/15/bin");
  private static final AtomicInteger DATABASES = new AtomicInteger();

  private final Path dir;
  private final Path bin;
  private final int port;
  private final String superuser = "kubejit_admin";
  private final char[] password;
  private final boolean asPostgres;
  private boolean closed;
  private boolean stopped;

  private PostgresServer(Path dir, Path bin, int port, char[] password, boolean asPostgres) {
    this.dir = dir;
    this.bin = bin;
    this.port = port;
    this.password = password;
    this.asPostgres = asPostgres;
  }

  /**
   * Initialises and starts a new server.
   *
   * @throws IllegalStateException with what to install, if the binaries are missing; or with the
   *     server's log, if it does not start
   */
  public static PostgresServer start() {
    return start(System.getenv(BIN_ENV) != null ? Path.of(System.getenv(BIN_ENV)) : DEFAULT_BIN);
  }

  static PostgresServer start(Path bin) {
    for (String tool : List.of("initdb", "pg_ctl", "postgres")) {
      if (!Files.isExecutable(bin.resolve(tool))) {
        throw new IllegalStateException("PostgreSQL is not installed: no " + bin.resolve(tool)
            + "; run scripts/test-deps.sh (Debian package postgresql, version 15) or set " + BIN_ENV
            + " to a directory with initdb, pg_ctl and postgres");
      }
    }
    boolean root = "root".equals(System.getProperty("user.name"));
    Path dir;
    try {
      dir = Files.createTempDirectory("kubejit-pg-");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a directory for PostgreSQL", e);
    }
    byte[] random = new byte[18];
    new SecureRandom().nextBytes(random);
    char[] password = Base64.getUrlEncoder().withoutPadding().encodeToString(random).toCharArray();
    IllegalStateException last = null;
    try {
      if (root) {
        UserPrincipal postgres = dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres");
        Files.setOwner(dir, postgres);
      }
      Path pwfile = dir.resolve("pwfile");
      Files.writeString(pwfile, new String(password) + "\n", UTF_8);
      Files.setPosixFilePermissions(pwfile, PosixFilePermissions.fromString("rw-------"));
      if (root) {
        Files.setOwner(pwfile, dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres"));
      }
      run(root, dir, List.of(bin.resolve("initdb").toString(), "-D", dir.resolve("data").toString(), "-U",
          "kubejit_admin", "--pwfile=" + pwfile, "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
          "--no-sync"), dir.resolve("initdb.log"));
      Files.delete(pwfile);
      for (int attempt = 0; attempt < 3; attempt++) {
        int port = freePort();
        try {
          run(root, dir, startCommand(bin, dir, port), dir.resolve("pg_ctl.log"));
          return new PostgresServer(dir, bin, port, password, root);
        } catch (IllegalStateException e) {
          last = e;
        }
      }
    } catch (IOException e) {
      deleteTree(dir);
      throw new UncheckedIOException("cannot prepare PostgreSQL in " + dir, e);
    } catch (RuntimeException e) {
      deleteTree(dir);
      throw e;
    }
    String log = read(dir.resolve("server.log"));
    deleteTree(dir);
    throw new IllegalStateException(last.getMessage() + "\nserver log:\n" + log, last);
  }

  private static List<String> startCommand(Path bin, Path dir, int port) {
    return List.of(bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-l",
        dir.resolve("server.log").toString(), "-w", "-t", "60", "-o",
        "-c listen_addresses=127.0.0.1 -c port=" + port + " -c unix_socket_directories=" + dir
            + " -c max_connections=200 -c synchronous_commit=off", "start");
  }

  /**
   * Stops the server (fast shutdown: open sessions are cut) and keeps its data, for outage tests;
   * {@link #restart()} starts it again on the same port. Use a server of your own ({@link
   * #start()}), never the one {@code @PostgresTest} shares.
   *
   * @throws IllegalStateException if {@code pg_ctl stop} fails
   */
  public synchronized void stop() {
    if (closed) {
      throw new IllegalStateException("the server was closed");
    }
    run(asPostgres, dir, List.of(bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m",
        "fast", "-w", "-t", "60", "stop"), dir.resolve("pg_ctl-stop.log"));
    stopped = true;
  }

  /**
   * Starts a server stopped by {@link #stop()} again, on the same port, with the same data.
   *
   * @throws IllegalStateException with the server log if it does not start
   */
  public synchronized void restart() {
    if (closed) {
      throw new IllegalStateException("the server was closed");
    }
    try {
      run(asPostgres, dir, startCommand(bin, dir, port), dir.resolve("pg_ctl.log"));
      stopped = false;
    } catch (IllegalStateException e) {
      throw new IllegalStateException(e.getMessage() + "\nserver log:\n" + read(dir.resolve("server.log")), e);
    }
  }

  /** The loopback port it listens on. */
  public int port() {
    return port;
  }

  /** The superuser's name. */
  public String superuser() {
    return superuser;
  }

  /** A copy of the superuser's password. */
  public char[] password() {
    return password.clone();
  }

  /** The JDBC URL of {@code database} on this server. */
  public String jdbcUrl(String database) {
    return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
  }

  /**
   * Creates a new, empty database with a unique name and returns its name.
   *
   * @throws IllegalStateException if the server refuses
   */
  public String createDatabase() {
    String name = "kubejit_test_" + ProcessHandle.current().pid() + "_" + DATABASES.incrementAndGet();
    execute("CREATE DATABASE " + name);
    return name;
  }

  /** Drops a database made by {@link #createDatabase()}, disconnecting its sessions. */
  public void dropDatabase(String name) {
    if (!name.matches("[a-z0-9_]+")) {
      throw new IllegalArgumentException("not a test database name: " + name);
    }
    execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  }

  /** Runs one SQL statement as the superuser in the {@code postgres} database. */
  public void execute(String sql) {
    Properties props = new Properties();
    props.setProperty("user", superuser);
    props.setProperty("password", new String(password));
    try (Connection c = DriverManager.getConnection(jdbcUrl("postgres"), props); Statement s = c.createStatement()) {
      s.execute(sql);
    } catch (SQLException e) {
      throw new IllegalStateException("PostgreSQL on port " + port + " refused " + sql + ": " + e.getMessage(), e);
    }
  }

  /** The server's directory (data, log, socket); gone after {@link #close()}. */
  Path directory() {
    return dir;
  }

  /** Stops the server (fast shutdown) and deletes its directory. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (stopped) {
      deleteTree(dir);
      return;
    }
    try {
      run(asPostgres, dir, List.of(bin.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m",
          "fast", "-w", "-t", "60", "stop"), dir.resolve("pg_ctl-stop.log"));
    } finally {
      deleteTree(dir);
    }
  }

  @Override
  public String toString() {
    return "PostgresServer{127.0.0.1:" + port + " " + dir + "}";
  }

  private static void run(boolean asPostgres, Path dir, List<String> command, Path log) {
    List<String> cmd = new ArrayList<>();
    if (asPostgres) {
      cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
    }
    cmd.addAll(command);
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
        .redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
    Map<String, String> env = pb.environment();
    env.put("LC_ALL", "C.UTF-8");
    env.remove("PGPASSWORD");
    try {
      Process p = pb.start();
      if (!p.waitFor(90, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException(command.get(0) + " did not finish within 90 s:\n" + read(log));
      }
      if (p.exitValue() != 0) {
        throw new IllegalStateException(Path.of(command.get(0)).getFileName() + " " + command.get(command.size() - 1)
            + " failed with exit code " + p.exitValue() + ":\n" + read(log));
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot run " + cmd + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + command.get(0), e);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static String read(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file) : "(no " + file.getFileName() + ")";
    } catch (IOException e) {
      return "(unreadable " + file + ": " + e + ")";
    }
  }

  private static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException ignored) {
          // best effort: a leftover temp directory is harmless
        }
      });
    } catch (IOException ignored) {
      // best effort
    }
  }
}
