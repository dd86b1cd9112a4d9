package dev.kubejit.server;

import dev.kubejit.api.Activation;
import dev.kubejit.api.RequestRecord;

/** What the HTTP API reports to metrics; {@link #none()} reports nothing. */
interface ApiMetrics {
  default void submitted(RequestRecord rec) {}

  default void voted(RequestRecord rec) {}

  default void activated(Activation activation) {}

  default void ended(RequestRecord rec) {}

  default void reissued(int credentials) {}

  default void authenticationFailed() {}

  /** The Prometheus text exposition. */
  default String scrape() {
    return "";
  }

  static ApiMetrics none() {
    return new ApiMetrics() {};
  }
}
