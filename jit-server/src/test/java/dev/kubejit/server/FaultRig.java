package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.InMemoryRbacProvisioner;
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
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;

/**
 * The fault tests' broker behind its HTTP API, called in-process: the test policy, a fake clock,
 * in-memory RBAC and a real Ed25519 CA; the request store and the audit sink are the fault's.
 */
final class FaultRig {
  static final String ALICE = "alice;oncall-payments";
  static final String CAROL = "carol;sre-leads";

  final FakeClock clock = new FakeClock(Instant.now().truncatedTo(ChronoUnit.SECONDS));
  final InMemoryRbacProvisioner rbac = RbacProvisioner.inMemory();
  /** An activation body with a fresh CSR for alice. */
  final String csr;
  private BrokerHttpApi api;
  /** The broker behind the API, for the sweep ({@code expireDue}) the server would run. */
  JitBroker broker;

  FaultRig() {
    try {
      csr = TestBroker.json("csr", TestBroker.csr("alice"));
    } catch (Exception e) {
      throw new IllegalStateException("cannot make a CSR", e);
    }
  }

  /** (Re)builds the broker and its API on {@code store} and {@code audit}, keeping clock and RBAC. */
  void start(RequestStore store, AuditSink audit) throws IOException {
    start(store, audit, rbac);
  }

  /** (Re)builds the broker and its API on {@code store}, {@code audit} and {@code rbacProvisioner}. */
  void start(RequestStore store, AuditSink audit, RbacProvisioner rbacProvisioner) throws IOException {
    byte[] policy;
    try (InputStream in = FaultRig.class.getResourceAsStream("/test-policy.json")) {
      policy = in.readAllBytes();
    }
    CertificateAuthority ca = CertificateAuthority.builder().keyType(KeyType.ED25519).commonName("fault-ca")
        .validity(Duration.ofDays(2)).clock(clock).generate();
    JitBroker broker = JitBroker.builder().clock(clock)
        .policy(PolicyEngine.of(PolicyLoader.parse(policy, PolicyFormat.JSON, "test-policy.json", "t")))
        .store(store).auditSink(audit).rbacProvisioner(rbacProvisioner)
        .credentialIssuer(GrantCredentialIssuer.builder().x509(X509Issuer.builder().authority(ca).clock(clock).build())
            .clock(clock).build())
        .build();
    this.broker = broker;
    api = BrokerHttpApi.builder().broker(broker).authenticator(new DevHeaderAuthenticator("X-User")).build();
  }

  HttpReply call(String method, String path, String user, String body) {
    int q = path.indexOf('?');
    return api.handle(HttpCall.of(method, q < 0 ? path : path.substring(0, q), q < 0 ? null : path.substring(q + 1),
        body.getBytes(StandardCharsets.UTF_8),
        Presented.of(Map.of("X-User", user, "Content-Type", "application/json"), List.of(), "127.0.0.1")));
  }

  /** Asserts {@code status} and returns the body as JSON. */
  static JsonNode ok(int status, HttpReply r) throws IOException {
    assertEquals(status, r.status(), r.bodyText());
    return Json.MAPPER.readTree(r.body());
  }

  /** Asserts a 503 with error {@code code} whose message contains {@code message}. */
  static void assertUnavailable(HttpReply r, String code, String message) throws IOException {
    assertEquals(503, r.status(), r.bodyText());
    JsonNode e = Json.MAPPER.readTree(r.body()).path("error");
    assertEquals(code, e.path("code").asText(), r.bodyText());
    assertTrue(e.path("message").asText().contains(message), r.bodyText());
  }

  /** A request body for oncall-debug in payments. */
  static String submit(String action, String reason) throws Exception {
    return TestBroker.json("role", "oncall-debug", "action", action, "cluster", "prod", "namespace", "payments",
        "duration", "PT20M", "ticket", "INC-1", "reason", reason);
  }

  String state(String id) throws IOException {
    return ok(200, call("GET", "/api/v1/requests/" + id, ALICE, "")).path("state").asText();
  }
}
