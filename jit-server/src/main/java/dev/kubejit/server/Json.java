package dev.kubejit.server;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Approval;
import dev.kubejit.api.CredentialKind;
import dev.kubejit.api.Decision;
import dev.kubejit.api.Grant;
import dev.kubejit.api.Identity;
import dev.kubejit.api.IssuedCredential;
import dev.kubejit.api.RequestRecord;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/** JSON in and out of the HTTP API: strict reading of request bodies, and the contract's objects. */
final class Json {
  static final ObjectMapper MAPPER = JsonMapper.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .disable(JsonParser.Feature.ALLOW_COMMENTS)
      .build();

  /** Field names that would carry an identity; identity comes only from authentication. */
  static final Set<String> IDENTITY_FIELDS = Set.of("requester", "user", "identity", "approver", "groups", "holder");

  private static final Pattern PRIVATE_KEY = Pattern.compile(
      "-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----|PuTTY-User-Key-File|-----BEGIN OPENSSH PRIVATE KEY");

  private Json() {}

  /** Whether {@code text} contains something that looks like a private key. */
  static boolean looksLikePrivateKey(String text) {
    return PRIVATE_KEY.matcher(text).find();
  }

  /**
   * Parses a request body as one JSON object whose fields are all in {@code allowed}; an empty
   * body is an empty object.
   */
  static ObjectNode readObject(byte[] body, Set<String> allowed) {
    if (body.length == 0) {
      return MAPPER.createObjectNode();
    }
    JsonNode node;
    try {
      node = MAPPER.readTree(body);
    } catch (JsonProcessingException e) {
      throw ApiException.invalid("the body is not valid JSON (line " + e.getLocation().getLineNr() + ", column "
          + e.getLocation().getColumnNr() + "): expected one JSON object");
    } catch (java.io.IOException e) {
      throw ApiException.invalid("the body could not be read as JSON: expected one JSON object");
    }
    if (node == null || !node.isObject()) {
      throw ApiException.invalid("expected a JSON object, found " + (node == null ? "nothing" : node.getNodeType().name().toLowerCase()));
    }
    if (containsPrivateKey(node)) {
      throw new ApiException(400, "private_key_refused", "the body contains a private key; send only a CSR or a public "
          + "key: a private key never leaves the engineer's machine");
    }
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!allowed.contains(f)) {
        String why = IDENTITY_FIELDS.contains(f)
            ? "the identity comes from authentication, never from the body"
            : "expected only " + new java.util.TreeSet<>(allowed);
        throw new ApiException(400, "unknown_field", "unknown field \"" + SafeNames.clip(f) + "\": " + why);
      }
    }
    return (ObjectNode) node;
  }

  private static boolean containsPrivateKey(JsonNode node) {
    if (node.isTextual()) {
      return looksLikePrivateKey(node.textValue());
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (looksLikePrivateKey(e.getKey()) || containsPrivateKey(e.getValue())) {
        return true;
      }
    }
    if (node.isArray()) {
      for (JsonNode n : node) {
        if (containsPrivateKey(n)) {
          return true;
        }
      }
    }
    return false;
  }

  /** A required non-blank string field. */
  static String requiredText(ObjectNode body, String field) {
    return optionalText(body, field).orElseThrow(() -> ApiException.invalid("field \"" + field + "\" is required (a string)"));
  }

  /** An optional string field; present but not a non-blank string is refused. */
  static java.util.Optional<String> optionalText(ObjectNode body, String field) {
    JsonNode n = body.get(field);
    if (n == null || n.isNull()) {
      return java.util.Optional.empty();
    }
    if (!n.isTextual() || n.textValue().isBlank()) {
      throw ApiException.invalid("field \"" + field + "\" must be a non-empty string");
    }
    return java.util.Optional.of(n.textValue());
  }

  static byte[] write(JsonNode node) {
    try {
      return MAPPER.writeValueAsBytes(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write JSON", e);
    }
  }

  static ObjectNode error(String code, String message) {
    ObjectNode root = MAPPER.createObjectNode();
    root.putObject("error").put("code", code).put("message", message);
    return root;
  }

  static ObjectNode identity(Identity id) {
    ObjectNode o = MAPPER.createObjectNode();
    o.put("user", id.user());
    ArrayNode g = o.putArray("groups");
    id.groups().forEach(g::add);
    return o;
  }

  static ObjectNode request(RequestRecord r) {
    ObjectNode o = MAPPER.createObjectNode();
    AccessRequest q = r.request();
    o.put("id", r.id().value());
    o.put("state", r.state().name());
    o.set("requester", identity(q.requester()));
    o.put("role", q.role());
    o.put("action", q.action().name());
    o.put("cluster", q.scope().cluster());
    q.scope().namespace().ifPresent(ns -> o.put("namespace", ns));
    q.scope().pod().ifPresent(p -> o.put("pod", p));
    q.duration().ifPresent(d -> o.put("durationRequested", d.toString()));
    r.decision().grantedDuration().ifPresent(d -> o.put("durationGranted", d.toString()));
    q.ticket().ifPresent(t -> o.put("ticket", t));
    q.justification().ifPresent(j -> o.put("justification", j));
    o.put("breakGlass", r.decision().breakGlass());
    o.put("createdAt", time(r.createdAt()));
    o.put("expiresAt", time(r.expiresAt()));
    o.set("decision", decision(r.decision()));
    ArrayNode approvals = o.putArray("approvals");
    for (Approval a : r.approvals()) {
      ObjectNode an = approvals.addObject();
      an.put("approver", a.approver().user());
      an.put("approved", a.approved());
      an.put("at", time(a.at()));
      a.comment().ifPresent(c -> an.put("comment", c));
    }
    r.grant().ifPresent(g -> o.set("grant", grant(g)));
    r.endCause().ifPresent(c -> {
      ObjectNode e = o.putObject("ended");
      e.put("cause", c.name());
      r.endedAt().ifPresent(at -> e.put("at", time(at)));
      r.endedBy().ifPresent(by -> e.put("by", by.user()));
      r.endReason().ifPresent(reason -> e.put("reason", reason));
    });
    return o;
  }

  static ObjectNode decision(Decision d) {
    ObjectNode o = MAPPER.createObjectNode();
    o.put("outcome", d.outcome().name());
    d.ruleId().ifPresent(rule -> o.put("rule", rule));
    o.put("reason", d.reason());
    d.approval().ifPresent(a -> {
      o.put("approvalsRequired", a.minApprovals());
      ArrayNode groups = o.putArray("approverGroups");
      a.approverGroups().forEach(groups::add);
    });
    return o;
  }

  static ObjectNode grant(Grant g) {
    ObjectNode o = MAPPER.createObjectNode();
    o.put("id", g.id().value());
    o.put("requestId", g.requestId().value());
    o.put("holder", g.holder().user());
    o.put("role", g.role());
    o.put("action", g.action().name());
    o.put("cluster", g.scope().cluster());
    g.scope().namespace().ifPresent(ns -> o.put("namespace", ns));
    g.scope().pod().ifPresent(p -> o.put("pod", p));
    o.put("group", g.subjectGroup());
    o.put("grantedAt", time(g.grantedAt()));
    o.put("expiresAt", time(g.expiresAt()));
    o.put("breakGlass", g.breakGlass());
    return o;
  }

  static ObjectNode credential(IssuedCredential c) {
    ObjectNode o = MAPPER.createObjectNode();
    boolean ssh = c.ref().kind() == CredentialKind.SSH_USER_CERTIFICATE;
    o.put("kind", ssh ? "ssh" : "x509");
    o.put("certificate", c.material());
    if (!ssh) {
      X509Certificate cert = x509(c.material());
      if (cert != null) {
        o.put("notBefore", time(cert.getNotBefore().toInstant()));
      }
    }
    o.put("notAfter", time(c.ref().notAfter()));
    return o;
  }

  private static X509Certificate x509(String pem) {
    try {
      return (X509Certificate) CertificateFactory.getInstance("X.509")
          .generateCertificate(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
    } catch (CertificateException e) {
      return null;
    }
  }

  static String time(Instant t) {
    return t.toString();
  }
}
