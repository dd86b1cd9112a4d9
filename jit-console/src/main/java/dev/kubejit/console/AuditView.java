package dev.kubejit.console;

import static dev.kubejit.console.Html.esc;

import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.AuditEventType;
import dev.kubejit.api.Grant;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.audit.AuditCorrelator;
import dev.kubejit.audit.AuditFormatException;
import dev.kubejit.audit.AuditQuery;
import dev.kubejit.audit.AuditRecord;
import dev.kubejit.audit.FileAuditSink;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The audit pages: a grant's timeline (its KubeJIT events joined with the API server's calls made
 * under it, as {@link AuditCorrelator} computes them for {@code kubejit audit correlate}) and "who
 * used either path" ({@link AuditQuery} over the KubeJIT log, JIT and break-glass grants apart,
 * each with its calls). The logs are read on each page view.
 */
final class AuditView {
  static final int MAX_CALLS_SHOWN = 200;
  private final Path auditLog;
  private final List<Path> kubeLogs;

  AuditView(Path auditLog, List<Path> kubeLogs) {
    this.auditLog = auditLog;
    this.kubeLogs = List.copyOf(kubeLogs);
  }

  private record Entry(Instant time, String source, String html) {}

  String timeline(RequestRecord r, Grant g) {
    if (auditLog == null) {
      return "<p>No audit log is configured for the console.</p>";
    }
    List<Entry> entries = new ArrayList<>();
    String note = "";
    try {
      List<Path> jit = jitFiles();
      for (AuditRecord rec : AuditQuery.builder().build().run(jit).records()) {
        AuditEvent e = rec.event().orElseThrow();
        if (e.requestId().map(id -> id.equals(r.id())).orElse(false)) {
          entries.add(new Entry(e.time(), "KubeJIT", eventText(e)));
        }
      }
      List<Path> kube = kubeFiles();
      if (kube.isEmpty()) {
        note = "<p class=\"note\">No API-server audit log is configured (console.kubeAuditLogs), so only KubeJIT's"
            + " events are shown.</p>";
      } else {
        AuditCorrelator.Result c = AuditCorrelator.correlate(jit, kube);
        c.grant(g.id().value()).ifPresent(u -> u.calls().forEach(call -> entries.add(new Entry(call.time(),
            "API server", callText(call)))));
      }
    } catch (AuditFormatException e) {
      return "<p role=\"alert\">The audit logs could not be read: " + esc(e.getMessage()) + "</p>";
    }
    entries.sort(Comparator.comparing(Entry::time));
    StringBuilder b = new StringBuilder(note);
    b.append("<table class=\"timeline\"><caption>Events of request ").append(r.id().value())
        .append(" and API calls under grant ").append(g.id().value()).append("</caption>")
        .append("<thead><tr><th scope=\"col\">Time</th><th scope=\"col\">Source</th><th scope=\"col\">What</th></tr></thead><tbody>");
    for (Entry e : entries) {
      b.append("<tr class=\"").append(e.source().equals("API server") ? "api" : "jit").append("\"><td>")
          .append(Html.time(e.time())).append("</td><td>").append(e.source()).append("</td><td>").append(e.html())
          .append("</td></tr>");
    }
    return b.append("</tbody></table>").toString();
  }

  String whoForm(Form q) {
    return "<form method=\"get\" action=\"/who\" class=\"who\">"
        + field("who-user", "user", "User", q.get("user"), "e.g. alice")
        + field("who-namespace", "namespace", "Namespace", q.get("namespace"), "e.g. payments")
        + field("who-since", "since", "From (UTC, RFC 3339)", q.get("since"), "2026-01-01T09:00:00Z")
        + field("who-until", "until", "Until (UTC, RFC 3339)", q.get("until"), "2026-01-02T09:00:00Z")
        + "<button type=\"submit\">Search</button></form>";
  }

