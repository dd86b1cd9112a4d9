package dev.kubejit.api.spi;

import dev.kubejit.api.GrantId;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/** A {@link RequestStore} in a concurrent map; compare-and-set is atomic per request. */
final class InMemoryRequestStore implements RequestStore {
  private final ConcurrentMap<RequestId, RequestRecord> records = new ConcurrentHashMap<>();
  private final ConcurrentMap<GrantId, RequestId> byGrant = new ConcurrentHashMap<>();

  @Override
  public void insert(RequestRecord record) {
    if (records.putIfAbsent(record.id(), record) != null) {
      throw new IllegalStateException("request " + record.id() + " already exists");
    }
    record.grant().ifPresent(g -> byGrant.put(g.id(), record.id()));
  }

  @Override
  public Optional<RequestRecord> find(RequestId id) {
    return Optional.ofNullable(records.get(id));
  }

  @Override
  public Optional<RequestRecord> findByGrant(GrantId id) {
    RequestId rid = byGrant.get(id);
    return rid == null ? Optional.empty() : find(rid);
  }

  @Override
  public boolean replace(RequestRecord expected, RequestRecord updated) {
    if (!expected.id().equals(updated.id())) {
      throw new IllegalArgumentException("ids differ: " + expected.id() + " vs " + updated.id());
    }
    boolean[] replaced = {false};
    records.computeIfPresent(expected.id(), (id, current) -> {
      if (current.version() != expected.version()) {
        return current;
      }
      replaced[0] = true;
      return updated;
    });
    if (replaced[0]) {
      updated.grant().ifPresent(g -> byGrant.put(g.id(), updated.id()));
    }
    return replaced[0];
  }

  @Override
  public List<RequestRecord> list(Set<RequestState> states) {
    List<RequestRecord> out = new ArrayList<>();
    for (RequestRecord r : records.values()) {
      if (states.contains(r.state())) {
        out.add(r);
      }
    }
    out.sort(Comparator.comparing(RequestRecord::createdAt).thenComparing(r -> r.id().value()));
    return out;
  }
}
