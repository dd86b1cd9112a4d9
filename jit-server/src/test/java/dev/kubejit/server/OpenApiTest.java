package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import dev.kubejit.server.TestBroker.Reply;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The OpenAPI document served at /api/v1/openapi.json against the running handlers: the same
 * routes and methods both ways (the list comes from the server), the same open and authenticated
 * endpoints, and real responses validated against the document's schemas (which forbid undocumented
 * fields).
 */
class OpenApiTest {
  private static final Set<String> HTTP_METHODS = Set.of("get", "put", "post", "delete", "patch", "head", "options", "trace");

  @TempDir static Path dir;
  static TestBroker broker;
  static JsonNode doc;

  @BeforeAll
  static void start() throws Exception {
    broker = TestBroker.devHeader(dir);
    Reply r = broker.get("/api/v1/openapi.json", null).expect(200);
    doc = r.json;
  }

  @AfterAll
  static void stop() {
    if (broker != null) {
      broker.close();
    }
  }

  @Test
  void isAStructurallyValidOpenApi3Document() {
    assertTrue(doc.path("openapi").asText().matches("3\\.[01]\\.\\d+"), doc.path("openapi").asText());
    assertFalse(doc.path("info").path("title").asText().isEmpty());
    assertFalse(doc.path("info").path("version").asText().isEmpty());
    assertTrue(doc.path("paths").isObject());
    List<String> problems = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> p = doc.path("paths").fields(); p.hasNext(); ) {
      Map.Entry<String, JsonNode> path = p.next();
      if (!path.getKey().startsWith("/")) {
        problems.add(path.getKey() + " does not start with /");
      }
      for (Iterator<Map.Entry<String, JsonNode>> o = path.getValue().fields(); o.hasNext(); ) {
        Map.Entry<String, JsonNode> op = o.next();
        if (!HTTP_METHODS.contains(op.getKey())) {
          problems.add(path.getKey() + ": unknown operation " + op.getKey());
        }
        if (!op.getValue().path("responses").isObject() || op.getValue().path("responses").size() == 0) {
          problems.add(path.getKey() + " " + op.getKey() + " has no responses");
        }
        if (op.getValue().path("operationId").asText().isEmpty()) {
          problems.add(path.getKey() + " " + op.getKey() + " has no operationId");
        }
        for (String param : templateParams(path.getKey())) {
          boolean declared = false;
          for (JsonNode pp : op.getValue().path("parameters")) {
            declared |= pp.path("in").asText().equals("path") && pp.path("name").asText().equals(param)
                && pp.path("required").asBoolean();
          }
          if (!declared) {
            problems.add(path.getKey() + " " + op.getKey() + " does not declare path parameter " + param);
          }
        }
      }
    }
    collectRefs(doc, problems);
    JsonSchemaFactory factory = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
    for (Iterator<Map.Entry<String, JsonNode>> s = doc.path("components").path("schemas").fields(); s.hasNext(); ) {
      Map.Entry<String, JsonNode> e = s.next();
      try {
        schema(factory, "#/components/schemas/" + e.getKey());
      } catch (RuntimeException ex) {
        problems.add("schema " + e.getKey() + " does not load: " + ex.getMessage());
      }
    }
    assertEquals(List.of(), problems);
  }

  private static List<String> templateParams(String path) {
    List<String> out = new ArrayList<>();
    for (String part : path.split("/")) {
      if (part.startsWith("{") && part.endsWith("}")) {
        out.add(part.substring(1, part.length() - 1));
      }
    }
    return out;
  }

  private static void collectRefs(JsonNode node, List<String> problems) {
    if (node.isObject()) {
      JsonNode ref = node.get("$ref");
      if (ref != null && (!ref.asText().startsWith("#/") || doc.at(ref.asText().substring(1)).isMissingNode())) {
        problems.add("unresolved $ref " + ref.asText());
      }
      node.elements().forEachRemaining(n -> collectRefs(n, problems));
    } else if (node.isArray()) {
      node.elements().forEachRemaining(n -> collectRefs(n, problems));
    }
  }

  @Test
  void everyRouteTheServerServesIsDocumentedAndViceVersa() {
    Set<String> served = new TreeSet<>();
    for (Map.Entry<String, String> r : broker.server.api().routeTable()) {
      served.add(r.getKey() + " " + r.getValue());
    }
    Set<String> documented = new TreeSet<>();
    for (Iterator<Map.Entry<String, JsonNode>> p = doc.path("paths").fields(); p.hasNext(); ) {
      Map.Entry<String, JsonNode> path = p.next();
      path.getValue().fieldNames().forEachRemaining(m -> documented.add(m.toUpperCase(Locale.ROOT) + " " + path.getKey()));
    }
    assertFalse(served.isEmpty());
    assertEquals(served, documented);
  }

  @Test
  void openAndAuthenticatedEndpointsAreAsDocumented() throws Exception {
    for (Map.Entry<String, String> r : broker.server.api().routeTable()) {
      JsonNode op = doc.path("paths").path(r.getValue()).path(r.getKey().toLowerCase(Locale.ROOT));
      boolean open = op.has("security") && op.path("security").size() == 0;
      String path = r.getValue().replace("{id}", "aaaaaaaaaaaaaaaaaaaaaaaaaa").replace("{grantId}", "aaaaaaaaaaaaaaaaaaaaaaaaaa");
      Reply reply = broker.call(r.getKey(), path, null, r.getKey().equals("POST") ? "{}" : null);
      if (open) {
        assertNotEquals(401, reply.status, r + " is documented as open");
      } else {
        assertEquals(401, reply.status, r + " is documented as authenticated: " + reply.body);
      }
    }
  }

  @Test
  void realResponsesMatchTheDocumentedSchemas() throws Exception {
    String alice = "alice;oncall-payments";
    String carol = "carol;sre-leads";
    String body = TestBroker.json("role", "oncall-debug", "action", "exec", "cluster", "prod", "namespace", "payments",
        "duration", "PT20M", "ticket", "INC-9", "reason", "check");
    Reply sub = check("POST", "/api/v1/requests", broker.post("/api/v1/requests", alice, body));
    String id = sub.json.path("id").asText();
    check("GET", "/api/v1/requests", broker.get("/api/v1/requests?state=PENDING", carol));
    check("GET", "/api/v1/requests/{id}", broker.get("/api/v1/requests/" + id, alice));
    check("POST", "/api/v1/requests/{id}/approve", broker.post("/api/v1/requests/" + id + "/approve", alice, ""));
    check("POST", "/api/v1/requests/{id}/approve", broker.post("/api/v1/requests/" + id + "/approve", carol,
        TestBroker.json("comment", "ok")));
    Reply act = check("POST", "/api/v1/requests/{id}/activate", broker.post("/api/v1/requests/" + id + "/activate", alice,
        TestBroker.json("csr", TestBroker.csr("alice"))));
    String grant = act.json.path("grant").path("id").asText();
    check("GET", "/api/v1/grants", broker.get("/api/v1/grants?active=true", alice));
    check("POST", "/api/v1/grants/{grantId}/credentials", broker.post("/api/v1/grants/" + grant + "/credentials", alice,
        TestBroker.json("csr", TestBroker.csr("alice"))));
    check("POST", "/api/v1/requests/{id}/revoke", broker.post("/api/v1/requests/" + id + "/revoke", alice, "{}"));
    check("POST", "/api/v1/grants/{grantId}/credentials", broker.post("/api/v1/grants/" + grant + "/credentials", alice,
        TestBroker.json("csr", TestBroker.csr("alice"))));
    String other = broker.post("/api/v1/requests", alice, body).json.path("id").asText();
    check("POST", "/api/v1/requests/{id}/deny", broker.post("/api/v1/requests/" + other + "/deny", carol,
        TestBroker.json("comment", "no")));
    check("GET", "/api/v1/whoami", broker.get("/api/v1/whoami", alice));
    check("GET", "/api/v1/clusters", broker.get("/api/v1/clusters", alice));
    check("GET", "/api/v1/login-config", broker.get("/api/v1/login-config", null));
    check("GET", "/healthz", broker.get("/healthz", null));
    check("GET", "/readyz", broker.get("/readyz", null));
    check("POST", "/api/v1/requests", broker.post("/api/v1/requests", alice, "{\"colour\":1}"));
    check("POST", "/api/v1/requests", broker.post("/api/v1/requests", null, "{}"));
  }

  private static Reply check(String method, String template, Reply reply) {
    JsonNode response = doc.path("paths").path(template).path(method.toLowerCase(Locale.ROOT)).path("responses")
        .path(Integer.toString(reply.status));
    if (response.isMissingNode()) {
      fail(method + " " + template + " answered " + reply.status + ", which the document does not list: " + reply.body);
    }
    JsonNode schemaNode = response.path("content").path("application/json").path("schema");
    assertTrue(schemaNode.has("$ref"), method + " " + template + " " + reply.status + " has no JSON schema");
    JsonSchema schema = schema(JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012), schemaNode.path("$ref").asText());
    Set<ValidationMessage> errors = schema.validate(reply.json);
    assertEquals(Set.of(), errors, method + " " + template + " " + reply.status + ": " + reply.body);
    return reply;
  }

  private static JsonSchema schema(JsonSchemaFactory factory, String ref) {
    ObjectNode root = Json.MAPPER.createObjectNode();
    root.put("$schema", "https://json-schema.org/draft/2020-12/schema");
    root.set("components", doc.path("components"));
    root.put("$ref", ref);
    return factory.getSchema(root);
  }
}
