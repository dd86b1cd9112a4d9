package dev.kubejit.audit;

import static java.util.Objects.requireNonNull;

import dev.kubejit.audit.VerificationResult.Problem;
import dev.kubejit.audit.VerificationResult.Status;
import java.io.IOException;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.List;

/**
 * Verifies a KubeJIT audit log: canonical form, gap-free sequence numbers, the SHA-256 chain across
 * all its files, and (with a public key) every checkpoint's Ed25519 signature; reports the first
 * sequence number where the log fails, or a torn last line, or whether the log ends with a seal.
 *
 * <p>Guarantees and limits are in {@code docs/audit.md}: an edit, deletion, insertion or reordering
 * anywhere is detected; a rewrite that recomputes the chain is detected at the next signed
 * checkpoint; cutting the tail of a sealed log is detected (the seal is missing, status {@link
 * Status#OPEN}), but for a log that was never sealed a cut after the last record is
 * indistinguishable from a crash.
 */
public final class AuditVerifier {
  private final PublicKey publicKey;
  private final String keyId;

  private AuditVerifier(PublicKey publicKey) {
    this.publicKey = publicKey == null ? null : AuditKeys.toBcPublic(publicKey);
    this.keyId = publicKey == null ? null : AuditKeys.keyId(publicKey);
  }

  /**
   * A verifier that checks every checkpoint's signature against {@code key}.
   *
   * @throws AuditFormatException if the key is not Ed25519
   */
  public static AuditVerifier withPublicKey(PublicKey key) {
    return new AuditVerifier(requireNonNull(key, "key"));
  }

  /** A verifier that checks the chain only; a full rewrite of the log would not be detected. */
  public static AuditVerifier withoutSignatureCheck() {
    return new AuditVerifier(null);
  }

  /**
   * Verifies one log whose files are given in order (segment 1 first).
   *
   * @throws AuditFormatException if a file is missing or unreadable
   */
  public VerificationResult verify(List<Path> files) {
    requireNonNull(files, "files");
    if (files.isEmpty()) {
      throw new IllegalArgumentException("no audit files given");
    }
    try {
      return run(files);
    } catch (IOException e) {
      throw new AuditFormatException("cannot read audit log " + files + ": " + e, e);
    }
  }

  private VerificationResult run(List<Path> files) throws IOException {
    State st = new State();
    try (LineReader reader = new LineReader(files)) {
      LineReader.Line cur = reader.next();
      while (cur != null) {
        LineReader.Line next = reader.next();
        long e = st.expected;
        if (!cur.terminated()) {
          if (cur.fileIndex() == files.size() - 1) {
            return result(st, Status.TORN_TAIL, null, e, "torn last line in " + cur.where() + " (" + cur.bytes().length
                + " bytes at offset " + cur.offset() + " without a newline: a write interrupted by a crash, never "
                + "acknowledged); records 1.." + (e - 1) + " verified");
          }
          return tampered(st, Problem.MODIFIED, e, cur.file() + " ends without a newline in the middle of the log ("
              + cur.where() + ")");
        }
        if (cur.overlong()) {
          return tampered(st, Problem.MODIFIED, e, cur.where() + " is longer than any record can be");
        }
        AuditRecord rec;
        try {
          rec = RecordCodec.parse(cur.bytes(), cur.bytes().length);
        } catch (AuditFormatException ex) {
          return tampered(st, Problem.MODIFIED, e, cur.where() + ": " + ex.getMessage());
        }
        boolean linked = rec.prevHash().equals(st.prevHash);
        if (!linked || rec.seq() != e) {
          return classify(st, files, cur, rec, next, linked);
        }
        if (rec.isCheckpoint()) {
          st.checkpoints++;
          if (publicKey != null) {
            String bad = checkSignature(rec);
            if (bad != null) {
              return tampered(st, Problem.BAD_SIGNATURE, st.lastSigned + 1, cur.where() + ": " + bad
                  + "; records " + (st.lastSigned + 1) + ".." + rec.seq() + " cannot be trusted");
            }
            st.lastSigned = rec.seq();
          }
        }
        st.prevHash = Text.sha256Hex(cur.bytes());
        st.remember(rec.seq(), st.prevHash);
        st.last = rec;
        st.expected++;
        cur = next;
      }
    }
    if (st.last == null) {
      return result(st, Status.OPEN, null, 0, "the log holds no records");
    }
    String sigNote = publicKey == null ? "; signatures NOT checked (no public key given)" : "";
    if (st.last.isSeal()) {
      return result(st, Status.SEALED, null, 0, "OK: records 1.." + st.last.seq() + " verified, sealed at "
          + Text.time(st.last.time()) + sigNote);
    }
    return result(st, Status.OPEN, null, 0, "records 1.." + st.last.seq() + " verified, but no seal follows: the log "
        + "is still open, its writer crashed, or its tail was cut after seq " + st.last.seq()
        + (publicKey == null ? "" : "; last signed checkpoint: seq " + st.lastSigned) + sigNote);
  }

