package dev.kubejit.gateway;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;

/**
 * One channel's output in asciicast v2 ({@code https://docs.asciinema.org/manual/asciicast/v2/}):
 * a header line, then one {@code [seconds, "o", text]} event per write (stdout and stderr both, as
 * a terminal shows them). Written as it happens to a 0600 file, hashed as written; {@link #close}
 * returns the SHA-256 of the file's bytes. Timing comes from {@link System#nanoTime}: it is for
 * playback, not evidence (the audit record carries the instants).
 */
final class Recording implements AutoCloseable {
  private final Path file;
  private final OutputStream out;
  private final MessageDigest sha;
  private final long start = System.nanoTime();
  private final StringBuilder pending = new StringBuilder();
  private String digest;

  private Recording(Path file, OutputStream out, MessageDigest sha) {
    this.file = file;
    this.out = out;
    this.sha = sha;
  }

  static Recording create(Path file, Instant startedAt, String title) {
    try {
      Files.createDirectories(file.getParent());
      FileChannel ch = FileChannel.open(file, java.util.Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Recording r = new Recording(file, Channels.newOutputStream(ch), MessageDigest.getInstance("SHA-256"));
      r.line("{\"version\": 2, \"width\": 120, \"height\": 40, \"timestamp\": " + startedAt.getEpochSecond()
          + ", \"title\": " + json(title) + ", \"env\": {\"TERM\": \"dumb\"}}");
      return r;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create recording " + file, e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  Path file() {
    return file;
  }

  /** Records output bytes (UTF-8; a sequence split across writes is kept until it is complete). */
  synchronized void output(byte[] b, int off, int len) {
    if (digest != null || len == 0) {
      return;
    }
    String text = decodeComplete(b, off, len);
    if (!text.isEmpty()) {
      double t = (System.nanoTime() - start) / 1e9;
      line("[" + String.format(java.util.Locale.ROOT, "%.6f", t) + ", \"o\", " + json(text) + "]");
    }
  }

  private byte[] carry = new byte[0];

  private String decodeComplete(byte[] b, int off, int len) {
    byte[] all = new byte[carry.length + len];
    System.arraycopy(carry, 0, all, 0, carry.length);
    System.arraycopy(b, off, all, carry.length, len);
    int end = all.length;
    // Keep back an incomplete UTF-8 sequence at the end (at most 3 bytes).
    int i = end - 1;
    int back = 0;
    while (i >= 0 && back < 3 && (all[i] & 0xC0) == 0x80) {
      i--;
      back++;
    }
    if (i >= 0) {
      int lead = all[i] & 0xFF;
      int need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
      if (need > back + 1) {
        end = i;
      }
    }
    carry = java.util.Arrays.copyOfRange(all, end, all.length);
    return new String(all, 0, end, UTF_8);
  }

  private void line(String s) {
    try {
      byte[] bytes = (s + "\n").getBytes(UTF_8);
      out.write(bytes);
      out.flush();
      sha.update(bytes);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write recording " + file, e);
    }
  }

  /** Closes the file and returns the SHA-256 (hex) of its bytes. */
  @Override
  public synchronized void close() {
    if (digest != null) {
      return;
    }
    if (carry.length > 0) {
      byte[] rest = carry;
      carry = new byte[0];
      double t = (System.nanoTime() - start) / 1e9;
      line("[" + String.format(java.util.Locale.ROOT, "%.6f", t) + ", \"o\", " + json(new String(rest, UTF_8)) + "]");
    }
    digest = HexFormat.of().formatHex(sha.digest());
    try {
      out.close();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot close recording " + file, e);
    }
  }

  synchronized String sha256() {
    if (digest == null) {
      throw new IllegalStateException("recording not closed");
    }
    return digest;
  }

  static String json(String s) {
    StringBuilder b = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"': b.append("\\\""); break;
        case '\\': b.append("\\\\"); break;
        case '\n': b.append("\\n"); break;
        case '\r': b.append("\\r"); break;
        case '\t': b.append("\\t"); break;
        default:
          if (c < 0x20 || c == 0x7f || c == 0x2028 || c == 0x2029) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
      }
    }
    return b.append('"').toString();
  }
}
