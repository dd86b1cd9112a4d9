package dev.kubejit.rbac;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kubernetes.client.openapi.models.V1ClusterRole;
import io.kubernetes.client.openapi.models.V1ClusterRoleBinding;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1Role;
import io.kubernetes.client.openapi.models.V1RoleBinding;
import io.kubernetes.client.openapi.models.V1RoleRef;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

/** How the reaper reads a managed binding's expiry: fail closed on anything a KubeJIT grant cannot be. */
class ExpiryReaperEntryTest {
  private static final Instant NOW = Fixtures.NOW;
  private static final V1RoleRef REF = new V1RoleRef().kind("Role").name("r");

  private static V1RoleBinding rb(String expiresAt, Instant created) {
    V1ObjectMeta m = new V1ObjectMeta().name("b").namespace("ns").uid("u1");
    if (expiresAt != null) {
      m.putAnnotationsItem(Names.EXPIRES_AT, expiresAt);
    }
    if (created != null) {
      m.creationTimestamp(OffsetDateTime.ofInstant(created, ZoneOffset.UTC));
    }
    return new V1RoleBinding().metadata(m).roleRef(REF);
  }

  @Test
  void anExpiryWithinTheCapIsTakenAsItIs() {
    Instant cap = NOW.plus(Duration.ofDays(366));
    ExpiryReaper.Entry e = ExpiryReaper.Entry.of(rb(cap.toString(), NOW), REF, NOW);
    assertEquals(cap, e.expiresAt);
    assertNull(e.refused);
    assertEquals("RoleBinding/ns/b", e.toString());
  }

  @Test
  void anythingAKubeJitGrantCannotBeIsDueAtOnce() {
    String beyond = "beyond the absolute maximum lifetime of 366 days";
    assertRefused(rb(NOW.plus(Duration.ofDays(366)).plusSeconds(1).toString(), null), beyond);
    assertRefused(rb("2140-01-01T04:00:00Z", Instant.parse("2139-12-31T22:00:00Z")), beyond);
    // 200 days old with 200 days to go: within the cap from now, beyond it from creation.
    assertRefused(rb(NOW.plus(Duration.ofDays(200)).toString(), NOW.minus(Duration.ofDays(200))), beyond);
    assertRefused(rb(null, NOW), "missing");
    assertRefused(rb("tomorrow", NOW), "unparseable");
  }

  @Test
  void clusterRoleBindingsHaveNoNamespace() {
    V1ClusterRoleBinding crb = new V1ClusterRoleBinding().metadata(new V1ObjectMeta().name("c").namespace("ignored")
        .uid("u2").putAnnotationsItem(Names.EXPIRES_AT, NOW.plusSeconds(60).toString()))
        .roleRef(new V1RoleRef().kind("ClusterRole").name("x"));
    ExpiryReaper.Entry e = ExpiryReaper.Entry.of(crb, crb.getRoleRef(), NOW);
    assertEquals("ClusterRoleBinding/c", e.toString());
    assertEquals(NOW.plusSeconds(60), e.expiresAt);
  }

  @Test
  void rolesAreReadWithTheirKindAndComeAfterBindingsOfTheSameExpiry() {
    String at = NOW.plusSeconds(30).toString();
    V1Role role = new V1Role().metadata(new V1ObjectMeta().name("r").namespace("ns").uid("a-role")
        .putLabelsItem(Names.GRANT_ID, "g1").putAnnotationsItem(Names.EXPIRES_AT, at));
    V1ClusterRole clusterRole = new V1ClusterRole().metadata(new V1ObjectMeta().name("cr").namespace("ignored")
        .uid("b-crole").putAnnotationsItem(Names.EXPIRES_AT, at));
    ExpiryReaper.Entry r = ExpiryReaper.Entry.of(role, null, NOW);
    ExpiryReaper.Entry cr = ExpiryReaper.Entry.of(clusterRole, null, NOW);
    ExpiryReaper.Entry b = ExpiryReaper.Entry.of(rb(at, NOW), REF, NOW);
    assertEquals("Role/ns/r", r.toString());
    assertEquals("ClusterRole/cr", cr.toString());
    assertEquals("g1", r.grantId);
    assertTrue(r.isRole() && cr.isRole());
    assertFalse(b.isRole());
    assertNull(r.roleName, "a role refers to no other role");
    // uid "u1" of the binding sorts after "a-role": the kind decides before the uid.
    assertTrue(b.compareTo(r) < 0 && r.compareTo(b) > 0, "binding before role at the same expiry");
    assertTrue(b.compareTo(cr) < 0);
    ExpiryReaper.Entry earlierRole = ExpiryReaper.Entry.of(new V1Role().metadata(new V1ObjectMeta().name("e")
        .namespace("ns").uid("z").putAnnotationsItem(Names.EXPIRES_AT, NOW.plusSeconds(29).toString())), null, NOW);
    assertTrue(earlierRole.compareTo(b) < 0, "expiry first");
    // A role without expiry is due at once, like a binding (fail closed).
    V1Role bare = new V1Role().metadata(new V1ObjectMeta().name("x").namespace("ns").uid("u9"));
    assertEquals(Instant.EPOCH, ExpiryReaper.Entry.of(bare, null, NOW).expiresAt);
  }

  private static void assertRefused(V1RoleBinding b, String why) {
    ExpiryReaper.Entry e = ExpiryReaper.Entry.of(b, REF, NOW);
    assertEquals(Instant.EPOCH, e.expiresAt, b.getMetadata().toString());
    assertEquals(why, e.refused);
  }
}
