package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kubejit serve} with {@code chatops.slack} and a webhook configured, driven by a real HTTP
 * client signing requests as Slack does, with a local server ({@link FakeSlack}) standing in for
 * Slack's Web API, the {@code response_url}s and the webhook receiver.
 */
class ChatOpsServerTest {
  static final String SECRET = "slack-signing-secret-for-tests-0123456789";
  static final String WEBHOOK_SECRET = "webhook-secret-for-tests";
  static final String TEAM = "T0TEAM";
  // A link to the console's request page when the console is served, else the bare id in backquotes.
  static final Pattern ID = Pattern.compile("(?:requests/|`)([a-z2-7]{26})");
  @TempDir static Path dir;
  static FakeSlack slack;
  static TestBroker broker;

  @BeforeAll
  static void start() throws Exception {
    slack = new FakeSlack();
    String yaml = "chatops:\n  slack:\n    signingSecretFile: slack/signing-secret\n    botTokenFile: slack/bot-token\n"
        + "    directoryFile: slack/directory.yaml\n    cluster: prod\n"
        + "    channels:\n      default: CDEFAULT\n      roles:\n        oncall-debug: CPAYMENTS\n"
        + "    apiBaseUrl: " + slack.base + "api/\n    responseUrlPrefix: " + slack.base + "hooks/\n"
        + "  webhooks:\n    - url: " + slack.base + "webhook\n      secretFile: slack/webhook-secret\n";
    broker = TestBroker.withExtra(dir, yaml, d -> {
      Path s = Files.createDirectories(d.resolve("slack"));
      Files.writeString(s.resolve("signing-secret"), SECRET + "\n");
      Files.writeString(s.resolve("bot-token"), "xoxb-test-token\n");
      Files.writeString(s.resolve("webhook-secret"), WEBHOOK_SECRET);
      Files.writeString(s.resolve("directory.yaml"), "users:\n"
          + "  - {team: T0TEAM, user: UALICE, name: alice, groups: [oncall-payments]}\n"
          + "  - {team: T0TEAM, user: UERIN, name: erin, groups: [oncall-payments]}\n"
          + "  - {team: T0TEAM, user: UBOB, name: bob, groups: [sre-leads]}\n"
          + "  - {team: T0TEAM, user: UCAROL, name: carol, groups: [sre-leads]}\n"
          + "  - {team: T0TEAM, user: UDAVE, name: dave, groups: [oncall-payments]}\n");
    });
  }

  @AfterAll
  static void stop() {
    if (broker != null) {
      broker.close();
    }
    if (slack != null) {
      slack.close();
    }
  }

  // ---- a Slack client ----

