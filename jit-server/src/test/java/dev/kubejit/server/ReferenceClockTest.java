package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.testing.FakeClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** The service's clock follows its reference from below, whatever the local clock says. */
class ReferenceClockTest {
  private static final Instant T0 = Instant.parse("2026-12-02T12:00:00Z");
  private final FakeClock local = new FakeClock(T0.plus(Duration.ofMinutes(2)));
  private final Deque<Instant> readings = new ArrayDeque<>();
  /** Each read of the reference takes {@code latency} of local time, then answers the next reading. */
  private Duration latency = Duration.ZERO;

  private final Supplier<Instant> source = () -> {
    Instant r = readings.removeFirst();
    local.advance(latency);
    return r;
  };

  @Test
  void aLocalClockTwoMinutesAheadReadsTheReferencesTime() {
    readings.add(T0);
    try (ReferenceClock c = ReferenceClock.start("db", local, source, Duration.ofHours(1))) {
      assertEquals(T0, c.instant());
      assertEquals(Duration.ofMinutes(-2), c.offset());
      local.advance(Duration.ofSeconds(30));
      assertEquals(T0.plusSeconds(30), c.instant(), "it runs at the local clock's rate between samples");
    }
  }

  @Test
  void aSlowReadGivesALowerBoundAndTheBestRecentSampleWins() {
    readings.add(T0);
    latency = Duration.ofMillis(800);      // the reference answered T0, and 800 ms passed before we saw it
    try (ReferenceClock c = ReferenceClock.start("db", local, source, Duration.ofHours(1))) {
      // The reference read T0 at some point in those 800 ms: at least T0 now, maybe up to T0 + 800 ms.
      assertEquals(T0, c.instant(), "never ahead of the reference");
      latency = Duration.ofMillis(10);
      Instant localBefore = local.instant();
      readings.add(T0.plusMillis(790 + 5));  // the true reference time 5 ms into a 10 ms read
      c.sample();
      assertEquals(T0.plusMillis(795), c.instant());
      assertTrue(Duration.between(localBefore, local.instant()).toMillis() == 10);
      latency = Duration.ofSeconds(3);      // a read delayed by load: a much smaller lower bound
      readings.add(T0.plusMillis(800));
      c.sample();
      assertEquals(T0.plusMillis(795 + 3000), c.instant(), "the delayed sample does not pull the clock back");
    }
  }

  @Test
  void theWindowForgetsOldSamplesSoAReferenceSteppedBackIsFollowed() {
    readings.add(T0);
    try (ReferenceClock c = ReferenceClock.start("db", local, source, Duration.ofHours(1))) {
      Duration before = c.offset();
      for (int i = 0; i < ReferenceClock.WINDOW; i++) {
        readings.add(local.instant().plus(before).minusSeconds(5)); // the reference was stepped back 5 s
        c.sample();
      }
      assertEquals(before.minusSeconds(5), c.offset());
    }
  }

  @Test
  void aFailedRefreshKeepsTheOffsetAndTheFirstSampleMustSucceed() throws Exception {
    readings.add(T0);
    try (ReferenceClock c = ReferenceClock.start("db", local, source, Duration.ofMillis(20))) {
      // The refresher finds no reading (the reference is down) and keeps what it has.
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (c.failures() < 2 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertTrue(c.failures() >= 2, "refreshes failed: " + c.failures());
      assertEquals(T0, c.instant());
      assertEquals(1, c.samples());
    }
    assertThrows(IllegalStateException.class, () -> ReferenceClock.start("db", local, () -> {
      throw new IllegalStateException("down");
    }, Duration.ofSeconds(1)));
    assertThrows(IllegalArgumentException.class, () -> ReferenceClock.start("db", local, () -> T0, Duration.ZERO));
  }
}
