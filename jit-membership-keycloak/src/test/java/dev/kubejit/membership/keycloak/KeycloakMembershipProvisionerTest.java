package dev.kubejit.membership.keycloak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kubejit.api.EndCause;
import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.GroupMembership;
import dev.kubejit.api.ProvisioningException;
import dev.kubejit.api.RequestId;
import dev.kubejit.testing.Keycloak;
import java.net.URI;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Against the real test Keycloak, as a service account holding only realm-management's {@code
 * manage-users}: groups are created per grant, marked, removed, and nothing else is touched.
 */
class KeycloakMembershipProvisionerTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String REALM = "/admin/realms/" + Keycloak.REALM;
  private static Keycloak kc;
  private static KeycloakMembershipProvisioner idp;

  @BeforeAll
  static void start() {
    kc = Keycloak.shared();
    char[] secret = kc.createServiceAccountClient("kubejit-membership-test", "manage-users");
    idp = provisioner("kubejit-membership-test", secret);
  }

  private static KeycloakMembershipProvisioner provisioner(String client, char[] secret) {
    return KeycloakMembershipProvisioner.builder().server(kc.baseUrl()).realm(Keycloak.REALM)
        .clientCredentials(client, secret).sslContext(kc.sslContext()).build();
  }

  private static GroupMembership membership(String user, Instant until) {
    GrantId id = GrantId.random();
    return GroupMembership.of(id, user, Grant.GROUP_PREFIX + id.value(), until);
  }

  private static List<String> groupsInToken(String user) throws Exception {
    String idToken = kc.passwordGrant(user, Keycloak.CLI_CLIENT).idToken();
    JsonNode claims = JSON.readTree(Base64.getUrlDecoder().decode(idToken.split("\\.")[1]));
    return StreamSupport.stream(claims.path(Keycloak.GROUPS_CLAIM).spliterator(), false).map(JsonNode::asText).toList();
  }

  private static JsonNode group(String name) throws Exception {
    for (JsonNode g : JSON.readTree(kc.adminCall("GET", REALM + "/groups?briefRepresentation=false&search="
        + java.net.URLEncoder.encode(name, java.nio.charset.StandardCharsets.UTF_8), null))) {
      if (g.path("name").asText().equals(name)) {
        return g;
      }
    }
    return null;
  }

  @Test
  void addPutsTheUserInAMarkedPerGrantGroupAndTheIdTokenCarriesIt() throws Exception {
    GroupMembership m = membership("alice", Instant.parse("2031-01-01T00:00:00Z"));
    idp.add(m);
    idp.add(m); // idempotent
    assertTrue(groupsInToken("alice").contains(m.group()), "a fresh ID token carries the grant group");
    assertTrue(groupsInToken("alice").contains(Keycloak.SRE), "alice's other groups are untouched");
    JsonNode g = group(m.group());
    assertEquals("kubejit", g.path("attributes").path(KeycloakMembershipProvisioner.MANAGED_BY).get(0).asText());
    assertEquals(m.grantId().value(), g.path("attributes").path(KeycloakMembershipProvisioner.GRANT_ID).get(0).asText());
    assertTrue(idp.listManaged().contains(m));

    idp.remove(m, EndCause.REVOKED);
    idp.remove(m, EndCause.REVOKED); // idempotent
    assertFalse(groupsInToken("alice").contains(m.group()), "the next token no longer carries it");
    assertEquals(null, group(m.group()), "the grant's group is deleted");
    assertFalse(idp.listManaged().contains(m));
    assertTrue(groupsInToken("alice").contains(Keycloak.SRE));
  }

  /**
   * The request id travels with the membership: the broker's orphan sweep removes the membership of
   * a grant its store does not know only when it can name that grant's request.
   */
  @Test
  void theRequestIdIsKeptInTheGroupAndListedBack() throws Exception {
    GrantId id = GrantId.random();
    RequestId request = RequestId.random();
    GroupMembership m = GroupMembership.of(id, request, "alice", Grant.GROUP_PREFIX + id.value(),
        Instant.parse("2031-01-01T00:00:00Z"));
    idp.add(m);
    try {
      assertEquals(request.value(), group(m.group()).path("attributes").path(KeycloakMembershipProvisioner.REQUEST_ID)
          .get(0).asText());
      GroupMembership listed = idp.listManaged().stream().filter(x -> x.grantId().equals(id)).findFirst().orElseThrow();
      assertEquals(java.util.Optional.of(request), listed.requestId());
      assertEquals(m, listed);
    } finally {
      idp.remove(m, EndCause.REVOKED);
    }
    GroupMembership without = membership("alice", Instant.parse("2031-01-01T00:00:00Z"));
    idp.add(without);
    try {
      assertTrue(group(without.group()).path("attributes").path(KeycloakMembershipProvisioner.REQUEST_ID).isMissingNode());
      assertTrue(idp.listManaged().contains(without), "a membership made without a request id lists without one");
    } finally {
      idp.remove(without, EndCause.REVOKED);
    }
  }

  @Test
  void unknownUserIsRefusedAndNothingIsCreated() throws Exception {
    GroupMembership m = membership("mallory", Instant.parse("2031-01-01T00:00:00Z"));
    ProvisioningException e = assertThrows(ProvisioningException.class, () -> idp.add(m));
    assertTrue(e.getMessage().contains("no user named \"mallory\""), e.getMessage());
    assertEquals(null, group(m.group()));
  }

  @Test
  void aGroupOfTheSameNameThatIsNotKubeJitsIsNeverTouched() throws Exception {
    GroupMembership m = membership("bob", Instant.parse("2031-01-01T00:00:00Z"));
    kc.adminCall("POST", REALM + "/groups", "{\"name\":\"" + m.group() + "\"}");
    ProvisioningException add = assertThrows(ProvisioningException.class, () -> idp.add(m));
    assertTrue(add.getMessage().contains("is not KubeJIT's"), add.getMessage());
    ProvisioningException remove = assertThrows(ProvisioningException.class, () -> idp.remove(m, EndCause.EXPIRED));
    assertTrue(remove.getMessage().contains("leaving it untouched"), remove.getMessage());
    assertTrue(group(m.group()) != null, "the foreign group still exists");
    assertFalse(groupsInToken("bob").contains(m.group()));
    assertFalse(idp.listManaged().stream().anyMatch(x -> x.group().equals(m.group())), "not listed as managed");
  }

  @Test
  void aGroupMarkedForAnotherGrantIsNeverTouched() throws Exception {
    GroupMembership m = membership("carol", Instant.parse("2031-01-01T00:00:00Z"));
    kc.adminCall("POST", REALM + "/groups", "{\"name\":\"" + m.group() + "\",\"attributes\":{\""
        + KeycloakMembershipProvisioner.MANAGED_BY + "\":[\"kubejit\"],\"" + KeycloakMembershipProvisioner.GRANT_ID
        + "\":[\"" + GrantId.random().value() + "\"]}}");
    assertThrows(ProvisioningException.class, () -> idp.add(m));
    assertThrows(ProvisioningException.class, () -> idp.remove(m, EndCause.REVOKED));
    assertTrue(group(m.group()) != null);
  }

  @Test
  void theServiceAccountCannotDoWhatItDoesNotNeed() {
    // The same service account, used for what manage-users does not cover: clients and realm settings.
    KeycloakMembershipProvisioner probe = idp;
    assertTrue(probe.toString().contains("kubejit-membership-test"));
    char[] secret = kc.createServiceAccountClient("kubejit-membership-nothing");
    KeycloakMembershipProvisioner none = provisioner("kubejit-membership-nothing", secret);
    ProvisioningException e = assertThrows(ProvisioningException.class,
        () -> none.add(membership("alice", Instant.parse("2031-01-01T00:00:00Z"))));
    assertTrue(e.getMessage().contains("HTTP 403") && e.getMessage().contains("manage-users"), e.getMessage());
    assertThrows(ProvisioningException.class, none::listManaged);
  }

  @Test
  void wrongSecretIsRefusedWithoutEchoingIt() {
    KeycloakMembershipProvisioner wrong = provisioner("kubejit-membership-test", "not-the-secret-42".toCharArray());
    ProvisioningException e = assertThrows(ProvisioningException.class, wrong::listManaged);
    assertTrue(e.getMessage().contains("HTTP 401"), e.getMessage());
    assertFalse(e.getMessage().contains("not-the-secret-42"));
  }

  @Test
  void builderRefusesPlainHttpAndMissingOptions() {
    assertThrows(IllegalArgumentException.class,
        () -> KeycloakMembershipProvisioner.builder().server(URI.create("http://idp.example")));
    assertThrows(IllegalArgumentException.class,
        () -> KeycloakMembershipProvisioner.builder().server(URI.create("https://idp.example/auth")));
    assertThrows(IllegalStateException.class, () -> KeycloakMembershipProvisioner.builder().realm("r").build());
    assertThrows(IllegalStateException.class,
        () -> KeycloakMembershipProvisioner.builder().realm("r").realm("s"));
  }
}
