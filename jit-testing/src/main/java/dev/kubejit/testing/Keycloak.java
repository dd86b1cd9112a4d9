package dev.kubejit.testing;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.CookieManager;
import java.net.CookiePolicy;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Assumptions;

/**
 * A real Keycloak for tests, the identity provider of the OIDC tests: one per JVM ({@link
 * #shared()}), listening with HTTPS on a free loopback port under a certificate from a CA this
 * class generates, with realm {@value #REALM} created through Keycloak's admin REST API.
 *
 * <p>The realm holds a public client {@value #CLI_CLIENT} (OAuth 2.0 device authorization grant,
 * and direct access grants for tests), a second public client {@value #OTHER_CLIENT} (for tokens
 * issued to someone else), a protocol mapper that puts the user's group names (plain names, no
 * leading slash) into claim {@value #GROUPS_CLAIM} of ID and access tokens, groups {@value #SRE},
 * {@value #PAYMENTS_ONCALL} and {@value #ADMINS}, and users {@code alice} (sre), {@code bob} and
 * {@code carol} (payments-oncall) and {@code dave} (no group), each with a random password that
 * only this class knows. ID tokens carry {@code aud} = the client ID, as Keycloak issues them.
 *
 * <p>Where Keycloak comes from: {@code $KUBEJIT_KEYCLOAK_HOME} (which {@code scripts/test.sh} sets
 * from {@code scripts/keycloak.sh}), else the cache {@code ~/.cache/kubejit/keycloak-26.7.3} that
 * script fills. When neither holds a distribution, {@link #shared()} aborts the calling test with a
 * JUnit assumption that says to run {@code scripts/keycloak.sh}. Keycloak needs Java 21+: {@code
 * $KUBEJIT_KEYCLOAK_JAVA}, else {@code $JAVA21PLUS_HOME}, else {@code
 * /usr/lib/jvm/temurin-25-jdk-amd64}. The server runs from a per-JVM directory (its data, its
 * log {@code keycloak.log}, the TLS key) that is deleted at JVM exit; the distribution itself is
 * only read. The bootstrap admin password is random and goes to Keycloak only through its
 * environment; no password or token appears in a log, a message or a {@code toString()}.
 */
public final class Keycloak {
  /** The environment variable naming the Keycloak distribution directory. */
  public static final String HOME_ENV = "KUBEJIT_KEYCLOAK_HOME";
  /** The environment variable naming the Java 21+ home Keycloak runs with. */
  public static final String JAVA_ENV = "KUBEJIT_KEYCLOAK_JAVA";
  /** The realm the tests use. */
  public static final String REALM = "kubejit";
  /** The public client with the device authorization grant (the CLI's client ID). */
  public static final String CLI_CLIENT = "kubejit-cli";
  /** A second public client, whose ID tokens are not meant for KubeJIT. */
  public static final String OTHER_CLIENT = "other-app";
  /** The claim that carries group names. */
  public static final String GROUPS_CLAIM = "groups";
  /** Group of alice. */
  public static final String SRE = "sre";
  /** Group of bob and carol. */
  public static final String PAYMENTS_ONCALL = "payments-oncall";
  /** A group with no members, for admin configurations. */
  public static final String ADMINS = "kubejit-admins";

  static final String VERSION = "26.7.3";
  private static final String LOOPBACK = "127.0.0.1";
  private static final Path DEFAULT_JAVA = Path.of("/usr/lib/jvm/temurin-25-jdk-amd64");
  /** About 15 s on an idle machine; several minutes when the machine's two cores are contended. */
  private static final Duration START_TIMEOUT = Duration.ofSeconds(420);
  private static final int START_ATTEMPTS = 3;
  private static final long STOP_GRACE_MILLIS = 10_000;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Map<String, List<String>> USERS =
      Map.of("alice", List.of(SRE), "bob", List.of(PAYMENTS_ONCALL), "carol", List.of(PAYMENTS_ONCALL),
          "dave", List.of());

  private static Keycloak shared;
  private static RuntimeException sharedFailure;

  private final URI base;
  private final X509Certificate ca;
  private final Path caFile;
  private final SSLContext sslContext;
  private final HttpClient http;
  private final Map<String, String> passwords;
  private final Path log;
  private final String adminPassword;

  private Keycloak(URI base, X509Certificate ca, Path caFile, SSLContext sslContext, Map<String, String> passwords,
      Path log, String adminPassword) {
    this.adminPassword = adminPassword;
    this.base = base;
    this.ca = ca;
    this.caFile = caFile;
    this.sslContext = sslContext;
    this.http = HttpClient.newBuilder().sslContext(sslContext).connectTimeout(Duration.ofSeconds(10)).build();
    this.passwords = Map.copyOf(passwords);
    this.log = log;
  }

