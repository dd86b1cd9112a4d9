package dev.kubejit.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.Identity;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.Scope;
import dev.kubejit.api.spi.AccessPolicy;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The console's request handling without a browser: sign-in (state bound to the browser, PKCE
 * checked by the token endpoint, nonce, session bounded by the token), CSRF, self-approval,
 * escaping, sign-out, open redirects. The issuer here is a small HTTP server on loopback with a
 * discovery document and a token endpoint that checks the PKCE verifier; the real Keycloak is in
 * jit-server's ConsoleBrowserKubeTest.
 */
class WebConsoleTest {
  static final String HOSTILE = "<script>alert(1)</script><a href=\"javascript:x()\">y</a>";

  final MutableClock clock = new MutableClock(Instant.parse("2026-12-02T09:00:00Z"));
  HttpServer issuer;
  String issuerUrl;
  /** Per authorization code: the PKCE challenge and nonce it was issued for and the user it signs in. */
  final Map<String, String[]> codes = new ConcurrentHashMap<>();
  Duration tokenLifetime = Duration.ofMinutes(5);
  JitBroker broker;
  WebConsole console;

  @BeforeEach
  void start() throws Exception {
    issuer = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    issuerUrl = "http://127.0.0.1:" + issuer.getAddress().getPort() + "/realm";
    issuer.createContext("/realm/.well-known/openid-configuration", ex -> {
      byte[] b = ("{\"issuer\":\"" + issuerUrl + "\",\"authorization_endpoint\":\"" + issuerUrl + "/auth\","
          + "\"token_endpoint\":\"" + issuerUrl + "/token\"}").getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(200, b.length);
      ex.getResponseBody().write(b);
      ex.close();
    });
    issuer.createContext("/realm/token", ex -> {
      Map<String, String> f = form(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
      String[] c = codes.remove(f.get("code"));
      String body;
      int status;
      if (c == null || !OidcClient.challenge(f.get("code_verifier")).equals(c[0])
          || !"Basic a3ViZWppdC1jb25zb2xlOnMzY3IzdA==".equals(ex.getRequestHeaders().getFirst("Authorization"))) {
        status = 400;
        body = "{\"error\":\"invalid_grant\"}";
      } else {
        status = 200;
        body = "{\"id_token\":\"" + c[2] + "|" + c[1] + "|" + clock.instant().plus(tokenLifetime).getEpochSecond() + "\"}";
      }
      byte[] b = body.getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(status, b.length);
      ex.getResponseBody().write(b);
      ex.close();
    });
    issuer.start();
    broker = JitBroker.builder().clock(clock)
        .policy(AccessPolicy.staticRules().role("oncall-debug", r -> r.requesters("sre").namespaces("payments")
            .durations(Duration.ofMinutes(30), Duration.ofHours(1)).manual(Action.EXEC, 1, "leads")).build())
        .store(RequestStore.inMemory()).auditSink(AuditSink.inMemory()).rbacProvisioner(RbacProvisioner.inMemory())
        .build();
    console = WebConsole.builder().broker(broker).clock(clock)
        .oidc(issuerUrl, "kubejit-console", HttpClient.newHttpClient(), token -> {
          // The fake issuer's "token" is user|nonce|exp; the groups come from the user name.
          String[] p = token.split("\\|");
          Identity id = Identity.of(p[0], p[0].equals("alice") ? "sre" : "leads");
          return VerifiedIdToken.of(id, Instant.ofEpochSecond(Long.parseLong(p[2])), p[1].isEmpty() ? null : p[1]);
        })
        .clientSecret(() -> "s3cr3t".toCharArray())
        .baseUrl(URI.create("https://console.example.test"))
        .build();
  }

  @AfterEach
  void stop() {
    issuer.stop(0);
  }

  /** The browser side of a sign-in: returns the session cookie value. */
  String signIn(String user) {
    return signIn(user, "/").cookie;
  }

  record SignedIn(String cookie, ConsoleReply reply) {}

  SignedIn signIn(String user, String next) {
    ConsoleReply login = get("/login", "next=" + URLEncoder.encode(next, StandardCharsets.UTF_8), null);
    assertEquals(303, login.status());
    URI auth = URI.create(login.headers().get("Location"));
    assertTrue(auth.toString().startsWith(issuerUrl + "/auth?"), auth.toString());
    Map<String, String> q = form(auth.getRawQuery());
    assertEquals("code", q.get("response_type"));
    assertEquals("S256", q.get("code_challenge_method"));
    assertEquals("https://console.example.test/oauth/callback", q.get("redirect_uri"));
    String loginCookie = login.headers().get("Set-Cookie");
    assertTrue(loginCookie.startsWith(WebConsole.LOGIN_COOKIE + "=" + q.get("state") + ";"), loginCookie);
    assertTrue(loginCookie.contains("HttpOnly") && loginCookie.contains("Secure"), loginCookie);
    String code = "code-" + user + "-" + codes.size();
    codes.put(code, new String[] {q.get("code_challenge"), q.get("nonce"), user});
    ConsoleReply cb = get(WebConsole.CALLBACK_PATH, "state=" + q.get("state") + "&code=" + code,
        WebConsole.LOGIN_COOKIE + "=" + q.get("state"));
    assertEquals(200, cb.status(), cb.bodyText());
    String set = cb.headers().get("Set-Cookie");
    Matcher m = Pattern.compile(Pattern.quote(WebConsole.SESSION_COOKIE) + "=([A-Za-z0-9_-]+);").matcher(set);
    assertTrue(m.find(), set);
    return new SignedIn(m.group(1), cb);
  }

  @Test
  void signInGivesAStrictHttpOnlySecureSessionThatEndsWithTheIdToken() {
    tokenLifetime = Duration.ofMinutes(2);
    ConsoleReply login = get("/login", "", null);
    Map<String, String> q = form(URI.create(login.headers().get("Location")).getRawQuery());
    codes.put("c1", new String[] {q.get("code_challenge"), q.get("nonce"), "carol"});
    ConsoleReply cb = get(WebConsole.CALLBACK_PATH, "state=" + q.get("state") + "&code=c1",
        WebConsole.LOGIN_COOKIE + "=" + q.get("state"));
    String set = cb.headers().get("Set-Cookie");
    assertTrue(set.contains("; Path=/; Max-Age=120; HttpOnly; Secure; SameSite=Strict"), set);
    String cookie = set.substring(set.indexOf('=') + 1, set.indexOf(';'));
    assertEquals(200, get("/", "", session(cookie)).status());
    clock.advance(Duration.ofSeconds(120));
    ConsoleReply after = get("/", "", session(cookie));
    assertEquals(303, after.status(), "the session ended with the ID token, before the 15 min TTL");
  }

  @Test
  void theCallbackNeedsTheBrowserThatStartedItTheRightVerifierAndTheNonce() {
    ConsoleReply login = get("/login", "", null);
    Map<String, String> q = form(URI.create(login.headers().get("Location")).getRawQuery());
    codes.put("c2", new String[] {q.get("code_challenge"), q.get("nonce"), "carol"});
    // Another browser (no or another login cookie) cannot complete this sign-in.
    assertEquals(400, get(WebConsole.CALLBACK_PATH, "state=" + q.get("state") + "&code=c2", null).status());
    assertEquals(400, get(WebConsole.CALLBACK_PATH, "state=" + q.get("state") + "&code=c2",
        WebConsole.LOGIN_COOKIE + "=other").status());
    // A code issued for another PKCE challenge is refused by the token endpoint.
    codes.put("c3", new String[] {"not-this-challenge", q.get("nonce"), "carol"});
    assertEquals(401, get(WebConsole.CALLBACK_PATH, "state=" + q.get("state") + "&code=c3",
        WebConsole.LOGIN_COOKIE + "=" + q.get("state")).status());
    // The state is spent now: a replay does not sign in.
    assertEquals(400, get(WebConsole.CALLBACK_PATH, "state=" + q.get("state") + "&code=c2",
        WebConsole.LOGIN_COOKIE + "=" + q.get("state")).status());

    ConsoleReply again = get("/login", "", null);
    Map<String, String> q2 = form(URI.create(again.headers().get("Location")).getRawQuery());
    codes.put("c4", new String[] {q2.get("code_challenge"), "another-nonce", "carol"});
    ConsoleReply wrongNonce = get(WebConsole.CALLBACK_PATH, "state=" + q2.get("state") + "&code=c4",
        WebConsole.LOGIN_COOKIE + "=" + q2.get("state"));
    assertEquals(401, wrongNonce.status());
    assertFalse(wrongNonce.headers().getOrDefault("Set-Cookie", "").startsWith(WebConsole.SESSION_COOKIE));
  }

  @Test
  void formsWithoutTheCsrfTokenChangeNothingAndTheRequesterCannotApprove() {
    RequestId id = submit(HOSTILE);
    String carol = signIn("carol");
    assertEquals(403, post("/requests/" + id.value() + "/approve", "comment=x", carol).status());
    assertEquals(403, post("/requests/" + id.value() + "/approve", "csrf=forged", carol).status());
    assertEquals(RequestState.PENDING_APPROVAL, broker.find(id).orElseThrow().state());

    String alice = signIn("alice");
    ConsoleReply own = get("/requests/" + id.value(), "", session(alice));
    assertFalse(own.bodyText().contains("class=\"approve\""), "no Approve button for the requester");
    ConsoleReply forged = post("/requests/" + id.value() + "/approve", "csrf=" + csrf(own), alice);
    assertEquals(403, forged.status());
    assertTrue(forged.bodyText().contains("may not approve or deny their own request"), forged.bodyText());
    assertEquals(RequestState.PENDING_APPROVAL, broker.find(id).orElseThrow().state());

    ConsoleReply page = get("/", "", session(carol));
    assertTrue(page.bodyText().contains("class=\"approve\""));
    ConsoleReply ok = post("/requests/" + id.value() + "/approve", "csrf=" + csrf(page) + "&comment=ok", carol);
    assertEquals(303, ok.status());
    assertEquals(RequestState.APPROVED, broker.find(id).orElseThrow().state());
  }

  @Test
  void userTextIsEscapedAndEveryPageCarriesAStrictCsp() {
    submit(HOSTILE);
    ConsoleReply page = get("/", "", session(signIn("carol")));
    String html = page.bodyText();
    assertFalse(html.contains("<script>alert"), html);
    assertFalse(html.contains("href=\"javascript:"), html);
    assertTrue(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;a href=&quot;javascript:x()&quot;&gt;y&lt;/a&gt;"),
        html);
    String csp = page.headers().get("Content-Security-Policy");
    assertEquals(WebConsole.CSP, csp);
    assertTrue(csp.contains("script-src 'self'") && !csp.contains("unsafe"), csp);
    assertEquals("nosniff", page.headers().get("X-Content-Type-Options"));
    assertFalse(Pattern.compile("<script(?![^>]*\\bsrc=)").matcher(html).find(), "no inline script");
    ConsoleReply js = get("/static/console.js", "", null);
    assertEquals(200, js.status());
    assertTrue(js.headers().get("Content-Type").startsWith("text/javascript"));
  }

  @Test
  void signOutEndsTheSessionOnTheServer() {
    String carol = signIn("carol");
    ConsoleReply page = get("/", "", session(carol));
    assertEquals(403, post("/logout", "", carol).status(), "sign-out is a form with the CSRF token too");
    ConsoleReply out = post("/logout", "csrf=" + csrf(page), carol);
    assertEquals(200, out.status());
    assertTrue(out.headers().get("Set-Cookie").contains("Max-Age=0"));
    ConsoleReply after = get("/mine", "", session(carol));
    assertEquals(303, after.status());
    assertEquals("/login?next=%2Fmine", after.headers().get("Location"));
  }

  @Test
  void afterSignInOnlyLocalPathsAreFollowed() {
    for (String evil : List.of("//evil.example/x", "https://evil.example/", "/\\evil.example", "/oauth/callback?x")) {
      assertEquals("/", WebConsole.safeNext(evil), evil);
    }
    assertEquals("/requests/abc", WebConsole.safeNext("/requests/abc"));
    SignedIn s = signIn("carol", "//evil.example/");
    assertTrue(s.reply().bodyText().contains("content=\"0;url=/\""), s.reply().bodyText());
  }

  @Test
  void withoutASessionPagesSendToSignInAndFormsAreRefused() {
    ConsoleReply r = get("/requests/abc", "", null);
    assertEquals(303, r.status());
    assertEquals("/login?next=%2Frequests%2Fabc", r.headers().get("Location"));
    assertEquals(403, post("/requests/abc/approve", "csrf=x", "nope").status());
    assertEquals(405, console.handle(ConsoleRequest.of("PUT", "/", null, new byte[0], Map.of())).status());
  }

  @Test
  void requestPagesAreVisibleOnlyToRequesterApproversAndAdmins() {
    RequestId id = submit("x");
    String dave = signIn("dave"); // group "leads" by the fake issuer's rule, so an approver
    assertEquals(200, get("/requests/" + id.value(), "", session(dave)).status());
    String[] stranger = {"eve"};
    console = WebConsole.builder().broker(broker).clock(clock)
        .oidc(issuerUrl, "kubejit-console", HttpClient.newHttpClient(),
            token -> VerifiedIdToken.of(Identity.of(stranger[0], "other"), clock.instant().plusSeconds(60),
                token.split("\\|")[1]))
        .clientSecret(() -> "s3cr3t".toCharArray()).baseUrl(URI.create("https://console.example.test")).build();
    String eve = signIn("eve");
    assertEquals(404, get("/requests/" + id.value(), "", session(eve)).status());
    assertEquals(404, get("/requests/not-an-id", "", session(eve)).status());
    assertEquals(URI.create("https://console.example.test/requests/" + id.value()), console.requestPage(id));
  }

  @Test
  void grantPagesListTheGatewayRecordingsAndServeThemToWhoMaySeeTheRequest() throws Exception {
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("kubejit-recordings");
    RequestId id = submit("records");
    broker.approve(id, Identity.of("dave", "leads"), "ok");
    String grant = broker.activate(id, Identity.of("alice", "sre")).record().grant().orElseThrow().id().value();
    java.nio.file.Path grantDir = java.nio.file.Files.createDirectories(dir.resolve(grant));
    String cast = "{\"version\": 2, \"width\": 80, \"height\": 24}\n[0.1, \"o\", \"<script>x</script>\"]\n";
    java.nio.file.Files.writeString(grantDir.resolve("abc123-1.cast"), cast);
    java.nio.file.Files.writeString(grantDir.resolve("notes.txt"), "not a recording");
    java.nio.file.Files.writeString(dir.resolve("secret.cast"), "outside the grant");
    console = WebConsole.builder().broker(broker).clock(clock)
        .oidc(issuerUrl, "kubejit-console", HttpClient.newHttpClient(), token -> {
          String[] p = token.split("\\|");
          return VerifiedIdToken.of(Identity.of(p[0], p[0].equals("alice") ? "sre" : p[0].equals("eve") ? "other" : "leads"),
              Instant.ofEpochSecond(Long.parseLong(p[2])), p[1].isEmpty() ? null : p[1]);
        })
        .clientSecret(() -> "s3cr3t".toCharArray()).baseUrl(URI.create("https://console.example.test"))
        .gatewayRecordings(dir).build();
    String alice = signIn("alice");
    ConsoleReply page = get("/requests/" + id.value(), "", session(alice));
    assertEquals(200, page.status());
    String sha = com.google.common.hash.Hashing.sha256().hashString(cast, StandardCharsets.UTF_8).toString();
    assertTrue(page.bodyText().contains("/requests/" + id.value() + "/recordings/abc123-1.cast"), page.bodyText());
    assertTrue(page.bodyText().contains(sha), "the listing shows the recording's SHA-256");
    assertFalse(page.bodyText().contains("notes.txt"), "only asciicast files are listed");
    ConsoleReply file = get("/requests/" + id.value() + "/recordings/abc123-1.cast", "", session(alice));
    assertEquals(200, file.status());
    assertEquals(cast, file.bodyText());
    assertTrue(file.headers().get("Content-Type").startsWith("text/plain"), "served as text, never as HTML");
    assertTrue(file.headers().get("Content-Disposition").startsWith("attachment"));
    assertEquals(404, get("/requests/" + id.value() + "/recordings/missing-1.cast", "", session(alice)).status());
    assertEquals(404, get("/requests/" + id.value() + "/recordings/..%2Fsecret.cast", "", session(alice)).status());
    assertEquals(404, get("/requests/" + id.value() + "/recordings/../secret.cast", "", session(alice)).status());
    String eve = signIn("eve");
    assertEquals(404, get("/requests/" + id.value() + "/recordings/abc123-1.cast", "", session(eve)).status(),
        "someone who may not see the request does not get its recordings");
  }

  // ------------------------------------------------------------------------------- helpers

  RequestId submit(String justification) {
    return broker.submit(AccessRequest.builder().requester(Identity.of("alice", "sre")).role("oncall-debug")
        .action(Action.EXEC).scope(Scope.namespace("prod", "payments")).justification(justification).ticket("INC-1")
        .build()).id();
  }

  ConsoleReply get(String path, String query, String cookie) {
    Map<String, String> h = new HashMap<>();
    if (cookie != null) {
      h.put("Cookie", cookie);
    }
    return console.handle(ConsoleRequest.of("GET", path, query, new byte[0], h));
  }

  ConsoleReply post(String path, String body, String sessionCookie) {
    return console.handle(ConsoleRequest.of("POST", path, null, body.getBytes(StandardCharsets.UTF_8),
        Map.of("Cookie", session(sessionCookie), "Content-Type", "application/x-www-form-urlencoded")));
  }

  static String session(String value) {
    return WebConsole.SESSION_COOKIE + "=" + value;
  }

  static String csrf(ConsoleReply page) {
    Matcher m = Pattern.compile("name=\"csrf\" value=\"([^\"]+)\"").matcher(page.bodyText());
    assertTrue(m.find(), "the page has a CSRF field");
    return URLEncoder.encode(m.group(1), StandardCharsets.UTF_8);
  }

  static Map<String, String> form(String s) {
    Map<String, String> m = new HashMap<>();
    for (String p : s.split("&")) {
      int eq = p.indexOf('=');
      if (eq > 0) {
        m.put(URLDecoder.decode(p.substring(0, eq), StandardCharsets.UTF_8),
            URLDecoder.decode(p.substring(eq + 1), StandardCharsets.UTF_8));
      }
    }
    return m;
  }

  static final class MutableClock extends Clock {
    private volatile Instant now;

    MutableClock(Instant now) {
      this.now = now;
    }

    void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }
}
