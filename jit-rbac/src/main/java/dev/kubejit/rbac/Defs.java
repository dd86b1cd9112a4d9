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

  /**
   * A Role (namespace non-null) or ClusterRole (namespace null). {@code aggregation} is null when
   * the ClusterRole has no {@code aggregationRule}, else its selectors (possibly none).
   */
  static final class RoleDef {
    final String kind;
    final String namespace;
    final String name;
    final ImmutableList<Rule> rules;
    final ImmutableMap<String, String> labels;
    final ImmutableList<Selector> aggregation;

    RoleDef(String kind, String namespace, String name, List<Rule> rules, Map<String, String> labels,
        List<Selector> aggregation) {
      this.kind = kind;
      this.namespace = namespace;
      this.name = name;
      this.rules = ImmutableList.copyOf(rules);
      this.labels = labels == null ? ImmutableMap.of() : ImmutableMap.copyOf(labels);
      this.aggregation = aggregation == null ? null : ImmutableList.copyOf(aggregation);
    }

    boolean aggregated() {
      return aggregation != null;
    }

    String ref() {
      return namespace == null ? kind + "/" + name : kind + "/" + namespace + "/" + name;
    }
  }

  /**
   * One {@code clusterRoleSelectors} entry of an {@code aggregationRule}: a Kubernetes label
   * selector. {@code unreadable} marks a selector whose structure could not be read; it is treated
   * as selecting anything.
   */
  static final class Selector {
    final ImmutableMap<String, String> matchLabels;
    final ImmutableList<Requirement> matchExpressions;
    final boolean unreadable;

    Selector(Map<String, String> matchLabels, List<Requirement> matchExpressions, boolean unreadable) {
      this.matchLabels = matchLabels == null ? ImmutableMap.of() : ImmutableMap.copyOf(matchLabels);
      this.matchExpressions = matchExpressions == null ? ImmutableList.of() : ImmutableList.copyOf(matchExpressions);
      this.unreadable = unreadable;
    }

    /** Label-selector semantics: every matchLabels pair and every requirement must hold; empty selects all. */
    boolean matches(Map<String, String> labels) {
      if (unreadable) {
        return true;
      }
      for (Map.Entry<String, String> e : matchLabels.entrySet()) {
        if (!e.getValue().equals(labels.get(e.getKey()))) {
          return false;
        }
      }
      for (Requirement r : matchExpressions) {
        if (!r.matches(labels)) {
          return false;
        }
      }
      return true;
    }

    /** Every label key the selector mentions. */
    ImmutableList<String> keys() {
      ImmutableList.Builder<String> out = ImmutableList.builder();
      out.addAll(matchLabels.keySet());
      for (Requirement r : matchExpressions) {
        out.add(r.key);
      }
      return out.build();
    }

    @Override
    public String toString() {
      if (unreadable) {
        return "<unreadable selector>";
      }
      StringBuilder sb = new StringBuilder("{");
      matchLabels.forEach((k, v) -> sb.append(sb.length() > 1 ? ", " : "").append(Names.safe(k)).append('=')
          .append(Names.safe(v)));
      for (Requirement r : matchExpressions) {
        sb.append(sb.length() > 1 ? ", " : "").append(r);
      }
      return sb.append('}').toString();
    }
  }

  /** One {@code matchExpressions} entry; an unknown operator matches everything (fail closed). */
  static final class Requirement {
    final String key;
    final String operator;
    final ImmutableList<String> values;

    Requirement(String key, String operator, List<String> values) {
      this.key = key == null ? "" : key;
      this.operator = operator == null ? "" : operator;
      this.values = values == null ? ImmutableList.of() : ImmutableList.copyOf(values);
    }

    boolean matches(Map<String, String> labels) {
      String v = labels.get(key);
      switch (operator) {
        case "In":
          return v != null && values.contains(v);
        case "NotIn":
          return v == null || !values.contains(v);
        case "Exists":
          return v != null;
        case "DoesNotExist":
          return v == null;
        default:
          return true;
      }
    }

    @Override
    public String toString() {
      return Names.safe(key) + " " + Names.safe(operator) + " " + values.stream().map(Names::safe).toList();
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
