package dev.kubejit.rbac;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.spi.AuditSink;
import io.kubernetes.client.openapi.ApiClient;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Leader-election timing is set by name and checked as a whole when the reaper is built. */
class ExpiryReaperBuilderTest {
  private ExpiryReaper.Builder builder() {
    // never started: no request reaches this client
    return ExpiryReaper.builder(new ApiClient().setBasePath("http://127.0.0.1:1"))
        .auditSink(AuditSink.inMemory()).clusterName("test");
  }

  @Test
  void unorderedDurationsAreRefusedNamingAllThree() {
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> builder()
        .leaseDuration(Duration.ofSeconds(5)).renewDeadline(Duration.ofSeconds(5)).retryPeriod(Duration.ofSeconds(1))
        .build());
    assertTrue(e.getMessage().contains("PT5S, PT5S, PT1S"), e.getMessage());
    assertThrows(IllegalStateException.class, () -> builder().retryPeriod(Duration.ofSeconds(20)).build());
  }

  @Test
  void nonPositiveDurationsAreRefusedAtOnce() {
    assertThrows(IllegalArgumentException.class, () -> builder().leaseDuration(Duration.ZERO));
    assertThrows(IllegalArgumentException.class, () -> builder().renewDeadline(Duration.ofSeconds(-1)));
    assertThrows(IllegalArgumentException.class, () -> builder().retryPeriod(null));
  }

  @Test
  void orderedDurationsBuild() {
    builder().leaseDuration(Duration.ofSeconds(4)).renewDeadline(Duration.ofSeconds(3))
        .retryPeriod(Duration.ofSeconds(1)).leaseNamespace("default").leaseName("reaper").build();
  }
}
