package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kubejit.audit.KubeAuditEvent;
import dev.kubejit.console.WebConsole;
import dev.kubejit.testing.Keycloak;
import dev.kubejit.testing.KubeControlPlane;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import java.io.File;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import javax.net.ssl.SSLSocket;
import org.openqa.selenium.By;
import org.openqa.selenium.Cookie;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The web console in a real browser, the story both browser tests run: headless Debian Chromium
 * driven by Selenium through /usr/bin/chromedriver, against {@code kubejit serve} (OIDC
 * authentication, the console mounted at {@code /}) and the test Keycloak, on whose own login page
 * the users sign in; with a control plane, the broker provisions RBAC in it and the console joins
 * its audit log. Screenshots of each page go to {@code target/console-screenshots[-kube]}.
 *
 * <p>The story: alice (sre) asks for exec with a hostile justification and a duration the policy
 * clamps; carol (payments-oncall) signs in, sees the request with its rule, ticket and clamp and the
 * justification as inert text; a POST without the CSRF token changes nothing; carol approves with
 * the keyboard; alice activates (API) and, with a control plane, lists pods with the grant's group,
 * which the API server's audit log records; carol's "who used either path" finds the grant (and
 * that call); after carol signs out her
 * session cookie is dead; alice's page counts the grant down, her grant's timeline shows the API
 * call, she sees no Approve button on her own pending request, and her forged approval is refused.
 */
final class ConsoleStory {
  static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  static final Duration WAIT = Duration.ofSeconds(60);
  final Path shots;
  static final String HOSTILE = "Pods crash-loop <script>window.__pwned=1</script> see "
      + "<a href=\"javascript:window.__pwned=2\">runbook</a> & 'quotes'";

  private final Path dir;
  /** The control plane whose RBAC and audit log the broker uses; null for a broker without clusters. */
  private final KubeControlPlane cp;
  private Keycloak kc;
  private URI base;
  private HttpClient http;

  ConsoleStory(Path dir, KubeControlPlane cp) {
    this.dir = dir;
    this.cp = cp;
    this.shots = Path.of("target", cp == null ? "console-screenshots" : "console-screenshots-kube");
  }

