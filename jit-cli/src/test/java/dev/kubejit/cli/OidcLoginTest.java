package dev.kubejit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kubejit.testing.Keycloak;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The device authorization grant and the silent refresh, against a real Keycloak (jit-testing). */
class OidcLoginTest {
  @TempDir Path dir;

  static JsonNode claims(String jwt) throws Exception {
    return BrokerClient.JSON.readTree(Base64.getUrlDecoder().decode(jwt.split("\\.")[1]));
  }

  /** Runs the device login as {@code user}: the CLI side polls while "the user" finishes it in Keycloak's pages. */
  static Properties deviceLogin(Keycloak kc, String user, List<Duration> sleeps) throws Exception {
    return deviceLogin(kc, user, sleeps, 0);
  }

  /** As above; the first {@code hurried} polls do not wait at all (a client that polls too fast). */
  static Properties deviceLogin(Keycloak kc, String user, List<Duration> sleeps, int hurried) throws Exception {
    OidcLogin login = new OidcLogin(URI.create(kc.issuer()), Keycloak.CLI_CLIENT, kc.caCertificateFile(), Clock.systemUTC());
    StringWriter out = new StringWriter();
    CompletableFuture<Properties> result = CompletableFuture.supplyAsync(() -> login.deviceLogin(new PrintWriter(out, true), d -> {
      sleeps.add(d);
      if (sleeps.size() > hurried) {
        Thread.sleep(d.toMillis());
      }
    }));
    Pattern complete = Pattern.compile("or open (https://\\S+)");
    Instant deadline = Instant.now().plusSeconds(60);
    Matcher m = complete.matcher("");
    boolean found = false;
    while (!found && Instant.now().isBefore(deadline) && !result.isDone()) {
      m = complete.matcher(out.toString());
      found = m.find();
      if (!found) {
        Thread.sleep(50);
      }
    }
    assertTrue(found, "no verification URL printed: " + out);
    String text = out.toString();
    assertTrue(text.startsWith("To log in, open https://"), text);
    assertTrue(text.matches("(?s).* and enter the code [A-Z]{4}-[A-Z]{4}\n.*"), text);
    kc.completeDeviceLogin(m.group(1), user);
    return result.get(90, TimeUnit.SECONDS);
  }

  @Test
  void deviceLoginGivesTheUsersIdTokenAndARefreshTokenThatIsUsedSilently() throws Exception {
    Keycloak kc = Keycloak.shared();
    List<Duration> sleeps = Collections.synchronizedList(new ArrayList<>());
    Properties t = deviceLogin(kc, "alice", sleeps);
    assertFalse(sleeps.isEmpty());
    // jit-testing's realm sets oauth2DevicePollingInterval to 1 s (Keycloak's default is 5 s)
    assertEquals(Duration.ofSeconds(1), sleeps.get(0), "polls at the interval Keycloak asked for");
    JsonNode c = claims(t.getProperty("idToken"));
    assertEquals(kc.issuer(), c.path("iss").asText());
    assertEquals(Keycloak.CLI_CLIENT, c.path("aud").isArray() ? c.path("aud").get(0).asText() : c.path("aud").asText());
    assertTrue(c.path("groups").toString().contains(Keycloak.SRE), c.toString());
    assertEquals(c.path("exp").asLong(), Long.parseLong(t.getProperty("idTokenExpiresAt")));
    assertFalse(t.getProperty("refreshToken", "").isEmpty());

    // stored as kubejit login stores them; a client whose clock is past the ID token's expiry refreshes silently
    ClientHome home = ClientHome.resolve(dir.resolve("home"));
    Properties config = new Properties();
    config.setProperty("server", "https://127.0.0.1:1");
    config.setProperty("auth", "oidc");
    config.setProperty("issuer", kc.issuer());
    config.setProperty("clientId", Keycloak.CLI_CLIENT);
    config.setProperty("issuerCaFile", kc.caCertificateFile().toString());
    home.writeConfig(config);
    home.writeTokens(t);
    String first = t.getProperty("idToken");
    assertEquals(first, new OidcLogin.TokenAuth(home, config, Clock.systemUTC()).idToken(), "a fresh token is used as is");

    Clock later = Clock.fixed(Instant.ofEpochSecond(c.path("exp").asLong()).minusSeconds(30), ZoneOffset.UTC);
    String refreshed = new OidcLogin.TokenAuth(home, config, later).idToken();
    assertNotEquals(first, refreshed);
    JsonNode rc = claims(refreshed);
    assertEquals(c.path("sub").asText(), rc.path("sub").asText());
    assertEquals(refreshed, home.tokens().getProperty("idToken"), "the refreshed token is kept");
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(home.tokensFile())));

    // a refresh token the issuer no longer accepts: log in again, and no token in the message
    Properties broken = home.tokens();
    broken.setProperty("refreshToken", "not-a-refresh-token");
    broken.setProperty("idTokenExpiresAt", "0");
    home.writeTokens(broken);
    CliException e = assertThrows(CliException.class, () -> new OidcLogin.TokenAuth(home, config, Clock.systemUTC()).idToken());
    assertEquals(BrokerClient.EXIT_UNAUTHENTICATED, e.exitCode());
    assertTrue(e.getMessage().contains("run: kubejit login"), e.getMessage());
    assertFalse(e.getMessage().contains("not-a-refresh-token"));
    assertFalse(e.getMessage().contains(refreshed));
  }

  @Test
  void pollingTooFastIsAskedToSlowDownAndDoes() throws Exception {
    Keycloak kc = Keycloak.shared();
    List<Duration> sleeps = Collections.synchronizedList(new ArrayList<>());
    Properties t = deviceLogin(kc, "bob", sleeps, 3);
    assertTrue(claims(t.getProperty("idToken")).path("groups").toString().contains(Keycloak.PAYMENTS_ONCALL));
    assertTrue(sleeps.contains(Duration.ofSeconds(6)), "after slow_down the interval grows by 5 s: " + sleeps);
  }

  @Test
  void aClientWithoutTheDeviceGrantIsRefusedWithTheIssuersReason() {
    Keycloak kc = Keycloak.shared();
    OidcLogin login = new OidcLogin(URI.create(kc.issuer()), Keycloak.OTHER_CLIENT, kc.caCertificateFile(), Clock.systemUTC());
    StringWriter out = new StringWriter();
    CliException e = assertThrows(CliException.class, () -> login.deviceLogin(new PrintWriter(out), d -> { }));
    assertEquals(BrokerClient.EXIT_UNAUTHENTICATED, e.exitCode());
    assertTrue(e.getMessage().startsWith("the issuer refused the device login: "), e.getMessage());
    assertEquals("", out.toString());
  }

  @Test
  void theIssuersTlsIsVerified() throws Exception {
    Keycloak kc = Keycloak.shared();
    Path otherCa = dir.resolve("other-ca.crt");
    Files.writeString(otherCa, ClientPiecesTest.caPem(), StandardCharsets.US_ASCII);
    OidcLogin login = new OidcLogin(URI.create(kc.issuer()), Keycloak.CLI_CLIENT, otherCa, Clock.systemUTC());
    CliException e = assertThrows(CliException.class, login::discover);
    assertEquals(BrokerClient.EXIT_UNREACHABLE, e.exitCode());
    assertTrue(e.getMessage().startsWith("TLS with " + kc.issuer()), e.getMessage());
  }
}
