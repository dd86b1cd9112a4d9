package dev.kubejit.audit;

import static java.util.Objects.requireNonNull;

import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditException;
import dev.kubejit.api.spi.AuditSink;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An {@link AuditSink} that appends hash-chained JSON lines to a file with group commit: a write
 * returns only after its records are on disk ({@code fsync}), and concurrent writers share one
 * {@code fsync}. A synchronous writer that finds no commit running writes and syncs the queued
 * records itself (it leads the group; writers arriving meanwhile wait and the next of them leads
 * the next group), so a lone writer pays no hand-off to another thread; the sink's writer thread
 * commits only what {@link #appendAsync} queued while no one else was committing.
 *
 * <p>Files are created with mode 0600 and rolled by size ({@code audit.jsonl}, {@code
 * audit.jsonl.2}, ...); the chain and sequence numbers continue across files and across restarts.
 * With a signing key, a signed checkpoint is appended every {@code checkpointEvery} records and a
 * signed seal on {@link #close()}. Reopening a sealed log lifts its seal: the seal line (always the
 * last line) is replaced by a signed {@code reopen} record that carries the seal's hash, so a log
 * holds at most one seal, at its end, and a copy cut back to where an earlier session ended does
 * not end with a seal. On open, a log whose writer crashed gets a recovery checkpoint; a torn last
 * line (a write interrupted by the crash, never acknowledged) is refused unless {@link
 * Builder#truncateTornTail()} was chosen. With {@link Builder#anchor(Path)} a signed anchor naming
 * the latest checkpoint is kept in a second file, checked on open and by the verifier. A write
 * that cannot be made durable throws {@link AuditException} and is not recorded: after an I/O error
 * (a full disk) the log is cut back to its last acknowledged record and synced, so later writes try
 * again and succeed once space returns; if that cut fails, or after any other failure, this and
 * every later write throw (fail closed). See {@code docs/audit.md}.
 */
public final class FileAuditSink implements AuditSink, AutoCloseable {
  static final long DEFAULT_MAX_FILE_SIZE = 64L << 20;
  static final int DEFAULT_CHECKPOINT_EVERY = 1000;
  static final Set<PosixFilePermission> OWNER_RW = PosixFilePermissions.fromString("rw-------");
  private static final FileAttribute<Set<PosixFilePermission>> OWNER_RW_ATTR = PosixFilePermissions.asFileAttribute(OWNER_RW);
  private static final int TAIL_WINDOW = 2 * RecordCodec.MAX_LINE_BYTES + 2;

  private final Path base;
  private final PrivateKey signingKey;
  private final PublicKey publicKey;
  private final String keyId;
  private final Path anchorFile;
  private final boolean adoptUnanchored;
  private final int checkpointEvery;
  private final long maxFileSize;
  private final Clock clock;

  private final ReentrantLock lock = new ReentrantLock();
  /** Signalled for the writer thread: asynchronous work queued with no commit running, or closing. */
  private final Condition hasWork = lock.newCondition();
  /** Signalled when a group commit ends: its writers are done, and a waiting writer may lead the next. */
  private final Condition committed = lock.newCondition();
  private final ArrayDeque<Pending> queue = new ArrayDeque<>();
  /** True while one thread (a synchronous writer or the writer thread) commits a group; guarded by lock. */
  private boolean committing;
  private boolean closed;
  private volatile AuditException failure;
  private volatile long lastSeq;
  private Thread writer;

  // Owned by the thread that holds the commit (committing, handed over under lock), and by
  // open/close, which run before any commit and after the last.
  private final FileChannel lockChannel;
  private FileLock fileLock;
  private FileChannel channel;
  /** The current segment as a RandomAccessFile (channel is its channel): appends and syncs go
   * through it, because its write and sync are not interruptible. A FileChannel closes itself when
   * the calling thread is interrupted, and commits run on callers' threads (the group's leader). */
  private RandomAccessFile segmentFile;
  private int segment;
  private long segmentSize;
  private long nextSeq;
  private String prevHash;
  private int sinceCheckpoint;
  /** The seq of the record that opened this writer session (1, or its reopen/recovery record). */
  private long session = 1;
  /** SHA-256 of the log's first line (null while the log is empty). */
  private String logId;
  /** The anchor to write once the checkpoint it names is durable. */
  private Anchor.Body pendingAnchor;
  /** The highest segment created by this sink during the current commit (a roll-back deletes up to it). */
  private int createdSegment;
  /** While set, lines stay in the current file even past maxFileSize (a reopen takes its seal's place). */
  private boolean holdSegment;
  private final ByteArrayOutputStream buf = new ByteArrayOutputStream(64 * 1024);

  private static final class Pending {
    final List<AuditEvent> events;
    /** Completed once the outcome is known, for {@link #appendAsync}; null for {@link #append}. */
    final CompletableFuture<Long> future;
    long lastSeq;
    String error;
    Throwable cause;
    boolean done;

    Pending(List<AuditEvent> events, CompletableFuture<Long> future) {
      this.events = events;
      this.future = future;
    }
  }

  private FileAuditSink(Builder b) {
    this.base = b.base;
    this.signingKey = b.signingKey;
    this.publicKey = b.publicKey;
    this.keyId = b.keyId;
    this.anchorFile = b.anchorFile;
    this.adoptUnanchored = b.adoptUnanchored;
    this.checkpointEvery = b.checkpointEvery == null ? DEFAULT_CHECKPOINT_EVERY : b.checkpointEvery;
    this.maxFileSize = b.maxFileSize == null ? DEFAULT_MAX_FILE_SIZE : b.maxFileSize;
    this.clock = b.clock == null ? Clock.systemUTC() : b.clock;
    FileChannel lc = null;
    try {
      Path dir = base.toAbsolutePath().getParent();
      Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      if (anchorFile != null) {
        Files.createDirectories(anchorFile.toAbsolutePath().getParent(),
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      }
      Path lockFile = base.resolveSibling(base.getFileName() + ".lock");
      lc = FileChannel.open(lockFile, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE), OWNER_RW_ATTR);
      try {
        fileLock = lc.tryLock();
      } catch (OverlappingFileLockException e) {
        fileLock = null;
      }
      if (fileLock == null) {
        throw new AuditException("audit log " + base + " is already open in another sink (lock " + lockFile + ")");
      }
      this.lockChannel = lc;
      resume(b.truncateTornTail);
    } catch (IOException | RuntimeException e) {
      closeQuietly(channel);
      closeQuietly(lc);
      if (e instanceof AuditException) {
        throw (AuditException) e;
      }
      throw new AuditException("cannot open audit log " + base + ": " + e, e);
    }
    writer = new Thread(this::writerLoop, "kubejit-audit-writer[" + base.getFileName() + "]");
    writer.setDaemon(true);
    writer.start();
  }

  /**
   * The files of the logs that {@code paths} name, in order: each path (a log's base file or any
   * of its numbered segments) stands for every segment of its log, so {@code audit.jsonl} and a
   * shell glob {@code audit.jsonl*} both give {@code audit.jsonl, audit.jsonl.2, ...}.
   */
  public static List<Path> files(List<Path> paths) {
    return Segments.expand(List.copyOf(paths));
  }

  /** Starts a builder for a log whose first file is {@code base} (for example {@code audit.jsonl}). */
  public static Builder builder(Path base) {
    return new Builder(requireNonNull(base, "base"));
  }

  /**
   * Appends the events in order and returns once they are durable.
   *
   * @throws AuditException if the sink is closed, failed earlier, or cannot make them durable
   */
  @Override
  public void write(List<AuditEvent> events) {
    append(events);
  }

  /**
   * Appends the events in order, returns once they are durable, and returns the sequence number of
   * the last one (the current last sequence number for an empty list).
   *
   * @throws AuditException if the sink is closed, failed earlier, or cannot make them durable
   */
  public long append(List<AuditEvent> events) {
    requireNonNull(events, "events");
    if (Thread.currentThread() == writer) {
      throw new IllegalStateException("append called on the audit writer thread (from a stage of appendAsync's "
          + "future) would wait for itself; use an asynchronous stage or appendAsync");
    }
    List<AuditEvent> copy = List.copyOf(events); // rejects null elements
    Pending p = new Pending(copy, null);
    boolean interrupted = false;
    lock.lock();
    try {
      checkUsable();
      if (copy.isEmpty()) {
        return lastSeq;
      }
      queue.add(p);
      while (!p.done) {
        if (!committing) {
          // No group is being committed, so p is still queued: lead a group that includes it.
          List<Pending> batch = takeQueue();
          lock.unlock();
          try {
            commitGroup(batch);
          } finally {
            lock.lock();
          }
          continue; // p is done now (it was in the group)
        }
        try {
          committed.await();
        } catch (InterruptedException e) {
          interrupted = true; // an acknowledgement must mean durable: keep waiting for the outcome
        }
      }
    } finally {
      lock.unlock();
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
    if (p.error != null) {
      throw new AuditException(p.error, p.cause);
    }
    return p.lastSeq;
  }

  /**
   * Appends the events in order without waiting: the returned future completes with the sequence
   * number of the last one once they are durable (with the current last sequence number for an
   * empty list), or exceptionally with an {@link AuditException} if the sink is closed, failed
   * earlier, or cannot make them durable; in that case nothing of them is acknowledged. Batches
   * are written in the order of the calls, and one writer with many records in flight shares each
   * {@code fsync} among them as concurrent writers do.
   *
   * <p>The future is completed on the thread that committed it: the sink's writer thread, or a
   * thread whose synchronous {@link #append} led that group commit. Stages that call {@link
   * #append} or block on this sink must be asynchronous ({@code thenApplyAsync}...): on the writer
   * thread {@link #append} throws {@link IllegalStateException} rather than wait for itself.
   *
   * @throws NullPointerException if {@code events} or one of them is null
   */
  public CompletableFuture<Long> appendAsync(List<AuditEvent> events) {
    requireNonNull(events, "events");
    List<AuditEvent> copy = List.copyOf(events); // rejects null elements
    CompletableFuture<Long> f = new CompletableFuture<>();
    lock.lock();
    try {
      checkUsable();
      if (copy.isEmpty()) {
        f.complete(lastSeq);
        return f;
      }
      queue.add(new Pending(copy, f));
      if (!committing) {
        hasWork.signal(); // otherwise the running commit's end hands the queue on
      }
    } catch (AuditException e) {
      f.completeExceptionally(e);
    } finally {
      lock.unlock();
    }
    return f;
  }

  /** The sequence number of the last durable record (0 for an empty log). */
  public long lastSeq() {
    return lastSeq;
  }

  /** The log's base path (its first file). */
  public Path path() {
    return base;
  }

  /**
   * Writes pending records, appends a seal (signed when a key is configured), updates the anchor
   * if one is configured, and closes the files; later writes throw {@link AuditException}.
   * Idempotent.
   *
   * @throws AuditException if the seal cannot be made durable
   */
  @Override
  public void close() {
    lock.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      hasWork.signalAll();
    } finally {
      lock.unlock();
    }
    // The writer thread ends once the queue is empty and no group is being committed: writers
    // queued before closing are committed first, and nobody can queue after it.
    boolean interrupted = false;
    while (writer.isAlive()) {
      try {
        writer.join();
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    int ackedSegment = segment;
    long ackedSize = segmentSize;
    createdSegment = segment;
    boolean anchoring = false;
    try {
      if (failure == null) {
        checkpoint(RecordCodec.SEAL, null, null);
        flush();
        anchoring = true;
        writePendingAnchor();
      }
    } catch (IOException | RuntimeException e) {
      String message = "cannot seal audit log " + segmentPath() + ": " + e;
      if (e instanceof IOException && !anchoring) {
        try { // no torn seal: the log ends at its last record, unsealed, and the next open recovers it
          rollBack(ackedSegment, ackedSize);
          message += "; the log ends unsealed at its last acknowledged record";
        } catch (IOException | RuntimeException cut) {
          e.addSuppressed(cut);
        }
      }
      failure = new AuditException(message, e);
      throw failure;
    } finally {
      closeQuietly(channel);
      try {
        fileLock.release();
      } catch (IOException e) {
        // released when the channel closes
      }
      closeQuietly(lockChannel);
    }
  }

  @Override
  public String toString() {
    return "FileAuditSink{" + base + ", lastSeq=" + lastSeq + (keyId == null ? ", unsigned" : ", keyId=" + keyId)
        + (anchorFile == null ? "" : ", anchor=" + anchorFile) + (failure != null ? ", FAILED" : closed ? ", closed" : "") + "}";
  }

  private void checkUsable() {
    if (failure != null) {
      throw new AuditException("audit log " + base + " failed earlier; refusing to record (" + failure.getMessage() + ")",
          failure);
    }
    if (closed) {
      throw new AuditException("audit sink for " + base + " is closed");
    }
  }

  // ---------------------------------------------------------------- writer thread

  /** The writer thread: commits what {@link #appendAsync} queued while no commit was running. */
  private void writerLoop() {
    while (true) {
      List<Pending> batch;
      lock.lock();
      try {
        while (queue.isEmpty() || committing) {
          if (closed && queue.isEmpty() && !committing) {
            return;
          }
          hasWork.awaitUninterruptibly();
        }
        batch = takeQueue();
      } finally {
        lock.unlock();
      }
      commitGroup(batch);
    }
  }

  /** Takes every queued batch as one group and claims the commit; call holding the lock with no commit running. */
  private List<Pending> takeQueue() {
    committing = true;
    List<Pending> batch = new ArrayList<>(queue);
    queue.clear();
    return batch;
  }

  /**
   * Commits a group taken by {@link #takeQueue} (call without the lock), then releases the commit
   * and reports the outcome to its writers. Never leaves a writer waiting: on an Error, fails
   * closed, fails everything queued, releases the commit and rethrows.
   */
  private void commitGroup(List<Pending> batch) {
    try {
      commit(batch);
    } catch (Throwable t) {
      failure = new AuditException("audit writer for " + base + " failed: " + t, t);
      lock.lock();
      try {
        batch.addAll(queue); // writers that queued before seeing the failure
        queue.clear();
      } finally {
        lock.unlock();
      }
      for (Pending p : batch) {
        if (p.error == null) {
          p.error = failure.getMessage();
          p.cause = t;
        }
      }
      finish(batch);
      throw t;
    }
    finish(batch);
  }

  /** Marks the group done and releases the commit, then completes its futures outside the lock. */
  private void finish(List<Pending> batch) {
    lock.lock();
    try {
      for (Pending p : batch) {
        p.done = true;
      }
      committing = false;
      committed.signalAll(); // the group's writers return; a queued synchronous writer leads next
      if (!queue.isEmpty() || closed) {
        hasWork.signal(); // asynchronous work queued meanwhile, or close() waiting for the writer thread
      }
    } finally {
      lock.unlock();
    }
    for (Pending p : batch) { // outside the lock: a future's stages run here
      if (p.future != null) {
        if (p.error != null) {
          p.future.completeExceptionally(new AuditException(p.error, p.cause));
        } else {
          p.future.complete(p.lastSeq);
        }
      }
    }
  }

  /** Encodes, appends and fsyncs a group of batches; records the outcome on each, never throws. */
  private void commit(List<Pending> batch) {
    if (failure != null) {
      for (Pending p : batch) {
        p.error = "audit log " + base + " failed earlier; refusing to record (" + failure.getMessage() + ")";
        p.cause = failure;
      }
      return;
    }
    // Where the last acknowledged record ends: a group that cannot be made durable is cut back to it.
    int ackedSegment = segment;
    long ackedSize = segmentSize;
    long ackedNextSeq = nextSeq;
    String ackedPrevHash = prevHash;
    int ackedSinceCheckpoint = sinceCheckpoint;
    String ackedLogId = logId;
    Anchor.Body ackedAnchor = pendingAnchor;
    createdSegment = segment;
    boolean anchoring = false;
    try {
      for (Pending p : batch) {
        List<byte[]> lines = new ArrayList<>(p.events.size());
        long s = nextSeq;
        String h = prevHash;
        try {
          for (AuditEvent e : p.events) {
            byte[] line = RecordCodec.eventLine(s, e, h);
            if (line.length > RecordCodec.MAX_LINE_BYTES) {
              throw new IllegalArgumentException("event " + e.id() + " encodes to " + line.length
                  + " bytes, more than the limit of " + RecordCodec.MAX_LINE_BYTES);
            }
            lines.add(line);
            h = ChainHash.of(line);
            s++;
          }
        } catch (RuntimeException e) {
          p.error = "cannot record audit events: " + e.getMessage();
          p.cause = e;
          continue;
        }
        if (nextSeq == 1 && !lines.isEmpty()) {
          logId = ChainHash.logId(lines.get(0));
        }
        for (byte[] line : lines) {
          appendLine(line);
        }
        nextSeq = s;
        prevHash = h;
        p.lastSeq = s - 1;
        sinceCheckpoint += lines.size();
        if (signingKey != null && sinceCheckpoint >= checkpointEvery) {
          checkpoint(RecordCodec.PERIODIC, null, null);
        }
      }
      flush();
      anchoring = true;
      writePendingAnchor();
      lastSeq = nextSeq - 1;
    } catch (IOException | RuntimeException e) {
      // Nothing of this group is acknowledged, whatever reached the disk. After an I/O error (a full
      // disk: ENOSPC) the log is cut back to its last acknowledged byte, so it stays a valid chain
      // and the next write tries again; if that cut fails, or the error came from elsewhere, or an
      // anchor naming this group's checkpoint may already be on disk, the sink fails closed.
      String message = "cannot write audit log " + segmentPath() + ": " + e;
      if (e instanceof IOException && !anchoring) {
        try {
          rollBack(ackedSegment, ackedSize);
          nextSeq = ackedNextSeq;
          prevHash = ackedPrevHash;
          sinceCheckpoint = ackedSinceCheckpoint;
          logId = ackedLogId;
          pendingAnchor = ackedAnchor;
          message += "; nothing of this write was recorded: the log was cut back to its last acknowledged record (seq "
              + (ackedNextSeq - 1) + ") and the next write tries again";
        } catch (IOException | RuntimeException cut) {
          e.addSuppressed(cut);
          failure = new AuditException(message + "; cutting the log back to its last acknowledged record (seq "
              + (ackedNextSeq - 1) + ") failed too (" + cut + "), so every later write is refused", e);
        }
      } else {
        failure = new AuditException(message, e);
      }
      for (Pending p : batch) {
        if (p.error == null) {
          p.error = failure != null ? failure.getMessage() : message;
          p.cause = e;
        }
      }
    }
  }

  /**
   * Cuts the log back to {@code size} bytes of segment {@code toSegment} and makes the cut durable:
   * buffered lines are dropped, segments this group created are deleted, the file is truncated
   * and synced. Non-interruptible like the appends ({@link RandomAccessFile} calls).
   */
  private void rollBack(int toSegment, long size) throws IOException {
    buf.reset();
    if (segment != toSegment || !channel.isOpen()) {
      closeQuietly(channel);
      boolean deleted = false;
      for (int n = createdSegment; n > toSegment; n--) { // only files this group created, never another's
        deleted |= Files.deleteIfExists(Segments.segment(base, n));
      }
      if (deleted) {
        syncDirectory(base);
      }
      channel = openSegment(Segments.segment(base, toSegment));
      segment = toSegment;
      createdSegment = toSegment;
    }
    segmentFile.setLength(size);
    segmentFile.getFD().sync();
    segmentFile.seek(size);
    segmentSize = size;
  }

  /**
   * Appends a checkpoint (signed when a key is configured) to the buffer and, with an anchor
   * configured, remembers the anchor to write once it is durable.
   */
  private void checkpoint(String kind, RecordCodec.TornNote torn, String lifted) throws IOException {
    Instant t = clock.instant();
    if (kind.equals(RecordCodec.RECOVERY) || kind.equals(RecordCodec.REOPEN)) {
      session = nextSeq;
    }
    RecordCodec.Checkpoint c = new RecordCodec.Checkpoint(nextSeq, t, kind, session, keyId, lifted, torn, prevHash);
    byte[] sig = signingKey == null ? null : AuditKeys.sign(signingKey, RecordCodec.signedBytes(c));
    byte[] line = RecordCodec.checkpointLine(c, sig);
    long offset = appendLine(line);
    String hash = ChainHash.of(line);
    if (nextSeq == 1) {
      logId = hash;
    }
    if (anchorFile != null) {
      pendingAnchor = new Anchor.Body(logId, nextSeq, t, kind, segment, offset, prevHash, hash, keyId);
    }
    nextSeq++;
    prevHash = hash;
    sinceCheckpoint = 0;
  }

  /** Replaces the anchor file once the checkpoint it names is on disk (call after {@link #flush()}). */
  private void writePendingAnchor() throws IOException {
    if (pendingAnchor != null) {
      Anchor.Body a = pendingAnchor;
      pendingAnchor = null;
      Anchor signed = Anchor.sign(a, signingKey);
      uninterruptibly(() -> signed.writeAtomically(anchorFile)); // rewrites a temporary file: repeatable
    }
  }

  /** Buffers a line (rolling to a new file first if it would not fit) and returns its offset in its file. */
  private long appendLine(byte[] line) throws IOException {
    long used = segmentSize + buf.size();
    if (!holdSegment && used > 0 && used + line.length + 1 > maxFileSize) {
      flush();
      channel.close();
      segment++;
      channel = createSegment(Segments.segment(base, segment));
      segmentSize = 0;
    }
    long offset = segmentSize + buf.size();
    buf.write(line);
    buf.write('\n');
    return offset;
  }

  private void flush() throws IOException {
    if (buf.size() == 0) {
      return;
    }
    byte[] bytes = buf.toByteArray();
    buf.reset();
    segmentFile.write(bytes); // at the file position, which channel.position(...) set: one descriptor
    segmentFile.getFD().sync();
    segmentSize += bytes.length;
  }

  private Path segmentPath() {
    return Segments.segment(base, Math.max(segment, 1));
  }

  // ---------------------------------------------------------------- opening and resuming

  private FileChannel createSegment(Path file) throws IOException {
    Files.createFile(file, OWNER_RW_ATTR); // fails if it exists
    createdSegment = segment;
    Files.setPosixFilePermissions(file, OWNER_RW);
    FileChannel c = openSegment(file);
    syncDirectory(file);
    return c;
  }

  /** Opens a segment for reading and appending; sets {@link #segmentFile} and returns its channel. */
  private FileChannel openSegment(Path file) throws IOException {
    segmentFile = new RandomAccessFile(file.toFile(), "rw");
    return segmentFile.getChannel();
  }

  interface IoAction {
    void run() throws IOException;
  }

  /**
   * Runs a repeatable I/O action on channels of its own, repeating it if the calling thread's
   * interrupt closed its channel; the interrupt status is restored afterwards. Commits run on
   * callers' threads, and an interrupted caller must not fail the sink for everyone.
   */
  static void uninterruptibly(IoAction action) throws IOException {
    boolean interrupted = false;
    try {
      while (true) {
        try {
          action.run();
          return;
        } catch (ClosedByInterruptException e) {
          interrupted = true;
          Thread.interrupted(); // clear, repeat, restore below
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  static void syncDirectory(Path file) throws IOException {
    uninterruptibly(() -> {
      try (FileChannel d = FileChannel.open(file.toAbsolutePath().getParent(), StandardOpenOption.READ)) {
        d.force(true);
      }
    });
  }

  /**
   * Finds the head of an existing log (last record's seq and hash) or starts a new one; checks the
   * anchor; lifts a seal (replacing it by a reopen record) or writes a recovery record. Every
   * refusal happens before anything is changed.
   */
  private void resume(boolean truncateTorn) throws IOException {
    Anchor anchor = readAnchor();
    TreeMap<Integer, Path> segs = Segments.existing(base);
    if (segs.isEmpty()) {
      if (anchor != null) {
        throw new AuditException("refusing to start a new audit log at " + base + ": the anchor " + anchorFile
            + " shows this log reached seq " + anchor.body().seq() + "; the log was deleted or moved. Restore it, or "
            + "move the anchor away if the log was retired on purpose");
      }
      segment = 1;
      channel = createSegment(base);
      nextSeq = 1;
      prevHash = ChainHash.GENESIS;
      return;
    }
    int expected = 1;
    for (int n : segs.keySet()) {
      if (n != expected) {
        throw new AuditException("audit log " + base + " is missing segment " + Segments.segment(base, expected)
            + " (found " + segs.values() + "); run 'kubejit audit verify' and restore it before writing");
      }
      expected++;
    }
    segment = segs.lastKey();
    Path last = segs.lastEntry().getValue();
    channel = openSegment(last);
    Tail tail = readTail(channel, last);
    Tail head = tail;
    if (tail.line == null && segment > 1) {
      Path previous = segs.get(segment - 1);
      try (FileChannel pc = FileChannel.open(previous, StandardOpenOption.READ)) {
        head = readTail(pc, previous);
      }
      if (head.tornLength > 0 || head.line == null) {
        throw new AuditException("cannot resume audit log: " + previous + " does not end with a complete record");
      }
    }
    AuditRecord r = null;
    if (head.line != null) {
      try {
        r = RecordCodec.parse(head.line, head.line.length);
      } catch (AuditFormatException e) {
        throw new AuditException("cannot resume audit log: the last record of " + head.file + " is invalid ("
            + e.getMessage() + "); run 'kubejit audit verify'", e);
      }
    }
    if (r != null && r.isCheckpoint() && !Objects.equals(r.keyId().orElse(null), keyId)) {
      throw new AuditException("refusing to continue audit log " + base + ": its last checkpoint (seq " + r.seq()
          + ") is " + r.keyId().map(k -> "signed with key " + k).orElse("unsigned") + ", but this sink "
          + (keyId == null ? "writes unsigned checkpoints" : "signs with key " + keyId)
          + "; a log is verified against one key");
    }
    if (r != null && r.isSeal() && !head.file.equals(last)) {
      throw new AuditException("cannot resume audit log: " + last + " is empty but " + head.file
          + " ends with a seal; the sink never writes that; run 'kubejit audit verify'");
    }
    boolean liftedNotReplaced = false;
    if (anchorFile != null) {
      if (anchor != null) {
        liftedNotReplaced = checkAnchor(anchor, segs, last, tail, head, r);
      } else if ((r != null || tail.tornLength > 0) && !adoptUnanchored) {
        throw new AuditException("refusing to continue audit log " + base + ": its anchor " + anchorFile
            + " is missing (deleted?), so a cut of the log could not be told. If this log never had an anchor, "
            + "verify it and open it once with adoptUnanchoredLog()");
      }
    }
    RecordCodec.TornNote torn = null;
    if (tail.tornLength > 0) {
      if (!truncateTorn) {
        throw new AuditException("the last line of " + last + " is torn (" + tail.tornLength + " bytes at offset "
            + tail.tornOffset + " without a newline: a write interrupted by a crash, never acknowledged); "
            + "verify the log, then reopen with truncateTornTail() to move those bytes to a side file");
      }
      torn = saveAndCut(last, tail);
    }
    if (r == null) {
      nextSeq = 1;
      prevHash = ChainHash.GENESIS;
    } else {
      nextSeq = r.seq() + 1;
      prevHash = ChainHash.of(head.line);
      byte[] first = readLineAt(segs.get(1), 0);
      logId = first == null ? null : ChainHash.logId(first);
    }
    segmentSize = channel.size();
    channel.position(segmentSize);
    lastSeq = nextSeq - 1;
    if (r != null && r.isSeal()) {
      lift(head, r, torn);
    } else if (liftedNotReplaced) {
      // A reopen lifted the anchored seal but stopped before writing its reopen record: finish it.
      holdSegment = true;
      try {
        checkpoint(RecordCodec.REOPEN, torn, anchor.body().hash());
      } finally {
        holdSegment = false;
      }
    } else if (r != null || torn != null) {
      // The previous writer did not close cleanly: sign what it left, and say so in the log.
      checkpoint(RecordCodec.RECOVERY, torn, null);
    }
    flush();
    writePendingAnchor();
    lastSeq = nextSeq - 1;
  }

  /**
   * Replaces the seal at the end of the log by a reopen record carrying the seal's hash: cut the
   * seal line (fsync), then append the reopen record. A crash in between leaves a log ending just
   * before the seal, which the next open finishes (with an anchor) or treats as a crash.
   */
  private void lift(Tail head, AuditRecord seal, RecordCodec.TornNote torn) throws IOException {
    String sealHash = ChainHash.of(head.line);
    channel.truncate(head.lineOffset);
    channel.force(true);
    segmentSize = head.lineOffset;
    channel.position(segmentSize);
    nextSeq = seal.seq();
    prevHash = seal.prevHash();
    if (nextSeq == 1) {
      logId = null;
    }
    holdSegment = true; // the reopen record takes the seal's place, in the seal's file
    try {
      checkpoint(RecordCodec.REOPEN, torn, sealHash);
    } finally {
      holdSegment = false;
    }
  }

  private Anchor readAnchor() {
    if (anchorFile == null || !Files.exists(anchorFile)) {
      return null;
    }
    Anchor a = Anchor.read(anchorFile);
    if (!a.verifies(publicKey, keyId)) {
      throw new AuditException("refusing to open audit log " + base + ": the anchor " + anchorFile
          + " is not signed by this sink's key " + keyId + " (it names key " + a.body().keyId()
          + "): it was replaced or belongs to another log");
    }
    return a;
  }

  /**
   * Checks that the log still holds the anchored checkpoint where the anchor says; returns true
   * if the log ends exactly where the anchored seal was (a reopen cut the seal and stopped before
   * writing its reopen record). Anything else is a cut or a replaced log: refuse.
   */
  private boolean checkAnchor(Anchor anchor, TreeMap<Integer, Path> segs, Path last, Tail tail, Tail head,
      AuditRecord r) throws IOException {
    Anchor.Body a = anchor.body();
    String what = "the anchor " + anchorFile + " names checkpoint " + a.seq() + " (" + a.kind() + ", "
        + Text.time(a.time()) + ") at offset " + a.offset() + " of " + Segments.segment(base, a.segment());
    if (a.seq() > 1) {
      byte[] first = readLineAt(segs.get(1), 0);
      if (first == null || !ChainHash.logId(first).equals(a.log())) {
        throw new AuditException("refusing to open audit log " + base + ": " + what + " of another log (its first "
            + "record differs); the log was replaced, or the anchor belongs to another log");
      }
    }
    Path f = segs.get(a.segment());
    long end = f == null ? -1 : Files.size(f);
    if (f != null && f.equals(last) && tail.tornLength > 0) {
      end = tail.tornOffset;
    }
    if (f != null && a.offset() < end) {
      byte[] line = readLineAt(f, a.offset());
      boolean same = line != null && ChainHash.of(line).equals(a.hash());
      if (!same && line != null && a.kind().equals(RecordCodec.SEAL)) {
        try {
          AuditRecord x = RecordCodec.parse(line, line.length);
          same = x.isKind(RecordCodec.REOPEN) && x.seq() == a.seq() && a.hash().equals(x.checkpoint().lifted());
        } catch (AuditFormatException e) {
          same = false;
        }
      }
      if (!same) {
        throw new AuditException("refusing to open audit log " + base + ": " + what + ", but the log holds another "
            + "record there; it was cut and rewritten, or replaced; run 'kubejit audit verify --anchor'");
      }
      return false;
    }
    if (f != null && f.equals(last) && a.offset() == end && a.kind().equals(RecordCodec.SEAL)) {
      boolean chained = r == null ? a.seq() == 1 && a.prevHash().equals(ChainHash.GENESIS)
          : r.seq() == a.seq() - 1 && ChainHash.of(head.line).equals(a.prevHash());
      if (chained) {
        return true;
      }
    }
    throw new AuditException("refusing to open audit log " + base + ": " + what + ", but the log ends before it "
        + "(at seq " + (r == null ? 0 : r.seq()) + "): it was truncated; restore it before writing");
  }

  /** The line starting at {@code offset} of {@code file} (without its newline), or null if none ends in reach. */
  private static byte[] readLineAt(Path file, long offset) throws IOException {
    try (FileChannel c = FileChannel.open(file, StandardOpenOption.READ)) {
      int want = (int) Math.min(c.size() - offset, RecordCodec.MAX_LINE_BYTES + 1L);
      if (want <= 0) {
        return null;
      }
      byte[] b = new byte[want];
      ByteBuffer bb = ByteBuffer.wrap(b);
      long pos = offset;
      while (bb.hasRemaining()) {
        int n = c.read(bb, pos);
        if (n < 0) {
          break;
        }
        pos += n;
      }
      for (int i = 0; i < bb.position(); i++) {
        if (b[i] == '\n') {
          return Arrays.copyOf(b, i);
        }
      }
      return null;
    }
  }

  private RecordCodec.TornNote saveAndCut(Path file, Tail tail) throws IOException {
    byte[] bytes = new byte[(int) tail.tornLength];
    ByteBuffer bb = ByteBuffer.wrap(bytes);
    long pos = tail.tornOffset;
    while (bb.hasRemaining()) {
      int n = channel.read(bb, pos);
      if (n < 0) {
        throw new IOException("file shrank while reading its torn tail");
      }
      pos += n;
    }
    Path side = file.resolveSibling(file.getFileName() + ".torn-" + tail.tornOffset);
    try (FileChannel sc = FileChannel.open(side, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
        OWNER_RW_ATTR)) {
      ByteBuffer w = ByteBuffer.wrap(bytes);
      while (w.hasRemaining()) {
        sc.write(w);
      }
      sc.force(true);
    } catch (FileAlreadyExistsException e) {
      throw new AuditException("cannot move torn tail of " + file + " aside: " + side + " already exists");
    }
    syncDirectory(side);
    channel.truncate(tail.tornOffset);
    channel.force(true);
    return new RecordCodec.TornNote(file.getFileName().toString(), tail.tornOffset, bytes.length,
        Text.sha256Hex(bytes)); // a digest of the torn bytes, not a chain hash
  }

  /** The last complete line of a file and any bytes after it that no newline ended. */
  private static final class Tail {
    final Path file;
    byte[] line;
    long lineOffset;
    long tornOffset;
    long tornLength;

    Tail(Path file) {
      this.file = file;
    }
  }

  private static Tail readTail(FileChannel c, Path file) throws IOException {
    Tail t = new Tail(file);
    long size = c.size();
    if (size == 0) {
      return t;
    }
    int window = (int) Math.min(size, TAIL_WINDOW);
    long start = size - window;
    byte[] b = new byte[window];
    ByteBuffer bb = ByteBuffer.wrap(b);
    long pos = start;
    while (bb.hasRemaining()) {
      int n = c.read(bb, pos);
      if (n < 0) {
        throw new IOException("file shrank while reading its tail");
      }
      pos += n;
    }
    int lastNl = -1;
    for (int i = window - 1; i >= 0; i--) {
      if (b[i] == '\n') {
        lastNl = i;
        break;
      }
    }
    if (lastNl < window - 1) {
      if (lastNl < 0 && start > 0) {
        throw new AuditException("cannot resume audit log: the end of " + file + " holds more than "
            + window + " bytes without a newline");
      }
      t.tornOffset = start + lastNl + 1;
      t.tornLength = size - t.tornOffset;
    }
    if (lastNl < 0) {
      return t;
    }
    int prevNl = -1;
    for (int i = lastNl - 1; i >= 0; i--) {
      if (b[i] == '\n') {
        prevNl = i;
        break;
      }
    }
    if (prevNl < 0 && start > 0) {
      throw new AuditException("cannot resume audit log: the last record of " + file + " is longer than "
          + RecordCodec.MAX_LINE_BYTES + " bytes");
    }
    t.line = Arrays.copyOfRange(b, prevNl + 1, lastNl);
    t.lineOffset = start + prevNl + 1;
    return t;
  }

  private static void closeQuietly(AutoCloseable c) {
    if (c != null) {
      try {
        c.close();
      } catch (Exception e) {
        // closing after a failure; the failure is what gets reported
      }
    }
  }

  /** Configures a {@link FileAuditSink}; each option may be set once. */
  public static final class Builder {
    private final Path base;
    private PrivateKey signingKey;
    private PublicKey publicKey;
    private String keyId;
    private Path anchorFile;
    private boolean adoptUnanchored;
    private boolean unsigned;
    private Integer checkpointEvery;
    private Long maxFileSize;
    private Clock clock;
    private boolean truncateTornTail;

    private Builder(Path base) {
      this.base = base;
    }

    /**
     * Signs checkpoints and the seal with this Ed25519 key pair.
     *
     * @throws AuditFormatException if the key is not an exportable Ed25519 key
     * @throws IllegalStateException if a key was already set or {@link #withoutSignatures()} chosen
     */
    public Builder signingKey(KeyPair keyPair) {
      requireNonNull(keyPair, "keyPair");
      if (signingKey != null || unsigned) {
        throw new IllegalStateException(unsigned ? "withoutSignatures() was already chosen"
            : "signingKey was already set (keyId " + keyId + ")");
      }
      PrivateKey priv = AuditKeys.toBcPrivate(keyPair.getPrivate());
      String id = AuditKeys.keyId(keyPair.getPublic());
      byte[] probe = "kubejit-audit key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
      if (!AuditKeys.verify(AuditKeys.toBcPublic(keyPair.getPublic()), probe, AuditKeys.sign(priv, probe))) {
        throw new AuditFormatException("the key pair's public key does not match its private key");
      }
      this.signingKey = priv;
      this.publicKey = AuditKeys.toBcPublic(keyPair.getPublic());
      this.keyId = id;
      return this;
    }

    /**
     * Writes no signatures: the hash chain still detects edits, but a rewrite of the whole chain
     * or a cut tail is undetectable. Seal and recovery records are written unsigned.
     *
     * @throws IllegalStateException if a signing key was already set
     */
    public Builder withoutSignatures() {
      if (signingKey != null) {
        throw new IllegalStateException("signingKey was already set (keyId " + keyId + ")");
      }
      this.unsigned = true;
      return this;
    }

    /**
     * Appends a signed checkpoint after every {@code records} records (default 1000).
     *
     * @throws IllegalArgumentException if {@code records} is not positive
     * @throws IllegalStateException if already set
     */
    public Builder checkpointEvery(int records) {
      if (checkpointEvery != null) {
        throw new IllegalStateException("checkpointEvery was already set to " + checkpointEvery);
      }
      if (records < 1) {
        throw new IllegalArgumentException("checkpointEvery must be positive: " + records);
      }
      this.checkpointEvery = records;
      return this;
    }

    /**
     * Starts a new file once the current one would exceed {@code bytes} (default 64 MiB, minimum
     * 4096); a single record larger than that still goes into one file, and a reopen record stays
     * in the file of the seal it replaces (which may then exceed the size by their difference).
     *
     * @throws IllegalArgumentException if {@code bytes} is below 4096
     * @throws IllegalStateException if already set
     */
    public Builder maxFileSize(long bytes) {
      if (maxFileSize != null) {
        throw new IllegalStateException("maxFileSize was already set to " + maxFileSize);
      }
      if (bytes < 4096) {
        throw new IllegalArgumentException("maxFileSize must be at least 4096 bytes: " + bytes);
      }
      this.maxFileSize = bytes;
      return this;
    }

    /**
     * Sets the clock that stamps checkpoints (default: system UTC).
     *
     * @throws IllegalStateException if already set
     */
    public Builder clock(Clock clock) {
      if (this.clock != null) {
        throw new IllegalStateException("clock was already set");
      }
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    /**
     * On open, cut a torn last line (left by a crash mid-write; never acknowledged) instead of
     * refusing to open: its bytes are moved to {@code <file>.torn-<offset>} (0600) and a recovery
     * checkpoint records their offset, length and SHA-256.
     */
    public Builder truncateTornTail() {
      this.truncateTornTail = true;
      return this;
    }

    /**
     * Keeps a signed anchor in {@code file}, replaced atomically after every signed checkpoint
     * (periodic, seal, recovery, reopen) is durable: it names the latest checkpoint, so {@code
     * kubejit audit verify --anchor file} detects a log cut back to an earlier point (even to an
     * earlier seal, with a kept copy of it). Put it in a second location the log's writers cannot
     * rewrite at will (another directory, file system or host). On open the sink refuses a log
     * that no longer holds the anchored checkpoint, a missing log whose anchor exists, and (unless
     * {@link #adoptUnanchoredLog()}) an existing log whose anchor is missing. Needs a signing key.
     *
     * @throws IllegalArgumentException if {@code file} is the log's own file, a segment, or its lock
     * @throws IllegalStateException if already set
     */
    public Builder anchor(Path file) {
      requireNonNull(file, "file");
      if (anchorFile != null) {
        throw new IllegalStateException("anchor was already set to " + anchorFile);
      }
      Path a = file.toAbsolutePath().normalize();
      Path b = base.toAbsolutePath().normalize();
      String name = a.getFileName().toString();
      String baseName = b.getFileName().toString();
      if (a.getParent().equals(b.getParent()) && (name.equals(baseName) || name.startsWith(baseName + "."))) {
        throw new IllegalArgumentException("the anchor " + file + " must not be the log " + base
            + ", one of its segments, side files or its lock; keep it in a second location");
      }
      this.anchorFile = file;
      return this;
    }

    /**
     * With {@link #anchor(Path)}: accept an existing log whose anchor file does not exist yet
     * (the first open of a log that was written without an anchor); the anchor is written by the
     * checkpoint this open appends. Verify the log before.
     */
    public Builder adoptUnanchoredLog() {
      this.adoptUnanchored = true;
      return this;
    }

    /**
     * Opens (or creates) the log and starts its writer thread.
     *
     * @throws IllegalStateException if neither {@link #signingKey} nor {@link #withoutSignatures()}
     *     was chosen, {@link #checkpointEvery} or {@link #anchor} was set without a key, or {@link
     *     #adoptUnanchoredLog()} without an anchor
     * @throws AuditException if the log cannot be opened or resumed
     */
    public FileAuditSink open() {
      if (signingKey == null && !unsigned) {
        throw new IllegalStateException("choose signingKey(...) or withoutSignatures() for " + base);
      }
      if (unsigned && checkpointEvery != null) {
        throw new IllegalStateException("checkpointEvery needs a signing key; withoutSignatures() was chosen");
      }
      if (unsigned && anchorFile != null) {
        throw new IllegalStateException("anchor needs a signing key; withoutSignatures() was chosen");
      }
      if (adoptUnanchored && anchorFile == null) {
        throw new IllegalStateException("adoptUnanchoredLog() needs anchor(...)");
      }
      return new FileAuditSink(this);
    }
  }
}
