package dev.kubejit.store.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import dev.kubejit.api.RequestRecord;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The shipped CRD and Role are the ones in deploy/, and the codec writes exactly the CRD's schema:
 * every field it writes is declared with the right type (and matches its pattern or enum), every
 * required field is written, and every declared field is written by some record.
 */
class AccessRequestCrdTest {
  @Test
  void jarCopiesAreByteEqualToDeploy() throws IOException {
    assertEquals(Files.readString(StoreCluster.deploy(KubernetesRequestStore.CRD_RESOURCE)),
        KubernetesRequestStore.crdYaml());
    assertEquals(Files.readString(StoreCluster.deploy(KubernetesRequestStore.ROLE_RESOURCE)),
        KubernetesRequestStore.roleYaml());
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> schema() {
    Map<String, Object> crd = (Map<String, Object>) new Yaml(new SafeConstructor(new LoaderOptions()))
        .load(KubernetesRequestStore.crdYaml());
    Map<String, Object> spec = (Map<String, Object>) crd.get("spec");
    assertEquals(KubernetesRequestStore.GROUP, spec.get("group"));
    assertEquals(KubernetesRequestStore.PLURAL, ((Map<String, Object>) spec.get("names")).get("plural"));
    assertEquals(KubernetesRequestStore.KIND, ((Map<String, Object>) spec.get("names")).get("kind"));
    assertEquals(KubernetesRequestStore.CRD_NAME, ((Map<String, Object>) crd.get("metadata")).get("name"));
    Map<String, Object> version = ((List<Map<String, Object>>) spec.get("versions")).get(0);
    assertEquals(KubernetesRequestStore.VERSION, version.get("name"));
    return (Map<String, Object>) ((Map<String, Object>) version.get("schema")).get("openAPIV3Schema");
  }

  private static JsonObject object(RequestRecord r) {
    JsonObject o = new JsonObject();
    JsonObject meta = new JsonObject();
    meta.addProperty("name", r.id().value());
    o.add("metadata", meta);
    o.add("spec", Codec.spec(r));
    o.add("status", Codec.lifecycle(r));
    return o;
  }

  @Test
  void codecWritesExactlyTheSchema() {
    Map<String, Object> schema = schema();
    Set<String> written = new TreeSet<>();
    for (RequestRecord r : List.of(Records.full(), Records.minimal())) {
      JsonObject o = object(r);
      o.addProperty("apiVersion", KubernetesRequestStore.GROUP + "/" + KubernetesRequestStore.VERSION);
      o.addProperty("kind", KubernetesRequestStore.KIND);
      check("", o, schema, written);
    }
    Set<String> declared = new TreeSet<>();
    declared(schema, "", declared);
    declared.removeAll(written);
    assertEquals(Set.of(), declared, "fields the schema declares but the codec never writes");
  }

  @SuppressWarnings("unchecked")
  private static void check(String path, JsonElement value, Map<String, Object> schema, Set<String> written) {
    written.add(path);
    String type = (String) schema.get("type");
    switch (type) {
      case "object": {
        assertTrue(value.isJsonObject(), path + " must be an object");
        Map<String, Object> props = (Map<String, Object>) schema.getOrDefault("properties", Map.of());
        for (Object req : (List<Object>) schema.getOrDefault("required", List.of())) {
          assertTrue(value.getAsJsonObject().has((String) req), path + "." + req + " is required by the schema");
        }
        for (Map.Entry<String, JsonElement> e : value.getAsJsonObject().entrySet()) {
          Map<String, Object> sub = (Map<String, Object>) props.get(e.getKey());
          assertTrue(sub != null, path + "." + e.getKey() + " is written but not in the schema");
          check(path + "." + e.getKey(), e.getValue(), sub, written);
        }
        break;
      }
      case "array": {
        assertTrue(value.isJsonArray(), path + " must be an array");
        JsonArray a = value.getAsJsonArray();
        assertTrue(a.size() <= ((Number) schema.get("maxItems")).intValue(), path + " too long");
        for (JsonElement e : a) {
          check(path + "[]", e, (Map<String, Object>) schema.get("items"), written);
        }
        written.add(path + "[]");
        break;
      }
      case "string": {
        assertTrue(value.isJsonPrimitive() && ((JsonPrimitive) value).isString(), path + " must be a string");
        String s = value.getAsString();
        if (schema.containsKey("pattern")) {
          assertTrue(Pattern.compile((String) schema.get("pattern")).matcher(s).find(), path + "=" + s
              + " does not match " + schema.get("pattern"));
        }
        if (schema.containsKey("enum")) {
          assertTrue(((List<Object>) schema.get("enum")).contains(s), path + "=" + s + " not in the enum");
        }
        if (schema.containsKey("maxLength")) {
          assertTrue(s.length() <= ((Number) schema.get("maxLength")).intValue(), path + " too long");
        }
        if ("date-time".equals(schema.get("format"))) {
          java.time.Instant.parse(s);
        }
        break;
      }
      case "boolean":
        assertTrue(value.isJsonPrimitive() && ((JsonPrimitive) value).isBoolean(), path + " must be a boolean");
        break;
      case "integer":
        assertTrue(value.isJsonPrimitive() && ((JsonPrimitive) value).isNumber(), path + " must be an integer");
        break;
      default:
        throw new AssertionError("unexpected schema type " + type + " at " + path);
    }
  }

  @SuppressWarnings("unchecked")
  private static void declared(Map<String, Object> schema, String path, Set<String> out) {
    out.add(path);
    Map<String, Object> props = (Map<String, Object>) schema.get("properties");
    if (props != null) {
      props.forEach((k, v) -> declared((Map<String, Object>) v, path + "." + k, out));
    }
    if (schema.get("items") != null) {
      declared((Map<String, Object>) schema.get("items"), path + "[]", out);
    }
  }

  @Test
  void recordsSurviveTheRoundTripExactly() {
    for (RequestRecord r : List.of(Records.full(), Records.minimal())) {
      JsonObject o = object(r);
      RequestRecord back = Codec.decode(r.id().value(), o.getAsJsonObject("spec"), o.getAsJsonObject("status"));
      assertEquals(r, back);
      assertEquals(r, Codec.decode(r.id().value(), o.getAsJsonObject("spec"), null),
          "without status the record is spec.initial");
    }
  }

  @Test
  void malformedObjectsAreRefusedNamingTheField() {
    RequestRecord r = Records.full();
    List<String> removable = new ArrayList<>(List.of("role", "requester", "decision", "createdAt", "initial"));
    for (String field : removable) {
      JsonObject spec = Codec.spec(r);
      spec.remove(field);
      Codec.MalformedObjectException e = assertThrows(Codec.MalformedObjectException.class,
          () -> Codec.decode(r.id().value(), spec, null));
      assertTrue(e.getMessage().contains(field), e.getMessage());
    }
    JsonObject status = Codec.lifecycle(r);
    status.addProperty("state", "ACTIVE");
    status.remove("grant");
    assertThrows(Codec.MalformedObjectException.class, () -> Codec.decode(r.id().value(), Codec.spec(r), status));
    assertThrows(Codec.MalformedObjectException.class,
        () -> Codec.decode("Not-An-Id", Codec.spec(r), Codec.lifecycle(r)));
  }
}
