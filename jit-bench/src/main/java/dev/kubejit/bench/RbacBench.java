package dev.kubejit.bench;

import dev.kubejit.rbac.AccessDecision;
import dev.kubejit.rbac.AccessQuery;
import dev.kubejit.rbac.RbacEvaluator;
import dev.kubejit.rbac.RbacSnapshot;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Item 5: one offline {@code can-i} ({@link RbacEvaluator#check}) against snapshots of 100 to
 * 10,000 bindings: nine in ten are RoleBindings spread over one namespace per ten bindings, one in
 * ten ClusterRoleBindings, each for its own user and group, to one of ten ClusterRoles. The
 * allowed query is answered by the last binding; the denied one by none.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RbacBench {
  @Param({"100", "1000", "10000"})
  public int bindings;

  private RbacEvaluator evaluator;
  private AccessQuery allowed;
  private AccessQuery denied;

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

  @Setup
  public void setup() {
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

  @Benchmark
  public AccessDecision allow() {
    return evaluator.check(allowed);
  }

  @Benchmark
  public AccessDecision deny() {
    return evaluator.check(denied);
  }
}
