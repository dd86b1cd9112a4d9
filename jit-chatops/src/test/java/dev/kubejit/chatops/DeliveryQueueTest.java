package dev.kubejit.chatops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The delivery queue against a local HTTP server. Waits go through a sleeper that moves a test
 * clock instead of sleeping, so "down for a minute" takes no minute and nothing here measures time.
 */
@Timeout(60)
class DeliveryQueueTest {
  final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T10:00:00Z"));
  final List<Duration> waits = new CopyOnWriteArrayList<>();

  DeliveryQueue.Builder queue() {
    return DeliveryQueue.builder("test").clock(clock).random(new Random(42)).sleeper(d -> {
      waits.add(d);
      clock.advance(d);
    });
  }

  static DeliveryQueue.Delivery post(URI url, String body) {
    return new DeliveryQueue.Delivery() {
      @Override
      public HttpRequest request() {
        return HttpRequest.newBuilder(url).POST(HttpRequest.BodyPublishers.ofString(body)).build();
      }

      @Override
      public String describe() {
        return "test " + body;
      }
    };
  }

  static void awaitIdle(DeliveryQueue q, long total) throws InterruptedException {
    while (q.delivered() + q.dropped() < total) {
      Thread.sleep(10);
    }
  }

  @Test
  void aWebhookDownForAMinuteLosesNothingWithinTheRetryBudget() throws Exception {
    Instant upAt = clock.instant().plus(Duration.ofMinutes(1));
    try (Receiver r = new Receiver(g -> clock.instant().isBefore(upAt)
            ? new Receiver.Answer(503, Map.of(), "down") : Receiver.Answer.ok("ok"));
        DeliveryQueue q = queue().build()) {
      for (int i = 0; i < 5; i++) {
        assertTrue(q.offer(post(r.base.resolve("hook"), "m" + i)));
      }
      awaitIdle(q, 5);
      assertEquals(5, q.delivered());
      assertEquals(0, q.dropped());
      assertEquals(List.of("m0", "m1", "m2", "m3", "m4"), r.got.stream().map(g -> g.body).toList(), "in order");
      assertTrue(q.retried() >= 5, "it retried: " + q.retried());
      for (int i = 1; i < waits.size(); i++) {
        assertTrue(waits.get(i).compareTo(Duration.ofSeconds(60)) <= 0, "capped: " + waits);
      }
    }
  }

  @Test
  void a429IsRetriedAfterRetryAfterSeconds() throws Exception {
    int[] n = {0};
    try (Receiver r = new Receiver(g -> n[0]++ == 0
            ? new Receiver.Answer(429, Map.of("Retry-After", "7"), "") : Receiver.Answer.ok("ok"));
        DeliveryQueue q = queue().build()) {
      q.offer(post(r.base.resolve("api"), "x"));
      awaitIdle(q, 1);
      assertEquals(1, q.delivered());
      assertEquals(List.of(Duration.ofSeconds(7)), waits);
      assertEquals(2, r.attempts.size());
    }
  }

  @Test
  void backoffGrowsWithJitterAndExhaustedRetriesAreACountedDrop() throws Exception {
    try (Receiver r = new Receiver(g -> new Receiver.Answer(500, Map.of(), "no"));
        DeliveryQueue q = queue().maxAttempts(6).backoff(Duration.ofSeconds(1), Duration.ofSeconds(10)).build()) {
      q.offer(post(r.base.resolve("x"), "x"));
      awaitIdle(q, 1);
      assertEquals(1, q.dropped());
      assertEquals(0, q.delivered());
      assertEquals(6, r.attempts.size());
      assertEquals(5, waits.size());
      long[] base = {1000, 2000, 4000, 8000, 10000};
      for (int i = 0; i < waits.size(); i++) {
        long ms = waits.get(i).toMillis();
        assertTrue(ms >= base[i] / 2 && ms <= base[i], "wait " + i + " = " + ms + " within [" + base[i] / 2 + ", " + base[i] + "]");
      }
    }
  }

  @Test
  void aRetryAfterBeyondTheBudgetDropsAtOnce() throws Exception {
    try (Receiver r = new Receiver(g -> new Receiver.Answer(429, Map.of("Retry-After", "3600"), ""));
        DeliveryQueue q = queue().retryBudget(Duration.ofMinutes(5)).build()) {
      q.offer(post(r.base.resolve("x"), "x"));
      awaitIdle(q, 1);
      assertEquals(1, q.dropped());
      assertEquals(1, r.attempts.size());
      assertTrue(waits.isEmpty());
    }
  }

  @Test
  void aReceiverThatIsNotListeningIsRetriedThenDropped() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    try (DeliveryQueue q = queue().maxAttempts(3).build()) {
      q.offer(post(URI.create("http://127.0.0.1:" + port + "/x"), "x"));
      awaitIdle(q, 1);
      assertEquals(1, q.dropped());
      assertEquals(2, q.retried());
    }
  }

  @Test
  void aClientErrorIsNotRetried() throws Exception {
    try (Receiver r = new Receiver(g -> new Receiver.Answer(400, Map.of(), "bad"));
        DeliveryQueue q = queue().build()) {
      q.offer(post(r.base.resolve("x"), "x"));
      awaitIdle(q, 1);
      assertEquals(1, q.dropped());
      assertEquals(1, r.attempts.size());
    }
  }

  @Test
  void aFullQueueDropsAndCountsWithoutBlockingTheCaller() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch first = new CountDownLatch(1);
    try (Receiver r = new Receiver(g -> {
          first.countDown();
          try {
            release.await(30, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          return Receiver.Answer.ok("ok");
        });
        DeliveryQueue q = queue().capacity(2).build()) {
      assertTrue(q.offer(post(r.base.resolve("x"), "0")));
      assertTrue(first.await(10, TimeUnit.SECONDS), "the worker is busy with the first message");
      int accepted = 0;
      for (int i = 1; i <= 10; i++) {
        if (q.offer(post(r.base.resolve("x"), Integer.toString(i)))) {
          accepted++;
        }
      }
      assertEquals(2, accepted);
      assertEquals(8, q.dropped());
      release.countDown();
      awaitIdle(q, 11);
      assertEquals(3, q.delivered());
    }
  }

  @Test
  void closingDropsWhatIsLeftAndRefusesMore() throws Exception {
    try (Receiver r = new Receiver(g -> new Receiver.Answer(503, Map.of(), ""))) {
      DeliveryQueue q = DeliveryQueue.builder("closing").clock(clock).backoff(Duration.ofSeconds(30), Duration.ofSeconds(60))
          .build();
      q.offer(post(r.base.resolve("x"), "x"));
      while (r.attempts.isEmpty()) {
        Thread.sleep(10);
      }
      q.close();
      assertEquals(1, q.dropped());
      assertFalse(q.offer(post(r.base.resolve("x"), "y")));
      assertEquals(2, q.dropped());
    }
  }
}
