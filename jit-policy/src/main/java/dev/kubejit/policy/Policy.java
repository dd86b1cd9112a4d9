package dev.kubejit.policy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A loaded, fully validated {@code AccessPolicy}: its name, its roles, the SHA-256 digest of its
 * canonical form, and the source revision it was loaded from, if the caller said.
 *
 * <p>Immutable. Obtain one from {@link PolicyLoader}; evaluate it with {@link PolicyEngine#of}.
 * Two policies with the same content have the same digest whatever their format.
 */
public final class Policy {
  private final Model.Document document;
  private final String source;
  private final String revision;
  private final String canonicalJson;
  private final String digest;
  private final Map<String, int[]> locations;

  Policy(Model.Document document, String source, String revision, Map<String, int[]> locations) {
    this.document = document;
    this.source = source;
    this.revision = revision;
    this.canonicalJson = Canonical.json(Model.canonical(document));
    this.digest = Canonical.sha256Hex(canonicalJson);
    this.locations = Map.copyOf(locations);
  }

  /** The policy's {@code metadata.name}. */
  public String name() {
    return document.name();
  }

  /** The names of its roles, in file order. */
  public List<String> roleNames() {
    List<String> names = new ArrayList<>();
    document.roles().forEach(r -> names.add(r.name()));
    return List.copyOf(names);
  }

  /**
   * Each role's {@code maxDuration}, the longest grant it can yield, by role name in file order;
   * unmodifiable. The RBAC write webhook uses these as per-role TTL ceilings for KubeJIT's bindings.
   */
  public Map<String, Duration> maxDurations() {
    Map<String, Duration> out = new LinkedHashMap<>();
    document.roles().forEach(r -> out.put(r.name(), r.maxDuration()));
    return Collections.unmodifiableMap(out);
  }

  /** SHA-256 (lower-case hex) of {@link #canonicalJson()}. */
  public String digest() {
    return digest;
  }

  /** The source revision (for example a git commit) given to the loader, if any. */
  public Optional<String> revision() {
    return Optional.ofNullable(revision);
  }

  /** The name of the file or stream it was read from. */
  public String source() {
    return source;
  }

  /**
   * The canonical form: compact JSON of the model with defaults applied, keys sorted and durations
   * normalised ({@code PT60M} becomes {@code PT1H}), UTF-8.
   */
  public String canonicalJson() {
    return canonicalJson;
  }

  Model.Document document() {
    return document;
  }

  /** Where a path was read, as {line, column}, or null. */
  int[] location(String path) {
    return locations.get(path);
  }

  @Override
  public String toString() {
    return "Policy{" + document.name() + " sha256:" + digest.substring(0, 12)
        + (revision == null ? "" : " @" + revision) + "}";
  }
}
