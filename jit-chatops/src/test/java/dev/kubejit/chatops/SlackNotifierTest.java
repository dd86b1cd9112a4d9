package dev.kubejit.chatops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.Identity;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.Notification;
import dev.kubejit.api.NotificationType;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.Scope;
import dev.kubejit.api.spi.AccessPolicy;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The Slack notifier fed by a real broker (in-memory SPIs), posting to a local stand-in for Slack's Web API. */
@Timeout(60)
class SlackNotifierTest {
  final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T10:00:00Z"));
  final AtomicInteger ts = new AtomicInteger();
  Receiver slack;
  DeliveryQueue queue;
  JitBroker broker;
  final Identity alice = Identity.of("alice", "oncall-payments");
  final Identity bob = Identity.of("bob", "sre-leads");

  @BeforeEach
  void start() throws Exception {
    slack = new Receiver(g -> Receiver.Answer.ok(g.path.endsWith("chat.postMessage")
        ? "{\"ok\":true,\"channel\":\"CPAY\",\"ts\":\"1700000000.00000" + ts.incrementAndGet() + "\"}" : "{\"ok\":true}"));
    queue = DeliveryQueue.builder("slack-test").build();
    SlackNotifier notifier = SlackNotifier.builder().apiBaseUrl(slack.base.resolve("api")).botToken("xoxb-1")
        .defaultChannel("CDEFAULT").channel("oncall-debug", "CPAY").requestLinkBase(URI.create("https://kubejit.example/"))
        .delivery(queue).build();
    broker = JitBroker.builder().clock(clock).store(RequestStore.inMemory()).auditSink(AuditSink.inMemory())
        .rbacProvisioner(RbacProvisioner.inMemory()).notifier(notifier)
        .policy(AccessPolicy.staticRules()
            .role("oncall-debug", r -> r.requesters("oncall-payments").namespaces("payments")
                .durations(Duration.ofMinutes(30), Duration.ofHours(1)).manual(Action.EXEC, 1, "sre-leads"))
            .role("break-glass", r -> r.requesters("oncall-payments").namespaces("*").breakGlass(true)
                .durations(Duration.ofMinutes(15), Duration.ofMinutes(15)).auto(Action.EXEC))
            .build())
        .build();
  }

  @AfterEach
  void stop() {
    queue.close();
    slack.close();
  }

  List<Receiver.Got> await(int n) throws InterruptedException {
    while (slack.got.size() < n) {
      Thread.sleep(10);
    }
    return slack.got;
  }

  static JsonNode json(Receiver.Got g) throws Exception {
    return Messages.JSON.readTree(g.body);
  }

  RequestRecord submit(String role, String justification) {
    return broker.submit(AccessRequest.builder().requester(alice).role(role).action(Action.EXEC)
        .scope(Scope.namespace("prod", "payments")).ticket("INC-42").justification(justification).build());
  }

  @Test
  void anApprovalRequestThenEverythingElseInItsThread() throws Exception {
    RequestRecord r = submit("oncall-debug", "pod crash-loops");
    JsonNode first = json(await(1).get(0));
    assertEquals("/api/chat.postMessage", slack.got.get(0).path);
    assertEquals("Bearer xoxb-1", slack.got.get(0).headers.get("authorization"));
    assertEquals("CPAY", first.path("channel").asText());
    assertFalse(first.has("thread_ts"));
    String blocks = first.path("blocks").toString();
    assertTrue(blocks.contains("\"action_id\":\"kubejit.approve\"") && blocks.contains("\"action_id\":\"kubejit.deny\""));
    assertTrue(blocks.contains("<https://kubejit.example/requests/" + r.id() + "|" + r.id() + ">"), blocks);

    broker.approve(r.id(), bob, "ok");
    broker.activate(r.id(), alice);
    clock.advance(Duration.ofMinutes(31));
    broker.expireDue();
    List<Receiver.Got> all = await(5);
    assertEquals("/api/chat.update", all.get(1).path);
    JsonNode update = json(all.get(1));
    assertEquals("1700000000.000001", update.path("ts").asText());
    assertTrue(update.path("blocks").toString().contains("Approved by *bob*"));
    assertFalse(update.path("blocks").toString().contains("kubejit.approve"));
    for (Receiver.Got g : all.subList(2, 5)) {
      JsonNode j = json(g);
      assertEquals("1700000000.000001", j.path("thread_ts").asText(), g.body);
      assertEquals("CPAY", j.path("channel").asText());
    }
    assertTrue(all.get(3).body.contains("activated"), all.get(3).body);
    assertTrue(all.get(4).body.contains("expire"), all.get(4).body);
  }

