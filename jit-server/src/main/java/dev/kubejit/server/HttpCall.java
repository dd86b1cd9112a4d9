package dev.kubejit.server;

import static java.util.Objects.requireNonNull;

import java.util.Locale;

/**
 * One HTTP request as {@link BrokerHttpApi} sees it, independent of the server that received it:
 * method, path, raw query string, body and what the caller presented for authentication (headers,
 * the TLS client certificate chain, the remote address). {@link #toString()} never shows the body
 * or header values.
 */
public final class HttpCall {
  private final String method;
  private final String path;
  private final String rawQuery;
  private final byte[] body;
  private final boolean bodyTooLarge;
  private final Presented presented;

  private HttpCall(String method, String path, String rawQuery, byte[] body, boolean bodyTooLarge, Presented presented) {
    this.method = requireNonNull(method, "method").toUpperCase(Locale.ROOT);
    this.path = requireNonNull(path, "path");
    this.rawQuery = rawQuery == null ? "" : rawQuery;
    this.body = requireNonNull(body, "body").clone();
    this.bodyTooLarge = bodyTooLarge;
    this.presented = requireNonNull(presented, "presented");
  }

  /**
   * Creates a call.
   *
   * @param rawQuery the query string without {@code ?}, percent-encoded; null or empty for none
   * @param body the request body (empty for none); at most {@link BrokerHttpApi#MAX_BODY_BYTES}
   *     bytes are looked at, a longer body is answered with 413
   */
  public static HttpCall of(String method, String path, String rawQuery, byte[] body, Presented presented) {
    return new HttpCall(method, path, rawQuery, body, false, presented);
  }

  /**
   * Creates a call whose body the host stopped reading because it was longer than {@link
   * BrokerHttpApi#MAX_BODY_BYTES}; it is answered with 413 payload_too_large.
   */
  public static HttpCall withOversizedBody(String method, String path, String rawQuery, Presented presented) {
    return new HttpCall(method, path, rawQuery, new byte[0], true, presented);
  }

  /** The method in upper case. */
  public String method() {
    return method;
  }

  /** The path, starting with {@code /}, not decoded. */
  public String path() {
    return path;
  }

  /** The raw query string (empty when there is none). */
  public String rawQuery() {
    return rawQuery;
  }

  /** A copy of the body. */
  public byte[] body() {
    return body.clone();
  }

  byte[] bodyUnsafe() {
    return body;
  }

  boolean bodyTooLarge() {
    return bodyTooLarge || body.length > BrokerHttpApi.MAX_BODY_BYTES;
  }

  /** What the caller presented for authentication. */
  public Presented presented() {
    return presented;
  }

  @Override
  public String toString() {
    return "HttpCall{" + method + " " + path + ", body " + body.length + " bytes, " + presented + "}";
  }
}
