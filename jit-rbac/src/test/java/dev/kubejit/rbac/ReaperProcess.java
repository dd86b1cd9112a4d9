package dev.kubejit.rbac;

import dev.kubejit.api.spi.AuditSink;
import io.kubernetes.client.util.Config;
import java.time.Duration;

/**
 * A reaper in its own JVM, for the crashed-leader test: prints {@code LEADER} once it leads, then
 * runs until it is killed (SIGKILL, so it never releases its Lease).
 */
public final class ReaperProcess {
  private ReaperProcess() {}

  /** Args: kubeconfig, identity, lease name, lease/renew/retry millis. */
  public static void main(String[] args) throws Exception {
    ExpiryReaper r = ExpiryReaper.builder(Config.fromConfig(args[0])).auditSink(AuditSink.inMemory())
        .clusterName("test").identity(args[1]).leaseNamespace("default").leaseName(args[2])
        .leaseDuration(Duration.ofMillis(Long.parseLong(args[3])))
        .renewDeadline(Duration.ofMillis(Long.parseLong(args[4])))
        .retryPeriod(Duration.ofMillis(Long.parseLong(args[5])))
        .build();
    r.start();
    while (!r.isLeader()) {
      Thread.sleep(20);
    }
    System.out.println("LEADER");
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }
}
