package dev.kubejit.admission;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.Grant;
import dev.kubejit.api.Identity;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.Scope;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.api.spi.InMemoryAuditSink;
import dev.kubejit.api.spi.RbacProvisioner;
import dev.kubejit.api.spi.RequestStore;
import dev.kubejit.policy.PolicyEngine;
import dev.kubejit.policy.PolicyLoader;
import dev.kubejit.testing.FakeClock;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;

/**
 * A broker with the example policy of jit-policy (the one its command corpus is written for), an
 * in-memory store and audit sink, a fake clock, and the admission webhook wired to the same store,
 * policy and audit sink, with its grant cache receiving the broker's notifications.
 */
final class Lab {
  static final ObjectMapper JSON = new ObjectMapper();
  static final Identity ALICE = Identity.of("alice", "oncall-payments");
  static final Identity CAROL = Identity.of("carol", "sre-leads");

  final FakeClock clock = new FakeClock();
  final RequestStore store = RequestStore.inMemory();
  final InMemoryAuditSink audit = AuditSink.inMemory();
  final PolicyEngine policy;
  final GrantCache cache = GrantCache.manual(store, clock);
  final JitBroker broker;
  final ExecAdmission webhook;

  Lab() {
    this((AuditSink) null);
  }

  Lab(AuditSink webhookAudit) {
    this(examplePolicy(""), webhookAudit);
  }

  /** A lab whose policy is the example with {@code execOptions} (YAML lines of an {@code exec:} block) in both roles. */
  Lab(String execOptions) {
    this(examplePolicy(execOptions), null);
  }

  private Lab(PolicyEngine policy, AuditSink webhookAudit) {
    this.policy = policy;
    broker = JitBroker.builder().clock(clock).policy(policy).store(store).auditSink(audit)
        .rbacProvisioner(RbacProvisioner.inMemory()).notifier(cache).build();
    webhook = ExecAdmission.builder().cluster("prod").grants(cache).policy(policy)
        .auditSink(webhookAudit == null ? audit : webhookAudit).clock(clock).build();
  }

  /** The example policy, with {@code execOptions} inserted before each role's actions. */
  static PolicyEngine examplePolicy(String execOptions) {
    try {
      String text = java.nio.file.Files.readString(projectFile("jit-policy/src/test/resources/policies/payments-oncall.yaml"));
      text = text.replace("    actions:\n", execOptions + "    actions:\n");
      return PolicyEngine.of(PolicyLoader.parse(text.getBytes(java.nio.charset.StandardCharsets.UTF_8),
          dev.kubejit.policy.PolicyFormat.YAML, "payments-oncall.yaml", null));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Path projectFile(String relative) {
    String root = System.getProperty("kubejit.projectRoot");
    return (root == null ? Path.of("..") : Path.of(root)).resolve(relative);
  }

  /** An approved, activated grant of {@code role}/{@code action} for alice. */
  Grant grant(String role, Action action, Scope scope) {
    return grant(ALICE, role, action, scope);
  }

  /** An approved, activated grant of {@code role}/{@code action} for {@code holder}. */
  Grant grant(Identity holder, String role, Action action, Scope scope) {
    RequestRecord r = broker.submit(AccessRequest.builder().requester(holder).role(role).action(action)
        .scope(scope).ticket("INC-17").justification("issue 17 tests").build());
    if (r.state() != dev.kubejit.api.RequestState.APPROVED) {
      int needed = r.decision().approval().orElseThrow().minApprovals();
      broker.approve(r.id(), CAROL, "ok");
      if (needed > 1) {
        broker.approve(r.id(), Identity.of("dave", "sre-leads"), "ok");
      }
    }
    return broker.activate(r.id(), holder).grant();
  }

  Grant execGrant() {
    return grant("oncall-debug", Action.EXEC, Scope.namespace("prod", "payments"));
  }

  /** An AdmissionReview for CONNECT on pods/{@code sub} by {@code user} in {@code groups}. */
  static ObjectNode review(String apiVersion, String sub, String namespace, String pod, String user,
      List<String> groups, ObjectNode options) {
    ObjectNode root = JSON.createObjectNode();
    root.put("apiVersion", apiVersion);
    root.put("kind", "AdmissionReview");
    ObjectNode req = root.putObject("request");
    req.put("uid", UUID.randomUUID().toString());
    req.putObject("kind").put("group", "").put("version", "v1").put("kind", options.get("kind").asText());
    req.putObject("resource").put("group", "").put("version", "v1").put("resource", "pods");
    req.put("subResource", sub);
    req.put("name", pod);
    req.put("namespace", namespace);
    req.put("operation", "CONNECT");
    ObjectNode ui = req.putObject("userInfo");
    ui.put("username", user);
    ArrayNode g = ui.putArray("groups");
    groups.forEach(g::add);
    req.set("object", options);
    req.put("dryRun", false);
    return root;
  }

  static ObjectNode exec(List<String> argv, boolean stdin, boolean tty) {
    ObjectNode o = JSON.createObjectNode();
    o.put("kind", "PodExecOptions").put("apiVersion", "v1").put("stdin", stdin).put("stdout", true)
        .put("stderr", true).put("tty", tty).put("container", "app");
    ArrayNode c = o.putArray("command");
    argv.forEach(c::add);
    return o;
  }

  static ObjectNode execReview(Grant g, String pod, List<String> argv) {
    return review("admission.k8s.io/v1", "exec", "payments", pod, "alice",
        List.of(g.subjectGroup(), "system:authenticated"), exec(argv, false, false));
  }

  JsonNode call(ObjectNode review) {
    try {
      return JSON.readTree(webhook.handle(JSON.writeValueAsBytes(review)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
