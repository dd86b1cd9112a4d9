package dev.kubejit.cli;

import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;

/**
 * The client's directory on the engineer's machine ({@code ~/.kubejit}, or {@code $KUBEJIT_HOME},
 * or {@code --home}): {@code config} (where the broker is and how to authenticate), {@code tokens}
 * (the OIDC ID and refresh tokens), {@code keys/} (the engineer's private key and its CSR) and
 * {@code cache/} (certificates per grant). Directories are 0700 and files 0600 from their first byte;
 * files are replaced atomically so a crash never leaves half a token or half a key behind.
 *
 * <p>{@code config} and {@code tokens} are Java properties files (documented in docs/client.md).
 */
final class ClientHome {
  static final String ENV = "KUBEJIT_HOME";
  static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");
  static final Set<PosixFilePermission> DIR = PosixFilePermissions.fromString("rwx------");

  private final Path dir;

  private ClientHome(Path dir) {
    this.dir = dir.toAbsolutePath().normalize();
  }

  /** {@code --home} if given, else {@code $KUBEJIT_HOME}, else {@code ~/.kubejit}. */
  static ClientHome resolve(Path option) {
    return new ClientHome(option != null ? option : defaultDir(System.getenv(ENV)));
  }

  static Path defaultDir(String env) {
    if (env != null && !env.isBlank()) {
      return Path.of(env);
    }
    return Path.of(System.getProperty("user.home"), ".kubejit");
  }

  /** Whether this is the directory a plugin started without options would use. */
  boolean isDefault() {
    return dir.equals(defaultDir(System.getenv(ENV)).toAbsolutePath().normalize());
  }

  Path dir() {
    return dir;
  }

  Path configFile() {
    return dir.resolve("config");
  }

  Path tokensFile() {
    return dir.resolve("tokens");
  }

  Path keysDir() {
    return dir.resolve("keys");
  }

  Path cacheDir() {
    return dir.resolve("cache");
  }

  /** Reads the client configuration; fails with a hint to log in when there is none. */
  Properties config() {
    Properties p = readProperties(configFile());
    if (p == null || p.getProperty("server") == null) {
      throw new CliException("not logged in: no broker configured in " + configFile() + "; run: kubejit login --server URL", 4);
    }
    return p;
  }

  /** The stored tokens, or an empty set. */
  Properties tokens() {
    Properties p = readProperties(tokensFile());
    return p == null ? new Properties() : p;
  }

  void writeConfig(Properties p) {
    writePrivate(configFile(), store(p, "kubejit client configuration (docs/client.md)"));
  }

  void writeTokens(Properties p) {
    writePrivate(tokensFile(), store(p, "kubejit OIDC tokens: secret, keep 0600"));
  }

  /** Creates {@code d} (and parents up to the home directory) with mode 0700 if missing. */
  static Path privateDir(Path d) {
    try {
      if (!Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
        if (d.getParent() != null) {
          Files.createDirectories(d.getParent());
        }
        try {
          Files.createDirectory(d, PosixFilePermissions.asFileAttribute(DIR));
        } catch (FileAlreadyExistsException e) {
          if (!Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
            throw new CliException(d + " exists and is not a directory");
          }
        }
      }
      return d;
    } catch (IOException e) {
      throw new CliException("cannot create the directory " + d + ": " + e.getMessage());
    }
  }

  /**
   * Writes {@code text} to {@code file} with mode 0600: into a new file in the same directory
   * (created 0600, so the content is never readable by others), then renamed over the target.
   */
  static void writePrivate(Path file, String text) {
    privateDir(file.toAbsolutePath().getParent());
    Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp-" + ProcessHandle.current().pid());
    try {
      Files.deleteIfExists(tmp);
      Files.createFile(tmp, PosixFilePermissions.asFileAttribute(FILE));
      Files.writeString(tmp, text, StandardCharsets.UTF_8);
      try {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new CliException("cannot write " + file + ": " + e.getMessage());
    } finally {
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException ignored) {
        // best effort; the temporary file is 0600
      }
    }
  }

  /** Reads a private file, refusing one that others can read (it may hold a token or a key). */
  static String readPrivate(Path file) {
    try {
      Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
      for (PosixFilePermission p : perms) {
        if (p.name().startsWith("GROUP") || p.name().startsWith("OTHERS")) {
          throw new CliException(file + " is readable by others (mode " + PosixFilePermissions.toString(perms)
              + "); run: chmod 600 " + file);
        }
      }
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new CliException("cannot read " + file + ": " + e.getMessage());
    }
  }

  private static Properties readProperties(Path file) {
    if (!Files.exists(file)) {
      return null;
    }
    Properties p = new Properties();
    try (Reader r = new StringReader(readPrivate(file))) {
      p.load(r);
    } catch (IOException | IllegalArgumentException e) {
      throw new CliException(file + " is not a properties file: " + e.getMessage());
    }
    return p;
  }

  private static String store(Properties p, String comment) {
    // sorted, one key a line, so the file reads and diffs well
    StringWriter w = new StringWriter();
    w.write("# " + comment + "\n");
    Map<String, String> sorted = new TreeMap<>();
    p.stringPropertyNames().forEach(k -> sorted.put(k, p.getProperty(k)));
    Properties one = new Properties();
    for (Map.Entry<String, String> e : sorted.entrySet()) {
      one.clear();
      one.setProperty(e.getKey(), e.getValue());
      StringWriter line = new StringWriter();
      try {
        one.store(line, null);
      } catch (IOException impossible) {
        throw new IllegalStateException(impossible);
      }
      line.toString().lines().filter(l -> !l.startsWith("#")).forEach(l -> w.write(l + "\n"));
    }
    return w.toString();
  }

  @Override
  public String toString() {
    return "ClientHome{" + dir + "}";
  }
}
