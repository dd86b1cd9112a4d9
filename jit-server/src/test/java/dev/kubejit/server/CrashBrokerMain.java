package dev.kubejit.server;

import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.CredentialSpec;
import dev.kubejit.api.EndCause;
import dev.kubejit.api.Grant;
import dev.kubejit.api.Identity;
import dev.kubejit.api.IssuedCredential;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.ManagedRbac;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.Scope;
import dev.kubejit.api.spi.AccessPolicy;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.CredentialIssuer;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.audit.AuditKeys;
import dev.kubejit.audit.FileAuditSink;
import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.credentials.GrantCredentialIssuer;
import dev.kubejit.credentials.KeyType;
import dev.kubejit.credentials.X509Issuer;
import dev.kubejit.rbac.KubernetesRbacProvisioner;
import dev.kubejit.store.jdbc.JdbcRequestStore;
import io.kubernetes.client.openapi.ApiClient;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import okhttp3.Interceptor;
import okhttp3.Response;

/**
 * The child JVM of {@link CrashMidActivationFaultTest}: a broker on a SQLite store, a signed
 * {@link FileAuditSink}, the real {@link KubernetesRbacProvisioner} and a real X.509 issuer, which
 * activates one grant completely and then starts a second activation that stops at a kill point,
 * prints {@code KILLPOINT <point>} and sleeps until the parent kills it with SIGKILL.
 *
 * <p>No production class has a hook for this: the kill points are made observable by wrapping what
 * the broker is given — an OkHttp interceptor on the provisioner's {@link ApiClient} (after the
 * API server answered the POST of the Role, or of the RoleBinding), a {@link CredentialIssuer}
 * (after the certificate was issued), an {@link AuditSink} (after the batch with {@code
 * GRANT_ACTIVATED} is durable, so before the store's compare-and-set). Every other call through
 * these wrappers and the {@link RequestStore} wrapper waits a random 0–4 ms, so the timing of the
 * first, complete activation varies from run to run too.
 *
 * <p>Output lines: {@code PROVISION <grant-id>} before each grant's RBAC is applied, {@code ACTIVE
 * <request-id> <grant-id>} after the first activation, {@code ARMED <request-id>} before the second,
 * {@code KILLPOINT <point> <grant-id>}; {@code COMPLETED} (exit 3) if the kill point was never
 * reached.
 *
 * <p>Arguments: kill point ({@code role}, {@code binding}, {@code credential}, {@code audit}), the
 * SQLite file, the audit log, the audit key file, the kubeconfig, the namespace, the grant duration
 * in seconds and a random seed.
 */
final class CrashBrokerMain {
  static final String ROLE = "crash-debug";
  static final Identity ALICE = Identity.of("alice", List.of("oncall-payments")).assertedBy("test");
  /**
   * The orphan grace of the child and of the restarted broker. Zero: a restarted broker is the only
   * process on its store (the child is dead), and RBAC of other runs names requests its store does
   * not know, so reconcile may remove what the crash left at once.
   */
  static final Duration ORPHAN_GRACE = Duration.ZERO;

  private static volatile boolean armed;
  private static volatile String killPoint;
  private static volatile String currentGrant = "-";
  private static Random random;
  private static PrintStream out;

  private CrashBrokerMain() {}

  /** The policy of the child and of the broker restarted after it: auto-approved exec, a fixed short grant. */
  static AccessPolicy policy(String namespace, Duration grant) {
    return AccessPolicy.staticRules().role(ROLE, r -> r.requesters("oncall-payments").namespaces(namespace)
        .durations(grant, grant).auto(Action.EXEC).commands("cat").rbacTemplate("jit-debug")).build();
  }

  /** The RBAC provisioner of the child and of the restarted broker. */
  static KubernetesRbacProvisioner provisioner(ApiClient client) {
    return KubernetesRbacProvisioner.builder(client).maxGrantDuration(Duration.ofHours(1))
        .verificationTimeout(Duration.ofSeconds(30)).build();
  }

  /** A real X.509 issuer with a fresh CA (the certificates are never used, only issued). */
  static CredentialIssuer issuer(Clock clock) {
    CertificateAuthority ca = CertificateAuthority.builder().keyType(KeyType.ED25519).commonName("crash-ca")
        .validity(Duration.ofDays(2)).clock(clock).generate();
    return GrantCredentialIssuer.builder().x509(X509Issuer.builder().authority(ca).clock(clock).build()).clock(clock)
        .build();
  }

  static AccessRequest request(String namespace) {
    return AccessRequest.builder().requester(ALICE).role(ROLE).action(Action.EXEC)
        .scope(Scope.namespace("prod", namespace)).ticket("INC-22").build();
  }

