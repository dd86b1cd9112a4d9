package dev.kubejit.credentials.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.credentials.TestKeys;
import dev.kubejit.credentials.Exec;
import dev.kubejit.credentials.KeyType;
import dev.kubejit.credentials.CredentialException;
import dev.kubejit.credentials.X509Issuer;
import dev.kubejit.credentials.IssuedCertificate;
import dev.kubejit.credentials.ReservedNames;
import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.credentials.Kubeconfig;
import dev.kubejit.credentials.GrantCredentialIssuer;
import dev.kubejit.credentials.ExecCredential;
import dev.kubejit.credentials.internal.Crypto;
import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.Activation;
import dev.kubejit.api.CredentialSpec;
import dev.kubejit.api.Grant;
import dev.kubejit.api.Identity;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.Scope;
import dev.kubejit.api.spi.AccessPolicy;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.audit.KubeAuditEvent;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.AuthorizationV1Api;
import io.kubernetes.client.openapi.apis.CertificatesV1Api;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.apis.RbacAuthorizationV1Api;
import io.kubernetes.client.openapi.models.RbacV1Subject;
import io.kubernetes.client.openapi.models.V1ClusterRoleBinding;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1ResourceAttributes;
import io.kubernetes.client.openapi.models.V1RoleRef;
import io.kubernetes.client.openapi.models.V1SelfSubjectAccessReview;
import io.kubernetes.client.openapi.models.V1SelfSubjectAccessReviewSpec;
import io.kubernetes.client.util.ClientBuilder;
import io.kubernetes.client.util.KubeConfig;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real peers: the test kube-apiserver (+ controller-manager signing CSRs) and kubectl v1.32. */
@KubeTest
class KubernetesCredentialTest {
  @TempDir Path dir;

  static String unique(String prefix) {
    byte[] b = new byte[4];
    Crypto.RANDOM.nextBytes(b);
    return prefix + "-" + HexFormat.of().formatHex(b);
  }

  static ApiClient client(String kubeconfigYaml) throws Exception {
    return ClientBuilder.kubeconfig(KubeConfig.loadKubeConfig(new StringReader(kubeconfigYaml))).build();
  }

  /**
   * Makes a request no one else makes (GET of a namespace with a random name) and waits until its
   * event is in the audit log. The apiserver writes events in order, so every request completed
   * before this call is then in the log too, and an assertion that an event is absent means it.
   */
  static void awaitAuditLogCaughtUp(KubeControlPlane cp) throws Exception {
    String marker = unique("kubejit-audit-marker");
    ApiException notFound = assertThrows(ApiException.class, () -> new CoreV1Api(cp.adminClient()).readNamespace(marker).execute());
    assertEquals(404, notFound.getCode());
    cp.awaitAuditEvents(KubeAuditEvent::parse, (KubeAuditEvent e) -> "get".equals(e.verb()) && "namespaces".equals(e.resource()) && marker.equals(e.name()),
        Duration.ofSeconds(10));
  }

  /** How many CertificateSigningRequests anyone has asked the apiserver to create so far (per its audit log). */
  static long csrCreations(KubeControlPlane cp) {
    return cp.auditEvents(KubeAuditEvent::parse).stream().filter(e -> "create".equals(e.verb()) && "certificatesigningrequests".equals(e.resource())
        && e.subresource() == null).count();
  }

  /** Binds a pods get/list ClusterRole to {@code group} (the built-in "view" is aggregated, and no aggregation controller runs here). */
  static void bindViewToGroup(KubeControlPlane cp, String group) throws Exception {
    RbacAuthorizationV1Api rbac = new RbacAuthorizationV1Api(cp.adminClient());
    String role = unique("kubejit-test-pod-reader");
    rbac.createClusterRole(new io.kubernetes.client.openapi.models.V1ClusterRole().metadata(new V1ObjectMeta().name(role))
        .rules(List.of(new io.kubernetes.client.openapi.models.V1PolicyRule().apiGroups(List.of("")).resources(List.of("pods"))
            .verbs(List.of("get", "list", "watch"))))).execute();
    rbac.createClusterRoleBinding(new V1ClusterRoleBinding()
        .metadata(new V1ObjectMeta().name(role))
        .roleRef(new V1RoleRef().apiGroup("rbac.authorization.k8s.io").kind("ClusterRole").name(role))
        .subjects(List.of(new RbacV1Subject().kind("Group").apiGroup("rbac.authorization.k8s.io").name(group)))).execute();
  }

