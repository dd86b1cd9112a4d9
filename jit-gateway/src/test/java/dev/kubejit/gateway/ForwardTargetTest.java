package dev.kubejit.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ForwardTargetTest {
  @Test
  void podDotNamespaceAndABarePodNameNameAPodOfTheGrantsNamespace() {
    ForwardTarget t = ForwardTarget.parse("web.payments", 8080, "payments");
    assertEquals("web", t.pod);
    assertEquals(8080, t.port);
    assertEquals("web", ForwardTarget.parse("web", 1, "payments").pod);
    assertEquals(65535, ForwardTarget.parse("web", 65535, "payments").port);
    // A pod name with dots is written POD.NAMESPACE.
    assertEquals("web.v1", ForwardTarget.parse("web.v1.payments", 80, "payments").pod);
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "web.other",                 // another namespace
      "web.payments.svc",          // a service name, not a pod
      "web.payments.svc.cluster.local",
      "10.0.0.1",                  // an address: the gateway never connects anywhere itself
      "127.0.0.1",
      "::1",
      "kube-apiserver.example.com",
      "web.v1",                    // dots but no namespace: ambiguous, refused
      ".payments",                 // no pod
      "Web.payments",              // not a Kubernetes name
      "web_1",
      "web\u200b.payments",         // invisible character
      "-web",
      ""})
  void anythingElseIsRefusedWithTheReason(String host) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ForwardTarget.parse(host, 8080, "payments"));
    assertTrue(e.getMessage().contains("host") || e.getMessage().contains("pod"), e.getMessage());
  }

  @Test
  void theNamespaceSuffixMustBeWholeAndOnlyTheGrantsNamespace() {
    assertThrows(IllegalArgumentException.class, () -> ForwardTarget.parse("web.xpayments", 80, "payments"));
    assertThrows(IllegalArgumentException.class, () -> ForwardTarget.parse("web.payments", 80, "payments-gw"));
    assertThrows(IllegalArgumentException.class, () -> ForwardTarget.parse(null, 80, "payments"));
  }

  @ParameterizedTest
  @ValueSource(longs = {0, 65536, 4294967295L, -1})
  void portsOutside1To65535AreRefused(long port) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ForwardTarget.parse("web", port, "payments"));
    assertTrue(e.getMessage().contains("port " + port), e.getMessage());
  }
}
