package dev.kubejit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kubejit.api.EndCause;
import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.GroupMembership;
import dev.kubejit.membership.keycloak.KeycloakMembershipProvisioner;
import dev.kubejit.testing.Keycloak;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Properties;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code kubejit credential --grant ID --oidc} against the real Keycloak, with group membership made
 * by the Keycloak adapter: no group, no token; after {@code add}, a refreshed token that carries
 * the group; a token that already carries it is reused until shortly before its {@code exp}.
 */
class OidcGrantTokenTest {
  static final String CLIENT = "kubejit-plugin-test";
  static Keycloak kc;
  static KeycloakMembershipProvisioner idp;
  @TempDir Path dir;

  @BeforeAll
  static void start() {
    kc = Keycloak.shared();
    kc.createPublicClient(CLIENT, Duration.ofSeconds(60));
    idp = KeycloakMembershipProvisioner.builder().server(kc.baseUrl()).realm(Keycloak.REALM)
        .clientCredentials("kubejit-plugin-broker", kc.createServiceAccountClient("kubejit-plugin-broker", "manage-users"))
        .sslContext(kc.sslContext()).build();
  }

  private ClientHome loggedIn(String user) {
    ClientHome home = ClientHome.resolve(dir.resolve(user));
    Properties config = new Properties();
    config.setProperty("server", "https://broker.invalid");
    config.setProperty("auth", "oidc");
    config.setProperty("issuer", kc.issuer());
    config.setProperty("clientId", CLIENT);
    config.setProperty("issuerCaFile", kc.caCertificateFile().toString());
    home.writeConfig(config);
    Keycloak.Tokens t = kc.passwordGrant(user, CLIENT);
    Properties tokens = new Properties();
    tokens.setProperty("idToken", t.idToken());
    tokens.setProperty("idTokenExpiresAt", Long.toString(OidcLogin.expiry(t.idToken()).getEpochSecond()));
    tokens.setProperty("refreshToken", t.refreshToken());
    tokens.setProperty("tokenEndpoint", kc.tokenEndpoint().toString());
    home.writeTokens(tokens);
    return home;
  }

  record Run(int exit, String out, String err) {}

  /** Runs {@code kubejit credential --grant ID --oidc} as kubectl would, against {@code home}. */
  static Run plugin(ClientHome home, String grantId) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = new CommandLine(new CredentialCommand());
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    cl.setExecutionExceptionHandler((ex, c, p) -> {
      c.getErr().println("kubejit: " + ex.getMessage());
      c.getErr().flush();
      return ex instanceof CliException ce ? ce.exitCode() : 1;
    });
    int exit = cl.execute("--grant", grantId, "--oidc", "--home", home.dir().toString());
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void theTokenCarriesTheGrantGroupOnlyWhileTheMembershipExists() throws Exception {
    ClientHome home = loggedIn("bob");
    GrantId grant = GrantId.random();
    String before = home.tokens().getProperty("idToken");

    Run none = plugin(home, grant.value());
    assertEquals(BrokerClient.EXIT_FORBIDDEN, none.exit(), none.toString());
    assertTrue(none.err().contains("does not put you in group " + Grant.GROUP_PREFIX + grant.value()), none.err());
    assertNotEquals(before, home.tokens().getProperty("idToken"), "it refreshed before refusing");

    GroupMembership m = GroupMembership.of(grant, "bob", Grant.GROUP_PREFIX + grant.value(),
        Instant.now().plusSeconds(600));
    idp.add(m);
    Run ok = plugin(home, grant.value());
    assertEquals(0, ok.exit(), ok.toString());
    JsonNode cred = BrokerClient.JSON.readTree(ok.out());
    assertEquals("ExecCredential", cred.path("kind").asText());
    assertEquals("client.authentication.k8s.io/v1", cred.path("apiVersion").asText());
    String token = cred.path("status").path("token").asText();
    assertTrue(OidcGrantToken.carries(token, m.group(), "groups"));
    assertEquals(OidcGrantToken.expirationOf(token).toString(), cred.path("status").path("expirationTimestamp").asText());
    assertFalse(ok.err().contains(token) || ok.out().contains(home.tokens().getProperty("refreshToken")),
        "no refresh token in the output");

    Run again = plugin(home, grant.value());
    assertEquals(token, BrokerClient.JSON.readTree(again.out()).path("status").path("token").asText(),
        "a token that carries the group and is not about to expire is reused");

    idp.remove(m, EndCause.REVOKED);
    assertFalse(OidcGrantToken.carries(kc.refresh(home.tokens().getProperty("refreshToken"), CLIENT).idToken(),
        m.group(), "groups"), "the next token has no group");
  }

  @Test
  void withoutAnOidcLoginTheFlagIsRefused() {
    ClientHome home = ClientHome.resolve(dir.resolve("mtls"));
    Properties config = new Properties();
    config.setProperty("server", "https://broker.invalid");
    config.setProperty("auth", "mtls");
    home.writeConfig(config);
    Run r = plugin(home, GrantId.random().value());
    assertEquals(BrokerClient.EXIT_UNAUTHENTICATED, r.exit(), r.toString());
    assertTrue(r.err().contains("--oidc needs an OIDC login"), r.err());
  }
}
