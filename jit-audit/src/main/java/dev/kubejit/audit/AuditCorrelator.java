package dev.kubejit.audit;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.Grant;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Joins KubeJIT's audit log with the Kubernetes API server's audit log ({@code audit.k8s.io/v1}
 * {@code Event} JSON lines): for each grant, the API calls made under it inside its active window,
 * and every call made by a JIT identity outside any active window.
 *
 * <p>A grant's window is {@code [grantedAt, min(expiresAt, time of GRANT_EXPIRED / GRANT_REVOKED /
 * GRANT_RECONCILED))}, from the JIT log. A call belongs to a grant when it carries the grant's
 * per-grant group ({@code jit:grant:<id>}) and was received inside the window; a call by a JIT
 * identity (any group starting {@code jit:}) that carries no per-grant group belongs to a grant of
 * the same user whose window contains it. Every other call by a JIT identity is listed as outside
 * (after expiry, before activation, or an unknown grant). Calls by identities without a {@code jit:}
 * group are ignored. Per {@code auditID} the event of the latest stage is used ({@code
 * ResponseComplete} or {@code Panic} over {@code ResponseStarted} over {@code RequestReceived});
 * its {@code requestReceivedTimestamp} is the call's time.
 */
public final class AuditCorrelator {
  /** The prefix of KubeJIT's Kubernetes groups. */
  public static final String JIT_GROUP_PREFIX = "jit:";
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private AuditCorrelator() {}

  /**
   * One Kubernetes API call from the API server's audit log.
   *
   * @param time when the API server received it
   * @param auditId the API server's audit ID
   * @param user the authenticated user name
   * @param groups the authenticated groups
   * @param verb the Kubernetes verb ({@code get}, {@code list}, {@code create}, ...)
   * @param resource the resource, or null
   * @param subresource the subresource ({@code log}, {@code exec}, ...), or null
   * @param namespace the namespace, or null
   * @param name the object name, or null
   * @param requestUri the request URI
   * @param code the HTTP response code (0 if the event has none)
   */
  public record ApiCall(Instant time, String auditId, String user, List<String> groups, String verb, String resource,
      String subresource, String namespace, String name, String requestUri, int code) {
    /** Copies {@code groups} so the call is immutable. */
    public ApiCall {
      groups = List.copyOf(groups);
    }

    /** The resource with its subresource, e.g. {@code pods/log}. */
    public String resourcePath() {
      return resource == null ? "-" : subresource == null ? resource : resource + "/" + subresource;
    }
  }

  /**
   * A grant from the JIT log and the API calls made under it.
   *
   * @param grantId the grant's id
   * @param user the grant's holder
   * @param subjectGroup the grant's Kubernetes group ({@code jit:grant:<id>})
   * @param from when the grant became active
   * @param until when it stopped being active ({@link Instant#MAX} if the log shows no end)
   * @param endedBy the event type that ended it, or empty if the log shows no end
   * @param calls the calls made under it, by time
   */
  public record GrantUsage(String grantId, String user, String subjectGroup, Instant from, Instant until,
      Optional<String> endedBy, List<ApiCall> calls) {
    /** Copies {@code calls} so the usage is immutable. */
    public GrantUsage {
      calls = List.copyOf(calls);
    }
  }

  /**
   * The correlation.
   *
   * @param grants every grant in the JIT log, in activation order, with its calls
   * @param outside calls by JIT identities outside every active window, by time
   * @param kubeEvents how many final-stage Kubernetes audit events were read
   */
  public record Result(List<GrantUsage> grants, List<ApiCall> outside, long kubeEvents) {
    /** Copies the lists so the result is immutable. */
    public Result {
      grants = List.copyOf(grants);
      outside = List.copyOf(outside);
    }

    /** The usage of one grant. */
    public Optional<GrantUsage> grant(String grantId) {
      return grants.stream().filter(g -> g.grantId().equals(grantId)).findFirst();
    }
  }

  /**
   * Correlates the JIT audit files (in log order) with Kubernetes audit files.
   *
   * @throws AuditFormatException if a file is missing or holds a line that is not a record or
   *     event (a torn last line of either log is skipped: it may be mid-write)
   */
  public static Result correlate(List<Path> jitFiles, List<Path> kubeFiles) {
    requireNonNull(jitFiles, "jitFiles");
    requireNonNull(kubeFiles, "kubeFiles");
    Map<String, Window> grants = grants(jitFiles);
    Map<String, Window> byGroup = new HashMap<>();
    for (Window w : grants.values()) {
      byGroup.put(w.subjectGroup, w);
    }
    List<ApiCall> calls = kubeCalls(kubeFiles);
    List<ApiCall> outside = new ArrayList<>();
    for (ApiCall c : calls) {
      if (c.groups().stream().noneMatch(g -> g.startsWith(JIT_GROUP_PREFIX))) {
        continue;
      }
      Window match = null;
      boolean hasGrantGroup = false;
      for (String g : c.groups()) {
        if (g.startsWith(Grant.GROUP_PREFIX)) {
          hasGrantGroup = true;
          Window w = byGroup.get(g);
          if (w != null && w.contains(c.time())) {
            match = w;
            break;
          }
        }
      }
      if (match == null && !hasGrantGroup) {
        for (Window w : grants.values()) {
          if (w.user.equals(c.user()) && w.contains(c.time())) {
            match = w;
            break;
          }
        }
      }
      if (match == null) {
        outside.add(c);
      } else {
        match.calls.add(c);
      }
    }
    List<GrantUsage> usages = new ArrayList<>();
    for (Window w : grants.values()) {
      usages.add(new GrantUsage(w.grantId, w.user, w.subjectGroup, w.from, w.until, Optional.ofNullable(w.endedBy),
          w.calls));
    }
    return new Result(usages, outside, calls.size());
  }

