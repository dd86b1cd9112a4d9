package dev.kubejit.server;

import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The console story ({@link ConsoleStory}) with the broker provisioning RBAC in the real control
 * plane: the grant detail and "who used either path" show alice's API call from the API server's
 * audit log, joined as {@code kubejit audit correlate} joins it.
 */
@KubeTest
class ConsoleBrowserKubeTest {
  @TempDir Path dir;

  @Test
  void approversAndAuditorsSeeTheApiCallsMadeUnderAGrant(KubeControlPlane cp) throws Exception {
    new ConsoleStory(dir, cp).run();
  }
}
