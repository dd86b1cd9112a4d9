package dev.kubejit.api;

import java.util.Objects;
import java.util.Optional;

/**
 * Where a grant applies: a cluster, and within it a namespace (absent for cluster scope), and
 * optionally one pod or one node, so a session cannot be reused elsewhere.
 */
public final class Scope {
  private final String cluster;
  private final String namespace;
  private final String pod;
  private final String node;

  private Scope(String cluster, String namespace, String pod, String node) {
    this.cluster = Validation.requireDnsSubdomain(cluster, "cluster");
    this.namespace = namespace == null ? null : Validation.requireDnsLabel(namespace, "namespace");
    this.pod = pod == null ? null : Validation.requireDnsSubdomain(pod, "pod");
    this.node = node == null ? null : Validation.requireDnsSubdomain(node, "node");
    if (pod != null && namespace == null) {
      throw new IllegalArgumentException("a pod scope needs a namespace");
    }
  }

  /** A namespace in a cluster. */
  public static Scope namespace(String cluster, String namespace) {
    return new Scope(cluster, Validation.requireDnsLabel(namespace, "namespace"), null, null);
  }

  /** The whole cluster; only for roles that are explicitly cluster-scoped. */
  public static Scope cluster(String cluster) {
    return new Scope(cluster, null, null, null);
  }

  /** This scope narrowed to one pod in its namespace. */
  public Scope withPod(String pod) {
    return new Scope(cluster, namespace, Validation.requireDnsSubdomain(pod, "pod"), node);
  }

  /** This scope narrowed to one node. */
  public Scope withNode(String node) {
    return new Scope(cluster, namespace, pod, Validation.requireDnsSubdomain(node, "node"));
  }

  /** The cluster name. */
  public String cluster() {
    return cluster;
  }

  /** The namespace, or empty for a cluster-wide scope. */
  public Optional<String> namespace() {
    return Optional.ofNullable(namespace);
  }

  /** The pod the scope is pinned to, if any. */
  public Optional<String> pod() {
    return Optional.ofNullable(pod);
  }

  /** The node the scope is pinned to, if any. */
  public Optional<String> node() {
    return Optional.ofNullable(node);
  }

  /** Whether this scope covers the whole cluster. */
  public boolean isClusterWide() {
    return namespace == null;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Scope)) {
      return false;
    }
    Scope s = (Scope) o;
    return cluster.equals(s.cluster)
        && Objects.equals(namespace, s.namespace)
        && Objects.equals(pod, s.pod)
        && Objects.equals(node, s.node);
  }

  @Override
  public int hashCode() {
    return Objects.hash(cluster, namespace, pod, node);
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder(cluster);
    sb.append('/').append(namespace == null ? "*" : namespace);
    if (pod != null) {
      sb.append("/pod=").append(pod);
    }
    if (node != null) {
      sb.append("/node=").append(node);
    }
    return sb.toString();
  }
}