  private static String field(String id, String name, String label, String value, String placeholder) {
    return "<p><label for=\"" + id + "\">" + label + "</label> <input type=\"text\" id=\"" + id + "\" name=\"" + name
        + "\" value=\"" + esc(value) + "\" placeholder=\"" + esc(placeholder) + "\"></p>";
  }

  String who(Form q) {
    if (auditLog == null) {
      return "<p>No audit log is configured for the console.</p>";
    }
    AuditQuery query;
    try {
      AuditQuery.Builder b = AuditQuery.builder();
      if (q.nonBlank("user") != null) {
        b.user(q.nonBlank("user"));
      }
      if (q.nonBlank("namespace") != null) {
        b.namespace(q.nonBlank("namespace"));
      }
      if (q.nonBlank("since") != null) {
        b.since(instant(q.nonBlank("since"), "From"));
      }
      if (q.nonBlank("until") != null) {
        b.until(instant(q.nonBlank("until"), "Until"));
      }
      query = b.build();
    } catch (IllegalArgumentException e) {
      return "<p role=\"alert\">" + esc(e.getMessage()) + "</p>";
    }
    Map<String, AuditEvent> activated = new LinkedHashMap<>();
    Set<String> breakGlass = new HashSet<>();
    Map<String, List<AuditEvent>> uses = new LinkedHashMap<>();
    AuditCorrelator.Result correlation = null;
    try {
      List<Path> jit = jitFiles();
      for (AuditRecord rec : query.run(jit).records()) {
        AuditEvent e = rec.event().orElseThrow();
        if (e.grantId().isEmpty()) {
          continue;
        }
        String g = e.grantId().get().value();
        if (e.type() == AuditEventType.GRANT_ACTIVATED) {
          activated.put(g, e);
        } else if (e.type() == AuditEventType.BREAK_GLASS_USED) {
          breakGlass.add(g);
        } else if (e.type() == AuditEventType.USE_ALLOWED || e.type() == AuditEventType.USE_DENIED
            || e.type() == AuditEventType.COMMAND_ALLOWED || e.type() == AuditEventType.COMMAND_DENIED) {
          uses.computeIfAbsent(g, k -> new ArrayList<>()).add(e);
        }
      }
      List<Path> kube = kubeFiles();
      if (!kube.isEmpty()) {
        correlation = AuditCorrelator.correlate(jit, kube);
      }
    } catch (AuditFormatException e) {
      return "<p role=\"alert\">The audit logs could not be read: " + esc(e.getMessage()) + "</p>";
    }
    StringBuilder b = new StringBuilder();
    b.append("<p class=\"query\">").append(esc(query.toString())).append(": ").append(activated.size())
        .append(" grant(s) activated, ").append(breakGlass.size()).append(" of them break-glass.</p>");
    if (correlation == null) {
      b.append("<p class=\"note\">No API-server audit log is configured (console.kubeAuditLogs): the API calls are not"
          + " shown.</p>");
    }
    section(b, "Break-glass grants", true, activated, breakGlass, uses, correlation);
    section(b, "JIT grants", false, activated, breakGlass, uses, correlation);
    return b.toString();
  }

