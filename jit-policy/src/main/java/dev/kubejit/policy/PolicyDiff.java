package dev.kubejit.policy;

import static java.util.Objects.requireNonNull;

import dev.kubejit.api.AuditEvent;
import dev.kubejit.api.Decision;
import dev.kubejit.api.Use;
import dev.kubejit.policy.Model.ActionRule;
import dev.kubejit.policy.Model.Approval;
import dev.kubejit.policy.Model.CommandRule;
import dev.kubejit.policy.Model.Role;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What changes in access between two policies: a semantic diff for reviewers.
 *
 * <p>Compares, role by role, who may request, where (namespaces, clusters, cluster scope), which
 * actions with which approvals (auto or manual, how many approvers from which groups), the
 * justification and ticket rules, the duration ceilings, break-glass and the RBAC template; and the
 * command rules by <em>evaluating</em> both policies over command lines generated from the rules of
 * both (each path, a file below it, its sibling and parent, each option in each form, no operand,
 * one too many) and over an optional corpus, so every command change comes with an argv whose
 * outcome flips. With {@link Builder#against}, every request and command decision recorded in a
 * KubeJIT audit log is decided again under the new policy, and the decisions that would change are
 * counted per role with their most frequent subjects.
 *
 * <p>{@link #widens()} is true when anything may grant more access than before, including a change
 * whose direction cannot be proved (a new ticket pattern, another RBAC template): CI can ask for a
 * second reviewer then. Immutable.
 */
public final class PolicyDiff {
  /** The direction of a change. */
  public enum Effect {
    /** More access than before (or access with fewer conditions). */
    WIDENS,
    /** Less access than before (or access with more conditions). */
    NARROWS,
    /** Different, in a direction the diff cannot prove; reviewed like a widening. */
    CHANGES
  }

  /** How a recorded decision would change under the new policy. */
  public enum FlipKind {
    /** Was allowed, would be denied. */
    ALLOW_TO_DENY(false, "allow → deny"),
    /** Was denied, would be allowed. */
    DENY_TO_ALLOW(true, "deny → allow"),
    /** Was allowed without approval, would now need approval. */
    APPROVAL_NOW_NEEDED(false, "allow → needs approval"),
    /** Needed approval, would now be allowed without. */
    APPROVAL_NO_LONGER_NEEDED(true, "needs approval → allow"),
    /** Needed approval, would be denied. */
    NEEDS_APPROVAL_TO_DENY(false, "needs approval → deny"),
    /** Was denied, would be possible with approval. */
    DENY_TO_NEEDS_APPROVAL(true, "deny → needs approval");

    private final boolean widening;
    private final String label;

    FlipKind(boolean widening, String label) {
      this.widening = widening;
      this.label = label;
    }

    /** True if the new outcome grants more than the recorded one. */
    public boolean widening() {
      return widening;
    }

    /** A short label such as {@code deny → allow}. */
    public String label() {
      return label;
    }

    static FlipKind of(Decision.Outcome before, Decision.Outcome after) {
      if (before == after) {
        return null;
      }
      switch (before) {
        case ALLOW:
          return after == Decision.Outcome.DENY ? ALLOW_TO_DENY : APPROVAL_NOW_NEEDED;
        case NEEDS_APPROVAL:
          return after == Decision.Outcome.DENY ? NEEDS_APPROVAL_TO_DENY : APPROVAL_NO_LONGER_NEEDED;
        default:
          return after == Decision.Outcome.ALLOW ? DENY_TO_ALLOW : DENY_TO_NEEDS_APPROVAL;
      }
    }
  }

  /** One change of one role. */
  public static final class Change {
    private final String role;
    private final String aspect;
    private final Effect effect;
    private final String summary;
    private final String example;

    Change(String role, String aspect, Effect effect, String summary, String example) {
      this.role = role;
      this.aspect = aspect;
      this.effect = effect;
      this.summary = summary;
      this.example = example;
    }

    /** The role's name. */
    public String role() {
      return role;
    }

    /**
     * What changed: {@code role}, {@code requesters}, {@code namespaces}, {@code clusters}, {@code
     * clusterScope}, {@code actions.<name>}, {@code justification}, {@code maxDuration}, {@code
     * defaultDuration}, {@code breakGlass}, {@code accessHook}, {@code rbac} or {@code commands}.
     */
    public String aspect() {
      return aspect;
    }

    /** Whether it widens or narrows access. */
    public Effect effect() {
      return effect;
    }

    /** A one-line description naming the old and new values. */
    public String summary() {
      return summary;
    }

    /**
     * A concrete case whose outcome differs: for {@code commands} the argv as a shell-quoted line,
     * for namespaces and clusters a name, for groups a group.
     */
    public Optional<String> example() {
      return Optional.ofNullable(example);
    }

    @Override
    public String toString() {
      return effect + " " + role + " " + aspect + ": " + summary + (example == null ? "" : " (e.g. " + example + ")");
    }
  }

  /** Recorded decisions of one kind that would change the same way, with counts. */
  public static final class Flip {
    private final String subject;
    private final FlipKind kind;
    private final long count;
    private final Map<String, Long> byRole;
    private final Map<String, Long> top;

    Flip(String subject, FlipKind kind, long count, Map<String, Long> byRole, Map<String, Long> top) {
      this.subject = subject;
      this.kind = kind;
      this.count = count;
      this.byRole = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(byRole));
      this.top = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(top));
    }

    /** {@code request} or {@code command}. */
    public String subject() {
      return subject;
    }

    /** How the decisions change. */
    public FlipKind kind() {
      return kind;
    }

    /** How many recorded decisions change this way. */
    public long count() {
      return count;
    }

    /** The count per role, largest first. */
    public Map<String, Long> countsByRole() {
      return byRole;
    }

    /**
     * The five most frequent subjects, most frequent first: the command as recorded, or {@code
     * role/action in cluster/namespace}.
     */
    public Map<String, Long> top() {
      return top;
    }
  }

  private final Policy oldPolicy;
  private final Policy newPolicy;
  private final List<Change> changes;
  private final boolean replayed;
  private final long replayedRequests;
  private final long replayedCommands;
  private final long skipped;
  private final List<Flip> flips;

  private PolicyDiff(Builder b, List<Change> changes, Replay replay) {
    this.oldPolicy = b.oldPolicy;
    this.newPolicy = b.newPolicy;
    this.changes = List.copyOf(changes);
    this.replayed = replay != null;
    this.replayedRequests = replay == null ? 0 : replay.requests;
    this.replayedCommands = replay == null ? 0 : replay.commands;
    this.skipped = replay == null ? 0 : replay.skipped;
    this.flips = replay == null ? List.of() : List.copyOf(replay.flips());
  }

  /** Starts a comparison of {@code oldPolicy} with {@code newPolicy}. */
  public static Builder between(Policy oldPolicy, Policy newPolicy) {
    return new Builder(requireNonNull(oldPolicy, "oldPolicy"), requireNonNull(newPolicy, "newPolicy"));
  }

  /** The policy before. */
  public Policy oldPolicy() {
    return oldPolicy;
  }

  /** The policy after. */
  public Policy newPolicy() {
    return newPolicy;
  }

  /** Every change, by role in the new policy's order (removed roles last), then by aspect. */
  public List<Change> changes() {
    return changes;
  }

  /** True if audit records were replayed ({@link Builder#against}). */
  public boolean replayed() {
    return replayed;
  }

  /** Recorded request decisions decided again. */
  public long replayedRequests() {
    return replayedRequests;
  }

  /** Recorded command decisions decided again. */
  public long replayedCommands() {
    return replayedCommands;
  }

  /**
   * Recorded decisions not replayed: made by the broker rather than the policy (grant expired,
   * wrong holder, policy error) or without the fields a replay needs.
   */
  public long skippedRecords() {
    return skipped;
  }

  /** The recorded decisions that would change, grouped by subject and kind. */
  public List<Flip> flips() {
    return flips;
  }

  /**
   * True if the new policy may grant anything the old one did not: a change that {@link
   * Effect#WIDENS} or {@link Effect#CHANGES}, or a replayed decision that would now grant more.
   */
  public boolean widens() {
    return changes.stream().anyMatch(c -> c.effect() != Effect.NARROWS)
        || flips.stream().anyMatch(f -> f.kind().widening());
  }

  /** Renders the diff for a terminal. */
  public String toText() {
    return DiffRendering.text(this);
  }

  /** Renders the diff as Markdown, for a pull-request comment. */
  public String toMarkdown() {
    return DiffRendering.markdown(this);
  }

  /** Renders the diff as JSON (an object with {@code old}, {@code new}, {@code widens}, {@code changes}, {@code replay}). */
  public String toJson() {
    return DiffRendering.json(this);
  }

  @Override
  public String toString() {
    return "PolicyDiff{" + oldPolicy + " -> " + newPolicy + ", " + changes.size() + " change(s), "
        + (widens() ? "widens" : "narrows only") + "}";
  }

  /** Options of a comparison. */
  public static final class Builder {
    private final Policy oldPolicy;
    private final Policy newPolicy;
    private final List<Probe> corpus = new ArrayList<>();
    private List<AuditEvent> events;

    private Builder(Policy oldPolicy, Policy newPolicy) {
      this.oldPolicy = oldPolicy;
      this.newPolicy = newPolicy;
    }

    /**
     * Adds command lines (for example the committed allow and deny corpora) that are decided under
     * both policies for every role that exists in both, besides the lines generated from the rules.
     */
    public Builder corpus(Collection<String> commandLines) {
      for (String line : requireNonNull(commandLines, "commandLines")) {
        corpus.add(new Probe(requireNonNull(line, "command line"), Use.commandLine(line)));
      }
      return this;
    }

    /** Adds commands given as argv (no shell involved), probed like {@link #corpus}. */
    public Builder corpusArgv(Collection<? extends List<String>> argvs) {
      for (List<String> argv : requireNonNull(argvs, "argvs")) {
        corpus.add(new Probe(shellQuote(argv), Use.command(argv)));
      }
      return this;
    }

    /**
     * Replays recorded decisions under the new policy: {@code REQUEST_CREATED} events (the policy's
     * request decisions) and {@code COMMAND_ALLOWED}/{@code COMMAND_DENIED} events; other events are
     * ignored. May be called once.
     */
    public Builder against(Iterable<AuditEvent> recorded) {
      if (events != null) {
        throw new IllegalStateException("against(...) was already called with " + events.size() + " events");
      }
      List<AuditEvent> list = new ArrayList<>();
      for (AuditEvent e : requireNonNull(recorded, "recorded")) {
        list.add(requireNonNull(e, "event"));
      }
      events = list;
      return this;
    }

    /** Compares the two policies (and replays, if asked). */
    public PolicyDiff compute() {
      List<Change> changes = new ArrayList<>();
      Map<String, Role> before = new LinkedHashMap<>();
      oldPolicy.document().roles().forEach(r -> before.put(r.name(), r));
      Map<String, Role> after = new LinkedHashMap<>();
      newPolicy.document().roles().forEach(r -> after.put(r.name(), r));
      PolicyEngine oldEngine = PolicyEngine.of(oldPolicy);
      PolicyEngine newEngine = PolicyEngine.of(newPolicy);
      for (Role n : after.values()) {
        Role o = before.get(n.name());
        if (o == null) {
          changes.add(new Change(n.name(), "role", Effect.WIDENS, "role added: requesters "
              + n.requesters() + ", actions " + n.actions().keySet(), null));
          continue;
        }
        compareRole(o, n, changes);
        compareCommands(o, n, oldEngine, newEngine, corpus, changes);
      }
      for (Role o : before.values()) {
        if (!after.containsKey(o.name())) {
          changes.add(new Change(o.name(), "role", Effect.NARROWS, "role removed (requesters " + o.requesters()
              + ", actions " + o.actions().keySet() + ")", null));
        }
      }
      Replay replay = events == null ? null : new Replay(oldPolicy, newEngine, events);
      return new PolicyDiff(this, changes, replay);
    }
  }

  private static void compareRole(Role o, Role n, List<Change> out) {
    String r = n.name();
    groups(r, "requesters", "may request", o.requesters(), n.requesters(), out);
    globs(r, "namespaces", "namespace", o.namespaces(), n.namespaces(), out);
    if (o.clusters() != null || n.clusters() != null) {
      List<String> oc = o.clusters() == null ? List.of("*") : o.clusters();
      List<String> nc = n.clusters() == null ? List.of("*") : n.clusters();
      globs(r, "clusters", "cluster", oc, nc, out);
    }
    if (o.clusterScope() != n.clusterScope()) {
      out.add(new Change(r, "clusterScope", n.clusterScope() ? Effect.WIDENS : Effect.NARROWS,
          n.clusterScope() ? "cluster-wide requests are now allowed" : "cluster-wide requests are no longer allowed",
          null));
    }
    for (Map.Entry<String, ActionRule> e : n.actions().entrySet()) {
      ActionRule before = o.actions().get(e.getKey());
      String aspect = "actions." + e.getKey();
      if (before == null) {
        out.add(new Change(r, aspect, Effect.WIDENS, "action " + e.getKey() + " added (" + approval(e.getValue()) + ")",
            null));
      } else {
        compareAction(r, aspect, before, e.getValue(), out);
      }
    }
    for (Map.Entry<String, ActionRule> e : o.actions().entrySet()) {
      if (!n.actions().containsKey(e.getKey())) {
        out.add(new Change(r, "actions." + e.getKey(), Effect.NARROWS, "action " + e.getKey() + " removed (was "
            + approval(e.getValue()) + ")", null));
      }
    }
    compareJustification(r, o.justification(), n.justification(), out);
    int max = n.maxDuration().compareTo(o.maxDuration());
    if (max != 0) {
      out.add(new Change(r, "maxDuration", max > 0 ? Effect.WIDENS : Effect.NARROWS,
          "maximum duration " + o.maxDuration() + " → " + n.maxDuration(), null));
    }
    int def = n.defaultDuration().compareTo(o.defaultDuration());
    if (def != 0) {
      out.add(new Change(r, "defaultDuration", def > 0 ? Effect.WIDENS : Effect.NARROWS,
          "default duration " + o.defaultDuration() + " → " + n.defaultDuration(), null));
    }
    if (o.breakGlass() != n.breakGlass()) {
      out.add(new Change(r, "breakGlass", n.breakGlass() ? Effect.WIDENS : Effect.NARROWS, n.breakGlass()
          ? "now break-glass" + (n.commands().isEmpty() ? " (commands are not filtered)" : "")
          : "no longer break-glass", null));
    }
    if (!java.util.Objects.equals(o.accessHook(), n.accessHook())) {
      Effect e = o.accessHook() == null ? Effect.NARROWS : n.accessHook() == null ? Effect.WIDENS : Effect.CHANGES;
      out.add(new Change(r, "accessHook", e, "access hook " + hook(o.accessHook()) + " → " + hook(n.accessHook()), null));
    }
    if (!java.util.Objects.equals(o.rbacTemplate(), n.rbacTemplate())) {
      out.add(new Change(r, "rbac", Effect.CHANGES, "RBAC template " + orNone(o.rbacTemplate()) + " → "
          + orNone(n.rbacTemplate()) + " (compare the templates' rules)", null));
    }
  }

  private static String hook(Model.HookSpec h) {
    return h == null ? "(none)" : h.name() + " " + h.url() + " timeout " + h.timeout();
  }

  private static String orNone(String s) {
    return s == null ? "(none)" : s;
  }

  private static String approval(ActionRule a) {
    return a.approval() == Approval.AUTO ? "auto-approved"
        : "manual: " + a.minApprovals() + " of " + a.approvers();
  }

  private static void compareAction(String r, String aspect, ActionRule o, ActionRule n, List<Change> out) {
    if (o.approval() != n.approval()) {
      out.add(new Change(r, aspect, n.approval() == Approval.AUTO ? Effect.WIDENS : Effect.NARROWS,
          approval(o) + " → " + approval(n), null));
      return;
    }
    if (n.approval() == Approval.AUTO) {
      return;
    }
    if (o.minApprovals() != n.minApprovals()) {
      out.add(new Change(r, aspect, n.minApprovals() < o.minApprovals() ? Effect.WIDENS : Effect.NARROWS,
          "approvals needed " + o.minApprovals() + " → " + n.minApprovals(), null));
    }
    groups(r, aspect, "may approve", o.approvers(), n.approvers(), out);
  }

  private static void compareJustification(String r, Model.Justification o, Model.Justification n, List<Change> out) {
    if (o.required() != n.required()) {
      out.add(new Change(r, "justification", n.required() ? Effect.NARROWS : Effect.WIDENS,
          n.required() ? "a justification is now required" : "a justification is no longer required", null));
    }
    String op = o.ticketPattern();
    String np = n.ticketPattern();
    if (java.util.Objects.equals(op, np)) {
      return;
    }
    if (op == null) {
      out.add(new Change(r, "justification", Effect.NARROWS, "tickets must now match " + np
          + (n.required() ? " (and one is required)" : ""), null));
    } else if (np == null) {
      out.add(new Change(r, "justification", Effect.WIDENS, "tickets no longer need to match " + op, null));
    } else {
      out.add(new Change(r, "justification", Effect.CHANGES, "ticket pattern " + op + " → " + np, null));
    }
  }

  private static void groups(String r, String aspect, String verb, List<String> o, List<String> n, List<Change> out) {
    Set<String> added = new TreeSet<>(n);
    added.removeAll(o);
    Set<String> removed = new TreeSet<>(o);
    removed.removeAll(n);
    if (!added.isEmpty()) {
      out.add(new Change(r, aspect, Effect.WIDENS, "groups that " + verb + " added: " + String.join(", ", added),
          added.iterator().next()));
    }
    if (!removed.isEmpty()) {
      out.add(new Change(r, aspect, Effect.NARROWS, "groups that " + verb + " removed: " + String.join(", ", removed),
          removed.iterator().next()));
    }
  }

  private static void globs(String r, String aspect, String noun, List<String> o, List<String> n, List<Change> out) {
    if (new TreeSet<>(o).equals(new TreeSet<>(n))) {
      return;
    }
    String widened = null;
    for (String g : n) {
      String sample = ArgvSamples.sampleName(g);
      if (!Glob.matchesAny(o, sample)) {
        widened = sample;
        break;
      }
    }
    String narrowed = null;
    for (String g : o) {
      String sample = ArgvSamples.sampleName(g);
      if (!Glob.matchesAny(n, sample)) {
        narrowed = sample;
        break;
      }
    }
    String what = aspect + " " + o + " → " + n;
    if (widened != null) {
      out.add(new Change(r, aspect, Effect.WIDENS, what + ": " + noun + " " + widened + " is now allowed", widened));
    }
    if (narrowed != null) {
      out.add(new Change(r, aspect, Effect.NARROWS, what + ": " + noun + " " + narrowed + " is no longer allowed",
          narrowed));
    }
    if (widened == null && narrowed == null) {
      out.add(new Change(r, aspect, Effect.CHANGES, what + " (no sample name changes outcome)", null));
    }
  }

  /** A command probe: how it is shown and what is decided. */
  private record Probe(String shown, Use use) {}

  private static void compareCommands(Role o, Role n, PolicyEngine oldEngine, PolicyEngine newEngine,
      List<Probe> corpus, List<Change> out) {
    if (o.commands().equals(n.commands()) && o.breakGlass() == n.breakGlass()
        && o.actions().containsKey("exec") == n.actions().containsKey("exec")) {
      return;
    }
    Map<String, Probe> probes = new LinkedHashMap<>();
    for (List<CommandRule> rules : List.of(o.commands(), n.commands())) {
      for (CommandRule rule : rules) {
        for (List<String> argv : ArgvSamples.of(rule)) {
          String shown = shellQuote(argv);
          probes.putIfAbsent(shown, new Probe(shown, Use.command(argv)));
        }
      }
    }
    for (Probe p : corpus) {
      probes.putIfAbsent(p.shown(), p);
    }
    // key: direction + allowing rule; value: first example and how many probes flip that way
    Map<String, String[]> found = new LinkedHashMap<>();
    Map<String, Integer> counts = new LinkedHashMap<>();
    for (Probe p : probes.values()) {
      Decision before = oldEngine.checkCommand(o.name(), p.use());
      Decision after = newEngine.checkCommand(n.name(), p.use());
      if (before.isAllowed() == after.isAllowed()) {
        continue;
      }
      boolean widens = after.isAllowed();
      Decision allowing = widens ? after : before;
      Decision denying = widens ? before : after;
      String rule = allowing.ruleId().orElse("-");
      String key = (widens ? "W " : "N ") + rule;
      counts.merge(key, 1, Integer::sum);
      if (!found.containsKey(key)) {
        String code = reasonCode(denying.reason());
        String summary = widens
            ? "now allowed by rule " + rule + "; the old policy denied it (" + code + " " + denying.ruleId().orElse("-") + ")"
            : "no longer allowed (was rule " + rule + "); now denied (" + code + " " + denying.ruleId().orElse("-") + ")";
        found.put(key, new String[] {summary, p.shown()});
      }
    }
    for (Map.Entry<String, String[]> e : found.entrySet()) {
      int c = counts.get(e.getKey());
      String summary = e.getValue()[0] + (c > 1 ? "; " + c + " probes flip this way" : "");
      out.add(new Change(n.name(), "commands", e.getKey().startsWith("W") ? Effect.WIDENS : Effect.NARROWS,
          summary, e.getValue()[1]));
    }
    if (found.isEmpty() && !sameRules(o.commands(), n.commands())) {
      out.add(new Change(n.name(), "commands", Effect.CHANGES,
          "command rules changed, but no generated or corpus command changes outcome", null));
    }
  }

  private static boolean sameRules(List<CommandRule> a, List<CommandRule> b) {
    return new LinkedHashSet<>(a).equals(new LinkedHashSet<>(b));
  }

  static String reasonCode(String reason) {
    if (reason.startsWith("[")) {
      int end = reason.indexOf(']');
      if (end > 0) {
        return reason.substring(0, end + 1);
      }
    }
    return "[-]";
  }

  /** Joins argv as a POSIX shell would read it back (single quotes where needed). */
  static String shellQuote(List<String> argv) {
    StringBuilder sb = new StringBuilder();
    for (String a : argv) {
      if (sb.length() > 0) {
        sb.append(' ');
      }
      if (!a.isEmpty() && a.matches("[A-Za-z0-9_./=:,+@%-]+")) {
        sb.append(a);
      } else {
        sb.append('\'').append(a.replace("'", "'\\''")).append('\'');
      }
    }
    return sb.toString();
  }

  /** Replays recorded decisions under the new policy. */
  private static final class Replay {
    long requests;
    long commands;
    long skipped;
    // subject + kind -> role -> count; subject + kind -> shown -> count
    private final Map<String, Map<String, Long>> byRole = new TreeMap<>();
    private final Map<String, Map<String, Long>> bySubject = new TreeMap<>();

    Replay(Policy oldPolicy, PolicyEngine engine, List<AuditEvent> events) {
      for (AuditEvent e : events) {
        RecordedDecision d = RecordedDecision.of(e);
        if (d == null) {
          continue;
        }
        if (d.skip()) {
          skipped++;
          continue;
        }
        if (d.isCommand()) {
          commands++;
        } else {
          requests++;
        }
        Decision now = d.decideUnder(engine);
        FlipKind kind = FlipKind.of(d.recorded(), now.outcome());
        if (kind == null) {
          continue;
        }
        String key = (d.isCommand() ? "command" : "request") + " " + kind.name();
        byRole.computeIfAbsent(key, k -> new TreeMap<>()).merge(d.role(), 1L, Long::sum);
        bySubject.computeIfAbsent(key, k -> new TreeMap<>()).merge(d.shown(), 1L, Long::sum);
      }
    }

    List<Flip> flips() {
      List<Flip> out = new ArrayList<>();
      for (String key : byRole.keySet()) {
        String subject = key.substring(0, key.indexOf(' '));
        FlipKind kind = FlipKind.valueOf(key.substring(key.indexOf(' ') + 1));
        Map<String, Long> roles = sortedByCount(byRole.get(key), Integer.MAX_VALUE);
        long total = roles.values().stream().mapToLong(Long::longValue).sum();
        out.add(new Flip(subject, kind, total, roles, sortedByCount(bySubject.get(key), 5)));
      }
      out.sort(Comparator.comparing((Flip f) -> !f.kind().widening()).thenComparing(Flip::subject)
          .thenComparing(f -> f.kind().ordinal()));
      return out;
    }

    private static Map<String, Long> sortedByCount(Map<String, Long> m, int limit) {
      Map<String, Long> out = new LinkedHashMap<>();
      m.entrySet().stream()
          .sorted(Map.Entry.<String, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
          .limit(limit)
          .forEach(e -> out.put(e.getKey(), e.getValue()));
      return out;
    }
  }
}
