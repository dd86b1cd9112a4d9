package dev.kubejit.server;

import dev.kubejit.api.EndCause;
import dev.kubejit.api.Grant;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.Lifetimes;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.audit.AuditKeys;
import dev.kubejit.audit.FileAuditSink;
import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.credentials.GrantCredentialIssuer;
import dev.kubejit.credentials.X509Issuer;
import dev.kubejit.credentials.ssh.SshCertificateAuthority;
import dev.kubejit.policy.Policy;
import dev.kubejit.policy.HttpAccessHook;
import dev.kubejit.policy.PolicyEngine;
import dev.kubejit.policy.PolicyLoader;
import dev.kubejit.rbac.ExpiryReaper;
import dev.kubejit.rbac.KubernetesRbacProvisioner;
import dev.kubejit.store.jdbc.JdbcRequestStore;
import dev.kubejit.store.kubernetes.KubernetesRequestStore;
import dev.kubejit.store.kubernetes.LeaderElectedExpiry;
import io.kubernetes.client.openapi.ApiClient;
import java.util.UUID;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the running service from a {@link ServerConfig}: policy, store, audit log, credential
 * issuers, RBAC, authentication, the expiry loop, and the HTTP host. On any failure everything
 * opened so far is closed again.
 */
final class ServerWiring {
  private static final Logger log = LoggerFactory.getLogger(ServerWiring.class);
  static final Duration EXPIRY_TICK = Duration.ofSeconds(5);
  /** How often the service's clock re-reads its reference (PostgreSQL's or the API server's time). */
  static final Duration REFERENCE_REFRESH = Duration.ofSeconds(30);

  private ServerWiring() {}

  static KubeJitServer start(ServerConfig config) {
    return start(config, Clock.systemUTC());
  }

