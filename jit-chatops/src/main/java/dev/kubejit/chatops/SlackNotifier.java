package dev.kubejit.chatops;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.common.collect.ImmutableMap;
import dev.kubejit.api.Notification;
import dev.kubejit.api.NotificationType;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.spi.Notifier;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Posts broker notifications to Slack with {@code chat.postMessage} and {@code chat.update}.
 *
 * <p>A request waiting for approval becomes a Block Kit message in the channel configured for its
 * role (or the default channel) with the requester, role, scope, duration, ticket, justification,
 * the policy rule that asked for approval, and Approve and Deny buttons. What happens next
 * (approval or denial, activation, expiring soon, expiry, revocation, break-glass use) is posted in
 * that message's thread, and an approval or denial also updates the message to show who decided.
 * Break-glass use is loud: broadcast to the channel with {@code @here}.
 *
 * <p>{@link #notify} only queues (see {@link DeliveryQueue}), so it never blocks or fails a broker
 * transition. Thread timestamps are remembered in memory (the last 10 000 requests); after a
 * restart, follow-ups of older requests start a new message in the channel.
 */
public final class SlackNotifier implements Notifier {
  private static final Logger log = LoggerFactory.getLogger(SlackNotifier.class);
  static final Pattern CHANNEL = Pattern.compile("[A-Z0-9]{2,32}|#[a-z0-9][a-z0-9._-]{0,79}");
  private static final int THREADS_REMEMBERED = 10_000;

  private final URI api;
  private final String botToken;
  private final String defaultChannel;
  private final ImmutableMap<String, String> roleChannels;
  private final URI linkBase;
  private final DeliveryQueue queue;
  private final Map<RequestId, Posted> threads = new LinkedHashMap<>(16, 0.75f, true) {
    private static final long serialVersionUID = 1L;

    @Override
    protected boolean removeEldestEntry(Map.Entry<RequestId, Posted> e) {
      return size() > THREADS_REMEMBERED;
    }
  };

  /** Where a request's message lives. */
  private static final class Posted {
    final String channel;
    final String ts;

    Posted(String channel, String ts) {
      this.channel = channel;
      this.ts = ts;
    }
  }

  private SlackNotifier(Builder b) {
    this.api = b.api;
    this.botToken = b.botToken;
    this.defaultChannel = b.defaultChannel;
    this.roleChannels = ImmutableMap.copyOf(b.roleChannels);
    this.linkBase = b.linkBase;
    this.queue = b.queue;
  }

  /** Returns a builder. */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public void notify(Notification n) {
    RequestRecord r = n.record();
    String channel = roleChannels.getOrDefault(r.request().role(), defaultChannel);
    switch (n.type()) {
      case PENDING_APPROVAL:
        post(r.id(), channel, Messages.request(r, linkBase), null, false, true, "approval request " + r.id());
        break;
      case APPROVED:
      case DENIED:
        if (thread(r.id()) == null) {
          post(r.id(), channel, Messages.request(r, linkBase), null, false, true, n.type() + " " + r.id());
        } else {
          update(r);
          post(r.id(), channel, Messages.simple(Messages.outcome(r)), r.id(), false, false, n.type() + " " + r.id());
        }
        break;
      default:
        post(r.id(), channel, Messages.simple(followUp(n)), r.id(), n.type() == NotificationType.BREAK_GLASS_USED,
            thread(r.id()) == null, n.type() + " " + r.id());
    }
  }

  /** The text of a follow-up in the thread; from record fields only, escaped. */
  static String followUp(Notification n) {
    RequestRecord r = n.record();
    String who = "*" + Messages.escape(r.request().requester().user()) + "*";
    String what = "`" + Messages.escape(r.request().role()) + "` / `" + Messages.escape(r.request().action().toString())
        + "` in `" + Messages.escape(r.request().scope().toString()) + "`";
    String end = r.endedBy().map(p -> " by *" + Messages.escape(p.user()) + "*").orElse("")
        + r.endReason().map(x -> ": " + Messages.text(x, 500)).orElse("");
    switch (n.type()) {
      case ACTIVATED:
        return ":key: " + who + " activated " + what + r.grant().map(g -> " until " + g.expiresAt()).orElse("");
      case EXPIRING:
        return ":hourglass_flowing_sand: " + who + "'s grant for " + what + " expires soon"
            + r.grant().map(g -> " (" + g.expiresAt() + ")").orElse("");
      case EXPIRED:
        return ":stopwatch: " + who + "'s " + (r.grant().isPresent() ? "grant" : "request") + " for " + what + " expired";
      case REVOKED:
        return ":no_entry: " + who + "'s " + (r.grant().isPresent() ? "grant" : "request") + " for " + what + " was revoked" + end;
      case BREAK_GLASS_USED:
        return ":rotating_light: <!here> *Break-glass:* " + who + " activated " + what
            + r.request().ticket().map(t -> " for ticket " + Messages.escape(t)).orElse("")
            + " — review required. Request " + Messages.link(null, r);
      default:
        return Messages.outcome(r);
    }
  }

  private void post(RequestId id, String channel, ObjectNode message, RequestId threadOf, boolean broadcast,
      boolean remember, String what) {
    queue.offer(new DeliveryQueue.Delivery() {
      @Override
      public HttpRequest request() {
        ObjectNode body = message.deepCopy();
        Posted t = threadOf == null ? null : thread(threadOf);
        body.put("channel", t == null ? channel : t.channel);
        if (t != null) {
          body.put("thread_ts", t.ts);
          if (broadcast) {
            body.put("reply_broadcast", true);
          }
        }
        body.put("unfurl_links", false);
        return call("chat.postMessage", body);
      }

      @Override
      public void delivered(HttpResponse<String> response) {
        JsonNode r = okOrLog(response, describe());
        // a top-level message starts the request's thread; putIfAbsent keeps the first one
        if (r != null && remember && r.path("ts").isTextual()) {
          synchronized (threads) {
            threads.putIfAbsent(id, new Posted(r.path("channel").asText(channel), r.path("ts").asText()));
          }
        }
      }

      @Override
      public String describe() {
        return "chat.postMessage (" + what + ")";
      }
    });
  }

  private void update(RequestRecord r) {
    queue.offer(new DeliveryQueue.Delivery() {
      @Override
      public HttpRequest request() {
        Posted t = thread(r.id());
        ObjectNode body = Messages.request(r, linkBase);
        body.put("channel", t.channel);
        body.put("ts", t.ts);
        return call("chat.update", body);
      }

      @Override
      public void delivered(HttpResponse<String> response) {
        okOrLog(response, describe());
      }

      @Override
      public String describe() {
        return "chat.update (" + r.state() + " " + r.id() + ")";
      }
    });
  }

  private Posted thread(RequestId id) {
    synchronized (threads) {
      return threads.get(id);
    }
  }

  private HttpRequest call(String method, ObjectNode body) {
    try {
      return HttpRequest.newBuilder(api.resolve(method))
          .header("Content-Type", "application/json; charset=utf-8")
          .header("Authorization", "Bearer " + botToken)
          .POST(HttpRequest.BodyPublishers.ofByteArray(Messages.JSON.writeValueAsBytes(body))).build();
    } catch (IOException e) {
      throw new IllegalStateException("cannot serialise a Slack message", e);
    }
  }

  /** Slack answers 200 with {@code ok:false} for most errors; logs those (with Slack's error code only). */
  private static JsonNode okOrLog(HttpResponse<String> response, String what) {
    try {
      JsonNode r = Messages.JSON.readTree(response.body().getBytes(StandardCharsets.UTF_8));
      if (r != null && r.path("ok").asBoolean(false)) {
        return r;
      }
      String error = r == null ? "" : r.path("error").asText("");
      log.warn("slack: {} was refused: {}", what, error.matches("[a-z_]{1,64}") ? error : "(unexpected answer)");
    } catch (IOException e) {
      log.warn("slack: {}: the answer is not JSON", what);
    }
    return null;
  }

  @Override
  public String toString() {
    return "SlackNotifier{" + api + ", default channel " + defaultChannel + ", role channels " + roleChannels + "}";
  }

  /** Builds a {@link SlackNotifier}. */
  public static final class Builder {
    private URI api = URI.create("https://slack.com/api/");
    private String botToken;
    private String defaultChannel;
    private final Map<String, String> roleChannels = new LinkedHashMap<>();
    private URI linkBase;
    private DeliveryQueue queue;

    private Builder() {}

    /** Slack's Web API base URL (default {@code https://slack.com/api/}); tests point it at a local server. */
    public Builder apiBaseUrl(URI url) {
      String s = requireNonNull(url, "url").toString();
      this.api = URI.create(s.endsWith("/") ? s : s + "/");
      return this;
    }

    /** The bot token ({@code xoxb-...}) used for {@code chat.postMessage} and {@code chat.update}; never logged. */
    public Builder botToken(String token) {
      requireNonNull(token, "token");
      if (token.isBlank() || token.chars().anyMatch(c -> c <= 0x20 || c >= 0x7f)) {
        throw new IllegalArgumentException("the Slack bot token is empty or has spaces or control characters");
      }
      this.botToken = token;
      return this;
    }

    /** The channel id (or {@code #name}) for roles without their own channel (required). */
    public Builder defaultChannel(String channel) {
      this.defaultChannel = channel(channel);
      return this;
    }

    /** The channel for requests of {@code role}. */
    public Builder channel(String role, String channel) {
      roleChannels.put(requireNonNull(role, "role"), channel(channel));
      return this;
    }

    /** The channels of roles, by role. */
    public Builder channels(Map<String, String> byRole) {
      requireNonNull(byRole, "byRole").forEach(this::channel);
      return this;
    }

    /** The base URL of the request pages ({@code BASE/requests/ID}); without it, messages show the bare id. */
    public Builder requestLinkBase(URI base) {
      String s = requireNonNull(base, "base").toString();
      if (!s.matches("https?://[^|<>\\s]+")) {
        throw new IllegalArgumentException("a request link base is an http(s) URL without |, <, > or spaces");
      }
      this.linkBase = base;
      return this;
    }

    /** The delivery queue (required; shared with nothing else is simplest). */
    public Builder delivery(DeliveryQueue queue) {
      this.queue = requireNonNull(queue, "queue");
      return this;
    }

    private static String channel(String c) {
      if (!CHANNEL.matcher(requireNonNull(c, "channel")).matches()) {
        throw new IllegalArgumentException("not a Slack channel id or #name: " + dev.kubejit.api.SafeText.quote(c));
      }
      return c;
    }

    /**
     * Returns the notifier.
     *
     * @throws IllegalStateException if the bot token, default channel or delivery queue is missing
     */
    public SlackNotifier build() {
      if (botToken == null || defaultChannel == null || queue == null) {
        throw new IllegalStateException("a Slack notifier needs a bot token, a default channel and a delivery queue");
      }
      return new SlackNotifier(this);
    }
  }
}
