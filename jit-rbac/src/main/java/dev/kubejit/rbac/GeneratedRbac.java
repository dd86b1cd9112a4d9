package dev.kubejit.rbac;

import com.google.common.collect.ImmutableList;
import dev.kubejit.api.GrantId;
import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.openapi.models.RbacV1Subject;
import io.kubernetes.client.openapi.models.V1ClusterRole;
import io.kubernetes.client.openapi.models.V1ClusterRoleBinding;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1OwnerReference;
import io.kubernetes.client.openapi.models.V1PolicyRule;
import io.kubernetes.client.openapi.models.V1Role;
import io.kubernetes.client.openapi.models.V1RoleBinding;
import io.kubernetes.client.openapi.models.V1RoleRef;
import io.kubernetes.client.util.Yaml;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The RBAC objects generated for one grant: a Role and a RoleBinding in the grant's namespace, or a
 * ClusterRole and ClusterRoleBinding when cluster scope was requested explicitly, with a single
 * Group subject.
 *
 * <p>Every accessor returns fresh model objects, so callers cannot alter this value. The rendered
 * YAML omits the binding's ownerReference because the role's uid exists only after it is created;
 * {@link KubernetesRbacProvisioner} adds it at apply time.
 */
public final class GeneratedRbac {
  private final RbacTemplate template;
  private final String namespace;
  private final String name;
  private final String group;
  private final GrantId grantId;
  private final Instant expiresAt;
  private final String requestId;
  private final String requester;
  private final String justification;
  private final String pod;
  private final String role;

  GeneratedRbac(RbacTemplate template, String namespace, String name, String group, GrantId grantId,
      Instant expiresAt, String requestId, String requester, String justification, String pod, String role) {
    this.template = template;
    this.namespace = namespace;
    this.name = name;
    this.group = group;
    this.grantId = grantId;
    this.expiresAt = expiresAt;
    this.requestId = requestId;
    this.requester = requester;
    this.justification = justification;
    this.pod = pod;
    this.role = role;
  }

  /** The policy role recorded in the {@code kubejit.dev/role} annotation, if known. */
  Optional<String> policyRole() {
    return Optional.ofNullable(role);
  }

  /** The pod the grant is pinned to, if any: rules on pods then name only that pod. */
  public Optional<String> pod() {
    return Optional.ofNullable(pod);
  }

  /**
   * The role's rules: the template's, narrowed for a pod-pinned grant.
   *
   * <p>Design notes: for a pinned grant every rule on {@code pods} or a pod subresource (core
   * group) gets {@code resourceNames: [pod]}; {@code list}, {@code watch} and {@code
   * deletecollection} are dropped from those rules because RBAC cannot restrict them by name (a
   * rule with resourceNames never matches a request without a name). A template rule that already
   * names other pods is dropped. Rules on other resources (events, deployments) are kept as they
   * are: they grant read-only context, not access to another pod.
   */
  ImmutableList<Rule> effectiveRules() {
    if (pod == null) {
      return template.internalRules();
    }
    ImmutableList.Builder<Rule> out = ImmutableList.builder();
    for (Rule r : template.internalRules()) {
      List<String> podResources = new java.util.ArrayList<>();
      List<String> otherResources = new java.util.ArrayList<>();
      boolean core = r.apiGroups.contains("");
      for (String res : r.resources) {
        if (core && (res.equals("pods") || res.startsWith("pods/"))) {
          podResources.add(res);
        } else {
          otherResources.add(res);
        }
      }
      if (!r.nonResourceURLs.isEmpty() || podResources.isEmpty()) {
        out.add(r);
        continue;
      }
      if (!otherResources.isEmpty()) {
        out.add(new Rule(r.apiGroups, otherResources, r.verbs, r.resourceNames, null));
      }
      if (!r.resourceNames.isEmpty() && !r.resourceNames.contains(pod)) {
        continue;
      }
      List<String> verbs = new java.util.ArrayList<>(r.verbs);
      verbs.removeAll(List.of("list", "watch", "deletecollection"));
      if (!verbs.isEmpty()) {
        out.add(new Rule(List.of(""), podResources, verbs, List.of(pod), null));
      }
    }
    return out.build();
  }

