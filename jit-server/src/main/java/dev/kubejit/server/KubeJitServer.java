package dev.kubejit.server;

import static java.util.Objects.requireNonNull;

import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The stand-alone broker service ({@code kubejit serve}): {@link BrokerHttpApi} on an embedded
 * Javalin/Jetty server, TLS 1.2+ by default, with mutual TLS when a client CA is given.
 *
 * <p>Plain HTTP is allowed only on a loopback address and is warned about at start. Start it with
 * {@link #start(ServerConfig)} (which wires broker, store, audit, credentials, RBAC and the expiry
 * loop from {@code kubejit.yaml}) or, to serve an API built by the embedding application, with
 * {@link #builder(BrokerHttpApi)}. {@link #close()} stops the server and then everything it
 * started, in reverse order.
 *
 * <p>Other services (chat commands, admission webhooks, the console) share the listener through
 * {@link Builder#mount}: each owns a path prefix; the API's own paths ({@code /api},
 * {@code /healthz}, {@code /readyz}, {@code /metrics}) always stay the API's.
 */
public final class KubeJitServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(KubeJitServer.class);
  private static final String CLIENT_CERT_ATTRIBUTE = "jakarta.servlet.request.X509Certificate";

  private final Javalin app;
  private final ServerConnector connector;
  private final boolean tls;
  private final String host;
  private final Deque<AutoCloseable> resources;
  private final BrokerHttpApi api;
  private boolean closed;

  private KubeJitServer(Javalin app, ServerConnector connector, boolean tls, String host, Deque<AutoCloseable> resources,
      BrokerHttpApi api) {
    this.app = app;
    this.connector = connector;
    this.tls = tls;
    this.host = host;
    this.resources = resources;
    this.api = api;
  }

  /**
   * Wires everything {@code config} names (policy, store, audit log, CAs, clusters,
   * authentication), starts the expiry loop and serves the API.
   *
   * @throws ConfigException or IllegalArgumentException if a file the configuration names is
   *     missing or invalid; nothing is left running
   */
  public static KubeJitServer start(ServerConfig config) {
    return ServerWiring.start(requireNonNull(config, "config"));
  }

  /** Returns a builder that serves {@code api}. */
  public static Builder builder(BrokerHttpApi api) {
    return new Builder(requireNonNull(api, "api"));
  }

  /** The port the server listens on (useful when it was started on port 0). */
  public int port() {
    return connector.getLocalPort();
  }

  /** Whether the server speaks TLS. */
  public boolean isTls() {
    return tls;
  }

  /** The base URI, e.g. {@code https://127.0.0.1:8443}. */
  public URI uri() {
    String h = host.contains(":") ? "[" + host + "]" : host;
    return URI.create((tls ? "https" : "http") + "://" + h + ":" + port());
  }

  BrokerHttpApi api() {
    return api;
  }

  /** Stops serving, then closes what was started with the server (expiry loop, store, audit log). */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    app.stop();
    Closing.closeAll(resources);
  }

  @Override
  public String toString() {
    return "KubeJitServer{" + (closed ? "closed" : uri()) + "}";
  }

  private static void serve(Function<HttpCall, HttpReply> dispatch, Context ctx) throws IOException {
    String query = ctx.queryString();
    Map<String, String> headers = new LinkedHashMap<>();
    for (String name : Collections.list(ctx.req().getHeaderNames())) {
      headers.putIfAbsent(name, ctx.req().getHeader(name));
    }
    Object attr = ctx.req().getAttribute(CLIENT_CERT_ATTRIBUTE);
    List<X509Certificate> chain = attr instanceof X509Certificate[] ? List.of((X509Certificate[]) attr) : List.of();
    Presented presented = Presented.of(headers, chain, ctx.req().getRemoteAddr());
    String method = ctx.req().getMethod();
    String path = ctx.req().getRequestURI();
    HttpCall call;
    long declared = ctx.req().getContentLengthLong();
    if (declared > BrokerHttpApi.MAX_BODY_BYTES) {
      drain(ctx);
      call = HttpCall.withOversizedBody(method, path, query, presented);
    } else {
      byte[] body;
      try (InputStream in = ctx.req().getInputStream()) {
        body = in.readNBytes(BrokerHttpApi.MAX_BODY_BYTES + 1);
      }
      if (body.length > BrokerHttpApi.MAX_BODY_BYTES) {
        drain(ctx);
        call = HttpCall.withOversizedBody(method, path, query, presented);
      } else {
        call = HttpCall.of(method, path, query, body, presented);
      }
    }
    HttpReply reply = dispatch.apply(call);
    ctx.status(reply.status());
    reply.headers().forEach((k, v) -> {
      if (k.equalsIgnoreCase("Content-Type")) {
        ctx.contentType(v);
      } else {
        ctx.header(k, v);
      }
    });
    ctx.header("Cache-Control", "no-store");
    ctx.header("X-Content-Type-Options", "nosniff");
    if (call.bodyTooLarge()) {
      ctx.header("Connection", "close");
    }
    ctx.result(reply.body());
  }

  /**
   * Reads and drops up to {@link #DRAIN_LIMIT} bytes of an oversized body, so that an ordinary
   * client gets its 413 instead of a reset connection; beyond that the connection is closed.
   */
  private static void drain(Context ctx) {
    try (InputStream in = ctx.req().getInputStream()) {
      byte[] buf = new byte[8192];
      long total = 0;
      int n;
      while (total < DRAIN_LIMIT && (n = in.read(buf)) > 0) {
        total += n;
      }
    } catch (IOException e) {
      // the client went away; the reply goes nowhere either
    }
  }

  private static final long DRAIN_LIMIT = 1024 * 1024;

  /** Paths that always belong to the broker API, whatever is mounted. */
  static final List<String> API_PREFIXES = List.of("/api", "/healthz", "/readyz", "/metrics");

  /** Whether {@code path} is {@code prefix} or lies below it. */
  static boolean under(String path, String prefix) {
    return prefix.equals("/") || path.equals(prefix) || path.startsWith(prefix + "/");
  }

  static Function<HttpCall, HttpReply> dispatcher(BrokerHttpApi api, TreeMap<String, Function<HttpCall, HttpReply>> mounts) {
    if (mounts.isEmpty()) {
      return api::handle;
    }
    return call -> {
      String path = call.path();
      for (String own : API_PREFIXES) {
        if (under(path, own)) {
          return api.handle(call);
        }
      }
      // Longest prefix first: descending order puts "/a/b" before "/a" and "/" last.
      for (Map.Entry<String, Function<HttpCall, HttpReply>> m : mounts.descendingMap().entrySet()) {
        if (under(path, m.getKey())) {
          return m.getValue().apply(call);
        }
      }
      return api.handle(call);
    };
  }

  /** Builds and starts a {@link KubeJitServer} around an API. */
  public static final class Builder {
    private final BrokerHttpApi api;
    private String host = "127.0.0.1";
    private int port = 8443;
    private Path certFile;
    private Path keyFile;
    private Path clientCaFile;
    private final List<AutoCloseable> resources = new ArrayList<>();
    private final TreeMap<String, Function<HttpCall, HttpReply>> mounts = new TreeMap<>();

    private Builder(BrokerHttpApi api) {
      this.api = api;
    }

    /**
     * Serves every request whose path is {@code pathPrefix} or lies below it with {@code handler}
     * instead of the API; the longest matching prefix wins, and {@code "/"} takes whatever no
     * other prefix and no API path matches. The handler authenticates its own callers; a
     * {@link RuntimeException} it throws becomes a 500 without detail.
     *
     * @throws IllegalArgumentException if the prefix is not an absolute path without a trailing
     *     slash (other than {@code "/"}), is already mounted, or overlaps the API's own paths
     */
    public Builder mount(String pathPrefix, Function<HttpCall, HttpReply> handler) {
      requireNonNull(pathPrefix, "pathPrefix");
      requireNonNull(handler, "handler");
      if (!pathPrefix.equals("/") && (!pathPrefix.matches("(/[A-Za-z0-9._~-]+)+"))) {
        throw new IllegalArgumentException("a mount prefix is \"/\" or an absolute path without a trailing slash: "
            + pathPrefix);
      }
      for (String own : API_PREFIXES) {
        if (under(pathPrefix, own)) {
          throw new IllegalArgumentException("path " + pathPrefix + " belongs to the broker API");
        }
      }
      if (mounts.putIfAbsent(pathPrefix, handler) != null) {
        throw new IllegalArgumentException("path " + pathPrefix + " is already mounted");
      }
      return this;
    }

    /** Where to listen (default 127.0.0.1:8443; port 0 picks a free port). */
    public Builder listen(String host, int port) {
      this.host = requireNonNull(host, "host");
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port must be 0 to 65535, found " + port);
      }
      this.port = port;
      return this;
    }

    /** Serves TLS with this certificate chain and PKCS#8 key (PEM files). */
    public Builder tls(Path certificateFile, Path keyFile) {
      this.certFile = requireNonNull(certificateFile, "certificateFile");
      this.keyFile = requireNonNull(keyFile, "keyFile");
      return this;
    }

    /**
     * Asks clients for a certificate issued by the CA(s) in this PEM file (mutual TLS; needs
     * {@link #tls}). A client without one still connects and is then refused by the
     * authenticator with 401; a certificate from another CA fails the handshake.
     */
    public Builder clientCertificateAuthority(Path caFile) {
      this.clientCaFile = requireNonNull(caFile, "caFile");
      return this;
    }

    /** Closes {@code resource} after the server stops (last added, first closed). */
    public Builder closeOnStop(AutoCloseable resource) {
      resources.add(requireNonNull(resource, "resource"));
      return this;
    }

    /**
     * Starts the server.
     *
     * @throws IllegalStateException if plain HTTP was asked for on a non-loopback address, or
     *     mutual TLS without TLS, or the port cannot be bound
     */
    public KubeJitServer start() {
      boolean tls = certFile != null;
      if (!tls && !ServerConfig.isLoopback(host)) {
        throw new IllegalStateException("refusing plain HTTP on " + host + ": configure TLS (listen.tls) or listen on loopback");
      }
      if (clientCaFile != null && !tls) {
        throw new IllegalStateException("mutual TLS needs TLS: configure listen.tls");
      }
      SslContextFactory.Server ssl = null;
      if (tls) {
        char[] pw = randomPassword();
        KeyStore ks = Pem.keyStore(certFile, keyFile, pw);
        ssl = new SslContextFactory.Server();
        ssl.setKeyStore(ks);
        ssl.setKeyStorePassword(new String(pw));
        ssl.setIncludeProtocols("TLSv1.3", "TLSv1.2");
        ssl.setExcludeProtocols("SSLv3", "TLSv1", "TLSv1.1");
        if (clientCaFile != null) {
          ssl.setTrustStore(Pem.trustStore(clientCaFile));
          ssl.setWantClientAuth(true);
        }
      }
      SslContextFactory.Server sslFinal = ssl;
      Function<HttpCall, HttpReply> dispatch = dispatcher(api, new TreeMap<>(mounts));
      ServerConnector[] holder = new ServerConnector[1];
      Javalin app = Javalin.create(config -> {
        config.startup.showJavalinBanner = false;
        config.startup.showOldJavalinVersionWarning = false;
        config.http.maxRequestSize = BrokerHttpApi.MAX_BODY_BYTES;
        config.jetty.modifyHttpConfiguration(http -> {
          http.setSendServerVersion(false);
          http.setSendXPoweredBy(false);
        });
        config.jetty.addConnector((server, httpConfig) -> {
          ServerConnector c;
          if (sslFinal != null) {
            HttpConfiguration https = new HttpConfiguration(httpConfig);
            https.addCustomizer(new SecureRequestCustomizer(false, false, -1, false));
            c = new ServerConnector(server, new SslConnectionFactory(sslFinal, HttpVersion.HTTP_1_1.asString()),
                new HttpConnectionFactory(https));
          } else {
            c = new ServerConnector(server, new HttpConnectionFactory(httpConfig));
          }
          c.setHost(host);
          c.setPort(port);
          holder[0] = c;
          return c;
        });
        for (HandlerType t : new HandlerType[] {HandlerType.GET, HandlerType.POST, HandlerType.PUT, HandlerType.PATCH,
            HandlerType.DELETE, HandlerType.OPTIONS}) {
          config.routes.addHttpHandler(t, "/<path>", ctx -> serve(dispatch, ctx));
          config.routes.addHttpHandler(t, "/", ctx -> serve(dispatch, ctx));
        }
        config.routes.exception(Exception.class, (e, ctx) -> {
          log.error("unhandled error serving a request", e);
          ctx.status(500).contentType("application/json")
              .result("{\"error\":{\"code\":\"internal\",\"message\":\"internal error\"}}");
        });
      });
      Deque<AutoCloseable> toClose = new ArrayDeque<>();
      resources.forEach(toClose::push);
      try {
        app.start();
      } catch (RuntimeException e) {
        app.stop();
        throw new IllegalStateException("cannot start the server on " + host + ":" + port + ": " + e.getMessage(), e);
      }
      KubeJitServer s = new KubeJitServer(app, holder[0], tls, host, toClose, api);
      if (!tls) {
        log.warn("serving plain HTTP on {} (loopback only); configure listen.tls for anything but a developer machine",
            s.uri());
      }
      return s;
    }

    private static char[] randomPassword() {
      byte[] b = new byte[18];
      new SecureRandom().nextBytes(b);
      return Base64.getEncoder().encodeToString(b).toCharArray();
    }
  }

}
