package dev.kubejit.admission;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import dev.kubejit.api.Action;
import dev.kubejit.api.Grant;
import dev.kubejit.api.Use;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Hostile AdmissionReview bodies against {@link ExecAdmission#handle}. One lab (the example policy
 * of jit-policy, one active exec grant of alice's in payments) serves every input; {@code @GRANT@}
 * in an input is replaced by that grant's group, so the seeds (exec of allowed and refused argv,
 * tty, attach, port-forward, v1beta1, two grant groups, another user) reach the policy.
 *
 * <p>Properties: {@link ExecAdmission#handle} answers or throws {@link
 * MalformedAdmissionReviewException}, nothing else; an answer to a body without a grant group is
 * "no opinion" (RBAC decides); and an answer that allows a grant-group caller is, when read back
 * from the body it was given (parsed here on its own): for alice, in exactly the one grant group,
 * CONNECT on pods/exec, attach or portforward in the grant's namespace, and, for exec, an argv that
 * the policy engine allows for the grant (and interactive use too, if stdin or tty was asked).
 * {@code scripts/fuzz.sh admission SECONDS} fuzzes.
 */
class AdmissionFuzzTest {
  private static final Lab LAB = new Lab(events -> { });
  private static final Grant GRANT = LAB.execGrant();

  @FuzzTest(maxDuration = "30s")
  void neverAllowsWhatThePolicyDenies(byte[] input) throws Exception {
    byte[] body = new String(input, StandardCharsets.UTF_8).replace("@GRANT@", GRANT.subjectGroup())
        .getBytes(StandardCharsets.UTF_8);
    byte[] answer;
    try {
      answer = LAB.webhook.handle(body);
    } catch (MalformedAdmissionReviewException refused) {
      assertFalse(refused.getMessage() == null || refused.getMessage().isBlank(), "a refusal says why");
      return;
    }
    JsonNode resp = Lab.JSON.readTree(answer).get("response");
    if (!resp.path("allowed").asBoolean(false)) {
      return;
    }
    JsonNode req = Lab.JSON.readTree(body).get("request");
    List<String> grantGroups = new ArrayList<>();
    req.path("userInfo").path("groups").forEach(g -> {
      if (g.asText().startsWith(Grant.GROUP_PREFIX)) {
        grantGroups.add(g.asText());
      }
    });
    if (grantGroups.isEmpty()) {
      // No grant credential: the webhook has no opinion (allowed), RBAC alone decides. Found by
      // fuzzing (a body without userInfo); the answer must then say so.
      assertEquals("no-opinion", Lab.JSON.readTree(answer).path("response").path("auditAnnotations").path("decision")
          .asText(), "an allowed answer without a grant group is a no-opinion answer");
      return;
    }
    assertEquals(List.of(GRANT.subjectGroup()), grantGroups, "allowed only in the one grant group");
    assertTrue(req.path("userInfo").path("username").asText().equalsIgnoreCase("alice"), "allowed only for alice");
    assertEquals("CONNECT", req.path("operation").asText());
    assertEquals("pods", req.path("resource").path("resource").asText());
    assertEquals("", req.path("resource").path("group").asText(""));
    assertEquals("payments", req.path("namespace").asText());
    String sub = req.path("subResource").asText();
    assertTrue(Set.of("exec", "attach", "portforward").contains(sub), "allowed subresource " + sub);
    JsonNode o = req.path("object");
    String pod = req.path("name").asText();
    String container = o.path("container").isTextual() && !o.path("container").asText().isEmpty()
        ? o.path("container").asText() : null;
    if (sub.equals("exec")) {
      List<String> argv = new ArrayList<>();
      o.path("command").forEach(a -> argv.add(a.textValue()));
      assertFalse(argv.isEmpty(), "exec was allowed without a command");
      assertTrue(LAB.policy.authorize(GRANT, Use.command(argv).in(pod, container)).isAllowed(),
          "allowed an argv the policy engine denies: " + argv);
      if (o.path("stdin").asBoolean(false) || o.path("tty").asBoolean(false)) {
        assertTrue(LAB.policy.authorize(GRANT, Use.action(Action.EXEC).in(pod, container)).isAllowed(),
            "allowed an interactive session the policy denies");
      }
    } else {
      Action action = sub.equals("portforward") ? Action.PORT_FORWARD : Action.EXEC;
      assertTrue(LAB.policy.authorize(GRANT, Use.action(action).in(pod, sub.equals("portforward") ? null : container))
          .isAllowed(), "allowed " + sub + " that the policy denies");
    }
  }
}
