package dev.kubejit.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * File helpers that create files owner-only from the start, so secrets are never world-readable.
 */
final class SecureFiles {
  private static final Set<PosixFilePermission> OWNER_RWX =
      PosixFilePermissions.fromString("rwx------");

  private SecureFiles() {}

  /** Creates a fresh 0700 temporary directory. */
  static Path createTempDir(String prefix) {
    try {
      return Files.createTempDirectory(prefix, PosixFilePermissions.asFileAttribute(OWNER_RWX));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Creates a 0700 directory (and parents). */
  static Path createDir(Path dir) {
    try {
      Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(OWNER_RWX));
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Writes {@code content} to a new file created with mode 0600; fails if the file exists, so a
   * secret is never written into a file someone else prepared.
   */
  static Path writePrivate(Path file, String content) {
    try {
      return dev.kubejit.api.OwnerOnlyFiles.createNew(file, content.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }

  /** Deletes a directory tree, best effort. */
  static void deleteTree(Path root) {
    if (root == null || !Files.exists(root)) {
      return;
    }
    try {
      Files.walkFileTree(
          root,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
                throws IOException {
              Files.deleteIfExists(file);
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc)
                throws IOException {
              Files.deleteIfExists(dir);
              return FileVisitResult.CONTINUE;
            }
          });
    } catch (IOException e) {
      // Best effort: a leftover temp dir is not worth failing a test run for.
    }
  }
}
