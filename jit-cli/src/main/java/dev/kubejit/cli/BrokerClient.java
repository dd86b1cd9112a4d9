package dev.kubejit.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManagerFactory;

/**
 * The client of the broker's HTTP API ({@code /api/v1}): TLS that trusts the configured CA file (or
 * the JDK's default trust store; verification is never turned off), connect and request timeouts,
 * the caller's credentials on every call, and the API's JSON errors mapped to {@link CliException}
 * with the server's message and a stable exit code. A token is never printed and never put into an
 * exception message.
 */
final class BrokerClient {
  static final ObjectMapper JSON = new ObjectMapper();
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);

  /** Exit codes of refusals, by the API's error code (docs/client.md). */
  static final int EXIT_UNAUTHENTICATED = 4;
  static final int EXIT_FORBIDDEN = 5;
  static final int EXIT_NOT_FOUND = 6;
  static final int EXIT_CONFLICT = 7;
  static final int EXIT_INVALID = 8;
  static final int EXIT_SERVER = 9;
  static final int EXIT_UNREACHABLE = 10;

  /** The credentials a call carries. */
  interface Auth {
    /** Headers to add to a call (e.g. Authorization); computed per call so tokens can be refreshed. */
    Map<String, String> headers();

    /** The client certificate's SSL context for mutual TLS, or null. */
    default SSLContext sslContext() {
      return null;
    }
  }

  private final URI server;
  private final HttpClient http;
  private final Auth auth;

  BrokerClient(URI server, SSLContext tls, Auth auth) {
    this.server = server;
    this.auth = auth;
    HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT).followRedirects(HttpClient.Redirect.NEVER);
    if (tls != null) {
      b.sslContext(tls);
    }
    this.http = b.build();
  }

  /** The client for the broker configured in {@code home} (written by {@code kubejit login}). */
  static BrokerClient open(ClientHome home) {
    Properties c = home.config();
    URI server = serverUri(c.getProperty("server"));
    Path caFile = pathOrNull(c.getProperty("caFile"));
    String mode = c.getProperty("auth", "");
    Auth auth;
    SSLContext tls;
    switch (mode) {
      case "oidc":
        auth = new OidcLogin.TokenAuth(home, c);
        tls = sslContext(caFile, null, null);
        break;
      case "tokenFile":
        Path tokenFile = Path.of(c.getProperty("tokenFile"));
        auth = () -> Map.of("Authorization", "Bearer " + readToken(tokenFile));
        tls = sslContext(caFile, null, null);
        break;
      case "devHeader":
        String header = c.getProperty("devHeader", "X-KubeJIT-User");
        String value = c.getProperty("devUser");
        auth = () -> Map.of(header, value);
        tls = sslContext(caFile, null, null);
        break;
      case "mtls":
        tls = sslContext(caFile, Path.of(c.getProperty("clientCert")), Path.of(c.getProperty("clientKey")));
        auth = Map::of;
        break;
      default:
        throw new CliException(home.configFile() + ": auth must be oidc, tokenFile, devHeader or mtls; run: kubejit login", EXIT_UNAUTHENTICATED);
    }
    return new BrokerClient(server, tls, auth);
  }

  /** A client without credentials, for the endpoints that need none ({@code /api/v1/login-config}). */
  static BrokerClient anonymous(URI server, Path caFile) {
    return new BrokerClient(server, sslContext(caFile, null, null), Map::of);
  }

  static URI serverUri(String text) {
    URI u;
    try {
      u = URI.create(text == null ? "" : text.trim());
    } catch (IllegalArgumentException e) {
      throw new CliException("the broker URL is malformed" + (text.contains("@") ? "" : ": " + CredentialCommand.oneLine(text)), 64);
    }
    if (u.getHost() == null || !("https".equals(u.getScheme()) || "http".equals(u.getScheme()))
        || u.getRawQuery() != null || u.getRawUserInfo() != null || u.getRawFragment() != null) {
      // a URL with user info may hold a password: it is not echoed
      throw new CliException("the broker URL must be https://host[:port] without user info, path query or fragment"
          + " (http only for a loopback dev server)" + (text != null && text.contains("@") ? "" : ": " + CredentialCommand.oneLine(String.valueOf(text))), 64);
    }
    if ("http".equals(u.getScheme()) && !OidcLogin.isLoopback(u.getHost())) {
      throw new CliException("refusing plain http to " + u.getHost() + ": only a loopback dev server may be used without TLS", 64);
    }
    String s = u.toString();
    return URI.create(s.endsWith("/") ? s.substring(0, s.length() - 1) : s);
  }

  URI server() {
    return server;
  }

  JsonNode get(String path) {
    return send("GET", path, null);
  }

  JsonNode post(String path, Object body) {
    return send("POST", path, body);
  }

  static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  private JsonNode send(String method, String path, Object body) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(server + path)).timeout(REQUEST_TIMEOUT)
        .header("Accept", "application/json");
    if (body != null) {
      byte[] bytes;
      try {
        bytes = JSON.writeValueAsBytes(body);
      } catch (JsonProcessingException e) {
        throw new IllegalStateException("cannot render the request body", e);
      }
      b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofByteArray(bytes));
    } else {
      b.method(method, HttpRequest.BodyPublishers.noBody());
    }
    auth.headers().forEach(b::header);
    HttpResponse<byte[]> r = exchange(http, b.build(), server.toString());
    return parse(r, method + " " + path);
  }

  /** Sends a request, mapping connection and TLS failures to {@link CliException}s that say what to check. */
  static HttpResponse<byte[]> exchange(HttpClient http, HttpRequest request, String what) {
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofByteArray());
    } catch (HttpConnectTimeoutException | ConnectException e) {
      throw new CliException("cannot reach " + what + ": " + e.getClass().getSimpleName()
          + (e.getMessage() == null ? "" : " " + e.getMessage()), EXIT_UNREACHABLE);
    } catch (HttpTimeoutException e) {
      throw new CliException(what + " did not answer within " + REQUEST_TIMEOUT.toSeconds() + " s", EXIT_UNREACHABLE);
    } catch (SSLException e) {
      throw new CliException("TLS with " + what + " failed (is the CA file right? see kubejit login --ca-file): "
          + e.getMessage(), EXIT_UNREACHABLE);
    } catch (IOException e) {
      throw new CliException("cannot talk to " + what + ": " + e.getClass().getSimpleName() + " " + e.getMessage(), EXIT_UNREACHABLE);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException("interrupted", 130);
    }
  }

  /** The response's JSON, or a {@link CliException} with the API's error message and the exit code for its code. */
  static JsonNode parse(HttpResponse<byte[]> r, String what) {
    JsonNode body = null;
    try {
      if (r.body().length > 0) {
        body = JSON.readTree(r.body());
      }
    } catch (IOException e) {
      body = null;
    }
    if (r.statusCode() / 100 == 2) {
      if (body == null) {
        throw new CliException(what + ": the broker answered " + r.statusCode() + " without a JSON body", EXIT_SERVER);
      }
      return body;
    }
    JsonNode error = body == null ? null : body.path("error");
    String code = error == null ? "" : error.path("code").asText("");
    String message = error == null ? "" : error.path("message").asText("");
    if (code.isEmpty()) {
      throw new CliException(what + ": HTTP " + r.statusCode() + " without an API error", exitFor("", r.statusCode()));
    }
    throw new CliException(CredentialCommand.oneLine(message.isEmpty() ? code : message) + " (" + code + ")",
        exitFor(code, r.statusCode()));
  }

  static int exitFor(String code, int status) {
    switch (code) {
      case "unauthenticated":
        return EXIT_UNAUTHENTICATED;
      case "forbidden":
      case "approval_refused":
      case "policy_denied":
        return EXIT_FORBIDDEN;
      case "not_found":
        return EXIT_NOT_FOUND;
      case "conflict":
      case "grant_ended":
        return EXIT_CONFLICT;
      case "invalid_request":
      case "unknown_field":
      case "private_key_refused":
      case "payload_too_large":
      case "unsupported_media_type":
      case "method_not_allowed":
        return EXIT_INVALID;
      default:
        if (status == 401) {
          return EXIT_UNAUTHENTICATED;
        }
        if (status == 403) {
          return EXIT_FORBIDDEN;
        }
        if (status == 404) {
          return EXIT_NOT_FOUND;
        }
        if (status == 409) {
          return EXIT_CONFLICT;
        }
        return status >= 500 ? EXIT_SERVER : EXIT_INVALID;
    }
  }

  static ObjectNode object(Object... keyValues) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < keyValues.length; i += 2) {
      if (keyValues[i + 1] != null) {
        m.put((String) keyValues[i], keyValues[i + 1]);
      }
    }
    return JSON.valueToTree(m);
  }

  private static String readToken(Path file) {
    String t = ClientHome.readPrivate(file).trim();
    if (t.isEmpty() || t.chars().anyMatch(ch -> ch <= 0x20 || ch >= 0x7f)) {
      throw new CliException("the token file " + file + " must hold one token on one line", EXIT_UNAUTHENTICATED);
    }
    return t;
  }

  private static Path pathOrNull(String s) {
    return s == null || s.isBlank() ? null : Path.of(s);
  }

  /**
   * TLS that trusts the certificates in {@code caFile} (or the JDK default when null), with the
   * client certificate and PKCS#8 key for mutual TLS when given.
   */
  static SSLContext sslContext(Path caFile, Path clientCert, Path clientKey) {
    if (caFile == null && clientCert == null) {
      return null;
    }
    try {
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      if (caFile != null) {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        int i = 0;
        for (Certificate c : certificates(caFile)) {
          trust.setCertificateEntry("ca-" + i++, c);
        }
        tmf.init(trust);
      } else {
        tmf.init((KeyStore) null);
      }
      KeyManagerFactory kmf = null;
      if (clientCert != null) {
        List<Certificate> chain = new ArrayList<>(certificates(clientCert));
        PrivateKey key = privateKey(clientKey);
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        char[] pw = new char[0];
        ks.setKeyEntry("client", key, pw, chain.toArray(new Certificate[0]));
        kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, pw);
      }
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
      return ctx;
    } catch (IOException | GeneralSecurityException e) {
      throw new CliException("cannot set up TLS: " + e.getClass().getSimpleName() + " " + e.getMessage());
    }
  }

  private static Collection<? extends Certificate> certificates(Path file) throws IOException, GeneralSecurityException {
    byte[] pem = java.nio.file.Files.readAllBytes(file);
    Collection<? extends Certificate> certs = CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem));
    if (certs.isEmpty()) {
      throw new CliException(file + " holds no PEM certificate");
    }
    return certs;
  }

  private static final Pattern PKCS8 = Pattern.compile("-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");

  /** A PKCS#8 PEM private key (EC, Ed25519 or RSA); the message of a failure never holds key material. */
  static PrivateKey privateKey(Path file) {
    Matcher m = PKCS8.matcher(ClientHome.readPrivate(file));
    if (!m.find()) {
      throw new CliException(file + " holds no PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----)");
    }
    byte[] der = Base64.getMimeDecoder().decode(m.group(1));
    for (String alg : List.of("EC", "Ed25519", "RSA")) {
      try {
        return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
      } catch (GeneralSecurityException e) {
        // try the next algorithm
      }
    }
    throw new CliException(file + " holds a private key of an unsupported type (EC, Ed25519 and RSA are supported)");
  }
}
