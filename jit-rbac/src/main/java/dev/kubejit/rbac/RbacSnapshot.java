package dev.kubejit.rbac;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import dev.kubejit.rbac.Defs.BindingDef;
import dev.kubejit.rbac.Defs.Requirement;
import dev.kubejit.rbac.Defs.RoleDef;
import dev.kubejit.rbac.Defs.Selector;
import dev.kubejit.rbac.Defs.SubjectDef;
import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.RbacAuthorizationV1Api;
import io.kubernetes.client.openapi.models.RbacV1Subject;
import io.kubernetes.client.openapi.models.V1AggregationRule;
import io.kubernetes.client.openapi.models.V1ClusterRole;
import io.kubernetes.client.openapi.models.V1ClusterRoleBinding;
import io.kubernetes.client.openapi.models.V1LabelSelector;
import io.kubernetes.client.openapi.models.V1LabelSelectorRequirement;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1PolicyRule;
import io.kubernetes.client.openapi.models.V1Role;
import io.kubernetes.client.openapi.models.V1RoleBinding;
import io.kubernetes.client.openapi.models.V1RoleRef;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * An immutable set of Roles, ClusterRoles, RoleBindings and ClusterRoleBindings, read from client-java
 * model objects, from (multi-document) YAML, or from a live cluster; the input of {@link RbacLinter}
 * and {@link RbacEvaluator}.
 *
 * <p>YAML is parsed with SnakeYAML's safe constructor (no arbitrary types); documents of other
 * kinds are skipped, {@code kind: List} documents are expanded. ClusterRoles are taken with the
 * rules they store, and their labels and {@code aggregationRule} selectors are kept: the
 * evaluator uses the stored rules only, exactly like the API server's authorizer (which relies on
 * the controller-manager to copy aggregated rules into the role), while the linter also considers
 * what the aggregation will add.
 */
public final class RbacSnapshot {
  private final ImmutableList<RoleDef> roles;
  private final ImmutableList<BindingDef> bindings;
  private final ImmutableList<String> problems;

  private RbacSnapshot(List<RoleDef> roles, List<BindingDef> bindings, List<String> problems) {
    this.roles = ImmutableList.copyOf(roles);
    this.bindings = ImmutableList.copyOf(bindings);
    this.problems = ImmutableList.copyOf(problems);
  }

  /**
   * Reads client-java RBAC model objects ({@link V1Role}, {@link V1ClusterRole}, {@link V1RoleBinding},
   * {@link V1ClusterRoleBinding}); other objects are ignored.
   */
  static RbacSnapshot of(Collection<? extends KubernetesObject> objects) {
    Acc acc = new Acc();
    for (KubernetesObject o : requireNonNull(objects, "objects")) {
      acc.add(o);
    }
    return acc.build();
  }

  /** Reads the RBAC objects of a generated grant. */
  public static RbacSnapshot of(GeneratedRbac generated) {
    return of(List.of(generated.role(), generated.binding()));
  }

  /**
   * Parses multi-document YAML; non-RBAC documents are skipped.
   *
   * @throws RbacException if the text is not valid YAML
   */
  public static RbacSnapshot fromYaml(String yaml) {
    Acc acc = new Acc();
    acc.addYaml(requireNonNull(yaml, "yaml"), "<input>");
    return acc.build();
  }

