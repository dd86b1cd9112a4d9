package dev.kubejit.chatops;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.Identity;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.spi.AccessPolicy;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.net.URLDecoder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/**
 * Hostile Slack requests against {@link SlackChatOps#handle}: slash commands (form bodies) and
 * button clicks ({@code payload=} JSON), with their signature headers and timestamps, served by a
 * real broker (in-memory SPIs) and the real file directory.
 *
 * <p>An input is two control bytes and a body. Byte 0: bit 0 the interactions route (else the
 * commands route); bits 1–3 the signature: 0–3 Slack's v0 signature of this timestamp and body
 * with the signing secret, 4 one made with another secret, 5 the right one with a hex digit
 * changed, 6 one over another body, 7 the timestamp header one second off the signed one; bit 4
 * adds {@code X-Slack-Retry-Num}; bit 5 sends the same request a second time; bit 6 uses GET;
 * bit 7 upper-cases the signature header. Byte 1, signed, times 3 s is the timestamp's distance
 * from now (the window is 300 s). In the body {@code @ID@} becomes the id of the request most
 * recently filed and {@code @HOOK@} the allowed {@code response_url} prefix (a local receiver), so
 * the seeds (the bodies Slack sends, as the jit-server ChatOps tests build them) reach every verb.
 *
 * <p>Properties: {@code handle} never throws and answers only 200, 400, 401, 404, 405 or 413, JSON
 * when it says so. A request whose signature does not verify — checked here, with the test's own
 * HMAC, timestamp window and method — is answered 401 (or 405) and reaches neither the directory
 * nor the request store nor the audit sink. A request that verifies reaches the store or the audit
 * sink only when its team and user ids (read here with a separate parse of the form or the JSON)
 * are a directory user's; every audit event it causes names exactly that user's identity; it writes
 * audit events only for a transition verb ({@code request}, {@code approve}, {@code deny}, {@code
 * revoke}, written in ASCII) or a button, of the types that verb causes; and a request it files has
 * exactly the role, action, namespace and ticket the command's words give. A second delivery of a
 * verified request is answered "stale" (or, as a retry, "already handled") and reaches nothing.
 * {@code scripts/fuzz.sh slack SECONDS} fuzzes.
 */
class SlackFuzzTest {
  static {
    // Thousands of refusals a second would otherwise each be logged.
    System.setProperty("org.slf4j.simpleLogger.log.dev.kubejit", "error");
  }

  private static final Instant NOW = Instant.parse("2026-03-01T10:00:00Z");
  private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
  private static final byte[] SECRET = "slack-signing-secret-for-fuzzing-0123456789".getBytes(UTF_8);
  private static final byte[] OTHER_SECRET = "another-slack-app-signing-secret-98765".getBytes(UTF_8);
  private static final String TEAM = "T0TEAM";
  private static final Map<String, Identity> PEOPLE = Map.of(
      "UALICE", Identity.of("alice", "oncall-payments").assertedBy("slack:" + TEAM),
      "UBOB", Identity.of("bob", "sre-leads").assertedBy("slack:" + TEAM),
      "UCAROL", Identity.of("carol", "sre-leads").assertedBy("slack:" + TEAM));
  private static final Set<Integer> DOCUMENTED = Set.of(200, 400, 401, 404, 405, 413);
  private static final Map<String, Set<AuditEventType>> CAUSES = Map.of(
      "request", Set.of(AuditEventType.REQUEST_CREATED, AuditEventType.REQUEST_APPROVED, AuditEventType.REQUEST_DENIED),
      "approve", Set.of(AuditEventType.APPROVAL_RECORDED, AuditEventType.REQUEST_APPROVED),
      "deny", Set.of(AuditEventType.REQUEST_DENIED),
      "revoke", Set.of(AuditEventType.REQUEST_REVOKED, AuditEventType.GRANT_REVOKED));
  private static final ObjectMapper OWN_JSON = new ObjectMapper();

  private static final AtomicLong lookups = new AtomicLong();
  private static final AtomicLong storeCalls = new AtomicLong();
  private static final List<RequestRecord> inserted = Collections.synchronizedList(new ArrayList<>());
  private static final List<AuditEvent> audited = Collections.synchronizedList(new ArrayList<>());
  private static final Receiver HOOKS = receiver();
  private static final String HOOK = HOOKS.base + "hooks/";
  private static final DeliveryQueue RESPONSES = DeliveryQueue.builder("slack-fuzz").capacity(64).maxAttempts(1).build();
  private static final SlackDirectory DIRECTORY = directory();
  private static JitBroker broker;
  private static long calls;
  private static String knownId = "aaaaaaaaaaaaaaaaaaaaaaaaaa";
  private static List<AuditEvent> lastEvents = List.of();

