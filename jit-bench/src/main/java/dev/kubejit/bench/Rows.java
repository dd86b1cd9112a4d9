package dev.kubejit.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/** Table rows and latency statistics of the runners outside JMH (stores, lifecycle). */
final class Rows {
  /** One table row: what, figure, reference, ratio (NaN: none), target, met (null: no target). */
  record Row(String what, String figure, String reference, double ratio, String target, Boolean met) {}

  private final List<Row> rows = new ArrayList<>();

  void add(String what, String figure, String reference, double ratio, String target, Boolean met) {
    rows.add(new Row(what, figure, reference, ratio, target, met));
  }

  void notRun(String what, String reason) {
    rows.add(new Row(what, "not run (" + reason + ")", "", Double.NaN, "", null));
  }

  List<Row> rows() {
    return rows;
  }

  /** Sorted latencies in nanoseconds. */
  static final class Latencies {
    private long[] ns = new long[1024];
    private int n;

    synchronized void add(long nanos) {
      if (n == ns.length) {
        ns = java.util.Arrays.copyOf(ns, n * 2);
      }
      ns[n++] = nanos;
    }

    synchronized void addAll(Latencies other) {
      for (int i = 0; i < other.n; i++) {
        add(other.ns[i]);
      }
    }

    synchronized int size() {
      return n;
    }

    /** The q-quantile (0..1), nearest rank; NaN if empty. */
    synchronized double quantile(double q) {
      if (n == 0) {
        return Double.NaN;
      }
      long[] s = java.util.Arrays.copyOf(ns, n);
      java.util.Arrays.sort(s);
      int rank = (int) Math.ceil(q * n) - 1;
      return s[Math.max(0, Math.min(n - 1, rank))];
    }
  }

  static double median(List<Double> xs) {
    List<Double> s = new ArrayList<>(xs);
    s.sort(Double::compare);
    int k = s.size();
    return k % 2 == 1 ? s.get(k / 2) : (s.get(k / 2 - 1) + s.get(k / 2)) / 2;
  }

  static String rate(List<Double> perRound, String unit) {
    List<Double> s = new ArrayList<>(perRound);
    s.sort(Double::compare);
    return String.format(Locale.ROOT, "%,.0f %s (%,.0f..%,.0f)", median(s), unit, s.get(0), s.get(s.size() - 1));
  }

  static String time(double nanos) {
    if (Double.isNaN(nanos)) {
      return "—";
    }
    if (nanos >= TimeUnit.SECONDS.toNanos(1)) {
      return String.format(Locale.ROOT, "%.2f s", nanos / 1e9);
    }
    if (nanos >= 10_000_000) {
      return String.format(Locale.ROOT, "%,.0f ms", nanos / 1e6);
    }
    return String.format(Locale.ROOT, "%.2f ms", nanos / 1e6);
  }

  private Rows() {}

  static Rows create() {
    return new Rows();
  }
}
