package dev.kubejit.policy;

import dev.kubejit.policy.internal.StrictReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Loads {@code kubejit.dev/v1 AccessPolicy} files from JSON, XML or YAML, strictly: unknown fields,
 * wrong types (no coercion), duplicate keys, duplicate role names or rule ids, bad durations, bad
 * regular expressions, DOCTYPEs and YAML anchors are all errors.
 *
 * <p>Stateless and thread-safe. Every failure is a {@link PolicyException} naming the source,
 * line, column and path; no other exception escapes for any input bytes (a fuzz test checks this,
 * so there is deliberately no catch-all that would hide a parser bug).
 */
public final class PolicyLoader {
  private static final Pattern REVISION = Pattern.compile("[A-Za-z0-9._/:@+-]{1,128}");

  private PolicyLoader() {}

  /**
   * Loads a policy file, choosing the format by its extension.
   *
   * @throws PolicyException if the file cannot be read or is not a valid policy
   */
  public static Policy load(Path file) {
    return load(file, null);
  }

  /**
   * Loads a policy file and records {@code revision} (for example a git commit) in every decision.
   *
   * @throws PolicyException if the file cannot be read or is not a valid policy
   * @throws IllegalArgumentException if {@code revision} is not 1-128 characters of [A-Za-z0-9._/:@+-]
   */
  public static Policy load(Path file, String revision) {
    String source = file.toString();
    PolicyFormat format;
    try {
      format = PolicyFormat.ofFileName(file.getFileName().toString());
    } catch (IllegalArgumentException e) {
      throw new PolicyException(source, 0, 0, null, e.getMessage(), null);
    }
    return parse(read(file), format, source, revision);
  }

  /**
   * Parses policy bytes in the given format.
   *
   * @param sourceName the name used in error messages and {@link Policy#source()}
   * @param revision the source revision, or null
   * @throws PolicyException if the bytes are not a valid policy
   * @throws IllegalArgumentException if {@code revision} is malformed
   */
  public static Policy parse(byte[] bytes, PolicyFormat format, String sourceName, String revision) {
    if (revision != null && !REVISION.matcher(revision).matches()) {
      throw new IllegalArgumentException("revision must be 1-128 characters of [A-Za-z0-9._/:@+-]: "
          + Text.quote(revision));
    }
    String source = sourceName == null ? "<policy>" : sourceName;
    try (StrictReader<PolicyException> r = PolicyReader.open(bytes, format, source, PolicyReader.KIND)) {
      Model.Document doc = PolicyReader.read(r);
      return new Policy(doc, source, revision, r.locations());
    }
  }

  static byte[] read(Path file) {
    try {
      if (Files.size(file) > StrictReader.MAX_BYTES) {
        throw new PolicyException(file.toString(), 0, 0, null,
            "file is larger than " + StrictReader.MAX_BYTES + " bytes", null);
      }
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new PolicyException(file.toString(), 0, 0, null, "cannot read file: " + e.getClass().getSimpleName()
          + (e.getMessage() == null ? "" : " " + Text.quote(e.getMessage())), e);
    }
  }
}
