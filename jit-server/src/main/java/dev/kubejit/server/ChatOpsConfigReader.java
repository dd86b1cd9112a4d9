package dev.kubejit.server;

import dev.kubejit.api.SafeText;
import dev.kubejit.policy.internal.StrictReader;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/** Reads the {@code chatops} section of {@code kubejit.yaml} for {@link ConfigReader}. */
final class ChatOpsConfigReader {
  static final Pattern CHANNEL = Pattern.compile("[A-Z0-9]{2,32}|#[a-z0-9][a-z0-9._-]{0,79}");
  static final Pattern ROLE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:-]{0,252}");

  private final StrictReader<ConfigException> r;
  private final ConfigReader c;

  private ChatOpsConfigReader(StrictReader<ConfigException> r, ConfigReader c) {
    this.r = r;
    this.c = c;
  }

  static ChatOpsConfig read(StrictReader<ConfigException> r, ConfigReader c, String cpath) {
    return new ChatOpsConfigReader(r, c).chatops(cpath);
  }

  private ChatOpsConfig chatops(String cpath) {
    ChatOpsConfig.Slack[] slack = new ChatOpsConfig.Slack[1];
    List<ChatOpsConfig.Webhook> hooks = new ArrayList<>();
    r.object(cpath, (n, p) -> {
      c.refuseSecret(n, p, null, null);
      switch (n) {
        case "slack":
          slack[0] = slack(p);
          break;
        case "webhooks":
          hooks.addAll(r.list(p, "webhook", this::webhook));
          break;
        default:
          throw r.unknown(p, n, "slack, webhooks");
      }
    });
    if (slack[0] == null && hooks.isEmpty()) {
      throw r.errorAt(cpath, "chatops needs slack or at least one webhook (leave chatops out to turn it off)");
    }
    return new ChatOpsConfig(slack[0], hooks);
  }

  private ChatOpsConfig.Slack slack(String spath) {
    Path[] signingFile = new Path[1];
    String[] signingEnv = new String[1];
    Path[] tokenFile = new Path[1];
    String[] tokenEnv = new String[1];
    Path[] directory = new Path[1];
    String[] cluster = new String[1];
    String[] defaultChannel = new String[1];
    Map<String, String> roles = new LinkedHashMap<>();
    URI[] api = {URI.create("https://slack.com/api/")};
    String[] responses = {"https://hooks.slack.com/"};
    r.object(spath, (n, p) -> {
      refuseInline(n, p);
      switch (n) {
        case "signingSecretFile":
          signingFile[0] = c.path(p);
          break;
        case "signingSecretEnv":
          signingEnv[0] = env(p);
          break;
        case "botTokenFile":
          tokenFile[0] = c.path(p);
          break;
        case "botTokenEnv":
          tokenEnv[0] = env(p);
          break;
        case "directoryFile":
          directory[0] = c.path(p);
          break;
        case "cluster":
          cluster[0] = c.matching(p, ConfigReader.CLUSTER_NAME, "a cluster name (a DNS label)");
          break;
        case "channels":
          r.object(p, (cn, cp) -> {
            switch (cn) {
              case "default":
                defaultChannel[0] = c.matching(cp, CHANNEL, "a Slack channel id (C0123ABCD) or #name");
                break;
              case "roles":
                r.object(cp, (role, rp) -> {
                  if (!ROLE.matcher(role).matches()) {
                    throw r.errorAt(rp, "expected a policy role name, found " + SafeText.quote(role));
                  }
                  roles.put(role, c.matching(rp, CHANNEL, "a Slack channel id (C0123ABCD) or #name"));
                });
                break;
              default:
                throw r.unknown(cp, cn, "default, roles");
            }
          });
          break;
        case "apiBaseUrl":
          api[0] = url(p);
          break;
        case "responseUrlPrefix":
          String s = url(p).toString();
          if (!s.endsWith("/")) {
            throw r.error(p, "a response URL prefix ends with /, so that it cannot match another host");
          }
          responses[0] = s;
          break;
        default:
          throw r.unknown(p, n, "signingSecretFile, signingSecretEnv, botTokenFile, botTokenEnv, directoryFile, cluster,"
              + " channels, apiBaseUrl, responseUrlPrefix");
      }
    });
    ChatOpsConfig.SecretRef signing = oneOf(spath, signingFile[0], signingEnv[0], "signingSecretFile", "signingSecretEnv");
    ChatOpsConfig.SecretRef token = oneOf(spath, tokenFile[0], tokenEnv[0], "botTokenFile", "botTokenEnv");
    if (directory[0] == null) {
      throw r.errorAt(spath, "missing required key \"directoryFile\" (who the Slack users are)");
    }
    if (defaultChannel[0] == null) {
      throw r.errorAt(spath, "missing required key \"channels\" with a \"default\" channel");
    }
    return new ChatOpsConfig.Slack(signing, token, directory[0], cluster[0], defaultChannel[0], roles, api[0], responses[0]);
  }

  private ChatOpsConfig.Webhook webhook(String wpath) {
    URI[] url = new URI[1];
    Path[] file = new Path[1];
    String[] env = new String[1];
    r.object(wpath, (n, p) -> {
      refuseInline(n, p);
      switch (n) {
        case "url":
          url[0] = url(p);
          break;
        case "secretFile":
          file[0] = c.path(p);
          break;
        case "secretEnv":
          env[0] = env(p);
          break;
        default:
          throw r.unknown(p, n, "url, secretFile, secretEnv");
      }
    });
    if (url[0] == null) {
      throw r.errorAt(wpath, "missing required key \"url\"");
    }
    return new ChatOpsConfig.Webhook(url[0], oneOf(wpath, file[0], env[0], "secretFile", "secretEnv"));
  }

  /** Secrets written inline (signingSecret, botToken, secret, token, ...) are refused without echoing them. */
  private void refuseInline(String name, String path) {
    String k = name.toLowerCase(Locale.ROOT);
    if (k.equals("signingsecret") || k.equals("bottoken")) {
      r.skip();
      throw r.errorAt(path, "secrets are never written into kubejit.yaml: remove " + SafeText.quote(name) + " and use "
          + name + "File (a file that holds it) or " + name + "Env (the name of an environment variable)");
    }
    c.refuseSecret(name, path, "secretFile", "secretEnv");
  }

  private String env(String p) {
    String v = r.string(p);
    if (!ConfigReader.ENV_NAME.matcher(v).matches()) {
      // not echoed: a secret pasted here by mistake must not reach a log
      throw r.error(p, "expected the name of an environment variable ([A-Za-z_][A-Za-z0-9_]*), not its value");
    }
    return v;
  }

  private URI url(String p) {
    String s = r.string(p);
    URI u;
    try {
      u = new URI(s);
    } catch (URISyntaxException e) {
      throw r.error(p, "not a valid URL");
    }
    boolean https = "https".equals(u.getScheme());
    boolean loopbackHttp = "http".equals(u.getScheme()) && u.getHost() != null && ServerConfig.isLoopback(u.getHost());
    if (!(https || loopbackHttp) || u.getHost() == null || u.getRawUserInfo() != null || u.getRawFragment() != null) {
      // the URL is not quoted: a webhook URL may carry a token
      throw r.error(p, "expected an https:// URL (http:// only on a loopback address) with a host and no user info or fragment");
    }
    return u;
  }

  private ChatOpsConfig.SecretRef oneOf(String path, Path file, String env, String fileKey, String envKey) {
    if (file != null && env != null) {
      throw r.errorAt(path, "give " + fileKey + " or " + envKey + ", not both");
    }
    if (file == null && env == null) {
      throw r.errorAt(path, "missing " + fileKey + " (a file that holds the secret) or " + envKey
          + " (the name of an environment variable)");
    }
    return new ChatOpsConfig.SecretRef(file, env);
  }
}
