package dev.kubejit.rbac;

import static java.util.Objects.requireNonNull;

import java.util.Objects;
import java.util.Optional;

/** One linter finding: an id, a severity, the object it concerns and a message. */
public final class Finding {
  /** How serious a finding is; objects with {@link #ERROR} findings are never applied. */
  public enum Severity {
    /** A privilege-escalation path or a missing guardrail. */
    ERROR,
    /** Legal but worth a human look. */
    WARNING
  }

  private final String id;
  private final Severity severity;
  private final String kind;
  private final String namespace;
  private final String name;
  private final String message;

  Finding(String id, Severity severity, String kind, String namespace, String name, String message) {
    this.id = requireNonNull(id);
    this.severity = requireNonNull(severity);
    this.kind = requireNonNull(kind);
    this.namespace = namespace;
    this.name = requireNonNull(name);
    this.message = requireNonNull(message);
  }

  /** The stable id of the check, such as {@code secrets-read}. */
  public String id() {
    return id;
  }

  /** The severity. */
  public Severity severity() {
    return severity;
  }

  /** The object's kind (Role, ClusterRole, RoleBinding, ClusterRoleBinding). */
  public String kind() {
    return kind;
  }

  /** The object's namespace, empty for cluster-scoped objects. */
  public Optional<String> namespace() {
    return Optional.ofNullable(namespace);
  }

  /** The object's name. */
  public String name() {
    return name;
  }

  /** What is wrong. */
  public String message() {
    return message;
  }

  /** Whether this is an error. */
  public boolean isError() {
    return severity == Severity.ERROR;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Finding)) {
      return false;
    }
    Finding f = (Finding) o;
    return id.equals(f.id) && severity == f.severity && kind.equals(f.kind) && Objects.equals(namespace, f.namespace)
        && name.equals(f.name) && message.equals(f.message);
  }

  @Override
  public int hashCode() {
    return Objects.hash(id, severity, kind, namespace, name, message);
  }

  /** {@code ERROR secrets-read Role ns/name: message}; names that are not plain are quoted and escaped. */
  @Override
  public String toString() {
    return severity + " " + id + " " + kind + " " + (namespace == null ? "" : Names.safe(namespace) + "/")
        + Names.safe(name) + ": " + message;
  }
}
