package dev.kubejit.bench;

import dev.kubejit.api.Decision;
import dev.kubejit.api.Use;
import dev.kubejit.policy.Policy;
import dev.kubejit.policy.PolicyEngine;
import dev.kubejit.policy.PolicyFormat;
import dev.kubejit.policy.PolicyLoader;
import java.nio.charset.StandardCharsets;
import java.util.List;
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
 * Item 4: {@link PolicyEngine#checkCommand(String, Use)} latency with generated policies of 10 to
 * 10,000 command rules. Rules are spread over roles (100 rules a role at most) and programs (two
 * rules a program at every size, so sizes differ only in the number of rules); the allowed
 * command matches its program's last rule, the denied one matches none of them (every candidate is tried and explained). The four
 * sizes run as one JMH group (one thread each, same iterations), allowed and denied in two groups,
 * so the sizes are compared under the same conditions.
 */
@State(Scope.Group)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class PolicyBench {
  static final int RULES_PER_ROLE = 100;
  static final int PROGRAMS_PER_ROLE = 50;

  /** One policy size: its engine, the role asked about, an allowed and a denied command. */
  static final class Case {
    /** Built once per JVM and size: quick runs run the allowed and denied groups in one JVM. */
    private static final java.util.Map<Integer, Case> BUILT = new java.util.concurrent.ConcurrentHashMap<>();

    static Case of(int size) {
      return BUILT.computeIfAbsent(size, Case::new);
    }

    final PolicyEngine engine;
    final String role;
    final Use allowed;
    final Use denied;

    Case(int rules) {
      String json = policy(rules);
      Policy p = PolicyLoader.parse(json.getBytes(StandardCharsets.UTF_8), PolicyFormat.JSON, "bench-" + rules + ".json", null);
      engine = PolicyEngine.of(p);
      int roles = Math.max(1, rules / RULES_PER_ROLE);
      int perRole = rules / roles;
      int programs = Math.min(PROGRAMS_PER_ROLE, perRole / 2);
      role = "role-" + (roles / 2);
      // Program p3's last rule has index 3 + k*programs; allow a path under it.
      int last = 3;
      while (last + programs < perRole) {
        last += programs;
      }
      allowed = Use.command(List.of("p3", "-n", "/l/" + last + "/app.log"));
      denied = Use.command(List.of("p3", "-n", "/etc/shadow"));
      if (engine.checkCommand(role, allowed).outcome() != Decision.Outcome.ALLOW) {
        throw new IllegalStateException("expected ALLOW: " + engine.checkCommand(role, allowed));
      }
      if (engine.checkCommand(role, denied).outcome() != Decision.Outcome.DENY) {
        throw new IllegalStateException("expected DENY: " + engine.checkCommand(role, denied));
      }
    }
  }

  /** A policy of {@code rules} command rules, as JSON. */
  static String policy(int rules) {
    int roles = Math.max(1, rules / RULES_PER_ROLE);
    int perRole = rules / roles;
    int programs = Math.min(PROGRAMS_PER_ROLE, perRole / 2);
    StringBuilder b = new StringBuilder(rules * 90 + roles * 300);
    b.append("{\"apiVersion\":\"kubejit.dev/v1\",\"kind\":\"AccessPolicy\",\"metadata\":{\"name\":\"bench-").append(rules)
        .append("\"},\"roles\":[");
    int n = 0;
    for (int r = 0; r < roles; r++) {
      if (r > 0) {
        b.append(',');
      }
      b.append("{\"name\":\"role-").append(r).append("\",\"requesters\":[\"team-").append(r)
          .append("\"],\"namespaces\":[\"ns-").append(r).append("\"],\"defaultDuration\":\"PT30M\",\"maxDuration\":\"PT1H\",")
          .append("\"justification\":{\"required\":true},\"rbac\":{\"template\":\"debug\"},\"actions\":{\"exec\":{\"approval\":\"auto\"}},\"commands\":{\"allow\":[");
      for (int i = 0; i < perRole; i++) {
        if (i > 0) {
          b.append(',');
        }
        b.append("{\"id\":\"r").append(n).append("\",\"command\":\"p").append(i % programs)
            .append("\",\"flags\":[\"-n\"],\"operands\":[\"path+\"],\"paths\":[\"/l/").append(i).append("/\"]}");
        n++;
      }
      b.append("]}}");
    }
    return b.append("]}").toString();
  }

  private Case c10;
  private Case c100;
  private Case c1000;
  private Case c10000;

  @Setup
  public void setup() {
    c10 = Case.of(10);
    c100 = Case.of(100);
    c1000 = Case.of(1000);
    c10000 = Case.of(10000);
  }

  private static Decision allow(Case c) {
    return c.engine.checkCommand(c.role, c.allowed);
  }

  private static Decision deny(Case c) {
    return c.engine.checkCommand(c.role, c.denied);
  }

  @Benchmark @Group("allow") @GroupThreads(1)
  public Decision allow10() {
    return allow(c10);
  }

  @Benchmark @Group("allow") @GroupThreads(1)
  public Decision allow100() {
    return allow(c100);
  }

  @Benchmark @Group("allow") @GroupThreads(1)
  public Decision allow1000() {
    return allow(c1000);
  }

  @Benchmark @Group("allow") @GroupThreads(1)
  public Decision allow10000() {
    return allow(c10000);
  }

  @Benchmark @Group("deny") @GroupThreads(1)
  public Decision deny10() {
    return deny(c10);
  }

  @Benchmark @Group("deny") @GroupThreads(1)
  public Decision deny100() {
    return deny(c100);
  }

  @Benchmark @Group("deny") @GroupThreads(1)
  public Decision deny1000() {
    return deny(c1000);
  }

  @Benchmark @Group("deny") @GroupThreads(1)
  public Decision deny10000() {
    return deny(c10000);
  }
}