  private static void section(StringBuilder b, String title, boolean glass, Map<String, AuditEvent> activated,
      Set<String> breakGlass, Map<String, List<AuditEvent>> uses, AuditCorrelator.Result correlation) {
    b.append("<section class=\"").append(glass ? "break-glass" : "jit").append("\"><h2>").append(title).append("</h2>");
    int n = 0;
    for (Map.Entry<String, AuditEvent> a : activated.entrySet()) {
      if (breakGlass.contains(a.getKey()) != glass) {
        continue;
      }
      n++;
      AuditEvent e = a.getValue();
      String user = e.attributes().getOrDefault("requester", e.actor().map(x -> x.user()).orElse("-"));
      b.append("<article class=\"grant\"><h3>Grant <code>").append(esc(a.getKey())).append("</code> of ")
          .append(esc(user)).append(": ").append(esc(e.attributes().getOrDefault("role", "-"))).append(" / ")
          .append(esc(e.action().map(x -> x.name()).orElse("-"))).append(" in ")
          .append(esc(e.scope().map(WebConsole::scope).orElse("-"))).append("</h3><p>Active from ")
          .append(attrTime(e, "grantedAt")).append(" until ")
          .append(attrTime(e, "expiresAt"))
          .append(e.requestId().map(id -> " · <a href=\"/requests/" + id.value() + "\">request " + id.value() + "</a>")
              .orElse(""))
          .append("</p>");
      e.ticket().ifPresent(t -> b.append("<p>Ticket ").append(esc(t)).append("</p>"));
      e.justification().ifPresent(t -> b.append("<p>Justification: <span class=\"justification\">").append(esc(t))
          .append("</span></p>"));
      List<AuditEvent> u = uses.getOrDefault(a.getKey(), List.of());
      if (!u.isEmpty()) {
        b.append("<ul class=\"uses\">");
        u.forEach(x -> b.append("<li>").append(Html.time(x.time())).append(" ").append(eventText(x)).append("</li>"));
        b.append("</ul>");
      }
      if (correlation != null) {
        List<AuditCorrelator.ApiCall> calls = correlation.grant(a.getKey()).map(AuditCorrelator.GrantUsage::calls)
            .orElse(List.of());
        b.append("<table class=\"calls\"><caption>").append(calls.size()).append(" API call(s) under grant ")
            .append(esc(a.getKey())).append("</caption><thead><tr><th scope=\"col\">Time</th><th scope=\"col\">Call</th>")
            .append("</tr></thead><tbody>");
        calls.stream().limit(MAX_CALLS_SHOWN).forEach(c -> b.append("<tr><td>").append(Html.time(c.time()))
            .append("</td><td>").append(callText(c)).append("</td></tr>"));
        b.append("</tbody></table>");
      }
      b.append("</article>");
    }
    if (n == 0) {
      b.append("<p>None.</p>");
    }
    b.append("</section>");
  }

  private static String attrTime(AuditEvent e, String key) {
    String v = e.attributes().get(key);
    try {
      return v == null ? "-" : Html.time(Instant.parse(v));
    } catch (DateTimeParseException ex) {
      return esc(v);
    }
  }

  static String eventText(AuditEvent e) {
    StringBuilder b = new StringBuilder("<span class=\"event\">").append(e.type().name()).append("</span>");
    e.actor().ifPresent(a -> b.append(" by ").append(esc(a.user())));
    e.reason().ifPresent(r -> b.append(": ").append(esc(r)));
    String cmd = e.attributes().get("command");
    if (cmd != null) {
      b.append(" <code>").append(esc(cmd)).append("</code>");
    }
    return b.toString();
  }

  static String callText(AuditCorrelator.ApiCall c) {
    return "<code>" + esc(c.verb()) + " " + esc(c.resourcePath()) + " " + esc(c.namespace() == null ? "-" : c.namespace())
        + "/" + esc(c.name() == null ? "-" : c.name()) + "</code> → " + c.code() + " <span class=\"user\">"
        + esc(c.user()) + "</span>";
  }

  private List<Path> jitFiles() {
    return FileAuditSink.files(List.of(auditLog));
  }

  /** The configured API-server logs that exist (a log not yet written is not an error). */
  private List<Path> kubeFiles() {
    List<Path> out = new ArrayList<>();
    for (Path p : kubeLogs) {
      if (Files.isRegularFile(p)) {
        out.add(p);
      }
    }
    return out;
  }

  static Instant instant(String v, String what) {
    try {
      return OffsetDateTime.parse(v).toInstant();
    } catch (DateTimeParseException e) {
      try {
        return LocalDateTime.parse(v).toInstant(ZoneOffset.UTC);
      } catch (DateTimeParseException e2) {
        throw new IllegalArgumentException(what + " is not a time such as 2026-01-01T09:00:00Z: " + v);
      }
    }
  }

  @Override
  public String toString() {
    return "AuditView[" + auditLog + ", " + kubeLogs + "]";
  }
}
