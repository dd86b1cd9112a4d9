package dev.kubejit.bench;

import dev.kubejit.rbac.AccessDecision;
import dev.kubejit.rbac.AccessQuery;
import dev.kubejit.rbac.RbacEvaluator;
import dev.kubejit.rbac.RbacSnapshot;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Item 5: one offline {@code can-i} ({@link RbacEvaluator#check}) against snapshots of 100 to
 * 10,000 bindings: nine in ten are RoleBindings spread over one namespace per ten bindings, one in
 * ten ClusterRoleBindings, each for its own user and group, to one of ten ClusterRoles. The
 * allowed query is answered by the last binding; the denied one by none. The three sizes run as
 * one JMH group (one thread each, same iterations), allowed and denied in two groups.
 */
@State(Scope.Group)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RbacBench {
  /** One snapshot size: its evaluator, an allowed and a denied question. */
  static final class Case {
    /** Built once per JVM and size: quick runs run the allowed and denied groups in one JVM. */
    private static final java.util.Map<Integer, Case> BUILT = new java.util.concurrent.ConcurrentHashMap<>();

    static Case of(int size) {
      return BUILT.computeIfAbsent(size, Case::new);
    }

    final RbacEvaluator evaluator;
    final AccessQuery allowed;
    final AccessQuery denied;

    Case(int bindings) {
      evaluator = RbacEvaluator.of(RbacSnapshot.fromYaml(snapshot(bindings)));
      int last = bindings - 1;
      String ns = "ns-" + (last % Math.max(1, bindings / 10));
      allowed = AccessQuery.builder("user-" + last).groups("group-x", "system:authenticated")
          .resource("get", "", "pods").subresource("log").namespace(ns).name("api-0").build();
      denied = AccessQuery.builder("user-" + last).groups("group-x", "system:authenticated")
          .resource("get", "", "secrets").namespace(ns).name("db").build();
      if (!evaluator.check(allowed).allowed()) {
        throw new IllegalStateException("expected allowed: " + evaluator.check(allowed));
      }
      if (evaluator.check(denied).allowed()) {
        throw new IllegalStateException("expected denied: " + evaluator.check(denied));
      }
    }
  }

  static String snapshot(int bindings) {
    StringBuilder b = new StringBuilder(bindings * 300);
    for (int r = 0; r < 10; r++) {
      b.append("---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: reader-").append(r)
          .append("}\nrules:\n- apiGroups: ['']\n  resources: [pods, pods/log, configmaps]\n  verbs: [get, list, watch]\n")
          .append("- apiGroups: [apps]\n  resources: [deployments]\n  verbs: [get, list]\n");
    }
    int namespaces = Math.max(1, bindings / 10);
    for (int i = 0; i < bindings; i++) {
      boolean cluster = i % 10 == 9 && i != bindings - 1;
      b.append("---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ").append(cluster ? "ClusterRoleBinding" : "RoleBinding")
          .append("\nmetadata: {name: b-").append(i);
      if (!cluster) {
        b.append(", namespace: ns-").append(i % namespaces);
      }
      b.append("}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader-").append(i % 10)
          .append("}\nsubjects:\n- {kind: User, apiGroup: rbac.authorization.k8s.io, name: user-").append(i)
          .append("}\n- {kind: Group, apiGroup: rbac.authorization.k8s.io, name: group-").append(i).append("}\n");
    }
    return b.toString();
  }

  private Case c100;
  private Case c1000;
  private Case c10000;

  @Setup
  public void setup() {
    c100 = Case.of(100);
    c1000 = Case.of(1000);
    c10000 = Case.of(10000);
  }

  @Benchmark @Group("allow") @GroupThreads(1)
  public AccessDecision allow100() {
    return c100.evaluator.check(c100.allowed);
  }

  @Benchmark @Group("allow") @GroupThreads(1)
  public AccessDecision allow1000() {
    return c1000.evaluator.check(c1000.allowed);
  }

  @Benchmark @Group("allow") @GroupThreads(1)
  public AccessDecision allow10000() {
    return c10000.evaluator.check(c10000.allowed);
  }

  @Benchmark @Group("deny") @GroupThreads(1)
  public AccessDecision deny100() {
    return c100.evaluator.check(c100.denied);
  }

  @Benchmark @Group("deny") @GroupThreads(1)
  public AccessDecision deny1000() {
    return c1000.evaluator.check(c1000.denied);
  }

  @Benchmark @Group("deny") @GroupThreads(1)
  public AccessDecision deny10000() {
    return c10000.evaluator.check(c10000.denied);
  }
}
