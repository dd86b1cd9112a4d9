package dev.kubejit.server;

import static java.util.Objects.requireNonNull;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The service's clock when replicas share a store: the time of one reference clock that every
 * replica reads (PostgreSQL's {@code clock_timestamp()}, or the Kubernetes API server's HTTP
 * {@code Date}), so that expiry and every other time decision agree across replicas whatever each
 * machine's own clock says. A replica whose clock runs two minutes ahead still expires a grant when
 * the reference says it is due, not two minutes early on the other replicas' behalf.
 *
 * <p>Design notes. A refresh reads the reference time {@code R} and then the local clock {@code
 * t}. {@code R} was read at or before {@code t}, and a reference that rounds down (a {@code Date}
 * header has whole seconds) only makes {@code R} smaller, so at any later local instant {@code u}
 * the reference reads at least {@code R + (u - t)}: {@code R - t} is a lower bound of the offset
 * between the two clocks. The clock answers local time plus the largest of the last {@link
 * #WINDOW} lower bounds (a sample delayed by load gives a smaller one, which the others outweigh;
 * a window rather than all history so that a reference stepped back by its own time service is
 * followed within {@code WINDOW} refreshes). So it is never ahead of the reference (up to the two
 * clocks' drift over a window, microseconds to milliseconds), and behind it by at most the best
 * sample's round trip plus the reference's resolution. The first sample is taken at start and must
 * succeed; a failed refresh later keeps the offset it has (it is logged), because two clocks do not
 * move apart by more than their drift while the reference is unreachable.
 */
final class ReferenceClock extends Clock implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ReferenceClock.class);
  /** How many recent samples the offset is the best of. */
  static final int WINDOW = 4;
  /** A difference between the clocks worth a warning at start. */
  private static final Duration NOTABLE_SKEW = Duration.ofSeconds(1);

  private final String reference;
  private final Clock local;
  private final Supplier<Instant> source;
  private final Deque<Duration> recent = new ArrayDeque<>();
  private final AtomicLong samples = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private volatile Duration offset;
  private ScheduledExecutorService refresher;

  private ReferenceClock(String reference, Clock local, Supplier<Instant> source) {
    this.reference = reference;
    this.local = local;
    this.source = source;
  }

  /**
   * Takes the first sample of {@code source} and refreshes it every {@code refresh} in a daemon
   * thread until closed.
   *
   * @param reference what the source is, for logs ("PostgreSQL", "the Kubernetes API server")
   * @param local this machine's clock (the offset is measured against it)
   * @param source reads the reference clock; may throw when it is unreachable
   * @throws RuntimeException what the first read of {@code source} threw
   */
  static ReferenceClock start(String reference, Clock local, Supplier<Instant> source, Duration refresh) {
    ReferenceClock c = new ReferenceClock(requireNonNull(reference, "reference"), requireNonNull(local, "local"),
        requireNonNull(source, "source"));
    if (refresh.isNegative() || refresh.isZero()) {
      throw new IllegalArgumentException("refresh must be positive: " + refresh);
    }
    c.sample();
    Duration skew = c.offset;
    if (skew.abs().compareTo(NOTABLE_SKEW) > 0) {
      log.warn("this machine's clock is {} {} {}; expiry and every other time decision use {}'s time",
          skew.abs(), skew.isNegative() ? "ahead of" : "behind", reference, reference);
    }
    c.refresher = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "kubejit-reference-clock");
      t.setDaemon(true);
      return t;
    });
    c.refresher.scheduleWithFixedDelay(c::refreshQuietly, refresh.toMillis(), refresh.toMillis(), TimeUnit.MILLISECONDS);
    return c;
  }

  /** Reads the reference once and folds the sample into the offset. */
  void sample() {
    Instant r = source.get();
    Instant t = local.instant();
    Duration lowerBound = Duration.between(t, requireNonNull(r, "reference time"));
    synchronized (recent) {
      recent.addLast(lowerBound);
      while (recent.size() > WINDOW) {
        recent.removeFirst();
      }
      Duration best = lowerBound;
      for (Duration d : recent) {
        if (d.compareTo(best) > 0) {
          best = d;
        }
      }
      offset = best;
    }
    samples.incrementAndGet();
  }

  private void refreshQuietly() {
    try {
      sample();
    } catch (RuntimeException e) {
      failures.incrementAndGet();
      log.warn("could not read {}'s time; keeping the offset {}: {}", reference, offset, e.toString());
    }
  }

  /** Reference time minus local time, as used now (a lower bound). */
  Duration offset() {
    return offset;
  }

  /** Successful reads of the reference so far. */
  long samples() {
    return samples.get();
  }

  /** Failed refreshes so far. */
  long failures() {
    return failures.get();
  }

  @Override
  public Instant instant() {
    return local.instant().plus(offset);
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    ReferenceClock self = this;
    return new Clock() {
      @Override
      public ZoneId getZone() {
        return zone;
      }

      @Override
      public Clock withZone(ZoneId z) {
        return self.withZone(z);
      }

      @Override
      public Instant instant() {
        return self.instant();
      }
    };
  }

  /** Stops refreshing; the clock keeps answering with the last offset. */
  @Override
  public void close() {
    ScheduledExecutorService r = refresher;
    if (r != null) {
      r.shutdownNow();
    }
  }

  @Override
  public String toString() {
    return "ReferenceClock{" + reference + ", offset " + offset + "}";
  }
}
