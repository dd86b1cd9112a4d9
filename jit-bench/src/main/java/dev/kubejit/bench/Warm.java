package dev.kubejit.bench;

/**
 * Warm-up by count. JMH warms up for a time; on a busy machine a slow operation then runs too few
 * times in it to be compiled, and the measurement times the interpreter. The credential
 * benchmarks therefore call every measured operation {@link #CALLS} times in their setup first
 * ({@code -Dkubejit.bench.warmCalls}); quick runs also bound that loop's time ({@code
 * -Dkubejit.bench.warmMillis}), since on a saturated machine 1,000 certificates can take a minute.
 */
final class Warm {
  /** At the JIT's invocation threshold for full optimisation (C2, tier 4) with tiered compilation. */
  static final int CALLS = Integer.getInteger("kubejit.bench.warmCalls", 5_000);
  /** The warm-up loop's time limit in milliseconds; none (0) unless set. */
  static final long MILLIS = Long.getLong("kubejit.bench.warmMillis", 0);

  private Warm() {}

  /** Whether warm-up call {@code i}, in a loop started at {@code startNanos}, should still be made. */
  static boolean more(int i, long startNanos) {
    return i < CALLS && (MILLIS <= 0 || System.nanoTime() - startNanos < MILLIS * 1_000_000);
  }
}