  static KubeJitServer start(ServerConfig config, Clock localClock) {
    Deque<AutoCloseable> opened = new ArrayDeque<>();
    try {
      Policy policy = PolicyLoader.load(config.policyFile());
      RequestStore store = store(config, opened);
      Clock clock = serviceClock(config, store, localClock, opened);
      FileAuditSink fileAudit = FileAuditSink.builder(config.auditDirectory().resolve("audit.jsonl"))
          .signingKey(AuditKeys.readKeyPair(config.auditSigningKeyFile())).clock(clock).open();
      opened.push(fileAudit);
      ServerMetrics metrics = new ServerMetrics(clock);
      AuditSink audit = metrics.timed(fileAudit);
      CertificateAuthority ca = CertificateAuthority.load(config.x509CaDirectory());
      SshCertificateAuthority sshCa = SshCertificateAuthority.load(config.sshCaDirectory().resolve("ssh_ca"), clock);
      GrantCredentialIssuer issuer = GrantCredentialIssuer.builder()
          .x509(X509Issuer.builder().authority(ca).clock(clock).build())
          .issuer(sshCa.forGrants())
          .clock(clock).build();
      Map<String, ApiClient> clusterClients = new LinkedHashMap<>();
      config.clusters().forEach((name, c) -> clusterClients.put(name, KubeClients.fromKubeconfig(c.kubeconfig(), c.context())));
      RbacProvisioner rbac = rbac(clusterClients, clock);
      ChatOpsWiring chatops = ChatOpsWiring.prepare(config, clock, opened);
      PolicyEngine engine = PolicyEngine.of(policy);
      AdmissionWiring admission = AdmissionWiring.start(config, store, clock, opened);
      // The admission grant cache hears of revocations at once; chat hears of everything. One failing does not silence the other.
      JitBroker.Builder brokerBuilder = JitBroker.builder().clock(clock).policy(engine).store(store).auditSink(audit)
          .rbacProvisioner(rbac).credentialIssuer(issuer)
          .notifier(dev.kubejit.api.spi.Notifiers.fanOut(admission.notifier(), chatops.notifier()))
          .accessHook(HttpAccessHook.forPolicy(policy).clock(clock).build())
          .adminGroups(config.adminGroups().toArray(new String[0]));
      config.membership().ifPresent(m -> brokerBuilder.membershipProvisioner(membership(m, clock)));
      JitBroker broker = brokerBuilder.build();
      metrics.bindActiveGrants(broker);

      String replica = "kubejit-" + hostName() + "-" + UUID.randomUUID().toString().substring(0, 8);
      if (config.store().kind() == ServerConfig.Store.Kind.KUBERNETES) {
        // Replicas share the store: exactly one of them sweeps, the holder of a Lease in the store's namespace.
        LeaderElectedExpiry expiry = LeaderElectedExpiry.builder(broker, storeClient(config.store()))
            .identity(replica).leaseNamespace(config.store().namespace().orElseThrow()).build();
        opened.push(expiry);
        expiry.start();
      } else {
        startLocalExpiry(broker, opened);
      }
      for (Map.Entry<String, ApiClient> c : clusterClients.entrySet()) {
        // Deletes expired bindings even if no broker replica is up to expire the grant; leader-elected per cluster.
        ExpiryReaper reaper = ExpiryReaper.builder(c.getValue()).auditSink(audit).clock(clock).clusterName(c.getKey())
            .identity(replica).build();
        opened.push(reaper);
        reaper.start();
      }

      Optional<dev.kubejit.gateway.SshGateway> gateway = GatewayWiring.start(config, broker, audit, sshCa.publicKeyLine(),
          sshCa.fingerprint(), clock, opened);
      gateway.ifPresent(metrics::bindGateway);

      ServerConfig.Authentication auth = config.authentication();
      Authenticator authenticator = authenticator(auth, clock);
      BrokerHttpApi.Builder api = BrokerHttpApi.builder().broker(broker).authenticator(authenticator)
          .loginConfig(loginConfig(auth)).metrics(metrics)
          .readinessCheck("store", () -> {
            broker.find(dev.kubejit.api.RequestId.random());
            return Optional.empty();
          })
          .readinessCheck("audit", () -> Files.isWritable(config.auditDirectory())
              ? Optional.empty() : Optional.of("audit directory is not writable"));
      gateway.ifPresent(g -> api.readinessCheck("gateway", () -> g.isListening()
          ? Optional.empty() : Optional.of("the SSH gateway's listener is not bound")));
      for (Map.Entry<String, ServerConfig.Cluster> c : config.clusters().entrySet()) {
        ClusterKubeconfig kc = ClusterKubeconfig.read(c.getValue());
        api.cluster(c.getKey(), kc.server(), kc.certificateAuthorityData());
      }
      KubeJitServer.Builder server = KubeJitServer.builder(api.build()).listen(config.listenHost(), config.listenPort());
      config.console().ifPresent(c -> ConsoleWiring.mount(config, broker, policy, server, clock));
      admission.mount(server, engine, audit, clusterClients, clock);
      if (config.tlsCertificateFile().isPresent()) {
        server.tls(config.tlsCertificateFile().get(), config.tlsKeyFile().orElseThrow());
      }
      if (auth.mode() == ServerConfig.Authentication.Mode.MTLS) {
        server.clientCertificateAuthority(auth.clientCaFile().orElseThrow());
      }
      chatops.mount(server, broker, opened);
      for (java.util.Iterator<AutoCloseable> it = opened.descendingIterator(); it.hasNext(); ) {
        server.closeOnStop(it.next());
      }
      KubeJitServer started = server.start();
      if (auth.mode() == ServerConfig.Authentication.Mode.DEV_HEADER) {
        log.warn("DEVELOPMENT MODE: the identity is taken from header {} without proof; loopback only, never in production",
            auth.header().orElseThrow());
      }
      if (config.clusters().isEmpty()) {
        log.warn("no clusters configured: grants provision no RBAC anywhere (credentials are still issued and audited)");
      } else {
        log.info("provisioning RBAC in clusters {}; expired bindings are reaped by a leader-elected reaper per cluster",
            config.clusters().keySet());
      }
      log.info("store: {}; expiry: {}", config.store(), config.store().kind() == ServerConfig.Store.Kind.KUBERNETES
          ? "leader-elected among replicas (Lease in namespace " + config.store().namespace().orElseThrow() + ")"
          : "every " + EXPIRY_TICK.toSeconds() + " s in this replica");
      return started;
    } catch (RuntimeException e) {
      throw Closing.closeAfter(e, opened);
    }
  }