  /**
   * The Keycloak of this JVM, started (and its realm created) on first use and stopped at JVM exit.
   * A failed start is remembered, so later callers fail fast with the same message.
   *
   * @throws org.opentest4j.TestAbortedException when no Keycloak distribution is available
   * @throws IllegalStateException when Keycloak is there but does not start (with its log's tail)
   */
  public static synchronized Keycloak shared() {
    if (shared != null) {
      return shared;
    }
    if (sharedFailure != null) {
      throw sharedFailure;
    }
    Path home = locateHome();
    Assumptions.assumeTrue(home != null,
        "Keycloak is not available: run scripts/keycloak.sh (it fetches org.keycloak:keycloak-quarkus-dist:"
            + VERSION + " through Maven and caches it in ~/.cache/kubejit) and set " + HOME_ENV
            + " to the directory it prints; scripts/test.sh does both");
    try {
      shared = start(home, locateJava());
      return shared;
    } catch (RuntimeException e) {
      sharedFailure = e;
      throw e;
    }
  }

  // ---------------------------------------------------------------------------------- endpoints

  /** The issuer of realm {@value #REALM}, exactly as it appears in {@code iss}. */
  public String issuer() {
    return base.resolve("/realms/" + REALM).toString();
  }

  /** The realm's JWKS (https). */
  public URI jwksUri() {
    return URI.create(issuer() + "/protocol/openid-connect/certs");
  }

  /** The realm's token endpoint. */
  public URI tokenEndpoint() {
    return URI.create(issuer() + "/protocol/openid-connect/token");
  }

  /** The realm's OAuth 2.0 device authorization endpoint. */
  public URI deviceAuthorizationEndpoint() {
    return URI.create(issuer() + "/protocol/openid-connect/auth/device");
  }

  /** The realm's OpenID Connect discovery document. */
  public URI discoveryUri() {
    return URI.create(issuer() + "/.well-known/openid-configuration");
  }

  /** The test CA that issued Keycloak's serving certificate. */
  public X509Certificate caCertificate() {
    return ca;
  }

  /** The test CA certificate in PEM. */
  public String caCertificatePem() {
    return TestPki.pem(ca);
  }

  /** A PEM file holding the test CA certificate (deleted at JVM exit). */
  public Path caCertificateFile() {
    return caFile;
  }

  /** An SSL context that trusts exactly the test CA. */
  public SSLContext sslContext() {
    return sslContext;
  }

  /** Keycloak's log file. */
  public Path log() {
    return log;
  }

  /** The test users (alice, bob, carol, dave). */
  public List<String> users() {
    return List.copyOf(new TreeSet<>(USERS.keySet()));
  }

  /** The groups of a test user, as the {@value #GROUPS_CLAIM} claim carries them. */
  public List<String> groupsOf(String user) {
    List<String> groups = USERS.get(requireNonNull(user, "user"));
    if (groups == null) {
      throw new IllegalArgumentException("no test user " + user);
    }
    return groups;
  }

  // ------------------------------------------------------------------------------------- tokens

  /**
   * Tokens for {@code user} from the resource owner password grant of public client {@code
   * clientId} (scope {@code openid}): a real ID token signed by the realm's key.
   */
  public Tokens passwordGrant(String user, String clientId) {
    String password = passwords.get(requireNonNull(user, "user"));
    if (password == null) {
      throw new IllegalArgumentException("no test user " + user);
    }
    return tokens(form("grant_type", "password", "client_id", clientId, "username", user, "password", password,
        "scope", "openid"), "password grant for " + user);
  }

  /**
   * The password of a test user, for tests that sign in on Keycloak's own login page in a real
   * browser. It is random per JVM; keep it out of logs and messages.
   */
  public char[] password(String user) {
    String password = passwords.get(requireNonNull(user, "user"));
    if (password == null) {
      throw new IllegalArgumentException("no test user " + user);
    }
    return password.toCharArray();
  }

  /** Fresh tokens from a refresh token of public client {@code clientId}. */
  public Tokens refresh(Tokens tokens, String clientId) {
    return tokens(form("grant_type", "refresh_token", "client_id", clientId, "refresh_token",
        requireNonNull(tokens, "tokens").refreshToken(), "scope", "openid"), "refresh");
  }

  /** Fresh tokens from a refresh token (as a client stored it) of public client {@code clientId}. */
  public Tokens refresh(String refreshToken, String clientId) {
    return tokens(form("grant_type", "refresh_token", "client_id", clientId, "refresh_token",
        requireNonNull(refreshToken, "refreshToken"), "scope", "openid"), "refresh");
  }

