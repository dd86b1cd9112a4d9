package dev.kubejit.testing;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Resolves {@link KubeControlPlane} parameters with one control plane shared by the whole test run,
 * started lazily on first use and stopped when the run ends (also when tests fail), and {@link
 * KubeNode} parameters with one node per top-level test class, registered to that control plane,
 * started on first use and torn down when the class ends.
 *
 * <p>If the binaries are missing or the control plane cannot start, every test that asks for it
 * fails (it is not skipped) with a message explaining how to provide the binaries; a failed start
 * is not retried for each test.
 */
public final class KubeControlPlaneExtension implements ParameterResolver {
  private static final ExtensionContext.Namespace NAMESPACE =
      ExtensionContext.Namespace.create(KubeControlPlaneExtension.class);
  private static final String KEY = "shared-control-plane";
  private static final String NODE_KEY = "class-node";

  /** Creates the extension; JUnit calls this through {@code @ExtendWith} or {@link KubeTest}. */
  public KubeControlPlaneExtension() {}

  /** Returns whether the parameter is of type {@link KubeControlPlane}. */
  @Override
  public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext context) {
    Class<?> type = parameterContext.getParameter().getType();
    return type == KubeControlPlane.class || type == KubeNode.class;
  }

  /**
   * Returns the run-wide control plane or the test class's node, starting them on first use.
   */
  @Override
  public Object resolveParameter(ParameterContext parameterContext, ExtensionContext context) {
    if (parameterContext.getParameter().getType() == KubeNode.class) {
      try {
        // Fail on missing node assets before paying for a control plane.
        NodeAssets.locate(controlPlaneBinariesOrNull());
      } catch (RuntimeException e) {
        throw new ParameterResolutionException(e.getMessage(), e);
      }
      KubeControlPlane controlPlane = controlPlane(context);
      ClassNode node =
          classContext(context)
              .getStore(NAMESPACE)
              .getOrComputeIfAbsent(NODE_KEY, k -> new ClassNode(controlPlane), ClassNode.class);
      try {
        return node.get();
      } catch (RuntimeException e) {
        throw new ParameterResolutionException(e.getMessage(), e);
      }
    }
    return controlPlane(context);
  }

  private static KubeControlPlane controlPlane(ExtensionContext context) {
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

  private static java.nio.file.Path controlPlaneBinariesOrNull() {
    try {
      return TestEnvBinaries.locate().directory();
    } catch (IllegalStateException e) {
      return null;
    }
  }

  /** The outermost class context, so {@code @Nested} classes share their enclosing class's node. */
  private static ExtensionContext classContext(ExtensionContext context) {
    ExtensionContext c = context;
    while (c.getParent().isPresent() && c.getParent().get().getParent().isPresent()) {
      c = c.getParent().get();
    }
    return c;
  }

  /** A class-store value: one node, started once, closed when the class's context closes. */
  static final class ClassNode implements AutoCloseable {
    private final KubeControlPlane controlPlane;
    private KubeNode node;
    private RuntimeException failure;
    private boolean closed;

    ClassNode(KubeControlPlane controlPlane) {
      this.controlPlane = controlPlane;
    }

    synchronized KubeNode get() {
      if (closed) {
        throw new IllegalStateException("the test class's node has already been shut down");
      }
      if (failure != null) {
        throw failure;
      }
      if (node == null) {
        try {
          node = KubeNode.start(controlPlane);
        } catch (RuntimeException e) {
          failure = e;
          throw e;
        }
      }
      return node;
    }

    @Override
    public synchronized void close() {
      closed = true;
      if (node != null) {
        node.close();
      }
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
