package dev.kubejit.audit;

import static java.util.Objects.requireNonNull;

import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditException;
import dev.kubejit.api.spi.AuditSink;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An {@link AuditSink} that writes each batch to several sinks: every required sink in order,
 * then every best-effort sink; it fails if any required sink fails.
 *
 * <p>If a required sink fails, later sinks are not called and {@link #write} throws {@link
 * AuditException}, so the broker's transition does not happen; sinks that already succeeded keep
 * the record (a record may therefore describe an attempt that was then refused). A best-effort
 * sink's failure is logged at WARN and otherwise ignored.
 */
public final class CompositeAuditSink implements AuditSink {
  private static final Logger log = LoggerFactory.getLogger(CompositeAuditSink.class);

  private final List<AuditSink> required;
  private final List<AuditSink> bestEffort;

  private CompositeAuditSink(Builder b) {
    this.required = List.copyOf(b.required);
    this.bestEffort = List.copyOf(b.bestEffort);
  }

  /** Starts a builder. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Writes to every required sink, then to every best-effort sink.
   *
   * @throws AuditException naming the first required sink that failed
   */
  @Override
  public void write(List<AuditEvent> events) {
    List<AuditEvent> batch = List.copyOf(events);
    for (AuditSink s : required) {
      try {
        s.write(batch);
      } catch (RuntimeException e) {
        throw new AuditException("required audit sink " + s + " failed: " + e.getMessage(), e);
      }
    }
    for (AuditSink s : bestEffort) {
      try {
        s.write(batch);
      } catch (RuntimeException e) {
        log.warn("best-effort audit sink {} failed for {} events: {}", s, batch.size(), e.toString());
      }
    }
  }

  @Override
  public String toString() {
    return "CompositeAuditSink{required=" + required + ", bestEffort=" + bestEffort + "}";
  }

  /** Builds a {@link CompositeAuditSink}. */
  public static final class Builder {
    private final List<AuditSink> required = new ArrayList<>();
    private final List<AuditSink> bestEffort = new ArrayList<>();

    private Builder() {}

    /** Adds a sink whose failure fails the write. */
    public Builder required(AuditSink sink) {
      required.add(requireNonNull(sink, "sink"));
      return this;
    }

    /** Adds a sink whose failure is logged and ignored. */
    public Builder bestEffort(AuditSink sink) {
      bestEffort.add(requireNonNull(sink, "sink"));
      return this;
    }

    /**
     * Returns the composite.
     *
     * @throws IllegalStateException if no required sink was added
     */
    public CompositeAuditSink build() {
      if (required.isEmpty()) {
        throw new IllegalStateException("a composite audit sink needs at least one required sink");
      }
      return new CompositeAuditSink(this);
    }
  }
}
