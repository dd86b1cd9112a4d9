package dev.kubejit.api.spi;

import com.google.common.collect.ImmutableList;
import dev.kubejit.api.Notification;
import dev.kubejit.api.NotificationType;
import java.util.ArrayList;
import java.util.List;

/** A {@link Notifier} that keeps notifications in memory, in order. */
public final class InMemoryNotifier implements Notifier {
  private final List<Notification> notifications = new ArrayList<>();

  InMemoryNotifier() {}

  @Override
  public synchronized void notify(Notification notification) {
    notifications.add(notification);
  }

  /** All notifications so far. */
  public synchronized ImmutableList<Notification> notifications() {
    return ImmutableList.copyOf(notifications);
  }

  /** Notifications of one type. */
  public synchronized ImmutableList<Notification> notifications(NotificationType type) {
    return notifications.stream().filter(n -> n.type() == type).collect(ImmutableList.toImmutableList());
  }
}
