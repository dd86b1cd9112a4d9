package dev.kubejit.chatops;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kubejit.api.AccessRequest;
import dev.kubejit.api.Approval;
import dev.kubejit.api.Decision;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import java.net.URI;
import java.time.Duration;
import java.util.Locale;

/**
 * Renders Slack messages (Block Kit) from request records.
 *
 * <p>Design notes: every piece of text that came from a person or a policy goes through {@link
 * #text}, which escapes Slack's mrkdwn control characters ({@code &}, {@code <}, {@code >}) so
 * that a ticket or reason cannot become a mention ({@code <!channel>}) or a link, and cuts it to
 * the limit of the field it goes into without splitting an escape. Text objects are {@code
 * verbatim}, so Slack does not turn bare URLs or channel names into links either. Only record
 * fields are shown: never a credential, and never the broker's free-form summary.
 */
final class Messages {
  static final ObjectMapper JSON = new ObjectMapper();
  /** Block Kit limits: section text, section field, header text, blocks per message, action id. */
  static final int SECTION_TEXT = 3000;
  static final int FIELD_TEXT = 2000;
  static final int MAX_BLOCKS = 50;
  static final int ACTION_ID = 255;
  static final String APPROVE = "kubejit.approve";
  static final String DENY = "kubejit.deny";

  private Messages() {}

  /** {@code s} escaped for mrkdwn and cut to at most {@code limit} characters (ending with an ellipsis if cut). */
  static String text(String s, int limit) {
    return cut(escape(s), limit);
  }

