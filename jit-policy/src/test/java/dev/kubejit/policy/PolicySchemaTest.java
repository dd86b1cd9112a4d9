package dev.kubejit.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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

  @Test
  void theSchemaRefusesUnknownFieldsWrongTypesAndBadOperands() throws Exception {
    JsonSchema schema = schema();
    String text = Fixtures.text("policies/payments-oncall.json");
    for (String[] edit : new String[][] {
        {"\"maxDuration\": \"PT1H\",", "\"maxDuration\": \"PT1H\", \"extra\": 1,"},
        {"\"minApprovals\": 1", "\"minApprovals\": \"1\""},
        {"\"path+\"]", "\"file+\"]"},
        {"\"PT1H\"", "\"1h\""},
        {"{\"approval\": \"auto\"}", "{\"approval\": \"auto\", \"approvers\": [\"x\"]}"}}) {
      JsonNode bad = JSON.readTree(text.replaceFirst(java.util.regex.Pattern.quote(edit[0]),
          java.util.regex.Matcher.quoteReplacement(edit[1])));
      assertFalse(schema.validate(bad).isEmpty(), "schema should refuse " + edit[1]);
      assertTrue(!text.equals(bad.toString()));
    }
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
