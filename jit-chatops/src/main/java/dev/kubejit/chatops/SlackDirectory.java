package dev.kubejit.chatops;

import dev.kubejit.api.Identity;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Maps a Slack workspace (team id) and user id to the {@link Identity} the broker sees: the user
 * name and groups. The chat text never names the speaker; an id this directory does not know is
 * refused.
 *
 * <p>Implementations must be thread-safe.
 */
@FunctionalInterface
public interface SlackDirectory {
  /** The identity of Slack user {@code userId} in workspace {@code teamId}, or empty if unknown. */
  Optional<Identity> lookup(String teamId, String userId);

  /**
   * Reads a directory file (YAML or JSON):
   *
   * <pre>
   * users:
   *   - team: T0123ABCD
   *     user: U0123ABCD
   *     name: alice
   *     groups: [oncall-payments]
   * </pre>
   *
   * Identities are asserted by {@code slack:TEAM}. The file is read once.
   *
   * @throws IllegalArgumentException if the file cannot be read, has unknown fields, a duplicate
   *     (team, user) or an invalid name or group; the message names the entry, never more of the file
   */
  static SlackDirectory fromFile(Path file) {
    return FileSlackDirectory.load(file);
  }
}
