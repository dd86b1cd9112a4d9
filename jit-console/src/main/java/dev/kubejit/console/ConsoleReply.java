package dev.kubejit.console;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * The console's answer: status, headers (one value each), {@code Set-Cookie} values (several may be
 * sent) and body, for the host server to send as they are.
 */
public final class ConsoleReply {
  private final int status;
  private final ImmutableMap<String, String> headers;
  private final ImmutableList<String> cookies;
  private final byte[] body;

  ConsoleReply(int status, Map<String, String> headers, List<String> cookies, byte[] body) {
    this.status = status;
    this.headers = ImmutableMap.copyOf(headers);
    this.cookies = ImmutableList.copyOf(cookies);
    this.body = requireNonNull(body, "body").clone();
  }

  /** The HTTP status code. */
  public int status() {
    return status;
  }

  /** The headers to send, including {@code Content-Type} and the security headers. */
  public ImmutableMap<String, String> headers() {
    return headers;
  }

  /** The values of the {@code Set-Cookie} headers to send, each as its own header. */
  public ImmutableList<String> setCookies() {
    return cookies;
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
        + " bytes, " + cookies.size() + " cookie(s)}";
  }
}
