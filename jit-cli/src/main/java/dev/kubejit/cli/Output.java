package dev.kubejit.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Renders the API's objects for the terminal: {@code table} (the default: one line per object,
 * every cell escaped to printable ASCII so a crafted value cannot move the cursor or fake a line),
 * {@code json} (the API's own JSON, pretty-printed) or {@code yaml}.
 */
final class Output {
  enum Format { table, json, yaml }

  /** A table column: its heading and how a cell is taken from an object. */
  record Column(String heading, Function<JsonNode, String> cell) {}

  static final List<Column> REQUEST_COLUMNS = List.of(
      new Column("ID", n -> text(n, "id")),
      new Column("STATE", n -> text(n, "state")),
      new Column("REQUESTER", n -> text(n.path("requester"), "user")),
      new Column("ROLE", n -> text(n, "role")),
      new Column("ACTION", n -> text(n, "action")),
      new Column("CLUSTER", n -> text(n, "cluster")),
      new Column("NAMESPACE", n -> text(n, "namespace")),
      new Column("POD", n -> text(n, "pod")),
      new Column("TICKET", n -> text(n, "ticket")),
      new Column("EXPIRES", n -> text(n, "expiresAt")));

  static final List<Column> GRANT_COLUMNS = List.of(
      new Column("ID", n -> text(n, "id")),
      new Column("REQUEST", n -> text(n, "requestId")),
      new Column("HOLDER", n -> text(n, "holder")),
      new Column("ROLE", n -> text(n, "role")),
      new Column("ACTION", n -> text(n, "action")),
      new Column("CLUSTER", n -> text(n, "cluster")),
      new Column("NAMESPACE", n -> text(n, "namespace")),
      new Column("POD", n -> text(n, "pod")),
      new Column("EXPIRES", n -> text(n, "expiresAt")));

  private static final YAMLMapper YAML = new YAMLMapper(new YAMLFactory()
      .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER).enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));

  private Output() {}

  static void print(PrintWriter out, Format format, JsonNode value, List<JsonNode> rows, List<Column> columns) {
    switch (format) {
      case json:
        try {
          out.println(BrokerClient.JSON.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(value));
        } catch (JsonProcessingException e) {
          throw new IllegalStateException(e);
        }
        break;
      case yaml:
        out.print(yaml(value));
        break;
      default:
        out.print(table(rows, columns));
    }
    out.flush();
  }

  static String yaml(Object value) {
    try {
      return YAML.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Left-aligned columns separated by three spaces; an empty value is shown as {@code -}. */
  static String table(List<JsonNode> rows, List<Column> columns) {
    List<String[]> lines = new ArrayList<>();
    lines.add(columns.stream().map(Column::heading).toArray(String[]::new));
    for (JsonNode r : rows) {
      lines.add(columns.stream().map(c -> {
        String v = c.cell().apply(r);
        return v.isEmpty() ? "-" : CredentialCommand.oneLine(v).replace(' ', '_');
      }).toArray(String[]::new));
    }
    int[] width = new int[columns.size()];
    for (String[] l : lines) {
      for (int i = 0; i < l.length; i++) {
        width[i] = Math.max(width[i], l[i].length());
      }
    }
    StringBuilder sb = new StringBuilder();
    for (String[] l : lines) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < l.length; i++) {
        line.append(l[i]);
        if (i < l.length - 1) {
          line.append(" ".repeat(width[i] - l[i].length() + 3));
        }
      }
      sb.append(line.toString().stripTrailing()).append('\n');
    }
    return sb.toString();
  }

  static String text(JsonNode n, String field) {
    JsonNode v = n.path(field);
    return v.isMissingNode() || v.isNull() ? "" : v.asText();
  }

  /** A field as one printable line ({@link CredentialCommand#oneLine}). */
  static String safe(JsonNode n, String field) {
    return CredentialCommand.oneLine(text(n, field));
  }

  static List<JsonNode> items(JsonNode list) {
    List<JsonNode> out = new ArrayList<>();
    list.path("items").forEach(out::add);
    return out;
  }

  /** One request as a short paragraph: id, state, scope, the decision and how it ended. */
  static String describe(JsonNode r) {
    StringBuilder sb = new StringBuilder();
    sb.append("request ").append(safe(r, "id")).append(' ').append(safe(r, "state")).append(": ")
        .append(safe(r, "role")).append(' ').append(safe(r, "action")).append(" in ")
        .append(safe(r, "cluster")).append('/').append(safe(r, "namespace"));
    if (!safe(r, "pod").isEmpty()) {
      sb.append(" pod ").append(safe(r, "pod"));
    }
    sb.append(" for ").append(safe(r.path("requester"), "user"));
    JsonNode d = r.path("decision");
    if (!d.isMissingNode()) {
      sb.append("\n  decision: ").append(safe(d, "outcome"));
      if (!safe(d, "reason").isEmpty()) {
        sb.append(" (").append(safe(d, "reason")).append(')');
      }
      if (safe(d, "reason").isEmpty() && d.path("approvalsRequired").asInt(0) > 0) {
        List<String> groups = new ArrayList<>();
        d.path("approverGroups").forEach(g -> groups.add(CredentialCommand.oneLine(g.asText())));
        sb.append("; needs ").append(d.path("approvalsRequired").asInt()).append(" approval(s) from ").append(String.join(", ", groups));
      }
    }
    for (JsonNode a : r.path("approvals")) {
      sb.append("\n  ").append(a.path("approved").asBoolean() ? "approved" : "denied").append(" by ")
          .append(safe(a, "approver")).append(" at ").append(safe(a, "at"));
      if (!safe(a, "comment").isEmpty()) {
        sb.append(": ").append(safe(a, "comment"));
      }
    }
    JsonNode g = r.path("grant");
    if (g.isObject()) {
      sb.append("\n  grant ").append(safe(g, "id")).append(" until ").append(safe(g, "expiresAt"));
    }
    JsonNode e = r.path("ended");
    if (e.isObject()) {
      sb.append("\n  ended: ").append(safe(e, "cause")).append(" at ").append(safe(e, "at"));
      if (!safe(e, "by").isEmpty()) {
        sb.append(" by ").append(safe(e, "by"));
      }
      if (!safe(e, "reason").isEmpty()) {
        sb.append(": ").append(safe(e, "reason"));
      }
    }
    if ("REVOKING".equals(safe(r, "state"))) {
      sb.append("\n  revoking: the grant authorises nothing; its RBAC is not removed yet and the broker retries"
          + " until it is (then REVOKED)");
    }
    return sb.toString();
  }
}
