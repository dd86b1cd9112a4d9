package dev.kubejit.testing;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.util.ClientBuilder;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;

/**
 * A real Kubernetes control plane (etcd, kube-apiserver with RBAC and audit logging,
 * kube-controller-manager signing CSRs) running as local processes on 127.0.0.1.
 *
 * <p>All TLS material comes from a fresh ECDSA P-256 test CA that is the apiserver's client CA, the
 * issuer of its serving certificate and the controller-manager's cluster-signing CA. Everything
 * lives in a private temporary directory that {@link #close()} deletes; a JVM shutdown hook makes
 * sure the processes never outlive the JVM. Instances are thread-safe.
 */
public final class KubeControlPlane implements AutoCloseable {
  /** Default lifetime of certificates the controller-manager issues through the CSR API. */
  static final Duration DEFAULT_SIGNING_DURATION = Duration.ofHours(1);

  static final String ADMIN_USER = "kubejit-admin";
  static final String MASTERS_GROUP = "system:masters";

  private static final Duration ETCD_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration APISERVER_TIMEOUT = Duration.ofSeconds(90);
  private static final Duration CONTROLLER_MANAGER_TIMEOUT = Duration.ofSeconds(60);
  private static final long STOP_GRACE_MILLIS = 5_000;
  private static final long SHUTDOWN_HOOK_GRACE_MILLIS = 2_000;
  private static final int START_ATTEMPTS = 2;
  private static final String LOOPBACK = "127.0.0.1";
  private static final String AUDIT_POLICY =
      String.join(
          "\n",
          "apiVersion: audit.k8s.io/v1",
          "kind: Policy",
          "omitStages: [\"RequestReceived\"]",
          "rules:",
          "- level: Metadata",
          "");

  private final TestEnvBinaries binaries;
  private final Duration signingDuration;
  private final Path dir;
  private final TestPki pki;
  private final TestPki.Issued admin;
  private final String serverUrl;
  private final Path adminKubeconfig;
  private final Path auditLog;
  /**
   * etcd, kube-apiserver, kube-controller-manager in that order; the same list the shutdown hook
   * stops, so a process restarted by {@link #startApiServer()} or {@link #restartEtcd} replaces its
   * entry and is stopped too.
   */
  private final List<ManagedProcess> processes;
  private final Restart restart;
  private final Thread shutdownHook;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final AtomicInteger kubeconfigCounter = new AtomicInteger();

  private KubeControlPlane(
      TestEnvBinaries binaries,
      Duration signingDuration,
      Path dir,
      TestPki pki,
      TestPki.Issued admin,
      String serverUrl,
      Path adminKubeconfig,
      Path auditLog,
      List<ManagedProcess> processes,
      Restart restart,
      Thread shutdownHook) {
    this.binaries = binaries;
    this.signingDuration = signingDuration;
    this.dir = dir;
    this.pki = pki;
    this.admin = admin;
    this.serverUrl = serverUrl;
    this.adminKubeconfig = adminKubeconfig;
    this.auditLog = auditLog;
    this.processes = processes;
    this.restart = restart;
    this.shutdownHook = shutdownHook;
  }

  /**
   * Checks, without starting anything, that {@link #start()} would find etcd, kube-apiserver and
   * kube-controller-manager.
   *
   * @throws IllegalStateException naming where it looked, and {@code scripts/testenv.sh} and
   *     {@code KUBEBUILDER_ASSETS} as the ways to provide them
   */
  public static void requireBinaries() {
    TestEnvBinaries.locate();
  }

  /** Starts a control plane whose controller-manager issues CSR certificates valid for 1 hour. */
  public static KubeControlPlane start() {
    return start(DEFAULT_SIGNING_DURATION);
  }

  /**
   * Starts a control plane whose controller-manager issues CSR certificates valid for {@code
   * clusterSigningDuration}.
   */
  public static KubeControlPlane start(Duration clusterSigningDuration) {
    requireNonNull(clusterSigningDuration, "clusterSigningDuration");
    if (clusterSigningDuration.isNegative() || clusterSigningDuration.isZero()) {
      throw new IllegalArgumentException("clusterSigningDuration must be positive");
    }
    return start(clusterSigningDuration, null, null, List.of());
  }

