package dev.kubejit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.apis.RbacAuthorizationV1Api;
import io.kubernetes.client.openapi.models.RbacV1Subject;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1PolicyRule;
import io.kubernetes.client.openapi.models.V1Role;
import io.kubernetes.client.openapi.models.V1RoleBinding;
import io.kubernetes.client.openapi.models.V1RoleRef;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The credential CLI commands: ca init, cert sign, ssh sign, token mint/verify, credential (also as a real kubectl exec plugin). */
class CredentialCommandTest {
  @TempDir Path dir;

  record Result(int exit, String out, String err) {}

  static Result run(Object command, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = new CommandLine(command);
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int exit = cl.execute(args);
    return new Result(exit, out.toString(), err.toString());
  }

  static String exec(Path dir, String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), List.of(cmd) + ": " + out);
    return out;
  }

  Path initCa(String keyType) {
    Path ca = dir.resolve("ca-" + keyType);
    Result r = run(new CaCommand(), "init", "--dir", ca.toString(), "--key-type", keyType);
    assertEquals(0, r.exit, r.err);
    return ca;
  }

  @Test
  void caInitWritesAllKeysWithPrivateModes() throws Exception {
    for (String t : List.of("ed25519", "ecdsa-p256", "rsa-3072")) {
      Path ca = initCa(t);
      for (String f : List.of("ca.key", "ssh_ca", "jwt.jwk")) {
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(ca.resolve(f))), f);
      }
      assertTrue(Files.readString(ca.resolve("ssh_ca.pub")).startsWith(t.equals("rsa-3072") ? "ssh-rsa " : t.equals("ed25519") ? "ssh-ed25519 " : "ecdsa-sha2-nistp256 "));
      exec(ca, "openssl", "x509", "-in", "ca.crt", "-noout", "-subject");
      exec(ca, "ssh-keygen", "-l", "-f", "ssh_ca.pub");
    }
    Result again = run(new CaCommand(), "init", "--dir", dir.resolve("ca-ed25519").toString());
    assertEquals(1, again.exit);
    assertTrue(again.err.startsWith("kubejit: refusing to overwrite"), again.err);
    Result bad = run(new CaCommand(), "init", "--dir", dir.resolve("x").toString(), "--key-type", "dsa");
    assertEquals(1, bad.exit);
    assertEquals(1, bad.err.lines().count(), bad.err);
  }

  @Test
  void certSignForcesSubjectAndRefusesInjection() throws Exception {
    Path ca = initCa("ed25519");
    exec(dir, "openssl", "genpkey", "-algorithm", "ED25519", "-out", "u.key");
    exec(dir, "openssl", "req", "-new", "-key", "u.key", "-subj", "/CN=alice/O=oncall", "-out", "u.csr");
    Result r = run(new CertCommand(), "sign", "--ca", ca.toString(), "--csr", dir.resolve("u.csr").toString(), "--user", "alice",
        "--group", "oncall", "--ttl", "30m", "--out", dir.resolve("u.crt").toString());
    assertEquals(0, r.exit, r.err);
    assertTrue(exec(dir, "openssl", "verify", "-CAfile", ca.resolve("ca.crt").toString(), "u.crt").contains("u.crt: OK"));
    Result clamped = run(new CertCommand(), "sign", "--ca", ca.toString(), "--csr", dir.resolve("u.csr").toString(), "--user", "alice",
        "--group", "oncall", "--ttl", "12h");
    assertEquals(0, clamped.exit, clamped.err);
    assertTrue(clamped.err.contains("note: requested TTL PT12H exceeds the maximum PT8H"), clamped.err);
    exec(dir, "openssl", "req", "-new", "-key", "u.key", "-subj", "/CN=alice/O=system:masters", "-out", "evil.csr");
    Result evil = run(new CertCommand(), "sign", "--ca", ca.toString(), "--csr", dir.resolve("evil.csr").toString(), "--user", "alice",
        "--group", "oncall", "--ttl", "30m");
    assertEquals(1, evil.exit);
    assertEquals("", evil.out);
    assertTrue(evil.err.startsWith("kubejit: CSR subject") && evil.err.lines().count() == 1, evil.err);
    Result zero = run(new CertCommand(), "sign", "--ca", ca.toString(), "--csr", dir.resolve("u.csr").toString(), "--user", "alice",
        "--group", "oncall", "--ttl", "0m");
    assertEquals(1, zero.exit);
    assertTrue(zero.err.contains("TTL must be positive"), zero.err);
  }

  @Test
  void sshSignOutputIsReadBySshKeygen() throws Exception {
    Path ca = initCa("ecdsa-p256");
    exec(dir, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "id");
    Result r = run(new SshCommand(), "sign", "--ca", ca.toString(), "--public-key", dir.resolve("id.pub").toString(),
        "--principal", "ops-alice", "--ttl", "30m", "--force-command", "uptime", "--source-address", "10.0.0.0/8,127.0.0.1",
        "--key-id", "kubejit:request=r1:user=alice", "--out", dir.resolve("id-cert.pub").toString());
    assertEquals(0, r.exit, r.err);
    String l = exec(dir, "ssh-keygen", "-L", "-f", "id-cert.pub");
    assertTrue(l.contains("Key ID: \"kubejit:request=r1:user=alice\"") && l.contains("force-command uptime")
        && l.contains("source-address 10.0.0.0/8,127.0.0.1") && l.contains("ops-alice"), l);
    Result bad = run(new SshCommand(), "sign", "--ca", ca.toString(), "--public-key", dir.resolve("id.pub").toString(),
        "--principal", "ops alice", "--ttl", "30m");
    assertEquals(1, bad.exit);
    assertEquals("kubejit: SSH principal contains a space or separator (U+0020): \"ops alice\"\n", bad.err);
    // reserved principals are refused unless explicitly allowed
    Result root = run(new SshCommand(), "sign", "--ca", ca.toString(), "--public-key", dir.resolve("id.pub").toString(),
        "--principal", "root", "--ttl", "30m", "--out", dir.resolve("root-cert.pub").toString());
    assertEquals(1, root.exit);
    assertEquals("kubejit: SSH principal \"root\" is a reserved or privileged name (matches \"root\"); KubeJIT issues no credential"
        + " for it\n", root.err);
    assertFalse(Files.exists(dir.resolve("root-cert.pub")));
    Result allowed = run(new SshCommand(), "sign", "--ca", ca.toString(), "--public-key", dir.resolve("id.pub").toString(),
        "--principal", "root", "--ttl", "30m", "--dangerously-allow-reserved", "root", "--out", dir.resolve("root-cert.pub").toString());
    assertEquals(0, allowed.exit, allowed.err);
    assertTrue(allowed.err.startsWith("kubejit: note: WARNING: --dangerously-allow-reserved \"root\""), allowed.err);
    assertTrue(exec(dir, "ssh-keygen", "-L", "-f", "root-cert.pub").matches("(?s).*Principals: \\n\\s+root\\n.*"));
  }

  @Test
  void tokenMintAndVerify() throws Exception {
    Path ca = initCa("ed25519");
    Result mint = run(new TokenCommand(), "mint", "--ca", ca.toString(), "--audience", "gateway", "--subject", "alice", "--group",
        "oncall", "--cluster", "prod", "--namespace", "payments", "--action", "logs", "--ttl", "15m");
    assertEquals(0, mint.exit, mint.err);
    Files.writeString(dir.resolve("t.jwt"), mint.out);
    Result jwks = run(new TokenCommand(), "jwks", "--ca", ca.toString());
    Files.writeString(dir.resolve("jwks.json"), jwks.out);
    assertFalse(jwks.out.contains("\"d\""));
    Result ok = run(new TokenCommand(), "verify", "--jwks", dir.resolve("jwks.json").toString(), "--audience", "gateway",
        "--token", dir.resolve("t.jwt").toString());
    assertEquals(0, ok.exit, ok.err);
    assertTrue(ok.out.startsWith("valid: sub=\"alice\" groups=[\"oncall\"] cluster=\"prod\" namespace=\"payments\" actions=[\"logs\"]"),
        ok.out);
    Result wrongAud = run(new TokenCommand(), "verify", "--jwks", dir.resolve("jwks.json").toString(), "--audience", "other",
        "--token", dir.resolve("t.jwt").toString());
    assertEquals(1, wrongAud.exit);
    assertFalse(wrongAud.err.contains(mint.out.strip()));
    Result tooLong = run(new TokenCommand(), "mint", "--ca", ca.toString(), "--audience", "gateway", "--subject", "alice",
        "--cluster", "prod", "--action", "logs", "--ttl", "2h");
    assertEquals(1, tooLong.exit);
    assertTrue(tooLong.err.contains("exceeds the maximum"), tooLong.err);
  }

  @Test
  void credentialPrintsExecCredentialWithoutLeakingOnError() throws Exception {
    Path ca = initCa("ed25519");
    Result r = run(new CredentialCommand(), "--ca", ca.toString(), "--user", "alice", "--group", "oncall", "--ttl", "30m");
    assertEquals(0, r.exit, r.err);
    assertTrue(r.out.contains("\"apiVersion\": \"client.authentication.k8s.io/v1\""), r.out);
    assertTrue(r.out.contains("\"clientKeyData\": \"-----BEGIN PRIVATE KEY-----"), r.out);
    Result bad = run(new CredentialCommand(), "--ca", ca.toString(), "--user", "alice", "--group", "system:masters", "--ttl", "30m");
    assertEquals(1, bad.exit);
    assertEquals("", bad.out);
    assertEquals("kubejit: group \"system:masters\" is a reserved or privileged name (matches \"system:*\"); KubeJIT issues no"
        + " credential for it\n", bad.err);
  }

  /** The names of issue #9 §5, as a shell passes them ($'\u200bsystem:masters' and so on). */
  static final String[][] ISSUE_9_NAMES = {
      // {option, value, the escaped value the one-line error must show}
      {"--group", "\u200bsystem:masters", "\"\\u200bsystem:masters\""},
      {"--user", "system\u00a0:anonymous", "\"system\\u00a0:anonymous\""},
      {"--group", "kubeadm:cluster-admins", "\"kubeadm:cluster-admins\""},
      {"--group", "SYSTEM:MASTERS", "\"SYSTEM:MASTERS\""},
      {"--user", "system:anonymous", "\"system:anonymous\""},
      {"--user", "system:node:worker-1", "\"system:node:worker-1\""},
      {"--group", "system:masters\u200d", "\"system:masters\\u200d\""},
      {"--group", "\ua731\u028f\ua731\u1d1b\u1d07\u1d0d:masters", "\"\\ua731\\u028f\\ua731\\u1d1b\\u1d07\\u1d0d:masters\""},
      {"--group", "system\ua789masters", "\"system\\ua789masters\""},
  };

  @Test
  void certSignRefusesReservedAndLookAlikeNamesAndWritesNothing() throws Exception {
    Path ca = initCa("ed25519");
    exec(dir, "openssl", "genpkey", "-algorithm", "ED25519", "-out", "u.key");
    exec(dir, "openssl", "req", "-new", "-key", "u.key", "-subj", "/", "-out", "u.csr");
    for (String[] c : ISSUE_9_NAMES) {
      List<String> args = new ArrayList<>(List.of("sign", "--ca", ca.toString(), "--csr", dir.resolve("u.csr").toString(), "--ttl", "30m",
          "--out", dir.resolve("u.crt").toString()));
      args.addAll(c[0].equals("--user") ? List.of("--user", c[1], "--group", "oncall") : List.of("--user", "alice", "--group", c[1]));
      Result r = run(new CertCommand(), args.toArray(new String[0]));
      assertEquals(1, r.exit, c[1] + ": " + r.err);
      assertEquals("", r.out);
      assertEquals(1, r.err.lines().count(), r.err);
      assertTrue(r.err.startsWith("kubejit: ") && r.err.contains(c[2]), r.err);
      assertTrue(r.err.chars().allMatch(ch -> ch == '\n' || (ch >= 0x20 && ch < 0x7f)), r.err);
      assertFalse(Files.exists(dir.resolve("u.crt")), "nothing may be written for " + c[2]);
    }
  }

  @Test
  void everyIssuingCommandRefusesTheIssue9Names() throws Exception {
    Path ca = initCa("ed25519");
    exec(dir, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "id");
    for (String[] c : ISSUE_9_NAMES) {
      Result cred = run(new CredentialCommand(), "--ca", ca.toString(), "--ttl", "30m",
          c[0], c[1], c[0].equals("--user") ? "--group" : "--user", c[0].equals("--user") ? "oncall" : "alice");
      Result token = run(new TokenCommand(), "mint", "--ca", ca.toString(), "--audience", "gateway", "--cluster", "prod", "--action", "logs",
          "--ttl", "15m", c[0].equals("--user") ? "--subject" : "--group", c[1], c[0].equals("--user") ? "--group" : "--subject",
          c[0].equals("--user") ? "oncall" : "alice");
      Result ssh = run(new SshCommand(), "sign", "--ca", ca.toString(), "--public-key", dir.resolve("id.pub").toString(),
          "--principal", c[1], "--ttl", "30m");
      for (Result r : List.of(cred, token, ssh)) {
        assertEquals(1, r.exit, c[1] + ": " + r.err);
        assertEquals("", r.out, "nothing issued for " + c[2]);
        assertEquals(1, r.err.lines().count(), r.err);
        assertTrue(r.err.chars().allMatch(ch -> ch == '\n' || (ch >= 0x20 && ch < 0x7f)), r.err);
      }
      assertTrue(cred.err.contains(c[2]) && token.err.contains(c[2]) && ssh.err.contains(c[2]), cred.err + token.err + ssh.err);
    }
  }

  @Test
  void reservedNamesAreConfigurableAndSuccessOutputIsEscaped() throws Exception {
    Path ca = initCa("ed25519");
    exec(dir, "openssl", "genpkey", "-algorithm", "ED25519", "-out", "u.key");
    exec(dir, "openssl", "req", "-new", "-key", "u.key", "-subj", "/", "-out", "u.csr");
    String csr = dir.resolve("u.csr").toString();
    // an embedder-specific privileged group
    Result extended = run(new CertCommand(), "sign", "--ca", ca.toString(), "--csr", csr, "--user", "alice", "--group", "Corp:BreakGlass",
        "--ttl", "30m", "--reserve", "corp:breakglass");
    assertEquals(1, extended.exit);
    assertTrue(extended.err.contains("\"Corp:BreakGlass\" is a reserved or privileged name (matches \"corp:breakglass\")"), extended.err);
    Result prefix = run(new CertCommand(), "sign", "--ca", ca.toString(), "--csr", csr, "--user", "alice", "--group", "ops-admin:x",
        "--ttl", "30m", "--reserve", "ops-admin:*");
    assertEquals(1, prefix.exit, prefix.err);
    Result badEntry = run(new CertCommand(), "sign", "--ca", ca.toString(), "--csr", csr, "--user", "alice", "--group", "g",
        "--ttl", "30m", "--reserve", "a*b");
    assertEquals(1, badEntry.exit, badEntry.err);
    // relaxing is one named option per name, and loud
    Result relaxed = run(new CertCommand(), "sign", "--ca", ca.toString(), "--csr", csr, "--user", "alice", "--group", "system:monitoring",
        "--ttl", "30m", "--dangerously-allow-reserved", "system:monitoring", "--out", dir.resolve("m.crt").toString());
    assertEquals(0, relaxed.exit, relaxed.err);
    assertTrue(relaxed.err.contains("WARNING: --dangerously-allow-reserved \"system:monitoring\""), relaxed.err);
    assertTrue(exec(dir, "openssl", "x509", "-in", "m.crt", "-noout", "-subject").contains("O = system:monitoring"));
    Result stillRefused = run(new CertCommand(), "sign", "--ca", ca.toString(), "--csr", csr, "--user", "alice", "--group", "system:masters",
        "--ttl", "30m", "--dangerously-allow-reserved", "system:monitoring");
    assertEquals(1, stillRefused.exit, stillRefused.err);
    Result notReserved = run(new CertCommand(), "sign", "--ca", ca.toString(), "--csr", csr, "--user", "alice", "--group", "g",
        "--ttl", "30m", "--dangerously-allow-reserved", "alice");
    assertEquals(1, notReserved.exit, notReserved.err);
    assertTrue(notReserved.err.contains("cannot exempt \"alice\": it is not reserved"), notReserved.err);
    // a single-script non-Latin name is issued, and the success line shows it escaped
    Result cyrillic = run(new CertCommand(), "sign", "--ca", ca.toString(), "--csr", csr, "--user", "\u0438\u0432\u0430\u043d",
        "--group", "\u043e\u043f\u0441", "--ttl", "30m", "--out", dir.resolve("c.crt").toString());
    assertEquals(0, cyrillic.exit, cyrillic.err);
    assertTrue(cyrillic.err.matches("kubejit: issued serial [0-9a-f]+ for CN=\"\\\\u0438\\\\u0432\\\\u0430\\\\u043d\" "
        + "O=\\[\"\\\\u043e\\\\u043f\\\\u0441\"\\] until \\S+\\n"), cyrillic.err);
    // untrusted text in option values that the domain does not quote is still shown escaped, on one line
    Result ttl = run(new CertCommand(), "sign", "--ca", ca.toString(), "--csr", csr, "--user", "alice", "--group", "g",
        "--ttl", "30m\u202e\nkubejit: issued");
    assertEquals(1, ttl.exit);
    assertEquals(1, ttl.err.lines().count(), ttl.err);
    assertTrue(ttl.err.contains("30m\\u202e\\u000akubejit: issued"), ttl.err);
  }

  /**
   * The seed's {@code cred-helper --cluster=prod --ttl=30m}: kubectl runs {@code kubejit credential}
   * as its exec plugin and lists pods. The CA directory holds the test cluster's CA, so the
   * certificate the plugin mints for a key generated on the spot is one the API server trusts.
   */
  @Test
  @KubeTest
  void kubectlRunsTheCredentialCommandAsExecPluginAndListsPods(KubeControlPlane cp) throws Exception {
    Path ca = dir.resolve("cluster-ca");
    Files.createDirectories(ca);
    Files.writeString(ca.resolve("ca.crt"), cp.caCertificatePem());
    Files.writeString(ca.resolve("ca.key"), cp.caPrivateKeyPem());
    Files.setPosixFilePermissions(ca.resolve("ca.key"), PosixFilePermissions.fromString("rw-------"));
    String group = "jit:oncall:exec-plugin-" + Long.toHexString(System.nanoTime());
    String namespace = "plugin-" + Long.toHexString(System.nanoTime());
    ApiClient admin = cp.adminClient();
    new CoreV1Api(admin).createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name(namespace))).execute();
    RbacAuthorizationV1Api rbac = new RbacAuthorizationV1Api(admin);
    rbac.createNamespacedRole(namespace, new V1Role().metadata(new V1ObjectMeta().name("pod-reader"))
        .rules(List.of(new V1PolicyRule().apiGroups(List.of("")).resources(List.of("pods")).verbs(List.of("get", "list")))))
        .execute();
    rbac.createNamespacedRoleBinding(namespace, new V1RoleBinding().metadata(new V1ObjectMeta().name("pod-reader"))
        .roleRef(new V1RoleRef().apiGroup("rbac.authorization.k8s.io").kind("Role").name("pod-reader"))
        .subjects(List.of(new RbacV1Subject().kind("Group").apiGroup("rbac.authorization.k8s.io").name(group))))
        .execute();

    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> args = new ArrayList<>(List.of("-cp", System.getProperty("java.class.path"), "dev.kubejit.cli.CredentialCommand",
        "--ca", ca.toString(), "--user", "alice", "--group", group, "--ttl", "30m"));
    String caData = Base64.getEncoder().encodeToString(cp.caCertificatePem().getBytes(StandardCharsets.UTF_8));
    StringBuilder yaml = new StringBuilder("apiVersion: v1\nkind: Config\nclusters:\n- name: k\n  cluster:\n    server: " + cp.serverUrl()
        + "\n    certificate-authority-data: " + caData + "\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
        + "      interactiveMode: Never\n      command: " + java + "\n      args:\n");
    for (String a : args) {
      yaml.append("      - '").append(a.replace("'", "''")).append("'\n");
    }
    yaml.append("contexts:\n- name: k\n  context: {cluster: k, user: u}\ncurrent-context: k\n");
    Path kc = dir.resolve("exec.kubeconfig");
    Files.writeString(kc, yaml);

    Process p = new ProcessBuilder("kubectl", "--cache-dir", dir.resolve("kube-cache").toString(), "--kubeconfig", kc.toString(),
        "get", "pods", "-n", namespace)
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), out);
    assertTrue(out.contains("No resources found in " + namespace), out);
    var events = cp.awaitAuditEvents(dev.kubejit.audit.KubeAuditEvent::parse, (dev.kubejit.audit.KubeAuditEvent e) -> "alice".equals(e.username()) && namespace.equals(e.namespace())
        && "list".equals(e.verb()), Duration.ofSeconds(10));
    assertTrue(events.get(0).groups().contains(group), events.get(0).toString());
    assertEquals(200, events.get(0).code());

    Process forbidden = new ProcessBuilder("kubectl", "--cache-dir", dir.resolve("kube-cache").toString(), "--kubeconfig",
        kc.toString(), "get", "secrets", "-n", namespace)
        .redirectErrorStream(true).start();
    String denied = new String(forbidden.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(forbidden.waitFor(120, TimeUnit.SECONDS));
    assertTrue(forbidden.exitValue() != 0 && denied.contains("Forbidden"), denied);
  }
}
