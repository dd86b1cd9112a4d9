package dev.kubejit.api;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OwnerOnlyFilesTest {
  @TempDir Path dir;

  @Test
  void createNewWritesOwnerOnlyAndNeverTouchesAnExistingFile() throws Exception {
    Path f = OwnerOnlyFiles.createNew(dir.resolve("k"), "secret".getBytes(UTF_8));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
    assertEquals("secret", Files.readString(f));
    Path other = dir.resolve("prepared");
    Files.writeString(other, "theirs");
    Files.setPosixFilePermissions(other, PosixFilePermissions.fromString("rw-rw-rw-"));
    assertThrows(FileAlreadyExistsException.class, () -> OwnerOnlyFiles.createNew(other, new byte[] {1}));
    assertEquals("theirs", Files.readString(other));
    assertEquals("rw-rw-rw-", PosixFilePermissions.toString(Files.getPosixFilePermissions(other)));
  }

  @Test
  void replaceWritesOwnerOnlyAndLeavesNoTemporaryFile() throws Exception {
    Path f = dir.resolve("k");
    Files.writeString(f, "old");
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
    OwnerOnlyFiles.replace(f, new byte[] {7, 8});
    assertArrayEquals(new byte[] {7, 8}, Files.readAllBytes(f));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
    try (Stream<Path> files = Files.list(dir)) {
      assertEquals(1, files.count());
    }
  }
}
