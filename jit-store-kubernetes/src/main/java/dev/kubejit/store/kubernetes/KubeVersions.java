package dev.kubejit.store.kubernetes;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Orders Kubernetes API versions the way the API server prioritises them: GA above beta above
 * alpha, then by major, then by the pre-release number ({@code v1 > v1beta2 > v1beta1 >
 * v1alpha1}); a version that does not follow the scheme sorts below all that do.
 */
final class KubeVersions {
  private static final Pattern VERSION = Pattern.compile("v([1-9][0-9]*)(?:(alpha|beta)([1-9][0-9]*))?");

  private KubeVersions() {}

  /** Negative, zero or positive as {@code a} has lower, equal or higher priority than {@code b}. */
  static int compare(String a, String b) {
    long[] x = key(a);
    long[] y = key(b);
    for (int i = 0; i < x.length; i++) {
      int c = Long.compare(x[i], y[i]);
      if (c != 0) {
        return c;
      }
    }
    return 0;
  }

  private static long[] key(String v) {
    Matcher m = VERSION.matcher(v == null ? "" : v);
    if (!m.matches()) {
      return new long[] {0, 0, 0, 0};
    }
    long stability = m.group(2) == null ? 3 : "beta".equals(m.group(2)) ? 2 : 1;
    return new long[] {1, stability, Long.parseLong(m.group(1)), m.group(3) == null ? 0 : Long.parseLong(m.group(3))};
  }
}
