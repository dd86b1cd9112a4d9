package dev.kubejit.bench;

import dev.kubejit.admission.ExecAdmission;
import dev.kubejit.admission.GrantCache;
import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.Grant;
import dev.kubejit.api.Identity;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.policy.PolicyEngine;
import dev.kubejit.policy.PolicyFormat;
import dev.kubejit.policy.PolicyLoader;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Item 9: the exec admission webhook's decision, {@link ExecAdmission#handle} from the API
 * server's AdmissionReview JSON to the answer: parse, grant cache lookup among 1,000 active grants,
 * the real policy engine (a role with five command rules, a container allow-list and {@code
 * longRunning: gateway-only}), the audit event, rendering. The audit sink only counts, so a real
 * sink's write is extra. Cases: an allowed {@code grep}, a refused path escape, a {@code tail -f}
 * refused as long-running, and a user without a grant (no opinion). Sample time, p50/p99.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class AdmissionBench {
  static final int GRANTS = 1000;
  static final String POLICY = String.join("\n",
      "apiVersion: kubejit.dev/v1", "kind: AccessPolicy", "metadata: {name: bench}", "roles:",
      "  - name: oncall-debug", "    requesters: [oncall]", "    namespaces: [payments]",
      "    defaultDuration: PT1H", "    maxDuration: PT1H", "    justification: {required: false}",
      "    actions: {exec: {approval: auto}}",
      "    exec: {containers: [app], longRunning: gateway-only}",
      "    commands:", "      allow:",
      "        - {id: read-logs, command: cat, operands: [path+], paths: [/var/log/]}",
      "        - {id: search-logs, command: grep, flags: [-i, -n], flagsWithValue: {-e: {type: any, argument: required}},"
          + " operands: [any, path+], patternOptions: [-e], paths: [/var/log/]}",
      "        - {id: tail-logs, command: tail, flags: [-f], flagsWithValue: {-n: {type: number, argument: required}},"
          + " operands: [path+], paths: [/var/log/]}",
      "        - {id: list-files, command: ls, flags: [-l, -a], operands: [path+], paths: [/var/log/]}",
      "        - {id: processes, command: ps, flags: [aux], operands: []}", "");

  private ExecAdmission webhook;
  private byte[] allowed;
  private byte[] refused;
  private byte[] longRunning;
  private byte[] noGrant;
  private final LongAdder written = new LongAdder();

  /** The webhook and reviews, built once per JVM: quick runs run the four benchmarks in one JVM. */
  private static AdmissionBench built;

  @Setup
  public void setUp() {
    synchronized (AdmissionBench.class) {
      if (built == null) {
        build();
        built = this;
      } else {
        webhook = built.webhook;
        allowed = built.allowed;
        refused = built.refused;
        longRunning = built.longRunning;
        noGrant = built.noGrant;
      }
    }
  }

  private void build() {
    Clock clock = Clock.systemUTC();
    PolicyEngine policy = PolicyEngine.of(PolicyLoader.parse(POLICY.getBytes(StandardCharsets.UTF_8), PolicyFormat.YAML,
        "bench.yaml", null));
    RequestStore store = RequestStore.inMemory();
    GrantCache cache = GrantCache.manual(store, clock);
    JitBroker broker = JitBroker.builder().clock(clock).policy(policy).store(store).auditSink(AuditSink.inMemory())
        .rbacProvisioner(RbacProvisioner.inMemory()).notifier(cache).build();
    Identity alice = Identity.of("alice", "oncall");
    Grant target = null;
    for (int i = 0; i < GRANTS; i++) {
      RequestRecord r = broker.submit(AccessRequest.builder().requester(alice).role("oncall-debug").action(Action.EXEC)
          .scope(dev.kubejit.api.Scope.namespace("prod", "payments")).justification("bench").build());
      target = broker.activate(r.id(), alice).grant();
    }
    cache.refresh();
    AuditSink counting = (List<AuditEvent> events) -> written.add(events.size());
    webhook = ExecAdmission.builder().cluster("prod").grants(cache).policy(policy).auditSink(counting).clock(clock)
        .build();
    String group = target.subjectGroup();
    allowed = review("alice", group, "[\"grep\",\"-i\",\"-e\",\"timeout\",\"/var/log/app.log\"]");
    refused = review("alice", group, "[\"cat\",\"/var/log/../../etc/shadow\"]");
    longRunning = review("alice", group, "[\"tail\",\"-f\",\"/var/log/app.log\"]");
    noGrant = review("bob", "platform", "[\"sh\"]");
    check(allowed, true, "search-logs");
    check(refused, false, "read-logs");
    check(longRunning, false, "oncall-debug/longRunning");
    check(noGrant, true, "no-opinion");
  }

  static byte[] review(String user, String group, String commandJson) {
    return ("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\""
        + UUID.randomUUID() + "\",\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"PodExecOptions\"},"
        + "\"resource\":{\"group\":\"\",\"version\":\"v1\",\"resource\":\"pods\"},\"subResource\":\"exec\","
        + "\"name\":\"web-1\",\"namespace\":\"payments\",\"operation\":\"CONNECT\",\"userInfo\":{\"username\":\""
        + user + "\",\"groups\":[\"" + group + "\",\"system:authenticated\"]},\"object\":{\"kind\":\"PodExecOptions\","
        + "\"apiVersion\":\"v1\",\"stdin\":false,\"stdout\":true,\"stderr\":true,\"tty\":false,\"container\":\"app\","
        + "\"command\":" + commandJson + "},\"dryRun\":false}}").getBytes(StandardCharsets.UTF_8);
  }

  private void check(byte[] review, boolean expectAllowed, String marker) {
    String answer = new String(webhook.handle(review), StandardCharsets.UTF_8);
    if (answer.contains("\"allowed\":true") != expectAllowed || !answer.contains(marker)) {
      throw new IllegalStateException("unexpected answer: " + answer);
    }
  }

  @Benchmark
  public byte[] allowedCommand() {
    return webhook.handle(allowed);
  }

  @Benchmark
  public byte[] refusedCommand() {
    return webhook.handle(refused);
  }

  @Benchmark
  public byte[] refusedLongRunning() {
    return webhook.handle(longRunning);
  }

  @Benchmark
  public byte[] userWithoutGrant() {
    return webhook.handle(noGrant);
  }
}
