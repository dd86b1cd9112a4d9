package dev.kubejit.audit;

import static java.util.Objects.requireNonNull;

import dev.kubejit.api.AuditEvent;
import java.time.Instant;
import java.util.Optional;

/**
 * One line of a KubeJIT audit file, parsed: its sequence number, time, type, link to the previous
 * record, and either the broker's {@link AuditEvent} or a checkpoint written by the sink.
 *
 * <p>Only this package creates records, from lines it has checked to be in canonical form.
 */
public final class AuditRecord {
  /** The {@code type} of records written by the sink itself rather than the broker. */
  public static final String CHECKPOINT = "CHECKPOINT";

  private final long seq;
  private final Instant time;
  private final String type;
  private final String prevHash;
  private final String json;
  private final AuditEvent event;
  private final RecordCodec.Checkpoint checkpoint;
  private final byte[] signature;

  AuditRecord(long seq, Instant time, String type, String prevHash, String json, AuditEvent event,
      RecordCodec.Checkpoint checkpoint, byte[] signature) {
    if ((event == null) == (checkpoint == null)) {
      throw new IllegalArgumentException("a record is either an event or a checkpoint");
    }
    this.seq = seq;
    this.time = requireNonNull(time);
    this.type = requireNonNull(type);
    this.prevHash = requireNonNull(prevHash);
    this.json = requireNonNull(json);
    this.event = event;
    this.checkpoint = checkpoint;
    this.signature = signature == null ? null : signature.clone();
  }

  /** The record's sequence number: 1-based and gap-free across all files of one log. */
  public long seq() {
    return seq;
  }

  /** The event's time (for a checkpoint: when the sink wrote it). */
  public Instant time() {
    return time;
  }

  /** The event type's name ({@link dev.kubejit.api.AuditEventType}) or {@link #CHECKPOINT}. */
  public String type() {
    return type;
  }

  /** SHA-256 (hex) of the previous record's line, or 64 zeros for the first record. */
  public String prevHash() {
    return prevHash;
  }

  /** The record's line exactly as stored (without the newline), for {@code jq} or re-hashing. */
  public String json() {
    return json;
  }

  /** The broker's event, or empty for a checkpoint. */
  public Optional<AuditEvent> event() {
    return Optional.ofNullable(event);
  }

  /** Whether the sink wrote this record (periodic checkpoint, seal, recovery or reopen record). */
  public boolean isCheckpoint() {
    return event == null;
  }

  /** For a checkpoint: {@code periodic}, {@code seal}, {@code recovery} or {@code reopen}. */
  public Optional<String> checkpointKind() {
    return checkpoint == null ? Optional.empty() : Optional.of(checkpoint.kind());
  }

  /** For a signed checkpoint: SHA-256 (hex) of the signing public key's X.509 encoding. */
  public Optional<String> keyId() {
    return checkpoint == null ? Optional.empty() : Optional.ofNullable(checkpoint.keyId());
  }

  boolean isSeal() {
    return checkpoint != null && RecordCodec.SEAL.equals(checkpoint.kind());
  }

  boolean isKind(String kind) {
    return checkpoint != null && kind.equals(checkpoint.kind());
  }

  RecordCodec.Checkpoint checkpoint() {
    return checkpoint;
  }

  byte[] signature() {
    return signature == null ? null : signature.clone();
  }

  @Override
  public String toString() {
    return "AuditRecord{seq=" + seq + " " + type + (checkpoint == null ? "" : "/" + checkpoint.kind())
        + " " + Text.time(time) + "}";
  }
}
