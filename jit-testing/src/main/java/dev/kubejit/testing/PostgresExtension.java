package dev.kubejit.testing;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Resolves {@link PostgresServer} parameters with one server shared by the whole test run, started
 * on first use and stopped (its directory removed) when the run ends; a failed start fails every
 * test that asks, once, without retrying per test.
 */
public final class PostgresExtension implements ParameterResolver {
  private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(PostgresExtension.class);

  /** Creates the extension; JUnit calls this through {@link PostgresTest}. */
  public PostgresExtension() {}

  /** Returns whether the parameter is of type {@link PostgresServer}. */
  @Override
  public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext context) {
    return parameterContext.getParameter().getType() == PostgresServer.class;
  }

  /** Returns the run-wide server, starting it on first use. */
  @Override
  public Object resolveParameter(ParameterContext parameterContext, ExtensionContext context) {
    Shared shared = context.getRoot().getStore(NAMESPACE).getOrComputeIfAbsent("server", k -> new Shared(), Shared.class);
    try {
      return shared.get();
    } catch (RuntimeException e) {
      throw new ParameterResolutionException(e.getMessage(), e);
    }
  }

  /** The root-store value, closed by JUnit when the run ends. */
  static final class Shared implements AutoCloseable {
    private PostgresServer server;
    private RuntimeException failure;

    synchronized PostgresServer get() {
      if (failure != null) {
        throw failure;
      }
      if (server == null) {
        try {
          server = PostgresServer.start();
        } catch (RuntimeException e) {
          failure = e;
          throw e;
        }
      }
      return server;
    }

    @Override
    public synchronized void close() {
      if (server != null) {
        server.close();
      }
    }
  }
}
