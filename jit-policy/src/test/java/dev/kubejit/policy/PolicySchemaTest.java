package dev.kubejit.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The published JSON Schema (draft 2020-12) accepts the example and refuses what the loader refuses. */
class PolicySchemaTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static JsonSchema schema() throws Exception {
    try (InputStream in = PolicyLoader.class.getResourceAsStream("policy.schema.json")) {
      return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(in);
    }
  }

  @Test
  void theExampleConformsInJsonAndYaml() throws Exception {
    JsonSchema schema = schema();
    Set<ValidationMessage> json = schema.validate(JSON.readTree(Fixtures.resource("policies/payments-oncall.json")));
    assertTrue(json.isEmpty(), json.toString());
    JsonNode yaml = new YAMLMapper().readTree(Fixtures.resource("policies/payments-oncall.yaml"));
    assertTrue(schema.validate(yaml).isEmpty());
    assertTrue(schema.validate(JSON.readTree(Fixtures.example(PolicyFormat.XML).canonicalJson())).isEmpty(),
        "the canonical form is itself a valid policy");
  }

  /** Applies one textual edit to the example, checking that the edit really changed the document. */
  private static String edit(String text, String from, String to) {
    assertTrue(text.contains(from), "the example does not contain " + from);
    String edited = text.replaceFirst(java.util.regex.Pattern.quote(from), java.util.regex.Matcher.quoteReplacement(to));
    return edited;
  }

  @Test
  void theSchemaAndTheLoaderRefuseUnknownFieldsWrongTypesAndBadOperands() throws Exception {
    JsonSchema schema = schema();
    String text = Fixtures.text("policies/payments-oncall.json");
    JsonNode original = JSON.readTree(text);
    for (String[] e : new String[][] {
        {"\"maxDuration\": \"PT1H\",", "\"maxDuration\": \"PT1H\", \"extra\": 1,"},
        {"\"minApprovals\": 1", "\"minApprovals\": \"1\""},
        {"\"path+\"]", "\"file+\"]"},
        {"\"PT1H\"", "\"1h\""},
        {"{\"approval\": \"auto\"}", "{\"approval\": \"auto\", \"approvers\": [\"x\"]}"},
        {"\"argument\": \"required\"}", "\"argument\": \"sometimes\"}"},
        {"{\"type\": \"number\", \"argument\": \"required\"}", "{\"type\": \"number\"}"},
        {"{\"type\": \"number\", \"argument\": \"required\"}",
            "{\"type\": \"number\", \"argument\": \"required\", \"x\": 1}"},
        {"\"patternOptions\": [\"-e\"]", "\"patternOptions\": \"-e\""},
        {"\"patternOptions\": [\"-e\"]", "\"patternOptions\": [\"e\"]"},
        {"\"operands\": [\"path+\"], \"paths\": [\"/var/log/\", \"/app/\"]",
            "\"operands\": [\"path+\"], \"allowNoOperand\": \"yes\", \"paths\": [\"/var/log/\", \"/app/\"]"}}) {
      String edited = edit(text, e[0], e[1]);
      JsonNode bad = JSON.readTree(edited);
      assertNotEquals(original, bad, "the edit must change the document: " + e[1]);
      assertFalse(schema.validate(bad).isEmpty(), "schema should refuse " + e[1]);
      assertThrows(PolicyException.class, () -> Fixtures.parse(edited, PolicyFormat.JSON), "loader should refuse " + e[1]);
    }
  }

  @Test
  void theSchemaAcceptsEveryOptionKindPatternOptionsAndAllowNoOperand() throws Exception {
    JsonSchema schema = schema();
    String text = Fixtures.text("policies/payments-oncall.json");
    String edited = edit(edit(text, "{\"type\": \"number\", \"argument\": \"required\"}", "\"number\""),
        "\"operands\": [\"path+\"], \"paths\": [\"/var/log/\", \"/app/\"]",
        "\"flagsWithValue\": {\"--color\": {\"type\": \"any\", \"argument\": \"optional\"}}, "
            + "\"operands\": [\"path*\"], \"allowNoOperand\": true, \"paths\": [\"/var/log/\", \"/app/\"]");
    Set<ValidationMessage> messages = schema.validate(JSON.readTree(edited));
    assertTrue(messages.isEmpty(), messages.toString());
    Fixtures.parse(edited, PolicyFormat.JSON);
    JsonNode getopt = JSON.readTree(Fixtures.resource("corpus/getopt-policy.json"));
    assertTrue(schema.validate(getopt).isEmpty(), schema.validate(getopt).toString());
  }

  @Test
  void docsCopyIsIdenticalToTheBundledSchema() throws Exception {
    Path root = Path.of(System.getProperty("kubejit.projectRoot", "..")).toAbsolutePath().normalize();
    Path docs = root.resolve("docs/policy.schema.json");
    try (InputStream in = PolicyLoader.class.getResourceAsStream("policy.schema.json")) {
      assertEquals(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8), Files.readString(docs));
    }
  }
}