  void run() throws Exception {
    assertTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
        "the browser tests need Debian's chromium and chromium-driver (" + CHROMIUM + ", " + CHROMEDRIVER
            + "): run scripts/test-deps.sh");
    kc = Keycloak.shared();
    if (cp != null) {
      cp.ensureNamespace("payments");
    }
    Files.createDirectories(shots);
    try (KubeJitServer server = startServer()) {
      base = server.uri();
      http = TestBroker.client(dir, null);

      // alice asks for exec in payments for 2 h; the policy allows 1 h (clamped) after one approval.
      String alice = kc.passwordGrant("alice", Keycloak.CLI_CLIENT).idToken();
      String id = api("POST", "/api/v1/requests", alice, TestBroker.json("role", "oncall-debug", "action", "exec",
          "cluster", "prod", "namespace", "payments", "duration", "PT2H", "ticket", "INC-4711", "reason", HOSTILE), 201)
          .path("id").asText();

      String carolCookie;
      WebDriver carol = browser();
      try {
        signIn(carol, "carol");
        assertEquals("Needs my approval", carol.findElement(By.cssSelector("main h1")).getText());
        WebElement card = carol.findElement(By.cssSelector("section.request"));
        String text = card.getText();
        assertTrue(text.contains("alice asks for oncall-debug / exec"), text);
        assertTrue(text.contains("INC-4711"), text);
        assertTrue(text.contains("oncall-debug/exec"), "the rule that asked for approval is shown: " + text);
        assertTrue(text.contains("clamped to the policy's maximum"), text);
        assertTrue(text.contains("0 of 1 needed"), text);
        // The hostile justification is text: shown literally, no element made from it, nothing ran.
        assertEquals(HOSTILE, card.findElement(By.cssSelector(".justification")).getText());
        assertTrue(carol.findElements(By.cssSelector("a[href^='javascript:']")).isEmpty());
        assertEquals(Boolean.TRUE, ((JavascriptExecutor) carol).executeScript("return window.__pwned === undefined"));
        assertTrue(carol.findElements(By.cssSelector("script:not([src])")).isEmpty(), "no inline script");
        assertEveryFieldLabelled(carol);
        shot(carol, "01-needs-my-approval");

        carolCookie = carol.manage().getCookieNamed(WebConsole.SESSION_COOKIE).getValue();
        HttpResponse<String> page = send("GET", "/", carolCookie, null);
        assertEquals(200, page.statusCode());
        String csp = page.headers().firstValue("Content-Security-Policy").orElse("");
        assertTrue(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), csp);
        // A POST without the session's CSRF token (or with another) changes nothing.
        assertEquals(403, send("POST", "/requests/" + id + "/approve", carolCookie, "comment=forged").statusCode());
        assertEquals(403, send("POST", "/requests/" + id + "/approve", carolCookie, "csrf=" + "A".repeat(43)).statusCode());
        assertEquals("PENDING_APPROVAL", api("GET", "/api/v1/requests/" + id, alice, null, 200).path("state").asText());

        // carol approves with the keyboard: type a comment, then Enter on the focused button.
        card.findElement(By.cssSelector("textarea[name=comment]")).sendKeys("ok for INC-4711");
        card.findElement(By.cssSelector("button.approve")).sendKeys(Keys.ENTER);
        new WebDriverWait(carol, WAIT).until(d -> d.findElements(By.cssSelector("p.done")).size() == 1);
        assertTrue(carol.findElement(By.cssSelector("p.done")).getText().contains("approved"));
        assertEquals("APPROVED", api("GET", "/api/v1/requests/" + id, alice, null, 200).path("state").asText());

        // alice activates and lists pods under the grant's group; the API server audits the call.
        JsonNode act = api("POST", "/api/v1/requests/" + id + "/activate", alice,
            TestBroker.json("csr", TestBroker.csr("alice")), 200);
        String grant = act.path("grant").path("id").asText();
        String group = act.path("grant").path("group").asText();
        if (cp != null) {
          // As alice in the grant's group (a certificate from the cluster's CA carrying the group, as the
          // broker's X.509 credential does once the API server trusts the broker's CA).
          new CoreV1Api(cp.clientFor("alice", group)).listNamespacedPod("payments").execute();
          cp.awaitAuditEvents(KubeAuditEvent::parse, e -> e.groups().contains(group) && "list".equals(e.verb()),
              Duration.ofSeconds(30));
        }

        // carol (an auditor) asks who used either path: alice's grant and her call are there.
        carol.get(base + "/who");
        assertEveryFieldLabelled(carol);
        carol.findElement(By.id("who-user")).sendKeys("alice");
        carol.findElement(By.id("who-namespace")).sendKeys("payments", Keys.ENTER);
        new WebDriverWait(carol, WAIT).until(d -> d.getCurrentUrl().contains("user=alice"));
        WebElement jit = carol.findElement(By.cssSelector("section.jit"));
        assertTrue(jit.getText().contains("Grant " + grant + " of alice"), jit.getText());
        if (cp != null) {
          assertTrue(jit.getText().contains("list pods payments/-"), "alice's API call is listed: " + jit.getText());
        } else {
          assertTrue(carol.findElement(By.cssSelector("main")).getText().contains("No API-server audit log is configured"));
        }
        assertTrue(carol.findElement(By.cssSelector("section.break-glass")).getText().contains("None."));
        shot(carol, "02-who-used-either-path");

        carol.findElement(By.cssSelector("form.logout button")).click();
        new WebDriverWait(carol, WAIT).until(d -> d.findElement(By.cssSelector("main h1")).getText().equals("Signed out"));
        shot(carol, "03-signed-out");
      } finally {
        carol.quit();
      }
      // After sign-out the old cookie opens nothing: pages send to sign-in, forms are refused.
      HttpResponse<String> after = send("GET", "/mine", carolCookie, null);
      assertEquals(303, after.statusCode());
      assertTrue(after.headers().firstValue("Location").orElse("").startsWith("/login"));
      assertEquals(403, send("POST", "/requests/" + id + "/revoke", carolCookie, "comment=late").statusCode());

