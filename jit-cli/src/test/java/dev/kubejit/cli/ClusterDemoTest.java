package dev.kubejit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.cli.ClientAgainstServerTest.Run;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import dev.kubejit.testing.KubeTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kubejit demo --cluster} as a user runs it: a control plane and node of its own (so it
 * needs the node assets and root, like jit-testing's KubeNode tests, and fails rather than skips
 * without them), the broker, the client and the real kubectl. The assertions read what kubectl, the
 * client and {@code audit correlate} printed, not only the demo's own verdicts.
 */
@KubeTest
class ClusterDemoTest {
  @TempDir Path tmp;

  @Test
  void theStoryRunsForRealAndEverythingIsTornDown() throws Exception {
    Path dir = tmp.resolve("demo");
    Run r = ClientAgainstServerTest.cli("demo", "--cluster", "--dir", dir.toString());
    String out = r.out();
    assertEquals(0, r.exit(), r.toString());
    assertTrue(Pattern.compile("(?m)^All \\d+ expectations held").matcher(out).find(), out);
    assertFalse(out.contains("FAILED"), out);

    // the broker is not cluster-admin: the API server itself says it may not read secrets
    assertTrue(out.contains("auth can-i get secrets -n payments --as=kubejit-broker\n      no\n"), out);

    String request = group(out, "(?m)^      request (\\S+) PENDING_APPROVAL: oncall-debug exec in prod/payments for alice$");
    assertTrue(out.contains("kubejit: alice may not approve or deny their own request " + request), out);
    assertTrue(out.contains("approved by bob at "), out);
    String grant = group(out, "(?m)^      grant (\\S+) active until ");

    // kubectl with the grant's kubeconfig: pods listed, the file read inside the container, secrets forbidden
    assertTrue(Pattern.compile("(?m)^      api-0 +1/1 +Running ").matcher(out).find(), out);
    assertTrue(out.contains("      " + ClusterDemo.APP_LOG.lines().findFirst().orElseThrow() + "\n"), out);
    assertTrue(out.contains("Error from server (Forbidden): secrets is forbidden: User \"alice\" cannot list resource \"secrets\""),
        out);

    // the gateway: kubejit gateway serve, alice's SSH certificate for the grant, the real ssh into the pod
    assertTrue(out.contains("kubejit gateway serve --config "), out);
    assertTrue(Pattern.compile("(?m)^    GET http://127\\.0\\.0\\.1:\\d+/readyz -> 200 ").matcher(out).find(), out);
    String sshLine = "    alice $ ssh -F " + dir.resolve("alice-ssh/config") + " kubejit-" + grant + " -- exec api-0 -- ";
    int allowed = out.indexOf(sshLine + "cat /var/log/app.log\n");
    assertTrue(allowed >= 0, out);
    assertTrue(out.startsWith(sshLine + "cat /var/log/app.log\n      " + ClusterDemo.APP_LOG.lines().findFirst().orElseThrow()
        + "\n", allowed), "ssh printed the file from the pod:\n" + out.substring(allowed));
    int refused = out.indexOf(sshLine + "cat /etc/shadow\n");
    assertTrue(refused > allowed, out);
    assertTrue(out.startsWith(sshLine + "cat /etc/shadow\n      kubejit: refused by rule read-logs: ", refused),
        out.substring(refused));
    try (var casts = Files.walk(dir.resolve("gateway/recordings/" + grant))) {
      assertTrue(casts.anyMatch(p -> p.toString().endsWith(".cast")), "the session was recorded");
    }
    assertTrue(Files.size(dir.resolve("broker/audit/gateway-audit.jsonl")) > 0, "the gateway's audit log");

    // after bob's revoke, the exec plugin refuses with his name and kubectl cannot authenticate
    assertTrue(out.contains("kubejit: grant " + grant + " was revoked by bob at "), out);
    assertTrue(out.contains("getting credentials: exec: executable "), out);
    int after = out.indexOf(sshLine + "cat /var/log/app.log\n", refused);
    assertTrue(after > refused && out.indexOf("Permission denied", after) > after, "the gateway refuses the revoked grant");

    // the API server's audit log, joined with KubeJIT's: the calls alice made under the grant
    List<String> calls = ClusterDemo.callsUnder(out.replace("\n      ", "\n"), grant);
    assertTrue(calls.stream().anyMatch(c -> c.contains(" list pods payments/- 200 ")), calls.toString());
    // kubectl's exec (before its refused secrets listing) and the gateway's (after it), both as
    // alice under the grant; either verb, since a WebSocket stream is audited as get, SPDY as create.
    int secrets = -1;
    for (int i = 0; i < calls.size(); i++) {
      if (calls.get(i).contains(" list secrets payments/- 403 ")) {
        secrets = i;
        break;
      }
    }
    assertTrue(secrets > 0, calls.toString());
    assertTrue(calls.subList(0, secrets).stream().anyMatch(c -> c.matches(".* (get|create) pods/exec payments/api-0 101 .*")),
        "kubectl's exec under the grant: " + calls);
    assertTrue(calls.subList(secrets, calls.size()).stream()
        .anyMatch(c -> c.matches(".* (get|create) pods/exec payments/api-0 101 .*")),
        "the gateway's exec, as alice under the grant: " + calls);
    assertTrue(ClusterDemo.execAfterSecretsRefusal(calls, "api-0"));
    assertTrue(calls.stream().anyMatch(c -> c.contains(" list secrets payments/- 403 ")), calls.toString());
    assertTrue(out.contains("outside any active grant window: 0"), out);

    // torn down: the control plane's directory (audit log included) is gone, the demo's files stay
    Path auditLog = Path.of(group(out, "(?m)^    -> API server https://127\\.0\\.0\\.1:\\d+, audit log (\\S+)$"));
    assertFalse(Files.exists(auditLog.getParent()), auditLog.getParent() + " still exists");
    assertTrue(Files.isRegularFile(dir.resolve("broker/audit/audit.jsonl")));
    assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
        Files.getPosixFilePermissions(dir.resolve("broker/ca/kube-apiserver-client/ca.key"))));
  }

  @Test
  void withoutTheBinariesItSaysWhichScriptsProvideThemAndStartsNothing() throws Exception {
    Path empty = Files.createDirectory(tmp.resolve("empty"));
    Path dir = tmp.resolve("never");
    String testenv = System.getProperty("kubejit.testenv");
    String images = System.getProperty("kubejit.nodeimages");
    // both properties are the most specific settings: when set, they are the only places looked in
    System.setProperty("kubejit.testenv", empty.toString());
    System.setProperty("kubejit.nodeimages", empty.toString());
    Run r;
    try {
      r = ClientAgainstServerTest.cli("demo", "--cluster", "--dir", dir.toString());
    } finally {
      restore("kubejit.testenv", testenv);
      restore("kubejit.nodeimages", images);
    }
    assertEquals(ClusterDemo.EXIT_MISSING, r.exit(), r.toString());
    assertEquals("", r.out());
    assertTrue(r.err().startsWith("kubejit: demo --cluster needs the test control plane and node; nothing was started:"),
        r.err());
    assertTrue(r.err().contains("Run scripts/testenv.sh"), r.err());
    assertTrue(r.err().contains("run scripts/testnode-images.sh"), r.err());
    assertTrue(r.err().contains("KUBEBUILDER_ASSETS"), r.err());
    assertFalse(Files.exists(dir), "nothing is written");
  }

  @Test
  void keepNeedsClusterAndAForeignDirectoryIsNeverEmptied() throws Exception {
    Run keep = ClientAgainstServerTest.cli("demo", "--keep", "--dir", tmp.resolve("k").toString());
    assertEquals(64, keep.exit(), keep.toString());
    assertTrue(keep.err().contains("--keep applies only with --cluster"), keep.err());

    Path foreign = Files.createDirectory(tmp.resolve("foreign"));
    Files.writeString(foreign.resolve("notes.txt"), "mine");
    CliException e = org.junit.jupiter.api.Assertions.assertThrows(CliException.class, () -> ClusterDemo.prepare(foreign));
    assertTrue(e.getMessage().contains("not empty and not from an earlier demo --cluster"), e.getMessage());
    assertEquals("mine", Files.readString(foreign.resolve("notes.txt")));

    Path earlier = tmp.resolve("earlier");
    ClusterDemo.prepare(earlier);
    Files.writeString(earlier.resolve("left-over"), "x");
    ClusterDemo.prepare(earlier);
    assertEquals(List.of(".kubejit-demo-cluster"), Files.list(earlier).map(p -> p.getFileName().toString()).toList());
  }

  @Test
  void theGatewayStepSaysItIsSkippedAndWhyWithoutTheOpenSshTools() throws Exception {
    Path empty = Files.createDirectory(tmp.resolve("no-tools"));
    List<String> missing = ClusterDemo.missingForGateway(empty.toString());
    assertEquals(List.of("ssh", "ssh-keygen"), missing);
    assertEquals("skipped: ssh and ssh-keygen not on PATH (the gateway step runs the real OpenSSH client);"
        + " install openssh-client to see it", ClusterDemo.gatewaySkipped(missing));
    assertEquals(List.of(), ClusterDemo.missingForGateway(System.getenv("PATH")), "this machine has both");
  }

  private static void restore(String property, String value) {
    if (value == null) {
      System.clearProperty(property);
    } else {
      System.setProperty(property, value);
    }
  }

  private static String group(String text, String regex) {
    Matcher m = Pattern.compile(regex).matcher(text);
    assertTrue(m.find(), "no match for " + regex + " in:\n" + text);
    return m.group(1);
  }
}
