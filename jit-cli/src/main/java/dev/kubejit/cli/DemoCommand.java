package dev.kubejit.cli;

import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.Activation;
import dev.kubejit.api.ApprovalRefusedException;
import dev.kubejit.api.CredentialSpec;
import dev.kubejit.api.Decision;
import dev.kubejit.api.EndCause;
import dev.kubejit.api.Grant;
import dev.kubejit.api.Identity;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.ProvisioningException;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.Scope;
import dev.kubejit.api.Use;
import dev.kubejit.api.spi.CredentialIssuer;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.audit.AuditKeys;
import dev.kubejit.audit.AuditVerifier;
import dev.kubejit.audit.FileAuditSink;
import dev.kubejit.audit.VerificationResult;
import dev.kubejit.policy.Policy;
import dev.kubejit.policy.PolicyEngine;
import dev.kubejit.policy.PolicyLoader;
import dev.kubejit.rbac.Finding;
import dev.kubejit.rbac.GeneratedRbac;
import dev.kubejit.rbac.RbacGenerator;
import dev.kubejit.rbac.RbacLinter;
import dev.kubejit.rbac.RbacTemplate;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.credentials.GrantCredentialIssuer;
import dev.kubejit.credentials.KeyType;
import dev.kubejit.credentials.X509Issuer;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Runs the whole access lifecycle with the real modules (policy file, hash-chained audit log,
 * generated RBAC, issued credentials) and prints each step; only the cluster is left out.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {"Run the JIT lifecycle (request, approve, activate, use, expire) and print each step.",
        "Writes the policy, keys and a signed audit log to DIR (recreated on each run).",
        "With --cluster: the same story for real — a test control plane and node, kubejit serve on loopback, "
            + "the client and kubectl (needs scripts/testenv.sh, scripts/testenv.sh --node, scripts/testnode-images.sh "
            + "and root; exits 2 without them)."})