      // alice's own second request waits for approval; she must not be able to approve it.
      String pending = api("POST", "/api/v1/requests", alice, TestBroker.json("role", "oncall-debug", "action", "exec",
          "cluster", "prod", "namespace", "payments", "ticket", "INC-4712", "reason", "second look"), 201)
          .path("id").asText();
      WebDriver browser = browser();
      try {
        signIn(browser, "alice");
        browser.get(base + "/mine");
        WebElement active = browser.findElement(By.xpath("//section[.//a[@href='/requests/" + id + "']]"));
        assertTrue(active.getText().contains("ACTIVE"), active.getText());
        assertTrue(active.getText().contains("kubejit kubeconfig --grant"), active.getText());
        WebElement commands = active.findElement(By.cssSelector("details summary"));
        commands.sendKeys(Keys.ENTER); // opened with the keyboard
        assertEquals("cat under /var/log/ (rule read-logs)", active.findElement(By.cssSelector("ul.commands")).getText(),
            "the commands the role allows");
        WebElement countdown = active.findElement(By.cssSelector("time[data-countdown]"));
        String first = countdown.getText();
        new WebDriverWait(browser, Duration.ofSeconds(10)).until(d -> !countdown.getText().equals(first));
        assertTrue(countdown.getText().matches("\\d+ min \\d+ s left"), countdown.getText());
        assertTrue(browser.findElements(By.cssSelector("button.approve")).isEmpty());
        assertEveryFieldLabelled(browser);
        shot(browser, "04-my-requests-and-grants");

        browser.get(base + "/requests/" + id);
        WebElement timeline = browser.findElement(By.cssSelector("table.timeline"));
        assertTrue(timeline.getText().contains("GRANT_ACTIVATED"), timeline.getText());
        assertTrue(timeline.getText().contains("REQUEST_APPROVED"), timeline.getText());
        if (cp != null) {
          assertTrue(timeline.getText().contains("API server list pods payments/-"), timeline.getText());
        }
        ((JavascriptExecutor) browser).executeScript("arguments[0].scrollIntoView()", timeline);
        shot(browser, "05-grant-detail");

        browser.get(base + "/requests/" + pending);
        assertTrue(browser.findElement(By.cssSelector("main")).getText().contains("You cannot approve your own request"));
        assertTrue(browser.findElements(By.cssSelector("button.approve")).isEmpty(), "no Approve button for the requester");
        shot(browser, "06-own-pending-request");
        String aliceCookie = browser.manage().getCookieNamed(WebConsole.SESSION_COOKIE).getValue();
        String csrf = browser.findElement(By.cssSelector("form.logout input[name=csrf]")).getAttribute("value");
        HttpResponse<String> forged = send("POST", "/requests/" + pending + "/approve", aliceCookie,
            "csrf=" + URLEncoder.encode(csrf, StandardCharsets.UTF_8) + "&comment=self");
        assertEquals(403, forged.statusCode(), forged.body());
        assertTrue(forged.body().contains("may not approve or deny their own request"), forged.body());
        assertEquals("PENDING_APPROVAL", api("GET", "/api/v1/requests/" + pending, alice, null, 200).path("state").asText());
      } finally {
        browser.quit();
      }
    }
  }

  private KubeJitServer startServer() throws Exception {
    TestBroker.prepare(dir);
    Files.writeString(dir.resolve("policy.json"), """
        {"apiVersion": "kubejit.dev/v1", "kind": "AccessPolicy", "metadata": {"name": "console"},
         "roles": [{
           "name": "oncall-debug", "requesters": ["sre"], "namespaces": ["payments"],
           "defaultDuration": "PT30M", "maxDuration": "PT1H",
           "justification": {"required": true, "ticketPattern": "^INC-[0-9]+$"},
           "rbac": {"template": "oncall-debug"},
           "actions": {"exec": {"approval": "manual", "approvers": ["payments-oncall"], "minApprovals": 1}},
           "commands": {"allow": [{"id": "read-logs", "command": "cat", "operands": ["path+"], "paths": ["/var/log/"]}]}
         }]}
        """);
    int port;
    try (ServerSocket probe = new ServerSocket(0)) {
      port = probe.getLocalPort();
    }
    String clientId = "kubejit-console-" + UUID.randomUUID().toString().substring(0, 8);
    char[] secret = kc.registerWebClient(clientId, List.of("https://127.0.0.1:" + port + "/oauth/callback"));
    Path secretFile = dir.resolve("console-client-secret");
    Files.createFile(secretFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(secretFile, new String(secret));
    String yaml = "apiVersion: kubejit.dev/v1\nkind: ServerConfig\npolicy: policy.json\n"
        + "store:\n  sqlite:\n    file: kubejit.db\n"
        + "audit:\n  directory: audit\n  signingKeyFile: keys/audit-signing.key\n"
        + "certificateAuthorities:\n  x509: ca/x509\n  ssh: ca/ssh\n"
        + (cp == null ? "" : "clusters:\n  prod:\n    kubeconfig: " + cp.adminKubeconfig() + "\n")
        + "adminGroups: [" + Keycloak.ADMINS + "]\n"
        + "listen:\n  address: 127.0.0.1:" + port + "\n  tls:\n    certFile: tls/server.crt\n    keyFile: tls/server.key\n"
        + "authentication:\n  oidc:\n    issuer: " + kc.issuer() + "\n    audience: " + Keycloak.CLI_CLIENT + "\n"
        + "    jwksUrl: " + kc.jwksUri() + "\n    caFile: " + kc.caCertificateFile() + "\n"
        + "    usernameClaim: preferred_username\n"
        + "console:\n  clientId: " + clientId + "\n  clientSecretFile: console-client-secret\n"
        + "  auditorGroups: [" + Keycloak.PAYMENTS_ONCALL + "]\n"
        + (cp == null ? "" : "  kubeAuditLogs: [" + cp.auditLogPath() + "]\n");
    Path config = dir.resolve("kubejit.yaml");
    Files.writeString(config, yaml);
    return KubeJitServer.start(ServerConfig.load(config));
  }

  /** Headless Chromium that trusts exactly the two test serving certificates (by their public keys). */
  private WebDriver browser() throws Exception {
    ChromeOptions o = new ChromeOptions();
    o.setBinary(CHROMIUM.toFile());
    o.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1000",
        "--user-data-dir=" + Files.createTempDirectory(dir, "chromium"),
        "--ignore-certificate-errors-spki-list=" + spki(Pem.certificates(dir.resolve("tls/server.crt")).get(0)) + ","
            + spki(keycloakLeaf()));
    ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
        .usingAnyFreePort().withLogFile(new File("target/chromedriver.log")).build();
    WebDriver d = new ChromeDriver(service, o);
    d.manage().timeouts().implicitlyWait(Duration.ofSeconds(2));
    return d;
  }

  /** Signs in through the console's redirect to Keycloak's real login page. */
  private void signIn(WebDriver d, String user) {
    d.get(base + "/");
    new WebDriverWait(d, WAIT).until(x -> x.getCurrentUrl().startsWith(kc.issuer()) && !x.findElements(By.id("username")).isEmpty());
    d.findElement(By.id("username")).sendKeys(user);
    d.findElement(By.id("password")).sendKeys(new String(kc.password(user)));
    d.findElement(By.id("kc-login")).click();
    new WebDriverWait(d, WAIT).until(x -> x.getCurrentUrl().startsWith(base.toString())
        && !x.getCurrentUrl().contains("/oauth/callback") && !x.findElements(By.cssSelector("form.logout")).isEmpty());
    assertEquals(user, d.findElement(By.cssSelector("form.logout .me")).getText());
    Cookie c = d.manage().getCookieNamed(WebConsole.SESSION_COOKIE);
    assertTrue(c.isHttpOnly() && c.isSecure() && "Strict".equals(c.getSameSite()), "session cookie flags: " + c);
  }

  private static void assertEveryFieldLabelled(WebDriver d) {
    for (WebElement f : d.findElements(By.cssSelector("input:not([type=hidden]), textarea, select"))) {
      String id = f.getAttribute("id");
      assertFalse(id == null || id.isEmpty(), "a form field without id: " + f.getAttribute("name"));
      assertEquals(1, d.findElements(By.cssSelector("label[for='" + id + "']")).size(), "no label for #" + id);
    }
  }

  private void shot(WebDriver d, String name) throws Exception {
    Files.write(shots.resolve(name + ".png"), ((TakesScreenshot) d).getScreenshotAs(OutputType.BYTES));
  }

  private HttpResponse<String> send(String method, String path, String sessionCookie, String form) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(30))
        .header("Cookie", WebConsole.SESSION_COOKIE + "=" + sessionCookie);
    if (form != null) {
      b.header("Content-Type", "application/x-www-form-urlencoded").method(method, HttpRequest.BodyPublishers.ofString(form));
    } else {
      b.method(method, HttpRequest.BodyPublishers.noBody());
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private JsonNode api(String method, String path, String idToken, String body, int expect) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(30))
        .header("Authorization", "Bearer " + idToken);
    if (body != null) {
      b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
    } else {
      b.method(method, HttpRequest.BodyPublishers.noBody());
    }
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(expect, r.statusCode(), method + " " + path + ": " + r.body());
    return Json.MAPPER.readTree(r.body());
  }

  private X509Certificate keycloakLeaf() throws Exception {
    URI issuer = URI.create(kc.issuer());
    try (SSLSocket s = (SSLSocket) kc.sslContext().getSocketFactory().createSocket(issuer.getHost(), issuer.getPort())) {
      s.startHandshake();
      return (X509Certificate) s.getSession().getPeerCertificates()[0];
    }
  }

  private static String spki(X509Certificate c) throws Exception {
    return Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256").digest(c.getPublicKey().getEncoded()));
  }
}
