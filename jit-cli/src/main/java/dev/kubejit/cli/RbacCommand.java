package dev.kubejit.cli;

import dev.kubejit.api.GrantId;
import dev.kubejit.api.Lifetimes;
import dev.kubejit.api.spi.AuditSink;
import dev.kubejit.rbac.AccessDecision;
import dev.kubejit.rbac.AccessQuery;
import dev.kubejit.rbac.ExpiryReaper;
import dev.kubejit.rbac.Finding;
import dev.kubejit.rbac.GeneratedRbac;
import dev.kubejit.rbac.PrivilegedSubject;
import dev.kubejit.rbac.RbacEvaluator;
import dev.kubejit.rbac.RbacGenerator;
import dev.kubejit.rbac.RbacLinter;
import dev.kubejit.rbac.RbacSnapshot;
import dev.kubejit.rbac.RbacSuggestion;
import dev.kubejit.rbac.RbacTemplate;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.util.Config;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code kubejit rbac}: render, lint, evaluate, audit and reap KubeJIT's RBAC objects. */
@Command(
    name = "rbac",
    mixinStandardHelpOptions = true,
    description = "Generate, lint, evaluate and reap group-only RBAC for JIT grants.",
    subcommands = {
      RbacCommand.Render.class, RbacCommand.Lint.class, RbacCommand.CanI.class, RbacCommand.Audit.class,
      RbacCommand.Reap.class, RbacCommand.Suggest.class
    })
