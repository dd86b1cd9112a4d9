package dev.kubejit.bench;

import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.Activation;
import dev.kubejit.api.CredentialSpec;
import dev.kubejit.api.Identity;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.Scope;
import dev.kubejit.admission.GrantCache;
import dev.kubejit.admission.RevocationAuthorizer;
import dev.kubejit.api.spi.AccessPolicy;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.Notifier;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.audit.AuditKeys;
import dev.kubejit.audit.FileAuditSink;
import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.credentials.GrantCredentialIssuer;
import dev.kubejit.credentials.Kubeconfig;
import dev.kubejit.credentials.X509Issuer;
import dev.kubejit.policy.PolicyEngine;
import dev.kubejit.policy.PolicyFormat;
import dev.kubejit.policy.PolicyLoader;
import dev.kubejit.rbac.KubernetesRbacProvisioner;
import dev.kubejit.testing.KubeControlPlane;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.util.ClientBuilder;
import io.kubernetes.client.util.KubeConfig;
import java.io.StringReader;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Security;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * Item 8, outside JMH: the broker's lifecycle against jit-testing's real kube-apiserver + etcd
 * (RBAC authorizer, no authorization webhook). Wired as {@code samples/kubernetes-broker} does:
 * {@link KubernetesRbacProvisioner} (applies and verifies the grant's RBAC), an {@link X509Issuer}
 * on the cluster's client CA, in-memory store, a signed {@link FileAuditSink}.
 *
 * <ul>
 *   <li>approval to usable access: {@code approve} + {@code activate} (RBAC applied and verified,
 *       certificate issued), for every grant created; plus, for the probe grants, until the first
 *       successful API call with the issued certificate;
 *   <li>revocation lag: from the start of {@code revoke} (and of an expiry sweep, {@code
 *       expireDue}, after the windows of the probe grants ended) to the first 403 for the grant's
 *       certificate, polling {@code list pods} as fast as the API server answers, with 10, 100 and
 *       1,000 other grants live;
 *   <li>the reaper while idle with 1,000 live grants: CPU and allocation of one {@code expireDue}
 *       sweep that finds nothing due, and the CPU share at the server's 5 s tick;
 *   <li>heap per 10,000 live grants: a broker with the in-memory store and RBAC (so 10,000 grants
 *       fit in the run), real certificates; used heap after full GCs, before and after.
 * </ul>
 */
final class LifecycleBench {
  private static final String NS = "payments-bench";
  private static final int PROBES = 10;
  private static final Duration TICK = Duration.ofSeconds(5); // ServerWiring.EXPIRY_TICK
  /**
   * The API server's authorization webhook decision caches (authorized and unauthorized TTL), as
   * docs/admission.md recommends: the end of a grant's window reaches the API server within it.
   */
  private static final Duration WEBHOOK_CACHE_TTL = Duration.ofMillis(500);
  private static final String POLICY = String.join("\n",
      "apiVersion: kubejit.dev/v1",
      "kind: AccessPolicy",
      "metadata: {name: bench}",
      "roles:",
      "- name: oncall-debug",
      "  requesters: [oncall-payments]",
      "  namespaces: [" + NS + "]",
      "  defaultDuration: PT1H",
      "  maxDuration: PT8H",
      "  justification: {required: true, ticketPattern: '^INC-[0-9]+$'}",
      "  rbac: {template: oncall-debug}",
      "  actions:",
      "    exec: {approval: manual, approvers: [sre-leads], minApprovals: 1}",
      "");

  /** The system clock plus an offset the run moves forward to end the probe grants' windows. */
  static final class ShiftedClock extends Clock {
    volatile Duration offset = Duration.ZERO;

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Instant instant() {
      return Instant.now().plus(offset);
    }
  }

  private final List<Integer> levels;
  private final Path dataDir;
  private final Rows rows = Rows.create();
  private final Identity approver = Identity.of("carol-bench", List.of("sre-leads")).assertedBy("bench");
  private final KeyPairGenerator keys;
  private int next;

  private LifecycleBench(List<Integer> levels, Path dataDir) throws Exception {
    this.levels = levels;
    this.dataDir = dataDir;
    if (Security.getProvider("BC") == null) {
      Security.addProvider(new BouncyCastleProvider());
    }
    this.keys = KeyPairGenerator.getInstance("Ed25519", "BC");
  }

  static Rows run(List<Integer> levels, int heapGrants, Path dataDir) {
    LifecycleBench b;
    try {
      b = new LifecycleBench(levels, dataDir);
    } catch (Exception e) {
      Rows r = Rows.create();
      r.notRun("8 lifecycle", "failed: " + e);
      return r;
    }
    b.againstControlPlane(false);
    b.againstControlPlane(true);
    if (heapGrants > 0) {
      b.heap(heapGrants);
    } else {
      b.rows.notRun("8 heap per live grants", "skipped (-Dkubejit.bench.heapGrants=0)");
    }
    return b.rows;
  }

  /** One engineer: a key and a CSR for it (made before any timing). */
  private record Engineer(Identity identity, KeyPair key, String csr) {}

  private Engineer engineer() throws Exception {
    String name = "eng-" + next++;
    KeyPair kp = keys.generateKeyPair();
    byte[] der = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=" + name), kp.getPublic())
        .build(new JcaContentSignerBuilder("Ed25519").setProvider("BC").build(kp.getPrivate())).getEncoded();
    return new Engineer(Identity.of(name, List.of("oncall-payments")).assertedBy("bench"), kp, pem("CERTIFICATE REQUEST", der));
  }

  private record Live(RequestId id, Engineer engineer, Activation activation) {}

  /** submit, then time approve + activate. */
  private Live grant(JitBroker broker, Duration duration, Rows.Latencies approvalToAccess) throws Exception {
    Engineer e = engineer();
    RequestRecord r = broker.submit(AccessRequest.builder().requester(e.identity()).role("oncall-debug")
        .action(Action.EXEC).scope(Scope.namespace("bench", NS)).duration(duration).ticket("INC-1")
        .justification("benchmark").build());
    if (r.state() != RequestState.PENDING_APPROVAL) {
      throw new IllegalStateException("expected a pending request, got " + r.state());
    }
    long t0 = System.nanoTime();
    broker.approve(r.id(), approver, "ok");
    Activation a = broker.activate(r.id(), e.identity(), CredentialSpec.x509FromCsr(e.csr()));
    approvalToAccess.add(System.nanoTime() - t0);
    return new Live(r.id(), e, a);
  }

  /**
   * One run against a fresh control plane: without the authorization webhook (the RBAC authorizer
   * alone; revocation ends access when the broker deletes the RoleBinding), or with jit-admission's
   * {@link RevocationAuthorizer} as authorization webhook ({@code Node,Webhook,RBAC}, decision
   * caches of {@link #WEBHOOK_CACHE_TTL}), fed by the broker's notifications through a {@link
   * GrantCache} and deciding with the broker's clock.
   */
  private void againstControlPlane(boolean webhook) {
    String mode = webhook ? "with the authorization webhook" : "RBAC authorizer, no webhook";
    Path auditDir = null;
    Path hostDir = null;
    WebhookHost host = null;
    KubeControlPlane cp = null;
    ShiftedClock clock = new ShiftedClock();
    RequestStore store = RequestStore.inMemory();
    GrantCache cache = GrantCache.manual(store, clock);
    try {
      auditDir = Files.createTempDirectory(dataDir, "lifecycle-");
      try {
        if (webhook) {
          hostDir = Files.createTempDirectory(dataDir, "authz-");
          RevocationAuthorizer authorizer = RevocationAuthorizer.of(cache, AuditSink.inMemory(), clock);
          host = WebhookHost.start(hostDir, "/authorize", authorizer::handle);
          Path kubeconfig = hostDir.resolve("authz.kubeconfig");
          Files.writeString(kubeconfig, RevocationAuthorizer.apiServerKubeconfig(host.url(), host.caPem));
          cp = KubeControlPlane.startWithAuthorizationWebhook(kubeconfig, WEBHOOK_CACHE_TTL);
        } else {
          cp = KubeControlPlane.start();
        }
      } catch (RuntimeException | LinkageError e) {
        rows.notRun("8 lifecycle against the control plane (" + mode + ")", "control plane absent: "
            + StoreBench.firstLine(String.valueOf(e.getMessage())));
        return;
      }
      ApiClient admin = cp.adminClient();
      new CoreV1Api(admin).createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name(NS))).execute();
      AccessPolicy policy = PolicyEngine.of(PolicyLoader.parse(POLICY.getBytes(StandardCharsets.UTF_8),
          PolicyFormat.YAML, "bench.yaml", "rev-1"));
      CertificateAuthority ca = CertificateAuthority.fromPem(cp.caCertificatePem(), cp.caPrivateKeyPem());
      try (FileAuditSink audit = FileAuditSink.builder(auditDir.resolve("audit.jsonl")).signingKey(AuditKeys.generate())
          .open()) {
        JitBroker broker = JitBroker.builder().clock(clock).policy(policy).store(store)
            .auditSink(audit)
            .rbacProvisioner(KubernetesRbacProvisioner.builder(admin).maxGrantDuration(Duration.ofHours(8)).clock(clock)
                .build())
            .credentialIssuer(GrantCredentialIssuer.builder().x509(X509Issuer.builder().authority(ca).clock(clock).build())
                .clock(clock).build())
            .notifier(webhook ? cache : Notifier.none()).build();
        Rows.Latencies approvalToAccess = new Rows.Latencies();
        Rows.Latencies approvalToFirstCall = new Rows.Latencies();
        List<Live> bulk = new ArrayList<>();
        for (int level : levels) {
          while (bulk.size() < level) {
            bulk.add(grant(broker, Duration.ofHours(4), approvalToAccess));
          }
          System.err.printf(Locale.ROOT, "lifecycle (%s): %d live grants; probing revocation ...%n", mode, bulk.size());
          Rows.Latencies revokeLag = new Rows.Latencies();
          Rows.Latencies revokeCall = new Rows.Latencies();
          Rows.Latencies expiryLag = new Rows.Latencies();
          List<Live> expiring = new ArrayList<>();
          List<ApiClient> expiringClients = new ArrayList<>();
          for (int i = 0; i < PROBES; i++) {
            long t0 = System.nanoTime();
            Live p = grant(broker, Duration.ofHours(4), approvalToAccess);
            ApiClient c = client(cp, p);
            awaitCode(c, 200);
            approvalToFirstCall.add(System.nanoTime() - t0);
            long r0 = System.nanoTime();
            broker.revoke(p.id(), p.engineer().identity(), "bench");
            revokeCall.add(System.nanoTime() - r0);
            awaitCode(c, 403);
            revokeLag.add(System.nanoTime() - r0);
            Live x = grant(broker, Duration.ofMinutes(10), approvalToAccess);
            ApiClient xc = client(cp, x);
            awaitCode(xc, 200);
            expiring.add(x);
            expiringClients.add(xc);
          }
          // End the probe grants' windows (10 min) but none of the bulk (4 h). Without the webhook:
          // sweep once and time each probe's first 403 from the sweep's start (the RoleBinding's
          // removal ends access). With it: time each probe's first 403 from the moment the windows
          // end (the webhook checks the window on every uncached decision; the RoleBindings are
          // still there), and sweep afterwards.
          clock.offset = Duration.ofMinutes(11);
          long s0 = System.nanoTime();
          // The sweep runs on its own thread while the probes poll, so each probe's lag is its own
          // grant's, not the whole sweep's.
          long[] sweepEnd = new long[1];
          java.util.concurrent.CompletableFuture<Integer> sweep = webhook
              ? java.util.concurrent.CompletableFuture.completedFuture(0)
              : java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                int n = broker.expireDue();
                sweepEnd[0] = System.nanoTime();
                return n;
              });
          long[] firstForbidden = new long[expiring.size()];
          int left = expiring.size();
          long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
          while (left > 0 && System.nanoTime() < deadline) {
            for (int i = 0; i < expiring.size(); i++) {
              if (firstForbidden[i] == 0 && code(expiringClients.get(i)) == 403) {
                firstForbidden[i] = System.nanoTime();
                left--;
              }
            }
          }
          int expired = webhook ? broker.expireDue() : sweep.join();
          long sweepNanos = sweepEnd[0] - s0;
          clock.offset = Duration.ZERO;
          if (left > 0 || expired < expiring.size()) {
            throw new IllegalStateException("expiry: " + expired + " expired, " + left + " probes still allowed after 60 s");
          }
          for (long f : firstForbidden) {
            expiryLag.add(f - s0);
          }
          String l = String.format(Locale.ROOT, "%,d", level);
          rows.add("8 revocation lag, revoke → first 403, " + l + " live grants (" + mode + ")",
              "p50 " + Rows.time(revokeLag.quantile(0.5)) + ", p99 " + Rows.time(revokeLag.quantile(0.99)) + " ("
                  + revokeLag.size() + " probes; p99 of 10 = the worst; revoke() itself p50 "
                  + Rows.time(revokeCall.quantile(0.5)) + ")",
              "target", Double.NaN, "p99 < 1 s at 1,000 grants",
              level == 1000 ? Boolean.valueOf(revokeLag.quantile(0.99) < 1e9) : null);
          rows.add(webhook
                  ? "8 revocation lag, window end → first 403 (webhook alone, no sweep), " + l + " live grants"
                  : "8 revocation lag, expiry sweep → first 403, " + l + " live grants (" + mode + ")",
              "p50 " + Rows.time(expiryLag.quantile(0.5)) + ", p99 " + Rows.time(expiryLag.quantile(0.99)) + " ("
                  + expiryLag.size() + (webhook ? " grants ending at once; " + WEBHOOK_CACHE_TTL.toMillis()
                  + " ms API server decision caches)" : " grants ending in one sweep, which took "
                  + Rows.time(sweepNanos) + "; plus up to the " + TICK.toSeconds() + " s sweep tick)"),
              "target", Double.NaN, "p99 < 1 s at 1,000 grants",
              level == 1000 ? Boolean.valueOf(expiryLag.quantile(0.99) < 1e9) : null);
        }
        rows.add("8 approval → usable access (approve + activate: RBAC applied and verified, cert issued; " + mode + ")",
            "p50 " + Rows.time(approvalToAccess.quantile(0.5)) + ", p99 " + Rows.time(approvalToAccess.quantile(0.99))
                + " (" + approvalToAccess.size() + " grants)", "", Double.NaN, "— (none set)", null);
        rows.add("8 approval → first successful API call with the certificate (" + mode + ")",
            "p50 " + Rows.time(approvalToFirstCall.quantile(0.5)) + ", p99 "
                + Rows.time(approvalToFirstCall.quantile(0.99)) + " (" + approvalToFirstCall.size() + " probes)", "",
            Double.NaN, "— (none set)", null);
        if (!webhook) {
          reaper(broker, bulk.size());
        }
      }
    } catch (Exception | LinkageError e) {
      e.printStackTrace();
      rows.notRun("8 lifecycle against the control plane (" + mode + ")", "failed: " + e);
    } finally {
      if (cp != null) {
        cp.close();
      }
      if (host != null) {
        host.close();
      }
      cache.close();
      for (Path d : new Path[] {auditDir, hostDir}) {
        try {
          AuditBench.deleteTree(d);
        } catch (java.io.IOException e) {
          System.err.println("lifecycle: could not delete " + d + ": " + e);
        }
      }
    }
  }

  /** CPU and allocation of sweeps that find nothing due, on this thread. */
  private void reaper(JitBroker broker, int live) {
    com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    for (int i = 0; i < 20; i++) {
      broker.expireDue(); // warm
    }
    int sweeps = 50;
    long cpu0 = threads.getCurrentThreadCpuTime();
    long alloc0 = threads.getThreadAllocatedBytes(Thread.currentThread().getId());
    long wall0 = System.nanoTime();
    for (int i = 0; i < sweeps; i++) {
      if (broker.expireDue() != 0) {
        throw new IllegalStateException("an idle sweep expired something");
      }
    }
    double cpu = (threads.getCurrentThreadCpuTime() - cpu0) / (double) sweeps;
    double wall = (System.nanoTime() - wall0) / (double) sweeps;
    double alloc = (threads.getThreadAllocatedBytes(Thread.currentThread().getId()) - alloc0) / (double) sweeps;
    rows.add(String.format(Locale.ROOT, "8 reaper idle, %,d live grants: one expireDue sweep finding nothing due", live),
        String.format(Locale.ROOT, "CPU %s, wall %s, %,.0f KiB allocated per sweep; at the %d s tick %.3f %% of one core",
            Rows.time(cpu), Rows.time(wall), alloc / 1024, TICK.toSeconds(), 100 * cpu / TICK.toNanos()),
        "", Double.NaN, "— (none set)", null);
  }

  /** Heap held by a broker with n live grants (in-memory store and RBAC; real certificates). */
  private void heap(int n) {
    Path auditDir = null;
    try {
      auditDir = Files.createTempDirectory(dataDir, "heap-");
      MemoryMXBean mem = ManagementFactory.getMemoryMXBean();
      CertificateAuthority ca = CertificateAuthority.builder().commonName("bench-heap-ca").validity(Duration.ofDays(1)).generate();
      AccessPolicy policy = PolicyEngine.of(PolicyLoader.parse(POLICY.getBytes(StandardCharsets.UTF_8),
          PolicyFormat.YAML, "bench.yaml", "rev-1"));
      List<Engineer> engineers = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        engineers.add(engineer());
      }
      try (FileAuditSink audit = FileAuditSink.builder(auditDir.resolve("audit.jsonl")).signingKey(AuditKeys.generate())
          .open()) {
        Clock clock = Clock.systemUTC();
        long before = usedAfterGc(mem);
        JitBroker broker = JitBroker.builder().clock(clock).policy(policy).store(RequestStore.inMemory()).auditSink(audit)
            .rbacProvisioner(RbacProvisioner.inMemory())
            .credentialIssuer(GrantCredentialIssuer.builder().x509(X509Issuer.builder().authority(ca).clock(clock).build())
                .clock(clock).build())
            .notifier(Notifier.none()).build();
        for (Engineer e : engineers) {
          RequestRecord r = broker.submit(AccessRequest.builder().requester(e.identity()).role("oncall-debug")
              .action(Action.EXEC).scope(Scope.namespace("bench", NS)).duration(Duration.ofHours(4)).ticket("INC-1")
              .justification("benchmark").build());
          broker.approve(r.id(), approver, "ok");
          broker.activate(r.id(), e.identity(), CredentialSpec.x509FromCsr(e.csr()));
        }
        long after = usedAfterGc(mem);
        if (broker.list(java.util.EnumSet.of(RequestState.ACTIVE)).size() != n) {
          throw new IllegalStateException("expected " + n + " active grants");
        }
        rows.add(String.format(Locale.ROOT, "8 heap per %,d live grants (broker, in-memory store and RBAC)", n),
            String.format(Locale.ROOT, "%,.1f MiB (%,.1f KiB per grant)", (after - before) / 1048576.0,
                (after - before) / 1024.0 / n),
            "", Double.NaN, "— (none set)", null);
        java.lang.ref.Reference.reachabilityFence(broker);
      }
    } catch (Exception | LinkageError e) {
      rows.notRun("8 heap per live grants", "failed: " + e);
    } finally {
      try {
        AuditBench.deleteTree(auditDir);
      } catch (java.io.IOException e) {
        System.err.println("lifecycle: could not delete " + auditDir + ": " + e);
      }
    }
  }

  private static long usedAfterGc(MemoryMXBean mem) throws InterruptedException {
    for (int i = 0; i < 4; i++) {
      System.gc();
      Thread.sleep(100);
    }
    return mem.getHeapMemoryUsage().getUsed();
  }

  private static ApiClient client(KubeControlPlane cp, Live p) throws Exception {
    String yaml = Kubeconfig.builder().server(cp.serverUrl()).certificateAuthorityPem(cp.caCertificatePem())
        .clientCertificate(p.activation().credentials().get(0).material(),
            pem("PRIVATE KEY", p.engineer().key().getPrivate().getEncoded()))
        .build().yaml();
    return ClientBuilder.kubeconfig(KubeConfig.loadKubeConfig(new StringReader(yaml))).build();
  }

  private static int code(ApiClient c) {
    try {
      new CoreV1Api(c).listNamespacedPod(NS).limit(1).execute();
      return 200;
    } catch (ApiException e) {
      return e.getCode();
    }
  }

  /** Polls until the call answers with {@code want}; fails after 60 s. */
  private static void awaitCode(ApiClient c, int want) {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    int last = -1;
    while (System.nanoTime() < deadline) {
      last = code(c);
      if (last == want) {
        return;
      }
    }
    throw new IllegalStateException("expected HTTP " + want + " within 60 s, last " + last);
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }
}
