package dev.kubejit.api.spi;

import dev.kubejit.api.Notification;

/**
 * Tells humans (ChatOps, paging) about requests and grants.
 *
 * <p>Notifications are best effort: the broker logs and swallows an exception thrown here, since
 * the audit trail, not the chat message, is the record.
 */
@FunctionalInterface
public interface Notifier {
  /** Delivers one notification. */
  void notify(Notification notification);

  /** Returns a notifier that drops everything. */
  static Notifier none() {
    return n -> {};
  }

  /** Returns a thread-safe notifier that keeps notifications in memory, for tests and bots. */
  static InMemoryNotifier inMemory() {
    return new InMemoryNotifier();
  }
}
