package dev.kubejit.api.spi;

import com.google.common.collect.ImmutableList;
import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import java.util.ArrayList;
import java.util.List;

/** An {@link AuditSink} that keeps events in memory, in write order; for tests and demos. */
public final class InMemoryAuditSink implements AuditSink {
  private final List<AuditEvent> events = new ArrayList<>();

  InMemoryAuditSink() {}

  @Override
  public synchronized void write(List<AuditEvent> batch) {
    events.addAll(batch);
  }

  /** All events so far, in order. */
  public synchronized ImmutableList<AuditEvent> events() {
    return ImmutableList.copyOf(events);
  }

  /** Events of one type, in order. */
  public synchronized ImmutableList<AuditEvent> events(AuditEventType type) {
    return events.stream().filter(e -> e.type() == type).collect(ImmutableList.toImmutableList());
  }
}
