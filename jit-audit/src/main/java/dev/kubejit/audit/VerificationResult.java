package dev.kubejit.audit;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * What {@link AuditVerifier} found: the log is sealed, open (intact so far, no seal), ends in a
 * torn line, or was tampered with, and then the first sequence number where it fails to verify;
 * whether signatures and an anchor were checked; and findings that are not proof of tampering but
 * fail {@link #isOk(boolean)} (timestamps that go backwards).
 */
public final class VerificationResult {
  /** The overall verdict. */
  public enum Status {
    /** Every record verified and the log ends with a seal written by {@code close()}. */
    SEALED,
    /**
     * Every record verified but no seal follows the last one: the log is still being written, its
     * writer crashed, or its tail was cut; records after {@link #lastSignedSeq()} are covered by
     * the hash chain only.
     */
    OPEN,
    /** Every complete record verified; the last line is incomplete (a crash during a write). */
    TORN_TAIL,
    /** The log was modified, deleted from, inserted into or reordered, or a signature failed. */
    TAMPERED
  }

  /** The kind of tampering found. */
  public enum Problem {
    /** A record's bytes changed (or a line is not a valid canonical record). */
    MODIFIED,
    /** Records are missing (a gap in sequence numbers). */
    DELETED,
    /** A record that does not belong was inserted (or an old one replayed). */
    INSERTED,
    /** Records are out of order. */
    REORDERED,
    /** A checkpoint's signature is missing, made with another key, or does not verify. */
    BAD_SIGNATURE,
    /** The anchor shows the log reached a later seq than it holds now: its end was cut off. */
    TRUNCATED,
    /**
     * The anchor does not fit the log: not signed by the key, from another log, naming a record
     * the log does not hold, or older than the log's last checkpoint (replaced by an old copy).
     */
    ANCHOR_MISMATCH
  }

  /**
   * Something suspicious that is not proof of tampering.
   *
   * @param kind what was found
   * @param seq the record it was found at
   * @param earlierSeq the record it is compared with
   * @param message one line a person can read
   */
  public record Finding(FindingKind kind, long seq, long earlierSeq, String message) {
    /** Checks the fields. */
    public Finding {
      requireNonNull(kind, "kind");
      requireNonNull(message, "message");
    }
  }

  /** The kinds of {@link Finding}. */
  public enum FindingKind {
    /**
     * A record's time is earlier than the latest time of the records before it by more than the
     * verifier's tolerance: a clock stepped back, or records were written with forged times.
     */
    TIME_WENT_BACKWARDS
  }

  private final Status status;
  private final Problem problem;
  private final long firstBadSeq;
  private final long lastSeq;
  private final long lastSignedSeq;
  private final long checkpoints;
  private final boolean signaturesChecked;
  private final boolean anchorChecked;
  private final List<Finding> findings;
  private final String message;

  VerificationResult(Status status, Problem problem, long firstBadSeq, long lastSeq, long lastSignedSeq,
      long checkpoints, boolean signaturesChecked, boolean anchorChecked, List<Finding> findings, String message) {
    this.status = requireNonNull(status);
    this.problem = problem;
    this.firstBadSeq = firstBadSeq;
    this.lastSeq = lastSeq;
    this.lastSignedSeq = lastSignedSeq;
    this.checkpoints = checkpoints;
    this.signaturesChecked = signaturesChecked;
    this.anchorChecked = anchorChecked;
    this.findings = List.copyOf(findings);
    this.message = requireNonNull(message);
  }

  /** The verdict. */
  public Status status() {
    return status;
  }

  /**
   * Whether the log verified completely: {@link Status#SEALED} (or {@link Status#OPEN} when {@code
   * allowOpen}), checkpoint signatures were checked against a public key, and there are no
   * {@link #findings()}. A result from {@link AuditVerifier#withoutSignatureCheck()} is never OK:
   * without the key, a rewritten and re-chained log looks intact.
   */
  public boolean isOk(boolean allowOpen) {
    return signaturesChecked && findings.isEmpty() && (status == Status.SEALED || (allowOpen && status == Status.OPEN));
  }

  /** For {@link Status#TAMPERED}: what kind of tampering. */
  public Optional<Problem> problem() {
    return Optional.ofNullable(problem);
  }

  /**
   * For {@link Status#TAMPERED}: the first sequence number that fails to verify; for {@link
   * Status#TORN_TAIL}: the sequence number the torn record would have had.
   */
  public OptionalLong firstBadSeq() {
    return firstBadSeq > 0 ? OptionalLong.of(firstBadSeq) : OptionalLong.empty();
  }

  /** The last sequence number that verified (0 if none). */
  public long lastSeq() {
    return lastSeq;
  }

  /** The sequence number of the last checkpoint whose signature verified (0 if none or unchecked). */
  public long lastSignedSeq() {
    return lastSignedSeq;
  }

  /** How many checkpoints (periodic, seal, recovery) were read. */
  public long checkpoints() {
    return checkpoints;
  }

  /** Whether checkpoint signatures were checked against a public key. */
  public boolean signaturesChecked() {
    return signaturesChecked;
  }

  /** Whether an anchor was given and checked (its result is part of {@link #status()}). */
  public boolean anchorChecked() {
    return anchorChecked;
  }

  /** Suspicious things that are not proof of tampering, in log order (at most 100 are kept). */
  public List<Finding> findings() {
    return findings;
  }

  /** One line a person can read, naming file, line and sequence numbers. */
  public String message() {
    return message;
  }

  @Override
  public String toString() {
    return status + (problem == null ? "" : "/" + problem) + ": " + message;
  }
}
