package dev.kubejit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Collectors;

/**
 * The OAuth 2.0 device authorization grant (RFC 8628) against the broker's OIDC issuer, as CLI
 * logins to Kubernetes usually work: print the verification URL and the user code, poll the token
 * endpoint at the server's interval (slower on {@code slow_down}) until the user approves, the
 * code expires or the user refuses; then keep the ID and refresh tokens in {@code
 * ~/.kubejit/tokens} (0600) and refresh the ID token silently when it is about to expire.
 */
final class OidcLogin {
  static final String DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
  /** Refresh the ID token when it expires within this margin. */
  static final Duration REFRESH_MARGIN = Duration.ofSeconds(60);

  /** Sleeps between polls; replaceable in tests. */
  interface Sleeper {
    void sleep(Duration d) throws InterruptedException;
  }

  private final URI issuer;
  private final String clientId;
  private final HttpClient http;
  private final Clock clock;

  OidcLogin(URI issuer, String clientId, Path issuerCaFile, Clock clock) {
    this.issuer = issuer;
    this.clientId = clientId;
    this.clock = clock;
    HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(BrokerClient.CONNECT_TIMEOUT)
        .followRedirects(HttpClient.Redirect.NEVER);
    var tls = BrokerClient.sslContext(issuerCaFile, null, null);
    if (tls != null) {
      b.sslContext(tls);
    }
    this.http = b.build();
  }

  static URI issuerUri(String text) {
    URI u;
    try {
      u = URI.create(text);
    } catch (IllegalArgumentException | NullPointerException e) {
      throw new CliException("the issuer URL from the broker is malformed", BrokerClient.EXIT_SERVER);
    }
    if (u.getHost() == null || !("https".equals(u.getScheme()) || ("http".equals(u.getScheme()) && isLoopback(u.getHost())))) {
      throw new CliException("the OIDC issuer must be an https URL: " + CredentialCommand.oneLine(text), BrokerClient.EXIT_SERVER);
    }
    return u;
  }

