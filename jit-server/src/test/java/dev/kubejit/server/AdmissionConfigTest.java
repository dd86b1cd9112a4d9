package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The {@code admission} section: read strictly, and described the same way by docs/kubejit.schema.json. */
class AdmissionConfigTest {
  private static JsonSchema schema() throws Exception {
    Path root = Path.of(System.getProperty("kubejit.projectRoot", "..")).toAbsolutePath().normalize();
    try (InputStream in = Files.newInputStream(root.resolve("docs/kubejit.schema.json"))) {
      return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(in);
    }
  }

  @Test
  void theSampleIsReadWithItsDefaultsAndAcceptedByTheSchema() throws Exception {
    String text = Samples.text("admission.yaml");
    assertTrue(schema().validate(new YAMLMapper().readTree(text)).isEmpty());
    ServerConfig.Admission a = Samples.parse(text).admission().orElseThrow();
    assertEquals("prod", a.cluster());
    assertEquals(Duration.ofSeconds(2), a.grantRefresh());
    assertTrue(a.exec() && a.authorize());
    ServerConfig.Admission.Rbac r = a.rbac().orElseThrow();
    assertTrue(r.escalationChecks());
    assertEquals(Duration.ofHours(8), r.maxBindingDuration());
    assertEquals(List.of("system:serviceaccount:kubejit:broker"), r.allowUsers());
    assertEquals(List.of("gitops-controllers"), r.allowGroups());
    assertTrue(Samples.parse(Samples.text("mtls-kubernetes.yaml")).admission().isEmpty());
    // without clusters to provision into, grants may name any cluster; the RBAC guardrails need one to read roles
    String noClusters = text.replace("clusters:\n  prod:\n    kubeconfig: prod.kubeconfig\n", "");
    ConfigException needsCluster = assertThrows(ConfigException.class, () -> Samples.parse(noClusters));
    assertTrue(needsCluster.getMessage().contains("admission.rbac reads the roles"), needsCluster.getMessage());
    String execOnly = noClusters.substring(0, noClusters.indexOf("  rbac:"));
    assertEquals("prod", Samples.parse(execOnly).admission().orElseThrow().cluster());
  }

  @Test
  void badSectionsAreRefusedByTheReaderAndTheSchema() throws Exception {
    JsonSchema schema = schema();
    String text = Samples.text("admission.yaml");
    String[][] edits = {
        {"  cluster: prod\n", "  cluster: staging\n", "is not one of clusters", ""},
        {"  cluster: prod\n", "", "missing required key \"cluster\"", "schema"},
        {"  grantRefresh: PT2S", "  grantRefresh: PT10M", "between PT1S and PT5M", "schema"},
        {"  grantRefresh: PT2S", "  grantRefresh: PT2S\n  timeout: PT5S", "unknown key \"timeout\"", "schema"},
        {"    maxBindingDuration: PT8H\n", "", "missing required key \"maxBindingDuration\"", "schema"},
        {"[gitops-controllers]", "[\"gitops controllers\"]", "no spaces", "schema"},
        {"  rbac:\n    maxBindingDuration: PT8H\n", "  exec: false\n  authorize: false\n  x:\n    maxBindingDuration: PT8H\n",
            "unknown key \"x\"", "schema"},
        {"  rbac:\n    maxBindingDuration: PT8H\n    allowUsers: [\"system:serviceaccount:kubejit:broker\"]\n"
            + "    allowGroups: [gitops-controllers]\n", "  exec: false\n  authorize: false\n", "serves nothing", ""},
        {"listen:\n  address: \"[::]:9443\"\n  tls:\n    certFile: server.crt\n    keyFile: server.key\n"
            + "authentication:\n  mtls:\n    clientCaFile: clients-ca.crt\n",
            "listen:\n  address: \"127.0.0.1:9443\"\nauthentication:\n  devHeader: {}\n", "needs listen.tls", ""}};
    for (String[] e : edits) {
      assertTrue(text.contains(e[0]), e[0]);
      String yaml = text.replace(e[0], e[1]);
      ConfigException x = assertThrows(ConfigException.class, () -> Samples.parse(yaml), e[2]);
      assertTrue(x.getMessage().contains(e[2]), x.getMessage());
      if (e[3].equals("schema")) {
        assertFalse(schema.validate(new YAMLMapper().readTree(yaml)).isEmpty(), "schema should refuse " + e[2]);
      }
    }
  }
}
