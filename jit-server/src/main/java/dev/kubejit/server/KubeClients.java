package dev.kubejit.server;

import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.util.ClientBuilder;
import io.kubernetes.client.util.KubeConfig;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** client-java clients from a kubeconfig and context, or in-cluster; errors never echo credentials. */
final class KubeClients {
  private KubeClients() {}

  static ApiClient fromKubeconfig(Path file, Optional<String> context) {
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      KubeConfig config = KubeConfig.loadKubeConfig(r);
      config.setFile(file.toFile());
      if (context.isPresent() && !config.setContext(context.get())) {
        throw new IllegalArgumentException("kubeconfig " + file + " has no context \"" + context.get() + "\"");
      }
      return ClientBuilder.kubeconfig(config).build();
    } catch (IOException | RuntimeException e) {
      if (e instanceof IllegalArgumentException) {
        throw (IllegalArgumentException) e;
      }
      throw new IllegalArgumentException("cannot load kubeconfig " + file + ": " + e.getClass().getSimpleName());
    }
  }

  static ApiClient inCluster() {
    try {
      return ClientBuilder.cluster().build();
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException("store.kubernetes has no kubeconfig and the in-cluster service account cannot be "
          + "read: " + e.getClass().getSimpleName());
    }
  }
}
