package dev.kubejit.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditException;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.InMemoryAuditSink;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.event.LoggingEvent;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.spi.LoggingEventAware;

class OtherSinksTest {
  /** A real SLF4J logger that keeps the structured events it receives. */
  static final class CapturingLogger extends LegacyAbstractLogger implements LoggingEventAware {
    private static final long serialVersionUID = 1L;
    final List<LoggingEvent> events = new ArrayList<>();
    final boolean info;

    CapturingLogger(boolean info) {
      this.name = "test.audit";
      this.info = info;
    }

    @Override
    public void log(LoggingEvent event) {
      events.add(event);
    }

    @Override
    protected String getFullyQualifiedCallerName() {
      return null;
    }

    @Override
    protected void handleNormalizedLoggingCall(Level level, Marker marker, String msg, Object[] args, Throwable t) {
      throw new AssertionError("the sink must use the fluent API");
    }

    @Override
    public boolean isTraceEnabled() {
      return false;
    }

    @Override
    public boolean isDebugEnabled() {
      return false;
    }

    @Override
    public boolean isInfoEnabled() {
      return info;
    }

    @Override
    public boolean isWarnEnabled() {
      return info;
    }

    @Override
    public boolean isErrorEnabled() {
      return info;
    }
  }

  @Test
  void slf4jSinkLogsStructuredKeyValuesWithControlCharactersEscaped() {
    CapturingLogger logger = new CapturingLogger(true);
    AuditEvent e = Events.full(1);
    Slf4jAuditSink.to(logger).write(List.of(e));
    assertEquals(1, logger.events.size());
    LoggingEvent ev = logger.events.get(0);
    assertEquals(Level.INFO, ev.getLevel());
    assertEquals("audit REQUEST_CREATED", ev.getMessage());
    Map<String, Object> kv = new LinkedHashMap<>();
    ev.getKeyValuePairs().forEach(p -> kv.put(p.key, p.value));
    assertEquals(e.id(), kv.get("eventId"));
    assertEquals("alice", kv.get("user"));
    assertEquals("oncall-payments,sre", kv.get("groups"));
    assertEquals("payments", kv.get("namespace"));
    assertEquals("api-0", kv.get("pod"));
    assertEquals("logs-auto", kv.get("ruleId"));
    assertEquals("cat\\u000a/etc/passwd", kv.get("attr.command"), "a newline cannot forge a log line");
    assertEquals("2026-01-01T09:00:01.123456789Z", kv.get("time"));
  }

  @Test
  void slf4jSinkRefusesToDropEventsSilently() {
    AuditException e = assertThrows(AuditException.class,
        () -> Slf4jAuditSink.to(new CapturingLogger(false)).write(List.of(Events.full(1))));
    assertTrue(e.getMessage().contains("INFO disabled"), e.getMessage());
  }

  @Test
  void compositeFailsWhenARequiredSinkFailsAndSkipsTheRest() {
    InMemoryAuditSink first = AuditSink.inMemory();
    InMemoryAuditSink after = AuditSink.inMemory();
    AuditSink broken = events -> {
      throw new AuditException("disk full");
    };
    CompositeAuditSink c = CompositeAuditSink.builder().required(first).required(broken).bestEffort(after).build();
    AuditException e = assertThrows(AuditException.class, () -> c.write(List.of(Events.full(1))));
    assertTrue(e.getMessage().contains("disk full"), e.getMessage());
    assertEquals(1, first.events().size());
    assertEquals(0, after.events().size(), "nothing reaches best-effort sinks after a required failure");
  }

  @Test
  void compositeIgnoresBestEffortFailures() {
    InMemoryAuditSink required = AuditSink.inMemory();
    AuditSink flaky = events -> {
      throw new IllegalStateException("webhook down");
    };
    CompositeAuditSink c = CompositeAuditSink.builder().required(required).bestEffort(flaky).build();
    c.write(List.of(Events.full(1), Events.full(2)));
    assertEquals(2, required.events().size());
    assertThrows(IllegalStateException.class, () -> CompositeAuditSink.builder().bestEffort(flaky).build());
  }
}
