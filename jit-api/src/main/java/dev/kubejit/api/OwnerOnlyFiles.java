package dev.kubejit.api;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * The one way KubeJIT writes a secret (private key, signing key, token) to disk: the file has mode
 * 0600 from its first byte, so there is no moment in which another user could open it. Used by
 * every module that writes keys; adapters wrap the {@link IOException} in their own typed error.
 */
public final class OwnerOnlyFiles {
  private static final Set<PosixFilePermission> OWNER_RW = PosixFilePermissions.fromString("rw-------");
  private static final FileAttribute<Set<PosixFilePermission>> OWNER_RW_ATTR =
      PosixFilePermissions.asFileAttribute(OWNER_RW);

  private OwnerOnlyFiles() {}

  /**
   * Creates {@code file} with mode 0600 and writes {@code content}; never touches an existing file,
   * so a secret is never written into a file someone else prepared.
   *
   * @throws FileAlreadyExistsException if the file exists (nothing is changed)
   * @throws IOException if the file cannot be created or written (a partial file is removed)
   */
  public static Path createNew(Path file, byte[] content) throws IOException {
    requireNonNull(content, "content");
    Files.createFile(requireNonNull(file, "file"), OWNER_RW_ATTR);
    try {
      Files.setPosixFilePermissions(file, OWNER_RW); // createFile honours the umask
      Files.write(file, content, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.SYNC);
      return file;
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(file);
      throw e;
    }
  }

  /**
   * Writes {@code content} to {@code file}, replacing it if it exists: a temporary file with mode
   * 0600 is written in the same directory and moved into place atomically where the file system
   * allows, so readers see the old content or the new, never a part.
   *
   * @throws IOException if the file cannot be written (the old content, if any, is left as it was)
   */
  public static Path replace(Path file, byte[] content) throws IOException {
    requireNonNull(content, "content");
    Path dir = requireNonNull(file, "file").toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path tmp = Files.createTempFile(dir, ".kubejit-", ".tmp", OWNER_RW_ATTR);
    try {
      Files.setPosixFilePermissions(tmp, OWNER_RW);
      Files.write(tmp, content, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.SYNC);
      try {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
      Files.setPosixFilePermissions(file, OWNER_RW);
      return file;
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