  /** {@code s} with {@code &}, {@code <} and {@code >} replaced by their mrkdwn entities. */
  static String escape(String s) {
    StringBuilder sb = new StringBuilder(s.length() + 16);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '&':
          sb.append("&amp;");
          break;
        case '<':
          sb.append("&lt;");
          break;
        case '>':
          sb.append("&gt;");
          break;
        default:
          sb.append(c);
      }
    }
    return sb.toString();
  }

  static ObjectNode mrkdwn(String alreadyEscaped) {
    ObjectNode t = JSON.createObjectNode();
    t.put("type", "mrkdwn");
    t.put("text", alreadyEscaped);
    t.put("verbatim", true);
    return t;
  }

  static ObjectNode section(String alreadyEscaped) {
    ObjectNode s = JSON.createObjectNode();
    s.put("type", "section");
    s.set("text", mrkdwn(cut(alreadyEscaped, SECTION_TEXT)));
    return s;
  }

  /** Cuts already escaped text at a limit without splitting an entity. */
  static String cut(String escaped, int limit) {
    if (escaped.length() <= limit) {
      return escaped;
    }
    int end = limit - 1;
    int amp = escaped.lastIndexOf('&', end);
    if (amp >= 0 && amp > end - 5 && escaped.indexOf(';', amp) >= end) {
      end = amp;
    }
    if (end > 0 && Character.isHighSurrogate(escaped.charAt(end - 1))) {
      end--;
    }
    return escaped.substring(0, end) + "…";
  }

  static String duration(Duration d) {
    long m = d.toMinutes();
    return m % 60 == 0 ? m / 60 + "h" : m >= 60 ? m / 60 + "h" + m % 60 + "m" : m + "m";
  }

  static String link(URI base, RequestRecord r) {
    if (base == null) {
      return "`" + r.id() + "`";
    }
    String b = base.toString();
    return "<" + (b.endsWith("/") ? b : b + "/") + "requests/" + r.id() + "|" + r.id() + ">";
  }

  /** One line naming the request: who, what, where. */
  static String headline(RequestRecord r) {
    AccessRequest q = r.request();
    return "*" + escape(q.requester().user()) + "* asks for `" + escape(q.role()) + "` / `" + escape(q.action().toString())
        + "` in `" + escape(q.scope().toString()) + "`";
  }

  /** The message for a request: details, then buttons while it waits for approvers, else who decided. */
  static ObjectNode request(RequestRecord r, URI linkBase) {
    AccessRequest q = r.request();
    Decision d = r.decision();
    ArrayNode blocks = JSON.createArrayNode();
    String lead = (d.breakGlass() ? ":rotating_light: *Break-glass* " : ":lock: ") + headline(r);
    blocks.add(section(lead));
    ObjectNode fields = JSON.createObjectNode();
    fields.put("type", "section");
    ArrayNode f = fields.putArray("fields");
    f.add(mrkdwn(field("Requester", q.requester().user())));
    f.add(mrkdwn(field("Role / action", q.role() + " / " + q.action())));
    f.add(mrkdwn(field("Scope", q.scope().toString())));
    f.add(mrkdwn(field("Duration", d.grantedDuration().map(Messages::duration)
        .orElse(q.duration().map(Messages::duration).orElse("policy default"))
        + (d.durationClamped() ? " (clamped)" : ""))));
    f.add(mrkdwn(field("Ticket", q.ticket().orElse("none"))));
    f.add(mrkdwn(field("Policy rule", d.ruleId().orElse("default") + ": " + d.reason())));
    d.approval().ifPresent(a -> f.add(mrkdwn(field("Approvers", a.minApprovals() + " of " + String.join(", ", a.approverGroups())))));
    blocks.add(fields);
    blocks.add(section("*Justification*\n" + text(q.justification().orElse("none"), SECTION_TEXT - 20)));
    ObjectNode context = JSON.createObjectNode();
    context.put("type", "context");
    context.putArray("elements").add(mrkdwn("Request " + link(linkBase, r) + " · " + r.state().name().toLowerCase(Locale.ROOT)
        .replace('_', ' ')));
    blocks.add(context);
    if (r.state() == RequestState.PENDING_APPROVAL) {
      for (Approval a : r.approvals()) {
        blocks.add(section(":white_check_mark: approved by *" + escape(a.approver().user()) + "*"
            + a.comment().map(c -> ": " + text(c, 500)).orElse("")));
      }
      ObjectNode actions = JSON.createObjectNode();
      actions.put("type", "actions");
      actions.put("block_id", "kubejit.decide");
      ArrayNode el = actions.putArray("elements");
      el.add(button("Approve", APPROVE, r.id().toString(), "primary"));
      el.add(button("Deny", DENY, r.id().toString(), "danger"));
      blocks.add(actions);
    } else {
      blocks.add(section(outcome(r)));
    }
    while (blocks.size() > MAX_BLOCKS) {
      blocks.remove(blocks.size() - 2);
    }
    ObjectNode msg = JSON.createObjectNode();
    msg.put("text", cut(fallback(r), SECTION_TEXT));
    msg.set("blocks", blocks);
    return msg;
  }

  /** Who decided, or how the request ended. */
  static String outcome(RequestRecord r) {
    StringBuilder sb = new StringBuilder();
    for (Approval a : r.approvals()) {
      sb.append(a.approved() ? ":white_check_mark: Approved by *" : ":x: Denied by *").append(escape(a.approver().user()))
          .append('*').append(a.comment().map(c -> ": " + text(c, 500)).orElse("")).append('\n');
    }
    switch (r.state()) {
      case APPROVED:
        if (r.approvals().isEmpty()) {
          sb.append(":white_check_mark: Approved by policy\n");
        }
        break;
      case DENIED:
        if (r.approvals().isEmpty()) {
          sb.append(":x: Denied by policy: ").append(text(r.decision().reason(), 500)).append('\n');
        }
        break;
      case ACTIVE:
        sb.append(":key: Active until ").append(r.grant().orElseThrow().expiresAt()).append('\n');
        break;
      case REVOKING:
        sb.append(":hourglass: Revoked").append(r.endedBy().map(p -> " by *" + escape(p.user()) + "*").orElse(""))
            .append("; it authorises nothing, and its access is being removed (retried until done)\n");
        break;
      default:
        r.endCause().ifPresent(c -> sb.append(":stopwatch: Ended: ").append(c.name().toLowerCase(Locale.ROOT))
            .append(r.endedBy().map(p -> " by *" + escape(p.user()) + "*").orElse(""))
            .append(r.endReason().map(x -> ": " + text(x, 500)).orElse("")).append('\n'));
    }
    return sb.length() == 0 ? r.state().name() : sb.toString().strip();
  }

  static String fallback(RequestRecord r) {
    AccessRequest q = r.request();
    return escape(q.requester().user() + " asks for " + q.role() + "/" + q.action() + " in " + q.scope() + " ("
        + r.id() + ", " + r.state() + ")");
  }

  private static String field(String label, String value) {
    return "*" + label + "*\n" + text(value, FIELD_TEXT - label.length() - 4);
  }

  private static ObjectNode button(String label, String actionId, String value, String style) {
    if (actionId.length() > ACTION_ID) {
      throw new IllegalStateException("action_id longer than " + ACTION_ID);
    }
    ObjectNode b = JSON.createObjectNode();
    b.put("type", "button");
    ObjectNode t = b.putObject("text");
    t.put("type", "plain_text");
    t.put("text", label);
    b.put("action_id", actionId);
    b.put("value", value);
    b.put("style", style);
    return b;
  }

  /** A plain message (one section) with its fallback text. */
  static ObjectNode simple(String alreadyEscaped) {
    ObjectNode msg = JSON.createObjectNode();
    msg.put("text", cut(alreadyEscaped, SECTION_TEXT));
    msg.putArray("blocks").add(section(alreadyEscaped));
    return msg;
  }
}
