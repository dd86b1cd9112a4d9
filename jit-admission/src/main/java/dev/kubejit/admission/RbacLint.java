package dev.kubejit.admission;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * The port through which {@link RbacWriteAdmission} asks an RBAC linter about one object. jit-admission
 * does not depend on jit-rbac; the wiring module adapts {@code dev.kubejit.rbac.RbacLinter} to it:
 *
 * <pre>{@code
 * RbacLinter linter = RbacLinter.builder().maxJitDuration(ceiling).build();
 * RbacLint port = json -> linter.lintYaml(json).stream()
 *     .map(f -> RbacLint.Finding.of(f.id(), f.isError(), f.message())).collect(toList());
 * }</pre>
 */
@FunctionalInterface
public interface RbacLint {
  /**
   * Lints one Role, ClusterRole, RoleBinding or ClusterRoleBinding given as a JSON document.
   * Implementations must be thread-safe; an exception refuses the write.
   */
  List<Finding> lint(String objectJson);

  /** One finding: the check's id (for example {@code privileged-roleref}), whether it is an error, and why. */
  final class Finding {
    private final String id;
    private final boolean error;
    private final String message;

    private Finding(String id, boolean error, String message) {
      this.id = requireNonNull(id, "id");
      this.error = error;
      this.message = requireNonNull(message, "message");
    }

    /** A finding. */
    public static Finding of(String id, boolean error, String message) {
      return new Finding(id, error, message);
    }

    /** The check's id. */
    public String id() {
      return id;
    }

    /** Whether it is an error (warnings never refuse a write). */
    public boolean isError() {
      return error;
    }

    /** What is wrong. */
    public String message() {
      return message;
    }

    @Override
    public String toString() {
      return (error ? "error " : "warning ") + id + ": " + message;
    }
  }
}