  private Tokens tokens(String form, String what) {
    HttpResponse<String> r = send(HttpRequest.newBuilder(tokenEndpoint())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .POST(HttpRequest.BodyPublishers.ofString(form)).build());
    if (r.statusCode() != 200) {
      throw new IllegalStateException(what + " refused by Keycloak: HTTP " + r.statusCode() + " " + oauthError(r));
    }
    JsonNode body = parse(r.body());
    return new Tokens(text(body, "id_token"), text(body, "access_token"), text(body, "refresh_token"));
  }

  /**
   * Completes an OAuth 2.0 device authorization as {@code user}, the way a person would in a
   * browser: opens {@code verificationUriComplete} (from the device authorization response),
   * submits the user code if asked, signs in on Keycloak's login form and grants consent if a
   * consent page is shown. Drives Keycloak's real HTML pages with a cookie-keeping HTTP client.
   *
   * @throws IllegalStateException when Keycloak does not confirm the device login
   */
  public void completeDeviceLogin(String verificationUriComplete, String user) {
    String password = passwords.get(requireNonNull(user, "user"));
    if (password == null) {
      throw new IllegalArgumentException("no test user " + user);
    }
    URI start = URI.create(requireNonNull(verificationUriComplete, "verificationUriComplete"));
    if (!start.toString().startsWith(base.toString())) {
      throw new IllegalArgumentException("not a verification URI of this Keycloak: " + start);
    }
    HttpClient browser = HttpClient.newBuilder()
        .sslContext(sslContext)
        .cookieHandler(new CookieManager(null, CookiePolicy.ACCEPT_ALL))
        .followRedirects(HttpClient.Redirect.NORMAL)
        .connectTimeout(Duration.ofSeconds(10))
        .build();
    HttpResponse<String> page = send(browser, HttpRequest.newBuilder(start).GET().build());
    for (int step = 0; step < 6; step++) {
      String html = page.body();
      if (page.statusCode() == 200 && isDeviceSuccess(html)) {
        return;
      }
      HtmlForm form = HtmlForm.first(html, page.uri());
      if (form == null) {
        throw new IllegalStateException("device login as " + user + " stopped at a page without a form (HTTP "
            + page.statusCode() + "): " + pageSummary(html));
      }
      Map<String, String> fields = new LinkedHashMap<>(form.hidden);
      if (form.inputs.contains("password")) {
        fields.put("username", user);
        fields.put("password", password);
        fields.put("credentialId", "");
      } else if (form.inputs.contains("accept")) {
        fields.put("accept", "Yes");
      } else if (form.inputs.contains("device_user_code")) {
        fields.putIfAbsent("device_user_code", queryParameter(start, "user_code"));
      } else {
        throw new IllegalStateException("device login as " + user + " met an unexpected form (inputs "
            + form.inputs + "): " + pageSummary(html));
      }
      StringBuilder body = new StringBuilder();
      fields.forEach((k, v) -> body.append(body.length() == 0 ? "" : "&").append(enc(k)).append('=').append(enc(v)));
      page = send(browser, HttpRequest.newBuilder(form.action)
          .header("Content-Type", "application/x-www-form-urlencoded")
          .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build());
      if (page.statusCode() == 200 && html.equals(page.body()) || hasLoginError(page.body())) {
        throw new IllegalStateException("device login as " + user + " was refused: " + pageSummary(page.body()));
      }
    }
    throw new IllegalStateException("device login as " + user + " did not finish: " + pageSummary(page.body()));
  }

  private static boolean isDeviceSuccess(String html) {
    // Keycloak's "device login successful" page (English message bundle).
    return html.contains("Device Login Successful") || html.contains("kc-device-login-success")
        || html.toLowerCase(Locale.ROOT).contains("you may close this browser window");
  }

  private static boolean hasLoginError(String html) {
    return html.contains("Invalid username or password") || html.contains("kc-feedback-text") && html.contains("error");
  }

  private static String pageSummary(String html) {
    Matcher title = Pattern.compile("<title>(.*?)</title>", Pattern.DOTALL).matcher(html);
    String t = title.find() ? title.group(1).strip() : "(no title)";
    Matcher feedback = Pattern.compile("class=\"[^\"]*kc-feedback-text[^\"]*\"[^>]*>(.*?)<", Pattern.DOTALL)
        .matcher(html);
    return "title '" + t + "'" + (feedback.find() ? ", message '" + feedback.group(1).strip() + "'" : "");
  }

  private static String queryParameter(URI uri, String name) {
    String q = uri.getRawQuery();
    if (q != null) {
      for (String pair : q.split("&")) {
        int eq = pair.indexOf('=');
        if (eq > 0 && pair.substring(0, eq).equals(name)) {
          return URLDecoder.decode(pair.substring(eq + 1), UTF_8);
        }
      }
    }
    return "";
  }

