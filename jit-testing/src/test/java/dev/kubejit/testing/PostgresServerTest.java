package dev.kubejit.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Properties;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The throwaway PostgreSQL: starts, serves a database with a password, and leaves nothing behind. */
@Tag("postgres")
class PostgresServerTest {
  @Test
  void startsServesAndIsRemoved() throws Exception {
    PostgresServer server = PostgresServer.start();
    Path dir = server.directory();
    int port = server.port();
    try {
      String db = server.createDatabase();
      Properties p = new Properties();
      p.setProperty("user", server.superuser());
      p.setProperty("password", new String(server.password()));
      try (Connection c = DriverManager.getConnection(server.jdbcUrl(db), p);
           ResultSet rs = c.createStatement().executeQuery("SHOW server_version_num")) {
        rs.next();
        assertEquals(15, rs.getInt(1) / 10000, "PostgreSQL 15");
      }
      p.setProperty("password", "not-the-password");
      SQLException refused = assertThrows(SQLException.class, () -> DriverManager.getConnection(server.jdbcUrl(db), p));
      assertTrue(refused.getMessage().contains("password authentication failed"), refused.getMessage());
      assertFalse(server.toString().contains(new String(server.password())));
      server.dropDatabase(db);
    } finally {
      server.close();
    }
    assertFalse(Files.exists(dir), "the server's directory is removed");
    try (Socket s = new Socket()) {
      assertThrows(ConnectException.class, () -> s.connect(new InetSocketAddress("127.0.0.1", port), 2000));
    }
  }

  @Test
  void missingBinariesFailWithWhatToInstall(@TempDir Path empty) {
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> PostgresServer.start(empty));
    assertTrue(e.getMessage().contains("scripts/test-deps.sh") && e.getMessage().contains(PostgresServer.BIN_ENV),
        e.getMessage());
  }
}
