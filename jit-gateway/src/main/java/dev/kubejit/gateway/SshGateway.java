package dev.kubejit.gateway;

import static java.util.Objects.requireNonNull;

import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.Decision;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.Scope;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.credentials.ssh.SshCertificateVerifier;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.sshd.common.NamedResource;
import org.apache.sshd.common.config.keys.FilePasswordProvider;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.OpenSshCertificate;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.config.keys.PublicKeyEntryResolver;
import org.apache.sshd.common.keyprovider.KeyPairProvider;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.session.SessionListener;
import org.apache.sshd.common.util.security.SecurityUtils;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.channel.ChannelSessionFactory;
import org.apache.sshd.server.forward.RejectAllForwardingFilter;
import org.apache.sshd.server.session.ServerSession;
import org.apache.sshd.server.session.ServerUserAuthServiceFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The KubeJIT SSH gateway, on Apache MINA SSHD: engineers log in with a short-lived OpenSSH user
 * certificate from the KubeJIT SSH CA, and each command they send ({@code exec POD -- ARGV},
 * {@code logs POD}) is decided by their grant's policy and run in the pod through the Kubernetes
 * API as the grant's own identity.
 *
 * <p>Authentication is certificate-only (no password, no keyboard-interactive, no plain keys):
 * trusted CA, user type, validity, principal equal to the SSH user name, {@code source-address},
 * no other critical option; the grant is read from the key id ({@code
 * kubejit:request=<id>:grant=<id>:user=<name>}, as jit-credentials-ssh writes it) and must be active,
 * held by the principal and scoped to this gateway's cluster and a namespace, at login and again
 * before every command. The gateway presents a host certificate signed by the same CA. Local port
 * forwarding ({@code ssh -L PORT:POD.NAMESPACE:PORT}) becomes a Kubernetes port-forward to that pod,
 * as the grant's identity, when the grant's policy allows {@code portforward} on the pod (checked
 * before every channel); remote, agent and X11 forwarding and subsystems are refused. Every login,
 * refusal, execution and forward is written to the audit sink; every command's output is recorded in asciicast v2 under
 * {@link Builder#recordings}, its SHA-256 in the audit record. When a grant expires or is revoked,
 * its sessions (commands and forwards) are cut within one {@link Builder#checkInterval} plus the
 * time to close streams.
 *
 * <p>The gateway reaches the broker only through {@link JitBroker} (grant state, decisions,
 * certificates) and writes to an {@link AuditSink}. Thread-safe; {@link #close} stops it.
 */
public final class SshGateway implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SshGateway.class);

  private final SshServer server;
  private final ScheduledExecutorService watch;
  private final ExecutorService commands;
  private final LiveSessions live;
  private final GrantClients clients;

  private SshGateway(SshServer server, ScheduledExecutorService watch, ExecutorService commands, LiveSessions live,
      GrantClients clients) {
    this.clients = clients;
    this.server = server;
    this.watch = watch;
    this.commands = commands;
    this.live = live;
  }

  /** Returns a builder; cluster, broker, audit sink, user CA, host key and certificate, and Kubernetes are required. */
  public static Builder builder() {
    return new Builder();
  }

  /** The port the gateway listens on (the bound one when 0 was asked for). */
  public int port() {
    return server.getPort();
  }

  /** The number of authenticated SSH sessions open now. */
  public int openSessions() {
    return live.size();
  }

  /** A snapshot of the gateway's counters since it started (connections, commands, cuts, forwards). */
  public GatewayMetrics metrics() {
    return live.counters().snapshot(live.size());
  }

  /** Whether a Kubernetes client for grant {@code id} is held now (tests: it is dropped when the grant ends). */
  boolean holdsClientFor(dev.kubejit.api.GrantId id) {
    return clients.holds(id);
  }

  /** Whether the SSH listener is bound and accepting connections. */
  public boolean isListening() {
    return server.isStarted() && !server.isClosing() && !server.isClosed();
  }

  /** Stops accepting, closes every session and stops the expiry watch. */
  @Override
  public void close() {
    watch.shutdownNow();
    try {
      server.stop(true);
    } catch (IOException e) {
      log.warn("stopping the SSH server: {}", e.toString());
    }
    commands.shutdownNow();
  }

  @Override
  public String toString() {
    return "SshGateway{port=" + server.getPort() + ", sessions=" + live.size() + "}";
  }

  /** Builds and starts an {@link SshGateway}. */
  public static final class Builder {
    private String cluster;
    private JitBroker broker;
    private AuditSink audit;
    private String userCa;
    private KeyPair hostKey;
    private OpenSshCertificate hostCertificate;
    private String apiServer;
    private String apiServerCaPem;
    private Path recordings;
    private String host = "0.0.0.0";
    private int port = 2222;
    private Clock clock = Clock.systemUTC();
    private Duration checkInterval = Duration.ofSeconds(1);

    private Builder() {}

    /** The cluster this gateway serves, as grants name it in their scope (required). */
    public Builder cluster(String cluster) {
      this.cluster = Scope.cluster(requireNonNull(cluster, "cluster")).cluster();
      return this;
    }

    /** The broker: grant state, decisions (audited there) and the grants' client certificates (required). */
    public Builder broker(JitBroker broker) {
      this.broker = requireNonNull(broker, "broker");
      return this;
    }

    /** Where logins, refusals and executions are recorded (required; fail closed). */
    public Builder auditSink(AuditSink audit) {
      this.audit = requireNonNull(audit, "audit");
      return this;
    }

    /** The KubeJIT SSH CA's public key line; the only issuer of certificates accepted (required). */
    public Builder trustedUserCa(String caPublicKeyLine) {
      requireNonNull(caPublicKeyLine, "caPublicKeyLine");
      SshCertificateVerifier.builder().trustedCa(caPublicKeyLine).build();
      this.userCa = caPublicKeyLine;
      return this;
    }

    /** The host key pair (required with {@link #hostCertificate}). */
    public Builder hostKey(KeyPair hostKey) {
      this.hostKey = requireNonNull(hostKey, "hostKey");
      return this;
    }

    /**
     * Reads the host key from an unencrypted OpenSSH private key file.
     *
     * @throws IllegalArgumentException if the file is missing, encrypted or holds no key
     */
    public Builder hostKeyFile(Path file) {
      requireNonNull(file, "file");
      try (InputStream in = Files.newInputStream(file)) {
        Iterable<KeyPair> pairs = SecurityUtils.loadKeyPairIdentities(null, NamedResource.ofName(file.getFileName().toString()),
            in, FilePasswordProvider.EMPTY);
        Iterator<KeyPair> it = pairs == null ? null : pairs.iterator();
        if (it == null || !it.hasNext()) {
          throw new IllegalArgumentException("host key file " + file + " holds no key");
        }
        return hostKey(it.next());
      } catch (IOException | java.security.GeneralSecurityException e) {
        throw new IllegalArgumentException("host key file " + file + " cannot be read (" + e.getClass().getSimpleName() + ")");
      }
    }

    /**
     * The host certificate line ({@code *-cert.pub}), signed by the KubeJIT SSH CA for the host key.
     *
     * @throws IllegalArgumentException if it is not an OpenSSH host certificate
     */
    public Builder hostCertificate(String certLine) {
      requireNonNull(certLine, "certLine");
      try {
        var k = PublicKeyEntry.parsePublicKeyEntry(certLine.strip()).resolvePublicKey(null, Map.of(),
            PublicKeyEntryResolver.FAILING);
        if (!(k instanceof OpenSshCertificate) || ((OpenSshCertificate) k).getType() != OpenSshCertificate.Type.HOST) {
          throw new IllegalArgumentException("not an OpenSSH host certificate");
        }
        this.hostCertificate = (OpenSshCertificate) k;
        return this;
      } catch (IOException | java.security.GeneralSecurityException e) {
        throw new IllegalArgumentException("host certificate cannot be read (" + e.getClass().getSimpleName() + ")");
      }
    }

    /** The Kubernetes API server URL and the PEM CA bundle that verifies it (required). */
    public Builder kubernetes(String apiServerUrl, String caBundlePem) {
      this.apiServer = requireNonNull(apiServerUrl, "apiServerUrl");
      this.apiServerCaPem = requireNonNull(caBundlePem, "caBundlePem");
      if (!apiServerUrl.startsWith("https://")) {
        throw new IllegalArgumentException("the API server URL must be https: " + apiServerUrl);
      }
      return this;
    }

    /** The directory session recordings are written to, one asciicast file per command (required). */
    public Builder recordings(Path dir) {
      this.recordings = requireNonNull(dir, "dir");
      return this;
    }

    /** The address and port to listen on (default 0.0.0.0:2222; port 0 picks a free one). */
    public Builder listen(String host, int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port out of range: " + port);
      }
      this.host = requireNonNull(host, "host");
      this.port = port;
      return this;
    }

    /** The clock certificates and grant windows are checked against (default: system UTC). */
    public Builder clock(Clock clock) {
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    /** How often live sessions' grants are checked (default 1 s; between 100 ms and 1 min). */
    public Builder checkInterval(Duration interval) {
      requireNonNull(interval, "interval");
      if (interval.compareTo(Duration.ofMillis(100)) < 0 || interval.compareTo(Duration.ofMinutes(1)) > 0) {
        throw new IllegalArgumentException("check interval must be between 100 ms and 1 min: " + interval);
      }
      this.checkInterval = interval;
      return this;
    }

    /**
     * Starts the gateway.
     *
     * @throws IllegalStateException if a required part is missing or the host certificate is not for the host key
     * @throws UncheckedIOException if the port cannot be bound
     */
    public SshGateway start() {
      if (cluster == null || broker == null || audit == null || userCa == null || hostKey == null
          || hostCertificate == null || apiServer == null || recordings == null) {
        throw new IllegalStateException("cluster, broker, auditSink, trustedUserCa, hostKey, hostCertificate,"
            + " kubernetes and recordings are required");
      }
      if (!KeyUtils.compareKeys(hostCertificate.getCertPubKey(), hostKey.getPublic())) {
        throw new IllegalStateException("the host certificate is not for the host key");
      }
      SshCertificateVerifier verifier = SshCertificateVerifier.builder().trustedCa(userCa).clock(clock).build();
      GatewayAudit gatewayAudit = new GatewayAudit(audit, clock);
      GatewayCounters counters = new GatewayCounters();
      GrantClients clients = new GrantClients(broker, apiServer, apiServerCaPem, clock);
      LiveSessions live = new LiveSessions(broker, gatewayAudit, clock, cluster, counters, clients);
      Runner runner = new Runner(broker, clients, gatewayAudit, clock, cluster, recordings, counters);
      ExecutorService commands = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "kubejit-gateway-command");
        t.setDaemon(true);
        return t;
      });
      ScheduledExecutorService watch = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "kubejit-gateway-expiry");
        t.setDaemon(true);
        return t;
      });

      SshServer sshd = SshServer.setUpDefaultServer();
      sshd.setHost(host);
      sshd.setPort(port);
      sshd.setKeyPairProvider(KeyPairProvider.wrap(hostKey));
      OpenSshCertificate cert = hostCertificate;
      sshd.setHostKeyCertificateProvider(session -> List.of(cert));
      CertificateLogin certificateLogin = new CertificateLogin(verifier, broker, gatewayAudit, clock, cluster, counters);
      sshd.setUserAuthFactories(List.of(CertificateUserAuth.factory(certificateLogin)));
      sshd.setPasswordAuthenticator(null);
      sshd.setKeyboardInteractiveAuthenticator(null);
      sshd.setGSSAuthenticator(null);
      sshd.setHostBasedAuthenticator(null);
      sshd.setPublickeyAuthenticator(certificateLogin);
      // Remote (-R), agent and X11 forwarding stay refused; direct-tcpip (-L) channels are
      // Kubernetes port-forwards decided per channel (ForwardChannel), never TCP from the gateway.
      sshd.setForwardingFilter(RejectAllForwardingFilter.INSTANCE);
      PortForwards forwards = new PortForwards(broker, clients, gatewayAudit, live, clock, cluster, commands);
      sshd.setChannelFactories(List.of(ChannelSessionFactory.INSTANCE, ForwardChannel.factory(forwards)));
      sshd.setServiceFactories(List.of(ServerUserAuthServiceFactory.INSTANCE, RefusingConnectionService.factory()));
      sshd.setSubsystemFactories(List.of());
      sshd.setCommandFactory((channel, command) -> new GatewayChannel(runner, live, commands, command));
      sshd.setShellFactory(channel -> new GatewayChannel(runner, live, commands, null));
      sshd.addSessionListener(new SessionListener() {
        @Override
        public void sessionEvent(Session session, Event event) {
          if (event == Event.Authenticated && session instanceof ServerSession) {
            ServerSession s = (ServerSession) session;
            Login login = s.getAttribute(Login.KEY);
            if (login == null) {
              s.close(true);
              return;
            }
            try {
              gatewayAudit.write(gatewayAudit.event(AuditEventType.USE_ALLOWED, "connect", login, null)
                  .outcome(Decision.Outcome.ALLOW),
                  Map.of("sshSessionId", CertificateLogin.sessionId(s), "sshUser", login.principal,
                      "keyFingerprint", login.keyFingerprint, "certificateValidBefore",
                      login.certificateValidBefore.toString(), "clientVersion",
                      String.valueOf(s.getClientVersion())));
            } catch (RuntimeException e) {
              log.error("could not audit the login of {}; closing the session: {}", login.principal, e.toString());
              s.close(true);
              return;
            }
            counters.connectionAccepted();
            live.opened(s);
          }
        }

        @Override
        public void sessionClosed(Session session) {
          if (session instanceof ServerSession) {
            live.closed((ServerSession) session);
          }
        }
      });
      try {
        sshd.start();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot listen on " + new InetSocketAddress(host, port), e);
      }
      long ms = checkInterval.toMillis();
      watch.scheduleWithFixedDelay(() -> {
        try {
          live.sweep();
        } catch (RuntimeException e) {
          log.error("expiry sweep failed: {}", e.toString());
        }
      }, ms, ms, TimeUnit.MILLISECONDS);
      log.info("SSH gateway for cluster {} listening on {}:{}", cluster, host, sshd.getPort());
      return new SshGateway(sshd, watch, commands, live, clients);
    }
  }
}
