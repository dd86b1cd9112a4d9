package dev.kubejit.store.kubernetes;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
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
import dev.kubejit.api.IncompatibleStoreException;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.api.Scope;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Maps a {@link RequestRecord} to an AccessRequest object's {@code spec} and {@code status} and
 * back; the field names here are the CRD's schema (deploy/crd-accessrequests.yaml), which
 * AccessRequestCrdTest checks.
 *
 * <p>{@code spec} holds what never changes (the request, the decision, the window) plus {@code
 * spec.initial}, the lifecycle as inserted: the API server ignores {@code status} on create, so
 * the insert is one atomic POST and a record whose status was never written is read from {@code
 * spec.initial}. Instants are ISO-8601 strings with full precision ({@link Instant#toString()}),
 * durations ISO-8601 ({@link Duration#toString()}), so a record survives the round trip exactly.
 * Decoding validates through the domain builders; anything they refuse, or a missing or mistyped
 * field, is a {@link MalformedObjectException} naming the field.
 */
final class Codec {
  /**
   * The payload format this code writes and the highest it reads, in {@code spec.format} and
   * {@code status.format}; a newer KubeJIT that changes the meaning of a field raises it.
   */
  static final int FORMAT = 1;

  private Codec() {}

  /** A stored object that does not decode to a valid record. */
  static final class MalformedObjectException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    MalformedObjectException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  static JsonObject spec(RequestRecord r) {
    AccessRequest q = r.request();
    JsonObject s = new JsonObject();
    s.addProperty("format", FORMAT);
    s.add("requester", identity(q.requester()));
    s.addProperty("role", q.role());
    s.addProperty("action", q.action().name());
    s.add("scope", scope(q.scope()));
    q.duration().ifPresent(d -> s.addProperty("duration", d.toString()));
    q.justification().ifPresent(j -> s.addProperty("justification", j));
    q.ticket().ifPresent(t -> s.addProperty("ticket", t));
    s.addProperty("strictDuration", q.strictDuration());
    s.addProperty("createdAt", r.createdAt().toString());
    s.addProperty("expiresAt", r.expiresAt().toString());
    s.add("decision", decision(r.decision()));
    s.add("initial", lifecycle(r));
    return s;
  }

  /** The part of {@link #spec} that no transition may change (all but {@code initial}). */
  static JsonObject immutablePart(JsonObject spec) {
    JsonObject copy = spec.deepCopy();
    copy.remove("initial");
    return copy;
  }

  static JsonObject lifecycle(RequestRecord r) {
    JsonObject s = new JsonObject();
    s.addProperty("format", FORMAT);
    s.addProperty("state", r.state().name());
    s.addProperty("version", r.version());
    JsonArray approvals = new JsonArray();
    for (Approval a : r.approvals()) {
      JsonObject o = new JsonObject();
      o.add("approver", identity(a.approver()));
      o.addProperty("at", a.at().toString());
      o.addProperty("approved", a.approved());
      a.comment().ifPresent(c -> o.addProperty("comment", c));
      approvals.add(o);
    }
    s.add("approvals", approvals);
    r.grant().ifPresent(g -> s.add("grant", grant(g)));
    r.endCause().ifPresent(c -> s.addProperty("endCause", c.name()));
    r.endedAt().ifPresent(t -> s.addProperty("endedAt", t.toString()));
    r.endedBy().ifPresent(i -> s.add("endedBy", identity(i)));
    r.endReason().ifPresent(t -> s.addProperty("endReason", t));
    s.addProperty("reviewRequired", r.reviewRequired());
    s.addProperty("windowEnd", windowEnd(r).toString());
    return s;
  }

  /** When the record stops mattering to expiry: the grant's end once activated, else the request's. */
  static Instant windowEnd(RequestRecord r) {
    return r.grant().map(Grant::expiresAt).orElse(r.expiresAt());
  }

  private static JsonObject identity(Identity i) {
    JsonObject o = new JsonObject();
    o.addProperty("user", i.user());
    JsonArray groups = new JsonArray();
    i.groups().forEach(groups::add);
    o.add("groups", groups);
    o.addProperty("source", i.source());
    return o;
  }

  private static JsonObject scope(Scope sc) {
    JsonObject o = new JsonObject();
    o.addProperty("cluster", sc.cluster());
    sc.namespace().ifPresent(n -> o.addProperty("namespace", n));
    sc.pod().ifPresent(p -> o.addProperty("pod", p));
    sc.node().ifPresent(n -> o.addProperty("node", n));
    return o;
  }

  private static JsonObject decision(Decision d) {
    JsonObject o = new JsonObject();
    o.addProperty("outcome", d.outcome().name());
    o.addProperty("reason", d.reason());
    d.ruleId().ifPresent(v -> o.addProperty("ruleId", v));
    d.policyDigest().ifPresent(v -> o.addProperty("policyDigest", v));
    d.policyRevision().ifPresent(v -> o.addProperty("policyRevision", v));
    d.grantedDuration().ifPresent(v -> o.addProperty("grantedDuration", v.toString()));
    o.addProperty("durationClamped", d.durationClamped());
    d.approval().ifPresent(a -> {
      JsonObject ap = new JsonObject();
      JsonArray groups = new JsonArray();
      a.approverGroups().forEach(groups::add);
      ap.add("approverGroups", groups);
      ap.addProperty("minApprovals", a.minApprovals());
      o.add("approval", ap);
    });
    o.addProperty("breakGlass", d.breakGlass());
    d.rbacTemplate().ifPresent(v -> o.addProperty("rbacTemplate", v));
    return o;
  }

  private static JsonObject grant(Grant g) {
    JsonObject o = new JsonObject();
    o.addProperty("id", g.id().value());
    o.addProperty("requestId", g.requestId().value());
    o.add("holder", identity(g.holder()));
    o.addProperty("role", g.role());
    o.addProperty("action", g.action().name());
    o.add("scope", scope(g.scope()));
    o.addProperty("grantedAt", g.grantedAt().toString());
    o.addProperty("expiresAt", g.expiresAt().toString());
    g.rbacTemplate().ifPresent(v -> o.addProperty("rbacTemplate", v));
    o.addProperty("breakGlass", g.breakGlass());
    g.policyDigest().ifPresent(v -> o.addProperty("policyDigest", v));
    g.justification().ifPresent(v -> o.addProperty("justification", v));
    g.ticket().ifPresent(v -> o.addProperty("ticket", v));
    JsonArray creds = new JsonArray();
    for (CredentialRef c : g.credentials()) {
      JsonObject co = new JsonObject();
      co.addProperty("kind", c.kind().name());
      co.addProperty("id", c.id());
      co.addProperty("fingerprint", c.fingerprint());
      co.addProperty("notAfter", c.notAfter().toString());
      creds.add(co);
    }
    o.add("credentials", creds);
    return o;
  }

  // ---- decoding -------------------------------------------------------------------------------

  /**
   * Decodes an object: {@code status} when the store has written it, else {@code spec.initial}.
   *
   * @throws IncompatibleStoreException naming the object when a newer KubeJIT wrote it (a format
   *     above {@link #FORMAT}); nothing else is read
   * @throws MalformedObjectException naming the object and field when it is not a valid record
   */
  static RequestRecord decode(String name, JsonObject spec, JsonObject status) {
    requireFormat(name, spec, "spec");
    requireFormat(name, status, "status");
    String at = "spec";
    try {
      RequestId id = RequestId.parse(name);
      if (spec == null) {
        throw new IllegalArgumentException("field spec must be an object");
      }
      JsonObject s = spec;
      if (!s.has("format")) {
        throw new IllegalArgumentException("field format is required");
      }
      AccessRequest.Builder q = AccessRequest.builder()
          .requester(identity(obj(s, "requester")))
          .role(str(s, "role"))
          .action(Action.of(str(s, "action")))
          .scope(scope(obj(s, "scope")))
          .strictDuration(bool(s, "strictDuration"));
      String d = optStr(s, "duration");
      if (d != null) {
        q.duration(Duration.parse(d));
      }
      String j = optStr(s, "justification");
      if (j != null) {
        q.justification(j);
      }
      String t = optStr(s, "ticket");
      if (t != null) {
        q.ticket(t);
      }
      RequestRecord.Builder b = RequestRecord.builder().id(id).request(q.build())
          .decision(decision(obj(s, "decision")))
          .window(instant(s, "createdAt"), instant(s, "expiresAt"));
      JsonObject life = status;
      at = "status";
      if (life == null) {
        life = obj(s, "initial");
        at = "spec.initial";
      }
      if (!life.has("format")) {
        throw new IllegalArgumentException("field format is required");
      }
      b.state(RequestState.valueOf(str(life, "state")));
      b.version(life.get("version").getAsLong());
      List<Approval> approvals = new ArrayList<>();
      for (JsonElement e : arr(life, "approvals")) {
        JsonObject a = e.getAsJsonObject();
        Identity who = identity(obj(a, "approver"));
        Instant when = instant(a, "at");
        String comment = optStr(a, "comment");
        approvals.add(bool(a, "approved") ? Approval.approve(who, when, comment) : Approval.deny(who, when, comment));
      }
      b.approvals(approvals);
      if (life.has("grant")) {
        b.grant(grant(obj(life, "grant")));
      }
      String cause = optStr(life, "endCause");
      if (cause != null || life.has("endedAt") || life.has("endedBy") || life.has("endReason")) {
        b.ended(cause == null ? null : EndCause.valueOf(cause), optInstant(life, "endedAt"),
            life.has("endedBy") ? identity(obj(life, "endedBy")) : null, optStr(life, "endReason"));
      }
      b.reviewRequired(bool(life, "reviewRequired"));
      return b.build();
    } catch (RuntimeException e) {
      throw new MalformedObjectException("AccessRequest " + safe(name) + " does not decode (" + at + "): "
          + e.getClass().getSimpleName() + ": " + e.getMessage(), e);
    }
  }

  private static void requireFormat(String name, JsonObject part, String where) {
    if (part == null) {
      return;
    }
    JsonElement f = part.get("format");
    if (f != null && f.isJsonPrimitive() && ((JsonPrimitive) f).isNumber() && f.getAsLong() > FORMAT) {
      throw new IncompatibleStoreException("AccessRequest " + safe(name) + " was written by a newer KubeJIT: "
          + where + ".format " + f.getAsLong() + ", this code reads up to " + FORMAT + "; upgrade KubeJIT");
    }
  }

  private static Identity identity(JsonObject o) {
    List<String> groups = new ArrayList<>();
    for (JsonElement g : arr(o, "groups")) {
      groups.add(g.getAsString());
    }
    return Identity.of(str(o, "user"), groups).assertedBy(str(o, "source"));
  }

  private static Scope scope(JsonObject o) {
    String ns = optStr(o, "namespace");
    Scope sc = ns == null ? Scope.cluster(str(o, "cluster")) : Scope.namespace(str(o, "cluster"), ns);
    String pod = optStr(o, "pod");
    if (pod != null) {
      sc = sc.withPod(pod);
    }
    String node = optStr(o, "node");
    if (node != null) {
      sc = sc.withNode(node);
    }
    return sc;
  }

  private static Decision decision(JsonObject o) {
    Decision.Builder b = Decision.builder(Decision.Outcome.valueOf(str(o, "outcome")), str(o, "reason"))
        .ruleId(optStr(o, "ruleId"))
        .policy(optStr(o, "policyDigest"), optStr(o, "policyRevision"))
        .breakGlass(bool(o, "breakGlass"))
        .rbacTemplate(optStr(o, "rbacTemplate"));
    String gd = optStr(o, "grantedDuration");
    boolean clamped = bool(o, "durationClamped");
    if (gd != null) {
      b.grantedDuration(Duration.parse(gd), clamped);
    } else if (clamped) {
      throw new IllegalArgumentException("durationClamped without grantedDuration");
    }
    if (o.has("approval")) {
      JsonObject a = obj(o, "approval");
      List<String> groups = new ArrayList<>();
      for (JsonElement g : arr(a, "approverGroups")) {
        groups.add(g.getAsString());
      }
      b.approval(ApprovalRequirement.of(groups, a.get("minApprovals").getAsInt()));
    }
    return b.build();
  }

  private static Grant grant(JsonObject o) {
    List<CredentialRef> creds = new ArrayList<>();
    for (JsonElement e : arr(o, "credentials")) {
      JsonObject c = e.getAsJsonObject();
      creds.add(CredentialRef.of(CredentialKind.valueOf(str(c, "kind")), str(c, "id"), str(c, "fingerprint"),
          instant(c, "notAfter")));
    }
    return Grant.builder().id(GrantId.parse(str(o, "id"))).requestId(RequestId.parse(str(o, "requestId")))
        .holder(identity(obj(o, "holder"))).role(str(o, "role")).action(Action.of(str(o, "action")))
        .scope(scope(obj(o, "scope"))).window(instant(o, "grantedAt"), instant(o, "expiresAt"))
        .rbacTemplate(optStr(o, "rbacTemplate")).breakGlass(bool(o, "breakGlass"))
        .policyDigest(optStr(o, "policyDigest")).why(optStr(o, "justification"), optStr(o, "ticket"))
        .credentials(creds).build();
  }

  private static JsonObject obj(JsonObject o, String field) {
    JsonElement e = o.get(field);
    if (e == null || !e.isJsonObject()) {
      throw new IllegalArgumentException("field " + field + " must be an object");
    }
    return e.getAsJsonObject();
  }

  private static JsonArray arr(JsonObject o, String field) {
    JsonElement e = o.get(field);
    if (e == null || !e.isJsonArray()) {
      throw new IllegalArgumentException("field " + field + " must be an array");
    }
    return e.getAsJsonArray();
  }

  private static String str(JsonObject o, String field) {
    String s = optStr(o, field);
    if (s == null) {
      throw new IllegalArgumentException("field " + field + " is required");
    }
    return s;
  }

  private static String optStr(JsonObject o, String field) {
    JsonElement e = o.get(field);
    if (e == null || e.isJsonNull()) {
      return null;
    }
    if (!e.isJsonPrimitive() || !((JsonPrimitive) e).isString()) {
      throw new IllegalArgumentException("field " + field + " must be a string");
    }
    return e.getAsString();
  }

  private static boolean bool(JsonObject o, String field) {
    JsonElement e = o.get(field);
    if (e == null || !e.isJsonPrimitive() || !((JsonPrimitive) e).isBoolean()) {
      throw new IllegalArgumentException("field " + field + " must be a boolean");
    }
    return e.getAsBoolean();
  }

  private static Instant instant(JsonObject o, String field) {
    return Instant.parse(str(o, field));
  }

  private static Instant optInstant(JsonObject o, String field) {
    String s = optStr(o, field);
    return s == null ? null : Instant.parse(s);
  }

  /** An object name as it may appear in a message: printable ASCII, at most 64 characters. */
  static String safe(String s) {
    if (s == null) {
      return "<none>";
    }
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < s.length() && i < 64; i++) {
      char c = s.charAt(i);
      b.append(c >= 0x20 && c < 0x7f ? c : '?');
    }
    return b.toString();
  }
}
