package dev.kubejit.api.spi;

import static java.util.Objects.requireNonNull;

import dev.kubejit.api.Notification;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Combinations of {@link Notifier}s, for a broker that tells several parties (chat, grant caches). */
public final class Notifiers {
  private static final Logger log = LoggerFactory.getLogger(Notifiers.class);

  private Notifiers() {}

  /**
   * Returns a notifier that calls each of {@code notifiers} in order; one that throws is logged and
   * the others are still called (a chat outage must not keep a grant cache from hearing of a
   * revocation).
   */
  public static Notifier fanOut(Notifier... notifiers) {
    List<Notifier> all = List.of(notifiers);
    all.forEach(n -> requireNonNull(n, "notifier"));
    if (all.size() == 1) {
      return all.get(0);
    }
    return new Notifier() {
      @Override
      public void notify(Notification notification) {
        for (Notifier n : all) {
          try {
            n.notify(notification);
          } catch (RuntimeException e) {
            log.warn("notifier {} failed for {}: {}", n, notification.type(), e.toString());
          }
        }
      }

      @Override
      public String toString() {
        return "fanOut" + all;
      }
    };
  }
}
