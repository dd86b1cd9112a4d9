package dev.kubejit.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.api.Action;
import dev.kubejit.api.Decision;
import dev.kubejit.api.Use;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** The per-role {@code exec} options: the container allow-list and {@code longRunning: gateway-only}. */
class ExecOptionsTest {
  private static final String EXAMPLE = Fixtures.text("policies/payments-oncall.yaml");

  /** The example policy with {@code exec} options added to both roles. */
  private static PolicyEngine engine(String options) {
    String text = EXAMPLE.replace("    commands:\n      allow:\n        - id: read-logs",
        options + "    commands:\n      allow:\n        - id: read-logs")
        .replace("    breakGlass: true\n", "    breakGlass: true\n" + options);
    return PolicyEngine.of(Fixtures.parse(text, PolicyFormat.YAML));
  }

  private static final PolicyEngine GATEWAY_ONLY =
      engine("    exec:\n      containers: [app, sidecar]\n      longRunning: gateway-only\n");
  private static final PolicyEngine PLAIN = PolicyEngine.of(Fixtures.parse(EXAMPLE, PolicyFormat.YAML));

  private static Decision direct(PolicyEngine e, String role, Use.Stream stream, String container, String... argv) {
    Use use = Use.command(List.of(argv)).in("api-0", container).over(stream);
    return e.authorize(Fixtures.execGrant(role), use);
  }

  private static void refused(Decision d, String rule, String code) {
    assertEquals(Decision.Outcome.DENY, d.outcome(), d.toString());
    assertEquals(rule, d.ruleId().orElseThrow(), d.toString());
    assertTrue(d.reason().startsWith("[" + code + "]"), d.reason());
  }

  @Test
  void withoutTheOptionsEverythingIsAsBefore() {
    assertEquals(Decision.Outcome.ALLOW,
        direct(PLAIN, "oncall-debug", Use.Stream.DIRECT, "anything", "tail", "-f", "/var/log/app.log").outcome());
    assertEquals(PLAIN.policy().digest(), PolicyEngine.of(Fixtures.example(PolicyFormat.YAML)).policy().digest(),
        "a policy without exec options keeps its digest");
    assertNotEquals(PLAIN.policy().digest(), GATEWAY_ONLY.policy().digest());
  }

  @Test
  void containersOutsideTheAllowListAreRefusedWithTheRule() {
    refused(direct(GATEWAY_ONLY, "oncall-debug", Use.Stream.DIRECT, "db", "cat", "/var/log/app.log"),
        "oncall-debug/containers", "container-not-allowed");
    assertEquals(Decision.Outcome.ALLOW,
        direct(GATEWAY_ONLY, "oncall-debug", Use.Stream.DIRECT, "sidecar", "cat", "/var/log/app.log").outcome());
    // a direct stream that names no container: the API server would choose one, so refused
    refused(direct(GATEWAY_ONLY, "oncall-debug", Use.Stream.DIRECT, null, "cat", "/var/log/app.log"),
        "oncall-debug/containers", "container-not-allowed");
    // the allow-list binds break-glass roles too, and attach (an exec without a command)
    Use attach = Use.action(Action.EXEC).in("api-0", "db");
    refused(GATEWAY_ONLY.authorize(Fixtures.execGrant("break-glass"), attach), "break-glass/containers",
        "container-not-allowed");
  }

  @ParameterizedTest
  @ValueSource(strings = {"tail -f /var/log/app.log", "tail -F /var/log/app.log", "tail --follow /var/log/app.log",
      "tail --follow=name /var/log/app.log", "tail -fn100 /var/log/app.log", "tail -n 5 -f /var/log/app.log",
      "/usr/bin/tail -f /var/log/app.log", "journalctl -f", "journalctl --follow -u app", "dmesg -w",
      "sleep 3600", "watch ls", "top", "sh", "bash -c ls", "python3", "ping 10.0.0.1", "vmstat 1",
      "kubectl logs -f api-0"})
  void longRunningDirectExecIsRefusedForGatewayOnlyRoles(String line) {
    Use use = Use.command(List.of(line.split(" "))).in("api-0", "app").over(Use.Stream.DIRECT);
    Decision d = GATEWAY_ONLY.authorize(Fixtures.execGrant("break-glass"), use);
    refused(d, "break-glass/longRunning", "long-running");
    assertTrue(d.reason().contains("gateway"), d.reason());
  }

  @ParameterizedTest
  @ValueSource(strings = {"tail -n 100 /var/log/app.log", "tail /var/log/app.log", "tail -- -f", "cat /var/log/app.log",
      "dmesg -T", "dmesg", "ping -c 3 10.0.0.1", "vmstat", "ps aux", "ls -la /var/log"})
  void boundedDirectExecPasses(String line) {
    Use use = Use.command(List.of(line.split(" "))).in("api-0", "app").over(Use.Stream.DIRECT);
    assertEquals(Decision.Outcome.ALLOW, GATEWAY_ONLY.authorize(Fixtures.execGrant("break-glass"), use).outcome(),
        line);
  }

