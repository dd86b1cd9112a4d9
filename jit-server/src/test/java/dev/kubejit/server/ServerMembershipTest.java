package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.testing.Keycloak;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kubejit serve} with {@code membership.keycloak}: activating a grant through the HTTP API
 * puts its holder into the grant's group in the real Keycloak (as a service account holding
 * {@code manage-users} only), and revoking it takes them out again.
 */
class ServerMembershipTest {
  @TempDir Path dir;

  @Test
  void activationAndRevocationThroughTheApiMoveAliceInAndOutOfTheGrantGroup() throws Exception {
    Keycloak kc = Keycloak.shared();
    char[] secret = kc.createServiceAccountClient("kubejit-serve-membership", "manage-users");
    String extra = "membership:\n  keycloak:\n    url: " + kc.baseUrl() + "\n    realm: " + Keycloak.REALM
        + "\n    clientId: kubejit-serve-membership\n    clientSecretFile: membership.secret\n    caFile: "
        + kc.caCertificateFile() + "\n";
    try (TestBroker broker = TestBroker.withExtra(dir, extra, d -> {
      Path f = d.resolve("membership.secret");
      Files.writeString(f, new String(secret) + "\n", StandardCharsets.UTF_8);
      Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
    })) {
      assertFalse(broker.server.toString().contains(new String(secret)));
      String id = broker.post("/api/v1/requests", "alice;oncall-payments", TestBroker.json("role", "oncall-debug",
          "action", "exec", "cluster", "prod", "namespace", "payments", "duration", "PT20M", "ticket", "INC-9",
          "reason", "membership")).expect(201).json.path("id").asText();
      broker.post("/api/v1/requests/" + id + "/approve", "carol;sre-leads", "{}").expect(200);
      broker.post("/api/v1/requests/" + id + "/activate", "alice;oncall-payments",
          TestBroker.json("csr", TestBroker.csr("alice"))).expect(200);
      String group = broker.get("/api/v1/requests/" + id, "alice;oncall-payments").expect(200).json
          .path("grant").path("group").asText();
      assertTrue(group.startsWith("jit:grant:"), group);
      assertTrue(tokenGroups(kc, "alice").contains(group), "alice is in " + group + " after activation: " + tokenGroups(kc, "alice"));
      assertFalse(tokenGroups(kc, "bob").contains(group));

      broker.post("/api/v1/requests/" + id + "/revoke", "alice;oncall-payments", TestBroker.json("reason", "done"))
          .expect(200);
      assertFalse(tokenGroups(kc, "alice").contains(group), "alice left " + group + " at revocation: " + tokenGroups(kc, "alice"));
    }
  }

  /** The groups claim of a fresh ID token of {@code user} from the real Keycloak. */
  private static java.util.List<String> tokenGroups(Keycloak kc, String user) throws Exception {
    String idToken = kc.passwordGrant(user, Keycloak.CLI_CLIENT).idToken();
    com.fasterxml.jackson.databind.JsonNode claims = Json.MAPPER.readTree(
        java.util.Base64.getUrlDecoder().decode(idToken.split("\\.")[1]));
    java.util.List<String> groups = new java.util.ArrayList<>();
    claims.path(Keycloak.GROUPS_CLAIM).forEach(g -> groups.add(g.asText()));
    return groups;
  }

  @Test
  void aSecretWrittenIntoTheFileAndAPlainHttpUrlAreRefused() {
    String base = "apiVersion: kubejit.dev/v1\nkind: ServerConfig\npolicy: policy.json\naudit:\n  directory: audit\n"
        + "  signingKeyFile: keys/audit-signing.key\ncertificateAuthorities:\n  x509: ca/x509\n  ssh: ca/ssh\n"
        + "listen:\n  address: 127.0.0.1:8443\nauthentication:\n  devHeader: {}\n"
        + "membership:\n  keycloak:\n    url: https://idp.example.com\n    realm: kubejit\n    clientId: kubejit-membership\n";
    ConfigException secret = assertThrows(ConfigException.class, () -> ServerConfig.parse(
        (base + "    clientSecret: hunter2\n").getBytes(StandardCharsets.UTF_8), "kubejit.yaml", dir));
    assertTrue(secret.getMessage().contains("clientSecretFile"), secret.getMessage());
    assertFalse(secret.getMessage().contains("hunter2"), secret.getMessage());
    ConfigException http = assertThrows(ConfigException.class, () -> ServerConfig.parse(
        (base.replace("https://idp", "http://idp") + "    clientSecretFile: s\n").getBytes(StandardCharsets.UTF_8),
        "kubejit.yaml", dir));
    assertTrue(http.getMessage().contains("https://"), http.getMessage());
    ConfigException missing = assertThrows(ConfigException.class, () -> ServerConfig.parse(
        base.getBytes(StandardCharsets.UTF_8), "kubejit.yaml", dir));
    assertTrue(missing.getMessage().contains("clientSecretFile"), missing.getMessage());
  }
}