  /** The first HTML form of a page: its action, hidden fields and the names of its other inputs. */
  private static final class HtmlForm {
    private static final Pattern FORM = Pattern.compile("<form\\b([^>]*)>(.*?)</form>",
        Pattern.DOTALL | Pattern.CASE_INSENSITIVE);
    private static final Pattern INPUT = Pattern.compile("<(?:input|button)\\b([^>]*)>",
        Pattern.DOTALL | Pattern.CASE_INSENSITIVE);

    final URI action;
    final Map<String, String> hidden = new LinkedHashMap<>();
    final List<String> inputs = new ArrayList<>();

    private HtmlForm(URI action) {
      this.action = action;
    }

    static HtmlForm first(String html, URI page) {
      Matcher f = FORM.matcher(html);
      if (!f.find()) {
        return null;
      }
      String action = attribute(f.group(1), "action");
      HtmlForm form = new HtmlForm(page.resolve(action == null ? "" : unescape(action)));
      Matcher in = INPUT.matcher(f.group(2));
      while (in.find()) {
        String name = attribute(in.group(1), "name");
        if (name == null) {
          continue;
        }
        if ("hidden".equalsIgnoreCase(attribute(in.group(1), "type"))) {
          String value = attribute(in.group(1), "value");
          form.hidden.put(name, value == null ? "" : unescape(value));
        } else {
          form.inputs.add(name);
        }
      }
      return form;
    }

    private static String attribute(String attrs, String name) {
      Matcher m = Pattern.compile("\\b" + name + "\\s*=\\s*\"([^\"]*)\"", Pattern.CASE_INSENSITIVE).matcher(attrs);
      return m.find() ? m.group(1) : null;
    }

    private static String unescape(String s) {
      return s.replace("&amp;", "&").replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<")
          .replace("&gt;", ">");
    }
  }

  // ------------------------------------------------------------------------------------ startup

  static Path locateHome() {
    List<Path> candidates = new ArrayList<>();
    String env = System.getenv(HOME_ENV);
    if (env != null && !env.isBlank() && !env.contains("${")) {
      Path p = Path.of(env.trim());
      if (!isDistribution(p)) {
        throw new IllegalStateException(HOME_ENV + "=" + env + " is not a Keycloak distribution (no bin/kc.sh and "
            + "lib/quarkus-run.jar); run scripts/keycloak.sh and set it to the directory it prints");
      }
      return p;
    }
    candidates.add(Path.of(System.getProperty("user.home"), ".cache", "kubejit", "keycloak-" + VERSION));
    for (Path c : candidates) {
      if (isDistribution(c)) {
        return c;
      }
    }
    return null;
  }

  private static boolean isDistribution(Path p) {
    return Files.isExecutable(p.resolve("bin/kc.sh")) && Files.isRegularFile(p.resolve("lib/quarkus-run.jar"));
  }

  static Path locateJava() {
    for (String env : List.of(JAVA_ENV, "JAVA21PLUS_HOME")) {
      String v = System.getenv(env);
      if (v != null && !v.isBlank()) {
        Path p = Path.of(v.trim());
        if (!Files.isExecutable(p.resolve("bin/java"))) {
          throw new IllegalStateException(env + "=" + v + " has no bin/java; Keycloak " + VERSION
              + " needs a Java 21+ home (e.g. Temurin 25)");
        }
        return p;
      }
    }
    if (Files.isExecutable(DEFAULT_JAVA.resolve("bin/java"))) {
      return DEFAULT_JAVA;
    }
    throw new IllegalStateException("Keycloak " + VERSION + " needs Java 21 or newer: install Eclipse Temurin 25 "
        + "(expected at " + DEFAULT_JAVA + ") or set " + JAVA_ENV + " to a Java 21+ home");
  }