  private List<V1PolicyRule> v1Rules() {
    List<V1PolicyRule> rules = new java.util.ArrayList<>();
    for (Rule r : effectiveRules()) {
      rules.add(r.toV1());
    }
    return rules;
  }

  /** The namespace of the Role and RoleBinding, or empty for cluster scope. */
  public Optional<String> namespace() {
    return Optional.ofNullable(namespace);
  }

  /** Whether the objects are a ClusterRole and ClusterRoleBinding. */
  public boolean clusterScoped() {
    return namespace == null;
  }

  /** The name shared by the role and the binding ({@code kubejit-<template>-<grantId>}). */
  public String name() {
    return name;
  }

  /** The Group subject of the binding. */
  public String subjectGroup() {
    return group;
  }

  /** The grant id recorded in the objects' labels. */
  public GrantId grantId() {
    return grantId;
  }

  /** The instant recorded in the {@code kubejit.dev/expires-at} annotation. */
  public Instant expiresAt() {
    return expiresAt;
  }

  /** The template the role was generated from. */
  public RbacTemplate template() {
    return template;
  }

  /** The role: a {@link V1Role}, or a {@link V1ClusterRole} for cluster scope. */
  KubernetesObject role() {
    List<V1PolicyRule> rules = v1Rules();
    if (namespace == null) {
      return new V1ClusterRole().apiVersion(Names.RBAC_API_VERSION).kind("ClusterRole").metadata(meta()).rules(rules);
    }
    return new V1Role().apiVersion(Names.RBAC_API_VERSION).kind("Role").metadata(meta()).rules(rules);
  }

  /** The binding without ownerReference: a {@link V1RoleBinding}, or a {@link V1ClusterRoleBinding}. */
  KubernetesObject binding() {
    return binding(null);
  }

  /** The binding with an ownerReference to the role with uid {@code roleUid} (none when null). */
  KubernetesObject binding(String roleUid) {
    V1ObjectMeta meta = meta();
    String roleKind = namespace == null ? "ClusterRole" : "Role";
    if (roleUid != null) {
      meta.addOwnerReferencesItem(new V1OwnerReference().apiVersion(Names.RBAC_API_VERSION).kind(roleKind)
          .name(name).uid(roleUid).controller(true));
    }
    List<RbacV1Subject> subjects = List.of(new RbacV1Subject().kind("Group").apiGroup(Names.RBAC_GROUP).name(group));
    V1RoleRef ref = new V1RoleRef().apiGroup(Names.RBAC_GROUP).kind(roleKind).name(name);
    if (namespace == null) {
      return new V1ClusterRoleBinding().apiVersion(Names.RBAC_API_VERSION).kind("ClusterRoleBinding")
          .metadata(meta).subjects(subjects).roleRef(ref);
    }
    return new V1RoleBinding().apiVersion(Names.RBAC_API_VERSION).kind("RoleBinding")
        .metadata(meta).subjects(subjects).roleRef(ref);
  }

  /** The role followed by the binding. */
  List<KubernetesObject> objects() {
    return ImmutableList.of(role(), binding());
  }

  /** Multi-document YAML that {@code kubectl apply -f -} accepts. */
  public String toYaml() {
    return Yaml.dumpAll(new ArrayList<>(objects()).iterator());
  }

  private V1ObjectMeta meta() {
    Map<String, String> labels = new LinkedHashMap<>();
    labels.put(Names.MANAGED_BY, Names.MANAGED_BY_VALUE);
    labels.put(Names.GRANT_ID, grantId.value());
    labels.put(Names.TEMPLATE, template.name());
    Map<String, String> ann = new LinkedHashMap<>();
    ann.put(Names.EXPIRES_AT, DateTimeFormatter.ISO_INSTANT.format(expiresAt));
    if (requestId != null) {
      ann.put(Names.REQUEST_ID, requestId);
    }
    if (role != null) {
      ann.put(Names.ROLE, role);
    }
    if (requester != null) {
      ann.put(Names.REQUESTER, requester);
    }
    if (justification != null) {
      ann.put(Names.JUSTIFICATION, justification);
    }
    return new V1ObjectMeta().name(name).namespace(namespace).labels(labels).annotations(ann);
  }

  @Override
  public String toString() {
    return "GeneratedRbac{" + (namespace == null ? "cluster" : namespace) + "/" + name + " group=" + group
        + " expires=" + expiresAt + "}";
  }
}
