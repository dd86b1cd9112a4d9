package dev.kubejit.console;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableMap;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The console's answer: status, headers (one value each, {@code Set-Cookie} among them when a
 * cookie is set: the console sets at most one per reply) and body, for the host server to send as
 * they are.
 */
public final class ConsoleReply {
  private final int status;
  private final ImmutableMap<String, String> headers;
  private final byte[] body;

  ConsoleReply(int status, Map<String, String> headers, String setCookie, byte[] body) {
    this.status = status;
    ImmutableMap.Builder<String, String> h = ImmutableMap.<String, String>builder().putAll(headers);
    if (setCookie != null) {
      h.put("Set-Cookie", setCookie);
    }
    this.headers = h.buildOrThrow();
    this.body = requireNonNull(body, "body").clone();
  }

  /** The HTTP status code. */
  public int status() {
    return status;
  }

  /** The headers to send, including {@code Content-Type}, the security headers and {@code Set-Cookie}. */
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
    return "ConsoleReply{" + status + ", " + headers.getOrDefault("Content-Type", "-") + ", " + body.length
        + " bytes" + (headers.containsKey("Set-Cookie") ? ", sets a cookie" : "") + "}";
  }
}
