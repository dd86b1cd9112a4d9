package dev.kubejit.testing;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The shared Keycloak: its realm, clients, users and groups, real tokens and the device flow. */
class KeycloakTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static Keycloak kc;
  private static HttpClient http;

  @BeforeAll
  static void start() {
    kc = Keycloak.shared();
    http = HttpClient.newBuilder().sslContext(kc.sslContext()).build();
  }

  @Test
  void sharedIsOnePerJvm() {
    assertTrue(kc == Keycloak.shared());
  }

  @Test
  void discoveryNamesTheIssuerAndEndpointsOverHttpsOnLoopback() throws Exception {
    assertTrue(kc.issuer().startsWith("https://127.0.0.1:"), kc.issuer());
    JsonNode d = getJson(kc.discoveryUri().toString());
    assertEquals(kc.issuer(), d.path("issuer").asText());
    assertEquals(kc.jwksUri().toString(), d.path("jwks_uri").asText());
    assertEquals(kc.tokenEndpoint().toString(), d.path("token_endpoint").asText());
    assertEquals(kc.deviceAuthorizationEndpoint().toString(), d.path("device_authorization_endpoint").asText());
    assertTrue(Files.readString(kc.caCertificateFile()).contains("BEGIN CERTIFICATE"));
    assertEquals(kc.caCertificatePem(), Files.readString(kc.caCertificateFile()));
  }

  @Test
  void theServerIsNotTrustedWithoutTheTestCa() {
    HttpClient defaultTrust = HttpClient.newHttpClient();
    assertThrows(SSLHandshakeException.class, () -> defaultTrust.send(
        HttpRequest.newBuilder(kc.discoveryUri()).build(), HttpResponse.BodyHandlers.ofString()));
  }

  @Test
  void jwksHoldsTheRealmSigningKey() throws Exception {
    JsonNode keys = getJson(kc.jwksUri().toString()).path("keys");
    assertTrue(keys.size() >= 1);
    String kid = header(kc.passwordGrant("alice", Keycloak.CLI_CLIENT).idToken()).path("kid").asText();
    boolean found = false;
    for (JsonNode k : keys) {
      found |= kid.equals(k.path("kid").asText());
    }
    assertTrue(found, "the ID token's kid " + kid + " is in the JWKS");
  }

  @Test
  void idTokensCarryIssuerAudienceAndPlainGroupNames() {
    JsonNode alice = claims(kc.passwordGrant("alice", Keycloak.CLI_CLIENT).idToken());
    assertEquals(kc.issuer(), alice.path("iss").asText());
    assertEquals(Keycloak.CLI_CLIENT, audience(alice));
    assertEquals("alice", alice.path("preferred_username").asText());
    assertEquals(List.of(Keycloak.SRE), strings(alice.path(Keycloak.GROUPS_CLAIM)));
    assertEquals("ID", alice.path("typ").asText());
    assertTrue(alice.path("exp").asLong() > alice.path("iat").asLong());

    JsonNode bob = claims(kc.passwordGrant("bob", Keycloak.CLI_CLIENT).idToken());
    assertEquals(List.of(Keycloak.PAYMENTS_ONCALL), strings(bob.path(Keycloak.GROUPS_CLAIM)));
    assertEquals(kc.groupsOf("carol"),
        strings(claims(kc.passwordGrant("carol", Keycloak.CLI_CLIENT).idToken()).path(Keycloak.GROUPS_CLAIM)));

    JsonNode dave = claims(kc.passwordGrant("dave", Keycloak.CLI_CLIENT).idToken());
    assertEquals(List.of(), strings(dave.path(Keycloak.GROUPS_CLAIM)));
  }

  @Test
  void theOtherClientsTokensAreForTheOtherClient() {
    JsonNode other = claims(kc.passwordGrant("alice", Keycloak.OTHER_CLIENT).idToken());
    assertEquals(Keycloak.OTHER_CLIENT, audience(other));
    assertEquals(kc.issuer(), other.path("iss").asText());
  }

  @Test
  void refreshGivesAFreshIdTokenForTheSameUser() {
    Keycloak.Tokens first = kc.passwordGrant("bob", Keycloak.CLI_CLIENT);
    Keycloak.Tokens second = kc.refresh(first, Keycloak.CLI_CLIENT);
    assertNotEquals(first.idToken(), second.idToken());
    assertEquals(claims(first.idToken()).path("sub").asText(), claims(second.idToken()).path("sub").asText());
  }

  @Test
  void tokensNeverShowInToString() {
    Keycloak.Tokens t = kc.passwordGrant("dave", Keycloak.CLI_CLIENT);
    String s = t.toString() + kc;
    assertFalse(s.contains(t.idToken()) || s.contains(t.accessToken()) || s.contains(t.refreshToken()), s);
    assertFalse(s.contains("eyJ"), s);
  }

  @Test
  void unknownUsersAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> kc.passwordGrant("mallory", Keycloak.CLI_CLIENT));
  }

  @Test
  void theDeviceFlowCompletesAsTheUserWhoSignedIn() throws Exception {
    JsonNode device = postForm(kc.deviceAuthorizationEndpoint().toString(),
        "client_id=" + Keycloak.CLI_CLIENT + "&scope=openid");
    String deviceCode = device.path("device_code").asText();
    assertTrue(device.path("user_code").asText().length() >= 8, device.toString());
    // Before anyone signs in, the token endpoint says to keep polling.
    HttpResponse<String> pending = postFormRaw(kc.tokenEndpoint().toString(), deviceGrant(deviceCode));
    assertEquals(400, pending.statusCode());
    assertEquals("authorization_pending", JSON.readTree(pending.body()).path("error").asText());

    kc.completeDeviceLogin(device.path("verification_uri_complete").asText(), "bob");

    assertEquals(1, device.path("interval").asInt(), "the realm's polling interval");
    HttpResponse<String> done = pollForTokens(deviceCode);
    assertEquals(200, done.statusCode(), done.body().length() > 0 ? JSON.readTree(done.body()).path("error").asText()
        : "");
    JsonNode id = claims(JSON.readTree(done.body()).path("id_token").asText());
    assertEquals("bob", id.path("preferred_username").asText());
    assertEquals(List.of(Keycloak.PAYMENTS_ONCALL), strings(id.path(Keycloak.GROUPS_CLAIM)));
    assertEquals(Keycloak.CLI_CLIENT, audience(id));
  }

  @Test
  void aDeviceLoginWithAnUnknownCodeFails() {
    String bogus = kc.issuer() + "/device?user_code=ABCD-EFGH";
    assertThrows(IllegalStateException.class, () -> kc.completeDeviceLogin(bogus, "alice"));
  }

  /** Polls the token endpoint at the device flow's interval, as a client must. */
  private static HttpResponse<String> pollForTokens(String deviceCode) throws Exception {
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (true) {
      Thread.sleep(1_100);
      HttpResponse<String> r = postFormRaw(kc.tokenEndpoint().toString(), deviceGrant(deviceCode));
      String error = r.statusCode() == 200 ? "" : JSON.readTree(r.body()).path("error").asText();
      if (!error.equals("authorization_pending") && !error.equals("slow_down") || System.nanoTime() > deadline) {
        return r;
      }
    }
  }

  private static String deviceGrant(String deviceCode) {
    return "grant_type=" + URLEncoder.encode("urn:ietf:params:oauth:grant-type:device_code", UTF_8)
        + "&client_id=" + Keycloak.CLI_CLIENT + "&device_code=" + URLEncoder.encode(deviceCode, UTF_8);
  }

  private static JsonNode getJson(String uri) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(java.net.URI.create(uri)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), uri);
    return JSON.readTree(r.body());
  }

  private static JsonNode postForm(String uri, String form) throws Exception {
    HttpResponse<String> r = postFormRaw(uri, form);
    assertEquals(200, r.statusCode(), uri + ": " + r.body());
    return JSON.readTree(r.body());
  }

  private static HttpResponse<String> postFormRaw(String uri, String form) throws Exception {
    return http.send(HttpRequest.newBuilder(java.net.URI.create(uri))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .POST(HttpRequest.BodyPublishers.ofString(form)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode header(String jwt) {
    return part(jwt, 0);
  }

  private static JsonNode claims(String jwt) {
    return part(jwt, 1);
  }

  private static JsonNode part(String jwt, int i) {
    try {
      return JSON.readTree(Base64.getUrlDecoder().decode(jwt.split("\\.")[i]));
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
  }

  private static String audience(JsonNode claims) {
    JsonNode aud = claims.path("aud");
    return aud.isArray() && aud.size() == 1 ? aud.get(0).asText() : aud.asText();
  }

  private static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }
}