  @Test
  void breakGlassIsLoud() throws Exception {
    RequestRecord r = submit("break-glass", "database on fire");
    broker.activate(r.id(), alice);
    List<Receiver.Got> all = await(3);
    assertEquals("CDEFAULT", json(all.get(0)).path("channel").asText(), "a role without a channel goes to the default");
    JsonNode loud = null;
    for (Receiver.Got g : all) {
      if (g.body.contains("Break-glass:")) {
        loud = json(g);
      }
    }
    assertTrue(loud != null, "a break-glass message: " + all.size());
    assertTrue(loud.path("reply_broadcast").asBoolean(), loud.toString());
    assertTrue(loud.toString().contains("<!here>"), loud.toString());
  }

  @Test
  void withoutAnApprovalMessageTheFirstFollowUpStartsTheThread() throws Exception {
    RequestRecord r = submit("oncall-debug", "why");
    await(1);
    SlackNotifier fresh = SlackNotifier.builder().apiBaseUrl(slack.base.resolve("api")).botToken("xoxb-1")
        .defaultChannel("CDEFAULT").delivery(queue).build();
    fresh.notify(Notification.of(NotificationType.EXPIRING, r, clock.instant(), "s"));
    fresh.notify(Notification.of(NotificationType.REVOKED, r, clock.instant(), "s"));
    List<Receiver.Got> all = await(3);
    assertFalse(json(all.get(1)).has("thread_ts"), all.get(1).body);
    assertEquals("1700000000.000002", json(all.get(2)).path("thread_ts").asText(), all.get(2).body);
  }

  @Test
  void blockKitLimitsHoldAndTextIsEscaped() throws Exception {
    submit("oncall-debug", "<".repeat(2048));
    JsonNode m = json(await(1).get(0));
    assertTrue(m.path("blocks").size() <= Messages.MAX_BLOCKS);
    for (JsonNode b : m.path("blocks")) {
      if (b.has("text")) {
        assertTrue(b.path("text").path("text").asText().length() <= Messages.SECTION_TEXT, b.toString().length() + "");
        assertTrue(b.path("text").path("verbatim").asBoolean());
      }
      for (JsonNode f : b.path("fields")) {
        assertTrue(f.path("text").asText().length() <= Messages.FIELD_TEXT);
      }
      for (JsonNode e : b.path("elements")) {
        assertTrue(e.path("action_id").asText().length() <= Messages.ACTION_ID);
      }
    }
    assertFalse(m.toString().contains("<<"), "escaped");
    assertTrue(m.toString().contains("&lt;&lt;"));
    assertFalse(m.toString().contains("&l…") || m.toString().contains("&lt…"), "no entity is cut in half");
  }

  @Test
  void onlyRecordFieldsAreShownNeverTheSummary() throws Exception {
    RequestRecord r = submit("oncall-debug", "why");
    await(1);
    SlackNotifier n = SlackNotifier.builder().apiBaseUrl(slack.base.resolve("api")).botToken("xoxb-1")
        .defaultChannel("CDEFAULT").delivery(queue).build();
    n.notify(Notification.of(NotificationType.REVOKED, r, clock.instant(), "token=s3cr3t-value -----BEGIN PRIVATE KEY-----"));
    List<Receiver.Got> all = await(2);
    assertFalse(all.get(1).body.contains("s3cr3t") || all.get(1).body.contains("PRIVATE KEY"), all.get(1).body);
  }
}