  /**
   * Reads and parses YAML files.
   *
   * @throws RbacException if a file cannot be read or is not valid YAML
   */
  public static RbacSnapshot fromFiles(List<Path> files) {
    Acc acc = new Acc();
    for (Path f : files) {
      String text;
      try {
        text = Files.readString(f, StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new RbacException("cannot read " + Names.quote(f.toString()) + ": " + e.getMessage(), e);
      }
      acc.addYaml(text, f.toString());
    }
    return acc.build();
  }

  /**
   * Lists every Role, ClusterRole, RoleBinding and ClusterRoleBinding of the cluster.
   *
   * @throws RbacException if the API server cannot be read
   */
  public static RbacSnapshot fromCluster(ApiClient client) {
    RbacAuthorizationV1Api api = new RbacAuthorizationV1Api(requireNonNull(client, "client"));
    Acc acc = new Acc();
    try {
      api.listClusterRole().execute().getItems().forEach(acc::add);
      api.listRoleForAllNamespaces().execute().getItems().forEach(acc::add);
      api.listClusterRoleBinding().execute().getItems().forEach(acc::add);
      api.listRoleBindingForAllNamespaces().execute().getItems().forEach(acc::add);
    } catch (ApiException e) {
      throw new RbacException("cannot list RBAC objects: HTTP " + e.getCode() + " " + Kube.reason(e), e);
    }
    return acc.build();
  }

  /** Number of roles (Roles and ClusterRoles). */
  public int roleCount() {
    return roles.size();
  }

  /** Number of bindings (RoleBindings and ClusterRoleBindings). */
  public int bindingCount() {
    return bindings.size();
  }

  /** A new snapshot with this one's objects and {@code other}'s. */
  public RbacSnapshot merge(RbacSnapshot other) {
    List<RoleDef> r = new ArrayList<>(roles);
    r.addAll(other.roles);
    List<BindingDef> b = new ArrayList<>(bindings);
    b.addAll(other.bindings);
    List<String> p = new ArrayList<>(problems);
    p.addAll(other.problems);
    return new RbacSnapshot(r, b, p);
  }

  ImmutableList<RoleDef> roles() {
    return roles;
  }

  ImmutableList<BindingDef> bindings() {
    return bindings;
  }

  /** Malformed RBAC documents ("kind ns/name: what is wrong"), reported by the linter as errors. */
  ImmutableList<String> problems() {
    return problems;
  }

  @Override
  public String toString() {
    return "RbacSnapshot{" + roles.size() + " roles, " + bindings.size() + " bindings}";
  }

  /** Accumulates definitions from any source. */
  private static final class Acc {
    final List<RoleDef> roles = new ArrayList<>();
    final List<BindingDef> bindings = new ArrayList<>();
    final List<String> problems = new ArrayList<>();

    RbacSnapshot build() {
      return new RbacSnapshot(roles, bindings, problems);
    }

    void add(KubernetesObject o) {
      if (o instanceof V1Role) {
        V1Role r = (V1Role) o;
        roles.add(new RoleDef("Role", nsOrDefault(r.getMetadata()), name(r.getMetadata()), rules(r.getRules()),
            labels(r.getMetadata()), null));
      } else if (o instanceof V1ClusterRole) {
        V1ClusterRole r = (V1ClusterRole) o;
        roles.add(new RoleDef("ClusterRole", null, name(r.getMetadata()), rules(r.getRules()),
            labels(r.getMetadata()), selectors(r.getAggregationRule())));
      } else if (o instanceof V1RoleBinding) {
        V1RoleBinding b = (V1RoleBinding) o;
        addBinding("RoleBinding", nsOrDefault(b.getMetadata()), b.getMetadata(), b.getRoleRef(), b.getSubjects());
      } else if (o instanceof V1ClusterRoleBinding) {
        V1ClusterRoleBinding b = (V1ClusterRoleBinding) o;
        addBinding("ClusterRoleBinding", null, b.getMetadata(), b.getRoleRef(), b.getSubjects());
      }
    }

    private void addBinding(String kind, String ns, V1ObjectMeta meta, V1RoleRef ref, List<RbacV1Subject> subjects) {
      String name = name(meta);
      if (ref == null || ref.getName() == null || ref.getKind() == null) {
        problems.add(kind + " " + (ns == null ? "" : ns + "/") + name + ": roleRef is missing");
        return;
      }
      List<SubjectDef> s = new ArrayList<>();
      if (subjects != null) {
        for (RbacV1Subject x : subjects) {
          s.add(new SubjectDef(x.getKind(), x.getName(), x.getNamespace()));
        }
      }
      Instant created = meta == null || meta.getCreationTimestamp() == null ? null
          : meta.getCreationTimestamp().toInstant();
      bindings.add(new BindingDef(kind, ns, name, ref.getKind(), ref.getName(), s,
          meta == null ? null : meta.getLabels(), meta == null ? null : meta.getAnnotations(), created));
    }

    private static Map<String, String> labels(V1ObjectMeta m) {
      return m == null ? null : m.getLabels();
    }

    private static List<Selector> selectors(V1AggregationRule rule) {
      if (rule == null) {
        return null;
      }
      List<Selector> out = new ArrayList<>();
      if (rule.getClusterRoleSelectors() != null) {
        for (V1LabelSelector s : rule.getClusterRoleSelectors()) {
          List<Requirement> req = new ArrayList<>();
          if (s.getMatchExpressions() != null) {
            for (V1LabelSelectorRequirement e : s.getMatchExpressions()) {
              req.add(new Requirement(e.getKey(), e.getOperator(), e.getValues()));
            }
          }
          out.add(new Selector(s.getMatchLabels(), req, false));
        }
      }
      return out;
    }

    private static String name(V1ObjectMeta m) {
      return m == null || m.getName() == null ? "<unnamed>" : m.getName();
    }

    private static String nsOrDefault(V1ObjectMeta m) {
      return m == null || m.getNamespace() == null ? "default" : m.getNamespace();
    }

    private static List<Rule> rules(List<V1PolicyRule> rules) {
      List<Rule> out = new ArrayList<>();
      if (rules != null) {
        for (V1PolicyRule r : rules) {
          out.add(Rule.of(r));
        }
      }
      return out;
    }

    void addYaml(String text, String source) {
      LoaderOptions opts = new LoaderOptions();
      opts.setAllowDuplicateKeys(false);
      opts.setMaxAliasesForCollections(20);
      Yaml yaml = new Yaml(new SafeConstructor(opts));
      try {
        for (Object doc : yaml.loadAll(text)) {
          addDoc(doc, source);
        }
      } catch (YAMLException | ClassCastException e) {
        throw new RbacException("invalid YAML in " + Names.quote(source) + ": " + oneLine(e.getMessage()), e);
      }
    }

    private void addDoc(Object doc, String source) {
      if (!(doc instanceof Map)) {
        return;
      }
      Map<?, ?> m = (Map<?, ?>) doc;
      String kind = str(m.get("kind"));
      if (kind == null) {
        return;
      }
      if (kind.endsWith("List") && m.get("items") instanceof List) {
        for (Object item : (List<?>) m.get("items")) {
          addDoc(item, source);
        }
        return;
      }
      Map<?, ?> meta = m.get("metadata") instanceof Map ? (Map<?, ?>) m.get("metadata") : Map.of();
      String name = str(meta.get("name"));
      String ns = str(meta.get("namespace"));
      switch (kind) {
        case "Role":
          roles.add(new RoleDef(kind, ns == null ? "default" : ns, name == null ? "<unnamed>" : name,
              yamlRules(m.get("rules"), kind, name), stringMap(meta.get("labels")), null));
          break;
        case "ClusterRole":
          roles.add(new RoleDef(kind, null, name == null ? "<unnamed>" : name, yamlRules(m.get("rules"), kind, name),
              stringMap(meta.get("labels")), m.containsKey("aggregationRule") ? yamlSelectors(m.get("aggregationRule"))
                  : null));
          break;
        case "RoleBinding":
        case "ClusterRoleBinding":
          yamlBinding(kind, kind.equals("RoleBinding") ? (ns == null ? "default" : ns) : null,
              name == null ? "<unnamed>" : name, meta, m);
          break;
        default:
          break;
      }
    }

    private void yamlBinding(String kind, String ns, String name, Map<?, ?> meta, Map<?, ?> m) {
      Object ref = m.get("roleRef");
      if (!(ref instanceof Map) || str(((Map<?, ?>) ref).get("name")) == null
          || str(((Map<?, ?>) ref).get("kind")) == null) {
        problems.add(kind + " " + (ns == null ? "" : ns + "/") + name + ": roleRef is missing");
        return;
      }
      List<SubjectDef> s = new ArrayList<>();
      if (m.get("subjects") instanceof List) {
        for (Object o : (List<?>) m.get("subjects")) {
          if (o instanceof Map) {
            Map<?, ?> x = (Map<?, ?>) o;
            s.add(new SubjectDef(str(x.get("kind")), str(x.get("name")), str(x.get("namespace"))));
          }
        }
      }
      Instant created = null;
      String ts = str(meta.get("creationTimestamp"));
      if (ts != null) {
        try {
          created = Instant.parse(ts);
        } catch (RuntimeException e) {
          created = null;
        }
      }
      bindings.add(new BindingDef(kind, ns, name, str(((Map<?, ?>) ref).get("kind")), str(((Map<?, ?>) ref).get("name")),
          s, stringMap(meta.get("labels")), stringMap(meta.get("annotations")), created));
    }

    /**
     * Reads {@code aggregationRule.clusterRoleSelectors}; a structure that cannot be read becomes a
     * selector that selects anything (fail closed), an explicit null rule selects nothing.
     */
    private static List<Selector> yamlSelectors(Object rule) {
      List<Selector> out = new ArrayList<>();
      if (rule == null) {
        return out;
      }
      if (!(rule instanceof Map)) {
        out.add(new Selector(null, null, true));
        return out;
      }
      Object sel = ((Map<?, ?>) rule).get("clusterRoleSelectors");
      if (sel == null) {
        return out;
      }
      if (!(sel instanceof List)) {
        out.add(new Selector(null, null, true));
        return out;
      }
      for (Object o : (List<?>) sel) {
        if (!(o instanceof Map)) {
          out.add(new Selector(null, null, true));
          continue;
        }
        Map<?, ?> s = (Map<?, ?>) o;
        Object ml = s.get("matchLabels");
        Object me = s.get("matchExpressions");
        boolean unreadable = (ml != null && !(ml instanceof Map)) || (me != null && !(me instanceof List));
        List<Requirement> req = new ArrayList<>();
        if (me instanceof List) {
          for (Object e : (List<?>) me) {
            if (e instanceof Map) {
              Map<?, ?> x = (Map<?, ?>) e;
              req.add(new Requirement(str(x.get("key")), str(x.get("operator")), strings(x.get("values"))));
            } else {
              unreadable = true;
            }
          }
        }
        out.add(new Selector(stringMap(ml), req, unreadable));
      }
      return out;
    }

    private List<Rule> yamlRules(Object rules, String kind, String name) {
      List<Rule> out = new ArrayList<>();
      if (rules instanceof List) {
        for (Object o : (List<?>) rules) {
          if (o instanceof Map) {
            Map<?, ?> r = (Map<?, ?>) o;
            out.add(new Rule(strings(r.get("apiGroups")), strings(r.get("resources")), strings(r.get("verbs")),
                strings(r.get("resourceNames")), strings(r.get("nonResourceURLs"))));
          } else {
            problems.add(kind + " " + name + ": a rule is not a mapping");
          }
        }
      }
      return out;
    }

    private static Map<String, String> stringMap(Object o) {
      Map<String, String> out = new java.util.LinkedHashMap<>();
      if (o instanceof Map) {
        for (Map.Entry<?, ?> e : ((Map<?, ?>) o).entrySet()) {
          if (e.getKey() != null && e.getValue() != null) {
            out.put(e.getKey().toString(), e.getValue() instanceof java.util.Date
                ? ((java.util.Date) e.getValue()).toInstant().toString() : e.getValue().toString());
          }
        }
      }
      return out;
    }

    private static List<String> strings(Object o) {
      List<String> out = new ArrayList<>();
      if (o instanceof List) {
        for (Object x : (List<?>) o) {
          if (x != null) {
            out.add(x.toString());
          }
        }
      } else if (o != null) {
        out.add(o.toString());
      }
      return out;
    }

    private static String str(Object o) {
      if (o == null) {
        return null;
      }
      if (o instanceof java.util.Date) {
        return ((java.util.Date) o).toInstant().toString();
      }
      return o.toString();
    }

    private static String oneLine(String s) {
      return s == null ? "" : s.replace('\n', ' ').replace('\r', ' ');
    }
  }

}
