package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
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
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

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
 * sink see no call at all. {@code scripts/fuzz.sh config|http SECONDS} fuzzes.
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
}
