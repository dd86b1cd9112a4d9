package dev.kubejit.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class KubeNamesTest {
  static final String L63 = "a".repeat(63);

  @ParameterizedTest
  @ValueSource(strings = {"a", "0", "payments", "a-b", "a--b", "9lives", "x1"})
  void labels(String ok) {
    assertTrue(KubeNames.isDnsLabel(ok), ok);
    assertTrue(KubeNames.isDnsSubdomain(ok), ok);
    assertEquals(ok, KubeNames.requireDnsLabel(ok, "namespace"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "-a", "a-", "A", "a.b", "a_b", "a b", "ａ", "a\u200b", "é", "a\n"})
  void notLabels(String bad) {
    assertFalse(KubeNames.isDnsLabel(bad), bad);
    assertThrows(IllegalArgumentException.class, () -> KubeNames.requireDnsLabel(bad, "namespace"));
  }

  @Test
  void lengthLimitsAreInclusive() {
    assertTrue(KubeNames.isDnsLabel(L63));
    assertFalse(KubeNames.isDnsLabel(L63 + "a"));
    String s253 = L63 + "." + L63 + "." + L63 + "." + "a".repeat(61);
    assertEquals(253, s253.length());
    assertTrue(KubeNames.isDnsSubdomain(s253));
    assertFalse(KubeNames.isDnsSubdomain(s253 + "a"));
    assertFalse(KubeNames.isDnsLabel(null));
    assertFalse(KubeNames.isDnsSubdomain(null));
  }

  @ParameterizedTest
  @ValueSource(strings = {"a.b", "pod-1.x", "ip-10-0-0-1.eu-west-1.compute.internal"})
  void subdomains(String ok) {
    assertTrue(KubeNames.isDnsSubdomain(ok), ok);
    assertEquals(ok, KubeNames.requireDnsSubdomain(ok, "pod"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", ".a", "a.", "a..b", "a.-b", "a-.b", "A.b", "a/b"})
  void notSubdomains(String bad) {
    assertFalse(KubeNames.isDnsSubdomain(bad), bad);
    assertThrows(IllegalArgumentException.class, () -> KubeNames.requireDnsSubdomain(bad, "pod"));
  }

  @Test
  void messagesNameTheRuleAndQuoteTheValueEscaped() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> KubeNames.requireDnsLabel("pay\u200bments", "namespace"));
    assertEquals("namespace must be a DNS-1123 label (lower-case alphanumerics and '-', at most 63): \"pay\\u200bments\"",
        e.getMessage());
    assertEquals("pod is required", assertThrows(IllegalArgumentException.class,
        () -> KubeNames.requireDnsSubdomain(null, "pod")).getMessage());
  }
}