  static boolean isLoopback(String host) {
    if ("localhost".equalsIgnoreCase(host)) {
      return true;
    }
    String h = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
    if (!h.matches("[0-9.]+") && !h.contains(":")) {
      return false; // a name other than localhost: do not resolve it to decide
    }
    try {
      return InetAddress.getByName(h).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }

  /** The issuer's discovery document's endpoints. */
  record Endpoints(URI device, URI token) {}

  Endpoints discover() {
    String base = issuer.toString().endsWith("/") ? issuer.toString() : issuer + "/";
    URI wellKnown = URI.create(base + ".well-known/openid-configuration");
    HttpResponse<byte[]> r = BrokerClient.exchange(http,
        HttpRequest.newBuilder(wellKnown).timeout(BrokerClient.REQUEST_TIMEOUT).GET().build(), issuer.toString());
    JsonNode doc = json(r, "the issuer's discovery document");
    if (r.statusCode() != 200) {
      throw new CliException("the issuer's discovery document " + wellKnown + " answered HTTP " + r.statusCode(), BrokerClient.EXIT_SERVER);
    }
    if (!issuer.toString().equals(doc.path("issuer").asText())) {
      throw new CliException("the issuer's discovery document names another issuer: "
          + CredentialCommand.oneLine(doc.path("issuer").asText()), BrokerClient.EXIT_SERVER);
    }
    String device = doc.path("device_authorization_endpoint").asText("");
    if (device.isEmpty()) {
      throw new CliException("the issuer " + issuer + " does not offer the device authorization grant", BrokerClient.EXIT_SERVER);
    }
    return new Endpoints(issuerUri(device), issuerUri(doc.path("token_endpoint").asText("")));
  }

  /**
   * Runs the device flow: prints where to go and which code to enter to {@code out}, polls until
   * the user finished, and returns the token response's fields to store.
   */
  Properties deviceLogin(PrintWriter out, Sleeper sleeper) {
    Endpoints ep = discover();
    HttpResponse<byte[]> r = postForm(ep.device(), Map.of("client_id", clientId, "scope", "openid"));
    JsonNode d = json(r, "the device authorization endpoint");
    if (r.statusCode() != 200) {
      throw new CliException("the issuer refused the device login: " + oauthError(d), BrokerClient.EXIT_UNAUTHENTICATED);
    }
    String deviceCode = d.path("device_code").asText("");
    String userCode = d.path("user_code").asText("");
    String verify = d.path("verification_uri").asText("");
    if (deviceCode.isEmpty() || userCode.isEmpty() || verify.isEmpty()) {
      throw new CliException("the device authorization response lacks device_code, user_code or verification_uri", BrokerClient.EXIT_SERVER);
    }
    Duration interval = Duration.ofSeconds(Math.max(1, d.path("interval").asLong(5)));
    Instant deadline = clock.instant().plusSeconds(Math.max(1, d.path("expires_in").asLong(600)));
    out.println("To log in, open " + CredentialCommand.oneLine(verify) + " and enter the code " + CredentialCommand.oneLine(userCode));
    String complete = d.path("verification_uri_complete").asText("");
    if (!complete.isEmpty()) {
      out.println("or open " + CredentialCommand.oneLine(complete));
    }
    out.println("Waiting for you to finish in the browser (the code expires at " + deadline + ")...");
    out.flush();
    while (true) {
      if (!clock.instant().plus(interval).isBefore(deadline)) {
        throw new CliException("the login code expired before the login was finished; run kubejit login again", BrokerClient.EXIT_UNAUTHENTICATED);
      }
      try {
        sleeper.sleep(interval);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CliException("interrupted", 130);
      }
      HttpResponse<byte[]> t = postForm(ep.token(), Map.of("grant_type", DEVICE_GRANT, "device_code", deviceCode, "client_id", clientId));
      JsonNode tok = json(t, "the token endpoint");
      if (t.statusCode() == 200) {
        return tokens(tok, ep.token(), null);
      }
      String error = tok.path("error").asText("");
      switch (error) {
        case "authorization_pending":
          continue;
        case "slow_down":
          interval = interval.plusSeconds(5);
          continue;
        case "expired_token":
          throw new CliException("the login code expired before the login was finished; run kubejit login again", BrokerClient.EXIT_UNAUTHENTICATED);
        case "access_denied":
          throw new CliException("the login was refused in the browser", BrokerClient.EXIT_UNAUTHENTICATED);
        default:
          throw new CliException("the issuer refused the login: " + oauthError(tok), BrokerClient.EXIT_UNAUTHENTICATED);
      }
    }
  }

  /** Exchanges the refresh token for new tokens; the result keeps the old refresh token when no new one came. */
  Properties refresh(URI tokenEndpoint, String refreshToken) {
    HttpResponse<byte[]> t = postForm(tokenEndpoint,
        Map.of("grant_type", "refresh_token", "refresh_token", refreshToken, "client_id", clientId, "scope", "openid"));
    JsonNode tok = json(t, "the token endpoint");
    if (t.statusCode() != 200) {
      throw new CliException("your login has expired (" + oauthError(tok) + "); run: kubejit login", BrokerClient.EXIT_UNAUTHENTICATED);
    }
    return tokens(tok, tokenEndpoint, refreshToken);
  }

  private Properties tokens(JsonNode tok, URI tokenEndpoint, String previousRefresh) {
    String id = tok.path("id_token").asText("");
    if (id.isEmpty()) {
      throw new CliException("the issuer returned no ID token (is the scope openid allowed for client " + clientId + "?)", BrokerClient.EXIT_SERVER);
    }
    Properties p = new Properties();
    p.setProperty("idToken", id);
    p.setProperty("idTokenExpiresAt", Long.toString(expiry(id).getEpochSecond()));
    String refresh = tok.path("refresh_token").asText(previousRefresh == null ? "" : previousRefresh);
    if (!refresh.isEmpty()) {
      p.setProperty("refreshToken", refresh);
    }
    p.setProperty("tokenEndpoint", tokenEndpoint.toString());
    return p;
  }

  /** The {@code exp} of a JWT, read without verifying it (the broker verifies; this only schedules the refresh). */
  static Instant expiry(String jwt) {
    String[] parts = jwt.split("\\.");
    try {
      JsonNode claims = BrokerClient.JSON.readTree(Base64.getUrlDecoder().decode(parts[1]));
      if (!claims.path("exp").canConvertToLong()) {
        throw new IllegalArgumentException("no exp");
      }
      return Instant.ofEpochSecond(claims.path("exp").asLong());
    } catch (IOException | RuntimeException e) {
      throw new CliException("the issuer returned an ID token that is not a JWT with an exp claim", BrokerClient.EXIT_SERVER);
    }
  }

  private HttpResponse<byte[]> postForm(URI endpoint, Map<String, String> form) {
    String body = new LinkedHashMap<>(form).entrySet().stream()
        .map(e -> BrokerClient.enc(e.getKey()) + "=" + BrokerClient.enc(e.getValue())).collect(Collectors.joining("&"));
    HttpRequest req = HttpRequest.newBuilder(endpoint).timeout(BrokerClient.REQUEST_TIMEOUT)
        .header("Content-Type", "application/x-www-form-urlencoded").header("Accept", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8)).build();
    return BrokerClient.exchange(http, req, issuer.toString());
  }

