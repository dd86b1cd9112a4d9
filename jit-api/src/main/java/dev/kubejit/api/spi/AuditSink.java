package dev.kubejit.api.spi;

import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditException;
import java.util.List;

/**
 * Receives audit events; returning normally means every event of the batch is durable.
 *
 * <p>The broker fails closed: if {@link #write} throws, the transition it records does not happen
 * and the caller gets an {@link AuditException}. Sinks must be thread-safe; a batch belongs to one
 * transition and should be written as a unit.
 */
@FunctionalInterface
public interface AuditSink {
  /**
   * Writes a batch of events, in order.
   *
   * @throws AuditException if any event could not be made durable
   */
  void write(List<AuditEvent> events);

  /** Returns a thread-safe sink that keeps events in memory, for tests. */
  static InMemoryAuditSink inMemory() {
    return new InMemoryAuditSink();
  }
}
