package dev.kubejit.store.jdbc;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Action;
import dev.kubejit.api.Approval;
import dev.kubejit.api.ApprovalRequirement;
import dev.kubejit.api.CredentialKind;
import dev.kubejit.api.CredentialRef;
import dev.kubejit.api.Decision;
import dev.kubejit.api.EndCause;
import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.Identity;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.Scope;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The JSON payload of one record, format {@link #FORMAT}.
 *
 * <p>Design notes: every field of {@link RequestRecord} and the values it holds is written
 * explicitly (no reflection), so renaming a Java field cannot silently change the stored form;
 * absent optionals are omitted; instants and durations are ISO-8601 text (nanosecond exact). A
 * reader refuses unknown formats before it looks at the payload (the store does that), and a
 * payload that does not rebuild into valid domain objects is reported as unreadable, never
 * half-filled. Format 1 readers ignore unknown fields, so a later format may add optional fields
 * without a format bump only if old readers can safely ignore them; anything else bumps the format.
 */
final class RecordCodec {
  /** The payload format this code writes and the highest it reads. */
  static final int FORMAT = 1;

  private static final ObjectMapper JSON = new ObjectMapper();

  private RecordCodec() {}

  static String encode(RequestRecord r) {
    ObjectNode o = JSON.createObjectNode();
    o.put("id", r.id().value());
    o.put("version", r.version());
    o.put("state", r.state().name());
    o.put("createdAt", r.createdAt().toString());
    o.put("expiresAt", r.expiresAt().toString());
    o.set("request", request(r.request()));
    o.set("decision", decision(r.decision()));
    ArrayNode approvals = o.putArray("approvals");
    for (Approval a : r.approvals()) {
      ObjectNode n = approvals.addObject();
      n.set("approver", identity(a.approver()));
      n.put("at", a.at().toString());
      n.put("approved", a.approved());
      a.comment().ifPresent(c -> n.put("comment", c));
    }
    r.grant().ifPresent(g -> o.set("grant", grant(g)));
    r.endCause().ifPresent(c -> o.put("endCause", c.name()));
    r.endedAt().ifPresent(t -> o.put("endedAt", t.toString()));
    r.endedBy().ifPresent(i -> o.set("endedBy", identity(i)));
    r.endReason().ifPresent(s -> o.put("endReason", s));
    o.put("reviewRequired", r.reviewRequired());
    try {
      return JSON.writeValueAsString(o);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot encode request " + r.id(), e);
    }
  }

  /**
   * Rebuilds a record.
   *
   * @throws IllegalArgumentException if the payload is not a valid record of format {@link #FORMAT}
   */
  static RequestRecord decode(String payload) {
    JsonNode o;
    try {
      o = JSON.readTree(payload);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("payload is not JSON: " + e.getOriginalMessage(), e);
    }
    if (o == null || !o.isObject()) {
      throw new IllegalArgumentException("payload is not a JSON object");
    }
    RequestRecord.Builder b = RequestRecord.builder()
        .id(RequestId.parse(text(o, "id")))
        .version(number(o, "version"))
        .state(RequestState.valueOf(text(o, "state")))
        .window(instant(o, "createdAt"), instant(o, "expiresAt"))
        .request(request(field(o, "request")))
        .decision(decision(field(o, "decision")))
        .reviewRequired(bool(o, "reviewRequired"));
    List<Approval> approvals = new ArrayList<>();
    for (JsonNode n : array(o, "approvals")) {
      Identity who = identity(field(n, "approver"));
      Instant at = instant(n, "at");
      String comment = optText(n, "comment");
      approvals.add(bool(n, "approved") ? Approval.approve(who, at, comment) : Approval.deny(who, at, comment));
    }
    b.approvals(approvals);
    if (o.has("grant")) {
      b.grant(grant(field(o, "grant")));
    }
    if (o.has("endCause")) {
      b.ended(EndCause.valueOf(text(o, "endCause")), o.has("endedAt") ? instant(o, "endedAt") : null,
          o.has("endedBy") ? identity(field(o, "endedBy")) : null, optText(o, "endReason"));
    }
    return b.build();
  }

  private static ObjectNode identity(Identity i) {
    ObjectNode n = JSON.createObjectNode();
    n.put("user", i.user());
    ArrayNode groups = n.putArray("groups");
    i.groups().forEach(groups::add);
    n.put("source", i.source());
    return n;
  }

  private static Identity identity(JsonNode n) {
    List<String> groups = new ArrayList<>();
    for (JsonNode g : array(n, "groups")) {
      if (!g.isTextual()) {
        throw new IllegalArgumentException("a group is not text");
      }
      groups.add(g.asText());
    }
    return Identity.of(text(n, "user"), groups).assertedBy(text(n, "source"));
  }

  private static ObjectNode scope(Scope s) {
    ObjectNode n = JSON.createObjectNode();
    n.put("cluster", s.cluster());
    s.namespace().ifPresent(v -> n.put("namespace", v));
    s.pod().ifPresent(v -> n.put("pod", v));
    s.node().ifPresent(v -> n.put("node", v));
    return n;
  }

  private static Scope scope(JsonNode n) {
    String ns = optText(n, "namespace");
    Scope s = ns == null ? Scope.cluster(text(n, "cluster")) : Scope.namespace(text(n, "cluster"), ns);
    String pod = optText(n, "pod");
    String node = optText(n, "node");
    if (pod != null) {
      s = s.withPod(pod);
    }
    if (node != null) {
      s = s.withNode(node);
    }
    return s;
  }

  private static ObjectNode request(AccessRequest r) {
    ObjectNode n = JSON.createObjectNode();
    n.set("requester", identity(r.requester()));
    n.put("role", r.role());
    n.put("action", r.action().name());
    n.set("scope", scope(r.scope()));
    r.duration().ifPresent(d -> n.put("duration", d.toString()));
    r.justification().ifPresent(v -> n.put("justification", v));
    r.ticket().ifPresent(v -> n.put("ticket", v));
    n.put("strictDuration", r.strictDuration());
    return n;
  }

  private static AccessRequest request(JsonNode n) {
    AccessRequest.Builder b = AccessRequest.builder().requester(identity(field(n, "requester")))
        .role(text(n, "role")).action(Action.of(text(n, "action"))).scope(scope(field(n, "scope")))
        .strictDuration(bool(n, "strictDuration"));
    if (n.has("duration")) {
      b.duration(duration(n, "duration"));
    }
    String justification = optText(n, "justification");
    if (justification != null) {
      b.justification(justification);
    }
    String ticket = optText(n, "ticket");
    if (ticket != null) {
      b.ticket(ticket);
    }
    return b.build();
  }

  private static ObjectNode decision(Decision d) {
    ObjectNode n = JSON.createObjectNode();
    n.put("outcome", d.outcome().name());
    n.put("reason", d.reason());
    d.ruleId().ifPresent(v -> n.put("ruleId", v));
    d.policyDigest().ifPresent(v -> n.put("policyDigest", v));
    d.policyRevision().ifPresent(v -> n.put("policyRevision", v));
    d.grantedDuration().ifPresent(v -> n.put("grantedDuration", v.toString()));
    n.put("durationClamped", d.durationClamped());
    d.approval().ifPresent(a -> {
      ObjectNode an = n.putObject("approval");
      ArrayNode groups = an.putArray("approverGroups");
      a.approverGroups().forEach(groups::add);
      an.put("minApprovals", a.minApprovals());
    });
    n.put("breakGlass", d.breakGlass());
    d.rbacTemplate().ifPresent(v -> n.put("rbacTemplate", v));
    return n;
  }

  private static Decision decision(JsonNode n) {
    Decision.Builder b = Decision.builder(Decision.Outcome.valueOf(text(n, "outcome")), text(n, "reason"))
        .ruleId(optText(n, "ruleId")).policy(optText(n, "policyDigest"), optText(n, "policyRevision"))
        .breakGlass(bool(n, "breakGlass")).rbacTemplate(optText(n, "rbacTemplate"));
    if (n.has("grantedDuration")) {
      b.grantedDuration(duration(n, "grantedDuration"), bool(n, "durationClamped"));
    } else if (bool(n, "durationClamped")) {
      throw new IllegalArgumentException("durationClamped without grantedDuration");
    }
    if (n.has("approval")) {
      JsonNode a = field(n, "approval");
      List<String> groups = new ArrayList<>();
      array(a, "approverGroups").forEach(g -> groups.add(g.asText()));
      b.approval(ApprovalRequirement.of(groups, (int) number(a, "minApprovals")));
    }
    return b.build();
  }

  private static ObjectNode grant(Grant g) {
    ObjectNode n = JSON.createObjectNode();
    n.put("id", g.id().value());
    n.put("requestId", g.requestId().value());
    n.set("holder", identity(g.holder()));
    n.put("role", g.role());
    n.put("action", g.action().name());
    n.set("scope", scope(g.scope()));
    n.put("grantedAt", g.grantedAt().toString());
    n.put("expiresAt", g.expiresAt().toString());
    g.rbacTemplate().ifPresent(v -> n.put("rbacTemplate", v));
    n.put("breakGlass", g.breakGlass());
    g.policyDigest().ifPresent(v -> n.put("policyDigest", v));
    g.justification().ifPresent(v -> n.put("justification", v));
    g.ticket().ifPresent(v -> n.put("ticket", v));
    ArrayNode creds = n.putArray("credentials");
    for (CredentialRef c : g.credentials()) {
      ObjectNode cn = creds.addObject();
      cn.put("kind", c.kind().name());
      cn.put("id", c.id());
      cn.put("fingerprint", c.fingerprint());
      cn.put("notAfter", c.notAfter().toString());
    }
    return n;
  }

  private static Grant grant(JsonNode n) {
    List<CredentialRef> creds = new ArrayList<>();
    for (JsonNode c : array(n, "credentials")) {
      creds.add(CredentialRef.of(CredentialKind.valueOf(text(c, "kind")), text(c, "id"), text(c, "fingerprint"),
          instant(c, "notAfter")));
    }
    return Grant.builder().id(GrantId.parse(text(n, "id"))).requestId(RequestId.parse(text(n, "requestId")))
        .holder(identity(field(n, "holder"))).role(text(n, "role")).action(Action.of(text(n, "action")))
        .scope(scope(field(n, "scope"))).window(instant(n, "grantedAt"), instant(n, "expiresAt"))
        .rbacTemplate(optText(n, "rbacTemplate")).breakGlass(bool(n, "breakGlass"))
        .policyDigest(optText(n, "policyDigest")).why(optText(n, "justification"), optText(n, "ticket"))
        .credentials(creds).build();
  }

  private static JsonNode field(JsonNode n, String name) {
    JsonNode v = n.get(name);
    if (v == null || v.isNull()) {
      throw new IllegalArgumentException("missing field " + name);
    }
    return v;
  }

  private static String text(JsonNode n, String name) {
    JsonNode v = field(n, name);
    if (!v.isTextual()) {
      throw new IllegalArgumentException("field " + name + " is not text");
    }
    return v.asText();
  }

  private static String optText(JsonNode n, String name) {
    return n.has(name) && !n.get(name).isNull() ? text(n, name) : null;
  }

  private static long number(JsonNode n, String name) {
    JsonNode v = field(n, name);
    if (!v.isIntegralNumber() || !v.canConvertToLong()) {
      throw new IllegalArgumentException("field " + name + " is not an integer");
    }
    return v.asLong();
  }

  private static boolean bool(JsonNode n, String name) {
    JsonNode v = field(n, name);
    if (!v.isBoolean()) {
      throw new IllegalArgumentException("field " + name + " is not a boolean");
    }
    return v.asBoolean();
  }

  private static ArrayNode array(JsonNode n, String name) {
    JsonNode v = field(n, name);
    if (!v.isArray()) {
      throw new IllegalArgumentException("field " + name + " is not an array");
    }
    return (ArrayNode) v;
  }

  private static Instant instant(JsonNode n, String name) {
    return Instant.parse(text(n, name));
  }

  private static Duration duration(JsonNode n, String name) {
    return Duration.parse(text(n, name));
  }
}
