package dev.kubejit.api;

import static java.util.Objects.requireNonNull;

import java.time.Instant;

/** A message for humans about a request: its type, the record it concerns, when, and a summary. */
public final class Notification {
  private final NotificationType type;
  private final RequestRecord record;
  private final Instant at;
  private final String summary;

  private Notification(NotificationType type, RequestRecord record, Instant at, String summary) {
    this.type = requireNonNull(type);
    this.record = requireNonNull(record);
    this.at = requireNonNull(at);
    this.summary = requireNonNull(summary);
  }

  /** Creates a notification. */
  public static Notification of(NotificationType type, RequestRecord record, Instant at, String summary) {
    return new Notification(type, record, at, summary);
  }

  /** What happened. */
  public NotificationType type() {
    return type;
  }

  /** The request's snapshot after the event. */
  public RequestRecord record() {
    return record;
  }

  /** When. */
  public Instant at() {
    return at;
  }

  /** A one-line summary suitable for a chat message. */
  public String summary() {
    return summary;
  }

  @Override
  public String toString() {
    return type + ": " + summary;
  }
}
