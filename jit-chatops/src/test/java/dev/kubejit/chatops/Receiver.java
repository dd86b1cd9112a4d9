package dev.kubejit.chatops;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.function.Function;

/** A local HTTP server that records what it receives and answers with a test-chosen status. */
final class Receiver implements AutoCloseable {
  /** One received request. */
  static final class Got {
    final String path;
    final Map<String, String> headers;
    final String body;

    Got(String path, Map<String, String> headers, String body) {
      this.path = path;
      this.headers = headers;
      this.body = body;
    }
  }

  /** What to answer: status and headers. */
  static final class Answer {
    final int status;
    final Map<String, String> headers;
    final String body;

    Answer(int status, Map<String, String> headers, String body) {
      this.status = status;
      this.headers = headers;
      this.body = body;
    }

    static Answer ok(String body) {
      return new Answer(200, Map.of(), body);
    }
  }

  final HttpServer server;
  final URI base;
  final List<Got> got = new CopyOnWriteArrayList<>();
  final List<Got> attempts = new CopyOnWriteArrayList<>();
  private final Function<Got, Answer> answer;

  Receiver(Function<Got, Answer> answer) throws IOException {
    this.answer = answer;
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", this::handle);
    server.setExecutor(Executors.newCachedThreadPool());
    server.start();
    base = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/");
  }

  private void handle(HttpExchange x) throws IOException {
    Map<String, String> h = new java.util.HashMap<>();
    x.getRequestHeaders().forEach((k, v) -> h.put(k.toLowerCase(Locale.ROOT), v.get(0)));
    Got g = new Got(x.getRequestURI().getPath(), h, new String(x.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
    attempts.add(g);
    Answer a = answer.apply(g);
    if (a.status >= 200 && a.status < 300) {
      got.add(g);
    }
    a.headers.forEach((k, v) -> x.getResponseHeaders().add(k, v));
    byte[] b = a.body.getBytes(StandardCharsets.UTF_8);
    x.sendResponseHeaders(a.status, b.length == 0 ? -1 : b.length);
    if (b.length > 0) {
      x.getResponseBody().write(b);
    }
    x.close();
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