  private static JsonNode json(HttpResponse<byte[]> r, String what) {
    try {
      return BrokerClient.JSON.readTree(r.body());
    } catch (IOException e) {
      throw new CliException(what + " answered HTTP " + r.statusCode() + " without JSON", BrokerClient.EXIT_SERVER);
    }
  }

  /** An OAuth error for a message: the error code and its description, never a token. */
  private static String oauthError(JsonNode n) {
    String e = n.path("error").asText("unknown error");
    String desc = n.path("error_description").asText("");
    return CredentialCommand.oneLine(desc.isEmpty() ? e : e + ": " + desc);
  }

  /** Bearer-token credentials from {@code ~/.kubejit/tokens}, refreshed when the ID token is about to expire. */
  static final class TokenAuth implements BrokerClient.Auth {
    private final ClientHome home;
    private final Properties config;
    private final Clock clock;

    TokenAuth(ClientHome home, Properties config) {
      this(home, config, Clock.systemUTC());
    }

    TokenAuth(ClientHome home, Properties config, Clock clock) {
      this.home = home;
      this.config = config;
      this.clock = clock;
    }

    @Override
    public Map<String, String> headers() {
      return Map.of("Authorization", "Bearer " + idToken());
    }

    /** The current ID token, refreshing it first when it expires within {@link #REFRESH_MARGIN}. */
    String idToken() {
      Properties t = home.tokens();
      String id = t.getProperty("idToken");
      if (id == null) {
        throw new CliException("not logged in; run: kubejit login", BrokerClient.EXIT_UNAUTHENTICATED);
      }
      long exp = Long.parseLong(t.getProperty("idTokenExpiresAt", "0"));
      if (clock.instant().plus(REFRESH_MARGIN).isBefore(Instant.ofEpochSecond(exp))) {
        return id;
      }
      String refresh = t.getProperty("refreshToken");
      if (refresh == null) {
        throw new CliException("your login has expired; run: kubejit login", BrokerClient.EXIT_UNAUTHENTICATED);
      }
      OidcLogin login = new OidcLogin(issuerUri(config.getProperty("issuer")), config.getProperty("clientId"),
          config.getProperty("issuerCaFile") == null ? null : Path.of(config.getProperty("issuerCaFile")), clock);
      Properties fresh = login.refresh(URI.create(t.getProperty("tokenEndpoint")), refresh);
      home.writeTokens(fresh);
      return fresh.getProperty("idToken");
    }
  }
}
