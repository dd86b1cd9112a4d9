package dev.kubejit.server;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class ServerConfigTest {
  @TempDir Path dir;

  @Test
  void readsEverySectionOfAProductionConfigAndResolvesRelativePaths() {
    ServerConfig c = Samples.parse(Samples.text("full-oidc.yaml"));
    assertEquals(java.util.List.of("incident-commanders", "sre-leads"), c.adminGroups());
    assertEquals(java.util.List.of(), Samples.parse(Samples.text("dev-minimal.yaml")).adminGroups());
    assertEquals(Path.of("/etc/kubejit/policy.yaml"), c.policyFile());
    assertEquals(ServerConfig.Store.Kind.POSTGRESQL, c.store().kind());
    assertEquals(Optional.of("jdbc:postgresql://db.internal:5432/kubejit?sslmode=verify-full"), c.store().postgresqlUrl());
    assertEquals(Optional.of("kubejit"), c.store().postgresqlUser());
    assertEquals(Optional.of(Path.of("/run/secrets/kubejit-db-password")), c.store().passwordFile());
    assertEquals(Optional.empty(), c.store().passwordEnv());
    assertEquals(Optional.empty(), c.store().sqliteFile());
    assertEquals(Path.of("/var/lib/kubejit/audit"), c.auditDirectory());
    assertEquals(Path.of("/etc/kubejit/keys/audit-signing.key"), c.auditSigningKeyFile());
    assertEquals(Path.of("/etc/kubejit/ca/x509"), c.x509CaDirectory());
    assertEquals(Path.of("/etc/kubejit/ca/ssh"), c.sshCaDirectory());
    assertEquals(List.of("prod-eu", "staging"), List.copyOf(c.clusters().keySet()), "file order is kept");
    assertEquals(Path.of("/etc/kubejit/prod-eu.kubeconfig"), c.clusters().get("prod-eu").kubeconfig());
    assertEquals(Optional.of("kubejit-broker"), c.clusters().get("prod-eu").context());
    assertEquals(Path.of("/etc/kubejit/staging.kubeconfig"), c.clusters().get("staging").kubeconfig());
    assertEquals(Optional.empty(), c.clusters().get("staging").context());
    assertEquals("0.0.0.0", c.listenHost());
    assertEquals(8443, c.listenPort());
    assertEquals(Optional.of(Path.of("/etc/kubejit/tls/server.crt")), c.tlsCertificateFile());
    assertEquals(Optional.of(Path.of("/etc/kubejit/tls/server.key")), c.tlsKeyFile());
    ServerConfig.Authentication a = c.authentication();
    assertEquals(ServerConfig.Authentication.Mode.OIDC, a.mode());
    assertEquals(Optional.of("https://login.example.com/realms/eng"), a.issuer());
    assertEquals(Optional.of("kubejit"), a.audience());
    assertEquals(Optional.of("https://login.example.com/realms/eng/protocol/openid-connect/certs"), a.jwksUrl());
    assertEquals(Optional.empty(), a.jwksFile());
    assertEquals(Optional.of("groups"), a.groupsClaim());
    assertEquals(Optional.of("preferred_username"), a.usernameClaim());
    assertEquals(Optional.of(Path.of("/etc/kubejit/tls/idp-ca.crt")), a.caFile());
    assertEquals(Optional.of(Duration.ofSeconds(30)), a.clockSkew());
    assertThrows(UnsupportedOperationException.class, () -> c.clusters().clear());
  }

  @Test
  void defaultsSqliteStoreHeaderNameAndOidcSettings() {
    ServerConfig dev = Samples.parse(Samples.text("dev-minimal.yaml"));
    assertEquals(ServerConfig.Store.Kind.SQLITE, dev.store().kind());
    assertEquals(Optional.of(Path.of("/etc/kubejit/kubejit.db")), dev.store().sqliteFile());
    assertEquals(Optional.empty(), dev.tlsCertificateFile());
    assertEquals(ServerConfig.Authentication.Mode.DEV_HEADER, dev.authentication().mode());
    assertEquals(Optional.of("X-KubeJIT-User"), dev.authentication().header());
    assertTrue(dev.clusters().isEmpty());

    ServerConfig env = Samples.parse(Samples.text("env-password.yaml"));
    assertEquals(Optional.of("KUBEJIT_DB_PASSWORD"), env.store().passwordEnv());
    assertEquals(Optional.of(Path.of("/etc/kubejit/jwks.json")), env.authentication().jwksFile());
    assertEquals(Optional.of("groups"), env.authentication().groupsClaim());
    assertEquals(Optional.of("sub"), env.authentication().usernameClaim());
    assertEquals(Optional.empty(), env.authentication().caFile());
    assertEquals(Optional.of(Duration.ofSeconds(60)), env.authentication().clockSkew());
    assertEquals("localhost", env.listenHost());

    ServerConfig mtls = Samples.parse(Samples.text("mtls-kubernetes.yaml"));
    assertEquals(ServerConfig.Store.Kind.KUBERNETES, mtls.store().kind());
    assertEquals(Optional.of("kubejit-system"), mtls.store().namespace());
    assertEquals(Optional.empty(), mtls.store().kubeconfig());
    assertEquals("::", mtls.listenHost());
    assertEquals(9443, mtls.listenPort());
    assertEquals(Optional.of(Path.of("/etc/kubejit/clients-ca.crt")), mtls.authentication().clientCaFile());
  }

  static Stream<String[]> invalid() {
    return Samples.INVALID.stream();
  }

  @ParameterizedTest(name = "{0}: {2}")
  @MethodSource("invalid")
  void refusesWithLineColumnAndPath(String sample, String from, String to, String fragment, String line, String schema) {
    String yaml = Samples.edit(new String[] {sample, from, to});
    ConfigException e = assertThrows(ConfigException.class, () -> Samples.parse(yaml));
    assertTrue(e.getMessage().contains(fragment), e.getMessage());
    assertEquals(Integer.parseInt(line), e.line(), e.getMessage());
    assertTrue(e.column() > 0, e.getMessage());
    assertTrue(e.getMessage().startsWith("kubejit.yaml:" + e.line() + ":" + e.column() + ": "), e.getMessage());
  }

  @Test
  void aRefusedSecretIsNeverEchoed() {
    for (String[] e : Samples.INVALID) {
      String yaml = Samples.edit(e);
      ConfigException ex = assertThrows(ConfigException.class, () -> Samples.parse(yaml));
      assertFalse(ex.getMessage().contains("hunter2") || ex.getMessage().contains("BEGIN PRIVATE") || ex.getMessage().contains(":pw@"),
          ex.getMessage());
    }
  }

  @Test
  void toStringNamesWhereSecretsLiveNotWhatTheyAre() {
    ServerConfig c = Samples.parse(Samples.text("full-oidc.yaml"));
    String s = c.toString();
    assertTrue(s.contains("password from file /run/secrets/kubejit-db-password"), s);
    assertTrue(s.contains("0.0.0.0:8443"), s);
    String env = Samples.parse(Samples.text("env-password.yaml")).toString();
    assertTrue(env.contains("password from $KUBEJIT_DB_PASSWORD"), env);
    assertTrue(Samples.parse(Samples.text("mtls-kubernetes.yaml")).toString().contains("[::]:9443"));
  }

  @Test
  void loadResolvesAgainstTheFilesDirectoryAndReportsTheFile() throws Exception {
    Path f = dir.resolve("conf/kubejit.yaml");
    Files.createDirectories(f.getParent());
    Files.writeString(f, Samples.text("dev-minimal.yaml"));
    ServerConfig c = ServerConfig.load(f);
    assertEquals(dir.resolve("conf/policy.json").toAbsolutePath(), c.policyFile());
    assertEquals(dir.resolve("conf/kubejit.db").toAbsolutePath(), c.store().sqliteFile().orElseThrow());
    Files.writeString(f, Samples.text("dev-minimal.yaml").replace("policy:", "polcy:"));
    ConfigException e = assertThrows(ConfigException.class, () -> ServerConfig.load(f));
    assertTrue(e.getMessage().startsWith(f.toAbsolutePath() + ":3:1: at /polcy: unknown key \"polcy\""), e.getMessage());
    assertEquals(Optional.of("/polcy"), e.path());
    ConfigException none = assertThrows(ConfigException.class, () -> ServerConfig.load(dir.resolve("absent.yaml")));
    assertTrue(none.getMessage().endsWith("no such file"), none.getMessage());
  }

  @Test
  void refusesMalformedEmptyAndOversizedInput() {
    ConfigException e = assertThrows(ConfigException.class, () -> Samples.parse("apiVersion: \"unclosed\n"));
    assertTrue(e.getMessage().contains("malformed YAML"), e.getMessage());
    assertThrows(ConfigException.class, () -> Samples.parse(""));
    assertThrows(ConfigException.class, () -> Samples.parse("- a list\n"));
    assertThrows(ConfigException.class, () -> Samples.parse(Samples.text("dev-minimal.yaml") + "---\nkind: ServerConfig\n"));
    byte[] big = new byte[YamlReader.MAX_BYTES + 1];
    java.util.Arrays.fill(big, (byte) ' ');
    ConfigException size = assertThrows(ConfigException.class, () -> ServerConfig.parse(big, "big.yaml", Path.of("/")));
    assertTrue(size.getMessage().contains("larger than"), size.getMessage());
    ConfigException yes = assertThrows(ConfigException.class,
        () -> Samples.parse(Samples.text("dev-minimal.yaml").replace("devHeader: {}", "devHeader: yes")));
    assertTrue(yes.getMessage().contains("expected a mapping"), yes.getMessage());
  }

  @Test
  void loopbackIsRecognisedWithoutDns() {
    for (String h : List.of("127.0.0.1", "127.1.2.3", "::1", "localhost", "LOCALHOST")) {
      assertTrue(ServerConfig.isLoopback(h), h);
    }
    for (String h : List.of("0.0.0.0", "::", "10.0.0.1", "example.com", "localhost.example.com")) {
      assertFalse(ServerConfig.isLoopback(h), h);
    }
  }
}
