package dev.kubejit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import dev.kubejit.testing.Kubectl;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdmissionCommandTest {
  @TempDir Path dir;

  private Path caFile() {
    CertificateAuthority.builder().commonName("webhook-ca").validity(Duration.ofDays(1)).generate().writeTo(dir);
    return dir.resolve("ca.crt");
  }

  @Test
  void rendersTheWebhookConfigurationForAService() throws Exception {
    Path ca = caFile();
    RbacCommandTest.Run r = RbacCommandTest.run("admission", "manifest", "--ca-file", ca.toString(),
        "--service", "kubejit/kubejit-webhook:8443", "--namespace-selector", "kubejit.dev/exec-admission=enforced",
        "--timeout-seconds", "3");
    assertEquals(0, r.exit, r.err);
    JsonNode y = new ObjectMapper(new YAMLFactory()).readTree(r.out);
    assertEquals("ValidatingWebhookConfiguration", y.get("kind").asText());
    JsonNode w = y.get("webhooks").get(0);
    assertEquals("exec.kubejit.dev", w.get("name").asText());
    assertEquals("Fail", w.get("failurePolicy").asText());
    assertEquals("None", w.get("sideEffects").asText());
    assertEquals(3, w.get("timeoutSeconds").asInt());
    assertEquals("[\"CONNECT\"]", w.get("rules").get(0).get("operations").toString());
    assertEquals("[\"pods/exec\",\"pods/attach\",\"pods/portforward\"]", w.get("rules").get(0).get("resources").toString());
    assertEquals("kubejit-webhook", w.get("clientConfig").get("service").get("name").asText());
    assertEquals(8443, w.get("clientConfig").get("service").get("port").asInt());
    assertEquals("/admission/exec", w.get("clientConfig").get("service").get("path").asText());
    assertEquals(Files.readString(ca, StandardCharsets.US_ASCII).strip(),
        new String(Base64.getDecoder().decode(w.get("clientConfig").get("caBundle").asText()), StandardCharsets.US_ASCII).strip());
    assertEquals("enforced", w.get("namespaceSelector").get("matchLabels").get("kubejit.dev/exec-admission").asText());
  }

  @Test
  void rendersTheRbacGuardrailsConfiguration() throws Exception {
    RbacCommandTest.Run r = RbacCommandTest.run("admission", "manifest", "--webhook", "rbac", "--ca-file",
        caFile().toString(), "--service", "kubejit/kubejit-webhook");
    assertEquals(0, r.exit, r.err);
    JsonNode y = new ObjectMapper(new YAMLFactory()).readTree(r.out);
    assertEquals("kubejit-rbac-guardrails", y.get("metadata").get("name").asText());
    JsonNode w = y.get("webhooks").get(0);
    assertEquals("rbac.kubejit.dev", w.get("name").asText());
    assertEquals("[\"CREATE\",\"UPDATE\"]", w.get("rules").get(0).get("operations").toString());
    assertEquals("[\"roles\",\"clusterroles\",\"rolebindings\",\"clusterrolebindings\"]",
        w.get("rules").get(0).get("resources").toString());
    assertEquals("/admission/rbac", w.get("clientConfig").get("service").get("path").asText());
    assertEquals(443, w.get("clientConfig").get("service").get("port").asInt());
  }

  @Test
  void refusesBadInputWithAClearMessage() throws Exception {
    Path ca = caFile();
    Path key = dir.resolve("ca.key");
    assertBad("give exactly one of --url and --service", "--ca-file", ca.toString());
    assertBad("webhook URL must be https", "--ca-file", ca.toString(), "--url", "http://127.0.0.1:8443/x");
    assertBad("private key", "--ca-file", key.toString(), "--url", "https://127.0.0.1:8443/admission/exec");
    assertBad("timeoutSeconds must be 1 to 30", "--ca-file", ca.toString(), "--url", "https://h/a", "--timeout-seconds", "60");
    assertBad("--service must be NAMESPACE/NAME", "--ca-file", ca.toString(), "--service", "kubejit");
    assertBad("--webhook must be exec or rbac", "--ca-file", ca.toString(), "--url", "https://h/a", "--webhook", "authz");
    assertBad("namespace label value is not valid", "--ca-file", ca.toString(), "--url", "https://h/a",
        "--namespace-selector", "a=b c");
  }

  private static void assertBad(String fragment, String... args) {
    String[] all = new String[args.length + 2];
    all[0] = "admission";
    all[1] = "manifest";
    System.arraycopy(args, 0, all, 2, args.length);
    RbacCommandTest.Run r = RbacCommandTest.run(all);
    assertEquals(1, r.exit, r.out + r.err);
    assertTrue(r.err.contains(fragment), r.err);
    assertEquals("", r.out);
  }

  /** The real API server accepts the rendered configuration (server-side dry run validates every field). */
  @KubeTest
  @Test
  void theApiServerAcceptsIt(KubeControlPlane cp) throws Exception {
    Path ca = caFile();
    for (String webhook : new String[] {"exec", "rbac"}) {
      for (String[] target : new String[][] {{"--service", "kubejit/kubejit-webhook"},
          {"--url", "https://broker.example.com:8443/admission/" + webhook}}) {
        RbacCommandTest.Run r = RbacCommandTest.run("admission", "manifest", "--webhook", webhook, "--ca-file",
            ca.toString(), target[0], target[1], "--namespace-selector", "team=payments");
        assertEquals(0, r.exit, r.err);
        Kubectl.Result applied = Kubectl.run(cp.adminKubeconfig(), r.out, "apply", "--dry-run=server", "-f", "-");
        assertEquals(0, applied.exit(), applied::toString);
        assertTrue(applied.out().contains("validatingwebhookconfiguration.admissionregistration.k8s.io/kubejit-"
            + ("exec".equals(webhook) ? "exec" : "rbac-guardrails")), applied::toString);
      }
    }
  }

  @Test
  void rendersTheAuthorizationWebhookKubeconfig() throws Exception {
    Path ca = caFile();
    RbacCommandTest.Run r = RbacCommandTest.run("admission", "authz-kubeconfig", "--ca-file", ca.toString(),
        "--url", "https://kubejit.kubejit.svc:8443/authorize");
    assertEquals(0, r.exit, r.err);
    JsonNode y = new ObjectMapper(new YAMLFactory()).readTree(r.out);
    assertEquals("Config", y.get("kind").asText());
    JsonNode cluster = y.get("clusters").get(0).get("cluster");
    assertEquals("https://kubejit.kubejit.svc:8443/authorize", cluster.get("server").asText());
    assertEquals(Files.readString(ca, StandardCharsets.US_ASCII).strip(), new String(Base64.getDecoder().decode(
        cluster.get("certificate-authority-data").asText()), StandardCharsets.US_ASCII).strip());
    RbacCommandTest.Run http = RbacCommandTest.run("admission", "authz-kubeconfig", "--ca-file", ca.toString(),
        "--url", "http://kubejit:8080/authorize");
    assertTrue(http.exit != 0, http.out);
    assertTrue(http.err.contains("https"), http.err);
  }
}
