package dev.kubejit.api;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.MapMaker;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One lock per request, and only per request: two different requests never share a lock, so a
 * sweep that ends many grants at once is never serialised by a hash collision (as lock striping
 * would do, 256 stripes making two of six random ids collide about one time in eighteen). A lock
 * lives as long as some thread holds a reference to it; the map keeps it weakly, so finished
 * requests cost nothing.
 */
final class RequestLocks {
  private final ConcurrentMap<RequestId, Lock> locks = new MapMaker().weakValues().makeMap();

  /** The lock of {@code id}; every caller that holds a reference to it gets the same one. */
  Lock get(RequestId id) {
    requireNonNull(id, "id");
    // ConcurrentMap.computeIfAbsent ends in putIfAbsent, so racing callers all get the winner's lock.
    return locks.computeIfAbsent(id, k -> new ReentrantLock());
  }
}