  /**
   * Starts a control plane (separate from the shared one) whose API server also asks an
   * authorization webhook: {@code --authorization-mode=Node,Webhook,RBAC}, {@code
   * --authorization-webhook-config-file} (a copy of {@code webhookKubeconfig}, API version v1), and
   * both decision caches set to {@code cacheTtl} (whole seconds, or milliseconds when it has a
   * fraction of a second, as {@code 500ms}; at least 1 ms). If the webhook does
   * not answer, the API server treats it as no opinion and RBAC decides.
   */
  public static KubeControlPlane startWithAuthorizationWebhook(Path webhookKubeconfig, Duration cacheTtl) {
    requireNonNull(webhookKubeconfig, "webhookKubeconfig");
    requireNonNull(cacheTtl, "cacheTtl");
    if (cacheTtl.isNegative() || cacheTtl.isZero()) {
      throw new IllegalArgumentException("cacheTtl must be positive");
    }
    return start(DEFAULT_SIGNING_DURATION, webhookKubeconfig, cacheTtl, List.of());
  }

  /**
   * Starts a control plane (separate from the shared one; close it yourself) whose API server also
   * authenticates OpenID Connect ID tokens: {@code --oidc-issuer-url}, {@code --oidc-client-id},
   * {@code --oidc-ca-file}, {@code --oidc-username-claim}, {@code --oidc-username-prefix} and
   * {@code --oidc-groups-claim} from {@code oidc}. Groups get no prefix, so a token's group
   * {@code jit:grant:<id>} matches the RoleBinding KubeJIT made for that grant; users get the
   * prefix, so an OIDC user never collides with a certificate user of the same name.
   */
  public static KubeControlPlane startWithOidc(Oidc oidc) {
    requireNonNull(oidc, "oidc");
    return start(DEFAULT_SIGNING_DURATION, null, null, oidc.flags());
  }

  /** The OpenID Connect settings of {@link #startWithOidc}; every one is required. */
  public static final class Oidc {
    private String issuerUrl;
    private String clientId;
    private Path caFile;
    private String usernameClaim;
    private String usernamePrefix;
    private String groupsClaim;

    private Oidc() {}

    /** Starts the settings with the issuer URL (HTTPS, exactly the tokens' {@code iss}). */
    public static Oidc issuer(String issuerUrl) {
      if (!requireNonNull(issuerUrl, "issuerUrl").startsWith("https://")) {
        throw new IllegalArgumentException("the OIDC issuer must be an https URL: " + issuerUrl);
      }
      Oidc o = new Oidc();
      o.issuerUrl = issuerUrl;
      return o;
    }

    /** The client ID that every accepted ID token's {@code aud} must contain. */
    public Oidc clientId(String clientId) {
      this.clientId = requireNonNull(clientId, "clientId");
      return this;
    }

    /** The PEM file of the CA that issued the issuer's serving certificate. */
    public Oidc caFile(Path caFile) {
      this.caFile = requireNonNull(caFile, "caFile");
      return this;
    }

    /** The claim that names the user (e.g. {@code preferred_username}). */
    public Oidc usernameClaim(String claim) {
      this.usernameClaim = requireNonNull(claim, "claim");
      return this;
    }

    /** The prefix put before every OIDC user name (e.g. {@code oidc:}); must not be empty. */
    public Oidc usernamePrefix(String prefix) {
      if (requireNonNull(prefix, "prefix").isEmpty() || "-".equals(prefix)) {
        throw new IllegalArgumentException("a username prefix is required so OIDC users never collide with "
            + "certificate users");
      }
      this.usernamePrefix = prefix;
      return this;
    }

    /** The claim that lists the user's groups (e.g. {@code groups}). */
    public Oidc groupsClaim(String claim) {
      this.groupsClaim = requireNonNull(claim, "claim");
      return this;
    }

    List<String> flags() {
      if (clientId == null || caFile == null || usernameClaim == null || usernamePrefix == null || groupsClaim == null) {
        throw new IllegalStateException("OIDC settings need clientId, caFile, usernameClaim, usernamePrefix and "
            + "groupsClaim");
      }
      return List.of("--oidc-issuer-url=" + issuerUrl, "--oidc-client-id=" + clientId,
          "--oidc-ca-file=" + caFile.toAbsolutePath(), "--oidc-username-claim=" + usernameClaim,
          "--oidc-username-prefix=" + usernamePrefix, "--oidc-groups-claim=" + groupsClaim);
    }

    @Override
    public String toString() {
      return "Oidc[" + issuerUrl + ", client " + clientId + "]";
    }
  }

  private static KubeControlPlane start(Duration clusterSigningDuration, Path authzKubeconfig, Duration authzTtl,
      List<String> extraApiArgs) {
    TestEnvBinaries binaries = TestEnvBinaries.locate();
    for (int attempt = 1; ; attempt++) {
      try {
        return startOnce(binaries, clusterSigningDuration, authzKubeconfig, authzTtl, extraApiArgs);
      } catch (PortClashException e) {
        if (attempt >= START_ATTEMPTS) {
          throw new IllegalStateException(e.getMessage(), e);
        }
      }
    }
  }