  @Test
  void interactiveAndAttachedDirectStreamsAreRefusedEvenForBreakGlass() {
    refused(direct(GATEWAY_ONLY, "break-glass", Use.Stream.DIRECT_INTERACTIVE, "app", "cat", "/var/log/app.log"),
        "break-glass/longRunning", "long-running");
    Use attach = Use.action(Action.EXEC).in("api-0", "app").over(Use.Stream.DIRECT);
    refused(GATEWAY_ONLY.authorize(Fixtures.execGrant("break-glass"), attach), "break-glass/longRunning",
        "long-running");
    // without the option, break-glass may still open a shell directly
    Use shell = Use.action(Action.EXEC).in("api-0", "app").over(Use.Stream.DIRECT_INTERACTIVE);
    assertEquals(Decision.Outcome.ALLOW, PLAIN.authorize(Fixtures.execGrant("break-glass"), shell).outcome());
  }

  @Test
  void theGatewayMayStillRunWhatTheCommandRulesAllow() {
    Use followed = Use.command(List.of("tail", "-f", "/var/log/app.log")).in("api-0", "app");
    assertEquals(Decision.Outcome.ALLOW, GATEWAY_ONLY.authorize(Fixtures.execGrant("oncall-debug"), followed).outcome());
    Use shell = Use.action(Action.EXEC).in("api-0", "app");
    assertEquals(Decision.Outcome.ALLOW, GATEWAY_ONLY.authorize(Fixtures.execGrant("break-glass"), shell).outcome());
  }

  @Test
  void badOptionsAreRefusedAtLoadWithThePath() {
    PolicyException unknown = assertThrows(PolicyException.class, () -> engine("    exec: {timeout: 5}\n"));
    assertTrue(unknown.getMessage().contains("timeout") && unknown.getMessage().contains("containers, longRunning"),
        unknown.getMessage());
    PolicyException value = assertThrows(PolicyException.class, () -> engine("    exec: {longRunning: never}\n"));
    assertTrue(value.getMessage().contains("allow or gateway-only"), value.getMessage());
    PolicyException empty = assertThrows(PolicyException.class, () -> engine("    exec: {containers: []}\n"));
    assertTrue(empty.getMessage().contains("empty containers list"), empty.getMessage());
    PolicyException name = assertThrows(PolicyException.class, () -> engine("    exec: {containers: [App_1]}\n"));
    assertTrue(name.getMessage().contains("container name"), name.getMessage());
  }

  @Test
  void theSameOptionsReadFromJsonAndXmlGiveTheSameDigest() {
    String json = Fixtures.text("policies/payments-oncall.json");
    String xml = Fixtures.text("policies/payments-oncall.xml");
    Policy j = Fixtures.parse(json.replaceFirst("\"commands\"",
        "\"exec\": {\"containers\": [\"app\", \"sidecar\"], \"longRunning\": \"gateway-only\"}, \"commands\""),
        PolicyFormat.JSON);
    Policy x = Fixtures.parse(xml.replaceFirst("<commands>",
        "<exec><containers><container>app</container><container>sidecar</container></containers>"
            + "<longRunning>gateway-only</longRunning></exec><commands>"), PolicyFormat.XML);
    assertEquals(j.digest(), x.digest());
  }

  @Test
  void theSchemaAgreesWithTheLoader() throws Exception {
    com.networknt.schema.JsonSchema schema;
    try (java.io.InputStream in = PolicyLoader.class.getResourceAsStream("policy.schema.json")) {
      schema = com.networknt.schema.JsonSchemaFactory.getInstance(com.networknt.schema.SpecVersion.VersionFlag.V202012)
          .getSchema(in);
    }
    com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
    String text = Fixtures.text("policies/payments-oncall.json");
    String good = text.replaceFirst("\"commands\"",
        "\"exec\": {\"containers\": [\"app\"], \"longRunning\": \"gateway-only\"}, \"commands\"");
    assertTrue(schema.validate(json.readTree(good)).isEmpty(), schema.validate(json.readTree(good)).toString());
    Fixtures.parse(good, PolicyFormat.JSON);
    for (String bad : List.of("{\"longRunning\": \"never\"}", "{\"containers\": []}", "{\"containers\": [\"A\"]}",
        "{\"timeout\": 5}", "{\"containers\": \"app\"}")) {
      String edited = text.replaceFirst("\"commands\"", "\"exec\": " + java.util.regex.Matcher.quoteReplacement(bad)
          + ", \"commands\"");
      assertTrue(!schema.validate(json.readTree(edited)).isEmpty(), "schema should refuse " + bad);
      assertThrows(PolicyException.class, () -> Fixtures.parse(edited, PolicyFormat.JSON), "loader should refuse " + bad);
    }
  }
}
