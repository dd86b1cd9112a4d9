package dev.kubejit.audit;

import static java.util.Objects.requireNonNull;

import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Selects records from KubeJIT audit files by user, namespace, grant, type and time; it reads but
 * does not verify (run {@link AuditVerifier} for that).
 *
 * <p>All filters must match. {@code user} matches the actor or the request's requester (attribute
 * {@code requester}, so a grant expired by the broker still belongs to its holder); {@code since}
 * is inclusive and {@code until} exclusive. Checkpoints are returned only when the type filter is
 * {@link AuditRecord#CHECKPOINT}.
 */
public final class AuditQuery {
  private final String user;
  private final String namespace;
  private final String grant;
  private final String type;
  private final Instant since;
  private final Instant until;

  private AuditQuery(Builder b) {
    this.user = b.user;
    this.namespace = b.namespace;
    this.grant = b.grant;
    this.type = b.type;
    this.since = b.since;
    this.until = b.until;
  }

  /** Starts a query that matches every event. */
  public static Builder builder() {
    return new Builder();
  }

  /** Whether {@code r} passes every filter. */
  public boolean matches(AuditRecord r) {
    if (type != null ? !type.equals(r.type()) : r.isCheckpoint()) {
      return false;
    }
    if (since != null && r.time().isBefore(since)) {
      return false;
    }
    if (until != null && !r.time().isBefore(until)) {
      return false;
    }
    Optional<AuditEvent> ev = r.event();
    if (user != null && ev.map(e -> !user.equals(e.actor().map(a -> a.user()).orElse(null))
        && !user.equals(e.attributes().get("requester"))).orElse(true)) {
      return false;
    }
    if (namespace != null && !ev.flatMap(AuditEvent::scope).flatMap(s -> s.namespace())
        .map(namespace::equals).orElse(false)) {
      return false;
    }
    return grant == null || ev.flatMap(AuditEvent::grantId).map(g -> g.value().equals(grant)).orElse(false);
  }

  /**
   * Reads the files in order and returns the matching records.
   *
   * @throws AuditFormatException if a file is missing or holds a line that is not a record (a torn
   *     last line of the last file is not an error: it is reported in {@link Result#tornTail()})
   */
  public Result run(List<Path> files) {
    List<AuditRecord> out = new ArrayList<>();
    String torn = null;
    try (LineReader r = new LineReader(files)) {
      for (LineReader.Line l = r.next(); l != null; l = r.next()) {
        if (!l.terminated() && l.fileIndex() == files.size() - 1) {
          torn = "torn last line in " + l.where() + " (" + l.bytes().length + " bytes without a newline) ignored";
          break;
        }
        if (!l.terminated() || l.overlong()) {
          throw new AuditFormatException(l.where() + " is not a complete audit record");
        }
        AuditRecord rec;
        try {
          rec = RecordCodec.parse(l.bytes(), l.bytes().length);
        } catch (AuditFormatException e) {
          throw new AuditFormatException(l.where() + ": " + e.getMessage(), e);
        }
        if (matches(rec)) {
          out.add(rec);
        }
      }
    } catch (IOException e) {
      throw new AuditFormatException("cannot read audit files " + files + ": " + e, e);
    }
    return new Result(out, torn);
  }

  @Override
  public String toString() {
    return "AuditQuery{" + (user == null ? "" : " user=" + Text.quote(user))
        + (namespace == null ? "" : " namespace=" + Text.quote(namespace))
        + (grant == null ? "" : " grant=" + Text.quote(grant)) + (type == null ? "" : " type=" + type)
        + (since == null ? "" : " since=" + since) + (until == null ? "" : " until=" + until) + " }";
  }

  /** The records a query matched, and a note if the last file ended in a torn line. */
  public static final class Result {
    private final List<AuditRecord> records;
    private final String tornTail;

    Result(List<AuditRecord> records, String tornTail) {
      this.records = List.copyOf(records);
      this.tornTail = tornTail;
    }

    /** The matching records, in log order. */
    public List<AuditRecord> records() {
      return records;
    }

    /** A description of a torn last line that was skipped, if there was one. */
    public Optional<String> tornTail() {
      return Optional.ofNullable(tornTail);
    }
  }

  /** Builds an {@link AuditQuery}; each filter may be set once. */
  public static final class Builder {
    private String user;
    private String namespace;
    private String grant;
    private String type;
    private Instant since;
    private Instant until;

    private Builder() {}

    /** Keeps events whose actor or requester is {@code user}. */
    public Builder user(String user) {
      this.user = once(this.user, requireNonNull(user, "user"), "user");
      return this;
    }

    /** Keeps events whose scope is in {@code namespace}. */
    public Builder namespace(String namespace) {
      this.namespace = once(this.namespace, requireNonNull(namespace, "namespace"), "namespace");
      return this;
    }

    /** Keeps events about grant {@code grantId}. */
    public Builder grant(String grantId) {
      this.grant = once(this.grant, requireNonNull(grantId, "grantId"), "grant");
      return this;
    }

    /**
     * Keeps records of this type (an {@link AuditEventType} name or {@link AuditRecord#CHECKPOINT}).
     *
     * @throws IllegalArgumentException naming the value if it is neither
     */
    public Builder type(String type) {
      requireNonNull(type, "type");
      if (!type.equals(AuditRecord.CHECKPOINT)) {
        try {
          AuditEventType.valueOf(type);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("unknown audit record type " + Text.quote(type) + "; expected one of "
              + java.util.Arrays.toString(AuditEventType.values()) + " or CHECKPOINT");
        }
      }
      this.type = once(this.type, type, "type");
      return this;
    }

    /** Keeps records at or after {@code since}. */
    public Builder since(Instant since) {
      this.since = once(this.since, requireNonNull(since, "since"), "since");
      return this;
    }

    /** Keeps records strictly before {@code until}. */
    public Builder until(Instant until) {
      this.until = once(this.until, requireNonNull(until, "until"), "until");
      return this;
    }

    /**
     * Returns the query.
     *
     * @throws IllegalArgumentException if {@code until} is not after {@code since}
     */
    public AuditQuery build() {
      if (since != null && until != null && !until.isAfter(since)) {
        throw new IllegalArgumentException("until " + until + " must be after since " + since);
      }
      return new AuditQuery(this);
    }

    private static <T> T once(T old, T value, String what) {
      if (old != null) {
        throw new IllegalStateException(what + " was already set to " + old);
      }
      return value;
    }
  }
}
