package dev.kubejit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Identity;
import dev.kubejit.audit.FileAuditSink;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kubejit rbac suggest} over recorded logs: grant selection by id or by policy role and
 * activation window, API groups from request URIs, the Role file, and refusals of bad options. The
 * loop against a real API server is {@link RbacSuggestKubeTest}.
 */
class RbacSuggestCommandTest {
  private static final Instant T = Instant.parse("2026-11-02T09:00:00Z");
  private static final GrantId G1 = GrantId.random();
  private static final GrantId G2 = GrantId.random();
  private static final GrantId OTHER = GrantId.random();

  @TempDir Path dir;
  private final List<String> kube = new ArrayList<>();

  private void call(GrantId g, int second, String verb, String uri, String resource, String sub, String name, int code) {
    kube.add("{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"a" + kube.size()
        + "\",\"stage\":\"ResponseComplete\",\"requestURI\":\"" + uri + "\",\"verb\":\"" + verb + "\","
        + "\"user\":{\"username\":\"alice\",\"groups\":[\"jit:grant:" + g + "\",\"system:authenticated\"]},"
        + "\"objectRef\":{\"resource\":\"" + resource + "\",\"namespace\":\"payments\""
        + (name == null ? "" : ",\"name\":\"" + name + "\"") + (sub == null ? "" : ",\"subresource\":\"" + sub + "\"")
        + "},\"responseStatus\":{\"code\":" + code + "},\"requestReceivedTimestamp\":\"" + T.plusSeconds(second)
        + "\",\"stageTimestamp\":\"" + T.plusSeconds(second).plusMillis(2) + "\"}");
  }

  private Path[] logs() throws Exception {
    Path jit = dir.resolve("jit/audit.jsonl");
    try (FileAuditSink s = FileAuditSink.builder(jit).withoutSignatures().open()) {
      for (Object[] g : new Object[][] {{G1, "oncall-debug", 0}, {G2, "oncall-debug", 100}, {OTHER, "break-glass", 0}}) {
        GrantId id = (GrantId) g[0];
        Instant from = T.plusSeconds((Integer) g[2]);
        s.write(List.of(AuditEvent.builder(AuditEventType.GRANT_ACTIVATED, from).grantId(id)
            .actor(Identity.of("alice", "oncall-payments")).attribute("role", (String) g[1]).attribute("requester", "alice")
            .attribute("subjectGroup", "jit:grant:" + id).attribute("grantedAt", from.toString())
            .attribute("expiresAt", from.plusSeconds(3600).toString()).build()));
      }
    }
    call(G1, 10, "list", "/api/v1/namespaces/payments/pods", "pods", null, null, 200);
    call(G1, 11, "get", "/api/v1/namespaces/payments/pods/web-1/log", "pods", "log", "web-1", 200);
    call(G2, 110, "get", "/apis/apps/v1/namespaces/payments/deployments/api", "deployments", null, "api", 200);
    call(G2, 111, "list", "/api/v1/namespaces/payments/secrets", "secrets", null, null, 403);
    call(OTHER, 12, "create", "/api/v1/namespaces/payments/pods/web-1/exec", "pods", "exec", "web-1", 101);
    Path k = Files.writeString(dir.resolve("kube-audit.log"), String.join("\n", kube) + "\n");
    return new Path[] {jit, k};
  }

  private record Run(int exit, String out, String err) {}

  private static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void everyGrantOfARoleInAWindow() throws Exception {
    Path[] l = logs();
    Path role = dir.resolve("role.yaml");
    Run r = run("rbac", "suggest", "--k8s", l[1].toString(), "--jit", l[0].toString(), "--role", "oncall-debug",
        "--since", T.toString(), "--template", "oncall-debug", "--role-yaml", role.toString());
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.out().startsWith("2 grant(s), 4 API call(s)\n"), r.out());
    assertTrue(r.out().contains("- apiGroups: [\"\"], resources: [pods], verbs: [list]\n"), r.out());
    assertTrue(r.out().contains("- apiGroups: [\"\"], resources: [pods/log], verbs: [get]\n"), r.out());
    assertTrue(r.out().contains("- apiGroups: [\"apps\"], resources: [deployments], verbs: [get]"), r.out());
    assertTrue(r.out().contains("1× secrets list payments/* → 403"), r.out());
    assertTrue(!r.out().contains("→ 101"), "the break-glass grant's exec is not in this role's evidence: " + r.out());
    assertTrue(r.out().contains("\n  pods/exec create\n"), "so pods/exec stays unused: " + r.out());
    String yaml = Files.readString(role);
    assertTrue(yaml.contains("name: oncall-debug-suggested") && yaml.contains("namespace: payments"), yaml);

    Run later = run("rbac", "suggest", "--k8s", l[1].toString(), "--jit", l[0].toString(), "--role", "oncall-debug",
        "--since", T.plusSeconds(50).toString(), "--template", "oncall-debug");
    assertTrue(later.out().startsWith("1 grant(s), 2 API call(s)\n"), later.out());
  }

  @Test
  void oneGrantAndBadOptions() throws Exception {
    Path[] l = logs();
    Run r = run("rbac", "suggest", "--k8s", l[1].toString(), "--jit", l[0].toString(), "--grant", G1.toString(),
        "--template", "oncall-debug", "--resource-names");
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.out().contains("resources: [pods/log], verbs: [get], resourceNames: [web-1]"), r.out());
    assertEquals(64, run("rbac", "suggest", "--k8s", l[1].toString(), "--jit", l[0].toString(),
        "--template", "oncall-debug").exit());
    assertEquals(64, run("rbac", "suggest", "--k8s", l[1].toString(), "--jit", l[0].toString(), "--grant", G1.toString(),
        "--template", "no-such-template").exit());
    Run missing = run("rbac", "suggest", "--k8s", l[1].toString(), "--jit", l[0].toString(), "--grant",
        GrantId.random().toString(), "--template", "oncall-debug");
    assertEquals(1, missing.exit());
    assertTrue(missing.err().contains("no matching grant"), missing.err());
  }

  @Test
  void apiGroupFromTheRequestUri() {
    assertEquals("", RbacCommand.Suggest.apiGroup("/api/v1/namespaces/x/pods"));
    assertEquals("apps", RbacCommand.Suggest.apiGroup("/apis/apps/v1/namespaces/x/deployments"));
    assertEquals("", RbacCommand.Suggest.apiGroup(null));
  }
}
