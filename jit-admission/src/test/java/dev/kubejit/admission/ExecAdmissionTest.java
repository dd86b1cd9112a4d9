package dev.kubejit.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kubejit.api.Action;
import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.AuditException;
import dev.kubejit.api.Grant;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.Scope;
import dev.kubejit.api.spi.RbacProvisioner;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ExecAdmissionTest {
  private static final List<String> CAT = List.of("cat", "/var/log/app.log");

  private static void assertDenied(JsonNode answer, String rule, String reasonFragment) {
    JsonNode resp = answer.get("response");
    assertFalse(resp.get("allowed").asBoolean(), answer::toString);
    assertEquals(403, resp.get("status").get("code").asInt());
    String message = resp.get("status").get("message").asText();
    assertTrue(message.contains("refused by rule " + rule), message);
    assertTrue(message.contains(reasonFragment), message);
    assertEquals(rule, resp.get("auditAnnotations").get("rule").asText());
    assertEquals("deny", resp.get("auditAnnotations").get("decision").asText());
  }

  @Test
  void allowsAnAllowedCommandAndEchoesUidAnnotationsAndAudits() {
    Lab lab = new Lab();
    Grant g = lab.execGrant();
    ObjectNode review = Lab.execReview(g, "web-1", CAT);
    JsonNode answer = lab.call(review);
    assertEquals("admission.k8s.io/v1", answer.get("apiVersion").asText());
    assertEquals("AdmissionReview", answer.get("kind").asText());
    JsonNode resp = answer.get("response");
    assertEquals(review.get("request").get("uid").asText(), resp.get("uid").asText());
    assertTrue(resp.get("allowed").asBoolean(), answer::toString);
    assertEquals(g.id().value(), resp.get("auditAnnotations").get("grant").asText());
    assertEquals("read-logs", resp.get("auditAnnotations").get("rule").asText());
    assertEquals("allow", resp.get("auditAnnotations").get("decision").asText());
    AuditEvent ev = lab.audit.events(AuditEventType.COMMAND_ALLOWED).get(0);
    assertEquals(g.id(), ev.grantId().orElseThrow());
    assertEquals("cat /var/log/app.log", ev.attributes().get("command"));
    assertEquals(review.get("request").get("uid").asText(), ev.attributes().get("admissionUid"));
    assertEquals("admission-webhook", ev.attributes().get("enforcedBy"));
    assertEquals("web-1", ev.attributes().get("pod"));
    assertEquals("read-logs", ev.ruleId().orElseThrow());
  }

  @Test
  void answersV1beta1InV1beta1() {
    Lab lab = new Lab();
    Grant g = lab.execGrant();
    ObjectNode review = Lab.review("admission.k8s.io/v1beta1", "exec", "payments", "web-1", "alice",
        List.of(g.subjectGroup()), Lab.exec(List.of("cat", "/etc/shadow"), false, false));
    JsonNode answer = lab.call(review);
    assertEquals("admission.k8s.io/v1beta1", answer.get("apiVersion").asText());
    assertEquals(review.get("request").get("uid").asText(), answer.get("response").get("uid").asText());
    assertDenied(answer, "read-logs", "/etc/shadow");
  }

  /** The argv entries of jit-policy's bypass corpus written for the example policy. */
  static Stream<Arguments> bypassCorpus() throws Exception {
    JsonNode corpus = Lab.JSON.readTree(Files.readAllBytes(Lab.projectFile(
        "jit-policy/src/test/resources/corpus/bypass-attempts.json")));
    List<Arguments> out = new ArrayList<>();
    for (JsonNode e : corpus) {
      if (e.has("argv") && !e.has("policy")) {
        List<String> argv = new ArrayList<>();
        e.get("argv").forEach(a -> argv.add(a.asText()));
        out.add(Arguments.of(argv, e.get("rule").asText(), e.get("code").asText()));
      }
    }
    if (out.size() < 20) {
      throw new IllegalStateException("the bypass corpus has only " + out.size() + " argv entries");
    }
    return out.stream();
  }

  @ParameterizedTest
  @MethodSource("bypassCorpus")
  void refusesEveryArgvOfTheBypassCorpusWithItsRuleAndReasonCode(List<String> argv, String rule, String code) {
    Lab lab = new Lab();
    Grant g = lab.execGrant();
    assertDenied(lab.call(Lab.execReview(g, "web-1", argv)), rule, "[" + code + "]");
    AuditEvent ev = lab.audit.events(AuditEventType.COMMAND_DENIED).get(0);
    assertEquals(rule, ev.ruleId().orElseThrow());
    assertEquals(g.id(), ev.grantId().orElseThrow());
  }

  @Test
  void stdinOrTtyNeedsARoleThatAllowsInteractiveSessions() {
    Lab lab = new Lab();
    Grant g = lab.execGrant();
    for (boolean[] f : new boolean[][] {{true, false}, {false, true}, {true, true}}) {
      JsonNode answer = lab.call(Lab.review("admission.k8s.io/v1", "exec", "payments", "web-1", "alice",
          List.of(g.subjectGroup()), Lab.exec(CAT, f[0], f[1])));
      assertDenied(answer, "oncall-debug/commands", "stdin/tty requested");
    }
    Lab glass = new Lab();
    Grant bg = glass.grant(Lab.CAROL, "break-glass", Action.EXEC, Scope.namespace("prod", "payments"));
    JsonNode answer = glass.call(Lab.review("admission.k8s.io/v1", "exec", "payments", "web-1", "carol",
        List.of(bg.subjectGroup()), Lab.exec(List.of("sh"), true, true)));
    assertTrue(answer.get("response").get("allowed").asBoolean(), answer::toString);
    assertEquals("break-glass/commands", answer.get("response").get("auditAnnotations").get("rule").asText());
  }

  private static final String GATEWAY_ONLY = "    exec:\n      containers: [app]\n      longRunning: gateway-only\n";

  @Test
  void aGatewayOnlyRoleRefusesFollowStyleAndInteractiveExecWithTheRule() {
    Lab lab = new Lab(GATEWAY_ONLY);
    Grant g = lab.execGrant();
    // tail -f is allowed by the command rule tail-logs, but the stream would outlive the grant
    assertDenied(lab.call(Lab.execReview(g, "web-1", List.of("tail", "-f", "/var/log/app.log"))),
        "oncall-debug/longRunning", "[long-running] tail -f follows its input");
    JsonNode bounded = lab.call(Lab.execReview(g, "web-1", List.of("tail", "-n", "5", "/var/log/app.log")));
    assertTrue(bounded.get("response").get("allowed").asBoolean(), bounded::toString);
    assertEquals(1, lab.audit.events(AuditEventType.COMMAND_DENIED).size());
    assertEquals("tail -f /var/log/app.log",
        lab.audit.events(AuditEventType.COMMAND_DENIED).get(0).attributes().get("command"));

    Lab glass = new Lab(GATEWAY_ONLY);
    Grant bg = glass.grant(Lab.CAROL, "break-glass", Action.EXEC, Scope.namespace("prod", "payments"));
    assertDenied(glass.call(Lab.review("admission.k8s.io/v1", "exec", "payments", "web-1", "carol",
        List.of(bg.subjectGroup()), Lab.exec(List.of("sh"), true, true))), "break-glass/longRunning", "stdin or a tty");
    assertDenied(glass.call(Lab.review("admission.k8s.io/v1", "exec", "payments", "web-1", "carol",
        List.of(bg.subjectGroup()), Lab.exec(List.of("sleep", "600"), false, false))), "break-glass/longRunning",
        "sleep runs until it is stopped");
    ObjectNode attach = Lab.JSON.createObjectNode().put("kind", "PodAttachOptions").put("stdout", true)
        .put("container", "app");
    assertDenied(glass.call(Lab.review("admission.k8s.io/v1", "attach", "payments", "web-1", "carol",
        List.of(bg.subjectGroup()), attach)), "break-glass/longRunning", "attached stream");
  }

  @Test
  void aContainerOutsideTheRolesAllowListIsRefusedWithTheRule() {
    Lab lab = new Lab(GATEWAY_ONLY);
    Grant g = lab.execGrant();
    ObjectNode options = Lab.exec(CAT, false, false).put("container", "db");
    assertDenied(lab.call(Lab.review("admission.k8s.io/v1", "exec", "payments", "web-1", "alice",
        List.of(g.subjectGroup()), options)), "oncall-debug/containers", "container \"db\" is not one role");
    ObjectNode none = Lab.exec(CAT, false, false);
    none.remove("container");
    assertDenied(lab.call(Lab.review("admission.k8s.io/v1", "exec", "payments", "web-1", "alice",
        List.of(g.subjectGroup()), none)), "oncall-debug/containers", "names no container");
    assertTrue(lab.call(Lab.execReview(g, "web-1", CAT)).get("response").get("allowed").asBoolean());
  }

  @Test
  void attachIsAnInteractiveSessionAndPortForwardFollowsTheGrantsAction() {
    Lab lab = new Lab();
    Grant g = lab.execGrant();
    ObjectNode attach = Lab.JSON.createObjectNode().put("kind", "PodAttachOptions").put("stdin", true)
        .put("tty", true).put("container", "app");
    assertDenied(lab.call(Lab.review("admission.k8s.io/v1", "attach", "payments", "web-1", "alice",
        List.of(g.subjectGroup()), attach)), "oncall-debug/commands", "interactive");
    ObjectNode pf = Lab.JSON.createObjectNode().put("kind", "PodPortForwardOptions");
    pf.putArray("ports").add(8080);
    assertDenied(lab.call(Lab.review("admission.k8s.io/v1", "portforward", "payments", "web-1", "alice",
        List.of(g.subjectGroup()), pf)), "oncall-debug/actions", "not portforward");
    Grant fwd = lab.grant("oncall-debug", Action.PORT_FORWARD, Scope.namespace("prod", "payments"));
    JsonNode ok = lab.call(Lab.review("admission.k8s.io/v1", "portforward", "payments", "web-1", "alice",
        List.of(fwd.subjectGroup()), pf));
    assertTrue(ok.get("response").get("allowed").asBoolean(), ok::toString);
    assertEquals("8080", lab.audit.events(AuditEventType.USE_ALLOWED).get(0).attributes().get("ports"));
  }

  @Test
  void scopeNamespaceAndPinnedPodAreEnforced() {
    Lab lab = new Lab();
    Grant g = lab.execGrant();
    assertDenied(lab.call(Lab.review("admission.k8s.io/v1", "exec", "payments-eu", "web-1", "alice",
        List.of(g.subjectGroup()), Lab.exec(CAT, false, false))), "admission:namespace-scope", "namespace payments");
    Grant pinned = lab.grant("oncall-debug", Action.EXEC, Scope.namespace("prod", "payments").withPod("web-1"));
    assertTrue(lab.call(Lab.execReview(pinned, "web-1", CAT)).get("response").get("allowed").asBoolean());
    assertDenied(lab.call(Lab.execReview(pinned, "web-2", CAT)), "broker:pod-scope", "pinned to pod web-1");
  }

  @Test
  void usersWithoutAGrantGroupGetNoOpinionAndNoAuditRecord() {
    Lab lab = new Lab();
    int before = lab.audit.events().size();
    JsonNode answer = lab.call(Lab.review("admission.k8s.io/v1", "exec", "payments", "web-1", "bob",
        List.of("system:authenticated", "jit-grants-are-not-this"), Lab.exec(List.of("sh"), true, true)));
    assertTrue(answer.get("response").get("allowed").asBoolean());
    assertEquals("no-opinion", answer.get("response").get("auditAnnotations").get("decision").asText());
    assertFalse(answer.get("response").has("status"));
    assertEquals(before, lab.audit.events().size());
  }

  @Test
  void revokeInThisProcessTakesEffectAtOnceThroughTheNotification() {
    Lab lab = new Lab();
    Grant g = lab.execGrant();
    assertTrue(lab.call(Lab.execReview(g, "web-1", CAT)).get("response").get("allowed").asBoolean());
    lab.broker.revoke(g.requestId(), Lab.CAROL, "incident over");
    assertDenied(lab.call(Lab.execReview(g, "web-1", CAT)), "broker:grant-state", "REVOKED");
    lab.cache.refresh();
    assertDenied(lab.call(Lab.execReview(g, "web-1", CAT)), "broker:grant-state", "REVOKED");
  }

  @Test
  void aRevokingGrantWhoseRbacRemovalFailsIsRefusedAtOnceAndAfterRefresh() {
    Lab lab = new Lab();
    Grant g = lab.execGrant();
    assertTrue(lab.call(Lab.execReview(g, "web-1", CAT)).get("response").get("allowed").asBoolean());
    dev.kubejit.api.spi.RbacProvisioner down = new dev.kubejit.api.spi.RbacProvisioner() {
      @Override
      public void provision(Grant grant) {
        throw new dev.kubejit.api.ProvisionerUnavailableException("API server down", null);
      }

      @Override
      public void deprovision(Grant grant, dev.kubejit.api.EndCause cause) {
        throw new dev.kubejit.api.ProvisionerUnavailableException("API server down", null);
      }
    };
    JitBroker apiServerDown = JitBroker.builder().clock(lab.clock).policy(lab.policy).store(lab.store)
        .auditSink(lab.audit).rbacProvisioner(down).notifier(lab.cache).build();
    assertEquals(dev.kubejit.api.RequestState.REVOKING,
        apiServerDown.revoke(g.requestId(), Lab.CAROL, "incident over").state());
    assertDenied(lab.call(Lab.execReview(g, "web-1", CAT)), "broker:grant-state", "REVOKING");
    lab.cache.refresh();
    assertDenied(lab.call(Lab.execReview(g, "web-1", CAT)), "broker:grant-state", "REVOKING");
  }

  @Test
  void revokeByAnotherReplicaTakesEffectAtTheNextRefresh() {
    Lab lab = new Lab();
    Grant g = lab.execGrant();
    lab.call(Lab.execReview(g, "web-1", CAT));
    JitBroker otherReplica = JitBroker.builder().clock(lab.clock).policy(lab.policy).store(lab.store)
        .auditSink(lab.audit).rbacProvisioner(RbacProvisioner.inMemory()).build();
    otherReplica.revoke(g.requestId(), Lab.CAROL, "from the other replica");
    // The documented bound: until this cache refreshes, it has not heard of the revocation.
    assertTrue(lab.call(Lab.execReview(g, "web-1", CAT)).get("response").get("allowed").asBoolean());
    lab.cache.refresh();
    assertDenied(lab.call(Lab.execReview(g, "web-1", CAT)), "broker:grant-state", "REVOKED");
  }

  @Test
  void grantActivatedElsewhereIsFoundInTheStoreOnFirstUse() {
    Lab lab = new Lab();
    GrantCache empty = GrantCache.manual(lab.store, lab.clock);
    Grant g = lab.execGrant();
    ExecAdmission other = ExecAdmission.builder().cluster("prod").grants(empty).policy(lab.policy)
        .auditSink(lab.audit).clock(lab.clock).build();
    assertEquals(0, empty.size());
    byte[] answer = other.handle(Lab.execReview(g, "web-1", CAT).toString().getBytes(StandardCharsets.UTF_8));
    assertTrue(new String(answer, StandardCharsets.UTF_8).contains("\"allowed\":true"));
  }

  @Test
  void expiryNeedsNoRefresh() {
    Lab lab = new Lab();
    Grant g = lab.execGrant();
    lab.clock.advance(g.duration());
    assertDenied(lab.call(Lab.execReview(g, "web-1", CAT)), "broker:grant-expiry", "not active now");
  }

  @Test
  void anotherUserCarryingTheGroupIsNotTheHolder() {
    Lab lab = new Lab();
    Grant g = lab.execGrant();
    assertDenied(lab.call(Lab.review("admission.k8s.io/v1", "exec", "payments", "web-1", "mallory",
        List.of(g.subjectGroup()), Lab.exec(CAT, false, false))), "broker:holder", "does not hold grant");
  }

  @Test
  void unknownMalformedOrSeveralGrantGroupsAreRefused() {
    Lab lab = new Lab();
    Grant g = lab.execGrant();
    assertDenied(lab.call(Lab.review("admission.k8s.io/v1", "exec", "payments", "web-1", "alice",
        List.of("jit:grant:aaaaaaaaaaaaaaaaaaaaaaaaaa"), Lab.exec(CAT, false, false))),
        "broker:unknown-grant", "unknown to KubeJIT");
    assertDenied(lab.call(Lab.review("admission.k8s.io/v1", "exec", "payments", "web-1", "alice",
        List.of("jit:grant:not a grant"), Lab.exec(CAT, false, false))), "admission:grant-groups", "malformed");
    Grant second = lab.execGrant();
    assertDenied(lab.call(Lab.review("admission.k8s.io/v1", "exec", "payments", "web-1", "alice",
        List.of(g.subjectGroup(), second.subjectGroup()), Lab.exec(CAT, false, false))),
        "admission:grant-groups", "2 grant groups");
  }

  @Test
  void aFailingAuditSinkRefuses() {
    Lab lab = new Lab(events -> {
      throw new AuditException("disk full");
    });
    Grant g = lab.execGrant();
    assertDenied(lab.call(Lab.execReview(g, "web-1", CAT)), "admission:audit", "could not be written");
  }

  @Test
  void malformedReviewsAreTypedErrors() {
    Lab lab = new Lab();
    for (String body : List.of("", "not json", "[]", "{\"apiVersion\":\"admission.k8s.io/v2\",\"kind\":\"AdmissionReview\"}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{}}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"a b\"}}")) {
      assertThrows(MalformedAdmissionReviewException.class,
          () -> lab.webhook.handle(body.getBytes(StandardCharsets.UTF_8)), body);
    }
    Grant g = lab.execGrant();
    ObjectNode bad = Lab.execReview(g, "web-1", CAT);
    ((ObjectNode) bad.get("request").get("object")).put("command", "cat /etc/shadow");
    assertThrows(MalformedAdmissionReviewException.class,
        () -> lab.webhook.handle(bad.toString().getBytes(StandardCharsets.UTF_8)));
    assertThrows(MalformedAdmissionReviewException.class,
        () -> lab.webhook.handle(new byte[AdmissionReview.MAX_BYTES + 1]));
  }

  @Test
  void aCacheRefreshNeverBringsBackARevokedGrant() {
    Lab lab = new Lab();
    Grant g = lab.execGrant();
    lab.broker.revoke(g.requestId(), Lab.CAROL, "done");
    lab.cache.refresh();
    assertEquals(0, lab.cache.size());
    lab.clock.advance(Duration.ofMinutes(1));
    assertDenied(lab.call(Lab.execReview(g, "web-1", CAT)), "broker:grant-state", "REVOKED");
  }
}