  private static KubeControlPlane startOnce(TestEnvBinaries binaries, Duration signingDuration,
      Path authzKubeconfig, Duration authzTtl, List<String> extraApiArgs) {
    long t0 = System.nanoTime();
    Path dir = SecureFiles.createTempDir("kubejit-controlplane-");
    List<ManagedProcess> processes = new CopyOnWriteArrayList<>();
    Thread hook = new Thread(() -> emergencyStop(processes, dir), "kubejit-controlplane-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    boolean started = false;
    try {
      int minor = apiServerMinorVersion(binaries, dir);
      TestPki pki = TestPki.create("kubejit-test-ca");
      TestPki.Issued admin = pki.issueClient(ADMIN_USER, List.of(MASTERS_GROUP));
      TestPki.Issued serving =
          pki.issueServer("kube-apiserver", List.of("localhost"), List.of(LOOPBACK));
      TestPki.Issued kcmServing =
          pki.issueServer("kube-controller-manager", List.of("localhost"), List.of(LOOPBACK));
      Path pkiDir = SecureFiles.createDir(dir.resolve("pki"));
      Path caCrt =
          SecureFiles.writePrivate(pkiDir.resolve("ca.crt"), TestPki.pem(pki.caCertificate()));
      Path caKey =
          SecureFiles.writePrivate(pkiDir.resolve("ca.key"), TestPki.pem(pki.caPrivateKey()));
      Path srvCrt =
          SecureFiles.writePrivate(pkiDir.resolve("apiserver.crt"), serving.certificatePem());
      Path srvKey = SecureFiles.writePrivate(pkiDir.resolve("apiserver.key"), serving.keyPem());
      Path kcmCrt =
          SecureFiles.writePrivate(
              pkiDir.resolve("controller-manager.crt"), kcmServing.certificatePem());
      Path kcmKey =
          SecureFiles.writePrivate(pkiDir.resolve("controller-manager.key"), kcmServing.keyPem());
      // The identity the apiserver shows kubelets (exec, logs, port-forward); kubelets trust the CA.
      TestPki.Issued kubeletClient =
          pki.issueClient("kube-apiserver-kubelet-client", List.of(MASTERS_GROUP));
      Path kubeletClientCrt =
          SecureFiles.writePrivate(
              pkiDir.resolve("kubelet-client.crt"), kubeletClient.certificatePem());
      Path kubeletClientKey =
          SecureFiles.writePrivate(pkiDir.resolve("kubelet-client.key"), kubeletClient.keyPem());
      var saKeys = TestPki.newKeyPair();
      Path saKey =
          SecureFiles.writePrivate(pkiDir.resolve("sa.key"), TestPki.pem(saKeys.getPrivate()));
      Path saPub =
          SecureFiles.writePrivate(pkiDir.resolve("sa.pub"), TestPki.pem(saKeys.getPublic()));
      Path auditPolicy = SecureFiles.writePrivate(dir.resolve("audit-policy.yaml"), AUDIT_POLICY);
      Path auditLog = dir.resolve("audit.log");
      Path logs = SecureFiles.createDir(dir.resolve("logs"));

      int etcdClient = freePort();
      int etcdPeer = freePort();
      int apiPort = freePort();
      int kcmPort = freePort();
      String etcdUrl = "http://" + LOOPBACK + ":" + etcdClient;
      String peerUrl = "http://" + LOOPBACK + ":" + etcdPeer;
      String serverUrl = "https://" + LOOPBACK + ":" + apiPort;

      List<String> etcdArgs =
              List.of(
                  binaries.etcd().toString(),
                  "--name=kubejit",
                  "--data-dir=" + SecureFiles.createDir(dir.resolve("etcd")),
                  "--listen-client-urls=" + etcdUrl,
                  "--advertise-client-urls=" + etcdUrl,
                  "--listen-peer-urls=" + peerUrl,
                  "--initial-advertise-peer-urls=" + peerUrl,
                  "--initial-cluster=kubejit=" + peerUrl,
                  "--initial-cluster-state=new",
                  "--logger=zap",
                  "--log-outputs=stderr");
      ManagedProcess etcd =
          ManagedProcess.start("etcd", etcdArgs, dir, logs.resolve("etcd.log"), childEnv());
      processes.add(etcd);
      HttpClient plain = HttpClient.newBuilder().proxy(HttpClient.Builder.NO_PROXY).build();
      awaitHealthy(
          etcd,
          plain,
          URI.create(etcdUrl + "/health"),
          ETCD_TIMEOUT,
          processes,
          body -> body.contains("true"));

      List<String> apiArgs =
          new ArrayList<>(
              List.of(
                  binaries.apiServer().toString(),
                  "--etcd-servers=" + etcdUrl,
                  "--bind-address=" + LOOPBACK,
                  "--advertise-address=" + LOOPBACK,
                  "--secure-port=" + apiPort,
                  "--cert-dir=" + SecureFiles.createDir(dir.resolve("apiserver-certs")),
                  "--tls-cert-file=" + srvCrt,
                  "--tls-private-key-file=" + srvKey,
                  "--client-ca-file=" + caCrt,
                  // Node: kubelets (KubeNode) may read only what their own pods reference.
                  "--authorization-mode=Node,RBAC",
                  "--kubelet-client-certificate=" + kubeletClientCrt,
                  "--kubelet-client-key=" + kubeletClientKey,
                  "--kubelet-certificate-authority=" + caCrt,
                  "--kubelet-preferred-address-types=InternalIP",
                  "--anonymous-auth=true",
                  "--service-account-issuer=https://kubernetes.default.svc",
                  "--service-account-key-file=" + saPub,
                  "--service-account-signing-key-file=" + saKey,
                  "--api-audiences=https://kubernetes.default.svc",
                  "--service-cluster-ip-range=10.0.0.0/24",
                  "--audit-policy-file=" + auditPolicy,
                  "--audit-log-path=" + auditLog,
                  "--audit-log-format=json",
                  "--audit-log-mode=blocking",
                  // ValidatingAdmissionWebhook does nothing until a test registers a webhook
                  // configuration (jit-admission's tests register theirs and remove them when done).
                  "--enable-admission-plugins=NamespaceLifecycle,CertificateApproval,"
                      + "CertificateSigning,CertificateSubjectRestriction,NodeRestriction,"
                      + "ValidatingAdmissionWebhook",
                  "--disable-admission-plugins=ServiceAccount,LimitRanger,TaintNodesByCondition,"
                      + "Priority,DefaultTolerationSeconds,DefaultStorageClass,"
                      + "StorageObjectInUseProtection,PersistentVolumeClaimResize,RuntimeClass,"
                      + "DefaultIngressClass,MutatingAdmissionWebhook,"
                      + "ResourceQuota",
                  "--allow-privileged=true",
                  // The default reconciler rejects a loopback advertise address for the
                  // "kubernetes" Endpoints and logs an error every 10 s; nothing needs them here.
                  "--endpoint-reconciler-type=none",
                  "--profiling=false"));
      if (minor < 24) {
        apiArgs.add("--insecure-port=0"); // 1.20 still opens an unauthenticated port by default.
      }
      if (authzKubeconfig != null) {
        String text;
        try {
          text = Files.readString(authzKubeconfig, UTF_8);
        } catch (IOException e) {
          throw new UncheckedIOException("cannot read " + authzKubeconfig, e);
        }
        Path copy = SecureFiles.writePrivate(dir.resolve("authorization-webhook.kubeconfig"), text);
        apiArgs.replaceAll(a -> a.equals("--authorization-mode=Node,RBAC") ? "--authorization-mode=Node,Webhook,RBAC" : a);
        apiArgs.add("--authorization-webhook-config-file=" + copy);
        apiArgs.add("--authorization-webhook-version=v1");
        apiArgs.add("--authorization-webhook-cache-authorized-ttl=" + goDurationFine(authzTtl));
        apiArgs.add("--authorization-webhook-cache-unauthorized-ttl=" + goDurationFine(authzTtl));
      }
      apiArgs.addAll(extraApiArgs);
      ManagedProcess apiServer =
          ManagedProcess.start(
              "kube-apiserver", apiArgs, dir, logs.resolve("kube-apiserver.log"), childEnv());
      processes.add(apiServer);
      SSLContext adminTls = TestPki.sslContext(pki.caCertificate(), admin);
      HttpClient adminHttp =
          HttpClient.newBuilder().proxy(HttpClient.Builder.NO_PROXY).sslContext(adminTls).build();
      awaitHealthy(
          apiServer,
          adminHttp,
          URI.create(serverUrl + "/readyz"),
          APISERVER_TIMEOUT,
          processes,
          body -> body.startsWith("ok"));

      Path adminKubeconfig =
          SecureFiles.writePrivate(
              dir.resolve("admin.kubeconfig"),
              kubeconfigYaml(serverUrl, pki.caCertificate(), admin));
      List<String> kcmArgs =
          new ArrayList<>(
              List.of(
                  binaries.controllerManager().toString(),
                  "--kubeconfig=" + adminKubeconfig,
                  "--leader-elect=false",
                  "--controllers=csrsigning,csrapproving,csrcleaner,namespace,garbagecollector",
                  "--cluster-signing-cert-file=" + caCrt,
                  "--cluster-signing-key-file=" + caKey,
                  "--cluster-signing-duration=" + goDuration(signingDuration),
                  "--bind-address=" + LOOPBACK,
                  "--secure-port=" + kcmPort,
                  "--tls-cert-file=" + kcmCrt,
                  "--tls-private-key-file=" + kcmKey,
                  "--profiling=false"));
      if (minor < 24) {
        kcmArgs.add("--port=0"); // 1.20 still opens an unauthenticated port 10252 by default.
      }
      ManagedProcess kcm =
          ManagedProcess.start(
              "kube-controller-manager",
              kcmArgs,
              dir,
              logs.resolve("kube-controller-manager.log"),
              childEnv());
      processes.add(kcm);
      HttpClient kcmHttp =
          HttpClient.newBuilder()
              .proxy(HttpClient.Builder.NO_PROXY)
              .sslContext(TestPki.sslContext(pki.caCertificate(), null))
              .build();
      awaitHealthy(
          kcm,
          kcmHttp,
          URI.create("https://" + LOOPBACK + ":" + kcmPort + "/healthz"),
          CONTROLLER_MANAGER_TIMEOUT,
          processes,
          body -> body.startsWith("ok"));

      KubeControlPlane cp =
          new KubeControlPlane(
              binaries,
              signingDuration,
              dir,
              pki,
              admin,
              serverUrl,
              adminKubeconfig,
              auditLog,
              processes,
              new Restart(dir, logs, List.copyOf(etcdArgs), List.copyOf(apiArgs),
                  URI.create(etcdUrl + "/health"), plain, URI.create(serverUrl + "/readyz"), adminHttp),
              hook);
      started = true;
      System.getLogger(KubeControlPlane.class.getName())
          .log(
              System.Logger.Level.INFO,
              "KubeJIT test control plane at {0} started in {1} ms (work dir {2})",
              serverUrl,
              TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0),
              dir);
      return cp;
    } finally {
      if (!started) {
        ManagedProcess.stopAll(reversed(processes), STOP_GRACE_MILLIS);
        SecureFiles.deleteTree(dir);
        ManagedProcess.removeShutdownHook(hook);
      }
    }
  }

