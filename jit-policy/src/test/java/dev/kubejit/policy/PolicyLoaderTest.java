package dev.kubejit.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class PolicyLoaderTest {
  private static final String JSON = Fixtures.text("policies/payments-oncall.json");
  private static final String YAML = Fixtures.text("policies/payments-oncall.yaml");
  private static final String XML = Fixtures.text("policies/payments-oncall.xml");

  private static PolicyException fails(String text, PolicyFormat f) {
    return assertThrows(PolicyException.class, () -> Fixtures.parse(text, f));
  }

  private static String replaceOnce(String text, String from, String to) {
    int at = text.indexOf(from);
    assertTrue(at >= 0, "fixture does not contain " + from);
    return text.substring(0, at) + to + text.substring(at + from.length());
  }

  @Test
  void theThreeFormatsLoadToEqualModelsAndTheSameDigest() {
    Policy json = Fixtures.example(PolicyFormat.JSON);
    Policy xml = Fixtures.example(PolicyFormat.XML);
    Policy yaml = Fixtures.example(PolicyFormat.YAML);
    assertEquals(json.document(), xml.document());
    assertEquals(json.document(), yaml.document());
    assertEquals(json.digest(), xml.digest());
    assertEquals(json.digest(), yaml.digest());
    assertEquals(64, json.digest().length());
    assertEquals(List.of("oncall-debug", "break-glass"), json.roleNames());
    assertEquals(Optional.of("abc123"), json.revision());
  }

  @Test
  void maxDurationsGivesEachRolesCeilingInFileOrderAndCannotBeChanged() {
    Policy p = Fixtures.example(PolicyFormat.YAML);
    java.util.Map<String, java.time.Duration> ceilings = p.maxDurations();
    assertEquals(List.of("oncall-debug", "break-glass"), List.copyOf(ceilings.keySet()));
    assertEquals(java.time.Duration.ofHours(1), ceilings.get("oncall-debug"));
    assertEquals(java.time.Duration.ofMinutes(15), ceilings.get("break-glass"));
    assertThrows(UnsupportedOperationException.class, () -> ceilings.put("x", java.time.Duration.ZERO));
    assertEquals(java.time.Duration.ofHours(2),
        Fixtures.parse(replaceOnce(JSON, "\"PT1H\"", "\"PT2H\""), PolicyFormat.JSON).maxDurations().get("oncall-debug"));
  }

  @Test
  void digestChangesWithContentButNotWithFormattingOrEquivalentDurations() {
    String digest = Fixtures.parse(JSON, PolicyFormat.JSON).digest();
    assertEquals(digest, Fixtures.parse(JSON.replace("\n", "\n  "), PolicyFormat.JSON).digest());
    assertEquals(digest, Fixtures.parse(replaceOnce(JSON, "\"PT1H\"", "\"PT60M\""), PolicyFormat.JSON).digest());
    assertNotEquals(digest, Fixtures.parse(replaceOnce(JSON, "\"PT1H\"", "\"PT2H\""), PolicyFormat.JSON).digest());
    assertNotEquals(digest, Fixtures.parse(replaceOnce(JSON, "\"-i\", ", ""), PolicyFormat.JSON).digest());
  }

  @Test
  void loadsFromAFileByExtension(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("p.yml");
    Files.writeString(f, YAML);
    Policy p = PolicyLoader.load(f, "0123abc");
    assertEquals(Fixtures.example(PolicyFormat.JSON).digest(), p.digest());
    assertEquals(Optional.of("0123abc"), p.revision());
    PolicyException e = assertThrows(PolicyException.class, () -> PolicyLoader.load(dir.resolve("p.txt")));
    assertTrue(e.getMessage().contains("cannot tell the policy format"), e.getMessage());
    assertThrows(PolicyException.class, () -> PolicyLoader.load(dir.resolve("missing.json")));
    assertThrows(IllegalArgumentException.class, () -> PolicyLoader.load(f, "bad revision\n"));
  }

  /** Issue 9 §2: a group a policy names follows the same rule as an identity's groups. */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {
      "sre-leads\\u200b", "sre\\u00adleads", "\\uff53re-leads", "sr\\u0435-leads", "sre leads", "sre\\u00a0leads"})
  void invisibleOrLookAlikeGroupNamesAreRefused(String group) {
    String text = replaceOnce(JSON, "\"requesters\": [\"oncall-payments\"]", "\"requesters\": [\"" + group + "\"]");
    PolicyException e = fails(text, PolicyFormat.JSON);
    assertTrue(e.getMessage().contains("group name"), e.getMessage());
    assertEquals(Optional.of("/roles/0/requesters/0"), e.path());
  }

  /** Issue 11: an RBAC template name follows the DNS-1123 label rule jit-rbac applies (KubeNames), not a looser one. */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"oncall.debug", "a..b", "Oncall-debug", "-debug",
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"})
  void rbacTemplateNamesAreDnsLabels(String template) {
    String text = replaceOnce(JSON, "\"template\": \"oncall-debug\"", "\"template\": \"" + template + "\"");
    PolicyException e = fails(text, PolicyFormat.JSON);
    assertTrue(e.getMessage().contains("RBAC template name must be a DNS-1123 label"), e.getMessage());
    assertEquals(Optional.of("/roles/0/rbac/template"), e.path());
  }

  @Test
  void unknownFieldIsAnErrorWithFileLineColumnAndPath() {
    String text = replaceOnce(JSON, "\"maxDuration\": \"PT1H\",", "\"maxDuration\": \"PT1H\", \"maxDurations\": \"PT2H\",");
    PolicyException e = fails(text, PolicyFormat.JSON);
    assertEquals("test.json", e.source());
    assertEquals(11, e.line());
    assertTrue(e.column() > 0);
    assertEquals(Optional.of("/roles/0/maxDurations"), e.path());
    assertTrue(e.getMessage().startsWith("test.json:11:"), e.getMessage());
    assertTrue(e.getMessage().contains("unknown field \"maxDurations\""), e.getMessage());
  }

  @Test
  void quotedNumberIsAnErrorInJsonAndYaml() {
    PolicyException j = fails(replaceOnce(JSON, "\"minApprovals\": 1", "\"minApprovals\": \"1\""), PolicyFormat.JSON);
    assertEquals(Optional.of("/roles/0/actions/exec/minApprovals"), j.path());
    assertTrue(j.getMessage().contains("expected an integer, found the string \"1\""), j.getMessage());
    PolicyException y = fails(replaceOnce(YAML, "minApprovals: 1}", "minApprovals: \"1\"}"), PolicyFormat.YAML);
    assertEquals(Optional.of("/roles/0/actions/exec/minApprovals"), y.path());
    fails(replaceOnce(JSON, "\"minApprovals\": 1", "\"minApprovals\": 1.0"), PolicyFormat.JSON);
    fails(replaceOnce(JSON, "\"minApprovals\": 1", "\"minApprovals\": 0"), PolicyFormat.JSON);
    fails(replaceOnce(JSON, "\"minApprovals\": 1", "\"minApprovals\": 99999999999"), PolicyFormat.JSON);
    fails(replaceOnce(JSON, "\"breakGlass\": true", "\"breakGlass\": \"true\""), PolicyFormat.JSON);
    fails(replaceOnce(YAML, "breakGlass: true", "breakGlass: yes"), PolicyFormat.YAML);
    fails(replaceOnce(YAML, "minApprovals: 1}", "minApprovals: 0x1}"), PolicyFormat.YAML);
    fails(replaceOnce(JSON, "\"name\": \"payments-oncall\"", "\"name\": null"), PolicyFormat.JSON);
    fails(replaceOnce(JSON, "\"requesters\": [\"oncall-payments\"]", "\"requesters\": \"oncall-payments\""),
        PolicyFormat.JSON);
  }

  @Test
  void xmlNumbersAndBooleansAreConvertedStrictly() {
    PolicyException e = fails(replaceOnce(XML, "<minApprovals>1</minApprovals>", "<minApprovals>one</minApprovals>"),
        PolicyFormat.XML);
    assertEquals(Optional.of("/roles/0/actions/1/minApprovals"), e.path());
    assertTrue(e.getMessage().contains("expected an integer, found \"one\""), e.getMessage());
    fails(replaceOnce(XML, "<minApprovals>1</minApprovals>", "<minApprovals>1e0</minApprovals>"), PolicyFormat.XML);
    fails(replaceOnce(XML, "<breakGlass>true</breakGlass>", "<breakGlass>yes</breakGlass>"), PolicyFormat.XML);
    fails(replaceOnce(XML, "<minApprovals>1</minApprovals>", "<minApprovals><x>1</x></minApprovals>"), PolicyFormat.XML);
    fails(replaceOnce(XML, "<namespace>payments</namespace>", "<ns>payments</ns>"), PolicyFormat.XML);
    fails(replaceOnce(XML, "<AccessPolicy>", "<Policy>").replace("</AccessPolicy>", "</Policy>"), PolicyFormat.XML);
  }

  @ParameterizedTest
  @EnumSource(PolicyFormat.class)
  void duplicateKeysAreErrors(PolicyFormat f) {
    String text;
    switch (f) {
      case JSON:
        text = replaceOnce(JSON, "\"maxDuration\": \"PT1H\",", "\"maxDuration\": \"PT1H\", \"maxDuration\": \"PT8H\",");
        break;
      case YAML:
        text = replaceOnce(YAML, "    maxDuration: PT1H\n", "    maxDuration: PT1H\n    maxDuration: PT8H\n");
        break;
      default:
        text = replaceOnce(XML, "<maxDuration>PT1H</maxDuration>", "<maxDuration>PT1H</maxDuration><maxDuration>PT8H</maxDuration>");
    }
    PolicyException e = fails(text, f);
    assertTrue(e.getMessage().toLowerCase().contains("duplicate"), e.getMessage());
    assertTrue(e.line() > 0, e.getMessage());
  }

  @ParameterizedTest
  @EnumSource(PolicyFormat.class)
  void duplicateRoleNamesAndRuleIdsAreErrors(PolicyFormat f) {
    String base = f == PolicyFormat.JSON ? JSON : f == PolicyFormat.YAML ? YAML : XML;
    String role = f == PolicyFormat.JSON ? "\"name\": \"break-glass\"" : f == PolicyFormat.YAML ? "name: break-glass"
        : "<name>break-glass</name>";
    PolicyException e = fails(replaceOnce(base, role, role.replace("break-glass", "oncall-debug")), f);
    assertTrue(e.getMessage().contains("duplicate role name \"oncall-debug\""), e.getMessage());
    assertEquals(Optional.of("/roles/1/name"), e.path());
    String rule = f == PolicyFormat.JSON ? "\"id\": \"tail-logs\"" : f == PolicyFormat.YAML ? "id: tail-logs"
        : "<id>tail-logs</id>";
    PolicyException r = fails(replaceOnce(base, rule, rule.replace("tail-logs", "read-logs")), f);
    assertTrue(r.getMessage().contains("duplicate rule id \"read-logs\""), r.getMessage());
  }

  @Test
  void badDurationsRegexesAndValuesAreErrorsNamingTheValue() {
    PolicyException d = fails(replaceOnce(JSON, "\"PT1H\"", "\"1h\""), PolicyFormat.JSON);
    assertEquals(Optional.of("/roles/0/maxDuration"), d.path());
    assertTrue(d.getMessage().contains("not an ISO-8601 duration such as PT30M: \"1h\""), d.getMessage());
    fails(replaceOnce(JSON, "\"PT1H\"", "\"-PT1H\""), PolicyFormat.JSON);
    PolicyException order = fails(replaceOnce(JSON, "\"PT30M\"", "\"PT2H\""), PolicyFormat.JSON);
    assertTrue(order.getMessage().contains("exceeds maxDuration"), order.getMessage());
    PolicyException re = fails(replaceOnce(JSON, "^(INC|CHG)-[0-9]+$", "^(INC|CHG-[0-9]+$"), PolicyFormat.JSON);
    assertEquals(Optional.of("/roles/0/justification/ticketPattern"), re.path());
    assertTrue(re.getMessage().contains("not a valid regular expression"), re.getMessage());
    fails(replaceOnce(JSON, "\"path+\"]", "\"file+\"]"), PolicyFormat.JSON);
    fails(replaceOnce(JSON, "\"operands\": [\"any\", \"path+\"]", "\"operands\": [\"path*\", \"any\"]"), PolicyFormat.JSON);
    fails(replaceOnce(JSON, "\"/var/log/\"", "\"var/log/\""), PolicyFormat.JSON);
    fails(replaceOnce(JSON, "\"/var/log/\"", "\"/var/log/../\""), PolicyFormat.JSON);
    fails(replaceOnce(JSON, "\"command\": \"cat\"", "\"command\": \"/bin/cat\""), PolicyFormat.JSON);
    fails(replaceOnce(JSON, "\"approval\": \"auto\"", "\"approval\": \"automatic\""), PolicyFormat.JSON);
    fails(replaceOnce(JSON, "{\"approval\": \"auto\"}", "{\"approval\": \"auto\", \"approvers\": [\"x\"]}"),
        PolicyFormat.JSON);
    fails(replaceOnce(JSON, "\"kubejit.dev/v1\"", "\"kubejit.dev/v2\""), PolicyFormat.JSON);
    fails(replaceOnce(JSON, "{\"type\": \"number\", \"argument\": \"required\"}",
        "{\"type\": \"int\", \"argument\": \"required\"}"), PolicyFormat.JSON);
    fails(replaceOnce(JSON, "\"flags\": [\"-f\"]", "\"flags\": [\"-n\"]"), PolicyFormat.JSON);
    fails(replaceOnce(JSON, "\"namespaces\": [\"payments\", ", "\"namespaces\": [\"Payments\", "), PolicyFormat.JSON);
    fails(replaceOnce(JSON, ", \"paths\": [\"/var/log/\", \"/app/logs/\"]}", "}"), PolicyFormat.JSON);
  }

  @Test
  void missingRequiredFieldsAreErrors() {
    PolicyException e = fails(replaceOnce(JSON, "\"maxDuration\": \"PT1H\",", ""), PolicyFormat.JSON);
    assertTrue(e.getMessage().contains("maxDuration is required"), e.getMessage());
    assertEquals(Optional.of("/roles/0"), e.path());
    fails(replaceOnce(JSON, "\"justification\": {\"required\": true},", ""), PolicyFormat.JSON);
    fails("{\"apiVersion\": \"kubejit.dev/v1\", \"kind\": \"AccessPolicy\", \"metadata\": {\"name\": \"x\"}, \"roles\": []}",
        PolicyFormat.JSON);
    fails("[]", PolicyFormat.JSON);
    fails("", PolicyFormat.JSON);
    fails("", PolicyFormat.YAML);
    fails("", PolicyFormat.XML);
  }

  @Test
  void trailingContentAndMultipleYamlDocumentsAreErrors() {
    fails(JSON + " {}", PolicyFormat.JSON);
    fails(YAML + "\n---\napiVersion: kubejit.dev/v1\n", PolicyFormat.YAML);
  }

  @Test
  void yamlAnchorsAliasesAndTagsAreRefused() {
    PolicyException alias = fails(replaceOnce(replaceOnce(YAML, "paths: [/var/log/, /app/logs/]",
        "paths: &logs [/var/log/, /app/logs/]"), "paths: [/var/log/, /app/logs/]", "paths: *logs"), PolicyFormat.YAML);
    assertTrue(alias.getMessage().contains("YAML anchors"), alias.getMessage());
    PolicyException tag = fails(replaceOnce(YAML, "minApprovals: 1}", "minApprovals: !!int 1}"), PolicyFormat.YAML);
    assertTrue(tag.getMessage().contains("YAML tags"), tag.getMessage());
  }

  @Test
  void xmlExternalEntityPayloadIsRefusedAndNothingIsRead(@TempDir Path dir) throws Exception {
    Path secret = dir.resolve("secret.txt");
    Files.writeString(secret, "TOP-SECRET-CONTENT");
    String xxe = "<?xml version=\"1.0\"?>\n<!DOCTYPE AccessPolicy [\n  <!ENTITY xxe SYSTEM \"" + secret.toUri()
        + "\">\n]>\n" + replaceOnce(XML.substring(XML.indexOf("<AccessPolicy>")),
            "<name>payments-oncall</name>", "<name>&xxe;</name>");
    PolicyException e = fails(xxe, PolicyFormat.XML);
    assertTrue(e.getMessage().contains("DOCTYPE is not allowed"), e.getMessage());
    assertTrue(!e.getMessage().contains("TOP-SECRET"), e.getMessage());
    assertEquals(2, e.line());
    PolicyException entity = fails(replaceOnce(XML, "<name>payments-oncall</name>", "<name>&xxe;</name>"), PolicyFormat.XML);
    assertTrue(!entity.getMessage().contains("TOP-SECRET"), entity.getMessage());
    String billion = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;\">]>"
        + "<AccessPolicy><apiVersion>&lol2;</apiVersion></AccessPolicy>";
    assertTrue(fails(billion, PolicyFormat.XML).getMessage().contains("DOCTYPE"));
  }

  @Test
  void oversizedInputIsRefused() {
    byte[] big = new byte[dev.kubejit.policy.internal.StrictReader.MAX_BYTES + 1];
    assertThrows(PolicyException.class, () -> PolicyLoader.parse(big, PolicyFormat.JSON, "big.json", null));
  }

  @Test
  void deepNestingIsAPolicyExceptionNotAStackOverflow() {
    String deep = "{\"apiVersion\": " + "[".repeat(100_000) + "]".repeat(100_000) + "}";
    assertThrows(PolicyException.class, () -> Fixtures.parse(deep, PolicyFormat.JSON));
    assertThrows(PolicyException.class, () -> Fixtures.parse("a: " + "[".repeat(10_000), PolicyFormat.YAML));
  }

  @Test
  void clusterScopedRoleNeedsNoNamespacesAndEmptyXmlListsWork() {
    String xml = "<AccessPolicy><apiVersion>kubejit.dev/v1</apiVersion><kind>AccessPolicy</kind>"
        + "<metadata><name>c</name></metadata><roles><role><name>cluster-read</name>"
        + "<requesters><group>platform</group></requesters><clusterScope>true</clusterScope>"
        + "<clusters><cluster>prod-*</cluster></clusters>"
        + "<defaultDuration>PT10M</defaultDuration><maxDuration>PT10M</maxDuration>"
        + "<justification><required>false</required></justification>"
        + "<actions><action name=\"view\"><approval>auto</approval></action></actions>"
        + "<commands><allow/></commands></role></roles></AccessPolicy>";
    String json = "{\"apiVersion\":\"kubejit.dev/v1\",\"kind\":\"AccessPolicy\",\"metadata\":{\"name\":\"c\"},"
        + "\"roles\":[{\"name\":\"cluster-read\",\"requesters\":[\"platform\"],\"clusterScope\":true,"
        + "\"clusters\":[\"prod-*\"],\"defaultDuration\":\"PT10M\",\"maxDuration\":\"PT10M\","
        + "\"justification\":{\"required\":false},\"actions\":{\"view\":{\"approval\":\"auto\"}},\"commands\":{\"allow\":[]}}]}";
    assertEquals(Fixtures.parse(json, PolicyFormat.JSON).document(), Fixtures.parse(xml, PolicyFormat.XML).document());
  }

  private static PolicyException failsWith(String text, PolicyFormat f, String path, String messagePart) {
    PolicyException e = fails(text, f);
    assertEquals(Optional.of(path), e.path(), e.getMessage());
    assertTrue(e.getMessage().contains(messagePart), e.getMessage());
    return e;
  }

  private static final String RULES_HEAD = "apiVersion: kubejit.dev/v1\nkind: AccessPolicy\nmetadata: {name: r}\nroles:\n"
      + "  - name: r\n    requesters: [g]\n    namespaces: [n]\n    defaultDuration: PT5M\n    maxDuration: PT5M\n"
      + "    justification: {required: false}\n    actions: {exec: {approval: manual, approvers: [a]}}\n"
      + "    commands:\n      allow:\n";

  @Test
  void optionKindsLoadTheSameFromJsonYamlAndXml() {
    String json = "{\"apiVersion\": \"kubejit.dev/v1\", \"kind\": \"AccessPolicy\", \"metadata\": {\"name\": \"r\"},"
        + " \"roles\": [{\"name\": \"r\", \"requesters\": [\"g\"], \"namespaces\": [\"n\"], \"defaultDuration\": \"PT5M\","
        + " \"maxDuration\": \"PT5M\", \"justification\": {\"required\": false},"
        + " \"actions\": {\"exec\": {\"approval\": \"manual\", \"approvers\": [\"a\"]}},"
        + " \"commands\": {\"allow\": [{\"id\": \"t\", \"command\": \"tail\", \"flagsWithValue\": {"
        + "\"--follow\": {\"type\": \"any\", \"argument\": \"optional\"}, \"-n\": {\"type\": \"number\", \"argument\": \"required\"},"
        + " \"-c\": \"number\"}, \"operands\": [\"path*\"], \"allowNoOperand\": true, \"paths\": [\"/var/log/\"]},"
        + " {\"id\": \"g\", \"command\": \"xzgrep\", \"flags\": [\"-i\"], \"flagsWithValue\": {\"-e\": {\"type\": \"any\", \"argument\": \"required\"}},"
        + " \"operands\": [\"any\", \"path+\"], \"patternOptions\": [\"-e\", \"-i\"], \"paths\": [\"/var/log/\"]}]}}]}";
    String yaml = RULES_HEAD
        + "        - {id: t, command: tail, flagsWithValue: {--follow: {type: any, argument: optional},"
        + " -n: {argument: required, type: number}, -c: number}, operands: ['path*'], allowNoOperand: true, paths: [/var/log/]}\n"
        + "        - {id: g, command: xzgrep, flags: [-i], flagsWithValue: {-e: {type: any, argument: required}},"
        + " operands: [any, path+], patternOptions: [-e, -i], paths: [/var/log/]}\n";
    String xml = "<AccessPolicy><apiVersion>kubejit.dev/v1</apiVersion><kind>AccessPolicy</kind>"
        + "<metadata><name>r</name></metadata><roles><role><name>r</name><requesters><group>g</group></requesters>"
        + "<namespaces><namespace>n</namespace></namespaces><defaultDuration>PT5M</defaultDuration>"
        + "<maxDuration>PT5M</maxDuration><justification><required>false</required></justification>"
        + "<actions><action name=\"exec\"><approval>manual</approval><approvers><group>a</group></approvers></action></actions>"
        + "<commands><allow><rule><id>t</id><command>tail</command><flagsWithValue>"
        + "<flag name=\"--follow\" type=\"any\" argument=\"optional\"/><flag><name>-n</name><type>number</type>"
        + "<argument>required</argument></flag><flag name=\"-c\" type=\"number\"/></flagsWithValue>"
        + "<operands><operand>path*</operand></operands><allowNoOperand>true</allowNoOperand><paths><path>/var/log/</path></paths></rule>"
        + "<rule><id>g</id><command>xzgrep</command><flags><flag>-i</flag></flags><flagsWithValue>"
        + "<flag name=\"-e\" type=\"any\" argument=\"required\"/></flagsWithValue>"
        + "<operands><operand>any</operand><operand>path+</operand></operands>"
        + "<patternOptions><flag>-e</flag><flag>-i</flag></patternOptions><paths><path>/var/log/</path></paths></rule>"
        + "</allow></commands></role></roles></AccessPolicy>";
    Policy j = Fixtures.parse(json, PolicyFormat.JSON);
    assertEquals(j.document(), Fixtures.parse(yaml, PolicyFormat.YAML).document());
    assertEquals(j.document(), Fixtures.parse(xml, PolicyFormat.XML).document());
    assertEquals(j.digest(), Fixtures.parse(xml, PolicyFormat.XML).digest());
    Model.CommandRule t = j.document().roles().get(0).commands().get(0);
    assertEquals(new Model.ValueOption(Model.ArgType.ANY, Model.ArgKind.OPTIONAL), t.flagsWithValue().get("--follow"));
    assertEquals(new Model.ValueOption(Model.ArgType.NUMBER, Model.ArgKind.REQUIRED), t.flagsWithValue().get("-n"));
    assertEquals(new Model.ValueOption(Model.ArgType.NUMBER, Model.ArgKind.UNDECLARED), t.flagsWithValue().get("-c"));
    assertTrue(t.allowNoOperand());
    assertEquals(List.of("-e", "-i"), j.document().roles().get(0).commands().get(1).patternOptions());
    String canonical = j.canonicalJson();
    assertTrue(canonical.contains("\"--follow\":{\"argument\":\"optional\",\"type\":\"any\"}"), canonical);
    assertTrue(canonical.contains("\"-c\":\"number\""), canonical);
    assertTrue(canonical.contains("\"patternOptions\":[\"-e\",\"-i\"]"), canonical);
    assertNotEquals(j.digest(), Fixtures.parse(json.replace("\"optional\"", "\"required\""), PolicyFormat.JSON).digest(),
        "the kind is part of the digest");
  }

  @Test
  void badOptionKindsAreErrors() {
    failsWith(RULES_HEAD + "        - {id: t, command: tail, flagsWithValue: {-n: {type: number, argument: maybe}}, "
        + "operands: [path+], paths: [/var/log/]}\n", PolicyFormat.YAML, "/roles/0/commands/allow/0/flagsWithValue/-n",
        "argument is required or optional");
    failsWith(RULES_HEAD + "        - {id: t, command: tail, flagsWithValue: {-n: {type: number}}, "
        + "operands: [path+], paths: [/var/log/]}\n", PolicyFormat.YAML, "/roles/0/commands/allow/0/flagsWithValue/-n",
        "argument is required");
    failsWith(RULES_HEAD + "        - {id: t, command: tail, flagsWithValue: {-n: {type: number, argument: required, default: 1}}, "
        + "operands: [path+], paths: [/var/log/]}\n", PolicyFormat.YAML,
        "/roles/0/commands/allow/0/flagsWithValue/-n/default", "unknown field");
    failsWith(RULES_HEAD + "        - {id: t, command: tail, flagsWithValue: {-n: [number]}, "
        + "operands: [path+], paths: [/var/log/]}\n", PolicyFormat.YAML, "/roles/0/commands/allow/0/flagsWithValue/-n",
        "expected a string");
    failsWith(RULES_HEAD + "        - {id: l, command: ls, flags: [-lw], flagsWithValue: {-w: {type: number, argument: required}}, "
        + "operands: [path+], paths: [/var/log/]}\n", PolicyFormat.YAML, "/roles/0/commands/allow/0/flags",
        "would be read by getopt as options ending in -w");
  }

  @Test
  void patternOptionsMustFitTheLayout() {
    failsWith(RULES_HEAD + "        - {id: g, command: foo, operands: [path+], patternOptions: [], paths: [/var/log/]}\n",
        PolicyFormat.YAML, "/roles/0/commands/allow/0/patternOptions", "single non-path operand");
    failsWith(RULES_HEAD + "        - {id: g, command: foo, operands: [any, path+], patternOptions: [-e], paths: [/var/log/]}\n",
        PolicyFormat.YAML, "/roles/0/commands/allow/0/patternOptions", "-e is not declared");
    failsWith(RULES_HEAD + "        - {id: g, command: foo, flags: [-e], operands: ['any*'], patternOptions: [-e]}\n",
        PolicyFormat.YAML, "/roles/0/commands/allow/0/patternOptions", "single non-path operand");
    failsWith(RULES_HEAD + "        - {id: g, command: foo, flags: [-e], operands: [], patternOptions: [-e]}\n",
        PolicyFormat.YAML, "/roles/0/commands/allow/0/patternOptions", "not no operand");
  }

  @Test
  void ambiguousLayoutsLoadButRefuseEveryCommandWithAnOption() {
    Policy p = Fixtures.parse(RULES_HEAD
        + "        - {id: x, command: xzgrep, flags: [-i], flagsWithValue: {-e: any}, operands: [any, path+], paths: [/var/log/]}\n"
        + "        - {id: m, command: foo, flags: [-v], operands: [path, number, path], paths: [/var/log/]}\n"
        + "        - {id: d, command: bar, flags: [-v], operands: [any, path+], patternOptions: [], paths: [/var/log/]}\n"
        + "        - {id: t, command: baz, flags: [-v], operands: [path, number], paths: [/var/log/]}\n", PolicyFormat.YAML);
    PolicyEngine e = PolicyEngine.of(p);
    for (String line : List.of("xzgrep -eroot /etc/shadow /var/log/a.xz", "xzgrep -i root /var/log/a.xz",
        "foo -v /var/log/a 5 /var/log/b")) {
      dev.kubejit.api.Decision d = e.checkCommand("r", dev.kubejit.api.Use.commandLine(line));
      assertTrue(d.reason().startsWith("[operands-ambiguous] "), line + " -> " + d);
    }
    for (String line : List.of("xzgrep root /var/log/a.xz", "foo /var/log/a 5 /var/log/b", "bar -v x /var/log/a",
        "baz -v /var/log/a 5")) {
      assertEquals(dev.kubejit.api.Decision.Outcome.ALLOW,
          e.checkCommand("r", dev.kubejit.api.Use.commandLine(line)).outcome(), line);
    }
    assertEquals(List.of("operands-ambiguous", "option-kind-undeclared", "operands-ambiguous"),
        PolicyLinter.lint(p).stream().map(PolicyLinter.Warning::code).collect(java.util.stream.Collectors.toList()));
  }

  @Test
  void allowNoOperandNeedsAPathStarLastOperand() {
    for (String ops : List.of("[path+]", "[path]", "[]", "[any]", "['any*']")) {
      failsWith(RULES_HEAD + "        - {id: l, command: ls, operands: " + ops + ", allowNoOperand: true, paths: [/var/log/]}\n",
          PolicyFormat.YAML, "/roles/0/commands/allow/0/allowNoOperand", "allowNoOperand needs a last operand path*");
    }
    fails(RULES_HEAD + "        - {id: l, command: ls, operands: ['path*'], allowNoOperand: yes, paths: [/var/log/]}\n",
        PolicyFormat.YAML);
  }
}
