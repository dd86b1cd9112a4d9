package dev.kubejit.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class FakeClockTest {
  @Test
  void startsAtDefaultInstantInUtcAndStandsStill() {
    FakeClock clock = new FakeClock();
    Instant start = Instant.parse("2024-01-01T00:00:00Z"); // the documented start, written out
    assertEquals(start, clock.instant());
    assertEquals(ZoneOffset.UTC, clock.getZone());
    // Let real time pass (observed on the system clock, not assumed), then the fake clock must not have moved.
    long t0 = System.nanoTime();
    while (System.nanoTime() - t0 < Duration.ofMillis(5).toNanos()) {
      Thread.onSpinWait();
    }
    assertEquals(start, clock.instant());
    assertEquals(1_704_067_200_000L, clock.millis());
  }

  @Test
  void advancesWithNanosecondPrecision() {
    FakeClock clock = new FakeClock(Instant.EPOCH);
    Instant after = clock.advance(Duration.ofNanos(1));
    assertEquals(Instant.ofEpochSecond(0, 1), after);
    assertEquals(after, clock.instant());
    clock.advance(Duration.ofHours(1).plusNanos(999_999_999));
    assertEquals(Instant.ofEpochSecond(3601, 0), clock.instant());
  }

  @Test
  void setMayMoveBackwardsButAdvanceMayNot() {
    FakeClock clock = new FakeClock(Instant.parse("2030-01-01T00:00:00Z"));
    clock.set(Instant.parse("2020-01-01T00:00:00.123456789Z"));
    assertEquals(Instant.parse("2020-01-01T00:00:00.123456789Z"), clock.instant());
    assertThrows(IllegalArgumentException.class, () -> clock.advance(Duration.ofSeconds(-1)));
    assertThrows(NullPointerException.class, () -> clock.set(null));
  }

  @Test
  void zonedViewsShareTheSameTime() {
    FakeClock utc = new FakeClock(Instant.EPOCH);
    FakeClock paris = utc.withZone(ZoneId.of("Europe/Paris"));
    assertSame(utc, utc.withZone(ZoneOffset.UTC));
    assertEquals(ZoneId.of("Europe/Paris"), paris.getZone());
    utc.advance(Duration.ofMinutes(5));
    assertEquals(Instant.EPOCH.plusSeconds(300), paris.instant());
    paris.set(Instant.EPOCH);
    assertEquals(Instant.EPOCH, utc.instant());
  }

  @Test
  void concurrentAdvancesAreNotLost() throws Exception {
    FakeClock clock = new FakeClock(Instant.EPOCH);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        futures.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < 10_000; i++) {
                    clock.advance(Duration.ofNanos(1));
                  }
                }));
      }
      for (Future<?> f : futures) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(Instant.ofEpochSecond(0, 40_000), clock.instant());
  }
}
