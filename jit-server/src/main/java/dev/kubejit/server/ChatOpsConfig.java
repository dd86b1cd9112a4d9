package dev.kubejit.server;

import java.net.URI;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code chatops} section of {@code kubejit.yaml}: Slack (slash commands, buttons,
 * notifications) and signed webhooks. Secrets are named by file or environment variable, never
 * written here, so {@link #toString()} cannot show one. Reference: {@code docs/chatops.md}.
 */
public final class ChatOpsConfig {
  private final Slack slack;
  private final List<Webhook> webhooks;

  ChatOpsConfig(Slack slack, List<Webhook> webhooks) {
    this.slack = slack;
    this.webhooks = List.copyOf(webhooks);
  }

  /** The Slack app ({@code chatops.slack}), if configured. */
  public Optional<Slack> slack() {
    return Optional.ofNullable(slack);
  }

  /** Signed webhooks ({@code chatops.webhooks}; may be empty). */
  public List<Webhook> webhooks() {
    return webhooks;
  }

  @Override
  public String toString() {
    return "chatops{slack=" + slack + ", webhooks=" + webhooks + "}";
  }

  /** Where a secret comes from: exactly one of a file and an environment variable. */
  public static final class SecretRef {
    private final Path file;
    private final String env;

    SecretRef(Path file, String env) {
      this.file = file;
      this.env = env;
    }

    /** The file whose content (trailing newline removed) is the secret. */
    public Optional<Path> file() {
      return Optional.ofNullable(file);
    }

    /** The environment variable that holds the secret. */
    public Optional<String> env() {
      return Optional.ofNullable(env);
    }

    @Override
    public String toString() {
      return file != null ? "file " + file : "$" + env;
    }
  }

  /** The Slack app: its secrets, the directory of users, the cluster requests are for, and channels. */
  public static final class Slack {
    private final SecretRef signingSecret;
    private final SecretRef botToken;
    private final Path directoryFile;
    private final String cluster;
    private final String defaultChannel;
    private final Map<String, String> roleChannels;
    private final URI apiBaseUrl;
    private final String responseUrlPrefix;

    Slack(SecretRef signingSecret, SecretRef botToken, Path directoryFile, String cluster, String defaultChannel,
        Map<String, String> roleChannels, URI apiBaseUrl, String responseUrlPrefix) {
      this.signingSecret = signingSecret;
      this.botToken = botToken;
      this.directoryFile = directoryFile;
      this.cluster = cluster;
      this.defaultChannel = defaultChannel;
      this.roleChannels = Collections.unmodifiableMap(new LinkedHashMap<>(roleChannels));
      this.apiBaseUrl = apiBaseUrl;
      this.responseUrlPrefix = responseUrlPrefix;
    }

    /** The signing secret ({@code signingSecretFile} or {@code signingSecretEnv}). */
    public SecretRef signingSecret() {
      return signingSecret;
    }

    /** The bot token for posting ({@code botTokenFile} or {@code botTokenEnv}). */
    public SecretRef botToken() {
      return botToken;
    }

    /** The file mapping Slack team and user ids to KubeJIT users and groups ({@code directoryFile}). */
    public Path directoryFile() {
      return directoryFile;
    }

    /** The cluster {@code /jit request} asks for; empty means the only configured cluster. */
    public Optional<String> cluster() {
      return Optional.ofNullable(cluster);
    }

    /** The channel for roles without their own ({@code channels.default}). */
    public String defaultChannel() {
      return defaultChannel;
    }

    /** Channels by role ({@code channels.roles}). */
    public Map<String, String> roleChannels() {
      return roleChannels;
    }

    /** Slack's Web API base URL ({@code apiBaseUrl}, default {@code https://slack.com/api/}). */
    public URI apiBaseUrl() {
      return apiBaseUrl;
    }

    /** The prefix every {@code response_url} must have ({@code responseUrlPrefix}, default {@code https://hooks.slack.com/}). */
    public String responseUrlPrefix() {
      return responseUrlPrefix;
    }

    @Override
    public String toString() {
      return "slack{signing secret " + signingSecret + ", bot token " + botToken + ", directory " + directoryFile
          + ", cluster " + (cluster == null ? "(the only one)" : cluster) + ", default channel " + defaultChannel
          + ", role channels " + roleChannels + ", api " + apiBaseUrl + ", responses under " + responseUrlPrefix + "}";
    }
  }

  /** A signed webhook. */
  public static final class Webhook {
    private final URI url;
    private final SecretRef secret;

    Webhook(URI url, SecretRef secret) {
      this.url = url;
      this.secret = secret;
    }

    /** Where notifications are posted ({@code url}). */
    public URI url() {
      return url;
    }

    /** The HMAC key ({@code secretFile} or {@code secretEnv}). */
    public SecretRef secret() {
      return secret;
    }

    @Override
    public String toString() {
      // the URL may carry a token in its path or query: show only scheme, host and port
      return url.getScheme() + "://" + url.getHost() + (url.getPort() < 0 ? "" : ":" + url.getPort()) + "/… secret " + secret;
    }
  }
}
