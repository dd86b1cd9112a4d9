package dev.kubejit.credentials;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import dev.kubejit.credentials.internal.Crypto;
import dev.kubejit.credentials.internal.X509Support;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * A kubeconfig for one cluster and one user, authenticating with a client certificate and key or
 * with an {@code exec} credential plugin ({@code client.authentication.k8s.io/v1}); written with
 * mode 0600 because it may hold a private key.
 */
public final class Kubeconfig {
  private final String yaml;
  private final boolean secret;

  private Kubeconfig(String yaml, boolean secret) {
    this.yaml = yaml;
    this.secret = secret;
  }

  /** Returns a builder; server, CA and one authentication method are required. */
  public static Builder builder() {
    return new Builder();
  }

  /** The kubeconfig YAML (contains the private key when built with a client certificate). */
  public String yaml() {
    return yaml;
  }

  /** Writes the kubeconfig to {@code file} with mode 0600 (replacing it). */
  public void writeTo(Path file) {
    Crypto.writePrivate(file, yaml);
  }

  @Override
  public String toString() {
    return "Kubeconfig{" + (secret ? "client certificate, key <redacted>" : "exec plugin") + "}";
  }

  /** Builds a {@link Kubeconfig}. */
  public static final class Builder {
    private String server;
    private String caPem;
    private String cluster = "kubejit";
    private String user = "kubejit";
    private String certPem;
    private String keyPem;
    private String command;
    private List<String> args = List.of();
    private Map<String, String> env = Map.of();

    private Builder() {}

    /** Sets the API server URL ({@code https://...}). */
    public Builder server(String url) {
      URI u;
      try {
        u = URI.create(url);
      } catch (IllegalArgumentException | NullPointerException e) {
        throw new CredentialException("API server URL is malformed: " + Crypto.quote(url));
      }
      if (!"https".equals(u.getScheme()) || u.getHost() == null) {
        throw new CredentialException("API server URL must be https://host[:port]: " + Crypto.quote(url));
      }
      this.server = url;
      return this;
    }

    /** Sets the PEM bundle that verifies the API server. */
    public Builder certificateAuthorityPem(String pem) {
      X509Support.parseCertificates(pem, "API server CA bundle");
      this.caPem = pem;
      return this;
    }

    /**
     * Sets the cluster, user and context names (default {@code kubejit}); the user name follows
     * {@link dev.kubejit.api.PrincipalNames#check}.
     */
    public Builder names(String cluster, String user) {
      this.cluster = Crypto.requireLabel(cluster, "cluster name");
      this.user = Crypto.principal(user, "kubeconfig user name");
      return this;
    }

    /** Authenticates with a client certificate and its PKCS#8 private key. */
    public Builder clientCertificate(String certificatePem, String privateKeyPem) {
      X509Support.parseCertificate(certificatePem, "client certificate");
      Crypto.privateKey(Crypto.singlePemBlock(privateKeyPem, "PRIVATE KEY", "client private key"), "client private key");
      this.certPem = certificatePem;
      this.keyPem = privateKeyPem;
      return this;
    }

    /** Authenticates by running {@code command args...} as an exec credential plugin. */
    public Builder exec(String command, List<String> args, Map<String, String> env) {
      this.command = Crypto.requireLabel(command, "exec command");
      this.args = List.copyOf(args);
      this.env = Map.copyOf(env);
      return this;
    }

    /**
     * Returns the kubeconfig.
     *
     * @throws CredentialException if server, CA or authentication is missing, or both methods were set
     */
    public Kubeconfig build() {
      if (server == null || caPem == null) {
        throw new CredentialException("a kubeconfig needs server(...) and certificateAuthorityPem(...)");
      }
      if ((certPem == null) == (command == null)) {
        throw new CredentialException("a kubeconfig needs exactly one of clientCertificate(...) or exec(...)");
      }
      Map<String, Object> userBody = new LinkedHashMap<>();
      if (certPem != null) {
        userBody.put("client-certificate-data", b64(certPem));
        userBody.put("client-key-data", b64(keyPem));
      } else {
        Map<String, Object> exec = new LinkedHashMap<>();
        exec.put("apiVersion", ExecCredential.V1);
        exec.put("command", command);
        exec.put("args", new ArrayList<>(args));
        List<Map<String, String>> envList = new ArrayList<>();
        env.forEach((k, v) -> envList.add(new LinkedHashMap<>(Map.of("name", k, "value", v))));
        exec.put("env", envList);
        exec.put("interactiveMode", "Never");
        exec.put("provideClusterInfo", false);
        userBody.put("exec", exec);
      }
      Map<String, Object> root = new LinkedHashMap<>();
      root.put("apiVersion", "v1");
      root.put("kind", "Config");
      root.put("clusters", List.of(Map.of("name", cluster, "cluster",
          new LinkedHashMap<>(Map.of("server", server, "certificate-authority-data", b64(caPem))))));
      root.put("users", List.of(Map.of("name", user, "user", userBody)));
      root.put("contexts", List.of(Map.of("name", cluster, "context", new LinkedHashMap<>(Map.of("cluster", cluster, "user", user)))));
      root.put("current-context", cluster);
      DumperOptions o = new DumperOptions();
      o.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
      o.setWidth(Integer.MAX_VALUE);
      return new Kubeconfig(new Yaml(o).dump(root), certPem != null);
    }

    private static String b64(String s) {
      return Base64.getEncoder().encodeToString(requireNonNull(s).getBytes(UTF_8));
    }
  }
}
