package dev.kubejit.rbac;

import com.google.common.collect.ImmutableList;
import io.kubernetes.client.openapi.models.V1PolicyRule;
import java.util.List;

/**
 * An immutable copy of a {@code PolicyRule} with Kubernetes' matching semantics.
 *
 * <p>Design notes: the matching functions mirror the API server's RBAC authorizer
 * (k8s.io/kubernetes/pkg/apis/rbac/v1/evaluation_helpers.go, read for semantics, not copied):
 * {@code *} matches any verb, API group or resource; {@code *}{@code /sub} matches subresource
 * {@code sub} of any resource; an empty resourceNames list matches every name while a non-empty
 * one never matches a request without a name; a non-resource URL ending in {@code *} is a prefix.
 */
final class Rule {
  final ImmutableList<String> apiGroups;
  final ImmutableList<String> resources;
  final ImmutableList<String> verbs;
  final ImmutableList<String> resourceNames;
  final ImmutableList<String> nonResourceURLs;

  Rule(List<String> apiGroups, List<String> resources, List<String> verbs, List<String> resourceNames,
      List<String> nonResourceURLs) {
    this.apiGroups = copy(apiGroups);
    this.resources = copy(resources);
    this.verbs = copy(verbs);
    this.resourceNames = copy(resourceNames);
    this.nonResourceURLs = copy(nonResourceURLs);
  }

  static Rule of(V1PolicyRule r) {
    return new Rule(r.getApiGroups(), r.getResources(), r.getVerbs(), r.getResourceNames(), r.getNonResourceURLs());
  }

  static Rule resource(List<String> apiGroups, List<String> resources, List<String> verbs) {
    return new Rule(apiGroups, resources, verbs, null, null);
  }

  private static ImmutableList<String> copy(List<String> l) {
    return l == null ? ImmutableList.of() : ImmutableList.copyOf(l);
  }

  V1PolicyRule toV1() {
    V1PolicyRule r = new V1PolicyRule();
    if (!nonResourceURLs.isEmpty()) {
      r.setNonResourceURLs(List.copyOf(nonResourceURLs));
    } else {
      r.setApiGroups(List.copyOf(apiGroups));
      r.setResources(List.copyOf(resources));
    }
    if (!resourceNames.isEmpty()) {
      r.setResourceNames(List.copyOf(resourceNames));
    }
    r.setVerbs(List.copyOf(verbs));
    return r;
  }

  boolean verbMatches(String verb) {
    return verbs.contains("*") || verbs.contains(verb);
  }

  boolean apiGroupMatches(String group) {
    return apiGroups.contains("*") || apiGroups.contains(group);
  }

  /** Whether the rule names {@code resource} (with optional {@code subresource}). */
  boolean resourceMatches(String resource, String subresource) {
    String combined = subresource == null || subresource.isEmpty() ? resource : resource + "/" + subresource;
    for (String r : resources) {
      if (r.equals("*") || r.equals(combined)) {
        return true;
      }
      if (subresource != null && !subresource.isEmpty()
          && r.length() == subresource.length() + 2 && r.startsWith("*/") && r.endsWith(subresource)) {
        return true;
      }
    }
    return false;
  }

  boolean resourceNameMatches(String name) {
    if (resourceNames.isEmpty()) {
      return true;
    }
    return name != null && !name.isEmpty() && resourceNames.contains(name);
  }

  boolean nonResourceUrlMatches(String path) {
    for (String u : nonResourceURLs) {
      if (u.equals("*") || u.equals(path)) {
        return true;
      }
      if (u.endsWith("*") && path.startsWith(u.substring(0, u.length() - 1))) {
        return true;
      }
    }
    return false;
  }

  /** Whether the rule allows the resource request (any name when {@code name} is null and the rule names none). */
  boolean allows(String verb, String group, String resource, String subresource, String name) {
    return verbMatches(verb) && apiGroupMatches(group) && resourceMatches(resource, subresource)
        && resourceNameMatches(name);
  }

  /** Whether the rule allows {@code verb} on {@code group}/{@code resource} for at least some names. */
  boolean grantsSome(String verb, String group, String resource, String subresource) {
    return verbMatches(verb) && apiGroupMatches(group) && resourceMatches(resource, subresource);
  }

  boolean allowsNonResource(String verb, String path) {
    return verbMatches(verb) && nonResourceUrlMatches(path);
  }

  /** The rule for messages; entries that are not plain names are quoted and escaped. */
  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("{");
    if (!nonResourceURLs.isEmpty()) {
      sb.append("nonResourceURLs=").append(safe(nonResourceURLs));
    } else {
      sb.append("apiGroups=").append(safe(apiGroups)).append(" resources=").append(safe(resources));
    }
    if (!resourceNames.isEmpty()) {
      sb.append(" resourceNames=").append(safe(resourceNames));
    }
    return sb.append(" verbs=").append(safe(verbs)).append('}').toString();
  }

  private static List<String> safe(List<String> values) {
    List<String> out = new java.util.ArrayList<>();
    for (String v : values) {
      out.add(v.isEmpty() ? "" : Names.safe(v));
    }
    return out;
  }
}
