package dev.kubejit.store.jdbc;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.Driver;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.Arrays;
import java.util.Properties;
import java.util.function.Supplier;
import java.util.logging.Logger;
import javax.sql.DataSource;

/**
 * Opens connections to a JDBC URL with a user and a password asked from a supplier for every new
 * connection, so a rotated password is picked up by the pool without a restart. The password is
 * held only while the driver connects and is never part of {@link #toString()}.
 */
final class UrlDataSource implements DataSource {
  private final String url;
  private final String redactedUrl;
  private final String user;
  private final Supplier<char[]> password;

  UrlDataSource(String url, String redactedUrl, String user, Supplier<char[]> password) {
    this.url = url;
    this.redactedUrl = redactedUrl;
    this.user = user;
    this.password = password;
  }

  @Override
  public Connection getConnection() throws SQLException {
    Properties props = new Properties();
    if (user != null) {
      props.setProperty("user", user);
    }
    char[] pw = password == null ? null : password.get();
    try {
      if (pw != null) {
        props.setProperty("password", new String(pw));
      }
      Driver driver = DriverManager.getDriver(url);
      Connection c = driver.connect(url, props);
      if (c == null) {
        throw new SQLException("no JDBC driver accepts " + redactedUrl);
      }
      return c;
    } finally {
      props.remove("password");
      if (pw != null && password instanceof CopiedPassword) {
        Arrays.fill(pw, '\0');
      }
    }
  }

  @Override
  public Connection getConnection(String username, String pw) throws SQLException {
    throw new SQLFeatureNotSupportedException("credentials are fixed when the store is built");
  }

  @Override
  public PrintWriter getLogWriter() {
    return null;
  }

  @Override
  public void setLogWriter(PrintWriter out) {}

  @Override
  public void setLoginTimeout(int seconds) {
    DriverManager.setLoginTimeout(seconds);
  }

  @Override
  public int getLoginTimeout() {
    return DriverManager.getLoginTimeout();
  }

  @Override
  public Logger getParentLogger() throws SQLFeatureNotSupportedException {
    throw new SQLFeatureNotSupportedException();
  }

  @Override
  public <T> T unwrap(Class<T> iface) throws SQLException {
    throw new SQLException("not a wrapper");
  }

  @Override
  public boolean isWrapperFor(Class<?> iface) {
    return false;
  }

  @Override
  public String toString() {
    return "UrlDataSource{" + redactedUrl + (user == null ? "" : " user=" + user) + "}";
  }

  /** A password given as an array: the store keeps its own copy and hands out copies it then clears. */
  static final class CopiedPassword implements Supplier<char[]> {
    private final char[] password;

    CopiedPassword(char[] password) {
      this.password = password.clone();
    }

    @Override
    public char[] get() {
      return password.clone();
    }

    @Override
    public String toString() {
      return "CopiedPassword{***}";
    }
  }
}
