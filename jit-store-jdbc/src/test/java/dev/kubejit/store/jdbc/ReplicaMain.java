package dev.kubejit.store.jdbc;

import dev.kubejit.api.AccessDeniedException;
import dev.kubejit.api.Action;
import dev.kubejit.api.ApprovalRefusedException;
import dev.kubejit.api.ConcurrentUpdateException;
import dev.kubejit.api.EndCause;
import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Identity;
import dev.kubejit.api.InvalidTransitionException;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.spi.AccessPolicy;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.audit.AuditKeys;
import dev.kubejit.audit.FileAuditSink;
import dev.kubejit.rbac.KubernetesRbacProvisioner;
import io.kubernetes.client.util.Config;
import dev.kubejit.testing.FakeClock;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * One broker replica in its own JVM for {@link ReplicaRaceTest}: a {@link JitBroker} on the shared
 * PostgreSQL store with its own signed audit chain and real RBAC on the control plane, reporting
 * every provision and removal on stdout. Commands on stdin: {@code race} (three passes over the
 * requests, in the file's order, each applying a random approve, deny, activate or revoke; losing
 * a race is expected), {@code sweep INSTANT} (the clock jumps there and {@code expireDue()} runs),
 * {@code exit}. Any unexpected exception ends the JVM with status 1.
 *
 * <p>Arguments: JDBC URL, user, password file, audit log, audit key file, replica name, request
 * file (lines {@code requestId requesterUser}), start instant, random seed, kubeconfig of the
 * control plane where {@code KubernetesRbacProvisioner} makes the Roles and RoleBindings.
 */
public final class ReplicaMain {
  static final Identity CAROL = Identity.of("carol", List.of("sre-leads")).assertedBy("idp");
  static final Identity DAVE = Identity.of("dave", List.of("sre-leads")).assertedBy("idp");
  static final Identity ERIN = Identity.of("erin", List.of("sre-leads")).assertedBy("idp");

  private ReplicaMain() {}

  static AccessPolicy policy() {
    return AccessPolicy.staticRules().role("oncall-debug", r -> r.requesters("oncall-payments")
        .namespaces("payments").durations(Duration.ofMinutes(15), Duration.ofHours(1))
        .manual(Action.EXEC, 1, "sre-leads").auto(Action.LOGS).commands("cat").rbacTemplate("oncall-debug")).build();
  }

  static Identity requester(String user) {
    return Identity.of(user, List.of("oncall-payments")).assertedBy("idp");
  }

  /**
   * Runs the replica.
   *
   * @throws Exception on any failure
   */
  public static void main(String[] args) throws Exception {
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    char[] password = Files.readString(Path.of(args[2]), StandardCharsets.UTF_8).trim().toCharArray();
    String name = args[5];
    List<String[]> requests = new ArrayList<>();
    for (String line : Files.readAllLines(Path.of(args[6]))) {
      requests.add(line.split(" "));
    }
    FakeClock clock = new FakeClock(Instant.parse(args[7]));
    Random random = new Random(Long.parseLong(args[8]));
    RbacProvisioner real = KubernetesRbacProvisioner.builder(Config.fromConfig(args[9]))
        .maxGrantDuration(Duration.ofHours(8)).clock(clock).build();
    RbacProvisioner rbac = new RbacProvisioner() {
      @Override
      public void provision(Grant grant) {
        real.provision(grant);
        out.println("provision " + grant.id().value());
      }

      @Override
      public void deprovision(Grant grant, EndCause cause) {
        real.deprovision(grant, cause);
        out.println("deprovision " + grant.id().value());
      }
    };
    try (JdbcRequestStore store = JdbcRequestStore.builder().url(args[0]).credentials(args[1], password).build();
         FileAuditSink audit = FileAuditSink.builder(Path.of(args[3]))
             .signingKey(AuditKeys.readKeyPair(Path.of(args[4]))).clock(clock).open()) {
      JitBroker broker = JitBroker.builder().clock(clock).store(store).auditSink(audit).rbacProvisioner(rbac)
          .policy(policy()).requestTimeout(Duration.ofHours(2)).build();
      out.println("ready " + name);
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      for (String cmd = in.readLine(); cmd != null; cmd = in.readLine()) {
        if (cmd.equals("race")) {
          int wins = 0;
          for (int pass = 0; pass < 3; pass++) {
            for (String[] r : requests) {
              wins += step(broker, RequestId.parse(r[0]), requester(r[1]), random, out) ? 1 : 0;
            }
          }
          out.println("raced " + wins);
        } else if (cmd.startsWith("sweep ")) {
          clock.set(Instant.parse(cmd.substring(6)));
          out.println("swept " + broker.expireDue());
        } else if (cmd.equals("exit")) {
          break;
        } else {
          throw new IllegalArgumentException("unknown command " + cmd);
        }
      }
    }
    out.println("bye " + name);
  }

  /** One random transition; returns whether it took effect, false if it lost (expected in a race). */
  private static boolean step(JitBroker broker, RequestId id, Identity requester, Random random, PrintStream out) {
    int op = random.nextInt(10);
    try {
      if (op < 4) {
        broker.approve(id, random.nextBoolean() ? CAROL : DAVE, null);
      } else if (op < 5) {
        broker.deny(id, ERIN, "no");
      } else if (op < 9) {
        GrantId g = broker.activate(id, requester).grant().id();
        out.println("activated " + id.value() + " " + g.value());
      } else {
        broker.revoke(id, requester, "done");
      }
      return true;
    } catch (InvalidTransitionException | ConcurrentUpdateException | ApprovalRefusedException lost) {
      return false;
    } catch (AccessDeniedException e) {
      throw new IllegalStateException("unexpected refusal: " + e.getMessage(), e);
    }
  }
}
