package dev.kubejit.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kubejit.api.AuditEventType;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The published schema matches what the sink writes, and the docs copy matches the resource. */
class RecordFormatTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path dir;

  private static JsonNode schema() throws Exception {
    try (InputStream in = RecordFormatTest.class.getResourceAsStream("/dev/kubejit/audit/audit.schema.json")) {
      return JSON.readTree(in);
    }
  }

  @Test
  void docsCopyOfTheSchemaEqualsTheResource() throws Exception {
    Path root = Path.of(System.getProperty("kubejit.projectRoot", ".."));
    assertEquals(JSON.readTree(Files.readString(root.resolve("docs/audit.schema.json"))), schema());
  }

  @Test
  void schemaListsEveryEventTypeAndEveryFieldInWrittenOrder() throws Exception {
    JsonNode s = schema();
    Set<String> types = new TreeSet<>();
    s.at("/$defs/event/properties/type/enum").forEach(t -> types.add(t.asText()));
    Set<String> expected = new TreeSet<>();
    for (AuditEventType t : AuditEventType.values()) {
      expected.add(t.name());
    }
    assertEquals(expected, types);

    Path log = dir.resolve("audit.jsonl");
    Path anchor = dir.resolve("anchor/audit.anchor");
    java.security.KeyPair key = AuditKeys.generate();
    try (FileAuditSink sink = FileAuditSink.builder(log).signingKey(key).checkpointEvery(1).anchor(anchor).open()) {
      sink.write(List.of(Events.full(1)));
    }
    try (FileAuditSink sink = FileAuditSink.builder(log).signingKey(key).anchor(anchor).open()) {
      sink.write(List.of());
    }
    List<String> lines = LogFiles.lines(log);
    assertEquals(4, lines.size(), "event, periodic, reopen (in place of the first seal), seal");
    assertFieldsInSchemaOrder(JSON.readTree(lines.get(0)), s.at("/$defs/event/properties"));
    for (int i = 1; i < 4; i++) {
      assertFieldsInSchemaOrder(JSON.readTree(lines.get(i)), s.at("/$defs/checkpoint/properties"));
    }
    assertEquals("reopen", JSON.readTree(lines.get(2)).get("kind").asText());
    assertTrue(JSON.readTree(lines.get(2)).has("lifted"));
    assertFieldsInSchemaOrder(JSON.readTree(Files.readString(anchor)), s.at("/$defs/anchor/properties"));
    List<String> required = new ArrayList<>();
    s.at("/$defs/anchor/required").forEach(f -> required.add(f.asText()));
    List<String> written = new ArrayList<>();
    JSON.readTree(Files.readString(anchor)).fieldNames().forEachRemaining(written::add);
    assertEquals(required, written, "every anchor field is required and written");
    assertFieldsInSchemaOrder(JSON.readTree(lines.get(0)).get("actor"), s.at("/$defs/event/properties/actor/properties"));
    assertFieldsInSchemaOrder(JSON.readTree(lines.get(0)).get("scope"), s.at("/$defs/event/properties/scope/properties"));
  }

  private static void assertFieldsInSchemaOrder(JsonNode record, JsonNode schemaProps) {
    List<String> declared = new ArrayList<>();
    schemaProps.fieldNames().forEachRemaining(declared::add);
    List<String> written = new ArrayList<>();
    for (Iterator<String> it = record.fieldNames(); it.hasNext(); ) {
      written.add(it.next());
    }
    assertTrue(declared.containsAll(written), "undeclared fields in " + written + " (schema: " + declared + ")");
    List<String> inOrder = declared.stream().filter(written::contains).toList();
    assertEquals(inOrder, written, "fields appear in schema order");
  }
}
