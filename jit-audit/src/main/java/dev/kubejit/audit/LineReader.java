package dev.kubejit.audit;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Reads newline-terminated lines from a sequence of files, remembering where each line came from
 * and whether it was terminated; lines longer than {@link RecordCodec#MAX_LINE_BYTES} are reported
 * as over-long rather than buffered.
 */
final class LineReader implements Closeable {
  /** One line: its bytes (without newline), origin, and whether a newline ended it. */
  record Line(byte[] bytes, Path file, int fileIndex, long lineNo, long offset, boolean terminated, boolean overlong) {
    String where() {
      return file + " line " + lineNo;
    }
  }

  private final List<Path> files;
  private final byte[] chunk = new byte[64 * 1024];
  private int chunkLen;
  private int chunkPos;
  private int fileIndex = -1;
  private InputStream in;
  private long lineNo;
  private long offset;

  LineReader(List<Path> files) {
    this.files = List.copyOf(files);
  }

  /** The next line, or null at the end of the last file. */
  Line next() throws IOException {
    while (true) {
      if (in == null) {
        if (fileIndex + 1 >= files.size()) {
          return null;
        }
        fileIndex++;
        try {
          in = Files.newInputStream(files.get(fileIndex));
        } catch (NoSuchFileException e) {
          throw new AuditFormatException("audit file not found: " + files.get(fileIndex));
        }
        chunkLen = 0;
        chunkPos = 0;
        lineNo = 0;
        offset = 0;
      }
      Line l = readLine();
      if (l != null) {
        return l;
      }
      in.close();
      in = null;
    }
  }

  private Line readLine() throws IOException {
    byte[] buf = new byte[256];
    int len = 0;
    boolean overlong = false;
    long start = offset;
    while (true) {
      if (chunkPos == chunkLen) {
        chunkLen = in.read(chunk);
        chunkPos = 0;
        if (chunkLen <= 0) {
          chunkLen = 0;
          if (len == 0 && offset == start) {
            return null;
          }
          return new Line(Arrays.copyOf(buf, len), files.get(fileIndex), fileIndex, ++lineNo, start, false, overlong);
        }
      }
      int nl = -1;
      for (int i = chunkPos; i < chunkLen; i++) {
        if (chunk[i] == '\n') {
          nl = i;
          break;
        }
      }
      int end = nl < 0 ? chunkLen : nl;
      int n = end - chunkPos;
      if (!overlong) {
        if (len + n > RecordCodec.MAX_LINE_BYTES) {
          overlong = true;
        } else {
          if (len + n > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(len + n, buf.length * 2));
          }
          System.arraycopy(chunk, chunkPos, buf, len, n);
          len += n;
        }
      }
      offset += n;
      chunkPos = end;
      if (nl >= 0) {
        chunkPos++;
        offset++;
        return new Line(Arrays.copyOf(buf, len), files.get(fileIndex), fileIndex, ++lineNo, start, true, overlong);
      }
    }
  }

  int fileCount() {
    return files.size();
  }

  @Override
  public void close() throws IOException {
    if (in != null) {
      in.close();
      in = null;
    }
  }
}
