package dev.kubejit.rbac;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Normalised, immutable views of RBAC objects, whatever their origin (client-java models, YAML
 * maps, the live cluster), shared by the linter, the auditor and the evaluator.
 */
final class Defs {
  private Defs() {}

  /** A Role (namespace non-null) or ClusterRole (namespace null). */
  static final class RoleDef {
    final String kind;
    final String namespace;
    final String name;
    final ImmutableList<Rule> rules;
    final boolean aggregated;

    RoleDef(String kind, String namespace, String name, List<Rule> rules, boolean aggregated) {
      this.kind = kind;
      this.namespace = namespace;
      this.name = name;
      this.rules = ImmutableList.copyOf(rules);
      this.aggregated = aggregated;
    }

    String ref() {
      return namespace == null ? kind + "/" + name : kind + "/" + namespace + "/" + name;
    }
  }

  /** A subject of a binding. */
  static final class SubjectDef {
    final String kind;
    final String name;
    final String namespace;

    SubjectDef(String kind, String name, String namespace) {
      this.kind = kind;
      this.name = name;
      this.namespace = namespace;
    }

    @Override
    public String toString() {
      return kind + ":" + (namespace == null || namespace.isEmpty() ? "" : namespace + "/") + name;
    }
  }

  /** A RoleBinding (namespace non-null) or ClusterRoleBinding (namespace null). */
  static final class BindingDef {
    final String kind;
    final String namespace;
    final String name;
    final String roleKind;
    final String roleName;
    final ImmutableList<SubjectDef> subjects;
    final ImmutableMap<String, String> labels;
    final ImmutableMap<String, String> annotations;
    final Instant created;

    BindingDef(String kind, String namespace, String name, String roleKind, String roleName,
        List<SubjectDef> subjects, Map<String, String> labels, Map<String, String> annotations, Instant created) {
      this.kind = kind;
      this.namespace = namespace;
      this.name = name;
      this.roleKind = roleKind;
      this.roleName = roleName;
      this.subjects = ImmutableList.copyOf(subjects);
      this.labels = labels == null ? ImmutableMap.of() : ImmutableMap.copyOf(labels);
      this.annotations = annotations == null ? ImmutableMap.of() : ImmutableMap.copyOf(annotations);
      this.created = created;
    }

    String ref() {
      return namespace == null ? kind + "/" + name : kind + "/" + namespace + "/" + name;
    }

    boolean managed() {
      return Names.MANAGED_BY_VALUE.equals(labels.get(Names.MANAGED_BY));
    }
  }
}
