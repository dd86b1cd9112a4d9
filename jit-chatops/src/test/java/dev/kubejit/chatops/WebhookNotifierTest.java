package dev.kubejit.chatops;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.Decision;
import dev.kubejit.api.Identity;
import dev.kubejit.api.Notification;
import dev.kubejit.api.NotificationType;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.Scope;
import java.net.URI;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class WebhookNotifierTest {
  static final byte[] SECRET = "hook-secret".getBytes(UTF_8);
  final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T10:00:00Z"));

  static RequestRecord record() {
    Instant t = Instant.parse("2026-01-01T10:00:00Z");
    return RequestRecord.builder().id(RequestId.random())
        .request(AccessRequest.builder().requester(Identity.of("alice", "oncall-payments")).role("oncall-debug")
            .action(Action.EXEC).scope(Scope.namespace("prod", "payments")).ticket("INC-1").justification("why").build())
        .decision(Decision.builder(Decision.Outcome.ALLOW, "auto").ruleId("r1").grantedDuration(Duration.ofMinutes(30), false)
            .build())
        .state(RequestState.APPROVED).window(t, t.plusSeconds(3600)).version(1).build();
  }

  @Test
  void aSignedBodyRetriedUnderTheSameDeliveryIdAndAFreshSignature() throws Exception {
    int[] n = {0};
    try (Receiver r = new Receiver(g -> {
          clock.advance(Duration.ofSeconds(10));
          return n[0]++ == 0 ? new Receiver.Answer(502, Map.of(), "") : Receiver.Answer.ok("");
        });
        DeliveryQueue q = DeliveryQueue.builder("hook").clock(clock).backoff(Duration.ofMillis(10), Duration.ofMillis(20))
            .build()) {
      WebhookNotifier w = WebhookNotifier.create(r.base.resolve("hook"), SECRET, q, clock, URI.create("https://k.example"));
      RequestRecord rec = record();
      w.notify(Notification.of(NotificationType.APPROVED, rec, clock.instant(), "summary"));
      while (r.got.isEmpty()) {
        Thread.sleep(10);
      }
      assertEquals(2, r.attempts.size());
      Receiver.Got a = r.attempts.get(0);
      Receiver.Got b = r.attempts.get(1);
      assertEquals(a.headers.get("x-kubejit-delivery"), b.headers.get("x-kubejit-delivery"));
      assertNotEquals(a.headers.get("x-kubejit-timestamp"), b.headers.get("x-kubejit-timestamp"));
      for (Receiver.Got g : r.attempts) {
        String expected = "v1=" + SlackVerifier.hex(SlackVerifier.sign(SECRET, "v1:" + g.headers.get("x-kubejit-timestamp") + ":",
            g.body.getBytes(UTF_8)));
        assertTrue(MessageDigest.isEqual(expected.getBytes(UTF_8), g.headers.get("x-kubejit-signature").getBytes(UTF_8)));
      }
      JsonNode j = Messages.JSON.readTree(b.body);
      assertEquals("APPROVED", j.path("type").asText());
      assertEquals(rec.id().toString(), j.path("requestId").asText());
      assertEquals("alice", j.path("requester").asText());
      assertEquals("payments", j.path("namespace").asText());
      assertEquals("PT30M", j.path("grantedDuration").asText());
      assertEquals("https://k.example/requests/" + rec.id(), j.path("url").asText());
      assertTrue(!b.body.contains("summary"), "the free-form summary is not sent");
    }
  }

  @Test
  void urlsAndSecretsAreChecked() {
    try (DeliveryQueue q = DeliveryQueue.builder("hook").build()) {
      for (String bad : new String[] {"http://example.com/x", "https://u:p@example.com/x", "ftp://127.0.0.1/x"}) {
        assertThrows(IllegalArgumentException.class, () -> WebhookNotifier.create(URI.create(bad), SECRET, q, clock, null), bad);
      }
      assertThrows(IllegalArgumentException.class,
          () -> WebhookNotifier.create(URI.create("https://example.com/x"), new byte[0], q, clock, null));
      assertTrue(WebhookNotifier.create(URI.create("https://example.com/x?token=t"), SECRET, q, clock, null).toString()
          .indexOf("token") < 0, "toString hides the path and query");
    }
  }
}
