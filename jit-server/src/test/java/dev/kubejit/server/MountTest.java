package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Services mounted beside the API on one listener: longest prefix wins, the API keeps its paths. */
class MountTest {
  @TempDir static Path dir;
  static TestBroker broker;
  static KubeJitServer server;
  static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeAll
  static void start() throws Exception {
    broker = TestBroker.devHeader(dir);
    server = KubeJitServer.builder(broker.server.api()).listen("127.0.0.1", 0)
        .mount("/", c -> text("root " + c.method() + " " + c.path()))
        .mount("/slack", c -> text("slack " + c.path() + " " + new String(c.body(), StandardCharsets.UTF_8)))
        .mount("/slack/interactions", c -> text("buttons " + c.presented().header("X-Test").orElse("-")))
        .mount("/boom", c -> {
          throw new IllegalStateException("secret detail");
        })
        .start();
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
    if (broker != null) {
      broker.close();
    }
  }

  static HttpReply text(String s) {
    return HttpReply.of(200, Map.of("Content-Type", "text/plain"), s.getBytes(StandardCharsets.UTF_8));
  }

  static HttpResponse<String> post(String path, String body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(server.uri() + path)).header("X-Test", "t1")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void longestPrefixWinsAndTheApiKeepsItsPaths() throws Exception {
    assertEquals("slack /slack/commands text=x", post("/slack/commands", "text=x").body());
    assertEquals("slack /slack hi", post("/slack", "hi").body());
    assertEquals("buttons t1", post("/slack/interactions", "").body());
    assertEquals("root POST /slackish", post("/slackish", "").body());
    assertEquals("root POST /", post("/", "").body());
    HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create(server.uri() + "/healthz")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, health.statusCode());
    assertEquals("{\"status\":\"ok\"}", health.body());
    HttpResponse<String> api = post("/api/v1/requests", "{}");
    assertEquals(401, api.statusCode(), api.body());
  }

  @Test
  void aFailingHandlerIsA500WithoutDetail() throws Exception {
    HttpResponse<String> r = post("/boom/x", "");
    assertEquals(500, r.statusCode());
    assertEquals(-1, r.body().indexOf("secret"), r.body());
  }

  @Test
  void badPrefixesAreRefused() {
    KubeJitServer.Builder b = KubeJitServer.builder(broker.server.api());
    for (String bad : new String[] {"", "slack", "/slack/", "/api", "/api/v2", "/metrics", "/a//b", "/a b"}) {
      assertThrows(IllegalArgumentException.class, () -> b.mount(bad, c -> text("x")), bad);
    }
    b.mount("/x", c -> text("x"));
    assertThrows(IllegalArgumentException.class, () -> b.mount("/x", c -> text("y")));
    assertThrows(IllegalArgumentException.class, () -> HttpReply.of(42, Map.of(), new byte[0]));
  }
}