  static String sign(String secret, long ts, String body) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return "v0=" + HexFormat.of().formatHex(mac.doFinal(("v0:" + ts + ":" + body).getBytes(StandardCharsets.UTF_8)));
  }

  static HttpResponse<String> send(String path, String body, long ts, String signature, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(broker.base.resolve(path)).timeout(Duration.ofSeconds(30))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("X-Slack-Request-Timestamp", Long.toString(ts)).header("X-Slack-Signature", signature)
        .POST(HttpRequest.BodyPublishers.ofString(body));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return broker.client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static long now() {
    return Instant.now().getEpochSecond();
  }

  static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  /** A slash command body; its response_url is /hooks/cmd/{hook}. */
  static String commandBody(String user, String text, String hook) {
    return "token=legacy&team_id=" + TEAM + "&team_domain=acme&channel_id=CPAYMENTS&user_id=" + user
        + "&user_name=" + enc("someone-else") + "&command=" + enc("/jit") + "&text=" + enc(text)
        + "&response_url=" + enc(slack.base + "hooks/cmd/" + hook) + "&trigger_id=" + UUID.randomUUID();
  }

  /** A block_actions body; its response_url is /hooks/click/{hook}. */
  static String clickBody(String user, String actionId, String requestId, String hook) throws Exception {
    ObjectNode p = Json.MAPPER.createObjectNode();
    p.put("type", "block_actions");
    p.putObject("team").put("id", TEAM);
    p.putObject("user").put("id", user).put("team_id", TEAM).put("username", "bob");
    p.put("trigger_id", UUID.randomUUID().toString());
    p.put("response_url", slack.base + "hooks/click/" + hook);
    ObjectNode a = p.putArray("actions").addObject();
    a.put("action_id", actionId).put("block_id", "kubejit.decide").put("value", requestId)
        .put("action_ts", Long.toString(System.nanoTime()));
    return "payload=" + enc(Json.MAPPER.writeValueAsString(p));
  }

  static final class Sent {
    final HttpResponse<String> response;
    final String hook;

    Sent(HttpResponse<String> response, String hook) {
      this.response = response;
      this.hook = hook;
    }
  }

  static Sent command(String user, String text) throws Exception {
    String hook = UUID.randomUUID().toString();
    String body = commandBody(user, text, hook);
    long ts = now();
    return new Sent(send("/slack/commands", body, ts, sign(SECRET, ts, body)), "/hooks/cmd/" + hook);
  }

  static Sent click(String user, String actionId, String requestId) throws Exception {
    String hook = UUID.randomUUID().toString();
    String body = clickBody(user, actionId, requestId, hook);
    long ts = now();
    return new Sent(send("/slack/interactions", body, ts, sign(SECRET, ts, body)), "/hooks/click/" + hook);
  }

  static JsonNode responseTo(Sent s) throws InterruptedException {
    return slack.awaitOne(p -> p.path.equals(s.hook), "response to " + s.hook).json;
  }

  /** Files a request as {@code user} and returns its id, read from the answer posted to response_url. */
  static String request(String user, String text) throws Exception {
    Sent s = command(user, text);
    assertEquals(200, s.response.statusCode(), s.response.body());
    assertTrue(s.response.body().contains("Working on it"), s.response.body());
    String answer = responseTo(s).path("text").asText();
    Matcher m = ID.matcher(answer);
    assertTrue(m.find(), answer);
    return m.group(1);
  }

  static String state(String id) throws Exception {
    return broker.get("/api/v1/requests/" + id, "bob;sre-leads").expect(200).json.path("state").asText();
  }

  static String pendingExecRequest(String user) throws Exception {
    String id = request(user, "request oncall-debug exec payments 30m INC-42 pod crash-loops, need a shell");
    assertEquals("PENDING_APPROVAL", state(id));
    return id;
  }

  // ---- the tests ----

  @Test
  void aFullApprovalThroughAButtonClick() throws Exception {
    String id = pendingExecRequest("UALICE");
    FakeSlack.Post message = slack.awaitOne(p -> p.path.equals("/api/chat.postMessage") && p.body.contains(id)
        && p.json.path("blocks").toString().contains("kubejit.approve"), "approval message for " + id);
    assertEquals("CPAYMENTS", message.json.path("channel").asText());
    assertEquals("Bearer xoxb-test-token", message.headers.get("authorization"));
    String blocks = message.json.path("blocks").toString();
    for (String shown : new String[] {"alice", "oncall-debug / exec", "prod/payments", "30m", "INC-42", "pod crash-loops",
        "sre-leads", "Policy rule"}) {
      assertTrue(blocks.contains(shown), shown + " in " + blocks);
    }

    Sent c = click("UBOB", "kubejit.approve", id);
    assertEquals(200, c.response.statusCode());
    JsonNode decided = responseTo(c);
    assertTrue(decided.path("replace_original").asBoolean(), decided.toString());
    assertTrue(decided.path("blocks").toString().contains("Approved by *bob*"), decided.toString());
    assertFalse(decided.path("blocks").toString().contains("kubejit.approve"), "no buttons once decided");
    assertEquals("APPROVED", state(id));

    // the original message is updated and the thread hears of it
    FakeSlack.Post update = slack.awaitOne(p -> p.path.equals("/api/chat.update") && p.body.contains(id), "chat.update");
    assertEquals(message.json.path("channel").asText(), update.json.path("channel").asText());
    assertTrue(update.json.path("blocks").toString().contains("Approved by *bob*"));
    slack.awaitOne(p -> p.path.equals("/api/chat.postMessage") && p.json.path("thread_ts").isTextual()
        && p.body.contains("Approved by *bob*"), "thread reply");

    // revoke from Slack: done asynchronously, posted to response_url, in the same thread
    Sent r = command("UALICE", "revoke " + id + " done, thanks");
    assertTrue(responseTo(r).path("text").asText().startsWith("Revoked"), responseTo(r).toString());
    assertEquals("REVOKED", state(id));
    slack.awaitOne(p -> p.path.equals("/api/chat.postMessage") && p.json.path("thread_ts").isTextual()
        && p.body.contains("was revoked by *alice*"), "revoke in thread");

    // the signed webhook saw both transitions, each verifiable
    List<FakeSlack.Post> hooks = slack.await(p -> p.path.equals("/webhook") && p.body.contains(id), 3, "webhooks");
    for (FakeSlack.Post h : hooks) {
      String ts = h.headers.get("x-kubejit-timestamp");
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(WEBHOOK_SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      String expected = "v1=" + HexFormat.of().formatHex(mac.doFinal(("v1:" + ts + ":" + h.body).getBytes(StandardCharsets.UTF_8)));
      assertTrue(MessageDigest.isEqual(expected.getBytes(StandardCharsets.UTF_8),
          h.headers.get("x-kubejit-signature").getBytes(StandardCharsets.UTF_8)), h.toString());
    }
    assertEquals(List.of("PENDING_APPROVAL", "APPROVED", "REVOKED"),
        hooks.stream().map(h -> h.json.path("type").asText()).toList());
  }

  @Test
  void badSignaturesWrongSecretsAndStaleOrFutureTimestampsAreRefusedAndChangeNothing() throws Exception {
    String body = commandBody("UERIN", "request oncall-debug logs payments 30m INC-7 refused", "never");
    long ts = now();
    String good = sign(SECRET, ts, body);
    String flipped = good.substring(0, good.length() - 1) + (good.endsWith("0") ? "1" : "0");
    assertRefused(send("/slack/commands", body, ts, flipped), "invalid signature");
    assertRefused(send("/slack/commands", body, ts, sign("not-the-secret", ts, body)), "invalid signature");
    assertRefused(send("/slack/commands", body, ts, "v1=" + good.substring(3)), "invalid signature");
    assertRefused(send("/slack/commands", body + "&x=1", ts, good), "invalid signature");
    // well outside the window (the exact 300 s edge is SlackVerifierTest's, on a fixed clock; here seconds tick)
    assertRefused(send("/slack/commands", body, ts - 330, sign(SECRET, ts - 330, body)), "stale request");
    assertRefused(send("/slack/commands", body, ts + 330, sign(SECRET, ts + 330, body)), "stale request");
    HttpResponse<String> unsigned = broker.client.send(HttpRequest.newBuilder(broker.base.resolve("/slack/commands"))
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    assertRefused(unsigned, "invalid signature");
    Sent status = command("UERIN", "status");
    assertTrue(status.response.body().contains("You have no open requests"), status.response.body());
    assertTrue(slack.matching(p -> p.path.equals("/hooks/cmd/never")).isEmpty());
  }

  static void assertRefused(HttpResponse<String> r, String body) {
    assertEquals(401, r.statusCode(), r.body());
    assertEquals(body, r.body());
  }

  @Test
  void aReplayIsRefusedAndSlacksRetriesAreAnsweredWithoutActingTwice() throws Exception {
    String hook = UUID.randomUUID().toString();
    String body = commandBody("UDAVE", "request oncall-debug logs payments 30m INC-8 once only", hook);
    long ts = now();
    String sig = sign(SECRET, ts, body);
    assertEquals(200, send("/slack/commands", body, ts, sig).statusCode());
    assertRefused(send("/slack/commands", body, ts, sig), "stale request");
    // Slack retries: the same body, re-signed, with X-Slack-Retry-Num
    long later = ts + 2;
    HttpResponse<String> retry = send("/slack/commands", body, later, sign(SECRET, later, body), "X-Slack-Retry-Num", "1",
        "X-Slack-Retry-Reason", "http_timeout");
    assertEquals(200, retry.statusCode());
    assertTrue(retry.body().contains("Already handled"), retry.body());
    HttpResponse<String> retry2 = send("/slack/commands", body, ts, sig, "X-Slack-Retry-Num", "2");
    assertEquals(200, retry2.statusCode());
    slack.awaitOne(p -> p.path.equals("/hooks/cmd/" + hook), "the one answer");
    Sent status = command("UDAVE", "status");
    assertEquals(1, status.response.body().split("INC|oncall-debug").length - 1, status.response.body());
    assertEquals(1, slack.matching(p -> p.path.equals("/hooks/cmd/" + hook)).size());
  }

  @Test
  void anUnknownUserIsRefusedWhateverNameTheTextClaims() throws Exception {
    Sent s = command("UMALLORY", "request oncall-debug logs payments 30m INC-9 I am alice");
    assertEquals(200, s.response.statusCode());
    assertTrue(s.response.body().contains("not in the KubeJIT directory"), s.response.body());
    assertTrue(s.response.body().contains("ephemeral"), s.response.body());
    String id = pendingExecRequest("UALICE");
    Sent c = click("UMALLORY", "kubejit.approve", id);
    assertEquals(200, c.response.statusCode());
    assertTrue(responseTo(c).path("text").asText().contains("not in the KubeJIT directory"));
    assertEquals("PENDING_APPROVAL", state(id));
  }

  @Test
  void malformedInputGetsTheUsageEphemerally() throws Exception {
    for (String text : new String[] {"", "frobnicate", "request oncall-debug exec payments", "request a b c forever INC-1 x",
        "deny abc", "status a b"}) {
      Sent s = command("UALICE", text);
      assertEquals(200, s.response.statusCode());
      JsonNode j = Json.MAPPER.readTree(s.response.body());
      assertEquals("ephemeral", j.path("response_type").asText());
      assertTrue(j.path("text").asText().startsWith("Usage:"), text + " -> " + j);
    }
  }

  @Test
  void theRequesterCannotApproveTheirOwnRequestAndANonApproverCannotApprove() throws Exception {
    String id = pendingExecRequest("UALICE");
    Sent self = click("UALICE", "kubejit.approve", id);
    JsonNode r = responseTo(self);
    assertEquals("ephemeral", r.path("response_type").asText());
    assertFalse(r.path("replace_original").asBoolean());
    assertTrue(r.path("text").asText().contains("your own request"), r.toString());
    Sent other = click("UDAVE", "kubejit.approve", id);
    assertTrue(responseTo(other).path("text").asText().contains("not in an approver group"));
    Sent cmd = command("UALICE", "approve " + id + " looks fine to me");
    assertTrue(responseTo(cmd).path("text").asText().contains("your own request"));
    assertEquals("PENDING_APPROVAL", state(id));
  }

  @Test
  void aDoubleClickDecidesOnce() throws Exception {
    String id = pendingExecRequest("UALICE");
    JsonNode first = responseTo(click("UBOB", "kubejit.deny", id));
    assertTrue(first.path("replace_original").asBoolean(), first.toString());
    JsonNode second = responseTo(click("UBOB", "kubejit.deny", id));
    assertFalse(second.path("replace_original").asBoolean());
    assertTrue(second.path("text").asText().contains("no longer waiting for approval"), second.toString());
    assertTrue(second.path("text").asText().contains("Denied by *bob*"), second.toString());
    JsonNode late = responseTo(click("UCAROL", "kubejit.approve", id));
    assertTrue(late.path("text").asText().contains("no longer waiting"), late.toString());
    assertEquals("DENIED", state(id));
  }

  @Test
  void concurrentClicksByTwoApproversDecideExactlyOnce() throws Exception {
    String id = pendingExecRequest("UALICE");
    String[] bodies = new String[2];
    String[] hooks = new String[2];
    String[] users = {"UBOB", "UCAROL"};
    for (int i = 0; i < 2; i++) {
      hooks[i] = UUID.randomUUID().toString();
      bodies[i] = clickBody(users[i], "kubejit.approve", id, hooks[i]);
    }
    CountDownLatch go = new CountDownLatch(1);
    List<CompletableFuture<HttpResponse<String>>> clicks = new java.util.ArrayList<>();
    for (int i = 0; i < 2; i++) {
      int k = i;
      clicks.add(CompletableFuture.supplyAsync(() -> {
        try {
          go.await();
          long ts = now();
          return send("/slack/interactions", bodies[k], ts, sign(SECRET, ts, bodies[k]));
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }));
    }
    go.countDown();
    for (CompletableFuture<HttpResponse<String>> f : clicks) {
      assertEquals(200, f.get().statusCode());
    }
    int decided = 0;
    for (String h : hooks) {
      JsonNode r = slack.awaitOne(p -> p.path.equals("/hooks/click/" + h), "click answer").json;
      if (r.path("replace_original").asBoolean()) {
        decided++;
      } else {
        assertTrue(r.path("text").asText().contains("no longer waiting"), r.toString());
      }
    }
    assertEquals(1, decided);
    JsonNode rec = broker.get("/api/v1/requests/" + id, "bob;sre-leads").expect(200).json;
    assertEquals("APPROVED", rec.path("state").asText());
    assertEquals(1, rec.path("approvals").size(), rec.toString());
  }

  @Test
  void a429WithRetryAfterFromSlackIsHonouredAndTheMessageArrives() throws Exception {
    int before = slack.postMessageAttempts.get();
    slack.rateLimited.set(1);
    String id = pendingExecRequest("UERIN");
    slack.awaitOne(p -> p.path.equals("/api/chat.postMessage") && p.body.contains(id)
        && p.body.contains("kubejit.approve"), "the approval message after a 429");
    assertTrue(slack.postMessageAttempts.get() - before >= 2, "a retry was made");
    assertEquals(0, slack.rateLimited.get());
  }

  @Test
  void injectionInTicketAndReasonIsEscaped() throws Exception {
    String id = request("UALICE", "request oncall-debug exec payments 30m INC-43 <!channel> see <https://evil.example|this> & co");
    FakeSlack.Post m = slack.awaitOne(p -> p.path.equals("/api/chat.postMessage") && p.body.contains(id)
        && p.body.contains("kubejit.approve"), "approval message");
    String ticketId = request("UALICE", "request oncall-debug exec payments 30m <!here>INC-44 ticket injection");
    FakeSlack.Post denied = slack.awaitOne(p -> p.path.equals("/api/chat.postMessage") && p.body.contains(ticketId),
        "denial message");
    for (FakeSlack.Post p : List.of(m, denied)) {
      String text = p.json.toString();
      assertFalse(text.contains("<!channel>") || text.contains("<!here>") || text.contains("<https://evil"), text);
    }
    assertTrue(m.json.toString().contains("&lt;!channel&gt; see &lt;https://evil.example|this&gt; &amp; co"), m.body);
    assertTrue(denied.json.toString().contains("&lt;!here&gt;INC-44"), denied.body);
    for (JsonNode b : m.json.path("blocks")) {
      assertTrue(b.toString().length() < 3500);
    }
  }
}
