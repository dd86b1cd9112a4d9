package dev.kubejit.bench;

/**
 * Warm-up by count. JMH warms up for a time; on a busy machine a slow operation then runs too few
 * times in it to be compiled, and the measurement times the interpreter. The credential
 * benchmarks therefore call every measured operation {@link #CALLS} times in their setup first.
 */
final class Warm {
  /** At the JIT's invocation threshold for full optimisation (C2, tier 4) with tiered compilation. */
  static final int CALLS = Integer.getInteger("kubejit.bench.warmCalls", 5_000);

  private Warm() {}
}
