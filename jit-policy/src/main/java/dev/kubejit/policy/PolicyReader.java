package dev.kubejit.policy;

import dev.kubejit.policy.internal.StrictReader;
import dev.kubejit.policy.Model.ActionRule;
import dev.kubejit.policy.Model.Approval;
import dev.kubejit.policy.Model.ArgKind;
import dev.kubejit.policy.Model.ArgType;
import dev.kubejit.policy.Model.CommandRule;
import dev.kubejit.policy.Model.Justification;
import dev.kubejit.policy.Model.Operand;
import dev.kubejit.policy.Model.Quantifier;
import dev.kubejit.policy.Model.Role;
import dev.kubejit.policy.Model.ValueOption;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Reads and validates an {@code AccessPolicy} document with a {@link StrictReader}.
 *
 * <p>Design notes: each object is read into a small mutable holder, checked field by field as it
 * is read (so the error points at the value), then checked as a whole (required fields,
 * cross-field rules) with the error pointing at the object. Names are validated with the same
 * grammars the engine relies on, so the engine never sees a value it cannot handle.
 */
final class PolicyReader {
  static final String API_VERSION = "kubejit.dev/v1";
  static final String KIND = "AccessPolicy";

  static final Pattern NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?");
  static final Pattern ACTION = Pattern.compile("[a-z][a-z0-9-]{0,62}");
  static final Pattern NAMESPACE_GLOB = Pattern.compile("[a-z0-9*][-a-z0-9*]{0,62}");
  static final Pattern CLUSTER_GLOB = Pattern.compile("[a-z0-9*][-a-z0-9.*]{0,252}");
  static final Pattern COMMAND = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._+-]{0,63}");
  static final Pattern FLAG = Pattern.compile("--?[A-Za-z0-9][A-Za-z0-9-]{0,63}|[A-Za-z]{1,16}");
  static final Pattern VALUE_FLAG = Pattern.compile("--?[A-Za-z0-9][A-Za-z0-9-]{0,63}");
  static final Pattern PATH_PREFIX = Pattern.compile("/|(/[A-Za-z0-9_+@:,=-][A-Za-z0-9._+@:,=-]*)+/?");
  static final Pattern OPERAND = Pattern.compile("(any|number|path)([+*]?)");

  private final StrictReader<PolicyException> r;
  private final Set<String> roleNames = new HashSet<>();
  private final Map<String, String> ruleIds = new HashMap<>();

  private PolicyReader(StrictReader<PolicyException> r) {
    this.r = r;
  }

  private static final StrictReader.Wording WORDING =
      new StrictReader.Wording("a policy file", "field", "an object (mapping)", true);

  /** Opens the strict reader for a policy or policy-test document. */
  static StrictReader<PolicyException> open(byte[] bytes, PolicyFormat format, String source, String rootElement) {
    return StrictReader.open(bytes, StrictReader.Syntax.valueOf(format.name()), source, rootElement,
        PolicyException::new, WORDING);
  }

  static Model.Document read(StrictReader<PolicyException> r) {
    return new PolicyReader(r).document();
  }

  private Model.Document document() {
    String[] apiVersion = new String[1];
    String[] kind = new String[1];
    String[] meta = new String[2];
    boolean[] metaSeen = new boolean[1];
    List<Role> roles = new ArrayList<>();
    boolean[] rolesSeen = new boolean[1];
    r.root((name, path) -> {
      switch (name) {
        case "apiVersion":
          apiVersion[0] = r.string(path);
          if (!API_VERSION.equals(apiVersion[0])) {
            throw r.error(path, "apiVersion must be " + API_VERSION + ", not " + Text.quote(apiVersion[0]));
          }
          break;
        case "kind":
          kind[0] = r.string(path);
          if (!KIND.equals(kind[0])) {
            throw r.error(path, "kind must be " + KIND + ", not " + Text.quote(kind[0]));
          }
          break;
        case "metadata":
          metaSeen[0] = true;
          r.object(path, (n, p) -> {
            switch (n) {
              case "name":
                meta[0] = name(p, NAME, "policy name");
                break;
              case "description":
                meta[1] = text(p, "description", 4096);
                break;
              default:
                throw r.unknown(p, n, "name, description");
            }
          });
          if (meta[0] == null) {
            throw r.errorAt(path, "metadata.name is required");
          }
          break;
        case "roles":
          rolesSeen[0] = true;
          roles.addAll(r.list(path, "role", this::role));
          break;
        default:
          throw r.unknown(path, name, "apiVersion, kind, metadata, roles");
      }
    });
    require(apiVersion[0], "", "apiVersion");
    require(kind[0], "", "kind");
    if (!metaSeen[0]) {
      throw r.errorAt("", "metadata is required");
    }
    if (!rolesSeen[0] || roles.isEmpty()) {
      throw r.errorAt(rolesSeen[0] ? "/roles" : "", "a policy needs at least one role");
    }
    return new Model.Document(apiVersion[0], kind[0], meta[0], meta[1], roles);
  }

  private static final class RoleHolder {
    String name;
    List<String> requesters;
    List<String> namespaces;
    List<String> clusters;
    Boolean clusterScope;
    Duration defaultDuration;
    Duration maxDuration;
    Boolean breakGlass;
    Justification justification;
    String rbacTemplate;
    Map<String, ActionRule> actions;
    List<CommandRule> commands;
    Model.ExecOptions exec;
    Model.HookSpec accessHook;
  }

  private Role role(String path) {
    RoleHolder h = new RoleHolder();
    r.object(path, (n, p) -> {
      switch (n) {
        case "name":
          h.name = name(p, NAME, "role name");
          if (!roleNames.add(h.name)) {
            throw r.error(p, "duplicate role name " + Text.quote(h.name));
          }
          break;
        case "requesters":
          h.requesters = uniqueList(p, "group", q -> group(q));
          break;
        case "namespaces":
          h.namespaces = uniqueList(p, "namespace", q -> name(q, NAMESPACE_GLOB, "namespace pattern"));
          break;
        case "clusters":
          h.clusters = uniqueList(p, "cluster", q -> name(q, CLUSTER_GLOB, "cluster pattern"));
          break;
        case "clusterScope":
          h.clusterScope = r.bool(p);
          break;
        case "defaultDuration":
          h.defaultDuration = duration(p);
          break;
        case "maxDuration":
          h.maxDuration = duration(p);
          break;
        case "breakGlass":
          h.breakGlass = r.bool(p);
          break;
        case "justification":
          h.justification = justification(p);
          break;
        case "rbac":
          String[] template = new String[1];
          r.object(p, (n2, p2) -> {
            if (!n2.equals("template")) {
              throw r.unknown(p2, n2, "template");
            }
            template[0] = templateName(p2);
          });
          h.rbacTemplate = require(template[0], p, "template");
          break;
        case "actions":
          h.actions = actions(p);
          break;
        case "commands":
          h.commands = commands(p);
          break;
        case "exec":
          h.exec = execOptions(p);
          break;
        case "accessHook":
          h.accessHook = accessHook(p);
          break;
        default:
          throw r.unknown(p, n, "name, requesters, namespaces, clusters, clusterScope, defaultDuration, "
              + "maxDuration, breakGlass, justification, rbac, actions, commands, exec, accessHook");
      }
    });
    require(h.name, path, "name");
    require(h.requesters, path, "requesters");
    if (h.requesters.isEmpty()) {
      throw r.errorAt(path + "/requesters", "role " + h.name + " needs at least one requester group");
    }
    boolean clusterScope = h.clusterScope != null && h.clusterScope;
    if (h.namespaces == null) {
      if (!clusterScope) {
        throw r.errorAt(path, "role " + h.name + ": namespaces is required unless clusterScope is true");
      }
      h.namespaces = List.of();
    } else if (h.namespaces.isEmpty() && !clusterScope) {
      throw r.errorAt(path + "/namespaces", "role " + h.name + " allows no namespace");
    }
    if (h.clusters != null && h.clusters.isEmpty()) {
      throw r.errorAt(path + "/clusters", "role " + h.name + ": an empty clusters list allows nothing; omit it to allow any cluster");
    }
    require(h.defaultDuration, path, "defaultDuration");
    require(h.maxDuration, path, "maxDuration");
    if (h.defaultDuration.compareTo(h.maxDuration) > 0) {
      throw r.errorAt(path + "/defaultDuration", "role " + h.name + ": defaultDuration " + h.defaultDuration
          + " exceeds maxDuration " + h.maxDuration);
    }
    require(h.justification, path, "justification");
    require(h.actions, path, "actions");
    if (h.actions.isEmpty()) {
      throw r.errorAt(path + "/actions", "role " + h.name + " allows no action");
    }
    return new Role(h.name, h.requesters, h.namespaces, h.clusters, clusterScope, h.defaultDuration,
        h.maxDuration, h.breakGlass != null && h.breakGlass, h.justification, h.rbacTemplate, h.actions,
        h.commands == null ? List.of() : h.commands, h.exec == null ? Model.ExecOptions.DEFAULT : h.exec,
        h.accessHook);
  }

  private Model.ExecOptions execOptions(String path) {
    List<List<String>> containers = new ArrayList<>(1);
    List<Model.LongRunning> longRunning = new ArrayList<>(1);
    r.object(path, (n, p) -> {
      switch (n) {
        case "containers":
          List<String> list = uniqueList(p, "container", q -> {
            String c = r.string(q);
            if (!dev.kubejit.api.KubeNames.isDnsLabel(c)) {
              throw r.error(q, "container name " + dev.kubejit.api.KubeNames.labelRule() + ": " + Text.quote(c));
            }
            return c;
          });
          if (list.isEmpty()) {
            throw r.errorAt(p, "an empty containers list allows no exec; omit it to allow any container");
          }
          containers.add(list);
          break;
        case "longRunning":
          String s = r.string(p);
          Model.LongRunning lr = Model.LongRunning.parse(s);
          if (lr == null) {
            throw r.error(p, "longRunning must be allow or gateway-only: " + Text.quote(s));
          }
          longRunning.add(lr);
          break;
        default:
          throw r.unknown(p, n, "containers, longRunning");
      }
    });
    return new Model.ExecOptions(containers.isEmpty() ? null : containers.get(0),
        longRunning.isEmpty() ? Model.LongRunning.ALLOW : longRunning.get(0));
  }

  private static final Duration MAX_HOOK_TIMEOUT = Duration.ofSeconds(30);

  private Model.HookSpec accessHook(String path) {
    String[] name = new String[1];
    java.net.URI[] url = new java.net.URI[1];
    String[] secretFile = new String[1];
    Duration[] timeout = new Duration[1];
    r.object(path, (n, p) -> {
      switch (n) {
        case "name":
          name[0] = name(p, NAME, "hook name");
          break;
        case "url":
          url[0] = hookUrl(p);
          break;
        case "secretFile":
          secretFile[0] = text(p, "secretFile", 4096);
          if (!secretFile[0].startsWith("/")) {
            throw r.error(p, "secretFile must be an absolute path: " + Text.quote(secretFile[0]));
          }
          break;
        case "timeout":
          timeout[0] = duration(p);
          if (timeout[0].compareTo(MAX_HOOK_TIMEOUT) > 0) {
            throw r.error(p, "a hook timeout must not exceed " + MAX_HOOK_TIMEOUT + ": " + timeout[0]);
          }
          break;
        default:
          throw r.unknown(p, n, "name, url, secretFile, timeout");
      }
    });
    require(name[0], path, "name");
    require(url[0], path, "url");
    require(secretFile[0], path, "secretFile");
    return new Model.HookSpec(name[0], url[0], secretFile[0], timeout[0] == null ? Duration.ofSeconds(5) : timeout[0]);
  }

  private java.net.URI hookUrl(String p) {
    String s = text(p, "url", 2048);
    java.net.URI u;
    try {
      u = new java.net.URI(s);
    } catch (java.net.URISyntaxException e) {
      throw r.error(p, "url is not a valid URI: " + Text.quote(s));
    }
    String host = u.getHost();
    if (host == null || u.getUserInfo() != null || u.getFragment() != null) {
      throw r.error(p, "url must be an absolute http(s) URL with a host and without user info or fragment: "
          + Text.quote(s));
    }
    boolean loopback = host.equals("127.0.0.1") || host.equals("[::1]") || host.equals("localhost");
    if (!"https".equals(u.getScheme()) && !("http".equals(u.getScheme()) && loopback)) {
      throw r.error(p, "url must use https (plain http only to a loopback address): " + Text.quote(s));
    }
    return u;
  }

  private Justification justification(String path) {
    Boolean[] required = new Boolean[1];
    String[] pattern = new String[1];
    r.object(path, (n, p) -> {
      switch (n) {
        case "required":
          required[0] = r.bool(p);
          break;
        case "ticketPattern":
          pattern[0] = text(p, "ticketPattern", 1000);
          try {
            Pattern.compile(pattern[0]);
          } catch (PatternSyntaxException e) {
            throw r.error(p, "ticketPattern is not a valid regular expression: " + Text.quote(pattern[0])
                + " (" + StrictReader.clean(e.getDescription()) + " near index " + e.getIndex() + ")");
          }
          break;
        default:
          throw r.unknown(p, n, "required, ticketPattern");
      }
    });
    require(required[0], path, "required");
    return new Justification(required[0], pattern[0]);
  }

  private Map<String, ActionRule> actions(String path) {
    Map<String, ActionRule> out = new LinkedHashMap<>();
    if (r.syntax() == StrictReader.Syntax.XML) {
      r.list(path, "action", p -> {
        String[] name = new String[1];
        ActionRule a = action(p, name);
        require(name[0], p, "name");
        if (out.put(name[0], a) != null) {
          throw r.errorAt(p, "duplicate action " + Text.quote(name[0]));
        }
        return null;
      });
      return out;
    }
    r.object(path, (n, p) -> {
      if (!ACTION.matcher(n).matches()) {
        throw r.errorAt(p, "action names must match " + ACTION.pattern() + ": " + Text.quote(n));
      }
      out.put(n, action(p, null));
    });
    return out;
  }

  /** Reads an action; in XML the map key is the item's {@code name} field, stored in {@code xmlName}. */
  private ActionRule action(String path, String[] xmlName) {
    String[] approval = new String[1];
    List<List<String>> approvers = new ArrayList<>();
    Integer[] min = new Integer[1];
    r.object(path, (n, p) -> {
      switch (n) {
        case "name":
          if (xmlName == null) {
            throw r.unknown(p, n, "approval, approvers, minApprovals");
          }
          xmlName[0] = name(p, ACTION, "action name");
          break;
        case "approval":
          approval[0] = r.string(p);
          if (!approval[0].equals("auto") && !approval[0].equals("manual")) {
            throw r.error(p, "approval must be auto or manual, not " + Text.quote(approval[0]));
          }
          break;
        case "approvers":
          approvers.add(uniqueList(p, "group", this::group));
          break;
        case "minApprovals":
          min[0] = r.integer(p, 1, 100);
          break;
        default:
          throw r.unknown(p, n, (xmlName == null ? "" : "name, ") + "approval, approvers, minApprovals");
      }
    });
    require(approval[0], path, "approval");
    Approval mode = approval[0].equals("auto") ? Approval.AUTO : Approval.MANUAL;
    if (mode == Approval.AUTO && (!approvers.isEmpty() || min[0] != null)) {
      throw r.errorAt(path, "approvers and minApprovals only apply to manual approval");
    }
    return new ActionRule(mode, approvers.isEmpty() ? List.of() : approvers.get(0), min[0] == null ? 1 : min[0]);
  }

  private List<CommandRule> commands(String path) {
    List<CommandRule> out = new ArrayList<>();
    r.object(path, (n, p) -> {
      if (!n.equals("allow")) {
        throw r.unknown(p, n, "allow");
      }
      out.addAll(r.list(p, "rule", this::commandRule));
    });
    return out;
  }

  private CommandRule commandRule(String path) {
    String[] id = new String[1];
    String[] command = new String[1];
    List<List<String>> flags = new ArrayList<>();
    Map<String, ValueOption> withValue = new LinkedHashMap<>();
    List<List<Operand>> operands = new ArrayList<>();
    List<List<String>> patternOptions = new ArrayList<>();
    Boolean[] allowNoOperand = new Boolean[1];
    List<List<String>> paths = new ArrayList<>();
    r.object(path, (n, p) -> {
      switch (n) {
        case "id":
          id[0] = name(p, NAME, "rule id");
          String prev = ruleIds.putIfAbsent(id[0], p);
          if (prev != null) {
            throw r.error(p, "duplicate rule id " + Text.quote(id[0]) + " (first defined at " + prev + ")");
          }
          break;
        case "command":
          command[0] = r.string(p);
          if (!COMMAND.matcher(command[0]).matches()) {
            throw r.error(p, "command must be a bare program name matching " + COMMAND.pattern()
                + " (absolute paths in standard directories match it automatically): " + Text.quote(command[0]));
          }
          break;
        case "flags":
          flags.add(uniqueList(p, "flag", q -> name(q, FLAG, "flag")));
          break;
        case "flagsWithValue":
          flagsWithValue(p, withValue);
          break;
        case "operands":
          operands.add(operands(p));
          break;
        case "patternOptions":
          patternOptions.add(uniqueList(p, "flag", q -> name(q, VALUE_FLAG, "pattern option")));
          break;
        case "allowNoOperand":
          allowNoOperand[0] = r.bool(p);
          break;
        case "paths":
          paths.add(uniqueList(p, "path", q -> {
            String s = r.string(q);
            if (!PATH_PREFIX.matcher(s).matches() || s.contains("/./") || s.contains("/../")
                || s.endsWith("/.") || s.endsWith("/..")) {
              throw r.error(q, "paths must be absolute, normalised (no //, . or ..) and ASCII: " + Text.quote(s));
            }
            return s;
          }));
          break;
        default:
          throw r.unknown(p, n, "id, command, flags, flagsWithValue, operands, patternOptions, allowNoOperand, paths");
      }
    });
    require(id[0], path, "id");
    require(command[0], path, "command");
    String rule = "rule " + id[0] + ": ";
    List<String> flagList = flags.isEmpty() ? List.of() : flags.get(0);
    for (String f : flagList) {
      if (withValue.containsKey(f)) {
        throw r.errorAt(path + "/flags", rule + "flag " + f + " is listed both as a flag and as a flag with a value");
      }
      if (f.length() > 2 && f.charAt(0) == '-' && f.charAt(1) != '-') {
        for (int k = 1; k < f.length(); k++) {
          String letter = "-" + f.charAt(k);
          if (withValue.containsKey(letter)) {
            throw r.errorAt(path + "/flags", rule + "flag " + f + " would be read by getopt as options ending in "
                + letter + " with the value " + Text.quote(f.substring(k + 1).isEmpty() ? "<next word>"
                    : f.substring(k + 1)) + ", because " + letter + " takes a value");
          }
        }
      }
    }
    List<Operand> ops = operands.isEmpty() ? List.of() : operands.get(0);
    List<String> patternList = patternOptions.isEmpty() ? null : patternOptions.get(0);
    boolean noOperand = allowNoOperand[0] != null && allowNoOperand[0];
    layout(path, rule, ops, patternList, noOperand, flagList, withValue);
    List<String> pathList = paths.isEmpty() ? List.of() : paths.get(0);
    boolean needsPaths = withValue.values().stream().anyMatch(v -> v.type() == ArgType.PATH)
        || ops.stream().anyMatch(o -> o.type() == ArgType.PATH);
    if (needsPaths && pathList.isEmpty()) {
      throw r.errorAt(path, "rule " + id[0] + " types a value as path but lists no paths");
    }
    return new CommandRule(id[0], command[0], flagList, withValue, ops, patternList, noOperand, pathList);
  }

  /**
   * Checks the operand layout's declarations. A layout where a non-path operand precedes a path
   * operand without {@code patternOptions} loads, but the engine refuses every command that uses an
   * option under it ({@link CommandRuleMatcher}) and the linter reports it.
   */
  private void layout(String path, String rule, List<Operand> ops, List<String> patternOptions, boolean allowNoOperand,
      List<String> flags, Map<String, ValueOption> withValue) {
    if (patternOptions != null) {
      if (ops.isEmpty() || ops.get(0).type() == ArgType.PATH || ops.get(0).variadic()) {
        throw r.errorAt(path + "/patternOptions", rule + "patternOptions needs a first operand that is a single "
            + "non-path operand (the pattern), not " + (ops.isEmpty() ? "no operand" : ops.get(0).toString()));
      }
      for (String o : patternOptions) {
        if (!flags.contains(o) && !withValue.containsKey(o)) {
          throw r.errorAt(path + "/patternOptions", rule + "pattern option " + o
              + " is not declared in flags or flagsWithValue; declare it or remove it");
        }
      }
    }
    if (allowNoOperand) {
      Operand last = ops.isEmpty() ? null : ops.get(ops.size() - 1);
      if (last == null || last.type() != ArgType.PATH || last.quantifier() != Quantifier.ZERO_OR_MORE) {
        throw r.errorAt(path + "/allowNoOperand", rule + "allowNoOperand needs a last operand path*, not "
            + (last == null ? "no operand" : last.toString()));
      }
    }
  }

  private void flagsWithValue(String path, Map<String, ValueOption> out) {
    if (r.syntax() == StrictReader.Syntax.XML) {
      r.list(path, "flag", p -> {
        String[] f = new String[3];
        r.object(p, (n, q) -> {
          switch (n) {
            case "name":
              f[0] = name(q, VALUE_FLAG, "flag");
              break;
            case "type":
              f[1] = r.string(q);
              break;
            case "argument":
              f[2] = r.string(q);
              break;
            default:
              throw r.unknown(q, n, "name, type, argument");
          }
        });
        require(f[0], p, "name");
        require(f[1], p, "type");
        ValueOption v = valueOption(p, f[1], f[2]);
        if (out.put(f[0], v) != null) {
          throw r.errorAt(p, "duplicate flag " + Text.quote(f[0]));
        }
        return null;
      });
      return;
    }
    r.object(path, (n, p) -> {
      if (!VALUE_FLAG.matcher(n).matches()) {
        throw r.errorAt(p, "a flag that takes a value must match " + VALUE_FLAG.pattern() + ": " + Text.quote(n));
      }
      if (!r.atObject()) {
        out.put(n, valueOption(p, r.string(p), null));
        return;
      }
      String[] f = new String[2];
      r.object(p, (n2, q) -> {
        switch (n2) {
          case "type":
            f[0] = r.string(q);
            break;
          case "argument":
            f[1] = r.string(q);
            break;
          default:
            throw r.unknown(q, n2, "type, argument");
        }
      });
      require(f[0], p, "type");
      require(f[1], p, "argument");
      out.put(n, valueOption(p, f[0], f[1]));
    });
  }

  private ValueOption valueOption(String path, String type, String argument) {
    ArgType t = ArgType.parse(type);
    if (t == null) {
      throw r.errorAt(path, "a flag value type is any, number or path, not " + Text.quote(type));
    }
    if (argument == null) {
      return new ValueOption(t, ArgKind.UNDECLARED);
    }
    ArgKind k = ArgKind.parse(argument);
    if (k == null) {
      throw r.errorAt(path, "argument is required or optional (GNU getopt_long's has_arg), not " + Text.quote(argument));
    }
    return new ValueOption(t, k);
  }

  private List<Operand> operands(String path) {
    List<Operand> ops = r.list(path, "operand", p -> {
      String s = r.string(p);
      java.util.regex.Matcher m = OPERAND.matcher(s);
      if (!m.matches()) {
        throw r.error(p, "an operand is any, number or path, optionally followed by + or *, not " + Text.quote(s));
      }
      Quantifier q = m.group(2).isEmpty() ? Quantifier.ONE
          : m.group(2).equals("+") ? Quantifier.ONE_OR_MORE : Quantifier.ZERO_OR_MORE;
      return new Operand(ArgType.parse(m.group(1)), q);
    });
    for (int i = 0; i < ops.size() - 1; i++) {
      if (ops.get(i).variadic()) {
        throw r.errorAt(path + "/" + i, "only the last operand may have + or *");
      }
    }
    return ops;
  }

  // ---- scalar helpers ----

  private <T> List<T> uniqueList(String path, String xmlItem, StrictReader.ItemReader<T> item) {
    List<T> list = r.list(path, xmlItem, item);
    Set<T> seen = new HashSet<>();
    for (int i = 0; i < list.size(); i++) {
      if (!seen.add(list.get(i))) {
        throw r.errorAt(path + "/" + i, "duplicate entry " + Text.quote(String.valueOf(list.get(i))));
      }
    }
    return list;
  }

  private String name(String path, Pattern grammar, String what) {
    String s = r.string(path);
    if (!grammar.matcher(s).matches()) {
      throw r.error(path, what + " must match " + grammar.pattern() + ": " + Text.quote(s));
    }
    return s;
  }

  /** An RBAC template name becomes part of Role names: a DNS-1123 label, the rule jit-rbac applies. */
  private String templateName(String path) {
    String s = r.string(path);
    if (!dev.kubejit.api.KubeNames.isDnsLabel(s)) {
      throw r.error(path, "RBAC template name " + dev.kubejit.api.KubeNames.labelRule() + ": " + Text.quote(s));
    }
    return s;
  }

  private String group(String path) {
    String s = r.string(path);
    try {
      return dev.kubejit.api.PrincipalNames.check(s, "group");
    } catch (IllegalArgumentException e) {
      // the same rule as for identities: a look-alike group could never match, and would mislead reviewers
      throw r.error(path, "a group name must be 1-256 visible characters without spaces, invisible or"
          + " look-alike characters (" + e.getMessage() + ")");
    }
  }

  private String text(String path, String what, int max) {
    String s = r.string(path);
    if (s.isBlank() || s.length() > max || s.codePoints().anyMatch(Character::isISOControl)) {
      throw r.error(path, what + " must be non-blank text of at most " + max + " characters without control characters: "
          + Text.quote(s));
    }
    return s;
  }

  private Duration duration(String path) {
    String s = r.string(path);
    Duration d;
    try {
      d = Duration.parse(s);
    } catch (DateTimeParseException e) {
      throw r.error(path, "not an ISO-8601 duration such as PT30M: " + Text.quote(s));
    }
    if (d.isNegative() || d.isZero()) {
      throw r.error(path, "a duration must be positive: " + Text.quote(s));
    }
    if (d.compareTo(Duration.ofDays(366)) > 0) {
      throw r.error(path, "a duration must not exceed a year: " + Text.quote(s));
    }
    return d;
  }

  private <T> T require(T value, String objectPath, String field) {
    if (value == null) {
      throw r.errorAt(objectPath, field + " is required");
    }
    return value;
  }
}
