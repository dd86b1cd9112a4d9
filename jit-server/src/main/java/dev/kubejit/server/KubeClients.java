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

  /**
   * The API server's time from the {@code Date} header of a {@code GET /version} (any status: the
   * header is on every answer), rounded down to the second as the header is.
   *
   * @throws IllegalStateException if the API server cannot be reached or sends no valid Date
   */
  static java.time.Instant apiServerTime(ApiClient client) {
    okhttp3.Request request = new okhttp3.Request.Builder().url(client.getBasePath() + "/version").get().build();
    try (okhttp3.Response response = client.getHttpClient().newCall(request).execute()) {
      String date = response.header("Date");
      if (date == null) {
        throw new IllegalStateException("the API server at " + client.getBasePath() + " sent no Date header");
      }
      return java.time.ZonedDateTime.parse(date, java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
    } catch (IOException e) {
      throw new IllegalStateException("cannot reach the API server at " + client.getBasePath() + ": " + e.getClass().getSimpleName());
    } catch (java.time.format.DateTimeParseException e) {
      throw new IllegalStateException("the API server at " + client.getBasePath() + " sent an invalid Date header");
    }
  }
}
