package dev.kubejit.audit;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/** Reads and rewrites audit files line by line, the way an attacker with a text editor would. */
final class LogFiles {
  private LogFiles() {}

  static List<String> lines(Path file) {
    try {
      return new ArrayList<>(Files.readAllLines(file, UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static void write(Path file, List<String> lines) {
    try {
      Files.writeString(file, lines.isEmpty() ? "" : String.join("\n", lines) + "\n", UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** SHA-256 (lower-case hex) of the line's UTF-8 bytes, computed here, not by the code under test. */
  static String sha256(String line) {
    return sha256(line.getBytes(UTF_8));
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  /** Rewrites every prevHash from index {@code from} on so that the chain links again. */
  static void relink(List<String> lines, int from) {
    for (int i = Math.max(from, 1); i < lines.size(); i++) {
      String prev = sha256(lines.get(i - 1));
      lines.set(i, lines.get(i).replaceFirst("\"prevHash\":\"[0-9a-f]{64}\"", "\"prevHash\":\"" + prev + "\""));
    }
  }
}
