package dev.kubejit.cli;

import static dev.kubejit.cli.ClientAgainstServerTest.as;
import static dev.kubejit.cli.ClientAgainstServerTest.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.server.KubeJitServer;
import dev.kubejit.testing.Keycloak;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kubejit login} against a real {@code kubejit serve} that verifies OIDC ID tokens of a real
 * Keycloak: the issuer and client id come from the broker's login-config, the device login is
 * finished in Keycloak's own pages, and later calls carry (and silently refresh) the ID token.
 */
class OidcClientLoginTest {
  @TempDir Path dir;

  static KubeJitServer serveWithOidc(Path setup, Keycloak kc) throws Exception {
    return ClientAgainstServerTest.serve(setup, yaml -> {
      String devHeader = "authentication:\n  devHeader:\n    header: X-KubeJIT-User\n";
      assertTrue(yaml.endsWith(devHeader), yaml);
      return yaml.substring(0, yaml.length() - devHeader.length()) + "authentication:\n  oidc:\n"
          + "    issuer: " + kc.issuer() + "\n"
          + "    audience: " + Keycloak.CLI_CLIENT + "\n"
          + "    jwksUrl: " + kc.jwksUri() + "\n"
          + "    caFile: " + kc.caCertificateFile() + "\n"
          + "    usernameClaim: preferred_username\n";
    });
  }

  @Test
  void deviceLoginThroughTheBrokersLoginConfigThenBearerTokensRefreshedSilently() throws Exception {
    Keycloak kc = Keycloak.shared();
    Path setup = dir.resolve("broker");
    Path bob = dir.resolve("bob");
    try (KubeJitServer server = serveWithOidc(setup, kc)) {
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      CompletableFuture<Integer> login = CompletableFuture.supplyAsync(() -> Main.run(new String[] {"login",
          "--server", server.uri().toString(), "--ca-file", setup.resolve("tls/ca.crt").toString(),
          "--issuer-ca-file", kc.caCertificateFile().toString(), "--home", bob.toString()},
          new PrintWriter(out, true), new PrintWriter(err, true)));
      Pattern url = Pattern.compile("or open (https://\\S+)");
      Matcher m = url.matcher("");
      Instant deadline = Instant.now().plusSeconds(60);
      boolean found = false;
      while (!found && !login.isDone() && Instant.now().isBefore(deadline)) {
        m = url.matcher(out.toString());
        found = m.find();
        if (!found) {
          Thread.sleep(50);
        }
      }
      assertTrue(found, out + "\n" + err);
      assertTrue(out.toString().startsWith("To log in, open " + kc.issuer()), out.toString());
      kc.completeDeviceLogin(m.group(1), "bob");
      assertEquals(0, login.get(90, TimeUnit.SECONDS), out + "\n" + err);
      assertTrue(out.toString().contains("Logged in to " + server.uri() + " as bob (groups: " + Keycloak.PAYMENTS_ONCALL), out.toString());
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(bob.resolve("tokens"))));
      String idToken = ClientHome.resolve(bob).tokens().getProperty("idToken");
      assertFalse(out.toString().contains(idToken) || err.toString().contains(idToken), "the token is never printed");
      Properties config = ClientHome.resolve(bob).config();
      assertEquals(kc.issuer(), config.getProperty("issuer"));
      assertEquals(Keycloak.CLI_CLIENT, config.getProperty("clientId"));
      assertEquals("oidc", config.getProperty("auth"));

      ok(as(bob, "get", "requests"));

      // the ID token is about to expire: the next command refreshes it first, silently
      ClientHome home = ClientHome.resolve(bob);
      Properties t = home.tokens();
      t.setProperty("idTokenExpiresAt", Long.toString(Instant.now().getEpochSecond() + 30));
      home.writeTokens(t);
      ClientAgainstServerTest.Run after = ok(as(bob, "get", "grants"));
      assertEquals("", after.err());
      assertNotEquals(idToken, home.tokens().getProperty("idToken"));
    }
  }

  @Test
  void automationSendsTheTokenFromAFileAndAReadableFileIsRefused() throws Exception {
    Keycloak kc = Keycloak.shared();
    Path setup = dir.resolve("broker");
    Path ci = dir.resolve("ci");
    try (KubeJitServer server = serveWithOidc(setup, kc)) {
      Path tokenFile = dir.resolve("id-token");
      Files.createFile(tokenFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.writeString(tokenFile, kc.passwordGrant("alice", Keycloak.CLI_CLIENT).idToken() + "\n");
      ClientAgainstServerTest.Run r = ok(as(ci, "login", "--server", server.uri().toString(), "--ca-file",
          setup.resolve("tls/ca.crt").toString(), "--token-file", tokenFile.toString()));
      assertTrue(r.out().startsWith("Logged in to " + server.uri() + " as alice (groups: " + Keycloak.SRE), r.out());
      assertFalse(Files.exists(ci.resolve("tokens")), "the token stays in the automation's file");

      // a token of another client (wrong audience) is refused by the broker: exit 4 with its reason
      Files.writeString(tokenFile, kc.passwordGrant("alice", Keycloak.OTHER_CLIENT).idToken() + "\n");
      ClientAgainstServerTest.Run foreign = as(ci, "get", "requests");
      assertEquals(BrokerClient.EXIT_UNAUTHENTICATED, foreign.exit(), foreign.toString());
      assertTrue(foreign.err().contains("(unauthenticated)"), foreign.err());

      Files.setPosixFilePermissions(tokenFile, PosixFilePermissions.fromString("rw-r--r--"));
      ClientAgainstServerTest.Run readable = as(ci, "get", "requests");
      assertNotEquals(0, readable.exit());
      assertTrue(readable.err().contains("chmod 600 " + tokenFile), readable.err());
    }
  }
}
