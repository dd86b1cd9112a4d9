package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * A local HTTP server standing in for Slack: the Web API ({@code /api/chat.postMessage}, {@code
 * /api/chat.update}), {@code response_url}s under {@code /hooks/}, and a webhook receiver at
 * {@code /webhook}. It records every POST; the next {@link #rateLimited} postMessage calls are
 * answered 429 with {@code Retry-After: 1}.
 */
final class FakeSlack implements AutoCloseable {
  /** One recorded POST. */
  static final class Post {
    final String path;
    final Map<String, String> headers;
    final String body;
    final JsonNode json;

    Post(String path, Map<String, String> headers, String body) {
      this.path = path;
      this.headers = headers;
      this.body = body;
      JsonNode j;
      try {
        j = Json.MAPPER.readTree(body);
      } catch (IOException e) {
        j = null;
      }
      this.json = j;
    }

    @Override
    public String toString() {
      return path + " " + body;
    }
  }

  final HttpServer server;
  final URI base;
  final List<Post> posts = new CopyOnWriteArrayList<>();
  final AtomicInteger rateLimited = new AtomicInteger();
  final AtomicInteger postMessageAttempts = new AtomicInteger();
  private final AtomicInteger ts = new AtomicInteger();
  private final ExecutorService pool = Executors.newCachedThreadPool();

  FakeSlack() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", this::handle);
    server.setExecutor(pool);
    server.start();
    base = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/");
  }

  private void handle(HttpExchange x) throws IOException {
    String body = new String(x.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
    String path = x.getRequestURI().getPath();
    Map<String, String> headers = new java.util.HashMap<>();
    x.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(Locale.ROOT), v.get(0)));
    String answer = "ok";
    int status = 200;
    if (path.equals("/api/chat.postMessage")) {
      postMessageAttempts.incrementAndGet();
      if (rateLimited.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        x.getResponseHeaders().add("Retry-After", "1");
        x.sendResponseHeaders(429, -1);
        x.close();
        return;
      }
      JsonNode j = Json.MAPPER.readTree(body);
      answer = "{\"ok\":true,\"channel\":\"" + j.path("channel").asText() + "\",\"ts\":\"1700000000."
          + String.format("%06d", ts.incrementAndGet()) + "\"}";
    } else if (path.equals("/api/chat.update")) {
      answer = "{\"ok\":true}";
    }
    posts.add(new Post(path, headers, body));
    byte[] b = answer.getBytes(StandardCharsets.UTF_8);
    x.sendResponseHeaders(status, b.length);
    x.getResponseBody().write(b);
    x.close();
  }

  /** Waits (up to 20 s) until at least {@code n} recorded posts match, and returns the matches. */
  List<Post> await(Predicate<Post> p, int n, String what) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (true) {
      List<Post> m = matching(p);
      if (m.size() >= n) {
        return m;
      }
      if (System.nanoTime() > deadline) {
        fail("expected " + n + " post(s): " + what + "; got " + m.size() + " of " + posts);
      }
      Thread.sleep(50);
    }
  }

  Post awaitOne(Predicate<Post> p, String what) throws InterruptedException {
    return await(p, 1, what).get(0);
  }

  List<Post> matching(Predicate<Post> p) {
    List<Post> m = new ArrayList<>();
    for (Post x : posts) {
      if (p.test(x)) {
        m.add(x);
      }
    }
    return m;
  }

  @Override
  public void close() {
    server.stop(0);
    pool.shutdownNow();
  }
}
