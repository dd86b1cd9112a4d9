package dev.kubejit.policy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The parsed policy, as immutable records that mirror the file structure with defaults applied.
 *
 * <p>Design notes: records give structural equality, so the same policy loaded from JSON, XML and
 * YAML yields equal models; {@link #canonical} renders a model as sorted maps for the digest. All
 * validation happens in {@link PolicyReader}, so a record that exists is valid.
 */
final class Model {
  private Model() {}

  record Document(String apiVersion, String kind, String name, String description, List<Role> roles) {
    Document {
      roles = List.copyOf(roles);
    }
  }

  record Role(
      String name,
      List<String> requesters,
      List<String> namespaces,
      List<String> clusters,
      boolean clusterScope,
      Duration defaultDuration,
      Duration maxDuration,
      boolean breakGlass,
      Justification justification,
      String rbacTemplate,
      Map<String, ActionRule> actions,
      List<CommandRule> commands,
      ExecOptions exec,
      HookSpec accessHook) {
    Role {
      requesters = List.copyOf(requesters);
      namespaces = List.copyOf(namespaces);
      clusters = clusters == null ? null : List.copyOf(clusters);
      actions = unmodifiableOrdered(actions);
      commands = List.copyOf(commands);
    }
  }

  record Justification(boolean required, String ticketPattern) {}

  /** What a {@code long-running} setting allows for streams the API server opens itself. */
  enum LongRunning {
    /** Any exec the command rules allow, however it arrives. */
    ALLOW,
    /** Interactive or long-running exec only through a gateway that ends sessions at expiry. */
    GATEWAY_ONLY;

    String wireName() {
      return this == ALLOW ? "allow" : "gateway-only";
    }

    static LongRunning parse(String s) {
      switch (s) {
        case "allow":
          return ALLOW;
        case "gateway-only":
          return GATEWAY_ONLY;
        default:
          return null;
      }
    }
  }

  /**
   * Per-role exec options: the containers exec and attach may target (null: any) and what a
   * stream opened by the API server itself may be.
   */
  record ExecOptions(List<String> containers, LongRunning longRunning) {
    static final ExecOptions DEFAULT = new ExecOptions(null, LongRunning.ALLOW);

    ExecOptions {
      containers = containers == null ? null : List.copyOf(containers);
    }
  }

  /**
   * An HTTP access hook of a role: its name, the URL it posts to (https, or http to a loopback
   * address), the file holding the HMAC secret (read by {@link HttpAccessHook}, never by the
   * loader) and how long to wait for its answer.
   */
  record HookSpec(String name, java.net.URI url, String secretFile, Duration timeout) {}

  enum Approval {
    AUTO,
    MANUAL;

    String wireName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  record ActionRule(Approval approval, List<String> approvers, int minApprovals) {
    ActionRule {
      approvers = List.copyOf(approvers);
    }
  }

  enum ArgType {
    ANY,
    NUMBER,
    PATH;

    String wireName() {
      return name().toLowerCase(Locale.ROOT);
    }

    static ArgType parse(String s) {
      switch (s) {
        case "any":
          return ANY;
        case "number":
          return NUMBER;
        case "path":
          return PATH;
        default:
          return null;
      }
    }
  }

  enum Quantifier {
    ONE(""),
    ONE_OR_MORE("+"),
    ZERO_OR_MORE("*");

    final String suffix;

    Quantifier(String suffix) {
      this.suffix = suffix;
    }
  }

  /**
   * How an option takes its value, after GNU getopt_long's {@code has_arg}: {@code REQUIRED}
   * ({@code --opt=V}, {@code --opt V}, {@code -xV}, {@code -x V}), {@code OPTIONAL} (only attached:
   * {@code --opt=V}, {@code -xV}; a following word is an operand), or {@code UNDECLARED} (the
   * shorthand form; only the attached forms, which mean the same under both kinds, are accepted).
   */
  enum ArgKind {
    REQUIRED,
    OPTIONAL,
    UNDECLARED;

    String wireName() {
      return name().toLowerCase(Locale.ROOT);
    }

    static ArgKind parse(String s) {
      switch (s) {
        case "required":
          return REQUIRED;
        case "optional":
          return OPTIONAL;
        default:
          return null;
      }
    }
  }

  /** An option that takes a value: the value's type and how the value is given. */
  record ValueOption(ArgType type, ArgKind kind) {
    Object canonical() {
      if (kind == ArgKind.UNDECLARED) {
        return type.wireName();
      }
      Map<String, Object> m = new TreeMap<>();
      m.put("type", type.wireName());
      m.put("argument", kind.wireName());
      return m;
    }
  }

  record Operand(ArgType type, Quantifier quantifier) {
    boolean variadic() {
      return quantifier != Quantifier.ONE;
    }

    @Override
    public String toString() {
      return type.wireName() + quantifier.suffix;
    }
  }

  record CommandRule(
      String id,
      String command,
      List<String> flags,
      Map<String, ValueOption> flagsWithValue,
      List<Operand> operands,
      List<String> patternOptions,
      boolean allowNoOperand,
      List<String> paths) {
    CommandRule {
      flags = List.copyOf(flags);
      flagsWithValue = unmodifiableOrdered(flagsWithValue);
      operands = List.copyOf(operands);
      patternOptions = patternOptions == null ? null : List.copyOf(patternOptions);
      paths = List.copyOf(paths);
    }

    /**
     * The index of a non-path operand that precedes a path operand and is not the declared pattern
     * operand (an option could supply it and shift a path into its slot), or -1.
     */
    int ambiguousOperand() {
      int lastPath = -1;
      for (int i = 0; i < operands.size(); i++) {
        if (operands.get(i).type() == ArgType.PATH) {
          lastPath = i;
        }
      }
      for (int i = 0; i < lastPath; i++) {
        if (operands.get(i).type() != ArgType.PATH && (i > 0 || patternOptions == null)) {
          return i;
        }
      }
      return -1;
    }

    /** Every option name the rule declares, with or without a value. */
    java.util.Set<String> declaredOptions() {
      java.util.Set<String> all = new java.util.LinkedHashSet<>(flags);
      all.addAll(flagsWithValue.keySet());
      return all;
    }
  }

  private static <K, V> Map<K, V> unmodifiableOrdered(Map<K, V> m) {
    return java.util.Collections.unmodifiableMap(new LinkedHashMap<>(m));
  }

  /** Renders the model as nested sorted maps, lists, strings, numbers and booleans. */
  static Map<String, Object> canonical(Document d) {
    Map<String, Object> root = new TreeMap<>();
    root.put("apiVersion", d.apiVersion());
    root.put("kind", d.kind());
    Map<String, Object> meta = new TreeMap<>();
    meta.put("name", d.name());
    if (d.description() != null) {
      meta.put("description", d.description());
    }
    root.put("metadata", meta);
    List<Object> roles = new ArrayList<>();
    for (Role r : d.roles()) {
      Map<String, Object> m = new TreeMap<>();
      m.put("name", r.name());
      m.put("requesters", r.requesters());
      m.put("namespaces", r.namespaces());
      if (r.clusters() != null) {
        m.put("clusters", r.clusters());
      }
      m.put("clusterScope", r.clusterScope());
      m.put("defaultDuration", r.defaultDuration().toString());
      m.put("maxDuration", r.maxDuration().toString());
      m.put("breakGlass", r.breakGlass());
      Map<String, Object> j = new TreeMap<>();
      j.put("required", r.justification().required());
      if (r.justification().ticketPattern() != null) {
        j.put("ticketPattern", r.justification().ticketPattern());
      }
      m.put("justification", j);
      if (r.rbacTemplate() != null) {
        m.put("rbac", new TreeMap<>(Map.of("template", r.rbacTemplate())));
      }
      Map<String, Object> actions = new TreeMap<>();
      for (Map.Entry<String, ActionRule> e : r.actions().entrySet()) {
        Map<String, Object> a = new TreeMap<>();
        a.put("approval", e.getValue().approval().wireName());
        if (e.getValue().approval() == Approval.MANUAL) {
          a.put("approvers", e.getValue().approvers());
          a.put("minApprovals", e.getValue().minApprovals());
        }
        actions.put(e.getKey(), a);
      }
      m.put("actions", actions);
      List<Object> allow = new ArrayList<>();
      for (CommandRule c : r.commands()) {
        Map<String, Object> cm = new TreeMap<>();
        cm.put("id", c.id());
        cm.put("command", c.command());
        cm.put("flags", c.flags());
        Map<String, Object> fwv = new TreeMap<>();
        c.flagsWithValue().forEach((k, v) -> fwv.put(k, v.canonical()));
        cm.put("flagsWithValue", fwv);
        List<String> ops = new ArrayList<>();
        c.operands().forEach(o -> ops.add(o.toString()));
        cm.put("operands", ops);
        if (c.patternOptions() != null) {
          cm.put("patternOptions", c.patternOptions());
        }
        cm.put("allowNoOperand", c.allowNoOperand());
        cm.put("paths", c.paths());
        allow.add(cm);
      }
      m.put("commands", new TreeMap<>(Map.of("allow", allow)));
      if (!r.exec().equals(ExecOptions.DEFAULT)) {
        // only when set, so that the digest of a policy without exec options is unchanged
        Map<String, Object> exec = new TreeMap<>();
        if (r.exec().containers() != null) {
          exec.put("containers", r.exec().containers());
        }
        exec.put("longRunning", r.exec().longRunning().wireName());
        m.put("exec", exec);
      }
      if (r.accessHook() != null) {
        Map<String, Object> h = new TreeMap<>();
        h.put("name", r.accessHook().name());
        h.put("url", r.accessHook().url().toString());
        h.put("secretFile", r.accessHook().secretFile());
        h.put("timeout", r.accessHook().timeout().toString());
        m.put("accessHook", h);
      }
      roles.add(m);
    }
    root.put("roles", roles);
    return root;
  }
}
