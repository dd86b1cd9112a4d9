package dev.kubejit.audit;

import static java.util.Objects.requireNonNull;

import dev.kubejit.audit.VerificationResult.Problem;
import dev.kubejit.audit.VerificationResult.Status;
import java.io.IOException;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Verifies a KubeJIT audit log: canonical form, gap-free sequence numbers, the SHA-256 chain across
 * all its files, that a seal is only ever the last record, the writer sessions named by
 * checkpoints, (with a public key) every checkpoint's Ed25519 signature, (with an anchor) that the
 * log reaches exactly the anchored checkpoint, and that timestamps do not go backwards beyond a
 * tolerance; reports the first sequence number where the log fails, or a torn last line, or
 * whether the log ends with a seal.
 *
 * <p>Guarantees and limits are in {@code docs/audit.md}: an edit, deletion, insertion or reordering
 * anywhere is detected; a rewrite that recomputes the chain is detected at the next signed
 * checkpoint; a log cut anywhere no longer ends with a seal ({@link Status#OPEN}) unless the cut
 * puts back a seal kept from an earlier copy of the file, which only the anchor detects. Without a
 * public key nothing is proven ({@link VerificationResult#isOk(boolean)} is false).
 */
public final class AuditVerifier {
  /** How far a record's time may lie before the latest earlier time without a finding: 5 seconds. */
  public static final Duration DEFAULT_TIME_TOLERANCE = Duration.ofSeconds(5);
  private static final int MAX_FINDINGS = 100;

  private final PublicKey publicKey;
  private final String keyId;
  private final Path anchorFile;
  private final Duration timeTolerance;

  private AuditVerifier(PublicKey publicKey, String keyId, Path anchorFile, Duration timeTolerance) {
    this.publicKey = publicKey;
    this.keyId = keyId;
    this.anchorFile = anchorFile;
    this.timeTolerance = timeTolerance;
  }

  /**
   * A verifier that checks every checkpoint's signature against {@code key}.
   *
   * @throws AuditFormatException if the key is not Ed25519
   */
  public static AuditVerifier withPublicKey(PublicKey key) {
    requireNonNull(key, "key");
    return new AuditVerifier(AuditKeys.toBcPublic(key), AuditKeys.keyId(key), null, DEFAULT_TIME_TOLERANCE);
  }

  /**
   * A verifier that checks the chain only; a full rewrite of the log would not be detected, so
   * its results are never {@link VerificationResult#isOk(boolean) OK}.
   */
  public static AuditVerifier withoutSignatureCheck() {
    return new AuditVerifier(null, null, null, DEFAULT_TIME_TOLERANCE);
  }

  /**
   * This verifier, also checking the log against the anchor file a {@link FileAuditSink} keeps
   * ({@link FileAuditSink.Builder#anchor(Path)}): the anchor must be signed by the key, belong to
   * this log, and name exactly the log's last checkpoint; a log that ends before it is {@link
   * Problem#TRUNCATED}. The file is read by {@link #verify(List)}.
   *
   * @throws IllegalStateException if an anchor was already set
   */
  public AuditVerifier withAnchor(Path anchorFile) {
    requireNonNull(anchorFile, "anchorFile");
    if (this.anchorFile != null) {
      throw new IllegalStateException("anchor was already set to " + this.anchorFile);
    }
    return new AuditVerifier(publicKey, keyId, anchorFile, timeTolerance);
  }

  /**
   * This verifier with another tolerance for timestamps that go backwards (default {@link
   * #DEFAULT_TIME_TOLERANCE}); a record earlier than the latest earlier record by more than this
   * is a {@link VerificationResult.FindingKind#TIME_WENT_BACKWARDS} finding.
   *
   * @throws IllegalArgumentException if {@code tolerance} is negative
   */
  public AuditVerifier withTimeTolerance(Duration tolerance) {
    requireNonNull(tolerance, "tolerance");
    if (tolerance.isNegative()) {
      throw new IllegalArgumentException("time tolerance must not be negative: " + tolerance);
    }
    return new AuditVerifier(publicKey, keyId, anchorFile, tolerance);
  }

  /**
   * Verifies one log whose files are given in order (segment 1 first).
   *
   * @throws AuditFormatException if a file is missing or unreadable, or the anchor file is
   *     missing or not an anchor
   */
  public VerificationResult verify(List<Path> files) {
    requireNonNull(files, "files");
    if (files.isEmpty()) {
      throw new IllegalArgumentException("no audit files given");
    }
    Anchor anchor = anchorFile == null ? null : Anchor.read(anchorFile);
    try {
      return run(files, anchor);
    } catch (IOException e) {
      throw new AuditFormatException("cannot read audit log " + files + ": " + e, e);
    }
  }

  private VerificationResult run(List<Path> files, Anchor anchor) throws IOException {
    State st = new State(anchor != null);
    String tornNote = null;
    try (LineReader reader = new LineReader(files)) {
      LineReader.Line cur = reader.next();
      while (cur != null) {
        LineReader.Line next = reader.next();
        long e = st.expected;
        if (!cur.terminated()) {
          if (cur.fileIndex() == files.size() - 1) {
            tornNote = "torn last line in " + cur.where() + " (" + cur.bytes().length + " bytes at offset "
                + cur.offset() + " without a newline: a write interrupted by a crash, never acknowledged)";
            break;
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
        if (st.last != null && st.last.isSeal()) {
          return tampered(st, Problem.INSERTED, e, cur.where() + " follows the seal at seq " + (e - 1) + ", but the "
              + "sink writes nothing after a seal (reopening replaces the seal by a reopen record): records were "
              + "appended by something else");
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
          String bad = checkSession(st, rec);
          if (bad != null) {
            return tampered(st, Problem.MODIFIED, e, cur.where() + ": " + bad);
          }
          if (anchor != null && rec.seq() > anchor.body().seq() && st.firstCheckpointAfterAnchor == 0) {
            st.firstCheckpointAfterAnchor = rec.seq();
          }
          st.lastCheckpointSeq = rec.seq();
        }
        checkTime(st, rec);
        st.prevHash = ChainHash.of(cur.bytes());
        if (rec.seq() == 1) {
          st.firstHash = st.prevHash;
        }
        if (anchor != null && rec.seq() == anchor.body().seq()) {
          st.atAnchor = rec;
          st.atAnchorHash = st.prevHash;
          st.atAnchorPlace = "file " + (cur.fileIndex() + 1) + " offset " + cur.offset();
        }
        st.remember(rec.seq(), st.prevHash);
        st.last = rec;
        st.expected++;
        cur = next;
      }
    }
    VerificationResult byLog = endOfLog(st, tornNote);
    if (anchor == null) {
      return byLog;
    }
    VerificationResult byAnchor = checkAnchor(st, anchor);
    if (byAnchor != null) {
      return byAnchor;
    }
    return result(st, byLog.status(), null, byLog.firstBadSeq().orElse(0), byLog.message() + "; anchor matches ("
        + anchor.body().kind() + " checkpoint " + anchor.body().seq() + ")");
  }

  /** The verdict from the log alone, once every record verified. */
  private VerificationResult endOfLog(State st, String tornNote) {
    String unchecked = publicKey == null ? "; signatures NOT checked (no public key given): a rewritten, "
        + "re-chained log would look the same" : "";
    String warn = st.findingCount == 0 ? "" : "; WARNING: " + st.findingCount + " record(s) stamped more than "
        + timeTolerance + " before an earlier record (first at seq " + st.findings.get(0).seq() + ")";
    String verified = publicKey == null ? "chain of records 1.." + (st.expected - 1) + " intact"
        : "records 1.." + (st.expected - 1) + " verified";
    if (tornNote != null) {
      return result(st, Status.TORN_TAIL, null, st.expected, tornNote + "; " + verified + sessions(st) + unchecked
          + warn);
    }
    if (st.last == null) {
      return result(st, Status.OPEN, null, 0, "the log holds no records" + unchecked);
    }
    if (st.last.isSeal()) {
      return result(st, Status.SEALED, null, 0, (publicKey == null ? "" : "OK: ") + verified
          + ", sealed at " + Text.time(st.last.time()) + sessions(st) + unchecked + warn);
    }
    return result(st, Status.OPEN, null, 0, verified + ", but no seal follows: the log is still open, its writer "
        + "crashed, or its tail was cut after seq " + st.last.seq() + sessions(st)
        + (publicKey == null ? "" : "; last signed checkpoint: seq " + st.lastSigned) + unchecked + warn);
  }

  private static String sessions(State st) {
    long n = 1 + st.reopens + st.recoveries;
    if (n == 1) {
      return " (one writer session)";
    }
    return " (" + n + " writer sessions: " + st.reopens + " reopen(s) of a sealed log, " + st.recoveries
        + " recovery(ies) after a crash; the last began at seq " + st.session + ")";
  }

  /** Checks the log against its anchor; null if they fit. */
  private VerificationResult checkAnchor(State st, Anchor anchor) {
    Anchor.Body a = anchor.body();
    String named = "the anchor names " + a.kind() + " checkpoint " + a.seq() + " of " + Text.time(a.time());
    if (publicKey != null && !anchor.verifies(publicKey, keyId)) {
      return tampered(st, Problem.ANCHOR_MISMATCH, a.seq(), "the anchor " + anchorFile + " is not signed by the "
          + "given key " + keyId + " (it names key " + a.keyId() + "): it was forged, edited or belongs to another "
          + "log");
    }
    if (a.seq() > 1 && st.firstHash != null && !st.firstHash.equals(a.log())) {
      return tampered(st, Problem.ANCHOR_MISMATCH, 1, named + " of another log (the log's first record differs "
          + "from the one the anchor was written for): the anchor belongs to another log, or the log was replaced");
    }
    long end = st.expected - 1;
    if (a.seq() > end) {
      return tampered(st, Problem.TRUNCATED, end + 1, named + ", but the log ends at seq " + end + ": records "
          + (end + 1) + ".." + a.seq() + " (at least) were cut off");
    }
    boolean same = a.hash().equals(st.atAnchorHash);
    boolean liftedByReopen = !same && a.kind().equals(RecordCodec.SEAL) && st.atAnchor != null
        && st.atAnchor.isKind(RecordCodec.REOPEN) && a.hash().equals(st.atAnchor.checkpoint().lifted());
    if (!same && !liftedByReopen) {
      return tampered(st, Problem.ANCHOR_MISMATCH, a.seq(), named + ", but record " + a.seq() + " of the log is not "
          + "that checkpoint: the log was rewritten from there, or the anchor belongs to another log");
    }
    String place = "file " + a.segment() + " offset " + a.offset();
    if (!place.equals(st.atAnchorPlace)) {
      return tampered(st, Problem.ANCHOR_MISMATCH, a.seq(), named + " at " + place + ", but the log holds it at "
          + st.atAnchorPlace + ": its files were re-split or lines moved");
    }
    if (st.firstCheckpointAfterAnchor > 0) {
      return tampered(st, Problem.ANCHOR_MISMATCH, st.firstCheckpointAfterAnchor, named + ", but the log has later "
          + "checkpoints (seq " + st.firstCheckpointAfterAnchor + " to " + st.lastCheckpointSeq + "): the anchor is "
          + "older than the log; it was replaced by an old copy, or the writer stopped between writing checkpoint "
          + st.firstCheckpointAfterAnchor + " and its anchor");
    }
    return null;
  }

  private static String checkSession(State st, AuditRecord rec) {
    RecordCodec.Checkpoint c = rec.checkpoint();
    if (c.kind().equals(RecordCodec.REOPEN) || c.kind().equals(RecordCodec.RECOVERY)) {
      if (c.session() != rec.seq()) {
        return c.kind() + " record " + rec.seq() + " starts a writer session but names session " + c.session();
      }
      st.session = rec.seq();
      if (c.kind().equals(RecordCodec.REOPEN)) {
        st.reopens++;
      } else {
        st.recoveries++;
      }
      return null;
    }
    if (c.session() != st.session) {
      return c.kind() + " checkpoint " + rec.seq() + " names writer session " + c.session()
          + ", but the session writing it began at seq " + st.session;
    }
    return null;
  }

  private void checkTime(State st, AuditRecord rec) {
    if (st.maxTime != null && rec.time().isBefore(st.maxTime.minus(timeTolerance))) {
      st.findingCount++;
      if (st.findings.size() < MAX_FINDINGS) {
        st.findings.add(new VerificationResult.Finding(VerificationResult.FindingKind.TIME_WENT_BACKWARDS, rec.seq(),
            st.maxTimeSeq, "seq " + rec.seq() + " is stamped " + Text.time(rec.time()) + ", "
            + Duration.between(rec.time(), st.maxTime) + " before seq " + st.maxTimeSeq + " ("
            + Text.time(st.maxTime) + "); tolerance " + timeTolerance));
      }
    }
    if (st.maxTime == null || rec.time().isAfter(st.maxTime)) {
      st.maxTime = rec.time();
      st.maxTimeSeq = rec.seq();
    }
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
      if (earlier != null && !earlier.equals(ChainHash.of(cur.bytes()))) {
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
    if (after != null && !after.prevHash().equals(ChainHash.of(cur.bytes()))) {
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
    if (!AuditKeys.verify(publicKey, RecordCodec.signedBytes(cp.checkpoint()), sig)) {
      return "the signature of checkpoint " + cp.seq() + " does not verify";
    }
    return null;
  }

  private VerificationResult tampered(State st, Problem p, long seq, String message) {
    return result(st, Status.TAMPERED, p, seq, "TAMPERED at seq " + seq + " (" + p + "): " + message);
  }

  private VerificationResult result(State st, Status status, Problem p, long seq, String message) {
    return new VerificationResult(status, p, seq, st.last == null ? 0 : st.last.seq(), st.lastSigned, st.checkpoints,
        publicKey != null, st.anchorGiven, st.findings, message);
  }

  private static final class State {
    final boolean anchorGiven;
    long expected = 1;
    String prevHash = ChainHash.GENESIS;
    AuditRecord last;
    long lastSigned;
    long checkpoints;
    long lastCheckpointSeq;
    /** The seq of the record that opened the current writer session. */
    long session = 1;
    long reopens;
    long recoveries;
    String firstHash;
    AuditRecord atAnchor;
    String atAnchorHash;
    String atAnchorPlace;
    long firstCheckpointAfterAnchor;
    Instant maxTime;
    long maxTimeSeq;
    long findingCount;
    final List<VerificationResult.Finding> findings = new ArrayList<>();
    /** Hashes of the most recent records, to tell a replayed copy from a forged insertion. */
    final java.util.LinkedHashMap<Long, String> recent = new java.util.LinkedHashMap<>(256, 0.75f, false) {
      private static final long serialVersionUID = 1L;

      @Override
      protected boolean removeEldestEntry(java.util.Map.Entry<Long, String> eldest) {
        return size() > 4096;
      }
    };

    State(boolean anchorGiven) {
      this.anchorGiven = anchorGiven;
    }

    void remember(long seq, String hash) {
      recent.put(seq, hash);
    }
  }

  @Override
  public String toString() {
    return "AuditVerifier{" + (keyId == null ? "no signature check" : "keyId=" + keyId)
        + (anchorFile == null ? "" : ", anchor=" + anchorFile) + ", timeTolerance=" + timeTolerance + "}";
  }
}