  /**
   * The clock every time decision of the service uses (expiry above all): with replicas sharing a
   * store, the time of the one clock they all read, so that a replica whose own clock is ahead does
   * not expire grants early on the others' behalf (see {@link ReferenceClock}). PostgreSQL's clock
   * for a PostgreSQL store, the API server's for the Kubernetes store; the local clock for SQLite,
   * whose database is on this machine.
   */
  private static Clock serviceClock(ServerConfig config, RequestStore store, Clock local, Deque<AutoCloseable> opened) {
    ReferenceClock reference;
    switch (config.store().kind()) {
      case POSTGRESQL:
        reference = ReferenceClock.start("PostgreSQL", local, ((JdbcRequestStore) store)::databaseTime, REFERENCE_REFRESH);
        break;
      case KUBERNETES: {
        ApiClient client = storeClient(config.store());
        reference = ReferenceClock.start("the Kubernetes API server", local, () -> KubeClients.apiServerTime(client),
            REFERENCE_REFRESH);
        break;
      }
      default:
        return local;
    }
    opened.push(reference);
    log.info("time decisions use {} (offset to this machine's clock {})", reference, reference.offset());
    return reference;
  }

  /**
   * One replica (SQLite), or replicas sharing PostgreSQL: every replica sweeps; the broker's
   * compare-and-set makes overlapping sweeps harmless (one wins, the others see the change).
   */
  private static void startLocalExpiry(JitBroker broker, Deque<AutoCloseable> opened) {
    int reconciled = broker.reconcile();
    if (reconciled > 0) {
      log.info("reconciled {} request(s)/grant(s) that ended while the broker was down", reconciled);
    }
    ScheduledExecutorService expiry = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "kubejit-expiry");
      t.setDaemon(true);
      return t;
    });
    opened.push(() -> {
      expiry.shutdownNow();
      expiry.awaitTermination(10, TimeUnit.SECONDS);
    });
    expiry.scheduleWithFixedDelay(() -> {
      try {
        broker.expireDue();
      } catch (RuntimeException e) {
        log.warn("expiry sweep failed; retrying in {}: {}", EXPIRY_TICK, e.toString());
      }
    }, EXPIRY_TICK.toMillis(), EXPIRY_TICK.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** The identity provider's grant groups ({@code membership.keycloak}); the secret is read once and cleared. */
  private static dev.kubejit.api.spi.MembershipProvisioner membership(ServerConfig.Membership m, Clock clock) {
    char[] secret = ConsoleWiring.readSecret(m.clientSecretFile(), "membership.keycloak.clientSecretFile");
    try {
      return dev.kubejit.membership.keycloak.KeycloakMembershipProvisioner.builder().server(m.url()).realm(m.realm())
          .clientCredentials(m.clientId(), secret).sslContext(OidcAuthenticator.sslContext(m.caFile().orElse(null)))
          .clock(clock).build();
    } finally {
      java.util.Arrays.fill(secret, '\0');
    }
  }

  private static String hostName() {
    String h = System.getenv("HOSTNAME");
    if (h == null || !h.matches("[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?")) {
      return "replica";
    }
    return h;
  }

  static Authenticator authenticator(ServerConfig.Authentication auth, Clock clock) {
    switch (auth.mode()) {
      case DEV_HEADER:
        return new DevHeaderAuthenticator(auth.header().orElseThrow());
      case MTLS:
        return new MtlsAuthenticator(Pem.certificates(auth.clientCaFile().orElseThrow()), clock);
      default:
        return OidcAuthenticator.fromConfig(auth, clock);
    }
  }

  static Map<String, String> loginConfig(ServerConfig.Authentication auth) {
    Map<String, String> m = new LinkedHashMap<>();
    switch (auth.mode()) {
      case DEV_HEADER:
        m.put("mode", "devHeader");
        m.put("header", auth.header().orElseThrow());
        break;
      case MTLS:
        m.put("mode", "mtls");
        break;
      default:
        m.put("mode", "oidc");
        m.put("issuer", auth.issuer().orElseThrow());
        m.put("clientId", auth.audience().orElseThrow());
    }
    return m;
  }

  static RequestStore store(ServerConfig config, Deque<AutoCloseable> opened) {
    ServerConfig.Store s = config.store();
    switch (s.kind()) {
      case SQLITE: {
        JdbcRequestStore store = JdbcRequestStore.builder().sqlite(s.sqliteFile().orElseThrow()).build();
        opened.push(store);
        return store;
      }
      case POSTGRESQL: {
        JdbcRequestStore.Builder b = JdbcRequestStore.builder().url(s.postgresqlUrl().orElseThrow());
        if (s.postgresqlUser().isPresent()) {
          b.credentials(s.postgresqlUser().get(), () -> password(s));
        }
        JdbcRequestStore store = b.build();
        opened.push(store);
        return store;
      }
      default: {
        KubernetesRequestStore.Builder b = KubernetesRequestStore.builder().namespace(s.namespace().orElseThrow());
        b.clientJavaApiClient(storeClient(s));
        KubernetesRequestStore store = b.build();
        opened.push(store);
        return store;
      }
    }
  }

  private static ApiClient storeClient(ServerConfig.Store s) {
    return s.kubeconfig().isPresent() ? KubeClients.fromKubeconfig(s.kubeconfig().get(), Optional.empty())
        : KubeClients.inCluster();
  }

  private static char[] password(ServerConfig.Store s) {
    if (s.passwordFile().isPresent()) {
      try {
        String p = Files.readString(s.passwordFile().get(), StandardCharsets.UTF_8);
        return (p.endsWith("\n") ? p.substring(0, p.length() - 1) : p).toCharArray();
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot read store.postgresql.passwordFile " + s.passwordFile().get() + ": "
            + e.getClass().getSimpleName());
      }
    }
    if (s.passwordEnv().isPresent()) {
      String v = System.getenv(s.passwordEnv().get());
      if (v == null) {
        throw new IllegalArgumentException("environment variable " + s.passwordEnv().get() + " (store.postgresql.passwordEnv) is not set");
      }
      return v.toCharArray();
    }
    return new char[0];
  }

  private static RbacProvisioner rbac(Map<String, ApiClient> clients, Clock clock) {
    if (clients.isEmpty()) {
      return new NoRbac();
    }
    Map<String, RbacProvisioner> byCluster = new LinkedHashMap<>();
    clients.forEach((name, client) -> byCluster.put(name, KubernetesRbacProvisioner.builder(client).maxGrantDuration(Lifetimes.ABSOLUTE_MAX).clock(clock).build()));
    return new ClusterRbac(byCluster);
  }

  /** With no clusters configured, grants provision no RBAC (said at start). */
  static final class NoRbac implements RbacProvisioner {
    @Override
    public void provision(Grant grant) {
      log.debug("no clusters configured; no RBAC provisioned for grant {}", grant.id());
    }

    @Override
    public void deprovision(Grant grant, EndCause cause) {
      log.debug("no clusters configured; no RBAC to remove for grant {}", grant.id());
    }

    @Override
    public String toString() {
      return "no RBAC (no clusters configured)";
    }
  }

}
