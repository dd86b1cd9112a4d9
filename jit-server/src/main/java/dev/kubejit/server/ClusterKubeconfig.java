package dev.kubejit.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;

/**
 * What clients need to know about a configured cluster, read from the broker's kubeconfig for it:
 * the API server URL and its CA bundle (never the broker's own credentials).
 */
final class ClusterKubeconfig {
  private final String server;
  private final String caData;

  private ClusterKubeconfig(String server, String caData) {
    this.server = server;
    this.caData = caData;
  }

  static ClusterKubeconfig read(ServerConfig.Cluster cluster) {
    Path file = cluster.kubeconfig();
    JsonNode root;
    try {
      root = new ObjectMapper(new YAMLFactory()).readTree(Files.readAllBytes(file));
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read kubeconfig " + file + ": " + e.getClass().getSimpleName());
    }
    String context = cluster.context().orElseGet(() -> root.path("current-context").asText(""));
    String clusterName = null;
    for (JsonNode c : root.path("contexts")) {
      if (c.path("name").asText().equals(context)) {
        clusterName = c.path("context").path("cluster").asText(null);
      }
    }
    if (clusterName == null) {
      throw new IllegalArgumentException("kubeconfig " + file + " has no context \"" + context + "\"");
    }
    for (JsonNode c : root.path("clusters")) {
      if (c.path("name").asText().equals(clusterName)) {
        JsonNode cl = c.path("cluster");
        String server = cl.path("server").asText("");
        String data = cl.path("certificate-authority-data").asText("");
        if (data.isEmpty() && cl.hasNonNull("certificate-authority")) {
          Path ca = file.resolveSibling(cl.path("certificate-authority").asText());
          try {
            data = Base64.getEncoder().encodeToString(Files.readString(ca, StandardCharsets.US_ASCII)
                .getBytes(StandardCharsets.US_ASCII));
          } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + ca + ": " + e.getClass().getSimpleName());
          }
        }
        if (server.isEmpty()) {
          throw new IllegalArgumentException("kubeconfig " + file + ": cluster \"" + clusterName + "\" has no server");
        }
        return new ClusterKubeconfig(server, data);
      }
    }
    throw new IllegalArgumentException("kubeconfig " + file + " has no cluster \"" + clusterName + "\"");
  }

  String server() {
    return server;
  }

  String certificateAuthorityData() {
    return caData;
  }
}
