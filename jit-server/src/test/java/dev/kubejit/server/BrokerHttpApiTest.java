package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.InMemoryAuditSink;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.credentials.GrantCredentialIssuer;
import dev.kubejit.credentials.KeyType;
import dev.kubejit.credentials.X509Issuer;
import dev.kubejit.policy.PolicyEngine;
import dev.kubejit.policy.PolicyLoader;
import dev.kubejit.testing.FakeClock;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link BrokerHttpApi} mounted without any HTTP server, as an embedding platform would: calls go
 * straight to {@link BrokerHttpApi#handle}. With a fake clock this covers what the running-server
 * tests cannot wait for: a grant that expires, and an audit log that fails.
 */
class BrokerHttpApiTest {
  private final FakeClock clock = new FakeClock(Instant.now().truncatedTo(ChronoUnit.SECONDS));
  private final InMemoryAuditSink audit = AuditSink.inMemory();
  private final AtomicBoolean auditDown = new AtomicBoolean();
  private BrokerHttpApi api;

  @BeforeEach
  void setUp() throws Exception {
    byte[] policy;
    try (InputStream in = BrokerHttpApiTest.class.getResourceAsStream("/test-policy.json")) {
      policy = in.readAllBytes();
    }
    CertificateAuthority ca = CertificateAuthority.builder().keyType(KeyType.ED25519).commonName("api-test-ca")
        .validity(Duration.ofDays(2)).clock(clock).generate();
    JitBroker broker = JitBroker.builder().clock(clock)
        .policy(PolicyEngine.of(PolicyLoader.parse(policy, dev.kubejit.policy.PolicyFormat.JSON, "test-policy.json", "t")))
        .store(RequestStore.inMemory())
        .auditSink(events -> {
          if (auditDown.get()) {
            throw new dev.kubejit.api.AuditException("disk full");
          }
          audit.write(events);
        })
        .rbacProvisioner(RbacProvisioner.inMemory())
        .credentialIssuer(GrantCredentialIssuer.builder().x509(X509Issuer.builder().authority(ca).clock(clock).build())
            .clock(clock).build())
        .build();
    api = BrokerHttpApi.builder().broker(broker).authenticator(new DevHeaderAuthenticator("X-User")).build();
  }

  private JsonNode call(int status, String method, String path, String user, String body) throws Exception {
    Map<String, String> headers = user == null ? Map.of("Content-Type", "application/json")
        : Map.of("X-User", user, "Content-Type", "application/json");
    int q = path.indexOf('?');
    HttpReply r = api.handle(HttpCall.of(method, q < 0 ? path : path.substring(0, q), q < 0 ? null : path.substring(q + 1),
        body.getBytes(StandardCharsets.UTF_8), Presented.of(headers, List.of(), "127.0.0.1")));
    assertEquals(status, r.status(), r.bodyText());
    assertEquals("application/json", r.headers().get("Content-Type"));
    return Json.MAPPER.readTree(r.body());
  }

  private String activeGrant() throws Exception {
    String id = call(201, "POST", "/api/v1/requests", "alice;oncall-payments", TestBroker.json("role", "oncall-debug",
        "action", "exec", "cluster", "prod", "namespace", "payments", "duration", "PT20M", "ticket", "INC-1", "reason", "x"))
        .path("id").asText();
    call(200, "POST", "/api/v1/requests/" + id + "/approve", "carol;sre-leads", "");
    return call(200, "POST", "/api/v1/requests/" + id + "/activate", "alice;oncall-payments",
        TestBroker.json("csr", TestBroker.csr("alice"))).path("grant").path("id").asText();
  }

  @Test
  void anExpiredGrantGetsNoFreshCredentialAndSaysWhenItExpired() throws Exception {
    String grant = activeGrant();
    clock.advance(Duration.ofMinutes(19));
    JsonNode fresh = call(200, "POST", "/api/v1/grants/" + grant + "/credentials", "alice;oncall-payments",
        TestBroker.json("csr", TestBroker.csr("alice")));
    Instant notAfter = Instant.parse(fresh.path("credentials").get(0).path("notAfter").asText());
    Instant expires = Instant.parse(fresh.path("grant").path("expiresAt").asText());
    assertFalse(notAfter.isAfter(expires), notAfter + " > " + expires);
    assertTrue(Duration.between(clock.instant(), notAfter).compareTo(Duration.ofMinutes(1)) <= 0,
        "a certificate issued one minute before the grant ends lasts at most that minute: " + notAfter);

    clock.advance(Duration.ofMinutes(1));
    JsonNode ended = call(409, "POST", "/api/v1/grants/" + grant + "/credentials", "alice;oncall-payments",
        TestBroker.json("csr", TestBroker.csr("alice")));
    assertEquals("grant_ended", ended.path("error").path("code").asText());
    String message = ended.path("error").path("message").asText();
    assertTrue(message.contains("expired at " + expires), message);
    assertTrue(message.contains("kubejit request --role oncall-debug --action exec --namespace payments"), message);
    assertEquals(0, call(200, "GET", "/api/v1/grants?active=true", "alice;oncall-payments", "").path("items").size());
    assertEquals(1, call(200, "GET", "/api/v1/grants", "alice;oncall-payments", "").path("items").size());
  }

  @Test
  void noAuditMeansNothingHappensAnd503() throws Exception {
    String grant = activeGrant();
    int before = audit.events().size();
    auditDown.set(true);
    JsonNode r = call(503, "POST", "/api/v1/grants/" + grant + "/credentials", "alice;oncall-payments",
        TestBroker.json("csr", TestBroker.csr("alice")));
    assertEquals("audit_unavailable", r.path("error").path("code").asText());
    assertFalse(r.toString().contains("BEGIN CERTIFICATE"));
    call(503, "POST", "/api/v1/requests", "alice;oncall-payments", TestBroker.json("role", "oncall-debug",
        "action", "logs", "cluster", "prod", "namespace", "payments", "ticket", "INC-2", "reason", "x"));
    auditDown.set(false);
    assertEquals(before, audit.events().size());
  }

  @Test
  void theHostDecidesTheBodyWasTooLargeAndAClusterIsRequiredWithoutAnnouncedClusters() throws Exception {
    HttpReply r = api.handle(HttpCall.withOversizedBody("POST", "/api/v1/requests", "",
        Presented.of(Map.of("X-User", "alice"), List.of(), "127.0.0.1")));
    assertEquals(413, r.status());
    assertTrue(r.bodyText().contains("payload_too_large"));
    JsonNode e = call(400, "POST", "/api/v1/requests", "alice;oncall-payments", TestBroker.json("role", "oncall-debug",
        "action", "logs", "namespace", "payments", "ticket", "INC-2", "reason", "x"));
    assertTrue(e.path("error").path("message").asText().contains("\"cluster\" is required"), e.toString());
    JsonNode remote = Json.MAPPER.readTree(api.handle(HttpCall.of("GET", "/api/v1/whoami", "", new byte[0],
        Presented.of(Map.of("X-User", "alice"), List.of(), "10.1.2.3"))).body());
    assertEquals("unauthenticated", remote.path("error").path("code").asText(), "the dev header is loopback-only");
  }
}
