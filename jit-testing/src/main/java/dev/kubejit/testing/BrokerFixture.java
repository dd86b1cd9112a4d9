package dev.kubejit.testing;

import static java.util.Objects.requireNonNull;

import dev.kubejit.api.JitBroker;
import dev.kubejit.api.spi.AccessPolicy;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.CredentialIssuer;
import dev.kubejit.api.spi.InMemoryAuditSink;
import dev.kubejit.api.spi.InMemoryNotifier;
import dev.kubejit.api.spi.InMemoryRbacProvisioner;
import dev.kubejit.api.spi.Notifier;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import java.time.Duration;
import java.time.Instant;
import java.util.function.Function;
import java.util.function.Supplier;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A ready {@link JitBroker} for your own tests: a fresh broker for every test method, on a
 * {@link FakeClock} you advance, with the audit events, notifications and RBAC it produced
 * captured for assertions.
 *
 * <pre>{@code
 * @RegisterExtension
 * final BrokerFixture jit = BrokerFixture.builder()
 *     .policy(() -> PolicyEngine.of(PolicyLoader.load(Path.of("policy.yaml"), "test")))
 *     .build();
 *
 * @Test
 * void logsAreAutoApproved() {
 *   RequestRecord r = jit.broker().submit(...);
 *   jit.clock().advance(Duration.ofHours(2));
 *   assertEquals(1, jit.broker().expireDue());
 *   assertEquals(List.of(...), jit.auditTypes());
 * }
 * }</pre>
 *
 * <p>Each test also gets its own X.509 certificate authority ({@link #ca()}) for a credential
 * issuer built per test ({@link Builder#credentialIssuer}).
 *
 * <p>What is fixed, so that tests stay honest: the audit sink and notifier are in-memory captures
 * (wrap them in your own adapter with {@link Builder#auditSink}), the broker fails closed on the
 * audit sink exactly as in production, and nothing is shared between test methods. The store is
 * {@link RequestStore#inMemory()} unless {@link Builder#store} supplies another (a durable store
 * under test, say); the RBAC provisioner is {@link RbacProvisioner#inMemory()} unless {@link
 * Builder#rbacProvisioner} supplies one. Register it as an instance field (not static): the
 * extension builds the broker before each test.
 */
public final class BrokerFixture implements BeforeEachCallback, AfterEachCallback {
  private final Supplier<? extends AccessPolicy> policy;
  private final Supplier<? extends RequestStore> storeFactory;
  private final Supplier<? extends RbacProvisioner> rbacFactory;
  private final Function<? super Context, ? extends CredentialIssuer> issuerFactory;
  private final Instant start;
  private final Duration requestTimeout;
  private final String[] adminGroups;

  private State state;

  private BrokerFixture(Builder b) {
    this.policy = b.policy;
    this.storeFactory = b.store;
    this.rbacFactory = b.rbac;
    this.issuerFactory = b.issuer;
    this.start = b.start;
    this.requestTimeout = b.requestTimeout;
    this.adminGroups = b.adminGroups.clone();
  }

  /** Returns a builder; a policy is required. */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    state = new State();
  }

  @Override
  public void afterEach(ExtensionContext context) {
    state = null;
  }

  /** The broker of the current test. */
  public JitBroker broker() {
    return current().broker;
  }

  /** The broker's clock; advance it to make requests and grants expire. */
  public FakeClock clock() {
    return current().clock;
  }

  /** The store the current broker writes to. */
  public RequestStore store() {
    return current().store;
  }

  /** Every audit event written in the current test, in order. */
  public InMemoryAuditSink audit() {
    return current().audit;
  }

  /**
   * The current test's own X.509 certificate authority: a fresh ECDSA P-256 key and self-signed CA
   * certificate for every test method, dated by the test's clock, valid 30 days. Hand it to your
   * issuer with jit-credentials' {@code CertificateAuthority.fromPem(ca.certificatePem(),
   * ca.privateKeyPem())}; see {@link Builder#credentialIssuer}.
   */
  public EphemeralCa ca() {
    return current().ca;
  }

  /** Every notification sent in the current test, in order. */
  public InMemoryNotifier notifications() {
    return current().notifier;
  }

  /**
   * The in-memory RBAC provisioner of the current test.
   *
   * @throws IllegalStateException if {@link Builder#rbacProvisioner} supplied another kind
   */
  public InMemoryRbacProvisioner rbac() {
    RbacProvisioner r = current().rbac;
    if (!(r instanceof InMemoryRbacProvisioner)) {
      throw new IllegalStateException("this fixture provisions RBAC with " + r + ", not in memory");
    }
    return (InMemoryRbacProvisioner) r;
  }

  private State current() {
    State s = state;
    if (s == null) {
      throw new IllegalStateException("BrokerFixture is used outside a test method: register it with "
          + "@RegisterExtension on an instance field");
    }
    return s;
  }

  @Override
  public String toString() {
    return "BrokerFixture{start=" + start + ", requestTimeout=" + requestTimeout + "}";
  }

  /**
   * What a credential-issuer factory gets for each test: the test's clock (the broker's) and its
   * ephemeral CA.
   */
  public interface Context {
    /** The test's clock; give it to the issuer so certificates end with the grants on fake time. */
    FakeClock clock();

    /** The test's ephemeral X.509 CA. */
    EphemeralCa ca();
  }

  /**
   * A throwaway certificate authority, one per test method: the CA certificate and its PKCS#8
   * private key in PEM. {@link #toString()} shows the subject, never the key.
   */
  public static final class EphemeralCa {
    private final String certificatePem;
    private final String privateKeyPem;
    private final String subject;

    private EphemeralCa(TestPki pki) {
      this.certificatePem = TestPki.pem(pki.caCertificate());
      this.privateKeyPem = TestPki.pem(pki.caPrivateKey());
      this.subject = pki.caCertificate().getSubjectX500Principal().getName();
    }

    /** The CA certificate, PEM. */
    public String certificatePem() {
      return certificatePem;
    }

    /** The CA's private key, PKCS#8 PEM; test material only, never logged. */
    public String privateKeyPem() {
      return privateKeyPem;
    }

    @Override
    public String toString() {
      return "EphemeralCa{" + subject + "}";
    }
  }

  /** The per-test objects. */
  private final class State implements Context {
    final FakeClock clock = new FakeClock(start);
    final EphemeralCa ca = new EphemeralCa(TestPki.create("kubejit-test-ca", start));
    final InMemoryAuditSink audit = AuditSink.inMemory();
    final InMemoryNotifier notifier = Notifier.inMemory();
    final RequestStore store = requireNonNull(storeFactory.get(), "store supplier returned null");
    final RbacProvisioner rbac = requireNonNull(rbacFactory.get(), "RBAC supplier returned null");
    final JitBroker broker;

    State() {
      JitBroker.Builder b = JitBroker.builder()
          .clock(clock)
          .policy(requireNonNull(policy.get(), "policy supplier returned null"))
          .store(store)
          .auditSink(audit)
          .notifier(notifier)
          .rbacProvisioner(rbac)
          .requestTimeout(requestTimeout)
          .adminGroups(adminGroups);
      if (issuerFactory != null) {
        b.credentialIssuer(requireNonNull(issuerFactory.apply(this), "credential issuer factory returned null"));
      }
      this.broker = b.build();
    }

    @Override
    public FakeClock clock() {
      return clock;
    }

    @Override
    public EphemeralCa ca() {
      return ca;
    }
  }

  /** Configures a {@link BrokerFixture}. */
  public static final class Builder {
    private Supplier<? extends AccessPolicy> policy;
    private Supplier<? extends RequestStore> store = RequestStore::inMemory;
    private Supplier<? extends RbacProvisioner> rbac = RbacProvisioner::inMemory;
    private Function<? super Context, ? extends CredentialIssuer> issuer;
    private Instant start = FakeClock.DEFAULT_START;
    private Duration requestTimeout = Duration.ofHours(1);
    private String[] adminGroups = new String[0];

    private Builder() {}

    /** The policy (required), for example one built with {@code AccessPolicy.staticRules()}. */
    public Builder policy(AccessPolicy policy) {
      requireNonNull(policy, "policy");
      this.policy = () -> policy;
      return this;
    }

    /**
     * The policy, made once per test, for example loaded from the reviewed policy file with
     * jit-policy: {@code () -> PolicyEngine.of(PolicyLoader.load(path, "test"))}.
     */
    public Builder policy(Supplier<? extends AccessPolicy> policy) {
      this.policy = requireNonNull(policy, "policy");
      return this;
    }

    /** Makes the store for each test (default {@link RequestStore#inMemory()}). */
    public Builder store(Supplier<? extends RequestStore> store) {
      this.store = requireNonNull(store, "store");
      return this;
    }

    /** Makes the RBAC provisioner for each test (default {@link RbacProvisioner#inMemory()}). */
    public Builder rbacProvisioner(Supplier<? extends RbacProvisioner> rbac) {
      this.rbac = requireNonNull(rbac, "rbac");
      return this;
    }

    /**
     * Makes the credential issuer for each test (default none) from the test's {@link Context}
     * (clock and ephemeral CA), for example with jit-credentials:
     *
     * <pre>{@code
     * .credentialIssuer(t -> GrantCredentialIssuer.builder().clock(t.clock())
     *     .x509(X509Issuer.builder().clock(t.clock())
     *         .authority(CertificateAuthority.fromPem(t.ca().certificatePem(), t.ca().privateKeyPem())).build())
     *     .build())
     * }</pre>
     */
    public Builder credentialIssuer(Function<? super Context, ? extends CredentialIssuer> issuer) {
      this.issuer = requireNonNull(issuer, "issuer");
      return this;
    }

    /** Where each test's clock starts (default {@link FakeClock#DEFAULT_START}). */
    public Builder startingAt(Instant start) {
      this.start = requireNonNull(start, "start");
      return this;
    }

    /** How long a request may wait for approval and activation (default 1 hour). */
    public Builder requestTimeout(Duration timeout) {
      this.requestTimeout = requireNonNull(timeout, "timeout");
      return this;
    }

    /** Groups whose members may revoke any request. */
    public Builder adminGroups(String... groups) {
      this.adminGroups = groups.clone();
      return this;
    }

    /**
     * Returns the fixture.
     *
     * @throws IllegalStateException if no policy was given
     */
    public BrokerFixture build() {
      if (policy == null) {
        throw new IllegalStateException("a policy is required: BrokerFixture.builder().policy(...)");
      }
      return new BrokerFixture(this);
    }
  }
}
