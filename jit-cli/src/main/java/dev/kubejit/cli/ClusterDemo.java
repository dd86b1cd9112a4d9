package dev.kubejit.cli;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.server.KubeJitGateway;
import dev.kubejit.server.KubeJitServer;
import dev.kubejit.server.ServerConfig;
import dev.kubejit.testing.KubeControlPlane;
import dev.kubejit.testing.KubeNode;
import dev.kubejit.testing.Kubectl;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * {@code kubejit demo --cluster}: the offline demo's story for real. It starts the test control
 * plane and a node from jit-testing, runs {@code kubejit serve} in this JVM on 127.0.0.1 (TLS,
 * development-header authentication) with the broker's own least-privilege identity in the cluster,
 * and drives alice (requester) and bob (approver) only through the client commands (the same {@link
 * Main#run} a shell would run, each with their own {@code --home}) and the preinstalled kubectl with
 * the grant's kubeconfig.
 *
 * <p>Design notes: every step prints what ran and what came back, and states the expectation it
 * checks; the run goes on after a failed expectation where later steps still make sense, and exits
 * 0 only if all held. Missing binaries are found before anything starts (exit 2). Everything that
 * was started is stopped at the end, on failure, and on Ctrl-C (a shutdown hook); {@code --keep}
 * leaves it running until Ctrl-C.
 */
final class ClusterDemo {
  static final int EXIT_MISSING = 2;
  static final String NAMESPACE = "payments";
  static final String POD = "api-0";
  static final String CLUSTER = "prod";
  static final String BROKER_USER = "kubejit-broker";
  static final String APP_LOG_PATH = "/var/log/app.log";
  static final String APP_LOG = "2026-12-02T04:12:07Z ERROR checkout: payment 4711 declined (card_declined)\n"
      + "2026-12-02T04:12:09Z WARN  checkout: retry budget exhausted for order 991\n";
  private static final String MARKER = ".kubejit-demo-cluster";
  private static final String MANIFEST = "rbac-kubejit-broker.yaml";
  private static final Pattern REQUEST_LINE = Pattern.compile("(?m)^request (\\S+) ([A-Z_]+)");
  private static final Pattern GRANT_LINE = Pattern.compile("(?m)^grant (\\S+) active until");

  private final PrintWriter out;
  private final Path dir;
  private final boolean keep;
  private final List<String> failures = new ArrayList<>();
  private int steps;
  private int checks;

  // what was started, in order; stopped in reverse by tearDown()
  private KubeControlPlane controlPlane;
  private KubeNode node;
  private KubeJitServer server;
  private KubeJitGateway gateway;
  private boolean tornDown;
  /** Set by the shutdown hook (Ctrl-C): the story stops printing and checking; the hook tears down. */
  private volatile boolean stopping;

  ClusterDemo(PrintWriter out, Path dir, boolean keep) {
    this.out = out;
    this.dir = dir.toAbsolutePath().normalize();
    this.keep = keep;
  }

  /** Runs the demo; 0 when every expectation held, 1 when one did not, 2 when binaries are missing. */
  int run(PrintWriter err) throws IOException {
    List<String> missing = missingPrerequisites();
    if (!missing.isEmpty()) {
      err.println("kubejit: demo --cluster needs the test control plane and node; nothing was started:");
      missing.forEach(m -> err.println("  - " + m));
      err.println("  Build them with: scripts/testenv.sh && scripts/testenv.sh --node && scripts/testnode-images.sh"
          + " (or set KUBEBUILDER_ASSETS, KUBEJIT_NODE_ASSETS, KUBEJIT_NODE_IMAGES). The node needs root.");
      err.flush();
      return EXIT_MISSING;
    }
    prepare(dir);
    Thread hook = new Thread(this::interrupted, "kubejit-demo-cluster-teardown");
    Runtime.getRuntime().addShutdownHook(hook);
    long t0 = System.nanoTime();
    try {
      out.println("KubeJIT demo against a real cluster — everything lives in " + dir);
      story();
      if (keep && failures.isEmpty()) {
        summary(t0);
        keepRunning();
      }
    } catch (Stopping e) {
      return 130; // the shutdown hook tears down; the JVM is exiting
    } catch (RuntimeException | IOException | InterruptedException e) {
      if (stopping) {
        return 130;
      }
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      failures.add("step " + steps + " stopped the demo: " + CredentialCommand.oneLine(String.valueOf(e.getMessage())));
      out.println("    !! " + failures.get(failures.size() - 1));
    } finally {
      if (!stopping) {
        try {
          Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
          // the JVM is shutting down: the hook runs or has run
        }
        out.println();
        out.println(++steps + ". tear down: " + (gateway == null ? "" : "kubejit gateway serve, ")
            + "kubejit serve, the node, the control plane");
        tearDown();
        out.println("    -> stopped" + (controlPlane == null ? " (nothing was running)" : ""));
      }
    }
    summary(t0);
    return failures.isEmpty() ? 0 : 1;
  }

  private void summary(long t0) {
    out.println();
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
    if (failures.isEmpty()) {
      out.println("All " + checks + " expectations held (" + seconds + " s).");
    } else {
      out.println(failures.size() + " of " + checks + " expectations failed (" + seconds + " s):");
      failures.forEach(f -> out.println("  - " + f));
    }
    out.flush();
  }

  /** What is missing to start the cluster, each with the script or variable that provides it. */
  static List<String> missingPrerequisites() {
    List<String> missing = new ArrayList<>();
    try {
      KubeControlPlane.requireBinaries();
    } catch (IllegalStateException e) {
      missing.add(e.getMessage());
    }
    try {
      KubeNode.requireAssets();
    } catch (IllegalStateException e) {
      missing.add(e.getMessage());
    }
    if (onPath("kubectl").isEmpty()) {
      missing.add("kubectl is not on PATH (the demo runs the preinstalled kubectl, v1.32)");
    }
    return missing;
  }

  private static List<Path> onPath(String tool) {
    return onPath(tool, System.getenv("PATH"));
  }

  private static List<Path> onPath(String tool, String path) {
    List<Path> found = new ArrayList<>();
    if (path != null) {
      for (String d : path.split(File.pathSeparator)) {
        Path p = d.isEmpty() ? null : Path.of(d, tool);
        if (p != null && Files.isRegularFile(p) && Files.isExecutable(p)) {
          found.add(p);
        }
      }
    }
    return found;
  }

  private void story() throws IOException, InterruptedException {
    step("start the test control plane: etcd, kube-apiserver (RBAC, audit log), kube-controller-manager");
    controlPlane = KubeControlPlane.start();
    Path admin = controlPlane.adminKubeconfig();
    out.println("    -> API server " + controlPlane.serverUrl() + ", audit log " + controlPlane.auditLogPath());

    step("start a node (containerd, runc, kubelet) and run pod " + NAMESPACE + "/" + POD + " with " + APP_LOG_PATH);
    node = KubeNode.start(controlPlane);
    node.runPod(NAMESPACE, POD, Map.of(APP_LOG_PATH, APP_LOG));
    out.println("    -> node " + node.name() + " Ready, pod " + POD + " Ready");
    // Something worth protecting next to the pod; its value is never printed.
    String secret = randomHex(12);
    kubectl("the cluster admin", admin, "-n", NAMESPACE, "create", "secret", "generic", "payments-db",
        "--from-literal=password=" + secret).expect(0);

    step("the broker's own identity " + BROKER_USER + ", bound with exactly deploy/" + MANIFEST + " (docs/rbac.md)");
    Path manifest = dir.resolve(MANIFEST);
    try (InputStream in = ClusterDemo.class.getResourceAsStream(MANIFEST)) {
      if (in == null) {
        throw new IllegalStateException(MANIFEST + " is missing from the kubejit jar");
      }
      Files.write(manifest, in.readAllBytes());
    }
    kubectl("the cluster admin", admin, "apply", "-f", manifest.toString()).expect(0);
    kubectl("the cluster admin", admin, "create", "clusterrolebinding", "kubejit-broker-cluster",
        "--clusterrole=kubejit-broker-cluster", "--user=" + BROKER_USER).expect(0);
    kubectl("the cluster admin", admin, "-n", NAMESPACE, "create", "rolebinding", "kubejit-broker",
        "--clusterrole=kubejit-broker-namespace", "--user=" + BROKER_USER).expect(0);
    kubectl("the cluster admin", admin, "-n", "default", "create", "rolebinding", "kubejit-broker-lease",
        "--clusterrole=kubejit-broker-lease", "--user=" + BROKER_USER).expect(0);
    Run mayReadSecrets = kubectl("the cluster admin", admin, "auth", "can-i", "get", "secrets", "-n", NAMESPACE,
        "--as=" + BROKER_USER);
    expect(mayReadSecrets.exit != 0 && mayReadSecrets.out.trim().equals("no"), "the broker itself may not read secrets");
    Run mayBind = kubectl("the cluster admin", admin, "auth", "can-i", "create", "rolebindings", "-n", NAMESPACE,
        "--as=" + BROKER_USER);
    expect(mayBind.exit == 0 && mayBind.out.trim().equals("yes"), "the broker may create RoleBindings in " + NAMESPACE);

    step("kubejit init: a development broker setup, then point it at this cluster");
    Path setup = dir.resolve("broker");
    cli("the platform team", "init", setup.toString()).expect(0);
    Path clusters = Files.createDirectory(setup.resolve("clusters"), PosixFilePermissions.asFileAttribute(InitCommand.DIR_MODE));
    Path brokerKubeconfig = clusters.resolve(CLUSTER + ".kubeconfig");
    Files.createFile(brokerKubeconfig, PosixFilePermissions.asFileAttribute(InitCommand.FILE_MODE));
    Files.write(brokerKubeconfig, Files.readAllBytes(controlPlane.kubeconfigFor(BROKER_USER)));
    // The API server trusts client certificates of its client CA only: the broker issues with that CA.
    Path clientCa = setup.resolve("ca/kube-apiserver-client");
    Files.createDirectory(clientCa, PosixFilePermissions.asFileAttribute(InitCommand.DIR_MODE));
    CertificateAuthority.fromPem(controlPlane.caCertificatePem(), controlPlane.caPrivateKeyPem()).writeTo(clientCa);
    Path config = setup.resolve("kubejit.yaml");
    int port = freePort();
    String yaml = Files.readString(config, UTF_8);
    String edited = replaceLine(replaceLine(replaceLine(yaml,
        "  address: 127.0.0.1:8443", "  address: 127.0.0.1:" + port),
        "  x509: ca/x509", "  x509: ca/kube-apiserver-client"),
        "clusters: {}", "clusters:\n  " + CLUSTER + ":\n    kubeconfig: clusters/" + CLUSTER + ".kubeconfig");
    Files.writeString(config, edited, UTF_8);
    out.println("    edited " + config + ":");
    out.println("      listen.address: 127.0.0.1:" + port);
    out.println("      certificateAuthorities.x509: ca/kube-apiserver-client   (the API server's client CA)");
    out.println("      clusters." + CLUSTER + ".kubeconfig: clusters/" + CLUSTER + ".kubeconfig   (user " + BROKER_USER
        + ", not cluster-admin)");
    Run allowed = cli("the platform team", "policy", "check", setup.resolve("policy.json").toString(), "--role", "oncall-debug",
        "--user", "alice", "--group", "oncall-payments", "--command", "cat " + APP_LOG_PATH);
    expect(allowed.exit == 0, "the sample policy allows alice's command in an exec session");

    step("kubejit serve on 127.0.0.1 over TLS (development header authentication: loopback only)");
    server = KubeJitServer.start(ServerConfig.load(config));
    out.println("    -> listening on " + server.uri() + " (TLS: " + server.isTls() + "), RBAC into cluster " + CLUSTER
        + " as " + BROKER_USER);
    expect(server.isTls(), "the broker serves TLS");

    step("alice (oncall-payments) and bob (sre-leads) log in");
    Path alice = dir.resolve("alice");
    Path bob = dir.resolve("bob");
    String caFile = setup.resolve("tls/ca.crt").toString();
    cli("alice", "login", "--server", server.uri().toString(), "--ca-file", caFile, "--dev-user", "alice;oncall-payments",
        "--home", alice.toString()).expect(0);
    cli("bob", "login", "--server", server.uri().toString(), "--ca-file", caFile, "--dev-user", "bob;sre-leads",
        "--home", bob.toString()).expect(0);

    step("alice asks for exec in " + NAMESPACE + " for 30 minutes, ticket INC-42 (the policy wants an sre-lead)");
    Run requested = cli("alice", "request", "--role", "oncall-debug", "--action", "exec", "-n", NAMESPACE, "--cluster", CLUSTER,
        "--duration", "30m", "--ticket", "INC-42", "--reason", "checkout errors spiking, need the app log",
        "--home", alice.toString()).expect(0);
    Matcher m = REQUEST_LINE.matcher(requested.out);
    if (!m.find()) {
      throw new IllegalStateException("kubejit request printed no request id");
    }
    String id = m.group(1);
    expect(m.group(2).startsWith("PENDING"), "the request waits for an approver");

    step("alice cannot approve her own request; bob sees it and approves");
    Run self = cli("alice", "approve", id, "--home", alice.toString());
    expect(self.exit != 0 && self.err.contains("approval_refused"), "self-approval is refused");
    Run pending = cli("bob", "get", "requests", "--state", m.group(2), "--home", bob.toString()).expect(0);
    expect(pending.out.contains(id), "bob sees the pending request");
    Run approved = cli("bob", "approve", id, "--comment", "go ahead", "--home", bob.toString()).expect(0);
    expect(approved.out.startsWith("request " + id + " APPROVED"), "the request is APPROVED");

    step("alice activates: her key stays in " + alice.resolve("keys") + ", only the CSR goes to the broker;"
        + " the broker creates RBAC for the grant's group");
    Run activated = cli("alice", "activate", id, "--home", alice.toString()).expect(0);
    Matcher g = GRANT_LINE.matcher(activated.out);
    if (!g.find()) {
      throw new IllegalStateException("kubejit activate printed no grant id");
    }
    String grant = g.group(1);
    Run rbac = kubectl("the cluster admin", admin, "-n", NAMESPACE, "get", "roles,rolebindings", "-l",
        "kubejit.dev/grant-id=" + grant, "-o", "name");
    expect(rbac.exit == 0 && rbac.out.lines().count() == 2, "a Role and a RoleBinding exist for the grant");

    step("alice writes a kubeconfig for the grant; kubectl gets her certificate from `kubejit credential --grant`");
    Path kubeconfig = dir.resolve("alice-" + grant + ".kubeconfig");
    cli("alice", "kubeconfig", "--grant", grant, "--output", kubeconfig.toString(), "--exec-command", launcher().toString(),
        "--home", alice.toString()).expect(0);

    step("alice uses the grant with kubectl");
    Run pods = kubectl("alice", kubeconfig, "get", "pods", "-n", NAMESPACE);
    expect(pods.exit == 0 && pods.out.contains(POD), "kubectl get pods lists " + POD);
    Run log = kubectl("alice", kubeconfig, "exec", "-n", NAMESPACE, POD, "--", "cat", APP_LOG_PATH);
    expect(log.exit == 0 && log.out.equals(APP_LOG), "kubectl exec " + POD + " -- cat " + APP_LOG_PATH + " prints the log");
    Run secrets = kubectl("alice", kubeconfig, "get", "secrets", "-n", NAMESPACE);
    expect(secrets.exit != 0 && secrets.err.contains("Forbidden") && secrets.err.contains("secrets"),
        "kubectl get secrets is Forbidden");

    List<String> ssh = gatewaySteps(setup, config, grant);

    step("bob revokes the grant");
    Run revoked = cli("bob", "revoke", id, "--reason", "incident closed", "--home", bob.toString()).expect(0);
    expect(revoked.out.startsWith("request " + id + " REVOKED"), "the request is REVOKED");
    Run gone = kubectl("the cluster admin", admin, "-n", NAMESPACE, "get", "roles,rolebindings", "-l",
        "kubejit.dev/grant-id=" + grant, "-o", "name");
    expect(gone.exit == 0 && gone.out.isBlank(), "the grant's Role and RoleBinding are gone");

    step("alice tries again with the same kubeconfig" + (ssh == null ? "" : " and through the gateway with ssh"));
    Run after = kubectl("alice", kubeconfig, "get", "pods", "-n", NAMESPACE);
    expect(after.exit != 0 && after.err.contains("was revoked by bob"),
        "kubectl fails: the exec plugin says bob revoked the grant");
    if (ssh != null) {
      Run sshAfter = command("alice", ssh, "--", "exec", POD, "--", "cat", APP_LOG_PATH);
      expect(sshAfter.exit == 255 && sshAfter.err.contains("Permission denied"),
          "the gateway refuses her still-valid SSH certificate: the grant is revoked");
    }

    step("the API server's audit log, correlated with the grant by KubeJIT's audit log");
    Run correlated = cli("the auditor", "audit", "correlate", "--jit", setup.resolve("audit/audit.jsonl").toString(),
        "--k8s", controlPlane.auditLogPath().toString()).expect(0);
    List<String> underGrant = callsUnder(correlated.out, grant);
    expect(underGrant.stream().anyMatch(c -> c.contains(" pods ") && c.contains(" 200 ")),
        "the audit shows alice's pod listing under the grant");
    expect(underGrant.stream().anyMatch(c -> c.contains("pods/exec") && c.contains("/" + POD + " ")),
        "the audit shows the exec into " + POD + " under the grant");
    expect(underGrant.stream().anyMatch(c -> c.contains(" secrets ") && c.contains(" 403 ")),
        "the audit shows the refused secrets listing under the grant");
    if (ssh != null) {
      expect(execAfterSecretsRefusal(underGrant, POD),
          "the gateway's exec is under the grant too: made as alice in the grant's group, not as the gateway");
    }
  }

  /**
   * The gateway steps: {@code kubejit gateway serve} (in this JVM) beside the broker on the same
   * store, an SSH certificate for alice's grant from the broker's API, and the real {@code ssh}
   * running an allowed and a refused command in the pod. Returns alice's ssh command (up to the
   * host alias), or null when the step was skipped because ssh or ssh-keygen is not on PATH.
   */
  private List<String> gatewaySteps(Path setup, Path config, String grant) throws IOException, InterruptedException {
    step("the SSH gateway: kubejit gateway serve beside the broker, on the same store (docs/gateway.md)");
    List<String> missing = missingForGateway(System.getenv("PATH"));
    if (!missing.isEmpty()) {
      out.println("    -> " + gatewaySkipped(missing));
      out.flush();
      return null;
    }
    Path gw = Files.createDirectory(dir.resolve("gateway"), PosixFilePermissions.asFileAttribute(InitCommand.DIR_MODE));
    command("the platform team", List.of("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kubejit-gateway", "-f",
        gw.resolve("ssh_host_ed25519_key").toString())).expect(0);
    cli("the platform team", "ssh", "host-cert", "--ca", setup.resolve("ca/ssh").toString(), "--public-key",
        gw.resolve("ssh_host_ed25519_key.pub").toString(), "--hostname", "127.0.0.1", "--ttl", "24h", "--out",
        gw.resolve("ssh_host_ed25519_key-cert.pub").toString()).expect(0);
    int sshPort = freePort();
    int healthPort = freePort();
    Path gatewayConfig = setup.resolve("gateway.yaml");
    String section = "gateway:\n  address: 127.0.0.1:" + sshPort + "\n  healthAddress: 127.0.0.1:" + healthPort
        + "\n  cluster: " + CLUSTER + "\n  hostKeyFile: " + gw.resolve("ssh_host_ed25519_key")
        + "\n  hostCertificateFile: " + gw.resolve("ssh_host_ed25519_key-cert.pub")
        + "\n  recordings: " + gw.resolve("recordings") + "\n  checkInterval: PT0.5S\n";
    Files.writeString(gatewayConfig, Files.readString(config, UTF_8) + section, UTF_8);
    out.println("    wrote " + gatewayConfig + ": kubejit.yaml plus");
    section.lines().forEach(l -> out.println("      " + l));
    out.println("    the platform team $ kubejit gateway serve --config " + gatewayConfig + "   (in this JVM)");
    gateway = KubeJitGateway.start(ServerConfig.load(gatewayConfig));
    out.println("    -> SSH on 127.0.0.1:" + gateway.sshPort() + ", health " + gateway.healthUri());
    java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder()
        .connectTimeout(java.time.Duration.ofSeconds(10)).build();
    java.net.http.HttpResponse<String> ready = http.send(java.net.http.HttpRequest.newBuilder(
        gateway.healthUri().resolve("/readyz")).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    out.println("    GET " + gateway.healthUri() + "/readyz -> " + ready.statusCode() + " " + ready.body());
    expect(ready.statusCode() == 200, "the gateway is ready: SSH listener bound, store answering");

    step("alice gets an SSH certificate for her grant from the broker and runs the command through the gateway with ssh");
    Path keys = Files.createDirectory(dir.resolve("alice-ssh"), PosixFilePermissions.asFileAttribute(InitCommand.DIR_MODE));
    Path key = keys.resolve("id_ed25519");
    command("alice", List.of("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice", "-f", key.toString())).expect(0);
    Path cert = keys.resolve("kubejit-" + grant + "-cert.pub");
    out.println("    alice $ POST " + server.uri() + "/api/v1/grants/" + grant + "/credentials {\"sshPublicKey\": <"
        + keys.resolve("id_ed25519.pub").getFileName() + ">}   (with her login in " + dir.resolve("alice") + ")");
    com.fasterxml.jackson.databind.JsonNode issued = BrokerClient.open(ClientHome.resolve(dir.resolve("alice")))
        .post("/api/v1/grants/" + grant + "/credentials",
            Map.of("sshPublicKey", Files.readString(keys.resolve("id_ed25519.pub"), UTF_8).strip()));
    String certificate = issued.path("credentials").path(0).path("certificate").asText();
    Files.writeString(cert, certificate + "\n", UTF_8);
    out.println("      -> certificate written to " + cert + " (key id names the grant)");
    Run sshConfig = cli("alice", "ssh", "config", "--grant", grant, "--gateway", "127.0.0.1:" + gateway.sshPort(), "--user",
        "alice", "--ca-public-key", setup.resolve("ca/ssh/ssh_ca.pub").toString(), "--identity", key.toString(),
        "--certificate", cert.toString(), "--known-hosts", keys.resolve("known_hosts").toString()).expect(0);
    String[] parts = sshConfig.out.split("\n\n", 2);
    Files.writeString(keys.resolve("config"), parts[0] + "\n", UTF_8);
    Files.writeString(keys.resolve("known_hosts"), parts.length > 1 ? parts[1].lines()
        .filter(l -> l.startsWith("@cert-authority ")).findFirst().orElse("") + "\n" : "", UTF_8);
    List<String> ssh = List.of("ssh", "-F", keys.resolve("config").toString(), "kubejit-" + grant);
    Run viaSsh = command("alice", ssh, "--", "exec", POD, "--", "cat", APP_LOG_PATH);
    expect(viaSsh.exit == 0 && viaSsh.out.equals(APP_LOG),
        "ssh ... -- exec " + POD + " -- cat " + APP_LOG_PATH + " prints the log, run as the grant's identity");
    Run refused = command("alice", ssh, "--", "exec", POD, "--", "cat", "/etc/shadow");
    expect(refused.exit == 77 && refused.err.contains("refused by rule read-logs"),
        "cat /etc/shadow is refused by the policy's rule (exit 77) and never reaches the API server");
    return ssh;
  }

  /** The OpenSSH tools the gateway step needs that are not on {@code path}. */
  static List<String> missingForGateway(String path) {
    List<String> missing = new ArrayList<>();
    for (String tool : List.of("ssh", "ssh-keygen")) {
      if (onPath(tool, path).isEmpty()) {
        missing.add(tool);
      }
    }
    return missing;
  }

  static String gatewaySkipped(List<String> missing) {
    return "skipped: " + String.join(" and ", missing) + " not on PATH (the gateway step runs the real OpenSSH client);"
        + " install openssh-client to see it";
  }

  /** Runs an external command and prints it and its output. */
  private Run command(String who, List<String> base, String... more) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(base);
    cmd.addAll(List.of(more));
    show(who, cmd.get(0), cmd.subList(1, cmd.size()).toArray(String[]::new));
    Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
    java.util.concurrent.CompletableFuture<String> stdout = java.util.concurrent.CompletableFuture.supplyAsync(
        () -> readAll(p.getInputStream()));
    java.util.concurrent.CompletableFuture<String> stderr = java.util.concurrent.CompletableFuture.supplyAsync(
        () -> readAll(p.getErrorStream()));
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException(cmd.get(0) + " did not finish in 120 s");
    }
    return printed(new Run(p.exitValue(), stdout.join(), stderr.join()));
  }

  private static String readAll(InputStream in) {
    try {
      return new String(in.readAllBytes(), UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The call lines {@code kubejit audit correlate} printed under {@code grant}'s header. */
  /**
   * Whether an exec into {@code pod} follows the refused secrets listing among the calls under the
   * grant. The story runs kubectl's exec, then kubectl's secrets listing, then the gateway's
   * steps, so such an exec is the gateway's. (kubectl and the gateway may use either verb: {@code
   * get} when the stream is a WebSocket, {@code create} for SPDY; kubectl may log both when it
   * falls back.)
   */
  static boolean execAfterSecretsRefusal(List<String> calls, String pod) {
    boolean refused = false;
    for (String c : calls) {
      if (c.contains(" secrets ") && c.contains(" 403 ")) {
        refused = true;
      } else if (refused && c.contains(" pods/exec ") && c.contains("/" + pod + " ") && c.contains(" 101 ")) {
        return true;
      }
    }
    return false;
  }

  static List<String> callsUnder(String correlateOutput, String grant) {
    List<String> calls = new ArrayList<>();
    boolean in = false;
    for (String line : correlateOutput.split("\n", -1)) {
      if (!line.startsWith("  ")) {
        in = line.startsWith("grant " + grant + " ");
      } else if (in) {
        calls.add(line + " ");
      }
    }
    return calls;
  }

  private void keepRunning() {
    out.println();
    out.println("--keep: everything keeps running until Ctrl-C. Try:");
    out.println("  ./kubejit get requests --home " + dir.resolve("alice"));
    out.println("  kubectl --kubeconfig " + controlPlane.adminKubeconfig() + " get pods -A");
    out.flush();
    try {
      new CountDownLatch(1).await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The shutdown hook: Ctrl-C (or SIGTERM) while the demo runs. */
  private void interrupted() {
    stopping = true;
    synchronized (out) {
      out.println();
      out.println("Interrupted: tearing down kubejit serve, the node and the control plane...");
      out.flush();
    }
    tearDown();
    synchronized (out) {
      out.println("    -> stopped");
      out.flush();
    }
  }

  /** Thrown on the demo's thread once the shutdown hook has taken over. */
  private static final class Stopping extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Stopping() {
      super("interrupted", null, false, false);
    }
  }

  private void checkNotStopping() {
    if (stopping) {
      throw new Stopping();
    }
  }

  /** Stops what was started, newest first; safe to call twice and from the shutdown hook. */
  synchronized void tearDown() {
    if (tornDown) {
      return;
    }
    tornDown = true;
    List<AutoCloseable> started = new ArrayList<>();
    if (gateway != null) {
      started.add(gateway);
    }
    if (server != null) {
      started.add(server);
    }
    if (node != null) {
      started.add(node);
    }
    if (controlPlane != null) {
      started.add(controlPlane);
    }
    for (AutoCloseable c : started) {
      try {
        c.close();
      } catch (Exception e) {
        failures.add("could not stop " + c.getClass().getSimpleName() + ": " + CredentialCommand.oneLine(String.valueOf(e.getMessage())));
      }
    }
  }

  private void step(String what) {
    checkNotStopping();
    out.println();
    out.println(++steps + ". " + what);
    out.flush();
  }

  private void expect(boolean held, String what) {
    checkNotStopping();
    checks++;
    out.println("    " + (held ? "ok: " : "FAILED: ") + what);
    out.flush();
    if (!held) {
      failures.add(what);
    }
  }

  /** What a command printed. */
  final class Run {
    final int exit;
    final String out;
    final String err;

    Run(int exit, String out, String err) {
      this.exit = exit;
      this.out = out;
      this.err = err;
    }

    /** Records whether the command exited with {@code code}; returns this for the caller to read. */
    Run expect(int code) {
      checkNotStopping();
      checks++;
      if (exit != code) {
        failures.add("exit " + exit + " (expected " + code + ") from the command of step " + steps);
        ClusterDemo.this.out.println("    FAILED: exit " + exit + ", expected " + code);
      }
      return this;
    }
  }

  /** Runs a kubejit command in this JVM, as {@code who} would from a shell, and prints it and its output. */
  private Run cli(String who, String... args) {
    show(who, "kubejit", args);
    StringWriter o = new StringWriter();
    StringWriter e = new StringWriter();
    int exit = Main.run(args, new PrintWriter(o, true), new PrintWriter(e, true));
    return printed(new Run(exit, o.toString(), e.toString()));
  }

  private Run kubectl(String who, Path kubeconfig, String... args) throws IOException, InterruptedException {
    String[] shown = new String[args.length + 1];
    shown[0] = "--kubeconfig=" + kubeconfig.getFileName();
    System.arraycopy(args, 0, shown, 1, args.length);
    show(who, "kubectl", shown);
    Kubectl.Result r = Kubectl.run(kubeconfig, null, args);
    return printed(new Run(r.exit(), r.out(), r.err()));
  }

  private void show(String who, String command, String... args) {
    checkNotStopping();
    StringBuilder line = new StringBuilder("    ").append(who).append(" $ ").append(command);
    for (String a : args) {
      line.append(' ').append(a.contains("--from-literal=password=") ? "--from-literal=password=(random)" : quote(a));
    }
    out.println(line);
    out.flush();
  }

  private Run printed(Run r) {
    checkNotStopping();
    Stream.of(r.out, r.err).flatMap(String::lines).forEach(l -> out.println("      " + l));
    if (r.exit != 0) {
      out.println("      (exit " + r.exit + ")");
    }
    out.flush();
    return r;
  }

  private static String quote(String a) {
    return a.matches("[A-Za-z0-9_./:=,@+-]+") ? a : "'" + a.replace("'", "'\\''") + "'";
  }

  private static String replaceLine(String yaml, String line, String with) {
    String pattern = "(?m)^" + Pattern.quote(line) + "$";
    if (!Pattern.compile(pattern).matcher(yaml).find()) {
      throw new IllegalStateException("kubejit init wrote no line \"" + line + "\" to adjust");
    }
    return yaml.replaceFirst(pattern, Matcher.quoteReplacement(with));
  }

  /**
   * The kubejit launcher kubectl runs as the exec plugin: {@code $KUBEJIT_LAUNCHER} (set by {@code
   * ./kubejit}), else a script in DIR that runs this JVM's class path.
   */
  private Path launcher() throws IOException {
    String env = System.getenv(ClientCommands.KubeconfigCmd.LAUNCHER_ENV);
    if (env != null && !env.isBlank()) {
      Path p = Path.of(env);
      if (p.isAbsolute() && Files.isExecutable(p)) {
        return p;
      }
    }
    List<String> classPath = new ArrayList<>();
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      classPath.add(Path.of(entry).toAbsolutePath().toString());
    }
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String cp = String.join(File.pathSeparator, classPath);
    if (java.contains("'") || cp.contains("'")) {
      throw new IllegalStateException("cannot write a launcher for a Java or class path with a quote in it");
    }
    Path bin = Files.createDirectory(dir.resolve("bin"), PosixFilePermissions.asFileAttribute(InitCommand.DIR_MODE));
    Path launcher = bin.resolve("kubejit");
    Files.writeString(launcher, "#!/bin/sh\nexec '" + java + "' -cp '" + cp + "' dev.kubejit.cli.Main \"$@\"\n", UTF_8);
    Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwx------"));
    return launcher;
  }

  private static String randomHex(int bytes) {
    byte[] b = new byte[bytes];
    new SecureRandom().nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /**
   * Makes DIR empty and private: an earlier run's directory (it has the marker file) is removed
   * first; any other non-empty directory is refused, so nothing else is ever deleted.
   */
  static void prepare(Path dir) throws IOException {
    if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
        throw new CliException("refusing to use " + dir + ": it is not a directory", 64);
      }
      if (Files.exists(dir.resolve(MARKER))) {
        try (Stream<Path> all = Files.walk(dir)) {
          for (Path p : (Iterable<Path>) all.sorted(Comparator.reverseOrder())::iterator) {
            Files.delete(p);
          }
        }
      } else {
        try (Stream<Path> entries = Files.list(dir)) {
          if (entries.findAny().isPresent()) {
            throw new CliException("refusing to use " + dir + ": it is not empty and not from an earlier demo --cluster", 64);
          }
        }
      }
    }
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, InitCommand.DIR_MODE);
    try {
      Files.writeString(dir.resolve(MARKER), "written by kubejit demo --cluster; the next run deletes this directory\n", UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
