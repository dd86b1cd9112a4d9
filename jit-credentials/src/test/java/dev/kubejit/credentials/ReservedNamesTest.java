package dev.kubejit.credentials;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.credentials.internal.Crypto;
import dev.kubejit.api.Action;
import dev.kubejit.api.Scope;
import dev.kubejit.testing.FakeClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue #9 §5: names that are, or look like, privileged or reserved ones are refused by every
 * issuer, and messages show them escaped. This class covers the own X.509 CA and holds the corpus
 * ({@link #reserved()}, {@link #lookalikes()}) that jit-credentials-ssh and -jwt run against their
 * issuers (SshReservedNamesTest, JwtReservedNamesTest); the Kubernetes CSR path is covered against
 * the real API server in jit-credentials-kubernetes; the CLI in jit-cli.
 *
 * <p>The expected escaped forms are written out by hand (not computed with SafeText).
 */
public class ReservedNamesTest {
  static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");
  static final FakeClock CLOCK = new FakeClock(T0);
  static final CertificateAuthority CA = CertificateAuthority.builder().keyType(KeyType.ED25519).commonName("kubejit-test").validity(Duration.ofDays(30)).clock(CLOCK).generate();
  static final X509Issuer X509 = X509Issuer.builder().authority(CA).clock(CLOCK).build();

  /** Reserved by Kubernetes, kubeadm or as the superuser, in any letter case. */
  public static Stream<String> reserved() {
    return Stream.of("system:masters", "SYSTEM:MASTERS", "System:Masters", "system:anonymous", "system:unauthenticated",
        "system:authenticated", "system:kube-controller-manager", "system:kube-scheduler", "system:node:worker-1", "system:nodes",
        "system:serviceaccount:kube-system:default", "system:serviceaccounts", "system:bootstrappers:kubeadm:default-node-token",
        "kubeadm:cluster-admins", "KubeAdm:Cluster-Admins", "kubernetes-admin", "kubernetes-super-admin", "root", "ROOT");
  }

  /**
   * Look-alikes of reserved names: invisible, separator, full-width and mixed-script characters
   * (refused as names), and single-script look-alike letters and punctuation (refused as looking
   * reserved). Each with its escaped rendering, written by hand.
   */
  public static Stream<Arguments> lookalikes() {
    return Stream.of(
        Arguments.of("\u200bsystem:masters", "\"\\u200bsystem:masters\""),           // zero-width space in front (issue #9)
        Arguments.of("system\u00a0:anonymous", "\"system\\u00a0:anonymous\""),       // no-break space (issue #9)
        Arguments.of("system:masters\u200b", "\"system:masters\\u200b\""),           // zero-width space at the end
        Arguments.of("\ufeffsystem:masters", "\"\\ufeffsystem:masters\""),           // byte-order mark
        Arguments.of("\u2060system:masters", "\"\\u2060system:masters\""),           // word joiner
        Arguments.of("system:mast\u00aders", "\"system:mast\\u00aders\""),           // soft hyphen
        Arguments.of("system:\u202emasters", "\"system:\\u202emasters\""),           // right-to-left override
        Arguments.of("system:masters\ufe0f", "\"system:masters\\ufe0f\""),           // variation selector
        Arguments.of("system:masters ", "\"system:masters \""),                      // trailing space
        Arguments.of(" system:masters", "\" system:masters\""),                      // leading space
        Arguments.of("system\u3000:masters", "\"system\\u3000:masters\""),           // ideographic space
        Arguments.of("\uff53\uff59\uff53\uff54\uff45\uff4d:masters", "\"\\uff53\\uff59\\uff53\\uff54\\uff45\\uff4d:masters\""), // full-width
        Arguments.of("syst\u0435m:masters", "\"syst\\u0435m:masters\""),             // Cyrillic e among Latin letters
        Arguments.of("kubeadm:cluster\u200b-admins", "\"kubeadm:cluster\\u200b-admins\""),
        Arguments.of("\ua731\u028f\ua731\u1d1b\u1d07\u1d0d:masters", "\"\\ua731\\u028f\\ua731\\u1d1b\\u1d07\\u1d0d:masters\""), // Latin small capitals
        Arguments.of("system\ua789masters", "\"system\\ua789masters\""),             // modifier letter colon
        Arguments.of("system\u2236anonymous", "\"system\\u2236anonymous\""),         // ratio sign for the colon
        Arguments.of("kubeadm\u02d0cluster-admins", "\"kubeadm\\u02d0cluster-admins\""), // triangular colon
        Arguments.of("\u0455\u0443\u0455\u0442\u0435\u043c:\u043c\u0430\u0455\u0442\u0435\u0440\u0455",
            "\"\\u0455\\u0443\\u0455\\u0442\\u0435\\u043c:\\u043c\\u0430\\u0455\\u0442\\u0435\\u0440\\u0455\""), // all Cyrillic
        Arguments.of("\ua4e2\ua4ec\ua4e2\ua4d4\ua4f0\ua4df:\ua4df\ua4ee\ua4e2\ua4d4\ua4f0\ua4e3\ua4e2",
            "\"\\ua4e2\\ua4ec\\ua4e2\\ua4d4\\ua4f0\\ua4df:\\ua4df\\ua4ee\\ua4e2\\ua4d4\\ua4f0\\ua4e3\\ua4e2\""), // all Lisu
        Arguments.of("\u0280\u1d0f\u1d0f\u1d1b", "\"\\u0280\\u1d0f\\u1d0f\\u1d1b\""), // small-capital ROOT
        Arguments.of("kubernetes\u2010admin", "\"kubernetes\\u2010admin\""));        // Unicode hyphen
  }

  /** Each issuer, as "issue a credential naming {@code name} as user/subject/principal". */
  static List<Function<String, Object>> asUser() {
    List<Function<String, Object>> out = new ArrayList<>();
    out.add(n -> X509.issueWithGeneratedKey(n, List.of("oncall"), Duration.ofMinutes(5), KeyType.ED25519));
    out.add(n -> X509.issueFromCsr(csr(), n, List.of("oncall"), Duration.ofMinutes(5)));
    return out;
  }

  /** Each issuer, as "issue a credential naming {@code name} as a group". */
  static List<Function<String, Object>> asGroup() {
    List<Function<String, Object>> out = new ArrayList<>();
    out.add(n -> X509.issueWithGeneratedKey("alice", List.of("oncall", n), Duration.ofMinutes(5), KeyType.ED25519));
    out.add(n -> X509.issueFromCsr(csr(), "alice", List.of(n), Duration.ofMinutes(5)));
    return out;
  }

  public static String csr() {
    try {
      return TestKeys.csrPem(TestKeys.ed25519(), "");
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @ParameterizedTest
  @MethodSource("reserved")
  void reservedNamesAreRefusedByEveryIssuerAsUserAndGroup(String name) {
    for (List<Function<String, Object>> issuers : List.of(asUser(), asGroup())) {
      for (Function<String, Object> issue : issuers) {
        CredentialException e = assertThrows(CredentialException.class, () -> issue.apply(name), name);
        assertTrue(e.getMessage().contains("\"" + name + "\" is a reserved or privileged name (matches \""), e.getMessage());
      }
    }
    assertTrue(ReservedNames.defaults().isReserved(name));
  }

  @ParameterizedTest
  @MethodSource("lookalikes")
  void lookalikesOfReservedNamesAreRefusedByEveryIssuerAndShownEscaped(String name, String escaped) {
    for (List<Function<String, Object>> issuers : List.of(asUser(), asGroup())) {
      for (Function<String, Object> issue : issuers) {
        CredentialException e = assertThrows(CredentialException.class, () -> issue.apply(name), escaped);
        assertTrue(e.getMessage().contains(escaped), e.getMessage());
        for (char c : e.getMessage().toCharArray()) {
          assertTrue(c >= 0x20 && c < 0x7f, "message must be printable ASCII: " + e.getMessage());
        }
      }
    }
  }

  @Test
  void singleScriptLookalikesAreRefusedAsLookingReserved() {
    CredentialException e = assertThrows(CredentialException.class, () -> X509.issueWithGeneratedKey("alice",
        List.of("\ua731\u028f\ua731\u1d1b\u1d07\u1d0d:masters"), Duration.ofMinutes(5), KeyType.ED25519));
    assertEquals("group \"\\ua731\\u028f\\ua731\\u1d1b\\u1d07\\u1d0d:masters\" looks like the reserved or privileged name"
        + " \"system:*\" (it uses characters that imitate its letters or punctuation); KubeJIT issues no credential for it",
        e.getMessage());
    e = assertThrows(CredentialException.class, () -> X509.issueWithGeneratedKey("\u0280\u1d0f\u1d0f\u1d1b", List.of("g"),
        Duration.ofMinutes(5), KeyType.ED25519));
    assertTrue(e.getMessage().contains("looks like the reserved or privileged name \"root\""), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"alice", "oncall-payments", "jit:grant:6f1c", "systems-team", "system-admins", "systemd", "rooted",
      "kubeadm-users", "admin", "\u0438\u0432\u0430\u043d", "\u03b3\u03b9\u03ac\u03bd\u03bd\u03b7\u03c2", "\u7530\u4e2d"})
  void ordinaryNamesAreIssuedByEveryIssuer(String name) {
    assertFalse(ReservedNames.defaults().isReserved(name), name);
    IssuedCertificate c = X509.issueWithGeneratedKey(name, List.of("oncall", name), Duration.ofMinutes(5), KeyType.ED25519);
    assertEquals(name, c.user());
    assertEquals(name, X509.issueFromCsr(csr(), name, List.of(name), Duration.ofMinutes(5)).user());
  }

  @Test
  void defaultListIsDocumented() {
    assertEquals(List.of("kubeadm:*", "kubernetes-admin", "kubernetes-super-admin", "root", "system:*"),
        List.copyOf(ReservedNames.defaults().entries()));
    assertTrue(ReservedNames.defaults().exemptions().isEmpty());
  }

  @Test
  void embeddersExtendTheListOnEveryIssuer() {
    ReservedNames more = ReservedNames.defaults().plus("corp:breakglass", "platform-admin:*");
    X509Issuer x = X509Issuer.builder().authority(CA).clock(CLOCK).reservedNames(more).build();
    for (String n : List.of("corp:breakglass", "CORP:BreakGlass", "platform-admin:alice", "system:masters")) {
      assertThrows(CredentialException.class, () -> x.issueWithGeneratedKey("alice", List.of(n), Duration.ofMinutes(5), KeyType.ED25519), n);
    }
    // the defaults themselves are unchanged (immutable)
    assertFalse(ReservedNames.defaults().isReserved("corp:breakglass"));
    X509.issueWithGeneratedKey("alice", List.of("corp:breakglass"), Duration.ofMinutes(5), KeyType.ED25519);
    assertThrows(IllegalStateException.class, () -> X509Issuer.builder().reservedNames(more).reservedNames(more));
  }

  @Test
  void relaxingIsExplicitNameByNameAndKeepsLookalikesRefused() {
    ReservedNames relaxed = ReservedNames.defaults().exemptDangerously("system:monitoring");
    assertEquals(List.of("system:monitoring"), List.copyOf(relaxed.exemptions()));
    X509Issuer x = X509Issuer.builder().authority(CA).clock(CLOCK).reservedNames(relaxed).build();
    IssuedCertificate c = x.issueWithGeneratedKey("alice", List.of("system:monitoring"), Duration.ofMinutes(5), KeyType.ED25519);
    assertEquals(List.of("system:monitoring"), c.groups());
    for (String still : List.of("system:masters", "\ua731ystem:monitoring", "system\ua789monitoring")) {
      assertThrows(CredentialException.class, () -> x.issueWithGeneratedKey("alice", List.of(still), Duration.ofMinutes(5),
          KeyType.ED25519), still);
    }
    // exemptions are exact names that the list really reserves
    assertThrows(IllegalArgumentException.class, () -> ReservedNames.defaults().exemptDangerously("alice"));
    assertThrows(IllegalArgumentException.class, () -> ReservedNames.defaults().exemptDangerously("system:*"));
    assertThrows(IllegalArgumentException.class, () -> ReservedNames.defaults().exemptDangerously("\u200bsystem:masters"));
    for (String bad : new String[] {"", "*", "sys*tem:", "a**", "\u200bcorp:*", "corp admins"}) {
      assertThrows(IllegalArgumentException.class, () -> ReservedNames.defaults().plus(bad), bad);
    }
    assertTrue(relaxed.toString().contains("exempted [\"system:monitoring\"]"), relaxed.toString());
  }

  @Test
  void kubeconfigUserAndExecCredentialNamesFollowTheNameRule() {
    for (String bad : new String[] {"\u200balice", "al\u00a0ice", "\uff41lice", "alic\u0435"}) {
      assertThrows(CredentialException.class, () -> Kubeconfig.builder().names("kubejit", bad), bad);
    }
    Kubeconfig.builder().names("kubejit", "alice");
    // an ExecCredential for a certificate whose subject holds an invisible character is refused
    String badSubject = certificateWithSubject(CA, "CN=\u200balice,O=oncall");
    CredentialException e = assertThrows(CredentialException.class,
        () -> ExecCredential.json(ExecCredential.V1, badSubject, "unused", T0, T0.plusSeconds(300)));
    assertTrue(e.getMessage().contains("\"\\u200balice\""), e.getMessage());
    String goodSubject = certificateWithSubject(CA, "CN=alice,O=oncall");
    assertTrue(ExecCredential.json(ExecCredential.V1, goodSubject, "key", T0, T0.plusSeconds(300)).contains("\"clientKeyData\": \"key\""));
  }

  /** A certificate with an arbitrary subject, built with Bouncy Castle directly (the issuer would refuse it). */
  static String certificateWithSubject(CertificateAuthority ca, String subject) {
    try {
      var kp = TestKeys.ed25519();
      var b = new org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder(ca.certificate(), java.math.BigInteger.TEN,
          java.util.Date.from(T0), java.util.Date.from(T0.plusSeconds(600)), new org.bouncycastle.asn1.x500.X500Name(subject),
          kp.getPublic());
      return Crypto.pem(b.build(ca.signer()));
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
