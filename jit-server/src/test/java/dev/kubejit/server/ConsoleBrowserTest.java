package dev.kubejit.server;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The console story ({@link ConsoleStory}) in headless Chromium against {@code kubejit serve} and the
 * test Keycloak, with a broker that has no clusters: sign-in, approvals, CSRF, escaping, sign-out,
 * the countdown, the requester's view and the forged approval. {@link ConsoleBrowserKubeTest} adds
 * the API server's calls.
 */
class ConsoleBrowserTest {
  @TempDir Path dir;

  @Test
  void approversAndRequestersUseTheConsoleInARealBrowser() throws Exception {
    new ConsoleStory(dir, null).run();
  }
}
