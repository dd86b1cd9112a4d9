package dev.kubejit.testing;

import static java.util.Objects.requireNonNull;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A {@link Clock} that only moves when a test moves it; thread-safe and nanosecond-precise.
 *
 * <p>Clocks derived with {@link #withZone(ZoneId)} share the same time, so advancing one advances
 * all of them.
 */
public final class FakeClock extends Clock {
  /** The instant a clock created with {@link #FakeClock()} starts at: 2024-01-01T00:00:00Z. */
  public static final Instant DEFAULT_START = Instant.parse("2024-01-01T00:00:00Z");

  private final AtomicReference<Instant> now;
  private final ZoneId zone;

  /** Creates a UTC clock at {@link #DEFAULT_START}. */
  public FakeClock() {
    this(DEFAULT_START);
  }

  /** Creates a UTC clock at {@code start}. */
  public FakeClock(Instant start) {
    this(new AtomicReference<>(requireNonNull(start, "start")), ZoneOffset.UTC);
  }

  private FakeClock(AtomicReference<Instant> now, ZoneId zone) {
    this.now = now;
    this.zone = requireNonNull(zone, "zone");
  }

  /** Returns the current fake instant. */
  @Override
  public Instant instant() {
    return now.get();
  }

  /** Returns the zone used to interpret the instant. */
  @Override
  public ZoneId getZone() {
    return zone;
  }

  /** Returns a clock with the given zone that shares this clock's time. */
  @Override
  public FakeClock withZone(ZoneId zone) {
    return zone.equals(this.zone) ? this : new FakeClock(now, zone);
  }

  /**
   * Moves the clock forward by {@code amount} (must not be negative) and returns the new instant.
   */
  public Instant advance(Duration amount) {
    requireNonNull(amount, "amount");
    if (amount.isNegative()) {
      throw new IllegalArgumentException(
          "cannot advance by a negative duration: " + amount + " (use set)");
    }
    return now.updateAndGet(t -> t.plus(amount));
  }

  /** Sets the clock to {@code instant}, which may be earlier than the current time. */
  public void set(Instant instant) {
    now.set(requireNonNull(instant, "instant"));
  }

  /** Describes the clock's current instant and zone. */
  @Override
  public String toString() {
    return "FakeClock[" + now.get() + ", " + zone + "]";
  }
}
