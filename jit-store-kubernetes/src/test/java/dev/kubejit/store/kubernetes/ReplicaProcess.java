package dev.kubejit.store.kubernetes;

import dev.kubejit.api.ConcurrentUpdateException;
import dev.kubejit.api.InvalidTransitionException;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.audit.AuditKeys;
import dev.kubejit.audit.FileAuditSink;
import dev.kubejit.rbac.KubernetesRbacProvisioner;
import io.kubernetes.client.util.Config;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One broker replica in its own JVM, sharing the Kubernetes store with the other: it works through
 * every request of the ids file with four threads, trying the request's plan (see below); a
 * transition another replica made first surfaces as a concurrent update or an invalid transition
 * and is counted as lost. Both replicas run a {@link LeaderElectedExpiry} on the same Lease.
 *
 * <p>Plans by index: 0 approve, activate, revoke; 1 this replica approves or denies (by its side),
 * then the requester withdraws; 2 approve, activate, then expire (explicitly once due, and by the
 * leader's sweep); 3 the requester withdraws while pending; 4 approve and activate (left active).
 *
 * <p>Args: store kubeconfig, RBAC kubeconfig, store namespace, target namespace, ids file, side
 * (a or b), work dir. Prints {@code RESULT won=.. lost=.. errors=..} and exits 0, or exits 1 after
 * printing the unexpected errors.
 */
public final class ReplicaProcess {
  private ReplicaProcess() {}

  public static void main(String[] args) throws Exception {
    Path storeKubeconfig = Path.of(args[0]);
    Path rbacKubeconfig = Path.of(args[1]);
    String namespace = args[2];
    String target = args[3];
    List<String> lines = Files.readAllLines(Path.of(args[4]));
    String side = args[5];
    Path dir = Path.of(args[6]);
    KeyPair key = AuditKeys.generate();
    AuditKeys.writePublicKey(key.getPublic(), dir.resolve("audit-" + side + ".pub"));
    AtomicInteger won = new AtomicInteger();
    AtomicInteger lost = new AtomicInteger();
    ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
    try (KubernetesRequestStore store = KubernetesRequestStore.builder().kubeconfig(storeKubeconfig)
            .namespace(namespace).build();
        FileAuditSink audit = FileAuditSink.builder(dir.resolve("audit-" + side + ".jsonl")).signingKey(key)
            .open()) {
      JitBroker broker = JitBroker.builder().clock(Clock.systemUTC()).policy(RacePolicy.policy(target))
          .store(store).auditSink(audit)
          .rbacProvisioner(KubernetesRbacProvisioner.builder(Config.fromConfig(rbacKubeconfig.toString()))
              .maxGrantDuration(Duration.ofHours(1)).build())
          .build();
      LeaderElectedExpiry expiry = LeaderElectedExpiry.builder(broker, Config.fromConfig(storeKubeconfig.toString()))
          .identity("replica-" + side).leaseNamespace(namespace).leaseName("race-expiry")
          .leaseDuration(Duration.ofSeconds(6)).renewDeadline(Duration.ofSeconds(4))
          .retryPeriod(Duration.ofSeconds(1)).interval(Duration.ofSeconds(1)).build();
      expiry.start();
      List<Integer> order = new ArrayList<>();
      for (int i = 0; i < lines.size(); i++) {
        order.add(i);
      }
      Collections.shuffle(order, new java.util.Random(side.hashCode()));
      ExecutorService pool = Executors.newFixedThreadPool(4);
      List<Future<?>> done = new ArrayList<>();
      for (int i : order) {
        RequestId id = RequestId.parse(lines.get(i));
        done.add(pool.submit(() -> {
          for (Runnable step : steps(broker, id, i, side)) {
            try {
              step.run();
              won.incrementAndGet();
            } catch (ConcurrentUpdateException | InvalidTransitionException raced) {
              lost.incrementAndGet();
            } catch (RuntimeException e) {
              errors.add(id + " (plan " + RacePolicy.plan(i) + "): " + e);
            }
          }
        }));
      }
      for (Future<?> f : done) {
        f.get();
      }
      // Plan 2: expire from this side too, once due; the leader's sweep competes.
      Instant deadline = Instant.now().plus(Duration.ofMinutes(3));
      for (int i = 0; i < lines.size(); i++) {
        if (RacePolicy.plan(i) != 2) {
          continue;
        }
        RequestId id = RequestId.parse(lines.get(i));
        while (true) {
          RequestRecord r = broker.find(id).orElseThrow();
          if (r.state().isTerminal()) {
            break;
          }
          if (Instant.now().isAfter(deadline)) {
            errors.add(id + " never ended: " + r.state());
            break;
          }
          try {
            broker.expire(id);
            won.incrementAndGet();
          } catch (ConcurrentUpdateException | InvalidTransitionException notYet) {
            Thread.sleep(100);
          } catch (RuntimeException e) {
            errors.add(id + " (expire): " + e);
            Thread.sleep(100);
          }
        }
      }
      pool.shutdown();
      expiry.close();
      System.out.println("RESULT won=" + won + " lost=" + lost + " errors=" + errors.size() + " sweeps="
          + expiry.sweeps() + " sweptExpired=" + expiry.expired());
    }
    if (!errors.isEmpty()) {
      errors.forEach(System.out::println);
      System.out.flush();
      System.exit(1);
    }
    System.out.flush();
    System.exit(0);
  }

  private static List<Runnable> steps(JitBroker broker, RequestId id, int i, String side) {
    dev.kubejit.api.Identity who = RacePolicy.requester(i);
    dev.kubejit.api.Identity approver = "a".equals(side) ? RacePolicy.CAROL : RacePolicy.DAVE;
    Runnable approve = () -> broker.approve(id, approver, "ok from " + side);
    Runnable activate = () -> broker.activate(id, who);
    switch (RacePolicy.plan(i)) {
      case 0:
        return List.of(approve, activate, () -> broker.revoke(id, who, "done on " + side));
      case 1:
        return List.of("a".equals(side) ? approve : () -> broker.deny(id, approver, "no from " + side),
            () -> broker.revoke(id, who, "withdrawn on " + side));
      case 2:
      case 4:
        return List.of(approve, activate);
      default:
        return List.of(() -> broker.revoke(id, who, "withdrawn on " + side));
    }
  }
}
