package dev.kubejit.server;

import dev.kubejit.api.JitBroker;
import dev.kubejit.api.Notification;
import dev.kubejit.api.spi.Notifier;
import dev.kubejit.chatops.ChatReply;
import dev.kubejit.chatops.DeliveryQueue;
import dev.kubejit.chatops.SlackChatOps;
import dev.kubejit.chatops.SlackDirectory;
import dev.kubejit.chatops.SlackNotifier;
import dev.kubejit.chatops.WebhookNotifier;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wires {@code chatops} from {@code kubejit.yaml}: the notifiers the broker is built with (Slack,
 * signed webhooks), then the Slack endpoints mounted under {@code /slack}. Without a {@code
 * chatops} section it adds nothing.
 */
final class ChatOpsWiring {
  private static final Logger log = LoggerFactory.getLogger(ChatOpsWiring.class);

  private final ServerConfig config;
  private final Clock clock;
  private final URI linkBase;
  private final List<Notifier> notifiers = new ArrayList<>();
  private DeliveryQueue slackResponses;

  private ChatOpsWiring(ServerConfig config, Clock clock) {
    this.config = config;
    this.clock = clock;
    // Messages link to the web console's request page (/requests/{id}) when the console is served:
    // at console.baseUrl, else at the listen address. Without the console, or on a wildcard listen
    // address that names no host a reader could open, messages show the bare id.
    URI base = null;
    if (config.console().isPresent()) {
      base = config.console().get().baseUrl().orElse(null);
      if (base == null) {
        String h = config.listenHost();
        boolean wildcard = h.equals("0.0.0.0") || h.equals("::") || h.equals("0:0:0:0:0:0:0:0");
        String host = h.contains(":") ? "[" + h + "]" : h;
        base = wildcard ? null : URI.create((config.tlsCertificateFile().isPresent() ? "https" : "http") + "://" + host
            + ":" + config.listenPort() + "/");
      } else if (!base.toString().endsWith("/")) {
        base = URI.create(base + "/");
      }
    }
    this.linkBase = base;
  }

  /** Reads the secrets and builds the notifiers; what it opens is pushed on {@code opened}. */
  static ChatOpsWiring prepare(ServerConfig config, Clock clock, Deque<AutoCloseable> opened) {
    ChatOpsWiring w = new ChatOpsWiring(config, clock);
    config.chatOps().ifPresent(c -> {
      c.slack().ifPresent(s -> {
        DeliveryQueue posts = DeliveryQueue.builder("slack").clock(clock).build();
        opened.push(posts);
        SlackNotifier.Builder slackNotifier = SlackNotifier.builder().apiBaseUrl(s.apiBaseUrl())
            .botToken(new String(secret(s.botToken(), "chatops.slack.botToken"), StandardCharsets.UTF_8))
            .defaultChannel(s.defaultChannel()).delivery(posts).channels(s.roleChannels());
        if (w.linkBase != null) {
          slackNotifier.requestLinkBase(w.linkBase);
        }
        w.notifiers.add(slackNotifier.build());
        w.slackResponses = DeliveryQueue.builder("slack-responses").clock(clock).build();
        opened.push(w.slackResponses);
      });
      int i = 0;
      for (ChatOpsConfig.Webhook h : c.webhooks()) {
        DeliveryQueue q = DeliveryQueue.builder("webhook-" + i).clock(clock).build();
        opened.push(q);
        w.notifiers.add(WebhookNotifier.create(h.url(), secret(h.secret(), "chatops.webhooks[" + i + "].secret"), q,
            clock, w.linkBase));
        i++;
      }
    });
    return w;
  }

  /** The broker's notifier: every configured one, each isolated from the others' failures. */
  Notifier notifier() {
    return notifiers.isEmpty() ? Notifier.none() : dev.kubejit.api.spi.Notifiers.fanOut(notifiers.toArray(new Notifier[0]));
  }


  /** Mounts {@code /slack} when Slack is configured. */
  void mount(KubeJitServer.Builder server, JitBroker broker, Deque<AutoCloseable> opened) {
    ChatOpsConfig.Slack s = config.chatOps().flatMap(ChatOpsConfig::slack).orElse(null);
    if (s == null) {
      return;
    }
    String cluster = s.cluster().orElseGet(() -> config.clusters().keySet().iterator().next());
    SlackChatOps.Builder b = SlackChatOps.builder().broker(broker)
        .signingSecret(secret(s.signingSecret(), "chatops.slack.signingSecret"))
        .directory(SlackDirectory.fromFile(s.directoryFile())).cluster(cluster).clock(clock)
        .responseUrlPrefix(s.responseUrlPrefix()).responses(slackResponses);
    if (linkBase != null) {
      b.requestLinkBase(linkBase);
    }
    SlackChatOps chatops = b.build();
    opened.push(chatops);
    server.mount(SlackChatOps.PATH_PREFIX, call -> {
      ChatReply r = chatops.handle(call.method(), call.path(), call.presented()::header, call.body());
      return HttpReply.of(r.status(), Map.of("Content-Type", r.contentType()), r.body());
    });
    log.info("chatops: Slack commands and buttons under {}, requests for cluster {}", SlackChatOps.PATH_PREFIX, cluster);
  }

  private static void warnIfOthersCanRead(java.nio.file.Path file, String what) {
    try {
      java.util.Set<java.nio.file.attribute.PosixFilePermission> p = Files.getPosixFilePermissions(file);
      if (p.contains(java.nio.file.attribute.PosixFilePermission.GROUP_READ)
          || p.contains(java.nio.file.attribute.PosixFilePermission.OTHERS_READ)) {
        log.warn("{}File {} is readable by its group or others; make it 0600", what, file);
      }
    } catch (UnsupportedOperationException | IOException e) {
      // not a POSIX file system, or unreadable: reading it reports the error
    }
  }

  private static byte[] secret(ChatOpsConfig.SecretRef ref, String what) {
    byte[] value;
    if (ref.file().isPresent()) {
      warnIfOthersCanRead(ref.file().get(), what);
      try {
        value = Files.readAllBytes(ref.file().get());
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot read " + what + "File " + ref.file().get() + ": "
            + e.getClass().getSimpleName());
      }
      int n = value.length;
      while (n > 0 && (value[n - 1] == '\n' || value[n - 1] == '\r')) {
        n--;
      }
      value = java.util.Arrays.copyOf(value, n);
    } else {
      String v = System.getenv(ref.env().orElseThrow());
      if (v == null) {
        throw new IllegalArgumentException("environment variable " + ref.env().get() + " (" + what + "Env) is not set");
      }
      value = v.getBytes(StandardCharsets.UTF_8);
    }
    if (value.length == 0) {
      throw new IllegalArgumentException(what + " is empty");
    }
    return value;
  }
}
