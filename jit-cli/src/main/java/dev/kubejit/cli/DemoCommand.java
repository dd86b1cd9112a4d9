package dev.kubejit.cli;

import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.Activation;
import dev.kubejit.api.ApprovalRefusedException;
import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.CredentialKind;
import dev.kubejit.api.CredentialSpec;
import dev.kubejit.api.Decision;
import dev.kubejit.api.Identity;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.Scope;
import dev.kubejit.api.Use;
import dev.kubejit.api.spi.AccessPolicy;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.CredentialIssuer;
import dev.kubejit.api.spi.InMemoryAuditSink;
import dev.kubejit.api.spi.Notifier;
import dev.kubejit.api.spi.RbacProvisioner;
import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** Runs the whole access lifecycle on in-memory components and prints each step. */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Run the JIT lifecycle (request, approve, activate, use, expire) and print each step.")
final class DemoCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    MutableClock clock = new MutableClock(Instant.parse("2026-01-01T09:00:00Z"));
    AccessPolicy policy = AccessPolicy.staticRules()
        .role("oncall-debug", r -> r.requesters("oncall-payments").namespaces("payments")
            .durations(Duration.ofMinutes(30), Duration.ofHours(1)).rbacTemplate("oncall-debug")
            .auto(Action.LOGS).manual(Action.EXEC, 1, "sre-leads").commands("cat", "ls", "ps"))
        .build();
    InMemoryAuditSink audit = AuditSink.inMemory();
    Notifier chat = n -> out.println("    [chat] " + n);
    JitBroker broker = JitBroker.builder().clock(clock).policy(policy).auditSink(audit)
        .rbacProvisioner(RbacProvisioner.inMemory()).credentialIssuer(CredentialIssuer.inMemory())
        .notifier(chat).build();

    Identity alice = Identity.of("alice", List.of("oncall-payments"), "demo");
    Identity carol = Identity.of("carol", List.of("sre-leads"), "demo");
    Scope payments = Scope.namespace("prod", "payments");

    step(out, 1, "alice asks to read logs in payments for 30 minutes (auto-approved by policy)");
    RequestRecord logs = broker.submit(AccessRequest.builder().requester(alice).role("oncall-debug")
        .action(Action.LOGS).scope(payments).duration(Duration.ofMinutes(30)).ticket("INC-42")
        .justification("checkout errors spiking").build());
    out.println("    -> " + logs.state() + ": " + logs.decision());

    step(out, 2, "alice asks for exec in payments for 2 hours (needs an approver; clamped to 1 h)");
    RequestRecord exec = broker.submit(AccessRequest.builder().requester(alice).role("oncall-debug")
        .action(Action.EXEC).scope(payments).duration(Duration.ofHours(2)).ticket("INC-42")
        .justification("need a thread dump").build());
    out.println("    -> " + exec.state() + ": " + exec.decision());

    step(out, 3, "alice tries to approve her own request");
    try {
      broker.approve(exec.id(), Identity.of("alice", List.of("oncall-payments", "sre-leads"), "demo"), "me");
    } catch (ApprovalRefusedException e) {
      out.println("    -> refused (" + e.reason() + "): " + e.getMessage());
    }

    step(out, 4, "carol (sre-leads) approves");
    exec = broker.approve(exec.id(), carol, "go ahead");
    out.println("    -> " + exec.state());

    step(out, 5, "alice activates: RBAC provisioned for the grant's own group, credential issued");
    Activation act = broker.activate(exec.id(), alice, CredentialSpec.of(CredentialKind.OPAQUE, null, Map.of()));
    out.println("    -> " + act.grant());
    out.println("    -> credential " + act.credentials().get(0));

    step(out, 6, "alice runs commands in her exec session");
    for (List<String> argv : List.of(List.of("cat", "/var/log/app.log"), List.of("rm", "-rf", "/"))) {
      Decision d = broker.authorize(act.grant().id(), alice, Use.command(argv));
      out.println("    $ " + String.join(" ", argv) + "  -> " + d.outcome() + " (" + d.reason() + ")");
    }

    step(out, 7, "one hour passes; the broker expires the grant");
    clock.advance(Duration.ofHours(1));
    out.println("    -> expired " + broker.expireDue() + " request(s)/grant(s)");
    Decision after = broker.authorize(act.grant().id(), alice, Use.command(List.of("cat", "/var/log/app.log")));
    out.println("    $ cat /var/log/app.log  -> " + after.outcome() + " (" + after.reason() + ")");

    step(out, 8, "the audit trail");
    for (AuditEvent e : audit.events()) {
      out.println("    " + e.time() + " " + e.type() + e.actor().map(a -> " by " + a.user()).orElse("")
          + e.reason().map(r -> " — " + r).orElse(""));
    }
    out.flush();
    return 0;
  }

  private static void step(PrintWriter out, int n, String what) {
    out.println();
    out.println(n + ". " + what);
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
