package dev.kubejit.console;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * One HTTP request as the console sees it, independent of the server that received it: method,
 * path (not decoded), raw query, body and headers (names compared case-insensitively). {@link
 * #toString()} never shows the body or header values (they carry the session cookie).
 */
public final class ConsoleRequest {
  /** The longest body the console reads (its forms are small). */
  public static final int MAX_BODY_BYTES = 16 * 1024;

  private final String method;
  private final String path;
  private final String rawQuery;
  private final byte[] body;
  private final ImmutableMap<String, String> headers;

  private ConsoleRequest(String method, String path, String rawQuery, byte[] body, Map<String, String> headers) {
    this.method = requireNonNull(method, "method").toUpperCase(Locale.ROOT);
    this.path = requireNonNull(path, "path");
    this.rawQuery = rawQuery == null ? "" : rawQuery;
    this.body = requireNonNull(body, "body").clone();
    ImmutableMap.Builder<String, String> lower = ImmutableMap.builder();
    requireNonNull(headers, "headers").forEach((k, v) -> lower.put(k.toLowerCase(Locale.ROOT), requireNonNull(v)));
    this.headers = lower.buildKeepingLast();
  }

  /**
   * Creates a request.
   *
   * @param rawQuery the query string without {@code ?}, percent-encoded; null or empty for none
   * @param headers one value per header name
   */
  public static ConsoleRequest of(String method, String path, String rawQuery, byte[] body, Map<String, String> headers) {
    return new ConsoleRequest(method, path, rawQuery, body, headers);
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

  byte[] bodyUnsafe() {
    return body;
  }

  /** The value of header {@code name} (case-insensitive), if present. */
  public Optional<String> header(String name) {
    return Optional.ofNullable(headers.get(name.toLowerCase(Locale.ROOT)));
  }

  @Override
  public String toString() {
    return "ConsoleRequest{" + method + " " + path + ", body " + body.length + " bytes, headers " + headers.keySet() + "}";
  }
}
