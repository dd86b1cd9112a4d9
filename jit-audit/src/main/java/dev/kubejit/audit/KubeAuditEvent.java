package dev.kubejit.audit;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One event of the Kubernetes API server's audit log: a JSON line of kind {@code Event}, API
 * version {@code audit.k8s.io/v1} (<a
 * href="https://kubernetes.io/docs/reference/config-api/apiserver-audit.v1/#audit-k8s-io-v1-Event">reference</a>),
 * reduced to the fields KubeJIT correlates and tests assert on. The one parser of that format in
 * KubeJIT: {@link AuditCorrelator} reads the API server's log with it, and tests read a test
 * control plane's log with it ({@code KubeControlPlane.awaitAuditEvents(KubeAuditEvent::parse, ...)}).
 *
 * @param auditId the request's audit ID, shared by all stages of one request
 * @param stage the stage, e.g. {@code ResponseComplete}
 * @param requestReceived when the API server received the request, or null if absent
 * @param stageTimestamp when this stage was reached, or null if absent
 * @param username the authenticated user name ({@code user.username}), or null
 * @param groups the authenticated groups ({@code user.groups})
 * @param verb the Kubernetes verb, e.g. {@code list}
 * @param requestUri the request URI including the query string
 * @param namespace the object's namespace, or null
 * @param resource the object's resource, e.g. {@code pods}, or null
 * @param subresource the object's subresource, e.g. {@code log}, or null
 * @param name the object's name, or null
 * @param code the HTTP response code, or 0 if the event carries none
 * @param annotations audit annotations such as {@code authorization.k8s.io/decision}
 */
public record KubeAuditEvent(String auditId, String stage, Instant requestReceived, Instant stageTimestamp, String username,
    List<String> groups, String verb, String requestUri, String namespace, String resource, String subresource, String name,
    int code, Map<String, String> annotations) {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final int MAX_LINE = 1 << 20;

  /** Copies {@code groups} and {@code annotations} so the event is immutable. */
  public KubeAuditEvent {
    groups = groups == null ? List.of() : List.copyOf(groups);
    annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
  }

  /**
   * Parses one line of the log.
   *
   * @throws AuditFormatException if the line is not a JSON {@code audit.k8s.io/v1} {@code Event}
   *     with an {@code auditID}, or a timestamp is not RFC 3339
   */
  public static KubeAuditEvent parse(String line) {
    if (line == null) {
      throw new AuditFormatException("a Kubernetes audit event line is required");
    }
    return parse(line.getBytes(UTF_8), "line");
  }

  static KubeAuditEvent parse(byte[] line, String where) {
    if (line.length > MAX_LINE) {
      throw new AuditFormatException(where + " is longer than " + MAX_LINE + " bytes");
    }
    JsonNode n;
    try {
      n = MAPPER.readTree(line);
    } catch (IOException e) {
      throw new AuditFormatException(where + " is not a JSON Kubernetes audit event");
    }
    if (n == null || !n.isObject() || !"Event".equals(n.path("kind").asText())
        || !"audit.k8s.io/v1".equals(n.path("apiVersion").asText())) {
      throw new AuditFormatException(where + " is not an audit.k8s.io/v1 Event (apiVersion "
          + Text.quote(n == null ? null : n.path("apiVersion").asText(null)) + ", kind "
          + Text.quote(n == null ? null : n.path("kind").asText(null)) + ")");
    }
    String id = text(n, "auditID");
    if (id == null || id.isEmpty()) {
      throw new AuditFormatException(where + " has no auditID");
    }
    JsonNode user = n.path("user");
    List<String> groups = new ArrayList<>();
    user.path("groups").forEach(g -> groups.add(g.asText()));
    JsonNode ref = n.path("objectRef");
    Map<String, String> annotations = new LinkedHashMap<>();
    n.path("annotations").properties().forEach(e -> annotations.put(e.getKey(), e.getValue().asText()));
    return new KubeAuditEvent(id, text(n, "stage"), time(n, "requestReceivedTimestamp", id), time(n, "stageTimestamp", id),
        text(user, "username"), groups, text(n, "verb"), text(n, "requestURI"), text(ref, "namespace"),
        text(ref, "resource"), text(ref, "subresource"), text(ref, "name"), n.path("responseStatus").path("code").asInt(0),
        annotations);
  }

  /** When the call happened: {@link #requestReceived} if present, else {@link #stageTimestamp}. */
  public Optional<Instant> time() {
    return Optional.ofNullable(requestReceived != null ? requestReceived : stageTimestamp);
  }

  /** How far the request got: 0 RequestReceived, 1 ResponseStarted, 2 ResponseComplete or Panic, -1 otherwise. */
  int stageRank() {
    if (stage == null) {
      return -1;
    }
    switch (stage) {
      case "RequestReceived":
        return 0;
      case "ResponseStarted":
        return 1;
      case "ResponseComplete":
      case "Panic":
        return 2;
      default:
        return -1;
    }
  }

  private static Instant time(JsonNode n, String field, String id) {
    String s = text(n, field);
    return s == null ? null : Text.parseRfc3339(s, field + " of " + id);
  }

  private static String text(JsonNode n, String field) {
    JsonNode v = n.get(field);
    return v == null || v.isNull() ? null : v.asText();
  }
}
