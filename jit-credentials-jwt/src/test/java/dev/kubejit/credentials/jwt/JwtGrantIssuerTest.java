package dev.kubejit.credentials.jwt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.Action;
import dev.kubejit.api.CredentialKind;
import dev.kubejit.api.CredentialSpec;
import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Identity;
import dev.kubejit.api.IssuedCredential;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.Scope;
import dev.kubejit.credentials.CredentialException;
import dev.kubejit.credentials.GrantCredentialIssuer;
import dev.kubejit.credentials.KeyType;
import dev.kubejit.credentials.ReservedNames;
import dev.kubejit.testing.FakeClock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link JwtIssuer#forGrants(String)} composed into a {@link GrantCredentialIssuer}, and the reserved-name corpus against the JWT issuer. */
class JwtGrantIssuerTest {
  static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");
  final FakeClock clock = new FakeClock(T0);
  final JwtIssuer jwt = JwtIssuer.generate(KeyType.ED25519, "https://kubejit", clock);
  final GrantCredentialIssuer issuer = GrantCredentialIssuer.builder().clock(clock).issuer(jwt.forGrants("gateway")).build();
  final Grant grant = grant("alice", Duration.ofMinutes(45));

  static Grant grant(String user, Duration length) {
    return Grant.builder().id(GrantId.random()).requestId(RequestId.random())
        .holder(Identity.of(user, "oncall-payments", "sre")).role("oncall-debug").action(Action.EXEC)
        .scope(Scope.namespace("prod", "payments")).window(T0, T0.plus(length)).build();
  }

  VerifiedJwt verify(IssuedCredential c) {
    return JwtVerifier.builder().key(jwt.jwksJson()).issuer("https://kubejit").audience("gateway").clock(clock).build()
        .verify(c.material());
  }

  @Test
  void jwtForTheGrant() {
    IssuedCredential c = issuer.issue(grant, CredentialSpec.of(CredentialKind.JWT, null, Map.of()));
    VerifiedJwt v = verify(c);
    assertEquals("alice", v.subject());
    assertEquals(List.of(grant.subjectGroup()), v.groups());
    assertEquals(List.of("exec"), v.actions());
    assertEquals("payments", v.namespace().orElseThrow());
    assertEquals(grant.expiresAt(), c.ref().notAfter());
    assertFalse(c.toString().contains(c.material()));
    CredentialException e = assertThrows(CredentialException.class,
        () -> issuer.issue(grant, CredentialSpec.of(CredentialKind.JWT, null, Map.of("aud", "other"))));
    assertEquals("a JWT takes no options; got [\"aud\"]", e.getMessage());
  }

  @Test
  void lifetimeIsTheGrantsRemainingTimeCappedAtTheIssuersMaximum() {
    Grant longGrant = grant("alice", Duration.ofHours(4));
    IssuedCredential c = issuer.issue(longGrant, CredentialSpec.of(CredentialKind.JWT, null, Map.of()));
    assertEquals(T0.plus(jwt.maxTtl()), c.ref().notAfter());
    clock.advance(Duration.ofMinutes(40));
    assertEquals(grant.expiresAt(), issuer.issue(grant, CredentialSpec.of(CredentialKind.JWT, null, Map.of())).ref().notAfter());
  }

  @Test
  void audienceIsALabel() {
    assertThrows(CredentialException.class, () -> jwt.forGrants(""));
    assertThrows(CredentialException.class, () -> jwt.forGrants("gate\nway"));
    assertTrue(jwt.forGrants("gateway").toString().endsWith("{audience=\"gateway\"}"));
  }

  /** The one lifetime cap (Lifetimes.ABSOLUTE_MAX, 366 days) holds for the JWT issuer too. */
  @Test
  void absoluteLifetimeCap() {
    Duration cap = dev.kubejit.api.Lifetimes.ABSOLUTE_MAX;
    assertEquals(cap, jwt.withMaxTtl(cap).maxTtl());
    assertThrows(IllegalArgumentException.class, () -> jwt.withMaxTtl(cap.plusSeconds(1)));
  }

  static Iterable<String> reserved() {
    return dev.kubejit.credentials.ReservedNamesTest.reserved()::iterator;
  }

  static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> lookalikes() {
    return dev.kubejit.credentials.ReservedNamesTest.lookalikes();
  }

  @ParameterizedTest
  @MethodSource("reserved")
  void reservedNamesAreRefusedAsSubjectAndGroup(String name) {
    for (Runnable r : mints(jwt, name)) {
      CredentialException e = assertThrows(CredentialException.class, r::run, name);
      assertTrue(e.getMessage().contains("\"" + name + "\" is a reserved or privileged name (matches \""), e.getMessage());
    }
    assertThrows(CredentialException.class, () -> issuer.issue(grant(name, Duration.ofMinutes(5)),
        CredentialSpec.of(CredentialKind.JWT, null, Map.of())), name);
  }

  @ParameterizedTest
  @MethodSource("lookalikes")
  void lookalikesAreRefusedAndShownEscaped(String name, String escaped) {
    for (Runnable r : mints(jwt, name)) {
      CredentialException e = assertThrows(CredentialException.class, r::run, escaped);
      assertTrue(e.getMessage().contains(escaped), e.getMessage());
      for (char c : e.getMessage().toCharArray()) {
        assertTrue(c >= 0x20 && c < 0x7f, "message must be printable ASCII: " + e.getMessage());
      }
    }
  }

  @Test
  void embeddersExtendTheList() {
    JwtIssuer j = jwt.withReservedNames(ReservedNames.defaults().plus("corp:breakglass"));
    for (String n : List.of("corp:breakglass", "CORP:BreakGlass", "system:masters")) {
      for (Runnable r : mints(j, n)) {
        assertThrows(CredentialException.class, r::run, n);
      }
    }
    jwt.mint("corp:breakglass", List.of(), Scope.cluster("p"), List.of(Action.LOGS), "g", Duration.ofMinutes(5));
  }

  static List<Runnable> mints(JwtIssuer j, String name) {
    return List.of(
        () -> j.mint(name, List.of("oncall"), Scope.cluster("prod"), List.of(Action.LOGS), "gateway", Duration.ofMinutes(5)),
        () -> j.mint("alice", List.of("oncall", name), Scope.cluster("prod"), List.of(Action.LOGS), "gateway", Duration.ofMinutes(5)));
  }
}
