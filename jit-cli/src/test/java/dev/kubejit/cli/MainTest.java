package dev.kubejit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MainTest {
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    return Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
  }

  @Test
  void versionPrintsTheProjectVersion() {
    assertEquals(0, run("--version"));
    assertTrue(out.toString().startsWith("kubejit 0.1.0-SNAPSHOT"), out.toString());
  }

  @Test
  void helpListsTheDemo() {
    assertEquals(0, run("--help"));
    for (String sub : new String[] {"demo", "ca", "cert", "ssh", "token", "credential", "rbac", "policy", "audit"}) {
      assertTrue(out.toString().contains("  " + sub + " "), sub + " missing from:\n" + out);
    }
  }

  @Test
  void unknownOptionIsOneLineOnStderrAndNonZero() {
    assertEquals(64, run("--no-such-option"));
    assertTrue(err.toString().startsWith("kubejit: Unknown option"), err.toString());
    assertFalse(err.toString().contains("\tat "), "no stack trace without --debug");
  }

  @Test
  void demoRunsTheLifecycleAndLeavesAVerifiableAuditLog(@TempDir Path tmp) throws Exception {
    Path dir = tmp.resolve("kubejit-demo");
    assertEquals(0, run("demo", "--dir", dir.toString()), err.toString());
    String text = out.toString();
    assertTrue(text.contains("refused (SELF_APPROVAL)"), text);
    assertTrue(text.contains("-> DENY [command-syntax]"), text);
    assertTrue(text.contains("-> SEALED"), text);
    assertTrue(Files.size(dir.resolve("audit.jsonl")) > 0);
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("audit.jsonl"))));

    Process openssl = new ProcessBuilder("openssl", "verify", "-purpose", "sslclient", "-CAfile",
        dir.resolve("ca/ca.crt").toString(), dir.resolve("alice.crt").toString()).redirectErrorStream(true).start();
    String verdict = new String(openssl.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertEquals(0, openssl.waitFor(), verdict);
    assertTrue(verdict.contains(": OK"), verdict);

    StringWriter verifyOut = new StringWriter();
    int verified = Main.run(new String[] {"audit", "verify", dir.resolve("audit.jsonl").toString(),
        "--public-key", dir.resolve("audit-signing.pub").toString()},
        new PrintWriter(verifyOut, true), new PrintWriter(err, true));
    assertEquals(0, verified, verifyOut + " / " + err);

    assertEquals(0, run("demo", "--dir", dir.toString()), "a second run starts afresh: " + err);
  }

  @Test
  void demoPolicyIsTheExamplePolicy() throws Exception {
    Path root = Path.of(System.getProperty("kubejit.projectRoot", ".."));
    assertEquals(Files.readString(root.resolve("jit-policy/src/test/resources/policies/payments-oncall.json")),
        Files.readString(root.resolve("jit-cli/src/main/resources/dev/kubejit/cli/demo-policy.json")));
  }
}