  @Test
  void csrApiCertificateAuthenticatesAsTheUserAndGroupWithClientJavaKubectlAndExecPlugin(KubeControlPlane cp) throws Exception {
    String user = unique("alice");
    String group = "jit:grant:" + unique("g");
    KeyPair kp = TestKeys.ec("secp256r1");
    String csr = TestKeys.csrPem(kp, "CN=" + user + ",O=" + group);
    String keyPem = Crypto.pkcs8Pem(kp.getPrivate());
    KubernetesCsrIssuer issuer = KubernetesCsrIssuer.builder().apiClient(cp.adminClient()).timeout(Duration.ofSeconds(60)).build();

    Instant before = Instant.now();
    IssuedCertificate cert = issuer.issue(csr, user, List.of(group), Duration.ofMinutes(30), "req-4711");
    // signed by the cluster CA, with the real notAfter (1.20 ignores expirationSeconds: the signing duration applies)
    cert.certificate().verify(cp.caCertificate().getPublicKey());
    assertEquals(cert.certificate().getNotAfter().toInstant(), cert.notAfter());
    Duration life = Duration.between(before, cert.notAfter());
    assertTrue(life.compareTo(cp.clusterSigningDuration().plusMinutes(1)) <= 0 && life.compareTo(cp.clusterSigningDuration().minusMinutes(6)) >= 0,
        "notAfter " + cert.notAfter() + " vs signing duration " + cp.clusterSigningDuration());
    assertTrue(cert.clamped(), "the server ignored the requested 30 min and that must be reported");
    assertTrue(cert.clampReason().orElseThrow().contains("the cluster issued"), cert.clampReason().get());
    // the CSR object was deleted afterwards
    boolean left = new CertificatesV1Api(cp.adminClient()).listCertificateSigningRequest().execute().getItems().stream()
        .anyMatch(o -> "req-4711".equals(o.getMetadata().getAnnotations() == null ? null : o.getMetadata().getAnnotations().get("kubejit.dev/request")));
    assertFalse(left, "CSR object must be deleted");

    bindViewToGroup(cp, group);
    Kubeconfig kc = Kubeconfig.builder().server(cp.serverUrl()).certificateAuthorityPem(cp.caCertificatePem())
        .clientCertificate(cert.certificatePem(), keyPem).build();
    assertFalse(kc.toString().contains(keyPem.split("\n")[1]));
    Path kcFile = dir.resolve("user.kubeconfig");
    kc.writeTo(kcFile);
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(kcFile)));

    // client-java with our kubeconfig: SelfSubjectAccessReview says the group's binding applies
    ApiClient api = client(kc.yaml());
    V1SelfSubjectAccessReview review = new AuthorizationV1Api(api).createSelfSubjectAccessReview(new V1SelfSubjectAccessReview()
        .spec(new V1SelfSubjectAccessReviewSpec().resourceAttributes(new V1ResourceAttributes().verb("list").resource("pods")
            .namespace("default")))).execute();
    assertTrue(review.getStatus().getAllowed(), String.valueOf(review.getStatus()));
    V1SelfSubjectAccessReview denied = new AuthorizationV1Api(api).createSelfSubjectAccessReview(new V1SelfSubjectAccessReview()
        .spec(new V1SelfSubjectAccessReviewSpec().resourceAttributes(new V1ResourceAttributes().verb("delete").resource("pods")
            .namespace("default")))).execute();
    assertFalse(denied.getStatus().getAllowed());
    new CoreV1Api(api).listNamespacedPod("default").execute();
    // the audit log records the user and its groups
    var events = cp.awaitAuditEvents(KubeAuditEvent::parse, (KubeAuditEvent e) -> user.equals(e.username()) && "list".equals(e.verb()) && "pods".equals(e.resource()),
        Duration.ofSeconds(10));
    assertTrue(events.get(0).groups().contains(group), events.get(0).toString());
    assertTrue(events.get(0).groups().contains("system:authenticated"), events.get(0).toString());
    assertFalse(events.get(0).groups().contains("system:masters"));

    // kubectl with the same kubeconfig
    Exec k = Exec.run(dir, "kubectl", "--cache-dir", dir.resolve("kube-cache").toString(), "--kubeconfig", kcFile.toString(), "get", "pods", "-n", "default");
    assertEquals(0, k.exit, k.toString());

    // kubectl with an exec plugin that prints our ExecCredential JSON, in both API versions
    for (String version : List.of(ExecCredential.V1, ExecCredential.V1BETA1)) {
      Path json = dir.resolve("cred-" + version.replace('/', '_') + ".json");
      Files.writeString(json, ExecCredential.json(version, cert.certificatePem(), keyPem, cert.issuedAt(), cert.notAfter()));
      Path script = dir.resolve("plugin-" + version.replace('/', '_') + ".sh");
      Files.writeString(script, "#!/bin/sh\nprintf '%s\\n' \"$KUBERNETES_EXEC_INFO\" > " + json + ".info\nexec cat " + json + "\n");
      Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
      String yaml = Kubeconfig.builder().server(cp.serverUrl()).certificateAuthorityPem(cp.caCertificatePem())
          .exec(script.toString(), List.of(), Map.of("KUBEJIT_TEST", "1")).build().yaml();
      if (version.equals(ExecCredential.V1BETA1)) {
        yaml = yaml.replace("apiVersion: " + ExecCredential.V1, "apiVersion: " + ExecCredential.V1BETA1);
      }
      Path execKc = dir.resolve("exec-" + version.replace('/', '_') + ".kubeconfig");
      Files.writeString(execKc, yaml);
      Exec e = Exec.run(dir, "kubectl", "--cache-dir", dir.resolve("kube-cache").toString(), "--kubeconfig", execKc.toString(), "get", "pods", "-n", "default");
      assertEquals(0, e.exit, version + ": " + e);
      String info = Files.readString(Path.of(json + ".info"));
      assertEquals(version, ExecCredential.apiVersionFor(info), info);
    }
  }

  /**
   * The broker path end to end with our own issuer: a CA holding the test cluster's CA key signs
   * the grant holder's Ed25519 CSR; the API server authenticates CN as the user and the per-grant
   * group as the only group besides system:authenticated (the holder's IdP groups are not added).
   */
  @Test
  void ourIssuerAuthenticatesTheGrantHolderWithOnlyThePerGrantGroup(KubeControlPlane cp) throws Exception {
    CertificateAuthority clusterCa = CertificateAuthority.fromPem(cp.caCertificatePem(), cp.caPrivateKeyPem());
    JitBroker broker = JitBroker.builder()
        .policy(AccessPolicy.staticRules().role("oncall-debug", r -> r.requesters("oncall-payments")
            .namespaces("default").durations(Duration.ofMinutes(30), Duration.ofHours(1)).auto(Action.LOGS)).build())
        .store(dev.kubejit.api.spi.RequestStore.inMemory())
        .auditSink(AuditSink.inMemory())
        .rbacProvisioner(RbacProvisioner.inMemory())
        .credentialIssuer(GrantCredentialIssuer.builder().x509(X509Issuer.builder().authority(clusterCa).build()).build())
        .build();
    String user = unique("alice");
    Identity alice = Identity.of(user, List.of("oncall-payments")).assertedBy("test-idp");
    RequestRecord r = broker.submit(AccessRequest.builder().requester(alice).role("oncall-debug").action(Action.LOGS)
        .scope(Scope.namespace("test", "default")).ticket("INC-1").build());
    KeyPair kp = TestKeys.ed25519();
    Activation a = broker.activate(r.id(), alice, CredentialSpec.x509FromCsr(TestKeys.csrPem(kp, "CN=" + user)));
    Grant grant = a.grant();
    String certPem = a.credentials().get(0).material();
    assertTrue(a.credentials().get(0).ref().notAfter().compareTo(grant.expiresAt()) <= 0);

    bindViewToGroup(cp, grant.subjectGroup());
    ApiClient api = client(Kubeconfig.builder().server(cp.serverUrl()).certificateAuthorityPem(cp.caCertificatePem())
        .clientCertificate(certPem, Crypto.pkcs8Pem(kp.getPrivate())).build().yaml());
    V1SelfSubjectAccessReview review = new AuthorizationV1Api(api).createSelfSubjectAccessReview(new V1SelfSubjectAccessReview()
        .spec(new V1SelfSubjectAccessReviewSpec().resourceAttributes(new V1ResourceAttributes().verb("list").resource("pods")
            .namespace("default")))).execute();
    assertTrue(review.getStatus().getAllowed(), String.valueOf(review.getStatus()));
    new CoreV1Api(api).listNamespacedPod("default").execute();
    var events = cp.awaitAuditEvents(KubeAuditEvent::parse, (KubeAuditEvent e) -> user.equals(e.username()) && "list".equals(e.verb()) && "pods".equals(e.resource()),
        Duration.ofSeconds(10));
    assertEquals(List.of(grant.subjectGroup(), "system:authenticated"), events.get(0).groups());
    assertEquals(200, events.get(0).code());
  }

  @Test
  void certificateFromOurOwnCaIsRefusedByTheApiServer(KubeControlPlane cp) throws Exception {
    CertificateAuthority ours = CertificateAuthority.builder().keyType(KeyType.ECDSA_P256).commonName("kubejit-not-trusted-by-cluster").validity(Duration.ofDays(1)).clock(Clock.systemUTC()).generate();
    IssuedCertificate c = X509Issuer.builder().authority(ours).build()
        .issueWithGeneratedKey(unique("mallory"), List.of("oncall"), Duration.ofMinutes(10), KeyType.ECDSA_P256);
    Kubeconfig kc = Kubeconfig.builder().server(cp.serverUrl()).certificateAuthorityPem(cp.caCertificatePem())
        .clientCertificate(c.certificatePem(), c.privateKeyPem()).build();
    // The apiserver runs with --anonymous-auth=true: a certificate it cannot verify does not authenticate,
    // so the request proceeds as system:anonymous and is forbidden; it is never attributed to the CN.
    ApiException e = assertThrows(ApiException.class, () -> new CoreV1Api(client(kc.yaml())).listNamespacedPod("default").execute());
    assertEquals(403, e.getCode());
    assertTrue(e.getResponseBody().contains("system:anonymous"), e.getResponseBody());
    assertFalse(e.getResponseBody().contains(c.user()), e.getResponseBody());
    Path f = dir.resolve("untrusted.kubeconfig");
    kc.writeTo(f);
    Exec k = Exec.run(dir, "kubectl", "--cache-dir", dir.resolve("kube-cache").toString(), "--kubeconfig", f.toString(), "get", "pods", "-n", "default");
    assertNotEquals(0, k.exit);
    // kubectl (Go) presents the certificate and is refused with 401; kubectl 1.32 words that
    // "the server has asked for the client to provide credentials", older versions "Unauthorized"
    assertTrue(k.err.contains("the server has asked for the client to provide credentials") || k.err.contains("Unauthorized")
        || k.err.contains("system:anonymous"), k.err);
    // the log has caught up with both attempts before the absence of the CN is asserted
    awaitAuditLogCaughtUp(cp);
    List<KubeAuditEvent> all = cp.auditEvents(KubeAuditEvent::parse);
    assertTrue(all.stream().anyMatch(ev -> "system:anonymous".equals(ev.username()) && "pods".equals(ev.resource())
        && "default".equals(ev.namespace()) && ev.code() == 403), "client-java's refused request is audited as system:anonymous");
    assertTrue(all.stream().noneMatch(ev -> c.user().equals(ev.username())), "the untrusted CN must never be authenticated");
  }

  @Test
  void csrWhoseSubjectDoesNotMatchIsRefusedBeforeTheApiIsCalled(KubeControlPlane cp) throws Exception {
    KubernetesCsrIssuer issuer = KubernetesCsrIssuer.builder().apiClient(cp.adminClient()).build();
    KeyPair kp = TestKeys.ed25519();
    String user = unique("bob");
    awaitAuditLogCaughtUp(cp);
    long before = csrCreations(cp);
    for (String subject : List.of("CN=" + user, "CN=" + user + ",O=g,O=system:masters", "CN=other,O=g", "CN=" + user + ",O=g,O=h")) {
      String csr = TestKeys.csrPem(kp, subject);
      CredentialException e = assertThrows(CredentialException.class, () -> issuer.issue(csr, user, List.of("g"), Duration.ofMinutes(10), "r1"));
      assertTrue(e.getMessage().contains("disagrees"), e.getMessage());
    }
    assertThrows(CredentialException.class, () -> issuer.issue(TestKeys.csrPem(kp, "CN=" + user + ",O=system:masters"), user,
        List.of("system:masters"), Duration.ofMinutes(10), "r1"));
    // the issuer deletes every CSR it creates, so only the audit log can show that none was created
    awaitAuditLogCaughtUp(cp);
    assertEquals(before, csrCreations(cp), "no CertificateSigningRequest may have been created");
  }

  /**
   * Issue #9 §5 on the cluster CA path: the cluster would sign {@code O=system:masters} (or a
   * look-alike) as readily as any group, so the issuer refuses reserved names and their
   * look-alikes before calling the API, even when the CSR itself asks for exactly that subject.
   */
  @Test
  void reservedAndLookAlikeNamesAreRefusedBeforeTheClusterIsAsked(KubeControlPlane cp) throws Exception {
    KubernetesCsrIssuer issuer = KubernetesCsrIssuer.builder().apiClient(cp.adminClient()).build();
    KeyPair kp = TestKeys.ed25519();
    awaitAuditLogCaughtUp(cp);
    long before = csrCreations(cp);
    String[][] cases = {
        {"mallory", "system:masters"},
        {"mallory", "SYSTEM:MASTERS"},
        {"mallory", "kubeadm:cluster-admins"},
        {"mallory", "\u200bsystem:masters"},
        {"mallory", "system\ua789masters"},
        {"system:kube-controller-manager", "oncall"},
        {"system:node:worker-1", "system:nodes"},
        {"system\u00a0:anonymous", "oncall"},
        {"system:serviceaccount:kube-system:default", "oncall"},
    };
    for (String[] c : cases) {
      String csr = TestKeys.csrPem(kp, new org.bouncycastle.asn1.x500.X500NameBuilder()
          .addRDN(org.bouncycastle.asn1.x500.style.BCStyle.CN, c[0]).addRDN(org.bouncycastle.asn1.x500.style.BCStyle.O, c[1])
          .build().toString());
      CredentialException e = assertThrows(CredentialException.class,
          () -> issuer.issue(csr, c[0], List.of(c[1]), Duration.ofMinutes(10), "r-reserved"), c[0] + " " + c[1]);
      assertTrue(e.getMessage().contains("reserved") || e.getMessage().contains("contains"), e.getMessage());
      assertTrue(e.getMessage().chars().allMatch(ch -> ch >= 0x20 && ch < 0x7f), e.getMessage());
    }
    awaitAuditLogCaughtUp(cp);
    assertEquals(before, csrCreations(cp), "no CertificateSigningRequest may have been created");
    // the same issuer with an extended list refuses the embedder's own privileged group too
    KubernetesCsrIssuer stricter = KubernetesCsrIssuer.builder().apiClient(cp.adminClient())
        .reservedNames(ReservedNames.defaults().plus("corp:breakglass")).build();
    String group = "corp:breakglass";
    assertThrows(CredentialException.class, () -> stricter.issue(TestKeys.csrPem(kp, "CN=alice,O=" + group), "alice",
        List.of(group), Duration.ofMinutes(10), "r-reserved"));
  }
}
