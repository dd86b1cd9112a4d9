package dev.kubejit.admission;

import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.Grant;
import dev.kubejit.api.spi.AuditSink;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Decision time of {@link ExecAdmission#handle} from JSON in to JSON out: parse, grant cache
 * lookup among {@code grants} active grants, the real policy engine (jit-policy, the example
 * policy), audit event construction, and rendering. The audit sink only counts, so what is measured
 * excludes the durability cost of a real sink (a file sink's fsync), which a deployment adds.
 * Sample-time mode reports p50/p99. Run with {@code mvn -pl jit-admission -am -Pbench -DskipTests verify}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class ExecAdmissionBenchmark {
  @Param({"1000"})
  public int grants;

  private ExecAdmission webhook;
  private byte[] allowed;
  private byte[] refused;
  private byte[] noGrant;
  private final LongAdder written = new LongAdder();

  @Setup
  public void setUp() {
    Lab lab = new Lab();
    Grant target = null;
    for (int i = 0; i < grants; i++) {
      target = lab.execGrant();
    }
    lab.cache.refresh();
    AuditSink counting = (List<AuditEvent> events) -> written.add(events.size());
    webhook = ExecAdmission.builder().cluster("prod").grants(lab.cache).policy(lab.policy)
        .auditSink(counting).clock(lab.clock).build();
    allowed = Lab.execReview(target, "web-1", List.of("grep", "-i", "-e", "timeout", "/var/log/app.log"))
        .toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    refused = Lab.execReview(target, "web-1", List.of("cat", "/var/log/../../etc/shadow"))
        .toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    noGrant = Lab.review("admission.k8s.io/v1", "exec", "payments", "web-1", "bob",
        List.of("system:authenticated"), Lab.exec(List.of("sh"), true, true))
        .toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    check(allowed, true);
    check(refused, false);
    check(noGrant, true);
  }

  private void check(byte[] review, boolean expectAllowed) {
    String answer = new String(webhook.handle(review), java.nio.charset.StandardCharsets.UTF_8);
    if (answer.contains("\"allowed\":true") != expectAllowed) {
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
  public byte[] userWithoutGrant() {
    return webhook.handle(noGrant);
  }
}
