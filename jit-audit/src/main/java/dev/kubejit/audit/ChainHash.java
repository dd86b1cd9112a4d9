package dev.kubejit.audit;

/**
 * The one definition of the audit chain's hash, used by {@link FileAuditSink} when it writes and by
 * {@link AuditVerifier} when it checks (docs/audit.md, "Canonical form"): a record's hash is the
 * SHA-256 of its line exactly as stored — the canonical JSON bytes in UTF-8, without the
 * terminating {@code \n} — written as 64 lower-case hex digits. Record {@code n}'s {@code prevHash}
 * is the hash of record {@code n-1}; record 1's is {@link #GENESIS}. The log's id (what an anchor
 * names) is the hash of its first record.
 */
final class ChainHash {
  /** The prevHash of record 1: 64 zeros. */
  static final String GENESIS = "0".repeat(64);

  private ChainHash() {}

  /** The hash of one stored line (without its newline). */
  static String of(byte[] line) {
    return Text.sha256Hex(line);
  }

  /** The log id: the hash of the log's first line. */
  static String logId(byte[] firstLine) {
    return of(firstLine);
  }
}