  /**
   * Polls {@code uri} until it answers 200 with an acceptable body, the process dies, or time runs
   * out.
   */
  private static void awaitHealthy(
      ManagedProcess process,
      HttpClient http,
      URI uri,
      Duration timeout,
      List<ManagedProcess> all,
      Predicate<String> bodyOk) {
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "no response yet";
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        failStart(
            process.name()
                + " exited with code "
                + process.exitCodeOrMinusOne()
                + " during startup",
            all);
      }
      try {
        HttpResponse<String> r =
            http.send(
                HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).GET().build(),
                HttpResponse.BodyHandlers.ofString(UTF_8));
        if (r.statusCode() == 200 && bodyOk.test(r.body())) {
          return;
        }
        last = "HTTP " + r.statusCode() + ": " + abbreviate(r.body());
      } catch (IOException e) {
        last = e.toString();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        failStart("interrupted while waiting for " + process.name(), all);
      }
      ManagedProcess.sleep(200);
    }
    failStart(
        process.name()
            + " not healthy at "
            + uri
            + " within "
            + timeout.toSeconds()
            + " s (last: "
            + last
            + ")",
        all);
  }

  private static void failStart(String message, List<ManagedProcess> all) {
    StringBuilder sb =
        new StringBuilder("KubeJIT test control plane failed to start: ").append(message);
    boolean clash = false;
    for (ManagedProcess p : all) {
      sb.append("\n--- tail of ")
          .append(p.name())
          .append(" log (")
          .append(p.log())
          .append(") ---\n");
      sb.append(p.tail());
      clash |= p.logMentionsPortClash();
    }
    if (clash) {
      throw new PortClashException(sb.toString());
    }
    throw new IllegalStateException(sb.toString());
  }

  private static int apiServerMinorVersion(TestEnvBinaries binaries, Path dir) {
    Path out = dir.resolve("apiserver-version.txt");
    try {
      Process p =
          new ProcessBuilder(binaries.apiServer().toString(), "--version")
              .redirectErrorStream(true)
              .redirectOutput(out.toFile())
              .start();
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException(binaries.apiServer() + " --version did not finish");
      }
      String text = Files.readString(out, UTF_8);
      Matcher m = Pattern.compile("v1\\.(\\d+)\\.").matcher(text);
      if (!m.find()) {
        throw new IllegalStateException(
            "cannot parse kube-apiserver version from: " + abbreviate(text));
      }
      return Integer.parseInt(m.group(1));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + binaries.apiServer(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /**
   * The inherited environment minus settings that could redirect loopback traffic or reconfigure
   * etcd.
   */
  static Map<String, String> childEnv() {
    Map<String, String> env = new HashMap<>();
    for (String k :
        List.of(
            "http_proxy",
            "https_proxy",
            "all_proxy",
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "KUBECONFIG")) {
      env.put(k, null);
    }
    System.getenv().keySet().stream()
        .filter(k -> k.startsWith("ETCD"))
        .forEach(k -> env.put(k, null));
    env.put("NO_PROXY", LOOPBACK + ",localhost");
    env.put("no_proxy", LOOPBACK + ",localhost");
    return env;
  }

  /** Renders a Go duration such as {@code 1h0m0s} (whole seconds). */
  /** As {@link #goDuration}, but a duration with a fraction of a second in milliseconds ({@code 500ms}). */
  static String goDurationFine(Duration d) {
    if (d.toMillis() % 1000 == 0) {
      return goDuration(d);
    }
    return Math.max(1, d.toMillis()) + "ms";
  }

  static String goDuration(Duration d) {
    long s = Math.max(1, d.getSeconds());
    return (s / 3600) + "h" + (s % 3600 / 60) + "m" + (s % 60) + "s";
  }

  static int freePort() {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(false);
      s.bind(new InetSocketAddress(InetAddress.getByName(LOOPBACK), 0));
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot find a free loopback port", e);
    }
  }

  static String kubeconfigYaml(String server, X509Certificate ca, TestPki.Issued user) {
    Base64.Encoder b64 = Base64.getEncoder();
    return String.join(
        "\n",
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: kubejit",
        "  cluster:",
        "    server: " + server,
        "    certificate-authority-data: " + b64.encodeToString(TestPki.pem(ca).getBytes(UTF_8)),
        "users:",
        "- name: user",
        "  user:",
        "    client-certificate-data: " + b64.encodeToString(user.certificatePem().getBytes(UTF_8)),
        "    client-key-data: " + b64.encodeToString(user.keyPem().getBytes(UTF_8)),
        "contexts:",
        "- name: kubejit",
        "  context:",
        "    cluster: kubejit",
        "    user: user",
        "current-context: kubejit",
        "");
  }

  /** The test PKI, for KubeNode's kubelet certificates. */
  TestPki pki() {
    ensureOpen();
    return pki;
  }

  /** Where the test binaries were found; KubeNode looks for a kubelet of the same build there. */
  TestEnvBinaries binaries() {
    return binaries;
  }

  /** The apiserver's base URL, {@code https://127.0.0.1:PORT}. */
  public String serverUrl() {
    return serverUrl;
  }

  /**
   * Returns a new client authenticated as {@code kubejit-admin} in group {@code system:masters}.
   */
  public ApiClient adminClient() {
    return client(admin);
  }

  /**
   * Creates namespace {@code name} as the administrator unless it exists already (tests in one JVM
   * share the control plane, so another test may have made it).
   *
   * @throws ApiException for any answer but success or 409 Conflict
   */
  public void ensureNamespace(String name) throws ApiException {
    try {
      new CoreV1Api(adminClient()).createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name(name))).execute();
    } catch (ApiException e) {
      if (e.getCode() != 409) {
        throw e;
      }
    }
  }

  /**
   * Returns a new client with a fresh certificate for {@code user} (CN) in {@code groups} (one O
   * each), signed by the test CA.
   */
  public ApiClient clientFor(String user, String... groups) {
    return client(issue(user, groups));
  }

  /**
   * Writes a kubeconfig (mode 0600) with a fresh certificate for {@code user} in {@code groups} and
   * returns its path.
   */
  public Path kubeconfigFor(String user, String... groups) {
    ensureOpen();
    TestPki.Issued issued = issue(user, groups);
    Path kubeconfigs = SecureFiles.createDir(dir.resolve("kubeconfigs"));
    String safe = user.replaceAll("[^A-Za-z0-9._-]", "_");
    Path file =
        kubeconfigs.resolve(safe + "-" + kubeconfigCounter.incrementAndGet() + ".kubeconfig");
    return SecureFiles.writePrivate(file, kubeconfigYaml(serverUrl, pki.caCertificate(), issued));
  }

  /**
   * The kube-controller-manager binary this control plane was started from, for tests that run one
   * of its controllers on their own (the control plane runs only the certificate controllers).
   */
  public Path controllerManagerBinary() {
    return binaries.controllerManager();
  }

  /**
   * The kubeconfig (mode 0600) of the {@code system:masters} admin, also used by the
   * controller-manager.
   */
  public Path adminKubeconfig() {
    return adminKubeconfig;
  }

  /**
   * The test CA certificate: client CA of the apiserver and the controller-manager's signing CA.
   */
  public X509Certificate caCertificate() {
    return pki.caCertificate();
  }

  /** The test CA certificate in PEM form. */
  public String caCertificatePem() {
    return TestPki.pem(pki.caCertificate());
  }

  /**
   * The throwaway test CA's private key (PKCS#8 PEM), so tests can sign client certificates with
   * KubeJIT's own issuer and have this API server trust them; never use it outside tests.
   */
  public String caPrivateKeyPem() {
    return TestPki.pem(pki.caPrivateKey());
  }

  /** The PEM bundle that verifies the apiserver's serving certificate (the same test CA). */
  public String apiServerCaBundlePem() {
    return caCertificatePem();
  }

  /** How long certificates issued through the CSR API are valid. */
  public Duration clusterSigningDuration() {
    return signingDuration;
  }

  /**
   * The apiserver's JSON-lines audit log (every request at {@code Metadata} level, stage {@code
   * ResponseComplete} and later).
   */
  public Path auditLogPath() {
    return auditLog;
  }

  /**
   * The audit log as it is now, each complete line (a line the apiserver is still writing is left
   * out) turned into an event by {@code parser} — normally {@code KubeAuditEvent::parse} from
   * jit-audit, the one parser of the format; events may lag the HTTP response by a few milliseconds.
   * What {@code parser} throws is passed on.
   */
  public <T> List<T> auditEvents(Function<String, ? extends T> parser) {
    requireNonNull(parser, "parser");
    byte[] bytes;
    try {
      bytes = Files.exists(auditLog) ? Files.readAllBytes(auditLog) : new byte[0];
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read audit log " + auditLog, e);
    }
    List<T> events = new ArrayList<>();
    int start = 0;
    for (int i = 0; i < bytes.length; i++) {
      if (bytes[i] == '\n') {
        String line = new String(bytes, start, i - start, UTF_8);
        if (!line.isBlank()) {
          events.add(parser.apply(line));
        }
        start = i + 1;
      }
    }
    return events;
  }

  /**
   * Polls the audit log until some event matches {@code filter} and returns all matching events;
   * fails after {@code timeout}. Lines are parsed as by {@link #auditEvents(Function)}.
   */
  public <T> List<T> awaitAuditEvents(Function<String, ? extends T> parser, Predicate<? super T> filter, Duration timeout) {
    requireNonNull(filter, "filter");
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      List<T> matching = auditEvents(parser).stream().filter(filter::test).collect(java.util.stream.Collectors.toList());
      if (!matching.isEmpty()) {
        return matching;
      }
      if (System.nanoTime() >= deadline) {
        throw new AssertionError("no audit event matched within " + timeout + " in " + auditLog);
      }
      ManagedProcess.sleep(100);
    }
  }

  /**
   * Stops the kube-apiserver (SIGTERM, then SIGKILL after 5 s) and waits until it has exited;
   * etcd, the controller-manager and the work directory stay. Until {@link #startApiServer()},
   * every call to {@link #serverUrl()} fails to connect, as with a crashed or restarting API server.
   * For fault tests; a test that stops the API server must own this control plane (not the shared
   * one). Does nothing if it is already stopped.
   */
  public void stopApiServer() {
    synchronized (restart) {
      ensureOpen();
      ManagedProcess api = processes.get(1);
      if (api.isAlive()) {
        ManagedProcess.stopAll(List.of(api), STOP_GRACE_MILLIS);
      }
    }
  }

  /**
   * Starts the kube-apiserver again with exactly the flags it first ran with (same port,
   * certificates, etcd and audit log) and waits until {@code /readyz} answers ok (at most 90 s).
   * Does nothing if it is running.
   *
   * @throws IllegalStateException if it does not become ready, with the tail of its log
   */
  public void startApiServer() {
    synchronized (restart) {
      ensureOpen();
      if (processes.get(1).isAlive()) {
        return;
      }
      ManagedProcess api = ManagedProcess.start("kube-apiserver", restart.apiArgs, restart.dir,
          restart.logs.resolve("kube-apiserver.log"), childEnv());
      processes.set(1, api);
      awaitRestarted(api, restart.adminHttp, restart.readyz, APISERVER_TIMEOUT, body -> body.startsWith("ok"));
    }
  }

  /** Whether the kube-apiserver process is running (it may not be ready yet). */
  public boolean apiServerRunning() {
    return processes.get(1).isAlive();
  }

  /**
   * Stops etcd (SIGTERM, then SIGKILL after 5 s), keeps it down for {@code down}, starts it again
   * on the same data directory and ports, and waits until etcd is healthy and the API server, which
   * stays up throughout and reconnects by itself, answers {@code /readyz} ok again. Watches the API
   * server served are closed when etcd goes; clients must re-establish them. For fault tests on a
   * control plane the test owns.
   *
   * @throws IllegalStateException if etcd or the API server does not recover, with the log tail
   */
  public void restartEtcd(Duration down) {
    requireNonNull(down, "down");
    if (down.isNegative()) {
      throw new IllegalArgumentException("down must not be negative: " + down);
    }
    synchronized (restart) {
      ensureOpen();
      ManagedProcess.stopAll(List.of(processes.get(0)), STOP_GRACE_MILLIS);
      ManagedProcess.sleep(down.toMillis());
      ManagedProcess etcd = ManagedProcess.start("etcd", restart.etcdArgs, restart.dir,
          restart.logs.resolve("etcd.log"), childEnv());
      processes.set(0, etcd);
      awaitRestarted(etcd, restart.plain, restart.etcdHealth, ETCD_TIMEOUT, body -> body.contains("true"));
      if (processes.get(1).isAlive()) {
        awaitRestarted(processes.get(1), restart.adminHttp, restart.readyz, APISERVER_TIMEOUT,
            body -> body.startsWith("ok"));
      }
    }
  }

  private void awaitRestarted(ManagedProcess p, HttpClient http, URI uri, Duration timeout, Predicate<String> ok) {
    try {
      awaitHealthy(p, http, uri, timeout, processes, ok);
    } catch (IllegalStateException e) {
      throw new IllegalStateException(e.getMessage().replace("failed to start", "failed to restart " + p.name()), e);
    }
  }

  /** What it takes to start etcd and the API server again exactly as they first ran. */
  private static final class Restart {
    final Path dir;
    final Path logs;
    final List<String> etcdArgs;
    final List<String> apiArgs;
    final URI etcdHealth;
    final HttpClient plain;
    final URI readyz;
    final HttpClient adminHttp;

    Restart(Path dir, Path logs, List<String> etcdArgs, List<String> apiArgs, URI etcdHealth, HttpClient plain,
        URI readyz, HttpClient adminHttp) {
      this.dir = dir;
      this.logs = logs;
      this.etcdArgs = etcdArgs;
      this.apiArgs = apiArgs;
      this.etcdHealth = etcdHealth;
      this.plain = plain;
      this.readyz = readyz;
      this.adminHttp = adminHttp;
    }
  }

  /**
   * Stops the controller-manager, apiserver and etcd (SIGTERM, then SIGKILL) and deletes the work
   * directory.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    synchronized (restart) {
      ManagedProcess.stopAll(List.copyOf(processes.subList(1, processes.size())), STOP_GRACE_MILLIS);
      ManagedProcess.stopAll(List.of(processes.get(0)), STOP_GRACE_MILLIS);
    }
    SecureFiles.deleteTree(dir);
    ManagedProcess.removeShutdownHook(shutdownHook);
  }

  @Override
  public String toString() {
    return "KubeControlPlane["
        + serverUrl
        + ", binaries="
        + binaries.directory()
        + ", dir="
        + dir
        + (closed.get() ? ", closed" : "")
        + "]";
  }

  private TestPki.Issued issue(String user, String... groups) {
    ensureOpen();
    requireNonNull(user, "user");
    if (user.isBlank()) {
      throw new IllegalArgumentException("user must not be blank");
    }
    List<String> g = Arrays.asList(requireNonNull(groups, "groups"));
    for (String group : g) {
      if (group == null || group.isBlank()) {
        throw new IllegalArgumentException("groups must not contain null or blank entries");
      }
    }
    return pki.issueClient(user, g);
  }

  private ApiClient client(TestPki.Issued identity) {
    ensureOpen();
    ApiClient c = new ClientBuilder().setBasePath(serverUrl).setVerifyingSsl(true).build();
    // Key managers first: ApiClient re-reads the CA stream on every SSL change, and a stream
    // can be read only once.
    c.setKeyManagers(TestPki.keyManagers(identity));
    c.setSslCaCert(new ByteArrayInputStream(caCertificatePem().getBytes(UTF_8)));
    c.setHttpClient(c.getHttpClient().newBuilder().proxy(Proxy.NO_PROXY).build());
    return c;
  }

  private void ensureOpen() {
    if (closed.get()) {
      throw new IllegalStateException("control plane is closed");
    }
  }

  private static void emergencyStop(List<ManagedProcess> processes, Path dir) {
    ManagedProcess.stopAll(reversed(processes), SHUTDOWN_HOOK_GRACE_MILLIS);
    SecureFiles.deleteTree(dir);
  }

  private static List<ManagedProcess> reversed(List<ManagedProcess> list) {
    List<ManagedProcess> r = new ArrayList<>(list);
    Collections.reverse(r);
    return r;
  }



  private static String abbreviate(String s) {
    String t = s.strip();
    return t.length() <= 300 ? t : t.substring(0, 300) + "...";
  }

  /** A startup failure caused by a port taken between probing and binding; worth one retry. */
  private static final class PortClashException extends RuntimeException {
    PortClashException(String message) {
      super(message);
    }
  }
}
