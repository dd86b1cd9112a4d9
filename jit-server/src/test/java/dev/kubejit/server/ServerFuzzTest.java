package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.util.Base64URL;
import dev.kubejit.api.Identity;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.credentials.GrantCredentialIssuer;
import dev.kubejit.credentials.KeyType;
import dev.kubejit.credentials.X509Issuer;
import dev.kubejit.policy.PolicyEngine;
import dev.kubejit.policy.PolicyFormat;
import dev.kubejit.policy.PolicyLoader;
import dev.kubejit.testing.FakeClock;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Hostile input to the service: {@code kubejit.yaml} and HTTP calls.
 *
 * <p>(1) {@link ServerConfig#parse} of any bytes (seeded with the test configurations) returns a
 * configuration or throws {@link ConfigException}, nothing else.
 *
 * <p>(2) {@link BrokerHttpApi#handle} with a fuzzed method, path (built around the real routes,
 * with fuzzed ids), headers, Content-Type and body, authenticated by the dev header or not at all.
 * Properties: never a 500 (an unexpected exception) and only the documented statuses; every answer
 * is JSON; and a call without credentials to an authenticated route never reaches the broker: it
 * is answered 401 (or 404/405/413 by the router before authentication) and the store and the audit
 * sink see no call at all.
 *
 * <p>(3) {@link OidcAuthenticator#authenticate} with an {@code Authorization: Bearer} token against a
 * pinned JWKS file holding one RSA key whose {@code alg} is RS256. An input is a whole token (it
 * starts with {@code eyJ}), a raw header value ({@code raw:} and the value), or {@code HEADER-JSON \n
 * CLAIMS-JSON [\n SIGNATURE]}: header and claims encoded here as written and, unless a signature is
 * given, signed with the pinned key under the algorithm the header names when that is an RSA one
 * (RS256/384/512, PS256/384/512), else RS256; so the fuzzer reaches every check after the
 * signature. Properties: only {@link AuthenticationException} escapes, with a message that never
 * holds the token; an identity is returned only for a token whose header and claims, read here
 * with a separate strict JSON parse, have {@code alg} RS256 and no {@code crit}, the configured
 * {@code iss}, an {@code aud} that is or contains the configured audience, a numeric {@code iat}
 * and a numeric {@code exp} no earlier than now minus the configured skew (60 s), no {@code nbf}
 * later than now plus the skew, and whose user and groups are exactly the configured claims
 * ({@code preferred_username}, {@code groups}).
 *
 * <p>{@code scripts/fuzz.sh config|http|oidc SECONDS} fuzzes.
 */
class ServerFuzzTest {
  private static final Set<Integer> DOCUMENTED = Set.of(200, 201, 400, 401, 403, 404, 405, 409, 413, 415, 502, 503);
  private static final String[] METHODS = {"GET", "POST", "PUT", "DELETE", "get", ""};
  private static final String[] PATHS = {"/api/v1/requests", "/api/v1/requests/%s", "/api/v1/requests/%s/approve",
      "/api/v1/requests/%s/deny", "/api/v1/requests/%s/activate", "/api/v1/requests/%s/revoke", "/api/v1/grants",
      "/api/v1/grants/%s/credentials", "/api/v1/whoami", "/api/v1/clusters", "/healthz", "/readyz", "/api/v1/login-config",
      "%s"};
  private static final Set<String> OPEN = Set.of("/healthz", "/readyz", "/metrics", "/api/v1/openapi.json",
      "/api/v1/login-config");
  private static final byte[] POLICY = resource("/test-policy.json");

  private static final AtomicLong storeCalls = new AtomicLong();
  private static final AtomicLong auditCalls = new AtomicLong();
  private static BrokerHttpApi api;
  private static long calls;
  private static String knownId = "none";

  private static byte[] resource(String name) {
    try (InputStream in = ServerFuzzTest.class.getResourceAsStream(name)) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A store that counts every call, whatever it is. */
  private static RequestStore counting(RequestStore delegate) {
    return (RequestStore) Proxy.newProxyInstance(RequestStore.class.getClassLoader(), new Class<?>[] {RequestStore.class},
        (proxy, method, args) -> {
          storeCalls.incrementAndGet();
          try {
            return method.invoke(delegate, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
        });
  }

  /** A fresh broker every 2,000 calls, so that long fuzzing runs do not fill the in-memory store. */
  private static BrokerHttpApi api() {
    if (api == null || calls++ % 2000 == 0) {
      FakeClock clock = new FakeClock(Instant.parse("2026-03-01T10:00:00Z"));
      CertificateAuthority ca = CertificateAuthority.builder().keyType(KeyType.ED25519).commonName("fuzz-ca")
          .validity(Duration.ofDays(2)).clock(clock).generate();
      AuditSink audit = events -> auditCalls.incrementAndGet();
      JitBroker broker = JitBroker.builder().clock(clock)
          .policy(PolicyEngine.of(PolicyLoader.parse(POLICY, PolicyFormat.JSON, "test-policy.json", "t")))
          .store(counting(RequestStore.inMemory())).auditSink(audit).rbacProvisioner(RbacProvisioner.inMemory())
          .credentialIssuer(GrantCredentialIssuer.builder().x509(X509Issuer.builder().authority(ca).clock(clock).build())
              .clock(clock).build())
          .build();
      api = BrokerHttpApi.builder().broker(broker).authenticator(new DevHeaderAuthenticator("X-User")).build();
    }
    return api;
  }

  @FuzzTest(maxDuration = "30s")
  void configReaderThrowsOnlyConfigException(byte[] input) {
    try {
      ServerConfig c = ServerConfig.parse(input, "kubejit.yaml", Path.of("/nonexistent/kubejit-fuzz"));
      assertTrue(c.source().toString().endsWith("kubejit.yaml"));
    } catch (ConfigException refused) {
      assertFalse(refused.getMessage() == null || refused.getMessage().isBlank(), "a refusal says why");
    }
  }

  @FuzzTest(maxDuration = "30s")
  void apiNeverFailsInternallyAndNothingUnauthenticatedReachesTheBroker(FuzzedDataProvider data) throws Exception {
    BrokerHttpApi a = api();
    boolean authenticated = data.consumeBoolean();
    String method = data.pickValue(METHODS);
    String id = data.consumeBoolean() ? knownId : data.consumeString(40);
    String path = String.format(Locale.ROOT, data.pickValue(PATHS), id);
    String rawQuery = data.consumeBoolean() ? null : data.consumeString(60);
    Map<String, String> headers = new LinkedHashMap<>();
    if (authenticated) {
      headers.put("X-User", data.consumeBoolean() ? "alice;oncall-payments" : data.consumeString(80));
    }
    String otherName = data.consumeString(20);
    String otherValue = data.consumeString(60);
    if (!otherName.equalsIgnoreCase("X-User")) {
      headers.put(otherName, otherValue);
    }
    if (data.consumeBoolean()) {
      headers.put("Content-Type", data.consumeBoolean() ? "application/json" : data.consumeString(40));
    }
    byte[] body = data.consumeRemainingAsBytes();
    long store0 = storeCalls.get();
    long audit0 = auditCalls.get();
    HttpCall call;
    try {
      call = HttpCall.of(method, path, rawQuery, body, Presented.of(headers, List.of(), "127.0.0.1"));
    } catch (IllegalArgumentException refusedByHttpCall) {
      return; // a call the HTTP host could never build (the value types refuse it)
    }
    HttpReply r = a.handle(call);
    assertNotEquals(500, r.status(), () -> "internal error for " + method + " " + path + ": " + r.bodyText());
    assertTrue(DOCUMENTED.contains(r.status()), () -> "undocumented status " + r.status() + ": " + r.bodyText());
    if (r.headers().getOrDefault("Content-Type", "").startsWith("application/json")) {
      Json.MAPPER.readTree(r.body());
    }
    if (!authenticated && !OPEN.contains(path)) {
      assertTrue(Set.of(401, 404, 405, 413).contains(r.status()), () -> "unauthenticated " + method + " " + path
          + " answered " + r.status() + ": " + r.bodyText());
      assertEquals(store0, storeCalls.get(), "an unauthenticated call reached the store");
      assertEquals(audit0, auditCalls.get(), "an unauthenticated call reached the audit sink");
    }
    if (r.status() == 201 && r.body().length > 0) {
      String created = Json.MAPPER.readTree(r.body()).path("id").asText("");
      if (!created.isEmpty()) {
        knownId = created;
      }
    }
  }

  // ---------------------------------------------------------------------------------------- OIDC

  private static final Instant OIDC_NOW = Instant.parse("2026-03-01T10:00:00Z");
  private static final Duration OIDC_SKEW = Duration.ofSeconds(60);
  private static final String OIDC_ISSUER = "https://idp.example/realms/kubejit";
  private static final String OIDC_AUDIENCE = "kubejit";
  private static final Pattern RSA_ALG = Pattern.compile("\"alg\"\\s*:\\s*\"((?:RS|PS)(?:256|384|512))\"");
  /** A strict reader: standard JSON only, a repeated key is an error. */
  private static final ObjectMapper STRICT_JSON = JsonMapper.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
  private static RSAKey oidcKey;
  private static OidcAuthenticator oidc;

  /** One RSA key per JVM, its public half (alg RS256) in a JWKS file the authenticator reads once. */
  private static OidcAuthenticator oidc() throws Exception {
    if (oidc == null) {
      oidcKey = new RSAKeyGenerator(2048).keyID("rsa-1").keyUse(KeyUse.SIGNATURE).algorithm(JWSAlgorithm.RS256)
          .generate();
      Path jwks = Files.createTempFile("oidc-fuzz", ".jwks.json");
      try {
        Files.writeString(jwks, new JWKSet(oidcKey.toPublicJWK()).toString());
        oidc = OidcAuthenticator.fromConfig(ServerConfig.Authentication.oidc(OIDC_ISSUER, OIDC_AUDIENCE, jwks, null,
            "groups", "preferred_username", null, OIDC_SKEW), Clock.fixed(OIDC_NOW, ZoneOffset.UTC));
      } finally {
        Files.delete(jwks);
      }
    }
    return oidc;
  }

  static String oidcToken(String text) throws JOSEException {
    if (text.startsWith("eyJ")) {
      return text;
    }
    String[] parts = text.split("\n", 3);
    String header = Base64URL.encode(parts[0].getBytes(StandardCharsets.UTF_8)).toString();
    String claims = Base64URL.encode((parts.length > 1 ? parts[1] : "").getBytes(StandardCharsets.UTF_8)).toString();
    String signingInput = header + "." + claims;
    if (parts.length > 2) {
      return signingInput + "." + parts[2];
    }
    Matcher m = RSA_ALG.matcher(parts[0]);
    JWSAlgorithm alg = m.find() ? JWSAlgorithm.parse(m.group(1)) : JWSAlgorithm.RS256;
    return signingInput + "." + new RSASSASigner(oidcKey).sign(new JWSHeader(alg),
        signingInput.getBytes(StandardCharsets.US_ASCII));
  }

  /** The seeds are alive: the valid one authenticates alice, its expired twin does not. */
  @Test
  void theOidcSeedsAreSignedWithThePinnedKey() throws Exception {
    Identity alice = oidc().authenticate(Presented.of(Map.of("Authorization", "Bearer " + oidcToken(oidcSeed("valid"))),
        List.of(), "127.0.0.1"));
    assertEquals("alice", alice.user());
    assertEquals(Set.of("oncall-payments", "sre"), alice.groups());
    for (String refused : List.of("expired-beyond-skew", "alg-ps256", "other-issuer", "duplicate-alg",
        "exp-wrapping-to-now", "nbf-wrapping-to-the-past")) {
      String token = oidcToken(oidcSeed(refused));
      assertThrows(AuthenticationException.class, () -> oidc.authenticate(Presented.of(Map.of("Authorization",
          "Bearer " + token), List.of(), "127.0.0.1")), refused);
      oidcAuthenticatesOnlyPinnedUnexpiredTokensOfTheIssuer(oidcSeed(refused).getBytes(StandardCharsets.UTF_8));
    }
  }

  private static String oidcSeed(String name) {
    return new String(resource("ServerFuzzTestInputs/oidcAuthenticatesOnlyPinnedUnexpiredTokensOfTheIssuer/" + name),
        StandardCharsets.UTF_8);
  }

  @FuzzTest(maxDuration = "30s")
  void oidcAuthenticatesOnlyPinnedUnexpiredTokensOfTheIssuer(byte[] input) throws Exception {
    OidcAuthenticator auth = oidc();
    String text = new String(input, StandardCharsets.UTF_8);
    String value;
    String token;
    if (text.startsWith("raw:")) {
      value = text.substring(4);
      Matcher bearer = Pattern.compile("(?is)\\s*bearer\\s+(.*)").matcher(value);
      token = bearer.matches() ? bearer.group(1).strip() : value;
    } else {
      token = oidcToken(text);
      value = "Bearer " + token;
    }
    Identity who;
    try {
      who = auth.authenticate(Presented.of(Map.of("Authorization", value), List.of(), "127.0.0.1"));
    } catch (AuthenticationException refused) {
      assertFalse(refused.getMessage() == null || refused.getMessage().isBlank(), "a refusal says why");
      assertFalse(token.length() > 8 && refused.getMessage().contains(token), "the message never holds the token");
      return;
    }
    String[] parts = token.split("\\.", -1);
    assertEquals(3, parts.length, "a signed JWT has three parts");
    JsonNode header = STRICT_JSON.readTree(new Base64URL(parts[0]).decode());
    JsonNode claims = STRICT_JSON.readTree(new Base64URL(parts[1]).decode());
    assertTrue(header.isObject() && claims.isObject(), "header and claims are JSON objects");
    assertEquals("RS256", header.path("alg").textValue(), () -> "the pinned algorithm: " + header);
    assertTrue(header.path("crit").isMissingNode() || header.path("crit").isNull()
        || header.path("crit").isArray() && header.path("crit").isEmpty(), () -> "no critical parameters: " + header);
    assertEquals(OIDC_ISSUER, claims.path("iss").textValue(), () -> "the pinned issuer: " + claims);
    JsonNode aud = claims.path("aud");
    boolean forUs = OIDC_AUDIENCE.equals(aud.textValue());
    for (JsonNode a : aud.isArray() ? aud : List.<JsonNode>of()) {
      forUs |= OIDC_AUDIENCE.equals(a.textValue());
    }
    assertTrue(forUs, () -> "the configured audience: " + claims);
    assertTrue(claims.path("iat").isNumber(), () -> "iat is a number: " + claims);
    assertTrue(claims.path("exp").isNumber(), () -> "exp is a number: " + claims);
    long now = OIDC_NOW.getEpochSecond();
    assertTrue(claims.path("exp").longValue() >= now - OIDC_SKEW.toSeconds(), () -> "exp within the skew: " + claims);
    assertTrue(claims.path("nbf").isMissingNode() || claims.path("nbf").isNull()
        || claims.path("nbf").isNumber() && claims.path("nbf").longValue() <= now + OIDC_SKEW.toSeconds(),
        () -> "nbf within the skew: " + claims);
    assertEquals(claims.path("preferred_username").textValue(), who.user(), "the user is the configured claim");
    Set<String> groups = new HashSet<>();
    JsonNode g = claims.path("groups");
    assertTrue(g.isMissingNode() || g.isNull() || g.isArray(), () -> "groups is a list: " + claims);
    for (JsonNode n : g.isArray() ? g : List.<JsonNode>of()) {
      assertTrue(n.isTextual(), () -> "every group is a string: " + claims);
      groups.add(n.textValue());
    }
    assertEquals(groups, who.groups(), "the groups are the configured claim");
    assertEquals("oidc:" + OIDC_ISSUER, who.source());
  }
}
