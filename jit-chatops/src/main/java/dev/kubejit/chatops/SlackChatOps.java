package dev.kubejit.chatops;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.ApprovalRefusedException;
import dev.kubejit.api.Identity;
import dev.kubejit.api.InvalidTransitionException;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.KubeJitException;
import dev.kubejit.api.NotFoundException;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.Scope;
import java.io.IOException;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpRequest;
import java.time.Clock;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves Slack's slash command ({@code POST /slack/commands}) and button clicks ({@code POST
 * /slack/interactions}) against a {@link JitBroker}, as a plain request to reply function that any
 * HTTP server can host.
 *
 * <p>Every request is verified with Slack's v0 signature (constant-time, a five-minute window in
 * both directions, replays refused, Slack's retries answered without acting again); a refusal is a
 * 401 saying only {@code invalid signature} or {@code stale request}. The speaker is whoever the
 * {@link SlackDirectory} says the signed team and user ids are; an unknown id is refused, and a
 * name in the text is never trusted.
 *
 * <p>Reads ({@code status}, {@code pending}, {@code help}) are answered at once. Transitions
 * ({@code request}, {@code approve}, {@code deny}, {@code revoke}, and the buttons) are
 * acknowledged at once and run on a small worker pool; the result goes to the request's {@code
 * response_url} (only URLs under the configured prefix, by default {@code
 * https://hooks.slack.com/}). A button click approves or denies once; a second click, a click by
 * the requester or a non-approver, or a click after the request ended gets an ephemeral
 * explanation and changes nothing. A successful click replaces the message with one showing who
 * decided. Credentials are never issued through chat: the requester activates with {@code kubejit
 * activate ID}, keeping the private key on their machine.
 */
public final class SlackChatOps implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SlackChatOps.class);
  /** The path prefix the service answers under. */
  public static final String PATH_PREFIX = "/slack";
  static final int MAX_BODY = 64 * 1024;

  private final JitBroker broker;
  private final SlackVerifier verifier;
  private final SlackDirectory directory;
  private final String cluster;
  private final URI linkBase;
  private final String responsePrefix;
  private final DeliveryQueue responses;
  private final ThreadPoolExecutor workers;

  private SlackChatOps(Builder b) {
    this.broker = b.broker;
    this.verifier = new SlackVerifier(b.signingSecret, b.clock);
    this.directory = b.directory;
    this.cluster = b.cluster;
    this.linkBase = b.linkBase;
    this.responsePrefix = b.responsePrefix;
    this.responses = b.responses;
    AtomicInteger n = new AtomicInteger();
    this.workers = new ThreadPoolExecutor(b.workers, b.workers, 60, TimeUnit.SECONDS, new ArrayBlockingQueue<>(256), r -> {
      java.lang.Thread t = new java.lang.Thread(r, "kubejit-chatops-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  /** Returns a builder. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Answers one HTTP request.
   *
   * @param header looks a request header up by name (case-insensitive)
   * @param body the raw body, exactly as received (the signature covers it)
   */
  public ChatReply handle(String method, String path, Function<String, Optional<String>> header, byte[] body) {
    boolean commands = path.equals(PATH_PREFIX + "/commands");
    if (!commands && !path.equals(PATH_PREFIX + "/interactions")) {
      return ChatReply.text(404, "not found");
    }
    if (!"POST".equals(method)) {
      return ChatReply.text(405, "method not allowed");
    }
    if (body.length > MAX_BODY) {
      return ChatReply.text(413, "payload too large");
    }
    SlackVerifier.Verdict v = verifier.verify(header.apply("X-Slack-Request-Timestamp").orElse(null),
        header.apply("X-Slack-Signature").orElse(null), header.apply("X-Slack-Retry-Num").isPresent(), body);
    switch (v) {
      case INVALID_SIGNATURE:
        return ChatReply.text(401, "invalid signature");
      case STALE:
        return ChatReply.text(401, "stale request");
      case ALREADY_HANDLED:
        log.info("slack: a retry of a request already handled; answered without acting");
        return commands ? ephemeral("Already handled.") : ChatReply.text(200, "");
      default:
        break;
    }
    Map<String, String> form;
    try {
      form = form(new String(body, UTF_8));
    } catch (IllegalArgumentException e) {
      return ChatReply.text(400, "bad request");
    }
    return commands ? command(form) : interaction(form);
  }

  private ChatReply command(Map<String, String> form) {
    Optional<Identity> who = directory.lookup(form.get("team_id"), form.get("user_id"));
    if (who.isEmpty()) {
      log.info("slack: refused a command from an unknown user (not in the directory)");
      return ephemeral("Refused: your Slack user is not in the KubeJIT directory. Ask an administrator to add you.");
    }
    Identity speaker = who.get();
    Optional<SlashCommand> parsed = SlashCommand.parse(form.get("text"));
    if (parsed.isEmpty()) {
      return ephemeral(SlashCommand.USAGE);
    }
    SlashCommand c = parsed.get();
    switch (c.verb) {
      case HELP:
        return ephemeral(SlashCommand.USAGE);
      case PENDING:
        return ephemeral(pending(speaker));
      case STATUS:
        return ephemeral(c.args.isEmpty() ? mine(speaker) : status(speaker, c.args.get(0)));
      default:
        break;
    }
    String responseUrl = form.get("response_url");
    if (!allowed(responseUrl)) {
      log.warn("slack: a command without an allowed response_url was refused");
      return ChatReply.text(400, "bad request");
    }
    try {
      workers.execute(() -> respond(responseUrl, Messages.simple(transition(speaker, c)), false, "command result"));
    } catch (RejectedExecutionException e) {
      return ephemeral("KubeJIT is busy; nothing was done. Try again in a minute.");
    }
    return ephemeral("Working on it…");
  }

  /** Runs one transition command; returns the (escaped) text to post. */
  private String transition(Identity speaker, SlashCommand c) {
    try {
      switch (c.verb) {
        case REQUEST: {
          AccessRequest.Builder b = AccessRequest.builder().requester(speaker).role(c.args.get(0))
              .action(Action.of(c.args.get(1))).scope(Scope.namespace(cluster, c.args.get(2)))
              .duration(SlashCommand.duration(c.args.get(3)).orElseThrow()).ticket(c.args.get(4))
              .justification(c.text);
          RequestRecord r = broker.submit(b.build());
          switch (r.state()) {
            case PENDING_APPROVAL:
              return "Request " + Messages.link(linkBase, r) + " waits for approval ("
                  + Messages.escape(r.decision().approval().orElseThrow().toString()) + "); approvers were notified.";
            case APPROVED:
              return "Request " + Messages.link(linkBase, r) + " is approved: "
                  + Messages.text(r.decision().reason(), 500) + "\nActivate it with `kubejit activate " + r.id() + "`.";
            default:
              return "Request " + Messages.link(linkBase, r) + " was denied: " + Messages.text(r.decision().reason(), 1000);
          }
        }
        case APPROVE:
        case DENY: {
          boolean approve = c.verb == SlashCommand.Verb.APPROVE;
          RequestId id = RequestId.parse(c.args.get(0));
          RequestRecord r = approve ? broker.approve(id, speaker, c.text) : broker.deny(id, speaker, c.text);
          return (approve ? "Approved " : "Denied ") + Messages.link(linkBase, r) + ": " + Messages.text(
              r.state() == RequestState.PENDING_APPROVAL ? r.approvalCount() + " of "
                  + r.decision().approval().orElseThrow().minApprovals() + " approvals so far" : "it is now " + r.state(), 200);
        }
        case REVOKE: {
          RequestRecord r = broker.revoke(RequestId.parse(c.args.get(0)), speaker, c.text);
          return "Revoked " + Messages.link(linkBase, r) + ".";
        }
        default:
          throw new IllegalStateException("not a transition: " + c.verb);
      }
    } catch (ApprovalRefusedException e) {
      return explain(e);
    } catch (KubeJitException | IllegalArgumentException e) {
      return "Refused: " + Messages.text(String.valueOf(e.getMessage()), 1000);
    } catch (RuntimeException e) {
      log.warn("slack: {} failed: {}", c.verb, e.toString());
      return "Failed: an internal error; nothing was done if the broker log says so. Try again or use the CLI.";
    }
  }

  private ChatReply interaction(Map<String, String> form) {
    JsonNode p;
    try {
      p = Messages.JSON.readTree(form.getOrDefault("payload", ""));
    } catch (IOException e) {
      return ChatReply.text(400, "bad request");
    }
    if (p == null || !"block_actions".equals(p.path("type").asText()) || !p.path("actions").isArray()
        || p.path("actions").size() != 1) {
      return ChatReply.text(400, "bad request");
    }
    JsonNode action = p.path("actions").get(0);
    String actionId = action.path("action_id").asText();
    if (!actionId.equals(Messages.APPROVE) && !actionId.equals(Messages.DENY)) {
      return ChatReply.text(400, "bad request");
    }
    String team = p.path("team").path("id").asText(p.path("user").path("team_id").asText(null));
    Optional<Identity> who = directory.lookup(team, p.path("user").path("id").asText(null));
    String responseUrl = p.path("response_url").asText(null);
    if (!allowed(responseUrl)) {
      log.warn("slack: a click without an allowed response_url was refused");
      return ChatReply.text(400, "bad request");
    }
    if (who.isEmpty()) {
      log.info("slack: refused a click from an unknown user (not in the directory)");
      respond(responseUrl, Messages.simple("Refused: your Slack user is not in the KubeJIT directory."), false, "refusal");
      return ChatReply.text(200, "");
    }
    RequestId id;
    try {
      id = RequestId.parse(action.path("value").asText());
    } catch (IllegalArgumentException e) {
      return ChatReply.text(400, "bad request");
    }
    boolean approve = actionId.equals(Messages.APPROVE);
    try {
      workers.execute(() -> click(who.get(), id, approve, responseUrl));
    } catch (RejectedExecutionException e) {
      respond(responseUrl, Messages.simple("KubeJIT is busy; nothing was done. Click again in a minute."), false, "busy");
    }
    return ChatReply.text(200, "");
  }

  private void click(Identity who, RequestId id, boolean approve, String responseUrl) {
    try {
      RequestRecord r = approve ? broker.approve(id, who, null) : broker.deny(id, who, null);
      respond(responseUrl, Messages.request(r, linkBase), true, "decided message");
    } catch (ApprovalRefusedException e) {
      respond(responseUrl, Messages.simple(explain(e)), false, "refusal");
    } catch (InvalidTransitionException e) {
      String now = broker.find(id).map(r -> Messages.outcome(r)).orElse(e.current().name());
      respond(responseUrl, Messages.simple("Nothing changed: request `" + id + "` is no longer waiting for approval.\n" + now),
          false, "refusal");
    } catch (NotFoundException e) {
      respond(responseUrl, Messages.simple("Nothing changed: there is no request `" + id + "`."), false, "refusal");
    } catch (KubeJitException e) {
      respond(responseUrl, Messages.simple("Refused: " + Messages.text(String.valueOf(e.getMessage()), 1000)), false, "refusal");
    } catch (RuntimeException e) {
      log.warn("slack: click on {} failed: {}", id, e.toString());
      respond(responseUrl, Messages.simple("Failed: an internal error. Try again or use the CLI."), false, "refusal");
    }
  }

  private static String explain(ApprovalRefusedException e) {
    switch (e.reason()) {
      case SELF_APPROVAL:
        return "Nothing changed: you cannot approve or deny your own request.";
      case NOT_AN_APPROVER:
        return "Nothing changed: you are not in an approver group of this request.";
      case ALREADY_VOTED:
        return "Nothing changed: you already gave your verdict on this request.";
      default:
        return "Nothing changed: this request does not take approvals.";
    }
  }

  private String pending(Identity speaker) {
    List<RequestRecord> list = broker.pendingFor(speaker);
    if (list.isEmpty()) {
      return "Nothing waits for your approval.";
    }
    StringBuilder sb = new StringBuilder("Waiting for your approval:");
    for (RequestRecord r : list.subList(0, Math.min(list.size(), 20))) {
      sb.append("\n• ").append(Messages.link(linkBase, r)).append(' ').append(Messages.headline(r));
    }
    return sb.toString();
  }

  private String mine(Identity speaker) {
    StringBuilder sb = new StringBuilder();
    for (RequestRecord r : broker.list(EnumSet.of(RequestState.PENDING_APPROVAL, RequestState.APPROVED, RequestState.ACTIVE))) {
      if (r.request().requester().samePerson(speaker) && sb.length() < 2500) {
        sb.append("\n• ").append(Messages.link(linkBase, r)).append(' ').append(Messages.headline(r)).append(": ")
            .append(r.state());
      }
    }
    return sb.length() == 0 ? "You have no open requests." : "Your open requests:" + sb;
  }

  private String status(Identity speaker, String idText) {
    RequestId id;
    try {
      id = RequestId.parse(idText);
    } catch (IllegalArgumentException e) {
      return SlashCommand.USAGE;
    }
    Optional<RequestRecord> found = broker.find(id);
    if (found.isEmpty() || !mayView(found.get(), speaker)) {
      return "No request `" + id + "` that you may see.";
    }
    RequestRecord r = found.get();
    return Messages.link(linkBase, r) + " " + Messages.headline(r) + "\n" + r.state() + "\n" + Messages.outcome(r);
  }

  private boolean mayView(RequestRecord r, Identity who) {
    return r.request().requester().samePerson(who) || who.inAnyGroup(broker.adminGroups())
        || r.decision().approval().map(a -> who.inAnyGroup(a.approverGroups())).orElse(false);
  }

  private boolean allowed(String responseUrl) {
    return responseUrl != null && responseUrl.startsWith(responsePrefix) && responseUrl.length() < 2048
        && !responseUrl.contains("@") && !responseUrl.contains("..");
  }

  private void respond(String responseUrl, ObjectNode message, boolean replaceOriginal, String what) {
    ObjectNode body = message.deepCopy();
    body.put("response_type", "ephemeral");
    body.put("replace_original", replaceOriginal);
    byte[] bytes;
    try {
      bytes = Messages.JSON.writeValueAsBytes(body);
    } catch (IOException e) {
      throw new IllegalStateException("cannot serialise a Slack response", e);
    }
    URI uri = URI.create(responseUrl);
    responses.offer(new DeliveryQueue.Delivery() {
      @Override
      public HttpRequest request() {
        return HttpRequest.newBuilder(uri).header("Content-Type", "application/json; charset=utf-8")
            .POST(HttpRequest.BodyPublishers.ofByteArray(bytes)).build();
      }

      @Override
      public String describe() {
        return "response_url " + what;
      }
    });
  }

  private static ChatReply ephemeral(String alreadyEscaped) {
    ObjectNode o = Messages.JSON.createObjectNode();
    o.put("response_type", "ephemeral");
    o.put("text", alreadyEscaped);
    return ChatReply.json(200, o.toString());
  }

  static Map<String, String> form(String body) {
    Map<String, String> m = new HashMap<>();
    if (body.isEmpty()) {
      return m;
    }
    for (String pair : body.split("&")) {
      int eq = pair.indexOf('=');
      String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), UTF_8);
      String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), UTF_8);
      if (m.putIfAbsent(k, v) != null) {
        throw new IllegalArgumentException("field " + k + " repeated");
      }
    }
    return m;
  }

  /** Stops the worker pool, waiting up to 10 seconds for work in progress. The response queue is the caller's. */
  @Override
  public void close() {
    workers.shutdown();
    try {
      if (!workers.awaitTermination(10, TimeUnit.SECONDS)) {
        workers.shutdownNow();
      }
    } catch (InterruptedException e) {
      workers.shutdownNow();
      java.lang.Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "SlackChatOps{cluster " + cluster + ", " + directory + ", responses under " + responsePrefix + "}";
  }

  /** Builds a {@link SlackChatOps}. */
  public static final class Builder {
    private JitBroker broker;
    private byte[] signingSecret;
    private SlackDirectory directory;
    private String cluster;
    private Clock clock = Clock.systemUTC();
    private URI linkBase;
    private String responsePrefix = "https://hooks.slack.com/";
    private DeliveryQueue responses;
    private int workers = 4;

    private Builder() {}

    /** The broker (required). */
    public Builder broker(JitBroker broker) {
      this.broker = requireNonNull(broker, "broker");
      return this;
    }

    /** The Slack app's signing secret (required); copied, never logged. */
    public Builder signingSecret(byte[] secret) {
      this.signingSecret = requireNonNull(secret, "secret").clone();
      return this;
    }

    /** Who the Slack users are (required). */
    public Builder directory(SlackDirectory directory) {
      this.directory = requireNonNull(directory, "directory");
      return this;
    }

    /** The cluster that {@code /jit request} asks for access to (required). */
    public Builder cluster(String cluster) {
      this.cluster = requireNonNull(cluster, "cluster");
      Scope.cluster(cluster);
      return this;
    }

    /** The clock of the signature window (default: system UTC). */
    public Builder clock(Clock clock) {
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    /** The base URL of request pages ({@code BASE/requests/ID}) for links in answers; optional. */
    public Builder requestLinkBase(URI base) {
      String s = requireNonNull(base, "base").toString();
      if (!s.matches("https?://[^|<>\\s]+")) {
        throw new IllegalArgumentException("a request link base is an http(s) URL without |, <, > or spaces");
      }
      this.linkBase = base;
      return this;
    }

    /**
     * The only prefix a {@code response_url} may have (default {@code https://hooks.slack.com/});
     * a request with any other is refused, so a signed request cannot make the broker post elsewhere.
     */
    public Builder responseUrlPrefix(String prefix) {
      requireNonNull(prefix, "prefix");
      if (!prefix.matches("https?://[^/@\\s]+/.*")) {
        throw new IllegalArgumentException("a response URL prefix is scheme://host[:port]/ followed by an optional path");
      }
      this.responsePrefix = prefix;
      return this;
    }

    /** The queue that posts results to {@code response_url} (required). */
    public Builder responses(DeliveryQueue queue) {
      this.responses = requireNonNull(queue, "queue");
      return this;
    }

    /** Threads running transitions (default 4). */
    public Builder workers(int n) {
      if (n < 1 || n > 64) {
        throw new IllegalArgumentException("workers must be 1 to 64");
      }
      this.workers = n;
      return this;
    }

    /**
     * Returns the service.
     *
     * @throws IllegalStateException if the broker, signing secret, directory, cluster or response queue is missing
     */
    public SlackChatOps build() {
      if (broker == null || signingSecret == null || directory == null || cluster == null || responses == null) {
        throw new IllegalStateException("Slack ChatOps needs a broker, a signing secret, a directory, a cluster and a"
            + " response queue");
      }
      return new SlackChatOps(this);
    }
  }
}
