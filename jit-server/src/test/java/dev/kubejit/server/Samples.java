package dev.kubejit.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/** The sample configurations under src/test/resources/configs and the invalid edits the tests share. */
final class Samples {
  static final Path BASE = Path.of("/etc/kubejit");
  static final List<String> VALID = List.of("full-oidc.yaml", "mtls-kubernetes.yaml", "dev-minimal.yaml", "env-password.yaml",
      "console-oidc.yaml", "chatops.yaml");

  /**
   * Invalid documents derived from a valid sample: {sample, from, to, expected message fragment,
   * expected line, "schema" when the JSON Schema can express the rule too}.
   */
  static final List<String[]> INVALID = List.of(
      new String[] {"full-oidc.yaml", "  audience: kubejit", "  audience: kubejit\n    audiences: [x]", "unknown key \"audiences\"", "31", "schema"},
      new String[] {"full-oidc.yaml", "    clockSkew: PT30S", "    clockSkew: 30s", "ISO-8601 duration", "33", "schema"},
      new String[] {"full-oidc.yaml", "    clockSkew: PT30S", "    clockSkew: PT10M", "at most PT5M", "33", "schema"},
      new String[] {"full-oidc.yaml", "    clockSkew: PT30S", "    clockSkew: 30", "expected a string, found the number", "33", "schema"},
      new String[] {"full-oidc.yaml", "    user: kubejit\n", "    user: kubejit\n    password: hunter2\n", "use passwordFile", "9", "schema"},
      new String[] {"full-oidc.yaml", "/kubejit?sslmode", "/kubejit?password=hunter2&sslmode", "the URL contains a password", "7", "schema"},
      new String[] {"full-oidc.yaml", "    passwordFile: /run/secrets/kubejit-db-password\n", "", "missing the password", "6", "schema"},
      new String[] {"full-oidc.yaml", "    jwksUrl: https://login.example.com/realms/eng/protocol/openid-connect/certs\n", "",
          "exactly one of jwksFile and jwksUrl", "28", "schema"},
      new String[] {"full-oidc.yaml", "issuer: https://login", "issuer: http://login", "expected an https:// URL", "29", "schema"},
      new String[] {"full-oidc.yaml", "  prod-eu:", "  Prod_EU:", "DNS label", "17", "schema"},
      new String[] {"full-oidc.yaml", "adminGroups: [incident-commanders, sre-leads]", "adminGroups: [incident-commanders, incident-commanders]",
          "listed twice", "36", "schema"},
      new String[] {"full-oidc.yaml", "adminGroups: [incident-commanders, sre-leads]", "adminGroups: incident-commanders",
          "expected a list, found the string", "36", "schema"},
      new String[] {"full-oidc.yaml", "adminGroups: [incident-commanders, sre-leads]", "adminGroups: [\"sre leads\"]",
          "expected a group name", "36", "schema"},
      new String[] {"full-oidc.yaml", "    context: kubejit-broker\n", "    context: kubejit-broker\n    namespace: x\n", "unknown key \"namespace\"", "20", "schema"},
      new String[] {"full-oidc.yaml", "  address: 0.0.0.0:8443", "  address: 0.0.0.0:70000", "port from 1 to 65535", "23", ""},
      new String[] {"full-oidc.yaml", "  address: 0.0.0.0:8443", "  address: 8443", "expected a string, found the number", "23", "schema"},
      new String[] {"full-oidc.yaml", "  address: 0.0.0.0:8443", "  address: \"0.0.0.0\"", "expected host:port", "23", "schema"},
      new String[] {"full-oidc.yaml", "  tls:\n    certFile: tls/server.crt\n    keyFile: tls/server.key\n", "",
          "listen.tls is required unless", "22", ""},
      new String[] {"full-oidc.yaml", "    keyFile: tls/server.key\n", "", "missing required key \"keyFile\"", "24", "schema"},
      new String[] {"full-oidc.yaml", "certificateAuthorities:\n  x509: ca/x509\n  ssh: ca/ssh\n", "",
          "missing required key \"certificateAuthorities\"", "2", "schema"},
      new String[] {"full-oidc.yaml", "kind: ServerConfig", "kind: AccessPolicy", "kind must be ServerConfig", "3", "schema"},
      new String[] {"full-oidc.yaml", "policy: policy.yaml", "policy: ~/policy.yaml", "~ is not expanded", "4", "schema"},
      new String[] {"full-oidc.yaml", "policy: policy.yaml", "policy: [policy.yaml]", "expected a string, found a list", "4", "schema"},
      new String[] {"full-oidc.yaml", "policy: policy.yaml", "policy: policy.yaml\npolicy: other.yaml", "Duplicate", "5", ""},
      new String[] {"full-oidc.yaml", "  oidc:", "  mtls: {clientCaFile: ca.crt}\n  oidc:", "exactly one of oidc, mtls, devHeader", "29", "schema"},
      new String[] {"full-oidc.yaml", "  oidc:", "  devHeader: {}\n  oidx:", "exactly one of oidc, mtls, devHeader", "29", "schema"},
      new String[] {"full-oidc.yaml", "  oidc:\n", "  devHeader: {}\n  unused:\n", "exactly one", "29", "schema"},
      new String[] {"mtls-kubernetes.yaml", "    namespace: kubejit-system\n", "    namespace: kubejit-system\n    token: abc\n",
          "secrets are never written into kubejit.yaml", "7", "schema"},
      new String[] {"mtls-kubernetes.yaml", "  tls:\n    certFile: server.crt\n    keyFile: server.key\n", "",
          "listen.tls is required", "13", ""},
      new String[] {"mtls-kubernetes.yaml", "  kubernetes:\n    namespace: kubejit-system\n",
          "  kubernetes:\n    namespace: kubejit-system\n  sqlite: {}\n", "exactly one of sqlite, postgresql, kubernetes", "7", "schema"},
      new String[] {"dev-minimal.yaml", "127.0.0.1:8443", "10.0.0.5:8443", "listen.tls is required", "10", ""},
      new String[] {"dev-minimal.yaml", "127.0.0.1:8443\n", "10.0.0.5:8443\n  tls: {certFile: a, keyFile: b}\n",
          "devHeader authentication", "13", ""},
      new String[] {"dev-minimal.yaml", "  devHeader: {}", "  devHeader: {header: \"X User\"}", "HTTP header name", "13", "schema"},
      new String[] {"dev-minimal.yaml", "  devHeader: {}", "  devHeader: &a {}\n  x: *a", "anchors are not allowed", "13", ""},
      new String[] {"dev-minimal.yaml", "policy: policy.json", "policy: !!str policy.json", "tags are not allowed", "3", ""},
      new String[] {"dev-minimal.yaml", "  ssh: ca/ssh\n", "  ssh: ca/ssh\n  privateKey: |\n    -----BEGIN PRIVATE KEY-----\n",
          "secrets are never written", "10", "schema"},
      new String[] {"env-password.yaml", "    passwordEnv: KUBEJIT_DB_PASSWORD", "    passwordEnv: KUBEJIT-DB", "name of an environment variable", "7", "schema"},
      new String[] {"env-password.yaml", "    passwordEnv: KUBEJIT_DB_PASSWORD", "    passwordEnv: \"hunter2!\"", "not its value", "7", "schema"},
      new String[] {"env-password.yaml", "    passwordEnv: KUBEJIT_DB_PASSWORD",
          "    passwordEnv: KUBEJIT_DB_PASSWORD\n    passwordFile: pw.txt", "not both", "8", "schema"},
      new String[] {"env-password.yaml", "url: jdbc:postgresql://localhost/kubejit", "url: jdbc:postgresql://me:pw@localhost/kubejit",
          "the URL contains a password", "6", "schema"},
      new String[] {"env-password.yaml", "listen: {address: \"localhost:8443\"}", "listen: {address: \"localhost:8443\", tls: {certFile: a}}",
          "missing required key \"keyFile\"", "10", "schema"},
      new String[] {"env-password.yaml", "jwksFile: jwks.json}", "jwksFile: jwks.json, groupsClaim: \"\"}", "non-empty", "12", "schema"},
      new String[] {"env-password.yaml", "jwksFile: jwks.json}", "jwksFile: jwks.json, usernameClaim: \"e mail\"}", "a claim name", "12", "schema"},
      new String[] {"env-password.yaml", "jwksFile: jwks.json}", "jwksFile: jwks.json, caFile: idp-ca.crt}", "it needs jwksUrl", "12", "schema"},
      new String[] {"full-oidc.yaml", "    usernameClaim: preferred_username", "    usernameClaim: [sub]", "expected a string, found a list", "34", "schema"},
      // The console (docs/console.md).
      new String[] {"console-oidc.yaml", "  clientSecretFile: /run/secrets/kubejit-console-client-secret",
          "  clientSecret: s3cr3t", "secrets are never written into kubejit.yaml", "24", "schema"},
      new String[] {"console-oidc.yaml", "  clientId: kubejit-console\n", "", "missing required key \"clientId\"", "22", "schema"},
      new String[] {"console-oidc.yaml", "  baseUrl: https://kubejit.example.com", "  baseUrl: http://kubejit.example.com",
          "expected https://host[:port]", "25", "schema"},
      new String[] {"console-oidc.yaml", "  baseUrl: https://kubejit.example.com", "  baseUrl: https://kubejit.example.com/console",
          "no path", "25", "schema"},
      new String[] {"console-oidc.yaml", "  sessionTtl: PT15M", "  sessionTtl: PT13H", "between PT1M and PT12H", "26", ""},
      new String[] {"console-oidc.yaml", "  sessionTtl: PT15M", "  sessionTTL: PT15M", "unknown key \"sessionTTL\"", "26", "schema"},
      new String[] {"console-oidc.yaml", "  auditorGroups: [security]", "  auditorGroups: [security, security]", "listed twice", "27",
          "schema"},
      new String[] {"dev-minimal.yaml", "  devHeader: {}", "  devHeader: {}\nconsole: {clientId: kubejit-console}",
          "it needs authentication.oidc", "14", ""},
      new String[] {"chatops.yaml", "    signingSecretFile: /run/secrets/slack-signing-secret\n", "    signingSecret: hunter2\n",
          "use signingSecretFile", "16", "schema"},
      new String[] {"chatops.yaml", "    botTokenEnv: SLACK_BOT_TOKEN", "    botTokenEnv: xoxb-hunter2", "not its value", "17", "schema"},
      new String[] {"chatops.yaml", "    botTokenEnv: SLACK_BOT_TOKEN\n", "", "missing botTokenFile", "15", "schema"},
      new String[] {"chatops.yaml", "    botTokenEnv: SLACK_BOT_TOKEN\n", "    botTokenEnv: SLACK_BOT_TOKEN\n    botTokenFile: t\n", "not both", "15",
          "schema"},
      new String[] {"chatops.yaml", "    directoryFile: slack-directory.yaml\n", "", "missing required key \"directoryFile\"", "15", "schema"},
      new String[] {"chatops.yaml", "      default: C0DEFAULT1", "      default: general", "Slack channel id", "21", "schema"},
      new String[] {"chatops.yaml", "    cluster: prod", "    cluster: Prod", "cluster name", "19", "schema"},
      new String[] {"chatops.yaml", "    cluster: prod\n", "", "chatops.slack.cluster is required", "14", ""},
      new String[] {"chatops.yaml", "    cluster: prod", "    cluster: prod\n    apiBaseUrl: http://slack.example.com/api/", "https://",
          "20", "schema"},
      new String[] {"chatops.yaml", "    cluster: prod", "    cluster: prod\n    responseUrlPrefix: https://hooks.slack.com", "ends with /",
          "20", "schema"},
      new String[] {"chatops.yaml", "    cluster: prod", "    cluster: prod\n    teams: [T1]", "unknown key \"teams\"", "20", "schema"},
      new String[] {"chatops.yaml", "      secretEnv: KUBEJIT_WEBHOOK_SECRET", "      secret: hunter2", "secrets are never written", "27",
          "schema"},
      new String[] {"chatops.yaml", "    - url: https://hooks.example.com/kubejit", "    - url: https://u:hunter2@hooks.example.com/kubejit",
          "expected an https:// URL", "26", "schema"});

  private Samples() {}

  static String text(String name) {
    try (InputStream in = Samples.class.getResourceAsStream("/configs/" + name)) {
      if (in == null) {
        throw new IllegalStateException("no sample " + name);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String edit(String[] e) {
    String text = text(e[0]);
    if (!text.contains(e[1])) {
      throw new IllegalStateException(e[0] + " does not contain " + e[1]);
    }
    return text.replace(e[1], e[2]);
  }

  static ServerConfig parse(String yaml) {
    return ServerConfig.parse(yaml.getBytes(StandardCharsets.UTF_8), "kubejit.yaml", BASE);
  }
}
