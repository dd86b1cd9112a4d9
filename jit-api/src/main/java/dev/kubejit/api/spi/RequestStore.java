package dev.kubejit.api.spi;

import dev.kubejit.api.GrantId;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import java.time.Instant;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Stores request snapshots with compare-and-set on {@link RequestRecord#version()}, so several
 * broker replicas can share one store safely.
 */
public interface RequestStore {
  /**
   * Stores a new record.
   *
   * @throws IllegalStateException if a record with the same id exists
   */
  void insert(RequestRecord record);

  /** Finds a record by request id. */
  Optional<RequestRecord> find(RequestId id);

  /** Finds the record whose grant has this id. */
  Optional<RequestRecord> findByGrant(GrantId id);

  /**
   * Replaces {@code expected} by {@code updated} if the stored version still equals {@code
   * expected.version()}; returns false (and changes nothing) otherwise.
   */
  boolean replace(RequestRecord expected, RequestRecord updated);

  /** Lists records in any of {@code states}. */
  List<RequestRecord> list(Set<RequestState> states);

  /**
   * Lists open records whose {@link RequestRecord#windowEnd()} is at or before {@code end}, earliest
   * first; the broker's expiry sweep calls it. The default filters {@link #list(Set)}; stores with an
   * index on the window end should override it.
   */
  default List<RequestRecord> listEndingBy(Instant end) {
    Instant limit = java.util.Objects.requireNonNull(end, "end");
    List<RequestRecord> out = new java.util.ArrayList<>();
    Set<RequestState> open = EnumSet.noneOf(RequestState.class);
    for (RequestState s : RequestState.values()) {
      if (!s.isTerminal()) {
        open.add(s);
      }
    }
    for (RequestRecord r : list(open)) {
      if (r.windowEnd().map(w -> !w.isAfter(limit)).orElse(false)) {
        out.add(r);
      }
    }
    out.sort(Comparator.comparing((RequestRecord r) -> r.windowEnd().orElseThrow())
        .thenComparing(r -> r.id().value()));
    return out;
  }

  /** Returns a thread-safe store held in memory. */
  static RequestStore inMemory() {
    return new InMemoryRequestStore();
  }
}
