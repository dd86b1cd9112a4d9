package dev.kubejit.server;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableMap;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The answer of {@link BrokerHttpApi#handle}: status, headers (including {@code Content-Type}) and
 * body, for the host server to send as they are.
 */
public final class HttpReply {
  private final int status;
  private final ImmutableMap<String, String> headers;
  private final byte[] body;

  HttpReply(int status, Map<String, String> headers, byte[] body) {
    this.status = status;
    this.headers = ImmutableMap.copyOf(headers);
    this.body = requireNonNull(body, "body").clone();
  }

  /**
   * A reply from a service mounted beside the API ({@link KubeJitServer.Builder#mount}).
   *
   * @param headers sent as given; put the media type under {@code Content-Type}
   */
  public static HttpReply of(int status, Map<String, String> headers, byte[] body) {
    if (status < 100 || status > 599) {
      throw new IllegalArgumentException("not an HTTP status: " + status);
    }
    return new HttpReply(status, headers, body);
  }

  /** The HTTP status code. */
  public int status() {
    return status;
  }

  /** The response headers to send. */
  public ImmutableMap<String, String> headers() {
    return headers;
  }

  /** A copy of the body. */
  public byte[] body() {
    return body.clone();
  }

  /** The body as UTF-8 text. */
  public String bodyText() {
    return new String(body, StandardCharsets.UTF_8);
  }

  @Override
  public String toString() {
    return "HttpReply{" + status + ", " + headers.getOrDefault("Content-Type", "-") + ", " + body.length + " bytes}";
  }
}
