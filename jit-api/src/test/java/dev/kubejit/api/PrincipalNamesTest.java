package dev.kubejit.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PrincipalNamesTest {
  @ParameterizedTest
  @ValueSource(strings = {"alice", "alice@example.com", "system:serviceaccount:ns:sa", "jit:grant:abc123",
      "oncall-payments", "O'Brien", "jürgen", "josé", "мария", "山田太郎", "やまだ", "김민준", "user_1.2+x"})
  void ordinaryNamesInOneScriptAreAccepted(String name) {
    assertEquals(name, PrincipalNames.check(name, "user"));
    assertEquals(name, Identity.of(name, List.of("g")).assertedBy("test").user());
  }

  /** Each string spells its code points out in escapes so that this file shows what it tests. */
  @ParameterizedTest
  @ValueSource(strings = {
      "alice\u200b", "\u200balice", "al\u00adice", "ali\u200cce", "ali\u200dce", "alice\u2060", "\ufeffalice",
      "a\u202elice", "a\u2066lice", "a\u061clice", "ali\ufe0fce", "ali\u034fce", "alice\u3164", "alice\u115f",
      "alice\ue000", "alice\u0007", "alice\u0085", "system\u00a0:anonymous", "system :anonymous",
      "alice\u2028", "a\u3000lice", "alice\t",
      "\uff41\uff4c\uff49\uff43\uff45", "\ufb01le", "jose\u0301", "\u2460alice",
      "alic\u0435", "\u0455ystem:masters", "p\u0430yments", "\u03b1lice-x",
      "", "alice\udc00"})
  void invisibleSeparatorCompatibilityAndMixedScriptNamesAreRefused(String name) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> PrincipalNames.check(name, "group"));
    assertTrue(e.getMessage().startsWith("group "), e.getMessage());
    for (char c : e.getMessage().toCharArray()) {
      assertTrue(c >= 0x20 && c < 0x7f, "message must be printable ASCII: " + e.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> Identity.of(name, List.of("g")).assertedBy("test"));
    assertThrows(IllegalArgumentException.class, () -> Identity.of("alice", List.of(name)).assertedBy("test"));
    assertFalse(PrincipalNames.isAcceptable(name));
  }

  @Test
  void nullAndOverlongAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> PrincipalNames.check(null, "user"));
    assertThrows(IllegalArgumentException.class, () -> PrincipalNames.check("a".repeat(257), "user"));
    assertEquals(256, PrincipalNames.check("a".repeat(256), "user").length());
  }

  @Test
  void comparisonFoldsCaseAndCompatibilityForms() {
    assertTrue(PrincipalNames.same("alice", "ALICE"));
    assertTrue(PrincipalNames.same("Alice", "aLICE"));
    // compatibility forms compare equal even where they are refused as names
    assertTrue(PrincipalNames.same("alice", "\uff41\uff4c\uff49\uff43\uff45"));
    assertTrue(PrincipalNames.same("strasse", "STRASSE"));
    assertTrue(PrincipalNames.same("stra\u00dfe", "STRASSE"));
    assertTrue(PrincipalNames.same("\u00c9MILE", "\u00e9mile"));
    assertFalse(PrincipalNames.same("alice", "alicia"));
    assertFalse(PrincipalNames.same("alice", "alic\u0435"));
    assertEquals("alice", PrincipalNames.canonical("ALICE"));
  }

  @Test
  void identitiesAreTheSamePersonWhateverTheCaseOrSource() {
    assertTrue(Identity.of("alice", List.of("a")).assertedBy("slack").samePerson(Identity.of("Alice", List.of("b")).assertedBy("oidc")));
    assertFalse(Identity.of("alice", List.of("a")).assertedBy("slack").samePerson(Identity.of("alicia", List.of("a")).assertedBy("slack")));
  }

  @Test
  void lifetimeCapIsOneYear() {
    assertEquals(Duration.ofDays(366), Lifetimes.ABSOLUTE_MAX);
    assertEquals(Duration.ofDays(366), Lifetimes.requireWithinCap(Duration.ofDays(366), "ttl"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Lifetimes.requireWithinCap(Duration.ofHours(999_999), "ttl"));
    assertTrue(e.getMessage().contains("366"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Lifetimes.requireWithinCap(Duration.ZERO, "ttl"));
    assertThrows(IllegalArgumentException.class,
        () -> AccessRequest.builder().duration(Duration.ofDays(367)));
  }

  /** Identity: groups as a collection or varargs, the source named by assertedBy (never a third positional string). */
  @org.junit.jupiter.api.Test
  void identitySourceIsNamed() {
    Identity local = Identity.of("alice", java.util.List.of("sre", "oncall"));
    assertEquals("local", local.source());
    assertEquals(java.util.List.of("oncall", "sre"), java.util.List.copyOf(local.groups()));
    Identity slack = local.assertedBy("slack:T01");
    assertEquals("slack:T01", slack.source());
    assertEquals(local.groups(), slack.groups());
    assertTrue(slack.samePerson(local));
    assertEquals(local.groups(), Identity.of("alice", "sre", "oncall").groups());
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> local.assertedBy(" slack"));
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> local.assertedBy("sl\nack"));
  }
}
