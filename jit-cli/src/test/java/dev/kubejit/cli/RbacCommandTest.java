package dev.kubejit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class RbacCommandTest {
  static final class Run {
    final int exit;
    final String out;
    final String err;

    Run(int exit, String out, String err) {
      this.exit = exit;
      this.out = out;
      this.err = err;
    }
  }

  static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = Main.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    int exit = cli.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void renderLintAndCanI(@TempDir Path dir) throws Exception {
    Run r = run("rbac", "render", "--template", "jit-debug", "--namespace", "payments", "--group", "jit:oncall:payments",
        "--ttl", "30m", "--grant-id", "abcdefghijklmnopqrstuvwxya");
    assertEquals(0, r.exit, r.err);
    assertTrue(r.out.contains("name: kubejit-jit-debug-abcdefghijklmnopqrstuvwxya"), r.out);
    Path f = dir.resolve("grant.yaml");
    Files.writeString(f, r.out);
    Run lint = run("rbac", "lint", f.toString());
    assertEquals(0, lint.exit, lint.out);
    assertTrue(lint.out.contains("0 errors"), lint.out);

    Run yes = run("rbac", "can-i", "--file", f.toString(), "--user", "erin", "--group", "jit:oncall:payments",
        "create", "pods/exec", "-n", "payments");
    assertEquals(0, yes.exit, yes.err);
    assertTrue(yes.out.startsWith("yes: allowed by RoleBinding/payments/kubejit-jit-debug-"), yes.out);
    Run no = run("rbac", "can-i", "--file", f.toString(), "--user", "erin", "--group", "jit:oncall:payments",
        "get", "secrets", "-n", "payments");
    assertEquals(1, no.exit);
    assertEquals("no", no.out.strip());

    Path bad = dir.resolve("bad.yaml");
    Files.writeString(bad, "kind: ClusterRoleBinding\nmetadata: {name: x}\nroleRef: {kind: ClusterRole, name: cluster-admin}\n"
        + "subjects: [{kind: User, name: bob}]\n");
    Run badLint = run("rbac", "lint", bad.toString());
    assertEquals(1, badLint.exit);
    assertTrue(badLint.out.contains("ERROR user-subject"), badLint.out);
    assertTrue(badLint.out.contains("ERROR privileged-roleref"), badLint.out);
  }

  @Test
  void refusalsAreOneLine() {
    Run r = run("rbac", "render", "--template", "jit-debug", "--namespace", "Bad_NS", "--group", "g", "--ttl", "30m");
    assertEquals(1, r.exit);
    assertTrue(r.err.startsWith("kubejit: namespace must be a DNS-1123 label"), r.err);
    assertEquals(1, r.err.strip().lines().count(), r.err);
    Run sys = run("rbac", "render", "--template", "jit-debug", "--namespace", "a", "--group", "system:masters",
        "--ttl", "30m");
    assertEquals(1, sys.exit);
    assertTrue(sys.err.contains("system:"), sys.err);
    Run ttl = run("rbac", "render", "--template", "jit-debug", "--namespace", "a", "--group", "g", "--ttl", "9h");
    assertEquals(1, ttl.exit);
  }

  @Test
  @KubeTest
  void auditAndReapOnceAgainstTheRealApiServer(KubeControlPlane cp) {
    Run audit = run("rbac", "audit", "--kubeconfig", cp.adminKubeconfig().toString());
    assertEquals(0, audit.exit, audit.err);
    assertTrue(audit.out.contains("Group system:masters via ClusterRoleBinding/cluster-admin -> ClusterRole/cluster-admin"),
        audit.out);
    Run reap = run("rbac", "reap", "--kubeconfig", cp.adminKubeconfig().toString(), "--once");
    assertEquals(0, reap.exit, reap.err);
    assertTrue(reap.out.contains("expired bindings deleted"), reap.out);
  }
}
