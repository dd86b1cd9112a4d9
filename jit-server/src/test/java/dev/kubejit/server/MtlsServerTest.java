package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.server.TestBroker.Reply;
import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Mutual TLS: client certificates made with the real openssl, from the configured CA and from a foreign one. */
class MtlsServerTest {
  @TempDir static Path dir;
  static TestBroker broker;
  static HttpClient alice;
  static HttpClient carol;

  @BeforeAll
  static void start() throws Exception {
    broker = TestBroker.mtls(dir);
    TestBroker.clientCert(dir, "tls/client-ca", "alice", "/CN=alice/O=oncall-payments");
    TestBroker.clientCert(dir, "tls/client-ca", "carol", "/CN=carol/O=sre-leads");
    TestBroker.newCa(dir, "tls/foreign-ca", "/CN=test-client-ca");
    TestBroker.clientCert(dir, "tls/foreign-ca", "mallory", "/CN=carol/O=sre-leads");
    alice = TestBroker.client(dir, "alice");
    carol = TestBroker.client(dir, "carol");
  }

  @AfterAll
  static void stop() {
    if (broker != null) {
      broker.close();
    }
  }

  @Test
  void theCertificateIsTheIdentity() throws Exception {
    Reply me = broker.call(alice, "GET", "/api/v1/whoami", null, null, null).expect(200);
    assertEquals("alice", me.json.path("user").asText());
    assertEquals("oncall-payments", me.json.path("groups").get(0).asText());
    assertEquals("mtls", me.json.path("source").asText());
    String body = TestBroker.json("role", "oncall-debug", "action", "exec", "cluster", "prod", "namespace", "payments",
        "ticket", "INC-3", "reason", "mtls");
    String id = broker.call(alice, "POST", "/api/v1/requests", null, body, "application/json").expect(201)
        .json.path("id").asText();
    broker.call(alice, "POST", "/api/v1/requests/" + id + "/approve", null, "", null).expectError(403, "approval_refused");
    Reply ok = broker.call(carol, "POST", "/api/v1/requests/" + id + "/approve", null, "", null).expect(200);
    assertEquals("APPROVED", ok.json.path("state").asText());
  }

  @Test
  void theDevelopmentHeaderMeansNothingHere() throws Exception {
    Reply r = broker.call(alice, "GET", "/api/v1/whoami", "carol;sre-leads", null, null).expect(200);
    assertEquals("alice", r.json.path("user").asText());
  }

  @Test
  void noClientCertificateIs401() throws Exception {
    Reply r = broker.get("/api/v1/whoami", "carol;sre-leads").expectError(401, "unauthenticated");
    assertTrue(r.message().contains("client certificate"), r.message());
    assertEquals("mtls", broker.get("/api/v1/login-config", null).expect(200).json.path("mode").asText());
  }

  @Test
  void aCertificateFromAForeignCaWithTheSameNameIsRefused() throws Exception {
    HttpClient mallory = TestBroker.client(dir, "mallory");
    try {
      Reply r = broker.call(mallory, "GET", "/api/v1/whoami", null, null, null);
      assertEquals(401, r.status, "a foreign certificate must not authenticate: " + r.body);
    } catch (IOException refusedAtTls) {
      // the handshake failed: the server does not accept the foreign chain
    }
  }
}
