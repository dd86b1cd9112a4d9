package dev.kubejit.testing;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Resolves {@link KubeControlPlane} parameters with one control plane shared by the whole test run,
 * started lazily on first use and stopped when the run ends (also when tests fail).
 *
 * <p>If the binaries are missing or the control plane cannot start, every test that asks for it
 * fails (it is not skipped) with a message explaining how to provide the binaries; a failed start
 * is not retried for each test.
 */
public final class KubeControlPlaneExtension implements ParameterResolver {
  private static final ExtensionContext.Namespace NAMESPACE =
      ExtensionContext.Namespace.create(KubeControlPlaneExtension.class);
  private static final String KEY = "shared-control-plane";

  /** Creates the extension; JUnit calls this through {@code @ExtendWith} or {@link KubeTest}. */
  public KubeControlPlaneExtension() {}

  /** Returns whether the parameter is of type {@link KubeControlPlane}. */
  @Override
  public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext context) {
    return parameterContext.getParameter().getType() == KubeControlPlane.class;
  }

  /** Returns the run-wide control plane, starting it on first use. */
  @Override
  public Object resolveParameter(ParameterContext parameterContext, ExtensionContext context) {
    SharedControlPlane shared =
        context
            .getRoot()
            .getStore(NAMESPACE)
            .getOrComputeIfAbsent(KEY, k -> new SharedControlPlane(), SharedControlPlane.class);
    try {
      return shared.get();
    } catch (RuntimeException e) {
      throw new ParameterResolutionException(e.getMessage(), e);
    }
  }

  /**
   * The root-store value; JUnit closes stored {@link AutoCloseable}s when the root context ends.
   * Starting happens outside the store's lock, under this object's own lock, exactly once.
   */
  static final class SharedControlPlane implements AutoCloseable {
    private KubeControlPlane controlPlane;
    private RuntimeException failure;
    private boolean closed;

    synchronized KubeControlPlane get() {
      if (closed) {
        throw new IllegalStateException("the shared control plane has already been shut down");
      }
      if (failure != null) {
        throw failure;
      }
      if (controlPlane == null) {
        try {
          controlPlane = KubeControlPlane.start();
        } catch (RuntimeException e) {
          failure = e;
          throw e;
        }
      }
      return controlPlane;
    }

    @Override
    public synchronized void close() {
      closed = true;
      if (controlPlane != null) {
        controlPlane.close();
      }
    }
  }
}
