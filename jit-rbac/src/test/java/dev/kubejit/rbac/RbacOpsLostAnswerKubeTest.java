package dev.kubejit.rbac;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeTest;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.RbacAuthorizationV1Api;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1Role;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.Test;

/**
 * A delete whose answer is lost: the real API server deletes the object, but the connection to the
 * caller drops before the answer arrives, so the retry meets 404. The call must still report that
 * it deleted the object (the reaper writes its audit event on that report); a plain 404 without an
 * earlier lost answer must not.
 */
@KubeTest
class RbacOpsLostAnswerKubeTest {

  /**
   * A plain-HTTP front on loopback that forwards every request to the real API server with the
   * admin's TLS client, except that it swallows the answer to the first {@code DELETE} (after the API
   * server has carried it out) by closing the connection.
   */
  static final class LosingProxy implements AutoCloseable {
    final HttpServer server;
    final List<String> deletes = new CopyOnWriteArrayList<>();
    final AtomicInteger answersLost = new AtomicInteger();
    private final OkHttpClient upstream;
    private final String base;

    LosingProxy(ApiClient admin) throws IOException {
      upstream = admin.getHttpClient();
      base = admin.getBasePath();
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
      server.createContext("/", this::forward);
      server.start();
    }

    String url() {
      return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private void forward(HttpExchange ex) throws IOException {
      try (ex) {
        byte[] body = ex.getRequestBody().readAllBytes();
        String method = ex.getRequestMethod();
        String ct = ex.getRequestHeaders().getFirst("Content-Type");
        RequestBody rb = body.length == 0 && !"DELETE".equals(method) ? null
            : RequestBody.create(body, ct == null ? null : MediaType.parse(ct));
        Request req = new Request.Builder().url(base + ex.getRequestURI()).method(method, rb).build();
        try (Response resp = upstream.newCall(req).execute()) {
          byte[] out = resp.body() == null ? new byte[0] : resp.body().bytes();
          if ("DELETE".equals(method)) {
            deletes.add(ex.getRequestURI().getPath() + " -> " + resp.code());
            if (deletes.size() == 1) {
              answersLost.incrementAndGet();
              return; // closes the exchange without an answer: the caller sees a dropped connection
            }
          }
          String rct = resp.header("Content-Type");
          if (rct != null) {
            ex.getResponseHeaders().set("Content-Type", rct);
          }
          ex.sendResponseHeaders(resp.code(), out.length == 0 ? -1 : out.length);
          if (out.length > 0) {
            try (OutputStream os = ex.getResponseBody()) {
              os.write(out);
            }
          }
        }
      }
    }

    @Override
    public void close() {
      server.stop(0);
    }
  }

  @Test
  void aDeleteWhoseAnswerIsLostStillCountsAsThisCallsDeletion(KubeControlPlane cp) throws Exception {
    KubernetesRbacProvisionerKubeTest.namespace(cp.adminClient(), "lost-answer");
    RbacAuthorizationV1Api admin = new RbacAuthorizationV1Api(cp.adminClient());
    V1Role role = admin.createNamespacedRole("lost-answer", new V1Role()
        .metadata(new V1ObjectMeta().name("lost-answer-role"))).execute();
    try (LosingProxy proxy = new LosingProxy(cp.adminClient())) {
      RbacOps ops = new RbacOps(new ApiClient().setBasePath(proxy.url()), 5, Duration.ofMillis(20));

      assertTrue(ops.delete("Role", "lost-answer", "lost-answer-role", role.getMetadata().getUid()),
          "the first attempt deleted the role; only its answer was lost");
      assertEquals(1, proxy.answersLost.get());
      assertEquals(2, proxy.deletes.size(), proxy.deletes.toString());
      assertTrue(proxy.deletes.get(0).endsWith("-> 200"), proxy.deletes.toString());
      assertTrue(proxy.deletes.get(1).endsWith("-> 404"), proxy.deletes.toString());
      assertEquals(404, assertThrows(ApiException.class,
          () -> admin.readNamespacedRole("lost-answer-role", "lost-answer").execute()).getCode());

      // Control: a delete that meets 404 with every answer received did not delete anything.
      assertFalse(ops.delete("Role", "lost-answer", "lost-answer-role", null));
      assertEquals(3, proxy.deletes.size(), proxy.deletes.toString());
    }
  }
}
