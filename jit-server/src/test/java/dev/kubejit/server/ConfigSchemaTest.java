package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * docs/kubejit.schema.json (draft 2020-12) and {@link ServerConfig} agree: every valid sample is
 * accepted by both; every invalid sample is refused by the reader, and by the schema too unless
 * the rule is one a schema cannot state (loopback checks, port range, duplicate keys, YAML anchors
 * and tags, which a YAML-to-JSON conversion loses).
 */
class ConfigSchemaTest {
  private static JsonSchema schema;

  @BeforeAll
  static void loadSchema() throws Exception {
    Path root = Path.of(System.getProperty("kubejit.projectRoot", "..")).toAbsolutePath().normalize();
    try (InputStream in = Files.newInputStream(root.resolve("docs/kubejit.schema.json"))) {
      schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(in);
    }
  }

  private static JsonNode tree(String yaml) throws Exception {
    return new YAMLMapper().readTree(yaml);
  }

  @Test
  void everyValidSampleIsAcceptedByTheSchemaAndTheReader() throws Exception {
    for (String name : Samples.VALID) {
      String text = Samples.text(name);
      Set<ValidationMessage> m = schema.validate(tree(text));
      assertTrue(m.isEmpty(), name + ": " + m);
      Samples.parse(text);
    }
  }

  @Test
  void everyInvalidSampleIsRefusedByTheReaderAndWherePossibleByTheSchema() throws Exception {
    int bySchema = 0;
    for (String[] e : Samples.INVALID) {
      String yaml = Samples.edit(e);
      assertThrows(ConfigException.class, () -> Samples.parse(yaml), "reader should refuse " + e[2]);
      if (e[5].equals("schema")) {
        assertFalse(schema.validate(tree(yaml)).isEmpty(), "schema should refuse " + e[2]);
        bySchema++;
      }
    }
    assertTrue(bySchema >= 25, "most rules are expressible in the schema: " + bySchema);
  }
}
