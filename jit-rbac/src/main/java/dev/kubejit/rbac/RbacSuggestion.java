package dev.kubejit.rbac;

import static java.util.Objects.requireNonNull;

import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1PolicyRule;
import io.kubernetes.client.openapi.models.V1Role;
import io.kubernetes.client.util.Yaml;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Least privilege learned from real use: given a role template and the Kubernetes API calls made
 * under it (from the API server's audit log, correlated to a grant), the minimal rules that allow
 * exactly the calls that were authorised, the template's permissions that were never used, and the
 * calls refused with 401/403 (what people tried and could not do).
 *
 * <p>A call counts as <em>authorised</em> unless its response code is 401 or 403 (a 404 or 409
 * still needed the permission). Authorised calls the template does not allow (discovery, self
 * reviews, permissions from other bindings) are listed apart and not put in the rules. Calls
 * without a resource (non-resource URLs) are ignored. The suggestion groups (API group,
 * resource[/subresource]) by their verb set and merges resources with the same verbs into one
 * rule; with {@code resourceNames}, verbs that name an object ({@code get}, {@code update}, {@code
 * patch}, {@code delete}) are limited to the names used, and verbs that cannot name one ({@code
 * list}, {@code watch}, {@code create}, {@code deletecollection}) stay unrestricted. Immutable.
 */
public final class RbacSuggestion {
  private static final Set<String> NAMED_VERBS = Set.of("get", "update", "patch", "delete");

  /**
   * One API call as the audit log recorded it.
   *
   * @param apiGroup the API group ({@code ""} for the core group)
   * @param resource the resource, e.g. {@code pods}, or null for a non-resource URL
   * @param subresource the subresource, e.g. {@code log}, or null
   * @param verb the Kubernetes verb
   * @param namespace the namespace, or null
   * @param name the object's name, or null
   * @param code the HTTP response code
   */
  public record Call(String apiGroup, String resource, String subresource, String verb, String namespace, String name,
      int code) {
    /** Checks the required parts. */
    public Call {
      requireNonNull(apiGroup, "apiGroup");
      requireNonNull(verb, "verb");
    }

    /** True unless the API server refused it (401 or 403). */
    public boolean authorised() {
      return code != 401 && code != 403;
    }

    /** {@code group/resource[/sub] verb [namespace/]name}, for listings. */
    public String describe() {
      return (apiGroup.isEmpty() ? "" : apiGroup + "/") + resourcePath() + " " + verb
          + (namespace == null && name == null ? "" : " " + (namespace == null ? "" : namespace + "/")
          + (name == null ? "*" : name));
    }

    String resourcePath() {
      return resource == null ? "-" : subresource == null || subresource.isEmpty() ? resource : resource + "/" + subresource;
    }
  }

  /**
   * A permission of the template: one API group, one resource (or pattern) and one verb.
   *
   * @param apiGroup the API group ({@code ""} for core, {@code *} for any)
   * @param resource the resource as written in the template
   * @param verb the verb as written in the template
   */
  public record Permission(String apiGroup, String resource, String verb) {
    @Override
    public String toString() {
      return (apiGroup.isEmpty() ? "" : apiGroup + "/") + resource + " " + verb;
    }
  }

  private final RbacTemplate template;
  private final RbacTemplate narrowed;
  private final List<Permission> unused;
  private final List<Call> refused;
  private final List<Call> outsideTemplate;
  private final long authorisedCalls;

  private RbacSuggestion(RbacTemplate template, RbacTemplate narrowed, List<Permission> unused, List<Call> refused,
      List<Call> outsideTemplate, long authorisedCalls) {
    this.template = template;
    this.narrowed = narrowed;
    this.unused = List.copyOf(unused);
    this.refused = List.copyOf(refused);
    this.outsideTemplate = List.copyOf(outsideTemplate);
    this.authorisedCalls = authorisedCalls;
  }

  /**
   * Suggests the narrowest rules for {@code calls} made under {@code template}.
   *
   * @param resourceNames whether to limit verbs that name an object to the names used
   */
  public static RbacSuggestion suggest(RbacTemplate template, Collection<Call> calls, boolean resourceNames) {
    requireNonNull(template, "template");
    List<Call> used = new ArrayList<>();
    List<Call> refused = new ArrayList<>();
    List<Call> outside = new ArrayList<>();
    for (Call c : requireNonNull(calls, "calls")) {
      if (c.resource() == null) {
        continue;
      }
      if (!c.authorised()) {
        refused.add(c);
      } else if (allows(template, c)) {
        used.add(c);
      } else {
        outside.add(c);
      }
    }
    // (group, resourcePath) -> verb -> names (null entry = used without a name)
    Map<String, Map<String, Set<String>>> byResource = new TreeMap<>();
    for (Call c : used) {
      String key = c.apiGroup() + "\u0000" + c.resourcePath();
      Set<String> names = byResource.computeIfAbsent(key, k -> new TreeMap<>())
          .computeIfAbsent(c.verb(), v -> new TreeSet<>());
      names.add(c.name() == null ? "" : c.name());
    }
    // rule key: group + verbs + names -> resources
    Map<String, List<String>> merged = new LinkedHashMap<>();
    Map<String, String[]> ruleParts = new LinkedHashMap<>();
    for (Map.Entry<String, Map<String, Set<String>>> e : byResource.entrySet()) {
      String group = e.getKey().substring(0, e.getKey().indexOf('\u0000'));
      String resource = e.getKey().substring(e.getKey().indexOf('\u0000') + 1);
      Set<String> plainVerbs = new TreeSet<>();
      Map<String, Set<String>> namedVerbs = new TreeMap<>();
      for (Map.Entry<String, Set<String>> v : e.getValue().entrySet()) {
        boolean allNamed = !v.getValue().contains("");
        if (resourceNames && NAMED_VERBS.contains(v.getKey()) && allNamed) {
          namedVerbs.put(v.getKey(), v.getValue());
        } else {
          plainVerbs.add(v.getKey());
        }
      }
      if (!plainVerbs.isEmpty()) {
        String k = group + "|" + String.join(",", plainVerbs) + "|";
        merged.computeIfAbsent(k, x -> new ArrayList<>()).add(resource);
        ruleParts.put(k, new String[] {group, String.join(",", plainVerbs), ""});
      }
      // verbs naming the same set of objects share one rule
      Map<String, Set<String>> verbsByNames = new TreeMap<>();
      namedVerbs.forEach((verb, names) -> verbsByNames.computeIfAbsent(String.join(",", names), n -> new TreeSet<>())
          .add(verb));
      for (Map.Entry<String, Set<String>> n : verbsByNames.entrySet()) {
        String k = group + "|" + String.join(",", n.getValue()) + "|" + n.getKey();
        merged.computeIfAbsent(k, x -> new ArrayList<>()).add(resource);
        ruleParts.put(k, new String[] {group, String.join(",", n.getValue()), n.getKey()});
      }
    }
    RbacTemplate narrowed = null;
    if (!merged.isEmpty()) {
      RbacTemplate.Builder b = RbacTemplate.builder(template.name());
      for (Map.Entry<String, List<String>> e : merged.entrySet()) {
        String[] p = ruleParts.get(e.getKey());
        b.rule(List.of(p[0]), e.getValue(), List.of(p[1].split(",")),
            p[2].isEmpty() ? List.of() : List.of(p[2].split(",")));
      }
      if (template.clusterOnly()) {
        b.clusterOnly();
      }
      narrowed = b.build();
    }
    List<Permission> unused = new ArrayList<>();
    for (Rule r : template.internalRules()) {
      for (String g : r.apiGroups) {
        for (String res : r.resources) {
          for (String verb : r.verbs) {
            boolean hit = used.stream().anyMatch(c -> permissionCovers(g, res, verb, c));
            if (!hit) {
              unused.add(new Permission(g, res, verb));
            }
          }
        }
      }
    }
    return new RbacSuggestion(template, narrowed, unused, refused, outside, used.size());
  }

  private static boolean allows(RbacTemplate template, Call c) {
    for (Rule r : template.internalRules()) {
      if (r.nonResourceURLs.isEmpty() && r.verbMatches(c.verb()) && r.apiGroupMatches(c.apiGroup())
          && r.resourceMatches(c.resource(), c.subresource()) && r.resourceNameMatches(c.name())) {
        return true;
      }
    }
    return false;
  }

  private static boolean permissionCovers(String group, String resource, String verb, Call c) {
    Rule one = new Rule(List.of(group), List.of(resource), List.of(verb), null, null);
    return one.verbMatches(c.verb()) && one.apiGroupMatches(c.apiGroup()) && one.resourceMatches(c.resource(),
        c.subresource());
  }

  /** The template the calls were made under. */
  public RbacTemplate template() {
    return template;
  }

  /** The narrowed template (same name), or empty if no call used the template at all. */
  public Optional<RbacTemplate> narrowed() {
    return Optional.ofNullable(narrowed);
  }

  /** The template's permissions that no authorised call used, in template order. */
  public List<Permission> unused() {
    return unused;
  }

  /** Calls the API server refused (401/403): what people tried and could not do. */
  public List<Call> refused() {
    return refused;
  }

  /** Authorised calls the template does not allow (discovery, other bindings); not in the rules. */
  public List<Call> outsideTemplate() {
    return outsideTemplate;
  }

  /** How many authorised calls the template allowed (the evidence for the rules). */
  public long authorisedCalls() {
    return authorisedCalls;
  }

  /**
   * The narrowed rules as a {@code rbac.authorization.k8s.io/v1} Role named {@code name} in {@code
   * namespace}, as YAML for {@code kubectl apply}.
   *
   * @throws IllegalStateException if no call used the template
   */
  public String roleYaml(String name, String namespace) {
    if (narrowed == null) {
      throw new IllegalStateException("no authorised call used template " + template.name() + "; nothing to suggest");
    }
    V1Role role = new V1Role().apiVersion("rbac.authorization.k8s.io/v1").kind("Role")
        .metadata(new V1ObjectMeta().name(Names.requireRoleName(name)).namespace(requireNonNull(namespace, "namespace"))
            .putAnnotationsItem("kubejit.dev/suggested-from", template.name()));
    List<V1PolicyRule> rules = narrowed.rules();
    role.setRules(rules);
    return Yaml.dump(role);
  }

  /** A report: rules, unused permissions, refused calls. */
  public String toText() {
    StringBuilder sb = new StringBuilder();
    sb.append("template ").append(template.name()).append(": ").append(authorisedCalls)
        .append(" authorised call(s) under it\n");
    sb.append("suggested rules:\n");
    if (narrowed == null) {
      sb.append("  (none: no authorised call used the template)\n");
    } else {
      for (Rule r : narrowed.internalRules()) {
        sb.append("  - apiGroups: ").append(quoted(r.apiGroups)).append(", resources: ").append(r.resources)
            .append(", verbs: ").append(r.verbs);
        if (!r.resourceNames.isEmpty()) {
          sb.append(", resourceNames: ").append(r.resourceNames);
        }
        sb.append('\n');
      }
    }
    sb.append("unused permissions of ").append(template.name()).append(" (").append(unused.size()).append("):\n");
    unused.forEach(p -> sb.append("  ").append(p).append('\n'));
    sb.append("refused calls (").append(refused.size()).append("):\n");
    counts(refused).forEach((k, v) -> sb.append("  ").append(v).append("× ").append(k).append('\n'));
    if (!outsideTemplate.isEmpty()) {
      sb.append("authorised by other bindings, not suggested (").append(outsideTemplate.size()).append("):\n");
      counts(outsideTemplate).forEach((k, v) -> sb.append("  ").append(v).append("× ").append(k).append('\n'));
    }
    return sb.toString();
  }

  private static Map<String, Long> counts(List<Call> calls) {
    Map<String, Long> m = new TreeMap<>();
    calls.forEach(c -> m.merge(c.describe() + " → " + c.code(), 1L, Long::sum));
    return m;
  }

  private static String quoted(List<String> groups) {
    List<String> q = new ArrayList<>();
    groups.forEach(g -> q.add("\"" + g + "\""));
    return "[" + String.join(", ", q) + "]";
  }

  @Override
  public String toString() {
    return "RbacSuggestion{" + template.name() + ", " + authorisedCalls + " calls, " + unused.size() + " unused, "
        + refused.size() + " refused}";
  }
}
