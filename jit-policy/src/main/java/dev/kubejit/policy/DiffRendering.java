package dev.kubejit.policy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kubejit.policy.PolicyDiff.Change;
import dev.kubejit.policy.PolicyDiff.Flip;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Text, Markdown and JSON forms of a {@link PolicyDiff}. */
final class DiffRendering {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private DiffRendering() {}

  private static String name(Policy p) {
    return p.name() + " sha256:" + p.digest().substring(0, 12) + p.revision().map(r -> " @" + r).orElse("");
  }

  private static String verdict(PolicyDiff d) {
    if (d.changes().isEmpty() && d.flips().isEmpty()) {
      return "no change in access";
    }
    return d.widens() ? "WIDENS access: a second reviewer should approve" : "narrows access only";
  }

  static String text(PolicyDiff d) {
    StringBuilder sb = new StringBuilder();
    sb.append("policy diff ").append(name(d.oldPolicy())).append(" -> ").append(name(d.newPolicy())).append('\n');
    for (Change c : d.changes()) {
      sb.append(String.format("%-8s %s %s: %s", c.effect(), c.role(), c.aspect(), c.summary()));
      c.example().ifPresent(e -> sb.append("\n         e.g. ").append(e));
      sb.append('\n');
    }
    if (d.replayed()) {
      sb.append("replayed ").append(d.replayedRequests()).append(" request and ").append(d.replayedCommands())
          .append(" command decision(s) under the new policy (").append(d.skippedRecords())
          .append(" broker decision(s) skipped)").append('\n');
      if (d.flips().isEmpty()) {
        sb.append("  no recorded decision would change\n");
      }
      for (Flip f : d.flips()) {
        sb.append("  ").append(f.subject()).append("s ").append(f.kind().label()).append(": ").append(f.count())
            .append(" (").append(joinCounts(f.countsByRole())).append(")\n");
        f.top().forEach((s, n) -> sb.append("    ").append(n).append("× ").append(s).append('\n'));
      }
    }
    sb.append(verdict(d)).append('\n');
    return sb.toString();
  }

  private static String joinCounts(Map<String, Long> m) {
    List<String> parts = new ArrayList<>();
    m.forEach((k, v) -> parts.add(k + ": " + v));
    return String.join(", ", parts);
  }

  static String markdown(PolicyDiff d) {
    StringBuilder sb = new StringBuilder();
    sb.append("### Policy diff: ").append(d.widens() ? "⚠️ widens access" : d.changes().isEmpty() && d.flips().isEmpty()
        ? "no change in access" : "narrows access only").append("\n\n");
    sb.append("`").append(name(d.oldPolicy())).append("` → `").append(name(d.newPolicy())).append("`\n\n");
    if (!d.changes().isEmpty()) {
      sb.append("| Effect | Role | Aspect | Change | Example |\n|---|---|---|---|---|\n");
      for (Change c : d.changes()) {
        sb.append("| ").append(c.effect()).append(" | ").append(cell(c.role())).append(" | ").append(cell(c.aspect()))
            .append(" | ").append(cell(c.summary())).append(" | ")
            .append(c.example().map(e -> "`" + e.replace("`", "'").replace("|", "\\|") + "`").orElse(""))
            .append(" |\n");
      }
      sb.append('\n');
    }
    if (d.replayed()) {
      sb.append("**Replay of recorded decisions:** ").append(d.replayedRequests()).append(" requests, ")
          .append(d.replayedCommands()).append(" commands (").append(d.skippedRecords())
          .append(" broker decisions skipped).\n\n");
      if (d.flips().isEmpty()) {
        sb.append("No recorded decision would change.\n");
      } else {
        sb.append("| Subject | Change | Count | Per role | Most frequent |\n|---|---|---|---|---|\n");
        for (Flip f : d.flips()) {
          List<String> top = new ArrayList<>();
          f.top().forEach((s, n) -> top.add(n + "× `" + s.replace("`", "'").replace("|", "\\|") + "`"));
          sb.append("| ").append(f.subject()).append(" | ").append(f.kind().label()).append(" | ").append(f.count())
              .append(" | ").append(cell(joinCounts(f.countsByRole()))).append(" | ").append(String.join("<br>", top))
              .append(" |\n");
        }
      }
    }
    return sb.toString();
  }

  private static String cell(String s) {
    return s.replace("|", "\\|").replace("\n", " ");
  }

  static String json(PolicyDiff d) {
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("old", policy(d.oldPolicy()));
    root.put("new", policy(d.newPolicy()));
    root.put("widens", d.widens());
    List<Object> changes = new ArrayList<>();
    for (Change c : d.changes()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("effect", c.effect().name());
      m.put("role", c.role());
      m.put("aspect", c.aspect());
      m.put("summary", c.summary());
      c.example().ifPresent(e -> m.put("example", e));
      changes.add(m);
    }
    root.put("changes", changes);
    if (d.replayed()) {
      Map<String, Object> replay = new LinkedHashMap<>();
      replay.put("requests", d.replayedRequests());
      replay.put("commands", d.replayedCommands());
      replay.put("skipped", d.skippedRecords());
      List<Object> flips = new ArrayList<>();
      for (Flip f : d.flips()) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("subject", f.subject());
        m.put("kind", f.kind().name());
        m.put("widening", f.kind().widening());
        m.put("count", f.count());
        m.put("byRole", f.countsByRole());
        List<Object> top = new ArrayList<>();
        f.top().forEach((s, n) -> top.add(Map.of("subject", s, "count", n)));
        m.put("top", top);
        flips.add(m);
      }
      replay.put("flips", flips);
      root.put("replay", replay);
    }
    try {
      return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot render the diff as JSON", e);
    }
  }

  private static Map<String, Object> policy(Policy p) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", p.name());
    m.put("source", p.source());
    m.put("sha256", p.digest());
    p.revision().ifPresent(r -> m.put("revision", r));
    return m;
  }
}
