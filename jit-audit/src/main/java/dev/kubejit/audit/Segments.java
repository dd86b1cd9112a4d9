package dev.kubejit.audit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Names of a log's files: segment 1 is the base path itself ({@code audit.jsonl}), segment n >= 2
 * is {@code audit.jsonl.n}. Files are never renamed, so rolling is crash-safe and the newest
 * segment is the one with the highest number.
 */
final class Segments {
  private static final Pattern NUMBERED = Pattern.compile("(.+)\\.([1-9][0-9]{0,8})");

  private Segments() {}

  static Path segment(Path base, int n) {
    return n == 1 ? base : base.resolveSibling(base.getFileName() + "." + n);
  }

  /** Existing segments of {@code base}, keyed by number (gaps are the caller's business). */
  static TreeMap<Integer, Path> existing(Path base) {
    TreeMap<Integer, Path> found = new TreeMap<>();
    if (Files.isRegularFile(base)) {
      found.put(1, base);
    }
    Path dir = base.toAbsolutePath().getParent();
    String name = base.getFileName().toString();
    if (dir == null || !Files.isDirectory(dir)) {
      return found;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (Path p : ds) {
        Matcher m = NUMBERED.matcher(p.getFileName().toString());
        if (m.matches() && m.group(1).equals(name) && Files.isRegularFile(p)) {
          int n = Integer.parseInt(m.group(2));
          if (n >= 2) {
            found.put(n, segment(base, n));
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + dir, e);
    }
    return found;
  }

  /** The base path of a segment's file name ({@code audit.jsonl.3} -> {@code audit.jsonl} if that exists). */
  static Path baseOf(Path file) {
    Matcher m = NUMBERED.matcher(file.getFileName().toString());
    if (m.matches() && Integer.parseInt(m.group(2)) >= 2) {
      Path base = file.resolveSibling(m.group(1));
      if (Files.isRegularFile(base)) {
        return base;
      }
    }
    return file;
  }

  /**
   * Expands each path to every segment of its log, in segment order, without duplicates; so
   * {@code verify audit.jsonl} and {@code verify audit.jsonl*} both read the whole log in order.
   */
  static List<Path> expand(List<Path> paths) {
    Set<Path> bases = new LinkedHashSet<>();
    for (Path p : paths) {
      bases.add(baseOf(p));
    }
    List<Path> out = new ArrayList<>();
    for (Path base : bases) {
      TreeMap<Integer, Path> segs = existing(base);
      if (segs.isEmpty()) {
        out.add(base); // let the reader report the missing file
      } else {
        out.addAll(segs.values());
      }
    }
    return out;
  }
}
