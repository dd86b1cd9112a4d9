package dev.kubejit.samples.chatops;

import static java.util.Objects.requireNonNull;

import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.Activation;
import dev.kubejit.api.Identity;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.KubeJitException;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.Scope;
import dev.kubejit.api.spi.Notifier;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * A chat bot that turns {@code /jit} slash commands into broker calls and posts the broker's
 * notifications to a channel.
 *
 * <p>The speaker's {@link Identity} comes from the chat platform (a verified, signed payload),
 * never from the message text. Credentials are never posted to a channel; the bot only reports
 * grant ids and expiry.
 *
 * <pre>
 * /jit request ROLE ACTION NAMESPACE DURATION TICKET [justification...]
 * /jit approve REQUEST-ID [comment...]
 * /jit deny REQUEST-ID [comment...]
 * /jit activate REQUEST-ID
 * /jit revoke REQUEST-ID [reason...]
 * /jit pending
 * </pre>
 */
public final class ChatOpsBot {
  private final JitBroker broker;
  private final String cluster;

  /** Creates a bot for one cluster. */
  public ChatOpsBot(JitBroker broker, String cluster) {
    this.broker = requireNonNull(broker, "broker");
    this.cluster = requireNonNull(cluster, "cluster");
  }

  /** A notifier that posts each broker notification to {@code channel}, break-glass loudly. */
  public static Notifier channelNotifier(Consumer<String> channel) {
    requireNonNull(channel, "channel");
    return n -> channel.accept((n.type().name().equals("BREAK_GLASS_USED") ? ":rotating_light: " : "")
        + "[" + n.type() + "] " + n.summary());
  }

  /** Handles one message from an authenticated speaker and returns the reply. */
  public String handle(Identity speaker, String message) {
    requireNonNull(speaker, "speaker");
    List<String> words = Arrays.asList(message.strip().split("\\s+"));
    if (words.size() < 2 || !words.get(0).equals("/jit")) {
      return usage();
    }
    try {
      switch (words.get(1)) {
        case "request":
          return request(speaker, words);
        case "approve":
          return "approved: " + summary(broker.approve(id(words), speaker, rest(words, 3)));
        case "deny":
          return "denied: " + summary(broker.deny(id(words), speaker, rest(words, 3)));
        case "activate":
          Activation a = broker.activate(id(words), speaker);
          return "active: grant " + a.grant().id() + " until " + a.grant().expiresAt();
        case "revoke":
          return "revoked: " + summary(broker.revoke(id(words), speaker, rest(words, 3)));
        case "pending":
          StringBuilder sb = new StringBuilder("waiting for you:");
          for (RequestRecord r : broker.pendingFor(speaker)) {
            sb.append("\n  ").append(summary(r));
          }
          return sb.toString();
        default:
          return usage();
      }
    } catch (KubeJitException | IllegalArgumentException | NullPointerException e) {
      return "refused: " + e.getMessage();
    }
  }

  private String request(Identity speaker, List<String> w) {
    if (w.size() < 7) {
      return "usage: /jit request ROLE ACTION NAMESPACE DURATION TICKET [justification...]";
    }
    Duration duration;
    try {
      duration = Duration.parse("PT" + w.get(5).toUpperCase(Locale.ROOT));
    } catch (DateTimeParseException e) {
      return "refused: duration must look like 30m or 1h, not " + w.get(5);
    }
    AccessRequest.Builder b = AccessRequest.builder().requester(speaker).role(w.get(2))
        .action(Action.of(w.get(3))).scope(Scope.namespace(cluster, w.get(4))).duration(duration)
        .ticket(w.get(6));
    String justification = rest(w, 7);
    if (justification != null) {
      b.justification(justification);
    }
    RequestRecord r = broker.submit(b.build());
    return "request " + summary(r) + " — " + r.decision().reason();
  }

  private static RequestId id(List<String> w) {
    if (w.size() < 3) {
      throw new IllegalArgumentException("a request id is required");
    }
    return RequestId.parse(w.get(2));
  }

  private static String rest(List<String> w, int from) {
    return w.size() > from ? String.join(" ", w.subList(from, w.size())) : null;
  }

  private static String summary(RequestRecord r) {
    return r.id() + " " + r.request().requester().user() + " " + r.request().role() + "/" + r.request().action()
        + " in " + r.request().scope() + " is " + r.state();
  }

  private static String usage() {
    return "usage: /jit request|approve|deny|activate|revoke|pending ...";
  }
}
