package dev.kubejit.server;

import static java.util.Objects.requireNonNull;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.kubejit.api.EndCause;
import dev.kubejit.api.Grant;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.audit.AuditKeys;
import dev.kubejit.audit.FileAuditSink;
import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.credentials.GrantCredentialIssuer;
import dev.kubejit.credentials.X509Issuer;
import dev.kubejit.gateway.GatewayMetrics;
import dev.kubejit.gateway.SshGateway;
import dev.kubejit.policy.PolicyEngine;
import dev.kubejit.policy.PolicyLoader;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SSH gateway as a service of its own ({@code kubejit gateway serve}): the {@code gateway:}
 * section of {@code kubejit.yaml} without the broker's HTTP API, plus a small plain-HTTP listener
 * ({@code gateway.healthAddress}) for {@code GET /healthz}, {@code /readyz} and {@code /metrics}.
 *
 * <p>It reaches the broker's state only through the shared durable store the configuration names
 * (SQLite on the same machine, PostgreSQL, or Kubernetes custom resources): grants activated and
 * revoked by {@code kubejit serve} in another process are seen at the next login, the next command
 * and the next expiry check. It refuses a SQLite file that does not exist yet (no broker has
 * written it, so a new empty store would hold no grants). The broker it builds on that store
 * reads grants, decides commands with the configured policy and issues the grants' short-lived
 * client certificates with the X.509 CA; it provisions no RBAC, runs no expiry of its own, and
 * needs only the SSH CA's public key ({@code ssh_ca.pub}). Its audit records go to
 * {@code <audit.directory>/gateway-audit.jsonl}, a hash chain of its own signed with the audit key
 * (the broker's {@code audit.jsonl} is locked by the broker).
 *
 * <p>{@code /readyz} answers 200 when the SSH listener is bound and the store answers, 503 with the
 * failing check otherwise. The health listener serves only those three paths, carries no secret
 * and no grant data (counts only), and may therefore listen on a pod address without TLS.
 * Thread-safe; {@link #close} stops everything it started.
 */
public final class KubeJitGateway implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(KubeJitGateway.class);
  /** The gateway's audit log file in {@code audit.directory}. */
  static final String AUDIT_FILE = "gateway-audit.jsonl";

  private final SshGateway gateway;
  private final HttpServer health;
  private final String healthHost;
  private final Deque<AutoCloseable> opened;
  private boolean closed;

  private KubeJitGateway(SshGateway gateway, HttpServer health, String healthHost, Deque<AutoCloseable> opened) {
    this.gateway = gateway;
    this.health = health;
    this.healthHost = healthHost;
    this.opened = opened;
  }

  /**
   * Starts the gateway that {@code config}'s {@code gateway:} section describes, on the store,
   * policy, audit key, CAs and cluster the same file names.
   *
   * @throws IllegalArgumentException if the configuration has no {@code gateway:} section, its store
   *     cannot be shared with a broker in another process, or a file it names is missing or invalid;
   *     nothing is left running
   */
  public static KubeJitGateway start(ServerConfig config) {
    return start(requireNonNull(config, "config"), Clock.systemUTC());
  }

  static KubeJitGateway start(ServerConfig config, Clock clock) {
    ServerConfig.Gateway g = config.gateway().orElseThrow(() -> new IllegalArgumentException(
        "kubejit gateway serve needs a gateway: section in kubejit.yaml (docs/gateway.md)"));
    requireShared(config.store());
    Deque<AutoCloseable> opened = new ArrayDeque<>();
    try {
      PolicyEngine engine = PolicyEngine.of(PolicyLoader.load(config.policyFile()));
      RequestStore store = ServerWiring.store(config, opened);
      FileAuditSink fileAudit = FileAuditSink.builder(config.auditDirectory().resolve(AUDIT_FILE))
          .signingKey(AuditKeys.readKeyPair(config.auditSigningKeyFile())).clock(clock).open();
      opened.push(fileAudit);
      Path caPub = config.sshCaDirectory().resolve("ssh_ca.pub");
      String userCa;
      try {
        userCa = Files.readString(caPub, StandardCharsets.US_ASCII).strip();
      } catch (IOException e) {
        throw new IllegalArgumentException("certificateAuthorities.ssh: " + caPub + " cannot be read ("
            + e.getClass().getSimpleName() + "); the gateway trusts user certificates of that CA only");
      }
      GrantCredentialIssuer issuer = GrantCredentialIssuer.builder()
          .x509(X509Issuer.builder().authority(CertificateAuthority.load(config.x509CaDirectory())).clock(clock).build())
          .clock(clock).build();
      JitBroker broker = JitBroker.builder().clock(clock).policy(engine).store(store).auditSink(fileAudit)
          .rbacProvisioner(new NoProvisioning()).credentialIssuer(issuer)
          .adminGroups(config.adminGroups().toArray(new String[0])).build();
      SshGateway gateway = GatewayWiring.start(config, broker, fileAudit, userCa, caPub.toString(), clock, opened)
          .orElseThrow();
      PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      GatewayMeters meters = GatewayMeters.bind(registry, gateway::metrics);
      HttpServer health = health(g, gateway, broker, meters, registry, opened);
      log.info("kubejit gateway serve: SSH on {}:{}, health and metrics on http://{}:{}/ (store {})", g.host(),
          gateway.port(), g.healthHost(), health.getAddress().getPort(), config.store());
      return new KubeJitGateway(gateway, health, g.healthHost(), opened);
    } catch (RuntimeException e) {
      throw Closing.closeAfter(e, opened);
    }
  }

  /**
   * Refuses a store another process cannot share: a SQLite file that does not exist yet would be
   * created empty here, and the gateway would refuse every grant the broker activates elsewhere.
   */
  static void requireShared(ServerConfig.Store s) {
    if (s.kind() == ServerConfig.Store.Kind.SQLITE) {
      Path f = s.sqliteFile().orElseThrow();
      if (!Files.isRegularFile(f)) {
        throw new IllegalArgumentException("store.sqlite.file " + f + " does not exist: the gateway reads the grants"
            + " a broker (kubejit serve) writes to a shared store, and a new empty store would hold none; start the"
            + " broker first, or configure the PostgreSQL or Kubernetes store it uses");
      }
    }
  }

  private static HttpServer health(ServerConfig.Gateway g, SshGateway gateway, JitBroker broker, GatewayMeters meters,
      PrometheusMeterRegistry registry, Deque<AutoCloseable> opened) {
    HttpServer http;
    try {
      http = HttpServer.create(new InetSocketAddress(g.healthHost(), g.healthPort()), 16);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot listen for health and metrics on " + g.healthHost() + ":" + g.healthPort(), e);
    }
    ExecutorService pool = Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "kubejit-gateway-health");
      t.setDaemon(true);
      return t;
    });
    http.setExecutor(pool);
    http.createContext("/", exchange -> {
      try (exchange) {
        String path = exchange.getRequestURI().getPath();
        if (!exchange.getRequestMethod().equals("GET")) {
          reply(exchange, 405, "application/json", "{\"error\":{\"code\":\"method-not-allowed\",\"message\":\"GET only\"}}");
        } else if (path.equals("/healthz")) {
          reply(exchange, 200, "application/json", "{\"status\":\"ok\"}");
        } else if (path.equals("/readyz")) {
          Map<String, String> checks = readiness(gateway, broker);
          boolean ok = checks.values().stream().allMatch("ok"::equals);
          StringBuilder b = new StringBuilder("{\"status\":\"").append(ok ? "ok" : "unavailable").append("\",\"checks\":{");
          String sep = "";
          for (Map.Entry<String, String> c : checks.entrySet()) {
            b.append(sep).append('"').append(c.getKey()).append("\":\"").append(c.getValue()).append('"');
            sep = ",";
          }
          reply(exchange, ok ? 200 : 503, "application/json", b.append("}}").toString());
        } else if (path.equals("/metrics")) {
          meters.refresh();
          reply(exchange, 200, "text/plain; version=0.0.4; charset=utf-8", registry.scrape());
        } else {
          reply(exchange, 404, "application/json", "{\"error\":{\"code\":\"not-found\",\"message\":\"no such path\"}}");
        }
      }
    });
    http.start();
    opened.push(() -> {
      http.stop(0);
      pool.shutdownNow();
    });
    return http;
  }

  /** Each check's answer: {@code ok} or a fixed, safe reason. */
  static Map<String, String> readiness(SshGateway gateway, JitBroker broker) {
    Map<String, String> checks = new LinkedHashMap<>();
    checks.put("ssh", gateway.isListening() ? "ok" : "the SSH listener is not bound");
    String store;
    try {
      broker.find(RequestId.random());
      store = "ok";
    } catch (RuntimeException e) {
      store = "the store does not answer (" + e.getClass().getSimpleName() + ")";
    }
    checks.put("store", store);
    return checks;
  }

  private static void reply(HttpExchange exchange, int status, String type, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", type);
    exchange.getResponseHeaders().set("Cache-Control", "no-store");
    exchange.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  /** The port the SSH gateway listens on. */
  public int sshPort() {
    return gateway.port();
  }

  /** The base URI of the health and metrics listener, e.g. {@code http://127.0.0.1:9090}. */
  public URI healthUri() {
    String h = healthHost.contains(":") ? "[" + healthHost + "]" : healthHost;
    return URI.create("http://" + h + ":" + health.getAddress().getPort());
  }

  /** A snapshot of the gateway's counters. */
  public GatewayMetrics metrics() {
    return gateway.metrics();
  }

  /** Stops the health listener, the SSH gateway (closing every session), the audit log and the store. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    Closing.closeAll(opened);
  }

  @Override
  public String toString() {
    return "KubeJitGateway{" + (closed ? "closed" : "ssh port " + gateway.port() + ", health " + healthUri()) + "}";
  }

  /** The gateway never activates or ends grants, so it never provisions RBAC; reaching here is a bug. */
  static final class NoProvisioning implements RbacProvisioner {
    @Override
    public void provision(Grant grant) {
      throw new IllegalStateException("the stand-alone gateway does not provision RBAC (grant " + grant.id() + ")");
    }

    @Override
    public void deprovision(Grant grant, EndCause cause) {
      throw new IllegalStateException("the stand-alone gateway does not remove RBAC (grant " + grant.id() + ")");
    }

    @Override
    public String toString() {
      return "no RBAC (stand-alone gateway)";
    }
  }
}