  private static Receiver receiver() {
    try {
      return new Receiver(g -> Receiver.Answer.ok(""));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The real file directory, wrapped to count lookups. */
  private static SlackDirectory directory() {
    try {
      Path f = Files.createTempFile("slack-fuzz-directory", ".yaml");
      try {
        Files.writeString(f, "users:\n"
            + "  - {team: T0TEAM, user: UALICE, name: alice, groups: [oncall-payments]}\n"
            + "  - {team: T0TEAM, user: UBOB, name: bob, groups: [sre-leads]}\n"
            + "  - {team: T0TEAM, user: UCAROL, name: carol, groups: [sre-leads]}\n");
        SlackDirectory real = SlackDirectory.fromFile(f);
        return (team, user) -> {
          lookups.incrementAndGet();
          return real.lookup(team, user);
        };
      } finally {
        Files.delete(f);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A store that counts every call and keeps what is inserted. */
  private static RequestStore counting(RequestStore delegate) {
    return (RequestStore) Proxy.newProxyInstance(RequestStore.class.getClassLoader(), new Class<?>[] {RequestStore.class},
        (proxy, method, args) -> {
          storeCalls.incrementAndGet();
          if (method.getName().equals("insert")) {
            inserted.add((RequestRecord) args[0]);
          }
          try {
            return method.invoke(delegate, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
        });
  }

  /** A fresh broker every 2,000 calls, so that long runs do not fill the in-memory store. */
  private static JitBroker broker() {
    if (broker == null || ++calls % 2000 == 0) {
      broker = JitBroker.builder().clock(CLOCK).store(counting(RequestStore.inMemory()))
          .auditSink(events -> audited.addAll(events)).rbacProvisioner(RbacProvisioner.inMemory())
          .policy(AccessPolicy.staticRules()
              .role("oncall-debug", r -> r.requesters("oncall-payments").namespaces("payments")
                  .durations(Duration.ofMinutes(30), Duration.ofHours(1)).manual(Action.EXEC, 1, "sre-leads")
                  .auto(Action.LOGS))
              .build())
          .build();
    }
    return broker;
  }

  static String v0(byte[] secret, String timestamp, byte[] body) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(secret, "HmacSHA256"));
    mac.update(("v0:" + timestamp + ":").getBytes(UTF_8));
    return "v0=" + HexFormat.of().formatHex(mac.doFinal(body));
  }

  @FuzzTest(maxDuration = "30s")
  void onlySignedRequestsFromDirectoryUsersReachTheBroker(byte[] input) throws Exception {
    if (input.length < 2) {
      return;
    }
    int flags = input[0] & 0xff;
    boolean interactions = (flags & 1) != 0;
    int signatureMode = (flags >> 1) & 7;
    boolean retry = (flags & 0x10) != 0;
    boolean twice = (flags & 0x20) != 0;
    String method = (flags & 0x40) != 0 ? "GET" : "POST";
    String path = SlackChatOps.PATH_PREFIX + (interactions ? "/interactions" : "/commands");
    long ts = NOW.getEpochSecond() + input[1] * 3L;
    byte[] body = new String(input, 2, input.length - 2, ISO_8859_1).replace("@ID@", knownId).replace("@HOOK@", HOOK)
        .getBytes(ISO_8859_1);

    String tsHeader = Long.toString(ts);
    String signature;
    switch (signatureMode) {
      case 4:
        signature = v0(OTHER_SECRET, tsHeader, body);
        break;
      case 5: {
        char[] s = v0(SECRET, tsHeader, body).toCharArray();
        int i = 3 + input.length % 64;
        s[i] = s[i] == '0' ? '1' : '0';
        signature = new String(s);
        break;
      }
      case 6: {
        byte[] other = java.util.Arrays.copyOf(body, body.length + 1);
        other[body.length] = 'x';
        signature = v0(SECRET, tsHeader, other);
        break;
      }
      case 7:
        signature = v0(SECRET, tsHeader, body);
        tsHeader = Long.toString(ts + 1);
        break;
      default:
        signature = v0(SECRET, tsHeader, body);
    }
    if ((flags & 0x80) != 0) {
      signature = signature.toUpperCase(Locale.ROOT);
    }
    Map<String, String> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    headers.put("Content-Type", "application/x-www-form-urlencoded");
    headers.put("X-Slack-Request-Timestamp", tsHeader);
    headers.put("X-Slack-Signature", signature);
    if (retry) {
      headers.put("X-Slack-Retry-Num", "1");
    }
    // The test's own verdict: POST, within 300 s of now, and the v0 HMAC of exactly these bytes.
    boolean authentic = method.equals("POST") && body.length <= SlackChatOps.MAX_BODY
        && Math.abs(Long.parseLong(tsHeader) - NOW.getEpochSecond()) <= 300
        && MessageDigest.isEqual(v0(SECRET, tsHeader, body).getBytes(UTF_8), signature.getBytes(UTF_8));

    JitBroker b = broker();
    long lookups0 = lookups.get();
    long store0 = storeCalls.get();
    inserted.clear();
    audited.clear();
    HOOKS.got.clear();
    HOOKS.attempts.clear();
    ChatReply first;
    ChatReply second = null;
    long lookupsBeforeSecond = 0;
    long lookupsAfterSecond = 0;
    SlackChatOps chat = SlackChatOps.builder().broker(b).signingSecret(SECRET).directory(DIRECTORY).cluster("prod")
        .clock(CLOCK).responseUrlPrefix(HOOK).responses(RESPONSES).workers(1).build();
    try {
      first = chat.handle(method, path, name -> Optional.ofNullable(headers.get(name)), body);
      if (twice) {
        lookupsBeforeSecond = lookups.get();
        second = chat.handle(method, path, name -> Optional.ofNullable(headers.get(name)), body);
        lookupsAfterSecond = lookups.get();
      }
    } finally {
      chat.close(); // waits for the transitions the workers run
    }
    List<AuditEvent> events = List.copyOf(audited);
    List<RequestRecord> filed = List.copyOf(inserted);
    lastEvents = events;
    if (!filed.isEmpty()) {
      knownId = filed.get(filed.size() - 1).id().toString();
    }

    checkReply(first);
    if (!authentic) {
      assertTrue(Set.of(401, 405).contains(first.status()), () -> "a request that does not verify answered " + first);
      assertEquals(lookups0, lookups.get(), "a request that does not verify reached the directory");
      assertEquals(store0, storeCalls.get(), "a request that does not verify reached the request store");
      assertEquals(List.of(), events, "a request that does not verify reached the audit sink");
      return;
    }
    if (second != null) {
      checkReply(second);
      String text = new String(second.body(), UTF_8);
      boolean handledRetry = retry && second.status() == 200
          && (interactions ? text.isEmpty() : text.contains("Already handled."));
      assertTrue(handledRetry || (second.status() == 401 && text.equals("stale request")),
          "a second delivery was acted on: " + second + " " + text);
      assertEquals(lookupsBeforeSecond, lookupsAfterSecond, "a second delivery reached the directory");
    }

    Identity speaker = interactions ? clicker(body) : commander(body);
    if (speaker == null) {
      assertEquals(store0, storeCalls.get(), "a request from no directory user reached the request store");
      assertEquals(List.of(), events, "a request from no directory user reached the audit sink");
      return;
    }
    if (events.isEmpty() && filed.isEmpty()) {
      return;
    }
    Set<AuditEventType> allowed = interactions ? Set.of(AuditEventType.APPROVAL_RECORDED,
        AuditEventType.REQUEST_APPROVED, AuditEventType.REQUEST_DENIED) : CAUSES.get(verb(body));
    assertNotNull(allowed, () -> "no transition verb, yet the broker wrote " + events + " for " + show(body));
    for (AuditEvent e : events) {
      assertEquals(Optional.of(speaker), e.actor(), () -> "an event for someone else than the signed user: " + e);
      assertTrue(allowed.contains(e.type()), () -> "an event " + e.type() + " for " + show(body));
    }
    for (RequestRecord r : filed) {
      List<String> w = words(field(form(body), "text"));
      assertTrue(!interactions && w.size() >= 7, () -> "a request filed from " + show(body));
      AccessRequest req = r.request();
      assertEquals(speaker, req.requester());
      assertEquals(w.get(1), req.role());
      assertEquals(w.get(2).toLowerCase(Locale.ROOT), req.action().name());
      assertEquals(Optional.of(w.get(3)), req.scope().namespace());
      assertEquals("prod", req.scope().cluster());
      assertEquals(Optional.of(w.get(5)), req.ticket());
    }
  }

  /** The seeds are alive: signed ones act on the broker as their user, the others do not. */
  @Test
  void theSeedsReachTheBrokerOnlyWhenSigned() throws Exception {
    assertEquals(List.of(AuditEventType.REQUEST_CREATED), types(seed("request-exec")));
    assertEquals(RequestState.PENDING_APPROVAL, broker.find(dev.kubejit.api.RequestId.parse(knownId)).orElseThrow().state());
    for (String unsigned : List.of("wrong-secret", "flipped-digit", "other-body", "timestamp-off-by-one", "stale", "future",
        "get", "upper-case-signature", "unknown-user", "other-team", "click-unknown-user", "click-wrong-secret")) {
      assertEquals(List.of(), types(seed(unsigned)), unsigned);
    }
    assertEquals(List.of(AuditEventType.REQUEST_APPROVED), types(seed("approve")));
    assertEquals(PEOPLE.get("UBOB"), lastEvents.get(0).actor().orElseThrow());
    seed("request-exec");
    assertEquals(List.of(AuditEventType.REQUEST_DENIED), types(seed("click-deny")));
    assertEquals(PEOPLE.get("UCAROL"), lastEvents.get(0).actor().orElseThrow());
  }

  private List<AuditEvent> seed(String name) throws Exception {
    try (java.io.InputStream in = SlackFuzzTest.class.getResourceAsStream(
        "SlackFuzzTestInputs/onlySignedRequestsFromDirectoryUsersReachTheBroker/" + name)) {
      onlySignedRequestsFromDirectoryUsersReachTheBroker(in.readAllBytes());
    }
    return lastEvents;
  }

  private static List<AuditEventType> types(List<AuditEvent> events) {
    return events.stream().map(AuditEvent::type).collect(java.util.stream.Collectors.toList());
  }

  private static void checkReply(ChatReply r) throws IOException {
    assertTrue(DOCUMENTED.contains(r.status()), () -> "undocumented status " + r);
    if (r.contentType().startsWith("application/json")) {
      assertTrue(OWN_JSON.readTree(r.body()).isObject(), "a JSON answer is an object");
    } else {
      assertEquals("text/plain; charset=utf-8", r.contentType());
    }
  }

  // ---- the test's own reading of a body, separate from the handler's ----

  /** The form fields, first value of each; a field that does not decode is left out. */
  private static Map<String, String> form(byte[] body) {
    Map<String, String> m = new TreeMap<>();
    for (String pair : new String(body, UTF_8).split("&", -1)) {
      int eq = pair.indexOf('=');
      try {
        String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), UTF_8);
        String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), UTF_8);
        m.putIfAbsent(k, v);
      } catch (IllegalArgumentException e) {
        // not a field
      }
    }
    return m;
  }

  private static String field(Map<String, String> form, String name) {
    return form.getOrDefault(name, "");
  }

  /** The directory identity of a command's team_id and user_id, or null. */
  private static Identity commander(byte[] body) {
    Map<String, String> f = form(body);
    return TEAM.equals(f.get("team_id")) ? person(f.get("user_id")) : null;
  }

  /** The directory identity of a click's team (team.id, else user.team_id) and user.id, or null. */
  private static Identity clicker(byte[] body) {
    JsonNode p;
    try {
      p = OWN_JSON.readTree(field(form(body), "payload"));
    } catch (IOException e) {
      return null;
    }
    if (p == null) {
      return null;
    }
    JsonNode teamId = p.path("team").path("id");
    String team = teamId.isTextual() ? teamId.textValue()
        : teamId.isMissingNode() || teamId.isNull() ? p.path("user").path("team_id").textValue() : null;
    return TEAM.equals(team) ? person(p.path("user").path("id").textValue()) : null;
  }

  /** The directory identity of a user id, or null (Map.of refuses a null key). */
  private static Identity person(String userId) {
    return userId == null ? null : PEOPLE.get(userId);
  }

  /** The words of a command text, split at ASCII white space. */
  private static List<String> words(String text) {
    String t = text.replaceAll("^[ \\t\\n\\x0B\\f\\r]+|[ \\t\\n\\x0B\\f\\r]+$", "");
    return t.isEmpty() ? List.of() : List.of(t.split("[ \\t\\n\\x0B\\f\\r]+"));
  }

  /** A command's verb if it is ASCII letters only (lower-cased), else null. */
  private static String verb(byte[] body) {
    List<String> w = words(field(form(body), "text"));
    return w.isEmpty() || !w.get(0).matches("[A-Za-z]+") ? null : w.get(0).toLowerCase(Locale.ROOT);
  }

  private static String show(byte[] body) {
    String s = new String(body, UTF_8);
    return s.length() > 300 ? s.substring(0, 300) + "..." : s;
  }
}
