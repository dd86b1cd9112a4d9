package dev.kubejit.console;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The console's side of the OpenID Connect authorization-code flow with PKCE (RFC 7636, method
 * S256): the issuer's discovery document (fetched once, its {@code issuer} must be exactly the
 * configured one), the authorization URL, and the back-channel code exchange at the token endpoint
 * (client secret sent with HTTP Basic when the client is confidential).
 */
final class OidcClient {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private static final int MAX_RESPONSE_CHARS = 256 * 1024;

  private final String issuer;
  private final String clientId;
  private final Supplier<char[]> clientSecret;
  private final HttpClient http;
  private final URI redirectUri;
  private volatile Endpoints endpoints;

  OidcClient(String issuer, String clientId, Supplier<char[]> clientSecret, HttpClient http, URI redirectUri) {
    this.issuer = requireNonNull(issuer, "issuer");
    this.clientId = requireNonNull(clientId, "clientId");
    this.clientSecret = clientSecret;
    this.http = requireNonNull(http, "http");
    this.redirectUri = requireNonNull(redirectUri, "redirectUri");
  }

  private record Endpoints(URI authorization, URI token) {}

  URI redirectUri() {
    return redirectUri;
  }

  String issuer() {
    return issuer;
  }

  /** The URL the browser is sent to for sign-in. */
  URI authorizationUrl(String state, String nonce, String codeVerifier) {
    Map<String, String> q = new LinkedHashMap<>();
    q.put("response_type", "code");
    q.put("client_id", clientId);
    q.put("redirect_uri", redirectUri.toString());
    q.put("scope", "openid");
    q.put("state", state);
    q.put("nonce", nonce);
    q.put("code_challenge", challenge(codeVerifier));
    q.put("code_challenge_method", "S256");
    URI base = endpoints().authorization;
    return URI.create(base + (base.getRawQuery() == null ? "?" : "&") + form(q));
  }

  /**
   * Exchanges an authorization code for the ID token.
   *
   * @throws IllegalStateException when the issuer refuses (its OAuth error code, never a token)
   */
  String exchange(String code, String codeVerifier) {
    Map<String, String> f = new LinkedHashMap<>();
    f.put("grant_type", "authorization_code");
    f.put("code", code);
    f.put("redirect_uri", redirectUri.toString());
    f.put("code_verifier", codeVerifier);
    HttpRequest.Builder b = HttpRequest.newBuilder(endpoints().token).timeout(TIMEOUT)
        .header("Content-Type", "application/x-www-form-urlencoded").header("Accept", "application/json");
    if (clientSecret != null) {
      char[] secret = clientSecret.get();
      try {
        String basic = URLEncoder.encode(clientId, StandardCharsets.UTF_8) + ":"
            + URLEncoder.encode(new String(secret), StandardCharsets.UTF_8);
        b.header("Authorization", "Basic " + Base64.getEncoder().encodeToString(basic.getBytes(StandardCharsets.UTF_8)));
      } finally {
        java.util.Arrays.fill(secret, '\0');
      }
    } else {
      f.put("client_id", clientId);
    }
    HttpResponse<String> r = send(b.POST(HttpRequest.BodyPublishers.ofString(form(f))).build(), "token endpoint");
    JsonNode body = parse(r.body(), "token response");
    if (r.statusCode() != 200) {
      throw new IllegalStateException("the issuer refused the authorization code: HTTP " + r.statusCode() + " "
          + printable(body.path("error").asText("")));
    }
    JsonNode id = body.get("id_token");
    if (id == null || !id.isTextual() || id.asText().isEmpty()) {
      throw new IllegalStateException("the issuer's token response holds no id_token (is scope openid allowed?)");
    }
    return id.asText();
  }

  private Endpoints endpoints() {
    Endpoints e = endpoints;
    if (e == null) {
      URI discovery = URI.create(issuer + (issuer.endsWith("/") ? "" : "/") + ".well-known/openid-configuration");
      HttpResponse<String> r = send(HttpRequest.newBuilder(discovery).timeout(TIMEOUT).GET().build(), "discovery");
      if (r.statusCode() != 200) {
        throw new IllegalStateException("the issuer's discovery document " + discovery + " answered HTTP " + r.statusCode());
      }
      JsonNode d = parse(r.body(), "discovery document");
      if (!issuer.equals(d.path("issuer").asText())) {
        throw new IllegalStateException("the discovery document names issuer " + printable(d.path("issuer").asText())
            + ", not the configured " + issuer);
      }
      e = new Endpoints(endpoint(d, "authorization_endpoint"), endpoint(d, "token_endpoint"));
      endpoints = e;
    }
    return e;
  }

  private static URI endpoint(JsonNode d, String name) {
    String v = d.path(name).asText("");
    URI u;
    try {
      u = URI.create(v);
    } catch (IllegalArgumentException ex) {
      throw new IllegalStateException("the discovery document's " + name + " is not a URL");
    }
    if (!"https".equals(u.getScheme()) && !isLoopbackHttp(u)) {
      throw new IllegalStateException("the discovery document's " + name + " must be https: " + printable(v));
    }
    return u;
  }

  private static boolean isLoopbackHttp(URI u) {
    return "http".equals(u.getScheme()) && ("127.0.0.1".equals(u.getHost()) || "localhost".equals(u.getHost()));
  }

  private HttpResponse<String> send(HttpRequest request, String what) {
    try {
      HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
      if (r.body().length() > MAX_RESPONSE_CHARS) {
        throw new IllegalStateException("the issuer's " + what + " answer is too large");
      }
      return r;
    } catch (IOException e) {
      throw new IllegalStateException("cannot reach the issuer's " + what + ": " + e.getClass().getSimpleName(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while calling the issuer's " + what, e);
    }
  }

  private static JsonNode parse(String body, String what) {
    try {
      JsonNode n = JSON.readTree(body);
      if (n == null || !n.isObject()) {
        throw new IllegalStateException("the issuer's " + what + " is not a JSON object");
      }
      return n;
    } catch (IOException e) {
      throw new IllegalStateException("the issuer's " + what + " is not JSON");
    }
  }

  static String challenge(String verifier) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(verifier.getBytes(StandardCharsets.US_ASCII));
      return Base64.getUrlEncoder().withoutPadding().encodeToString(d);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String form(Map<String, String> m) {
    StringBuilder b = new StringBuilder();
    m.forEach((k, v) -> b.append(b.length() == 0 ? "" : "&").append(URLEncoder.encode(k, StandardCharsets.UTF_8))
        .append('=').append(URLEncoder.encode(v, StandardCharsets.UTF_8)));
    return b.toString();
  }

  static String printable(String s) {
    StringBuilder b = new StringBuilder("\"");
    s.codePoints().limit(80).forEach(c -> b.appendCodePoint(c >= 0x20 && c < 0x7f && c != '"' ? c : '?'));
    return b.append('"').toString();
  }

  @Override
  public String toString() {
    return "OidcClient[issuer " + issuer + ", client " + clientId + (clientSecret == null ? ", public" : ", confidential")
        + ", redirect " + redirectUri + "]";
  }
}