final class RbacCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /**
   * Parses a lifetime option ({@link Durations}): positive and at most {@link Lifetimes#ABSOLUTE_MAX},
   * else a one-line refusal.
   */
  static Duration duration(String text, String what) {
    Duration d;
    try {
      d = Durations.parse(text, what);
    } catch (IllegalArgumentException e) {
      throw new CliException(e.getMessage());
    }
    if (d.isZero() || d.isNegative()) {
      throw new CliException(what + " must be positive: " + text);
    }
    if (d.compareTo(Lifetimes.ABSOLUTE_MAX) > 0) {
      throw new CliException(what + " " + text + " exceeds the absolute maximum lifetime of "
          + Lifetimes.ABSOLUTE_MAX.toDays() + " days (" + Lifetimes.ABSOLUTE_MAX.toHours() + "h)");
    }
    return d;
  }

  static ApiClient client(Path kubeconfig) {
    try {
      return kubeconfig == null ? Config.defaultClient() : Config.fromConfig(kubeconfig.toString());
    } catch (IOException | RuntimeException e) {
      throw new CliException("cannot load kubeconfig" + (kubeconfig == null ? "" : " " + kubeconfig) + ": "
          + e.getMessage(), e);
    }
  }

  /** {@code kubejit rbac render}. */
  @Command(name = "render", mixinStandardHelpOptions = true,
      description = "Print the Role and RoleBinding for a template as YAML (for kubectl apply -f -).")
  static final class Render implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--template", required = true, description = "oncall-debug, jit-debug, logs-reader")
    String template;

    @Option(names = "--namespace", required = true)
    String namespace;

    @Option(names = "--group", required = true, description = "Group to bind (never a user).")
    String group;

    @Option(names = "--ttl", required = true, description = "Lifetime, e.g. 30m (at most --max-ttl and 366 days).")
    String ttl;

    @Option(names = "--grant-id", description = "Grant id (26 base32 characters); random when absent.")
    String grantId;

    @Option(names = "--max-ttl", defaultValue = "8h",
        description = "Longest allowed lifetime (default 8h, at most 366 days).")
    String maxTtl;

    @Option(names = "--role", paramLabel = "ROLE",
        description = "Policy role recorded in kubejit.dev/role; the RBAC write webhook with per-role ceilings"
            + " refuses a KubeJIT binding without one.")
    String role;

    @Override
    public Integer call() {
      Duration life = duration(ttl, "--ttl");
      Duration max = duration(maxTtl, "--max-ttl");
      if (life.compareTo(max) > 0) {
        throw new CliException("--ttl " + ttl + " exceeds --max-ttl " + maxTtl);
      }
      GrantId id;
      try {
        id = grantId == null ? GrantId.random() : GrantId.parse(grantId);
      } catch (IllegalArgumentException e) {
        throw new CliException(e.getMessage());
      }
      Clock clock = Clock.systemUTC();
      RbacGenerator.Builder b = RbacGenerator.builder(RbacTemplate.builtIn(template)).namespace(namespace)
          .grantId(id).group(group).expiresAt(clock.instant().plus(life)).requester("kubejit-cli").clock(clock);
      if (role != null) {
        b.role(role);
      }
      GeneratedRbac gen = b.generate();
      List<Finding> findings = RbacLinter.builder().maxJitDuration(max).clock(clock).build().lint(gen);
      if (RbacLinter.hasErrors(findings)) {
        throw new CliException("refusing to render: " + findings);
      }
      spec.commandLine().getOut().print(gen.toYaml());
      spec.commandLine().getOut().flush();
      return 0;
    }
  }

  /** {@code kubejit rbac lint}. */
  @Command(name = "lint", mixinStandardHelpOptions = true,
      description = "Lint RBAC YAML files; exit 1 if any finding is an error.")
  static final class Lint implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "FILE")
    List<Path> files;

    @Option(names = "--max-ttl", defaultValue = "8h",
        description = "Longest allowed JIT binding (default 8h, at most 366 days).")
    String maxTtl;

    @Override
    public Integer call() {
      RbacLinter linter = RbacLinter.builder().maxJitDuration(duration(maxTtl, "--max-ttl")).build();
      List<Finding> findings = linter.lint(RbacSnapshot.fromFiles(files));
      PrintWriter out = spec.commandLine().getOut();
      for (Finding f : findings) {
        out.println(f);
      }
      long errors = findings.stream().filter(Finding::isError).count();
      out.println(findings.size() + " findings, " + errors + " errors");
      out.flush();
      return errors > 0 ? 1 : 0;
    }
  }

  /** {@code kubejit rbac can-i}. */
  @Command(name = "can-i", mixinStandardHelpOptions = true,
      description = "Answer yes/no offline from RBAC YAML files, and name the rule; exit 1 on no.")
  static final class CanI implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--file", required = true, arity = "1..*")
    List<Path> files;

    @Option(names = "--user", required = true)
    String user;

    @Option(names = "--group")
    List<String> groups = new ArrayList<>();

    @Option(names = {"-n", "--namespace"})
    String namespace;

    @Option(names = "--api-group", defaultValue = "", description = "API group of the resource (default core).")
    String apiGroup;

    @Option(names = "--name", description = "Resource name.")
    String name;

    @Parameters(index = "0", paramLabel = "VERB")
    String verb;

    @Parameters(index = "1", paramLabel = "RESOURCE[/SUBRESOURCE] or /URL")
    String resource;

    @Override
    public Integer call() {
      AccessQuery.Builder b = AccessQuery.builder(user).groups(groups);
      try {
        b.target(verb, apiGroup, resource);
        if (namespace != null) {
          b.namespace(namespace);
        }
        if (name != null) {
          b.name(name);
        }
      } catch (IllegalArgumentException | IllegalStateException e) {
        throw new CliException(e.getMessage());
      }
      AccessDecision d = RbacEvaluator.of(RbacSnapshot.fromFiles(files)).check(b.build());
      spec.commandLine().getOut().println(d.allowed() ? "yes: " + d.explanation() : "no");
      spec.commandLine().getOut().flush();
      return d.allowed() ? 0 : 1;
    }
  }

  /**
   * {@code kubejit rbac audit}: subjects holding cluster-admin or an escalation-capable permission,
   * in one cluster or ({@code --all-clusters}) in every cluster of {@code kubejit.yaml}, marking
   * the KubeJIT grants among them (bindings labelled {@code app.kubernetes.io/managed-by=kubejit})
   * with their grant id and expiry.
   */
  @Command(name = "audit", mixinStandardHelpOptions = true,
      description = "List subjects holding cluster-admin or escalation-capable permissions; with --all-clusters, in "
          + "every cluster of the configuration, marking KubeJIT grants and when they expire.")
  static final class Audit implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--kubeconfig", description = "One cluster (default: the current kubeconfig).")
    Path kubeconfig;

    @Option(names = "--all-clusters", description = "Every cluster named in the configuration (--config).")
    boolean allClusters;

    @Option(names = "--config", paramLabel = "FILE", defaultValue = "kubejit.yaml",
        description = "The broker configuration whose clusters --all-clusters audits (default: ${DEFAULT-VALUE}).")
    Path config;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      RbacLinter linter = RbacLinter.builder().maxJitDuration(Duration.ofHours(8)).build();
      if (!allClusters) {
        List<PrivilegedSubject> subjects = linter.auditCluster(client(kubeconfig));
        for (PrivilegedSubject s : subjects) {
          out.println(s);
        }
        out.println(subjects.size() + " privileged subject bindings");
        out.flush();
        return 0;
      }
      if (kubeconfig != null) {
        throw new CliException("--kubeconfig and --all-clusters exclude each other", 64);
      }
      dev.kubejit.server.ServerConfig c;
      try {
        c = dev.kubejit.server.ServerConfig.load(config);
      } catch (RuntimeException e) {
        throw new CliException(e.getMessage(), 1);
      }
      if (c.clusters().isEmpty()) {
        throw new CliException(config + " names no clusters", 1);
      }
      int total = 0;
      int grants = 0;
      for (java.util.Map.Entry<String, dev.kubejit.server.ServerConfig.Cluster> e : c.clusters().entrySet()) {
        ApiClient api = clusterClient(e.getKey(), e.getValue());
        List<PrivilegedSubject> subjects;
        try {
          subjects = linter.auditCluster(api);
        } catch (RuntimeException ex) {
          throw new CliException("cluster " + e.getKey() + ": " + ex.getMessage(), ex);
        }
        out.println("cluster " + e.getKey() + ": " + subjects.size() + " privileged subject binding(s)");
        for (PrivilegedSubject s : subjects) {
          String jit = kubeJitGrant(api, s);
          if (jit != null) {
            grants++;
          }
          out.println("  " + s + (jit == null ? "" : " " + jit));
        }
        total += subjects.size();
      }
      out.println(total + " privileged subject bindings in " + c.clusters().size() + " clusters, " + grants
          + " of them KubeJIT grants");
      out.flush();
      return 0;
    }

    private static ApiClient clusterClient(String name, dev.kubejit.server.ServerConfig.Cluster c) {
      try (java.io.Reader r = java.nio.file.Files.newBufferedReader(c.kubeconfig())) {
        io.kubernetes.client.util.KubeConfig kc = io.kubernetes.client.util.KubeConfig.loadKubeConfig(r);
        kc.setFile(c.kubeconfig().toFile());
        if (c.context().isPresent() && !kc.setContext(c.context().get())) {
          throw new CliException("cluster " + name + ": no context " + c.context().get() + " in " + c.kubeconfig());
        }
        return io.kubernetes.client.util.ClientBuilder.kubeconfig(kc).build();
      } catch (IOException | RuntimeException e) {
        if (e instanceof CliException ce) {
          throw ce;
        }
        throw new CliException("cluster " + name + ": cannot load kubeconfig " + c.kubeconfig() + ": " + e.getMessage(), e);
      }
    }

    /** {@code [KubeJIT grant ID, expires T]} for a binding KubeJIT manages, else null. */
    private static String kubeJitGrant(ApiClient api, PrivilegedSubject s) {
      io.kubernetes.client.openapi.apis.RbacAuthorizationV1Api rbac =
          new io.kubernetes.client.openapi.apis.RbacAuthorizationV1Api(api);
      io.kubernetes.client.openapi.models.V1ObjectMeta m;
      try {
        m = "ClusterRoleBinding".equals(s.bindingKind())
            ? rbac.readClusterRoleBinding(s.bindingName()).execute().getMetadata()
            : rbac.readNamespacedRoleBinding(s.bindingName(), s.bindingNamespace().orElseThrow()).execute().getMetadata();
      } catch (io.kubernetes.client.openapi.ApiException e) {
        return e.getCode() == 404 ? null : "[binding unreadable: HTTP " + e.getCode() + "]";
      }
      java.util.Map<String, String> labels = m.getLabels() == null ? java.util.Map.of() : m.getLabels();
      java.util.Map<String, String> notes = m.getAnnotations() == null ? java.util.Map.of() : m.getAnnotations();
      if (!"kubejit".equals(labels.get("app.kubernetes.io/managed-by"))) {
        return null;
      }
      String grant = labels.getOrDefault("kubejit.dev/grant-id", notes.getOrDefault("kubejit.dev/grant-id", "?"));
      String expires = notes.getOrDefault("kubejit.dev/expires-at", labels.getOrDefault("kubejit.dev/expires-at", "?"));
      return "[KubeJIT grant " + dev.kubejit.api.SafeText.quote(grant) + ", expires " + dev.kubejit.api.SafeText.quote(expires)
          + "]";
    }
  }

  /**
   * One line per deletion: {@code GRANT_EXPIRED RoleBinding/ns/name cause=EXPIRED expiresAt=...
   * grant=...} (and {@code expiryRefused=...} when the expiry was missing, unparseable or beyond the
   * absolute cap).
   */
  static String describe(dev.kubejit.api.AuditEvent e) {
    java.util.Map<String, String> a = e.attributes();
    StringBuilder sb = new StringBuilder().append(e.type()).append(' ').append(a.getOrDefault("binding", "?"))
        .append(" cause=").append(a.getOrDefault("cause", "?"))
        .append(" expiresAt=").append(dev.kubejit.api.SafeText.quote(a.getOrDefault("expiresAt", "?")));
    if (a.containsKey("expiryRefused")) {
      sb.append(" expiryRefused=").append(dev.kubejit.api.SafeText.quote(a.get("expiryRefused")));
    }
    e.grantId().ifPresent(g -> sb.append(" grant=").append(g));
    return sb.toString();
  }

  /** {@code kubejit rbac reap}. */
  @Command(name = "reap", mixinStandardHelpOptions = true,
      description = "Delete expired KubeJIT bindings; with --once reconcile and exit, else run as a leader-elected reaper.")
  static final class Reap implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--kubeconfig")
    Path kubeconfig;

    @Option(names = "--once", description = "Delete what has expired now and exit (no leader election).")
    boolean once;

    @Option(names = "--cluster", defaultValue = "default", description = "Cluster name for audit records.")
    String cluster;

    @Override
    public Integer call() throws InterruptedException {
      PrintWriter out = spec.commandLine().getOut();
      AuditSink sink = events -> {
        synchronized (out) {
          events.forEach(e -> out.println(describe(e)));
          out.flush();
        }
      };
      ExpiryReaper reaper;
      try {
        reaper = ExpiryReaper.builder(client(kubeconfig)).auditSink(sink).clusterName(cluster).build();
      } catch (IllegalArgumentException e) {
        throw new CliException(e.getMessage());
      }
      if (once) {
        int n = reaper.reconcileOnce();
        out.println(n + " expired bindings deleted");
        out.flush();
        return 0;
      }
      CountDownLatch stop = new CountDownLatch(1);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        reaper.close();
        stop.countDown();
      }));
      reaper.start();
      out.println("reaper " + reaper.identity() + " running; Ctrl-C to stop");
      out.flush();
      stop.await();
      return 0;
    }
  }


  /** {@code kubejit rbac suggest}: least privilege learned from the API server's audit log. */
  @Command(name = "suggest", mixinStandardHelpOptions = true,
      description = {"From the Kubernetes audit log correlated with KubeJIT's, for one grant or every grant of a policy "
          + "role in a time window: the minimal rules for the calls that were authorised, the template's unused "
          + "permissions, the calls refused with 401/403, and (with --role-yaml) the narrowed Role."})
  static final class Suggest implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--k8s", required = true, arity = "1..*", paramLabel = "FILE",
        description = "The API server's audit log(s) (audit.k8s.io/v1 JSON lines).")
    List<Path> kube;

    @Option(names = "--jit", required = true, arity = "1..*", paramLabel = "FILE", description = "KubeJIT audit log(s).")
    List<Path> jit;

    @Option(names = "--grant", paramLabel = "ID", description = "A grant id (repeatable).")
    List<String> grants = new ArrayList<>();

    @Option(names = "--role", paramLabel = "ROLE", description = "Every grant of this policy role (with --since/--until).")
    String role;

    @Option(names = "--since", paramLabel = "TIME", description = "Grants activated at or after (RFC 3339).")
    String since;

    @Option(names = "--until", paramLabel = "TIME", description = "Grants activated before (RFC 3339).")
    String until;

    @Option(names = "--template", required = true, paramLabel = "NAME",
        description = "The built-in template the grants used: oncall-debug, jit-debug, jit-cluster-read, logs-reader.")
    String template;

    @Option(names = "--resource-names", description = "Limit get/update/patch/delete to the object names used.")
    boolean resourceNames;

    @Option(names = "--role-yaml", paramLabel = "FILE", description = "Write the narrowed Role (YAML) here.")
    Path roleYaml;

    @Option(names = "--role-name", paramLabel = "NAME", description = "Name of that Role (default: <template>-suggested).")
    String roleName;

    @Option(names = "--namespace", paramLabel = "NS",
        description = "Namespace of that Role (default: the one namespace the calls used).")
    String namespace;

    @Override
    public Integer call() {
      if (grants.isEmpty() == (role == null)) {
        throw new CliException("give either --grant ID... or --role ROLE", 64);
      }
      if (role == null && (since != null || until != null)) {
        throw new CliException("--since/--until select grants of a --role", 64);
      }
      java.time.Instant from = since == null ? java.time.Instant.MIN : AuditCommand.time("--since", since);
      java.time.Instant to = until == null ? java.time.Instant.MAX : AuditCommand.time("--until", until);
      RbacTemplate t;
      try {
        t = RbacTemplate.builtIn(template);
      } catch (RuntimeException e) {
        throw new CliException(e.getMessage(), 64);
      }
      dev.kubejit.audit.AuditCorrelator.Result correlated;
      java.util.Map<String, String> roleOfGrant = new java.util.HashMap<>();
      try {
        List<Path> jitFiles = new ArrayList<>();
        AuditCommand.logs(jit).forEach(jitFiles::addAll);
        List<Path> kubeFiles = kube;
        correlated = dev.kubejit.audit.AuditCorrelator.correlate(jitFiles, kubeFiles);
        dev.kubejit.audit.AuditQuery q = dev.kubejit.audit.AuditQuery.builder().type("GRANT_ACTIVATED").build();
        for (List<Path> log : AuditCommand.logs(jit)) {
          for (dev.kubejit.audit.AuditRecord r : q.run(log).records()) {
            r.event().ifPresent(e -> e.grantId().ifPresent(g -> {
              String rr = e.attributes().get("role");
              if (rr != null) {
                roleOfGrant.put(g.toString(), rr);
              }
            }));
          }
        }
      } catch (RuntimeException e) {
        throw new CliException("cannot read the audit logs: " + e.getMessage(), e);
      }
      List<dev.kubejit.audit.AuditCorrelator.GrantUsage> chosen = new ArrayList<>();
      for (dev.kubejit.audit.AuditCorrelator.GrantUsage g : correlated.grants()) {
        boolean pick = role == null ? grants.contains(g.grantId())
            : role.equals(roleOfGrant.get(g.grantId())) && !g.from().isBefore(from) && g.from().isBefore(to);
        if (pick) {
          chosen.add(g);
        }
      }
      if (chosen.isEmpty()) {
        throw new CliException("no matching grant in the KubeJIT log" + (role == null ? " for " + grants
            : " for role " + role), 1);
      }
      if (role == null && chosen.size() < new java.util.HashSet<>(grants).size()) {
        throw new CliException("some grants are not in the KubeJIT log: asked " + grants + ", found "
            + chosen.stream().map(dev.kubejit.audit.AuditCorrelator.GrantUsage::grantId).toList(), 1);
      }
      List<RbacSuggestion.Call> calls = new ArrayList<>();
      java.util.Set<String> namespaces = new java.util.TreeSet<>();
      for (dev.kubejit.audit.AuditCorrelator.GrantUsage g : chosen) {
        for (dev.kubejit.audit.AuditCorrelator.ApiCall c : g.calls()) {
          calls.add(new RbacSuggestion.Call(apiGroup(c.requestUri()), c.resource(), c.subresource(), c.verb(),
              c.namespace(), c.name(), c.code()));
          if (c.namespace() != null && c.resource() != null) {
            namespaces.add(c.namespace());
          }
        }
      }
      RbacSuggestion s = RbacSuggestion.suggest(t, calls, resourceNames);
      PrintWriter out = spec.commandLine().getOut();
      out.println(chosen.size() + " grant(s), " + calls.size() + " API call(s)");
      out.print(s.toText());
      if (roleYaml != null) {
        String ns = namespace;
        if (ns == null) {
          if (namespaces.size() != 1) {
            throw new CliException("the calls used namespaces " + namespaces + "; say which with --namespace", 64);
          }
          ns = namespaces.iterator().next();
        }
        try {
          java.nio.file.Files.writeString(roleYaml, s.roleYaml(roleName == null ? template + "-suggested" : roleName, ns));
        } catch (IllegalStateException e) {
          throw new CliException(e.getMessage(), 1);
        } catch (java.io.IOException e) {
          throw new CliException("cannot write " + roleYaml + ": " + e.getMessage(), e);
        }
        out.println("narrowed Role written to " + roleYaml);
      }
      out.flush();
      return 0;
    }

    /** The API group of a request URI: {@code ""} for {@code /api/...}, else the segment after {@code /apis/}. */
    static String apiGroup(String requestUri) {
      if (requestUri != null && requestUri.startsWith("/apis/")) {
        int end = requestUri.indexOf('/', 6);
        return end < 0 ? requestUri.substring(6) : requestUri.substring(6, end);
      }
      return "";
    }
  }
}
