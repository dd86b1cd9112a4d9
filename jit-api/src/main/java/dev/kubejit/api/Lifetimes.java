package dev.kubejit.api;

import java.time.Duration;

/**
 * The absolute ceiling on every lifetime KubeJIT hands out: request durations, policy TTL
 * ceilings, RBAC expiries, certificates and tokens. Configured maxima may be lower, never higher;
 * a value above the ceiling is refused, not clamped, because it is a mistake rather than a wish.
 */
public final class Lifetimes {
  /** 366 days: one year, leap day included. */
  public static final Duration ABSOLUTE_MAX = Duration.ofDays(366);

  private Lifetimes() {}

  /**
   * Returns {@code d} if it is positive and at most {@link #ABSOLUTE_MAX}, else throws.
   *
   * @param what what the duration is, for the message ("TTL", "max TTL", ...)
   * @throws IllegalArgumentException naming {@code what} and the value
   */
  public static Duration requireWithinCap(Duration d, String what) {
    Validation.requirePositive(d, what);
    if (d.compareTo(ABSOLUTE_MAX) > 0) {
      throw new IllegalArgumentException(what + " " + d + " exceeds the absolute maximum of "
          + ABSOLUTE_MAX.toDays() + " days");
    }
    return d;
  }
}
