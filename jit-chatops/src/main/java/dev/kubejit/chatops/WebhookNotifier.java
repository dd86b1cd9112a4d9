package dev.kubejit.chatops;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Notification;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.spi.Notifier;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.time.Clock;
import java.util.UUID;

/**
 * Posts each broker notification as JSON to a URL, signed so the receiver can verify it came from
 * this broker: {@code X-KubeJIT-Signature: v1=hex(HMAC-SHA256(secret, "v1:" + X-KubeJIT-Timestamp
 * + ":" + body))}, with the timestamp in Unix seconds and {@code X-KubeJIT-Delivery} a unique id
 * that stays the same across retries (so a receiver can drop duplicates).
 *
 * <p>The body holds the notification type, the request's id, state, requester, role, action,
 * scope, durations, ticket, justification, the deciding policy rule, the grant's expiry and a link
 * to the request page; never a credential. Delivery goes through a {@link DeliveryQueue}: {@link
 * #notify} never blocks or fails a broker transition. Each attempt is signed afresh.
 */
public final class WebhookNotifier implements Notifier {
  private final URI url;
  private final byte[] secret;
  private final DeliveryQueue queue;
  private final Clock clock;
  private final URI linkBase;

  private WebhookNotifier(URI url, byte[] secret, DeliveryQueue queue, Clock clock, URI linkBase) {
    this.url = url;
    this.secret = secret;
    this.queue = queue;
    this.clock = clock;
    this.linkBase = linkBase;
  }

  /**
   * Creates a notifier posting to {@code url} (https, or http on a loopback address).
   *
   * @param linkBase the base of request page links ({@code BASE/requests/ID}); may be null
   * @throws IllegalArgumentException if the URL is not https (or loopback http) or the secret is empty
   */
  public static WebhookNotifier create(URI url, byte[] secret, DeliveryQueue queue, Clock clock, URI linkBase) {
    requireNonNull(url, "url");
    if (!("https".equals(url.getScheme()) || "http".equals(url.getScheme()) && isLoopback(url.getHost()))
        || url.getRawUserInfo() != null || url.getHost() == null) {
      throw new IllegalArgumentException("a webhook URL is https:// (or http:// on a loopback address), without user info");
    }
    if (requireNonNull(secret, "secret").length == 0) {
      throw new IllegalArgumentException("the webhook secret is empty");
    }
    return new WebhookNotifier(url, secret.clone(), requireNonNull(queue, "queue"), requireNonNull(clock, "clock"), linkBase);
  }

  static boolean isLoopback(String host) {
    return host != null && (host.equals("localhost") || host.equals("127.0.0.1") || host.equals("[::1]") || host.equals("::1"));
  }

  @Override
  public void notify(Notification n) {
    byte[] body = body(n);
    String delivery = UUID.randomUUID().toString();
    queue.offer(new DeliveryQueue.Delivery() {
      @Override
      public HttpRequest request() {
        String ts = Long.toString(clock.instant().getEpochSecond());
        String signature = "v1=" + SlackVerifier.hex(SlackVerifier.sign(secret, "v1:" + ts + ":", body));
        return HttpRequest.newBuilder(url).header("Content-Type", "application/json")
            .header("X-KubeJIT-Timestamp", ts).header("X-KubeJIT-Signature", signature)
            .header("X-KubeJIT-Delivery", delivery)
            .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
      }

      @Override
      public String describe() {
        return "webhook " + n.type() + " of request " + n.record().id() + " to " + url.getHost();
      }
    });
  }

  byte[] body(Notification n) {
    RequestRecord r = n.record();
    AccessRequest q = r.request();
    ObjectNode o = Messages.JSON.createObjectNode();
    o.put("type", n.type().name());
    o.put("at", n.at().toString());
    o.put("requestId", r.id().toString());
    o.put("state", r.state().name());
    o.put("requester", q.requester().user());
    o.put("role", q.role());
    o.put("action", q.action().toString());
    o.put("cluster", q.scope().cluster());
    q.scope().namespace().ifPresent(ns -> o.put("namespace", ns));
    q.duration().ifPresent(d -> o.put("requestedDuration", d.toString()));
    r.decision().grantedDuration().ifPresent(d -> o.put("grantedDuration", d.toString()));
    q.ticket().ifPresent(t -> o.put("ticket", t));
    q.justification().ifPresent(j -> o.put("justification", j));
    r.decision().ruleId().ifPresent(id -> o.put("policyRule", id));
    o.put("breakGlass", r.decision().breakGlass());
    r.grant().ifPresent(g -> o.put("grantExpiresAt", g.expiresAt().toString()));
    r.endedBy().ifPresent(p -> o.put("endedBy", p.user()));
    if (linkBase != null) {
      String b = linkBase.toString();
      o.put("url", (b.endsWith("/") ? b : b + "/") + "requests/" + r.id());
    }
    try {
      return Messages.JSON.writeValueAsString(o).getBytes(UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException("cannot serialise a webhook body", e);
    }
  }

  @Override
  public String toString() {
    return "WebhookNotifier{" + url.getScheme() + "://" + url.getHost() + (url.getPort() < 0 ? "" : ":" + url.getPort()) + "}";
  }
}