  private static final class Window {
    final String grantId;
    final String user;
    final String subjectGroup;
    final Instant from;
    Instant until;
    String endedBy;
    final List<ApiCall> calls = new ArrayList<>();

    Window(String grantId, String user, String subjectGroup, Instant from, Instant until) {
      this.grantId = grantId;
      this.user = user;
      this.subjectGroup = subjectGroup;
      this.from = from;
      this.until = until;
    }

    boolean contains(Instant t) {
      return !t.isBefore(from) && t.isBefore(until);
    }
  }

  private static Map<String, Window> grants(List<Path> jitFiles) {
    Map<String, Window> grants = new LinkedHashMap<>();
    // Several replicas' logs may be given: take the events in time order (stable, so one log's
    // order is kept for equal times), so a grant ended by another replica is matched.
    List<AuditRecord> records = new ArrayList<>(AuditQuery.builder().build().run(jitFiles).records());
    records.sort(Comparator.comparing(AuditRecord::time));
    for (AuditRecord r : records) {
      AuditEvent e = r.event().orElseThrow();
      if (e.grantId().isEmpty()) {
        continue;
      }
      String id = e.grantId().get().value();
      if (e.type() == AuditEventType.GRANT_ACTIVATED) {
        String user = e.attributes().getOrDefault("requester", e.actor().map(a -> a.user()).orElse(""));
        String group = e.attributes().getOrDefault("subjectGroup", Grant.GROUP_PREFIX + id);
        Instant from = attrTime(e, "grantedAt", e.time(), r);
        Instant until = attrTime(e, "expiresAt", Instant.MAX, r);
        grants.put(id, new Window(id, user, group, from, until));
      } else if (e.type() == AuditEventType.GRANT_EXPIRED || e.type() == AuditEventType.GRANT_REVOKED
          || e.type() == AuditEventType.GRANT_RECONCILED) {
        Window w = grants.get(id);
        if (w != null && w.endedBy == null) {
          w.endedBy = e.type().name();
          if (e.time().isBefore(w.until)) {
            w.until = e.time();
          }
        }
      }
    }
    return grants;
  }

  private static Instant attrTime(AuditEvent e, String key, Instant dflt, AuditRecord r) {
    String v = e.attributes().get(key);
    if (v == null) {
      return dflt;
    }
    try {
      return Text.parseRfc3339(v, "attribute " + key);
    } catch (AuditFormatException ex) {
      throw new AuditFormatException("record " + r.seq() + ": " + ex.getMessage());
    }
  }

  private static int stageRank(String stage) {
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

  private static List<ApiCall> kubeCalls(List<Path> files) {
    Map<String, JsonNode> finalStage = new LinkedHashMap<>();
    try (LineReader r = new LineReader(files)) {
      for (LineReader.Line l = r.next(); l != null; l = r.next()) {
        if (l.bytes().length == 0 && l.terminated()) {
          continue;
        }
        JsonNode n;
        try {
          if (l.overlong()) {
            throw new IOException("line too long");
          }
          n = MAPPER.readTree(l.bytes());
        } catch (IOException e) {
          if (!l.terminated()) {
            continue; // the API server may be writing this line right now
          }
          throw new AuditFormatException(l.where() + " is not a JSON Kubernetes audit event");
        }
        if (n == null || !n.isObject() || !"Event".equals(n.path("kind").asText())
            || !"audit.k8s.io/v1".equals(n.path("apiVersion").asText())) {
          throw new AuditFormatException(l.where() + " is not an audit.k8s.io/v1 Event (apiVersion "
              + Text.quote(n == null ? null : n.path("apiVersion").asText(null)) + ", kind "
              + Text.quote(n == null ? null : n.path("kind").asText(null)) + ")");
        }
        String id = n.path("auditID").asText("");
        if (id.isEmpty()) {
          throw new AuditFormatException(l.where() + " has no auditID");
        }
        JsonNode old = finalStage.get(id);
        if (old == null || stageRank(n.path("stage").asText(null)) >= stageRank(old.path("stage").asText(null))) {
          finalStage.put(id, n);
        }
      }
    } catch (IOException e) {
      throw new AuditFormatException("cannot read Kubernetes audit files " + files + ": " + e, e);
    }
    List<ApiCall> calls = new ArrayList<>(finalStage.size());
    for (Map.Entry<String, JsonNode> en : finalStage.entrySet()) {
      JsonNode n = en.getValue();
      String ts = text(n, "requestReceivedTimestamp");
      if (ts == null) {
        ts = text(n, "stageTimestamp");
      }
      if (ts == null) {
        throw new AuditFormatException("Kubernetes audit event " + Text.quote(en.getKey()) + " has no timestamp");
      }
      JsonNode user = n.path("user");
      List<String> groups = new ArrayList<>();
      user.path("groups").forEach(g -> groups.add(g.asText()));
      JsonNode ref = n.path("objectRef");
      calls.add(new ApiCall(Text.parseRfc3339(ts, "requestReceivedTimestamp of " + en.getKey()), en.getKey(),
          user.path("username").asText(""), groups, text(n, "verb"), text(ref, "resource"), text(ref, "subresource"),
          text(ref, "namespace"), text(ref, "name"), text(n, "requestURI"), n.path("responseStatus").path("code").asInt(0)));
    }
    calls.sort(Comparator.comparing(ApiCall::time));
    return calls;
  }

  private static String text(JsonNode n, String field) {
    JsonNode v = n.get(field);
    return v == null || v.isNull() ? null : v.asText();
  }
}