final class DemoCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--dir", description = "Output directory (default: kubejit-demo, with --cluster kubejit-demo-cluster).")
  Path dir;

  @Option(names = "--cluster", description = "Run the story against a real API server and node through kubejit serve, "
      + "the client and kubectl.")
  boolean cluster;

  @Option(names = "--keep", description = "With --cluster: keep everything running after the story until Ctrl-C.")
  boolean keep;

  private PrintWriter out;

  @Override
  public Integer call() throws IOException {
    out = spec.commandLine().getOut();
    if (cluster) {
      return new ClusterDemo(out, dir != null ? dir : Path.of("kubejit-demo-cluster"), keep).run(spec.commandLine().getErr());
    }
    if (keep) {
      throw new CliException("--keep applies only with --cluster", 64);
    }
    if (dir == null) {
      dir = Path.of("kubejit-demo");
    }
    prepare(dir);
    Path policyFile = dir.resolve("policy.json");
    try (InputStream in = DemoCommand.class.getResourceAsStream("demo-policy.json")) {
      Files.copy(in, policyFile);
    }
    Policy policy = PolicyLoader.load(policyFile, "demo");
    KeyPair auditKey = AuditKeys.generate();
    AuditKeys.writePrivateKey(auditKey.getPrivate(), dir.resolve("audit-signing.key"));
    AuditKeys.writePublicKey(auditKey.getPublic(), dir.resolve("audit-signing.pub"));
    MutableClock clock = new MutableClock(Instant.now().truncatedTo(ChronoUnit.SECONDS));
    Path auditLog = dir.resolve("audit.jsonl");

    out.println("KubeJIT demo — policy " + policy.name() + " (sha256 " + policy.digest().substring(0, 12)
        + "...), audit log " + auditLog);
    try (FileAuditSink audit = FileAuditSink.builder(auditLog).signingKey(auditKey).clock(clock).open()) {
      JitBroker broker = JitBroker.builder().clock(clock).policy(PolicyEngine.of(policy)).store(RequestStore.inMemory()).auditSink(audit)
          .rbacProvisioner(new PrintingRbacProvisioner(out, clock)).credentialIssuer(DemoCredentials.issuer(dir, clock))
          .notifier(n -> out.println("    [chat] " + n)).build();
      run(broker, clock);
    }

    step(9, "verify the audit trail (hash chain + Ed25519-signed checkpoints)");
    VerificationResult result = AuditVerifier.withPublicKey(auditKey.getPublic()).verify(List.of(auditLog));
    out.println("    -> " + result.status() + ": " + result.message());
    out.println();
    out.println("Next: ./kubejit audit verify " + auditLog + " --public-key " + dir.resolve("audit-signing.pub"));
    out.println("      ./kubejit audit query " + auditLog + " --user alice");
    out.println("      ./kubejit policy check " + policyFile + " --role oncall-debug --user alice "
        + "--group oncall-payments --command \"cat /var/log/../../etc/shadow\"");
    out.flush();
    return result.isOk(false) ? 0 : 1;
  }

  private void run(JitBroker broker, MutableClock clock) {
    Identity alice = Identity.of("alice", List.of("oncall-payments")).assertedBy("demo-idp");
    Identity carol = Identity.of("carol", List.of("sre-leads")).assertedBy("demo-idp");
    Scope payments = Scope.namespace("prod", "payments");

    step(1, "alice asks to read logs in payments for 30 minutes, ticket INC-42 (auto-approved)");
    RequestRecord logs = broker.submit(AccessRequest.builder().requester(alice).role("oncall-debug")
        .action(Action.LOGS).scope(payments).duration(Duration.ofMinutes(30)).ticket("INC-42")
        .justification("checkout errors spiking").build());
    out.println("    -> " + logs.state() + ": " + logs.decision());

    step(2, "alice asks for logs with ticket JIRA-1 (does not match the ticket pattern)");
    RequestRecord bad = broker.submit(AccessRequest.builder().requester(alice).role("oncall-debug")
        .action(Action.LOGS).scope(payments).duration(Duration.ofMinutes(30)).ticket("JIRA-1").build());
    out.println("    -> " + bad.state() + ": " + bad.decision());

    step(3, "alice asks for exec in payments for 2 hours (needs an sre-lead; clamped to the 1 h ceiling)");
    RequestRecord exec = broker.submit(AccessRequest.builder().requester(alice).role("oncall-debug")
        .action(Action.EXEC).scope(payments).duration(Duration.ofHours(2)).ticket("INC-42")
        .justification("need a thread dump").build());
    out.println("    -> " + exec.state() + ": " + exec.decision());
    try {
      broker.approve(exec.id(), Identity.of("alice", List.of("oncall-payments", "sre-leads")).assertedBy("demo-idp"), "me");
    } catch (ApprovalRefusedException e) {
      out.println("    alice approves it herself -> refused (" + e.reason() + ")");
    }
    exec = broker.approve(exec.id(), carol, "go ahead");
    out.println("    carol (sre-leads) approves -> " + exec.state());

    step(4, "alice activates: RBAC for the grant's own group, a short-lived X.509 certificate from her CSR");
    Activation act = broker.activate(exec.id(), alice, DemoCredentials.csr(dir, "alice"));
    Grant grant = act.grant();
    out.println("    -> " + grant);
    act.credentials().forEach(c -> out.println("    -> credential " + c));
    try {
      Files.writeString(dir.resolve("alice.crt"), act.credentials().get(0).material());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    out.println("    -> written to " + dir.resolve("alice.crt") + " (key " + dir.resolve("alice.key")
        + " never left \"her machine\"; try: openssl x509 -noout -text -in " + dir.resolve("alice.crt") + ")");

    step(5, "alice runs commands in her exec session (argument-aware rules, default deny)");
    for (String line : List.of("cat /var/log/app.log", "tail -n 100 -f /app/logs/server.log",
        "cat /var/log/../../etc/shadow", "cat /var/log/app.log; rm -rf /", "sh -c \"cat /var/log/app.log\"",
        "grep -r root /")) {
      Decision d = broker.authorize(grant.id(), alice, Use.commandLine(line));
      out.println(String.format("    $ %-40s -> %s%s: %s", line, d.outcome(),
          d.ruleId().map(r -> " [" + r + "]").orElse(""), d.reason()));
    }

    step(6, "carol uses break-glass in kube-system (auto, 15 min, alerted, review required)");
    RequestRecord glass = broker.submit(AccessRequest.builder().requester(carol).role("break-glass")
        .action(Action.EXEC).scope(Scope.namespace("prod", "kube-system"))
        .justification("API server pods crash-looping").build());
    Activation glassAct = broker.activate(glass.id(), carol, DemoCredentials.csr(dir, "carol"));
    out.println("    -> " + glassAct.grant() + ", review required: " + glassAct.record().reviewRequired());

    step(7, "carol revokes her break-glass grant when the incident is over");
    out.println("    -> " + broker.revoke(glass.id(), carol, "incident closed").state());

    step(8, "one hour passes; the broker expires alice's grant");
    clock.advance(Duration.ofHours(1));
    out.println("    -> expired " + broker.expireDue() + " request(s)/grant(s)");
    Decision after = broker.authorize(grant.id(), alice, Use.commandLine("cat /var/log/app.log"));
    out.println("    $ cat /var/log/app.log  -> " + after.outcome() + ": " + after.reason());
  }

  private void step(int n, String what) {
    out.println();
    out.println(n + ". " + what);
  }

  /** Recreates the demo directory, removing only what an earlier demo run wrote there. */
  private static void prepare(Path dir) throws IOException {
    if (Files.exists(dir)) {
      try (Stream<Path> files = Files.list(dir)) {
        for (Path f : (Iterable<Path>) files::iterator) {
          String name = f.getFileName().toString();
          if (name.startsWith("audit") || name.startsWith("policy") || name.startsWith("alice") || name.startsWith("carol")
              || name.equals("ca")) {
            deleteRecursively(f);
          }
        }
      }
    }
    Files.createDirectories(dir);
  }

  private static void deleteRecursively(Path p) throws IOException {
    if (Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      try (Stream<Path> children = Files.list(p)) {
        for (Path c : (Iterable<Path>) children::iterator) {
          deleteRecursively(c);
        }
      }
    }
    Files.delete(p);
  }

  /**
   * Generates, lints and prints each grant's Role and RoleBinding instead of applying them (the
   * demo has no cluster; {@code KubernetesRbacProvisioner} applies the same objects).
   */
  static final class PrintingRbacProvisioner implements RbacProvisioner {
    private final PrintWriter out;
    private final RbacLinter linter;
    private final Map<String, GeneratedRbac> applied = new ConcurrentHashMap<>();
    private volatile boolean printedYaml;

    PrintingRbacProvisioner(PrintWriter out, Clock clock) {
      this.out = out;
      this.linter = RbacLinter.builder().maxJitDuration(Duration.ofHours(8)).clock(clock).build();
    }

    @Override
    public void provision(Grant grant) {
      String template = grant.rbacTemplate().orElseThrow(() -> new ProvisioningException(
          "the policy named no RBAC template for role " + grant.role()));
      GeneratedRbac rbac = RbacGenerator.builder(RbacTemplate.builtIn(template)).grant(grant).generate();
      List<Finding> findings = linter.lint(rbac);
      if (RbacLinter.hasErrors(findings)) {
        throw new ProvisioningException("generated RBAC has linter errors: " + findings);
      }
      boolean first = applied.isEmpty() && !printedYaml;
      applied.put(grant.id().value(), rbac);
      if (first) {
        printedYaml = true;
        out.println("    [rbac] would apply (linted, no findings of severity ERROR):");
        rbac.toYaml().lines().forEach(l -> out.println("      " + l));
      } else {
        out.println("    [rbac] would apply Role and RoleBinding " + rbac.name() + " in "
            + rbac.namespace().orElse("(cluster)") + " for group " + rbac.subjectGroup());
      }
    }

    @Override
    public void deprovision(Grant grant, EndCause cause) {
      GeneratedRbac rbac = applied.remove(grant.id().value());
      if (rbac != null) {
        out.println("    [rbac] would delete " + rbac.name() + " in " + rbac.namespace().orElse("(cluster)")
            + " (" + cause + ")");
      }
    }
  }

  /** The demo's credentials: a fresh CA, and alice's key pair and CSR made "on her machine". */
  static final class DemoCredentials {
    private DemoCredentials() {}

    static CredentialIssuer issuer(Path dir, Clock clock) {
      CertificateAuthority ca = CertificateAuthority.builder().keyType(KeyType.ED25519).commonName("kubejit-demo-ca").validity(Duration.ofDays(90)).clock(clock).generate();
      ca.writeTo(dir.resolve("ca"));
      return GrantCredentialIssuer.builder().x509(X509Issuer.builder().authority(ca).clock(clock).build()).clock(clock)
          .build();
    }

    /** Generates alice's Ed25519 key (written 0600, never sent anywhere) and returns her CSR. */
    /** Makes {@code user}'s key (kept in DIR/USER.key, 0600) and CSR, as the engineer's own machine would. */
    static CredentialSpec csr(Path dir, String user) {
      try {
        KeyPair kp = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        Path key = dir.resolve(user + ".key");
        Files.createFile(key, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(key, pem("PRIVATE KEY", kp.getPrivate().getEncoded()));
        PKCS10CertificationRequest csr = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=" + user), kp.getPublic())
            .build(new JcaContentSignerBuilder("Ed25519").build(kp.getPrivate()));
        String csrPem = pem("CERTIFICATE REQUEST", csr.getEncoded());
        Files.writeString(dir.resolve(user + ".csr"), csrPem);
        return CredentialSpec.x509FromCsr(csrPem);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (GeneralSecurityException | OperatorCreationException e) {
        throw new IllegalStateException("cannot make the demo CSR: " + e.getMessage(), e);
      }
    }

    private static String pem(String type, byte[] der) {
      return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
          + "\n-----END " + type + "-----\n";
    }
  }

  /** A clock the demo moves forward by hand. */
  static final class MutableClock extends Clock {
    private volatile Instant now;

    MutableClock(Instant start) {
      this.now = start;
    }

    void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }
}