  /** Names what went wrong when a record does not follow its predecessor. */
  private VerificationResult classify(State st, List<Path> files, LineReader.Line cur, AuditRecord rec,
      LineReader.Line next, boolean linked) throws IOException {
    long e = st.expected;
    String where = cur.where();
    if (linked) {
      return tampered(st, Problem.MODIFIED, e, where + " follows record " + (e - 1) + " but claims seq " + rec.seq());
    }
    if (rec.seq() > e) {
      if (appearsLater(files, cur, e)) {
        return tampered(st, Problem.REORDERED, e, where + " holds record " + rec.seq() + " where record " + e
            + " belongs; record " + e + " appears later");
      }
      return tampered(st, Problem.DELETED, e, "records " + e + ".." + (rec.seq() - 1) + " are missing before "
          + where);
    }
    if (rec.seq() < e) {
      String earlier = st.recent.get(rec.seq());
      if (earlier != null && !earlier.equals(Text.sha256Hex(cur.bytes()))) {
        return tampered(st, Problem.INSERTED, rec.seq(), "two different records claim seq " + rec.seq()
            + ": a record was inserted at seq " + rec.seq() + " (the original follows at " + where + ")");
      }
      return tampered(st, Problem.INSERTED, e, where + " repeats record " + rec.seq() + " after record " + (e - 1));
    }
    AuditRecord after = null;
    if (next != null && next.terminated()) {
      try {
        after = RecordCodec.parse(next.bytes(), next.bytes().length);
      } catch (AuditFormatException ex) {
        after = null;
      }
    }
    if (after != null && after.prevHash().equals(st.prevHash)) {
      return tampered(st, Problem.INSERTED, e, where + " was inserted: the record after it links to record " + (e - 1));
    }
    if (after != null && !after.prevHash().equals(Text.sha256Hex(cur.bytes()))) {
      return tampered(st, Problem.MODIFIED, e, where + ": record " + e + " was changed (it no longer links to record "
          + (e - 1) + ", and record " + (e + 1) + " does not link to it)");
    }
    long bad = Math.max(1, e - 1);
    return tampered(st, Problem.MODIFIED, bad, (e == 1 ? where + ": the first record does not start the chain"
        : "record " + (e - 1) + " was changed: its hash no longer matches the prevHash of record " + e + " (" + where
            + ")"));
  }

  private static boolean appearsLater(List<Path> files, LineReader.Line cur, long seq) throws IOException {
    try (LineReader r = new LineReader(files)) {
      boolean past = false;
      for (LineReader.Line l = r.next(); l != null; l = r.next()) {
        if (!past) {
          past = l.fileIndex() == cur.fileIndex() && l.offset() == cur.offset();
          continue;
        }
        if (!l.terminated() || l.overlong()) {
          continue;
        }
        try {
          if (RecordCodec.parse(l.bytes(), l.bytes().length).seq() == seq) {
            return true;
          }
        } catch (AuditFormatException ex) {
          // not a record; keep looking
        }
      }
    }
    return false;
  }

  private String checkSignature(AuditRecord cp) {
    byte[] sig = cp.signature();
    if (sig == null || cp.keyId().isEmpty()) {
      return "checkpoint " + cp.seq() + " is unsigned but a public key was given";
    }
    if (!cp.keyId().get().equals(keyId)) {
      return "checkpoint " + cp.seq() + " names key " + cp.keyId().get() + ", not the given key " + keyId;
    }
    if (!AuditKeys.verify(publicKey, RecordCodec.signedBytes(cp), sig)) {
      return "the signature of checkpoint " + cp.seq() + " does not verify";
    }
    return null;
  }

  private VerificationResult tampered(State st, Problem p, long seq, String message) {
    return result(st, Status.TAMPERED, p, seq, "TAMPERED at seq " + seq + " (" + p + "): " + message);
  }

  private VerificationResult result(State st, Status status, Problem p, long seq, String message) {
    return new VerificationResult(status, p, seq, st.last == null ? 0 : st.last.seq(), st.lastSigned, st.checkpoints,
        publicKey != null, message);
  }

  private static final class State {
    long expected = 1;
    String prevHash = RecordCodec.GENESIS;
    AuditRecord last;
    long lastSigned;
    long checkpoints;
    /** Hashes of the most recent records, to tell a replayed copy from a forged insertion. */
    final java.util.LinkedHashMap<Long, String> recent = new java.util.LinkedHashMap<>(256, 0.75f, false) {
      private static final long serialVersionUID = 1L;

      @Override
      protected boolean removeEldestEntry(java.util.Map.Entry<Long, String> eldest) {
        return size() > 4096;
      }
    };

    void remember(long seq, String hash) {
      recent.put(seq, hash);
    }
  }

  @Override
  public String toString() {
    return "AuditVerifier{" + (keyId == null ? "no signature check" : "keyId=" + keyId) + "}";
  }

}
