package dev.kubejit.testing;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CertificatesV1Api;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.apis.RbacAuthorizationV1Api;
import io.kubernetes.client.openapi.models.RbacV1Subject;
import io.kubernetes.client.openapi.models.V1CertificateSigningRequest;
import io.kubernetes.client.openapi.models.V1CertificateSigningRequestCondition;
import io.kubernetes.client.openapi.models.V1CertificateSigningRequestSpec;
import io.kubernetes.client.openapi.models.V1CertificateSigningRequestStatus;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1PolicyRule;
import io.kubernetes.client.openapi.models.V1Role;
import io.kubernetes.client.openapi.models.V1RoleBinding;
import io.kubernetes.client.openapi.models.V1RoleRef;
import io.kubernetes.client.util.ClientBuilder;
import java.io.ByteArrayInputStream;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@KubeTest
class KubeControlPlaneTest {
  private static final String ONCALL = "jit:oncall:payments";
  private static final Duration WAIT = Duration.ofSeconds(30);

  @BeforeAll
  static void rbac(KubeControlPlane cp) throws Exception {
    ApiClient admin = cp.adminClient();
    CoreV1Api core = new CoreV1Api(admin);
    for (String ns : List.of("payments", "other")) {
      ignoreConflict(
          () ->
              core.createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name(ns)))
                  .execute());
    }
    RbacAuthorizationV1Api rbac = new RbacAuthorizationV1Api(admin);
    ignoreConflict(
        () ->
            rbac.createNamespacedRole(
                    "payments",
                    new V1Role()
                        .metadata(new V1ObjectMeta().name("pod-reader"))
                        .addRulesItem(
                            new V1PolicyRule()
                                .apiGroups(List.of(""))
                                .resources(List.of("pods"))
                                .verbs(List.of("get", "list", "watch"))))
                .execute());
    ignoreConflict(
        () ->
            rbac.createNamespacedRoleBinding(
                    "payments",
                    new V1RoleBinding()
                        .metadata(new V1ObjectMeta().name("oncall-pod-reader"))
                        .roleRef(
                            new V1RoleRef()
                                .apiGroup("rbac.authorization.k8s.io")
                                .kind("Role")
                                .name("pod-reader"))
                        .addSubjectsItem(
                            new RbacV1Subject()
                                .apiGroup("rbac.authorization.k8s.io")
                                .kind("Group")
                                .name(ONCALL)))
                .execute());
    // The RBAC authorizer reads through informers; wait until the binding is visible.
    CoreV1Api probe = new CoreV1Api(cp.clientFor("rbac-probe", ONCALL));
    eventually(() -> probe.listNamespacedPod("payments").execute());
  }

  @Test
  void groupRoleBindingGrantsExactlyWhatItSays(KubeControlPlane cp) throws Exception {
    CoreV1Api alice = new CoreV1Api(cp.clientFor("alice", ONCALL));

    assertNotNull(alice.listNamespacedPod("payments").execute().getItems());
    assertEquals(
        403,
        assertThrows(ApiException.class, () -> alice.listNamespacedSecret("payments").execute())
            .getCode());
    assertEquals(
        403,
        assertThrows(ApiException.class, () -> alice.listNamespacedPod("other").execute())
            .getCode());

    List<JsonNode> allowed =
        cp.awaitAuditEvents(
            KubeControlPlaneTest::json,
            e ->
                "alice".equals(e.at("/user/username").asText())
                    && "list".equals(e.path("verb").asText())
                    && "pods".equals(e.at("/objectRef/resource").asText())
                    && "payments".equals(e.at("/objectRef/namespace").asText())
                    && e.at("/responseStatus/code").asInt() == 200,
            WAIT);
    assertTrue(allowed.get(0).at("/user/groups").toString().contains(ONCALL), allowed.get(0).toString());
    assertEquals("allow", allowed.get(0).at("/annotations/authorization.k8s.io~1decision").asText());
    JsonNode denied =
        cp.awaitAuditEvents(
                KubeControlPlaneTest::json,
                e ->
                    "alice".equals(e.at("/user/username").asText())
                        && "secrets".equals(e.at("/objectRef/resource").asText())
                        && e.at("/responseStatus/code").asInt() == 403,
                WAIT)
            .get(0);
    assertTrue(denied.at("/user/groups").toString().contains(ONCALL), denied.toString());
    assertEquals("/api/v1/namespaces/payments/secrets", denied.path("requestURI").asText().split("\\?")[0]);
    cp.awaitAuditEvents(
        KubeControlPlaneTest::json,
        e -> "alice".equals(e.at("/user/username").asText()) && "other".equals(e.at("/objectRef/namespace").asText())
            && e.at("/responseStatus/code").asInt() == 403,
        WAIT);
  }

  /** The raw JSON of one audit line (the typed parser, jit-audit's KubeAuditEvent, cannot be used here: jit-audit's tests use this module). */
  static JsonNode json(String line) {
    try {
      return new ObjectMapper().readTree(line);
    } catch (java.io.IOException e) {
      throw new AssertionError("audit line is not JSON: " + line, e);
    }
  }

  @Test
  void secretsAreOwnerOnlyAndNeverPrinted(KubeControlPlane cp) throws Exception {
    Path workDir = cp.adminKubeconfig().getParent();
    assertEquals(
        "rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(workDir)));
    try (var files = Files.list(workDir.resolve("pki"))) {
      for (Path f : files.toList()) {
        assertEquals(
            "rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)), f.toString());
      }
    }
    assertEquals(
        "rw-------",
        PosixFilePermissions.toString(Files.getPosixFilePermissions(cp.adminKubeconfig())));
    assertFalse(cp.toString().contains("PRIVATE"), cp.toString());
    assertFalse(cp.caCertificatePem().contains("PRIVATE"));
  }

  @Test
  void certificateFromAnotherCaIsUnauthorized(KubeControlPlane cp) throws Exception {
    TestPki.Issued stranger =
        TestPki.create("untrusted-ca").issueClient("mallory", List.of("system:masters"));
    CoreV1Api mallory = new CoreV1Api(clientWith(cp, stranger));
    assertEquals(
        401, assertThrows(ApiException.class, () -> mallory.listNamespace().execute()).getCode());

    // Without any certificate the request is anonymous: authenticated as system:anonymous, then
    // denied.
    ApiClient anonymous =
        new ClientBuilder().setBasePath(cp.serverUrl()).setVerifyingSsl(true).build();
    anonymous.setSslCaCert(new ByteArrayInputStream(cp.apiServerCaBundlePem().getBytes(UTF_8)));
    assertEquals(
        403,
        assertThrows(ApiException.class, () -> new CoreV1Api(anonymous).listNamespace().execute())
            .getCode());
  }

  @Test
  void kubectlWorksWithGeneratedKubeconfig(KubeControlPlane cp, @TempDir Path tmp)
      throws Exception {
    Path kubeconfig = cp.kubeconfigFor("bob", ONCALL);
    assertEquals(
        "rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(kubeconfig)));

    Result pods = kubectl(tmp, kubeconfig, "get", "pods", "-n", "payments");
    assertEquals(0, pods.code, pods.output);
    assertTrue(pods.output.contains("No resources found"), pods.output);

    Result secrets = kubectl(tmp, kubeconfig, "get", "secrets", "-n", "payments");
    assertFalse(secrets.code == 0, secrets.output);
    assertTrue(secrets.output.contains("forbidden"), secrets.output);
  }

  @Test
  void approvedCsrIsSignedByControllerManagerAndAuthenticates(KubeControlPlane cp)
      throws Exception {
    KeyPair keys = TestPki.newKeyPair();
    PKCS10CertificationRequest csr =
        new JcaPKCS10CertificationRequestBuilder(
                new X500Principal("O=" + ONCALL + ",CN=carol"), keys.getPublic())
            .build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate()));
    StringWriter pem = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(pem)) {
      w.writeObject(csr);
    }
    String name = "carol-" + System.nanoTime();
    CertificatesV1Api certs = new CertificatesV1Api(cp.adminClient());
    certs
        .createCertificateSigningRequest(
            new V1CertificateSigningRequest()
                .metadata(new V1ObjectMeta().name(name))
                .spec(
                    new V1CertificateSigningRequestSpec()
                        .request(pem.toString().getBytes(UTF_8))
                        .signerName("kubernetes.io/kube-apiserver-client")
                        .usages(List.of("digital signature", "client auth"))))
        .execute();
    V1CertificateSigningRequest current = certs.readCertificateSigningRequest(name).execute();
    current.status(
        new V1CertificateSigningRequestStatus()
            .addConditionsItem(
                new V1CertificateSigningRequestCondition()
                    .type("Approved")
                    .status("True")
                    .reason("KubeJITTest")
                    .message("approved by test")));
    certs.replaceCertificateSigningRequestApproval(name, current).execute();

    byte[] issued =
        eventually(
            () -> {
              byte[] c =
                  certs.readCertificateSigningRequest(name).execute().getStatus().getCertificate();
              if (c == null || c.length == 0) {
                throw new AssertionError("CSR " + name + " not signed yet");
              }
              return c;
            });
    X509Certificate cert =
        (X509Certificate)
            CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(issued));
    assertEquals(cp.caCertificate().getSubjectX500Principal(), cert.getIssuerX500Principal());
    cert.verify(cp.caCertificate().getPublicKey());
    Duration remaining = Duration.between(Instant.now(), cert.getNotAfter().toInstant());
    // 1.20's signer backdates notBefore by 5 minutes and sets notAfter = notBefore + duration.
    assertTrue(
        remaining.compareTo(cp.clusterSigningDuration()) <= 0, "notAfter " + cert.getNotAfter());
    assertTrue(
        remaining.compareTo(cp.clusterSigningDuration().minusMinutes(10)) > 0,
        "notAfter " + cert.getNotAfter());

    ApiClient carol =
        clientWith(cp, new TestPki.Issued(cert, keys.getPrivate(), cp.caCertificate()));
    assertNotNull(new CoreV1Api(carol).listNamespacedPod("payments").execute());
  }

  private static ApiClient clientWith(KubeControlPlane cp, TestPki.Issued identity) {
    ApiClient c = new ClientBuilder().setBasePath(cp.serverUrl()).setVerifyingSsl(true).build();
    // Key managers first: ApiClient re-reads the CA stream on every SSL change, and a stream
    // can be read only once.
    c.setKeyManagers(TestPki.keyManagers(identity));
    c.setSslCaCert(new ByteArrayInputStream(cp.apiServerCaBundlePem().getBytes(UTF_8)));
    return c;
  }

  private record Result(int code, String output) {}

  private static Result kubectl(Path tmp, Path kubeconfig, String... args) throws Exception {
    Path out = Files.createTempFile(tmp, "kubectl", ".out");
    List<String> cmd =
        new java.util.ArrayList<>(
            List.of(
                "/usr/bin/kubectl",
                "--kubeconfig",
                kubeconfig.toString(),
                "--cache-dir",
                tmp.resolve("cache").toString(),
                "--request-timeout=20s"));
    cmd.addAll(List.of(args));
    ProcessBuilder pb =
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile());
    pb.environment().remove("KUBECONFIG");
    Process p = pb.start();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("kubectl timed out: " + Files.readString(out));
    }
    return new Result(p.exitValue(), Files.readString(out));
  }

  @FunctionalInterface
  private interface Call<T> {
    T call() throws Exception;
  }

  private static void ignoreConflict(Call<?> call) throws Exception {
    try {
      call.call();
    } catch (ApiException e) {
      if (e.getCode() != 409) {
        throw e;
      }
    }
  }

  private static <T> T eventually(Call<T> call) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (true) {
      try {
        return call.call();
      } catch (Exception | AssertionError e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(200);
      }
    }
  }
}
