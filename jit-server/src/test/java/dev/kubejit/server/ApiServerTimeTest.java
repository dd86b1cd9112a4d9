package dev.kubejit.server;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kubernetes.client.openapi.ApiClient;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The API server's time is read from the Date header of any answer, and a bad one is refused. */
class ApiServerTimeTest {
  @Test
  void dateHeaderOfAnyAnswerIsTheApiServersTime() throws Exception {
    AtomicReference<String> date = new AtomicReference<>();
    try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Thread t = new Thread(() -> {
        while (!server.isClosed()) {
          try (Socket s = server.accept()) {
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), US_ASCII));
            for (String l = in.readLine(); l != null && !l.isEmpty(); l = in.readLine()) {
              // the request's head
            }
            // Anonymous access off: 401, and the header is still there.
            String head = "HTTP/1.1 401 Unauthorized\r\n" + (date.get() == null ? "" : "Date: " + date.get() + "\r\n")
                + "Content-Length: 0\r\nConnection: close\r\n\r\n";
            s.getOutputStream().write(head.getBytes(US_ASCII));
          } catch (Exception closed) {
            return;
          }
        }
      }, "fake-api-server");
      t.setDaemon(true);
      t.start();
      ApiClient client = new ApiClient();
      client.setBasePath("http://127.0.0.1:" + server.getLocalPort());
      Instant serverNow = Instant.now().minus(Duration.ofMinutes(2)).truncatedTo(ChronoUnit.SECONDS);
      date.set(DateTimeFormatter.RFC_1123_DATE_TIME.format(serverNow.atOffset(ZoneOffset.UTC)));
      assertEquals(serverNow, KubeClients.apiServerTime(client));

      date.set("yesterday");
      IllegalStateException bad = assertThrows(IllegalStateException.class, () -> KubeClients.apiServerTime(client));
      assertTrue(bad.getMessage().contains("invalid Date header"), bad.getMessage());

      date.set(null);
      IllegalStateException none = assertThrows(IllegalStateException.class, () -> KubeClients.apiServerTime(client));
      assertTrue(none.getMessage().contains("no Date header"), none.getMessage());
    }
    ApiClient gone = new ApiClient();
    gone.setBasePath("http://127.0.0.1:" + TestBroker.freePort());
    IllegalStateException down = assertThrows(IllegalStateException.class, () -> KubeClients.apiServerTime(gone));
    assertTrue(down.getMessage().startsWith("cannot reach the API server"), down.getMessage());
  }
}