  /**
   * Runs the child.
   *
   * @throws Exception on any failure; the JVM then exits non-zero
   */
  public static void main(String[] args) throws Exception {
    if (args.length != 8) {
      throw new IllegalArgumentException("usage: CrashBrokerMain POINT SQLITE AUDIT-LOG AUDIT-KEY KUBECONFIG NAMESPACE"
          + " GRANT-SECONDS SEED");
    }
    killPoint = args[0];
    if (!Set.of("role", "binding", "credential", "audit").contains(killPoint)) {
      throw new IllegalArgumentException("unknown kill point " + killPoint);
    }
    Path sqlite = Path.of(args[1]);
    Path log = Path.of(args[2]);
    Path key = Path.of(args[3]);
    Path kubeconfig = Path.of(args[4]);
    String namespace = args[5];
    Duration grant = Duration.ofSeconds(Long.parseLong(args[6]));
    random = new Random(Long.parseLong(args[7]));
    out = new PrintStream(System.out, true, StandardCharsets.UTF_8);

    ApiClient client = KubeClients.fromKubeconfig(kubeconfig, Optional.empty());
    client.setHttpClient(client.getHttpClient().newBuilder().addInterceptor(CrashBrokerMain::intercept).build());
    Clock clock = Clock.systemUTC();
    RbacProvisioner rbac = new RbacProvisioner() {
      private final KubernetesRbacProvisioner delegate = provisioner(client);

      @Override
      public void provision(Grant g) {
        currentGrant = g.id().value();
        out.println("PROVISION " + g.id().value());
        delegate.provision(g);
      }

      @Override
      public void deprovision(Grant g, EndCause cause) {
        delegate.deprovision(g, cause);
      }

      @Override
      public List<ManagedRbac> listManaged() {
        return delegate.listManaged();
      }

      @Override
      public void deprovision(ManagedRbac m, EndCause cause) {
        delegate.deprovision(m, cause);
      }
    };
    CredentialIssuer realIssuer = issuer(clock);
    CredentialIssuer issuer = (g, spec) -> {
      IssuedCredential c = realIssuer.issue(g, spec);
      killPoint("credential");
      return c;
    };
    FileAuditSink file = FileAuditSink.builder(log).signingKey(AuditKeys.readKeyPair(key)).open();
    AuditSink audit = events -> {
      pause();
      file.write(events);
      if (events.stream().map(AuditEvent::type).anyMatch(AuditEventType.GRANT_ACTIVATED::equals)) {
        killPoint("audit");
      }
    };
    RequestStore store = new PausingStore(JdbcRequestStore.builder().sqlite(sqlite).build());
    JitBroker broker = JitBroker.builder().clock(clock).policy(policy(namespace, grant)).store(store)
        .auditSink(audit).rbacProvisioner(rbac).credentialIssuer(issuer).orphanGrace(ORPHAN_GRACE).build();

    RequestRecord first = broker.submit(request(namespace));
    var done = broker.activate(first.id(), ALICE, CredentialSpec.x509FromCsr(TestBroker.csr("alice")));
    out.println("ACTIVE " + first.id().value() + " " + done.grant().id().value());

    RequestRecord second = broker.submit(request(namespace));
    if (second.state() != RequestState.APPROVED) {
      throw new IllegalStateException("the policy did not approve: " + second.state());
    }
    String csr = TestBroker.csr("alice");
    out.println("ARMED " + second.id().value());
    armed = true;
    broker.activate(second.id(), ALICE, CredentialSpec.x509FromCsr(csr));
    armed = false;
    out.println("COMPLETED");
    System.exit(3);
  }

  private static Response intercept(Interceptor.Chain chain) throws java.io.IOException {
    pause();
    Response r = chain.proceed(chain.request());
    if ("POST".equals(chain.request().method()) && r.code() == 201) {
      String path = chain.request().url().encodedPath();
      if (path.endsWith("/roles")) {
        killPoint("role");
      } else if (path.endsWith("/rolebindings")) {
        killPoint("binding");
      }
    }
    return r;
  }

  /** At the armed activation's kill point: says so and waits for SIGKILL. */
  private static void killPoint(String point) {
    if (!armed || !point.equals(killPoint)) {
      pause();
      return;
    }
    out.println("KILLPOINT " + point + " " + currentGrant);
    while (true) {
      try {
        Thread.sleep(Long.MAX_VALUE);
      } catch (InterruptedException e) {
        // SIGKILL is the only way out
      }
    }
  }

  private static void pause() {
    int ms;
    synchronized (CrashBrokerMain.class) {
      ms = random.nextInt(5);
    }
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The real store, with a random pause before every call. */
  private static final class PausingStore implements RequestStore {
    private final RequestStore delegate;

    PausingStore(RequestStore delegate) {
      this.delegate = delegate;
    }

    @Override
    public void insert(RequestRecord record) {
      pause();
      delegate.insert(record);
    }

    @Override
    public Optional<RequestRecord> find(RequestId id) {
      pause();
      return delegate.find(id);
    }

    @Override
    public Optional<RequestRecord> findByGrant(dev.kubejit.api.GrantId id) {
      pause();
      return delegate.findByGrant(id);
    }

    @Override
    public boolean replace(RequestRecord expected, RequestRecord updated) {
      pause();
      if (armed && updated.state() == RequestState.ACTIVE) {
        // Past every kill point of the armed activation: the child should be dead by now.
        out.println("CAS-REACHED " + updated.id().value());
      }
      return delegate.replace(expected, updated);
    }

    @Override
    public List<RequestRecord> list(Set<RequestState> states) {
      pause();
      return delegate.list(states);
    }

    @Override
    public List<RequestRecord> listEndingBy(Instant end) {
      pause();
      return delegate.listEndingBy(end);
    }
  }
}
