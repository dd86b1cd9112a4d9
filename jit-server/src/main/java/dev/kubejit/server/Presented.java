package dev.kubejit.server;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * What a caller presented on one HTTP request, as far as authentication is concerned: its headers
 * (names compared case-insensitively), the client certificate chain the TLS layer verified (empty
 * without mutual TLS) and the remote address. {@link #toString()} never shows header values.
 */
public final class Presented {
  private final ImmutableMap<String, String> headers;
  private final ImmutableList<X509Certificate> clientCertificates;
  private final String remoteAddress;

  private Presented(Map<String, String> headers, List<X509Certificate> chain, String remoteAddress) {
    ImmutableMap.Builder<String, String> lower = ImmutableMap.builder();
    headers.forEach((k, v) -> lower.put(k.toLowerCase(Locale.ROOT), requireNonNull(v, "header value")));
    this.headers = lower.buildKeepingLast();
    this.clientCertificates = ImmutableList.copyOf(chain);
    this.remoteAddress = requireNonNull(remoteAddress, "remoteAddress");
  }

  /**
   * Creates the view of one request. {@code headers} holds one value per name (the first when a
   * request repeats a header); {@code clientCertificates} is the verified chain, leaf first.
   */
  public static Presented of(Map<String, String> headers, List<X509Certificate> clientCertificates, String remoteAddress) {
    return new Presented(requireNonNull(headers, "headers"), requireNonNull(clientCertificates, "clientCertificates"),
        remoteAddress);
  }

  /** The value of header {@code name} (case-insensitive), if present. */
  public Optional<String> header(String name) {
    return Optional.ofNullable(headers.get(name.toLowerCase(Locale.ROOT)));
  }

  /** The client certificate chain verified by TLS, leaf first; empty without mutual TLS. */
  public ImmutableList<X509Certificate> clientCertificates() {
    return clientCertificates;
  }

  /** The remote address of the connection (an IP literal). */
  public String remoteAddress() {
    return remoteAddress;
  }

  @Override
  public String toString() {
    return "Presented{headers=" + headers.keySet() + ", clientCertificates=" + clientCertificates.size()
        + ", remoteAddress=" + remoteAddress + "}";
  }
}