  private static Keycloak start(Path home, Path java) {
    IllegalStateException last = null;
    for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
      try {
        return startOnce(home, java);
      } catch (PortClash e) {
        last = new IllegalStateException(e.getMessage(), e);
      }
    }
    throw last;
  }

  private static Keycloak startOnce(Path home, Path java) {
    long t0 = System.nanoTime();
    Path dir = SecureFiles.createTempDir("kubejit-keycloak-");
    List<ManagedProcess> processes = new ArrayList<>();
    Thread hook = new Thread(() -> stop(processes, dir), "kubejit-keycloak-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    boolean started = false;
    try {
      Path serverHome = serverHome(home, dir.resolve("home"));
      TestPki pki = TestPki.create("kubejit-keycloak-test-ca");
      TestPki.Issued serving = pki.issueServer("keycloak", List.of("localhost"), List.of(LOOPBACK));
      Path tls = SecureFiles.createDir(dir.resolve("tls"));
      Path cert = SecureFiles.writePrivate(tls.resolve("server.crt"), serving.certificatePem());
      Path key = SecureFiles.writePrivate(tls.resolve("server.key"), serving.keyPem());
      Path caFile = SecureFiles.writePrivate(dir.resolve("ca.crt"), TestPki.pem(pki.caCertificate()));
      int port = KubeControlPlane.freePort();
      int management = KubeControlPlane.freePort();
      URI base = URI.create("https://" + LOOPBACK + ":" + port);
      String adminPassword = randomSecret();
      Path log = dir.resolve("keycloak.log");
      Map<String, String> env = new LinkedHashMap<>();
      // Nothing from the caller's environment configures this Keycloak (KC_DB, KC_HOSTNAME, ...);
      // kc.sh's default heap (512 MB outside a container) applies.
      System.getenv().keySet().stream().filter(k -> k.startsWith("KC_")).forEach(k -> env.put(k, null));
      env.put("JAVA_HOME", java.toString());
      env.put("JAVA", null);
      env.put("JAVA_OPTS", null);
      env.put("JAVA_OPTS_APPEND", null);
      env.put("JAVA_OPTS_KC_HEAP", null);
      env.put("KC_BOOTSTRAP_ADMIN_USERNAME", "admin");
      env.put("KC_BOOTSTRAP_ADMIN_PASSWORD", adminPassword);
      // Build-time options (db=dev-mem, health) were fixed by scripts/keycloak.sh's `kc.sh build`.
      // cache=local is a runtime option: without it Keycloak forms a JGroups cluster on all
      // interfaces (ports 7800, 57800). The readiness polls below would flood the log at INFO.
      List<String> command = List.of(serverHome.resolve("bin/kc.sh").toString(), "start", "--optimized",
          "--cache=local", "--http-enabled=false", "--http-host=" + LOOPBACK, "--https-port=" + port,
          "--https-certificate-file=" + cert, "--https-certificate-key-file=" + key,
          "--hostname=" + base, "--http-management-port=" + management,
          "--log-level=info,io.smallrye.health:warn");
      ManagedProcess kc = ManagedProcess.start("keycloak", command, dir, log, env);
      processes.add(kc);
      SSLContext ssl = TestPki.sslContext(pki.caCertificate(), null);
      HttpClient http = HttpClient.newBuilder().sslContext(ssl).connectTimeout(Duration.ofSeconds(5)).build();
      awaitReady(kc, http, URI.create("https://" + LOOPBACK + ":" + management + "/health/ready"));
      Map<String, String> passwords = new LinkedHashMap<>();
      USERS.keySet().forEach(u -> passwords.put(u, randomSecret()));
      Keycloak keycloak = new Keycloak(base, pki.caCertificate(), caFile, ssl, passwords, log, adminPassword);
      keycloak.createRealm();
      started = true;
      System.getLogger(Keycloak.class.getName()).log(System.Logger.Level.INFO,
          "KubeJIT test Keycloak at {0} ready in {1} ms (work dir {2})", base,
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0), dir);
      return keycloak;
    } finally {
      if (!started) {
        stop(processes, dir);
        ManagedProcess.removeShutdownHook(hook);
      }
    }
  }

  /**
   * A server home of its own for this JVM: Keycloak writes its data (H2 files, transaction logs)
   * under the home of the kc.sh it was started from, so the launcher is copied and the read-only
   * parts of the distribution (the pre-built lib, conf, providers, themes) are linked.
   */
  private static Path serverHome(Path distribution, Path home) {
    try {
      SecureFiles.createDir(home.resolve("bin"));
      Files.copy(distribution.resolve("bin/kc.sh"), home.resolve("bin/kc.sh"));
      for (String part : List.of("lib", "conf", "providers", "themes")) {
        Files.createSymbolicLink(home.resolve(part), distribution.toAbsolutePath().resolve(part));
      }
      return home;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare a Keycloak home in " + home, e);
    }
  }

  private static void awaitReady(ManagedProcess kc, HttpClient http, URI ready) {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    String last = "no answer yet";
    while (System.nanoTime() < deadline) {
      if (!kc.isAlive()) {
        if (kc.logMentionsPortClash() || kc.tail().contains("Port(s) already bound")) {
          throw new PortClash("Keycloak could not bind its ports; log tail:\n" + kc.tail());
        }
        throw new IllegalStateException("Keycloak exited with code " + kc.exitCodeOrMinusOne()
            + " before it was ready; log " + kc.log() + ":\n" + kc.tail());
      }
      try {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(ready).timeout(Duration.ofSeconds(5)).GET().build(),
            HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200 && "UP".equals(parse(r.body()).path("status").asText())) {
          return;
        }
        last = "HTTP " + r.statusCode();
      } catch (IOException e) {
        last = e.toString();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for Keycloak", e);
      }
      ManagedProcess.sleep(500);
    }
    throw new IllegalStateException("Keycloak was not ready within " + START_TIMEOUT.toSeconds() + " s (last: "
        + last + "); log " + kc.log() + ":\n" + kc.tail());
  }

  private static void stop(List<ManagedProcess> processes, Path dir) {
    for (ManagedProcess p : processes) {
      // kc.sh runs Java as a child and forwards SIGTERM to it; a child left behind is killed too.
      List<ProcessHandle> children = ProcessHandle.of(p.pid()).map(h -> h.descendants().toList()).orElse(List.of());
      ManagedProcess.stopAll(List.of(p), STOP_GRACE_MILLIS);
      for (ProcessHandle child : children) {
        child.destroyForcibly();
        child.onExit().orTimeout(5, TimeUnit.SECONDS).exceptionally(t -> null).join();
      }
    }
    SecureFiles.deleteTree(dir);
  }

  // -------------------------------------------------------------------------------- admin API

  /** A bootstrap-admin access token of the master realm (never logged). */
  private String adminToken() {
    HttpResponse<String> tokenResponse = send(HttpRequest.newBuilder(
            base.resolve("/realms/master/protocol/openid-connect/token"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .POST(HttpRequest.BodyPublishers.ofString(form("grant_type", "password", "client_id", "admin-cli",
            "username", "admin", "password", adminPassword)))
        .build());
    if (tokenResponse.statusCode() != 200) {
      throw new IllegalStateException("Keycloak refused the bootstrap admin: HTTP " + tokenResponse.statusCode() + " "
          + oauthError(tokenResponse));
    }
    return text(parse(tokenResponse.body()), "access_token");
  }

  private void createRealm() {
    String admin = adminToken();
    ObjectNode realm = JSON.createObjectNode();
    realm.put("realm", REALM);
    realm.put("enabled", true);
    realm.put("sslRequired", "external");
    // Device-flow clients may poll every second (Keycloak's default is 5 s), so CLI tests stay short.
    realm.put("oauth2DevicePollingInterval", 1);
    adminPost(admin, "/admin/realms", realm);

    String realmPath = "/admin/realms/" + REALM;
    adminPost(admin, realmPath + "/clients", client(CLI_CLIENT, true));
    adminPost(admin, realmPath + "/clients", client(OTHER_CLIENT, false));
    for (String group : List.of(SRE, PAYMENTS_ONCALL, ADMINS)) {
      adminPost(admin, realmPath + "/groups", JSON.createObjectNode().put("name", group));
    }
    Map<String, String> groupIds = new LinkedHashMap<>();
    for (JsonNode g : adminGet(admin, realmPath + "/groups")) {
      groupIds.put(g.path("name").asText(), g.path("id").asText());
    }
    for (Map.Entry<String, List<String>> u : USERS.entrySet()) {
      String name = u.getKey();
      ObjectNode user = JSON.createObjectNode();
      user.put("username", name);
      user.put("enabled", true);
      // A complete profile, so that neither the password grant nor the login form asks for one.
      user.put("email", name + "@example.test");
      user.put("emailVerified", true);
      user.put("firstName", Character.toUpperCase(name.charAt(0)) + name.substring(1));
      user.put("lastName", "Tester");
      ArrayNode credentials = user.putArray("credentials");
      credentials.addObject().put("type", "password").put("value", passwords.get(name)).put("temporary", false);
      String location = adminPost(admin, realmPath + "/users", user);
      String userId = location.substring(location.lastIndexOf('/') + 1);
      for (String group : u.getValue()) {
        adminPut(admin, realmPath + "/users/" + userId + "/groups/" + groupIds.get(group));
      }
    }
  }

  /**
   * Registers a confidential web client in the realm: the authorization-code flow with PKCE (S256)
   * required, exactly {@code redirectUris} as redirect URIs, no consent screen, and the group names
   * in claim {@value #GROUPS_CLAIM}. Tests call it with the redirect URI of a server they started on
   * a free port.
   *
   * @return the client's secret (random, made here); the caller keeps it out of logs
   * @throws IllegalStateException if Keycloak refuses (for example, the client ID exists already)
   */
  public synchronized char[] registerWebClient(String clientId, List<String> redirectUris) {
    requireNonNull(clientId, "clientId");
    if (redirectUris.isEmpty()) {
      throw new IllegalArgumentException("a web client needs at least one redirect URI");
    }
    String admin = adminToken();
    String secret = randomSecret();
    ObjectNode c = client(clientId, false);
    c.put("publicClient", false);
    c.put("clientAuthenticatorType", "client-secret");
    c.put("secret", secret);
    c.put("standardFlowEnabled", true);
    c.put("directAccessGrantsEnabled", false);
    ArrayNode uris = c.putArray("redirectUris");
    redirectUris.forEach(uris::add);
    ((ObjectNode) c.get("attributes")).put("pkce.code.challenge.method", "S256");
    adminPost(admin, "/admin/realms/" + REALM + "/clients", c);
    return secret.toCharArray();
  }

  /** Keycloak's base URL ({@code https://127.0.0.1:<port>}). */
  public URI baseUrl() {
    return base;
  }

  /**
   * Creates, in realm {@value #REALM}, a confidential client whose only use is its service account
   * (client credentials grant), and gives that service account exactly the listed client roles of
   * {@code realm-management} (for example {@code manage-users}) and nothing else; returns its secret.
   */
  public char[] createServiceAccountClient(String clientId, String... realmManagementRoles) {
    String admin = adminToken();
    String realmPath = "/admin/realms/" + REALM;
    String secret = randomSecret();
    ObjectNode c = JSON.createObjectNode();
    c.put("clientId", requireNonNull(clientId, "clientId"));
    c.put("protocol", "openid-connect");
    c.put("enabled", true);
    c.put("publicClient", false);
    c.put("secret", secret);
    c.put("serviceAccountsEnabled", true);
    c.put("standardFlowEnabled", false);
    c.put("directAccessGrantsEnabled", false);
    String location = adminPost(admin, realmPath + "/clients", c);
    String id = location.substring(location.lastIndexOf('/') + 1);
    String saUser = adminGet(admin, realmPath + "/clients/" + id + "/service-account-user").path("id").asText();
    String rm = adminGet(admin, realmPath + "/clients?clientId=realm-management").get(0).path("id").asText();
    ArrayNode roles = JSON.createArrayNode();
    for (String role : realmManagementRoles) {
      roles.add(adminGet(admin, realmPath + "/clients/" + rm + "/roles/" + role));
    }
    if (!roles.isEmpty()) {
      adminPost(admin, realmPath + "/users/" + saUser + "/role-mappings/clients/" + rm, roles, 204);
    }
    return secret.toCharArray();
  }

  /**
   * Creates, in realm {@value #REALM}, a public client like {@value #CLI_CLIENT} (direct access and
   * device grants, group names in claim {@value #GROUPS_CLAIM}) whose access and ID tokens live
   * {@code tokenLifespan}.
   */
  public void createPublicClient(String clientId, Duration tokenLifespan) {
    ObjectNode c = client(requireNonNull(clientId, "clientId"), true);
    ((ObjectNode) c.get("attributes")).put("access.token.lifespan", Long.toString(tokenLifespan.toSeconds()));
    adminPost(adminToken(), "/admin/realms/" + REALM + "/clients", c);
  }

  /**
   * One call to Keycloak's admin REST API as the bootstrap admin, for tests that set up or inspect
   * what an adapter must (not) touch: {@code path} starts with {@code /admin/realms/}; returns the
   * body, or the {@code Location} header of a 201.
   *
   * @throws IllegalStateException on any status other than 200, 201 or 204
   */
  public String adminCall(String method, String path, String jsonBody) {
    if (!path.startsWith("/admin/realms/")) {
      throw new IllegalArgumentException("not an admin API path: " + path);
    }
    HttpRequest.Builder rb = HttpRequest.newBuilder(base.resolve(path)).header("Authorization", "Bearer " + adminToken());
    if (jsonBody != null) {
      rb.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(jsonBody));
    } else {
      rb.method(method, HttpRequest.BodyPublishers.noBody());
    }
    HttpResponse<String> r = send(rb.build());
    if (r.statusCode() != 200 && r.statusCode() != 201 && r.statusCode() != 204) {
      throw new IllegalStateException("Keycloak admin API: " + method + " " + path + " answered HTTP " + r.statusCode()
          + " " + abbreviate(r.body()));
    }
    return r.statusCode() == 201 ? r.headers().firstValue("Location").orElse("") : r.body();
  }

  /** A public client with direct access grants; the CLI's also has the device authorization grant. */
  private static ObjectNode client(String clientId, boolean deviceGrant) {
    ObjectNode c = JSON.createObjectNode();
    c.put("clientId", clientId);
    c.put("protocol", "openid-connect");
    c.put("enabled", true);
    c.put("publicClient", true);
    c.put("standardFlowEnabled", false);
    c.put("directAccessGrantsEnabled", true);
    c.put("consentRequired", false);
    c.putObject("attributes").put("oauth2.device.authorization.grant.enabled", Boolean.toString(deviceGrant));
    ObjectNode mapper = c.putArray("protocolMappers").addObject();
    mapper.put("name", "group names");
    mapper.put("protocol", "openid-connect");
    mapper.put("protocolMapper", "oidc-group-membership-mapper");
    mapper.putObject("config")
        .put("claim.name", GROUPS_CLAIM)
        .put("full.path", "false")
        .put("id.token.claim", "true")
        .put("access.token.claim", "true")
        .put("userinfo.token.claim", "true");
    return c;
  }

  private String adminPost(String token, String path, JsonNode body) {
    return adminPost(token, path, body, 201);
  }

  private String adminPost(String token, String path, JsonNode body, int expected) {
    HttpResponse<String> r = send(HttpRequest.newBuilder(base.resolve(path))
        .header("Authorization", "Bearer " + token)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build());
    if (r.statusCode() != expected) {
      throw new IllegalStateException("Keycloak admin API: POST " + path + " answered HTTP " + r.statusCode() + " "
          + abbreviate(r.body()));
    }
    return r.headers().firstValue("Location").orElse("");
  }

  private void adminPut(String token, String path) {
    HttpResponse<String> r = send(HttpRequest.newBuilder(base.resolve(path))
        .header("Authorization", "Bearer " + token)
        .PUT(HttpRequest.BodyPublishers.noBody()).build());
    if (r.statusCode() != 204) {
      throw new IllegalStateException("Keycloak admin API: PUT " + path + " answered HTTP " + r.statusCode() + " "
          + abbreviate(r.body()));
    }
  }

  private JsonNode adminGet(String token, String path) {
    HttpResponse<String> r = send(HttpRequest.newBuilder(base.resolve(path))
        .header("Authorization", "Bearer " + token).GET().build());
    if (r.statusCode() != 200) {
      throw new IllegalStateException("Keycloak admin API: GET " + path + " answered HTTP " + r.statusCode());
    }
    return parse(r.body());
  }

  // ------------------------------------------------------------------------------------ helpers

  private HttpResponse<String> send(HttpRequest request) {
    return send(http, request);
  }

  private static HttpResponse<String> send(HttpClient client, HttpRequest request) {
    try {
      return client.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException("Keycloak: " + request.method() + " " + request.uri().getPath() + " failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted talking to Keycloak", e);
    }
  }

  /** The OAuth error code and description of a refused token request (never contains a secret). */
  private static String oauthError(HttpResponse<String> r) {
    try {
      JsonNode b = JSON.readTree(r.body());
      return b.path("error").asText("") + " " + b.path("error_description").asText("");
    } catch (IOException e) {
      return "(no OAuth error body)";
    }
  }

  private static JsonNode parse(String body) {
    try {
      return JSON.readTree(body);
    } catch (IOException e) {
      throw new IllegalStateException("Keycloak answered with something that is not JSON: " + abbreviate(body), e);
    }
  }

  private static String text(JsonNode body, String field) {
    JsonNode v = body.get(field);
    if (v == null || !v.isTextual()) {
      throw new IllegalStateException("Keycloak's token response has no " + field);
    }
    return v.asText();
  }

  private static String form(String... pairs) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < pairs.length; i += 2) {
      sb.append(i == 0 ? "" : "&").append(enc(pairs[i])).append('=').append(enc(requireNonNull(pairs[i + 1])));
    }
    return sb.toString();
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, UTF_8);
  }

  private static String randomSecret() {
    byte[] b = new byte[24];
    RANDOM.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  private static String abbreviate(String s) {
    String t = s == null ? "" : s.strip();
    return t.length() <= 300 ? t : t.substring(0, 300) + "...";
  }

  @Override
  public String toString() {
    return "Keycloak[" + issuer() + "]";
  }

  /** Thrown when Keycloak could not bind its ports; the start is retried with fresh ports. */
  private static final class PortClash extends RuntimeException {
    private static final long serialVersionUID = 1L;

    PortClash(String message) {
      super(message);
    }
  }

  /**
   * The tokens of one token response: an OpenID Connect ID token, an access token and a refresh
   * token. {@link #toString()} never shows them.
   */
  public static final class Tokens {
    private final String idToken;
    private final String accessToken;
    private final String refreshToken;

    Tokens(String idToken, String accessToken, String refreshToken) {
      this.idToken = requireNonNull(idToken, "idToken");
      this.accessToken = requireNonNull(accessToken, "accessToken");
      this.refreshToken = requireNonNull(refreshToken, "refreshToken");
    }

    /** The ID token (a JWS in compact form). */
    public String idToken() {
      return idToken;
    }

    /** The access token (a JWS in compact form, Keycloak's format). */
    public String accessToken() {
      return accessToken;
    }

    /** The refresh token. */
    public String refreshToken() {
      return refreshToken;
    }

    @Override
    public String toString() {
      return "Tokens[id, access, refresh: hidden]";
    }
  }
}
