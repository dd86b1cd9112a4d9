package dev.kubejit.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One line of the kube-apiserver's JSON audit log, reduced to the fields tests assert on.
 *
 * @param auditId the request's audit ID (shared by all stages of one request)
 * @param stage the audit stage, e.g. {@code ResponseComplete}
 * @param timestamp the stage timestamp, or {@code null} if absent
 * @param username the authenticated user name ({@code user.username})
 * @param groups the authenticated user's groups ({@code user.groups})
 * @param verb the Kubernetes verb, e.g. {@code list}
 * @param requestUri the request URI including the query string
 * @param namespace the object's namespace, or {@code null}
 * @param resource the object's resource, e.g. {@code pods}, or {@code null}
 * @param subresource the object's subresource, or {@code null}
 * @param name the object's name, or {@code null}
 * @param code the HTTP response code, or {@code 0} if the event carries none
 * @param annotations audit annotations such as {@code authorization.k8s.io/decision}
 */
public record AuditEvent(
    String auditId,
    String stage,
    Instant timestamp,
    String username,
    List<String> groups,
    String verb,
    String requestUri,
    String namespace,
    String resource,
    String subresource,
    String name,
    int code,
    Map<String, String> annotations) {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Creates an event, copying {@code groups} and {@code annotations} so it is immutable. */
  public AuditEvent {
    groups = groups == null ? List.of() : List.copyOf(groups);
    annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
  }

  /** Reads every complete line of a JSON-lines audit log; a missing file yields an empty list. */
  static List<AuditEvent> readLog(Path file) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      return List.of();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read audit log " + file, e);
    }
    List<AuditEvent> events = new ArrayList<>(lines.size());
    for (String line : lines) {
      if (line.isBlank()) {
        continue;
      }
      try {
        events.add(parse(JSON.readTree(line)));
      } catch (IOException e) {
        // The apiserver may be mid-write on the last line; skip anything that does not parse.
      }
    }
    return List.copyOf(events);
  }

  static AuditEvent parse(JsonNode n) {
    JsonNode user = n.path("user");
    List<String> groups = new ArrayList<>();
    user.path("groups").forEach(g -> groups.add(g.asText()));
    JsonNode ref = n.path("objectRef");
    Map<String, String> annotations = new LinkedHashMap<>();
    n.path("annotations")
        .properties()
        .forEach(e -> annotations.put(e.getKey(), e.getValue().asText()));
    return new AuditEvent(
        text(n, "auditID"),
        text(n, "stage"),
        instant(text(n, "stageTimestamp")),
        text(user, "username"),
        groups,
        text(n, "verb"),
        text(n, "requestURI"),
        text(ref, "namespace"),
        text(ref, "resource"),
        text(ref, "subresource"),
        text(ref, "name"),
        n.path("responseStatus").path("code").asInt(0),
        annotations);
  }

  private static String text(JsonNode n, String field) {
    JsonNode v = n.get(field);
    return v == null || v.isNull() ? null : v.asText();
  }

  private static Instant instant(String s) {
    if (s == null) {
      return null;
    }
    try {
      return Instant.parse(s);
    } catch (DateTimeParseException e) {
      return null;
    }
  }
}
