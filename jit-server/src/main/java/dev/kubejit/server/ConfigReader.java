package dev.kubejit.server;

import dev.kubejit.api.SafeText;
import dev.kubejit.policy.internal.StrictReader;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads a {@code kubejit.yaml} document into {@link Parts} with a {@link StrictReader}.
 *
 * <p>Design notes: each mapping is read key by key, every value checked as it is read (so the
 * error points at the value), then the mapping is checked as a whole (required keys, "exactly one
 * of") with the error pointing at the mapping. Keys that would hold a secret are refused by name
 * before their value is looked at. Cross-section rules (header authentication and plain HTTP only
 * on loopback, mutual TLS needs TLS) are checked last, at the section they concern.
 */
final class ConfigReader {
  static final Pattern CLUSTER_NAME = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  static final Pattern NAMESPACE = CLUSTER_NAME;
  static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,127}");
  static final Pattern HEADER = Pattern.compile("[A-Za-z0-9][A-Za-z0-9-]{0,63}");
  static final Pattern CLAIM = Pattern.compile("[A-Za-z0-9_:./-]{1,128}");
  static final Pattern GROUP = Pattern.compile("[\\x21-\\x2b\\x2d-\\x7e]{1,256}");
  static final Pattern HOST = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9.-]{0,252})?");
  static final Duration MAX_SKEW = Duration.ofMinutes(5);
  /** Key names that would put a secret into the file; refused wherever they appear. */
  static final Set<String> SECRET_KEYS = Set.of("password", "secret", "token", "clientsecret", "privatekey",
      "apikey", "bearertoken", "key", "passphrase", "credentials");

  /** The validated values, handed to the {@link ServerConfig} constructor. */
  static final class Parts {
    Path source;
    Path policyFile;
    ServerConfig.Store store;
    Path auditDirectory;
    Path auditSigningKeyFile;
    Path x509CaDirectory;
    Path sshCaDirectory;
    final Map<String, ServerConfig.Cluster> clusters = new LinkedHashMap<>();
    final java.util.List<String> adminGroups = new java.util.ArrayList<>();
    String listenHost;
    int listenPort;
    Path tlsCertificateFile;
    Path tlsKeyFile;
    ServerConfig.Authentication authentication;
    ServerConfig.Console console;
    ChatOpsConfig chatOps;
    ServerConfig.Admission admission;
    ServerConfig.Gateway gateway;
    ServerConfig.Membership membership;
  }

  private final StrictReader<ConfigException> r;
  private final Path base;
  private final Parts parts = new Parts();

  private ConfigReader(StrictReader<ConfigException> r, Path base) {
    this.r = r;
    this.base = base;
  }

  private static final StrictReader.Wording WORDING = new StrictReader.Wording("kubejit.yaml", "key", "a mapping", false);

  private static StrictReader<ConfigException> open(byte[] yaml, String source) {
    return StrictReader.open(yaml, StrictReader.Syntax.YAML, source, "", ConfigException::new, WORDING);
  }

  static Parts read(byte[] yaml, String source, Path base) {
    try (StrictReader<ConfigException> r = open(yaml, source)) {
      ConfigReader c = new ConfigReader(r, base);
      c.parts.source = Path.of(source);
      c.document();
      return c.parts;
    }
  }

  /** Refuses a key that names a secret, without reading its value. */
  void refuseSecret(String name, String path, String fileKey, String envKey) {
    if (SECRET_KEYS.contains(name.toLowerCase(Locale.ROOT).replace("_", "").replace("-", ""))) {
      r.skip();
      String instead = fileKey == null
          ? "reference a file or an environment variable in the key made for it"
          : "use " + fileKey + " (a file that holds it) or " + envKey + " (the name of an environment variable)";
      throw r.errorAt(path, "secrets are never written into kubejit.yaml: remove " + SafeText.quote(name)
          + " and " + instead);
    }
  }

  Path path(String path) {
    String s = r.string(path);
    if (s.startsWith("~")) {
      throw r.error(path, "~ is not expanded; write an absolute path or one relative to the configuration file");
    }
    if (s.indexOf('\0') >= 0 || s.chars().anyMatch(c -> c < 0x20)) {
      throw r.error(path, "a path must not contain control characters");
    }
    try {
      return base.resolve(s).normalize();
    } catch (InvalidPathException e) {
      throw r.error(path, "not a valid path: " + SafeText.quote(s));
    }
  }

  String matching(String path, Pattern p, String what) {
    String s = r.string(path);
    if (!p.matcher(s).matches()) {
      throw r.error(path, "expected " + what + ", found " + SafeText.quote(s));
    }
    return s;
  }

  private ConfigException missing(String path, String key) {
    return r.errorAt(path, "missing required key " + SafeText.quote(key));
  }

  private void document() {
    boolean[] seen = new boolean[2];
    String[] listenPath = new String[1];
    String[] authPath = new String[1];
    String[] consolePath = new String[1];
    String[] chatopsPath = new String[1];
    String[] admissionPath = new String[1];
    String[] gatewayPath = new String[1];
    r.root((name, path) -> {
      refuseSecret(name, path, null, null);
      switch (name) {
        case "apiVersion":
          String v = r.string(path);
          if (!ServerConfig.API_VERSION.equals(v)) {
            throw r.error(path, "apiVersion must be " + ServerConfig.API_VERSION + ", not " + SafeText.quote(v));
          }
          seen[0] = true;
          break;
        case "kind":
          String k = r.string(path);
          if (!ServerConfig.KIND.equals(k)) {
            throw r.error(path, "kind must be " + ServerConfig.KIND + ", not " + SafeText.quote(k));
          }
          seen[1] = true;
          break;
        case "policy":
          parts.policyFile = path(path);
          break;
        case "store":
          parts.store = store(path);
          break;
        case "audit":
          audit(path);
          break;
        case "certificateAuthorities":
          cas(path);
          break;
        case "clusters":
          clusters(path);
          break;
        case "adminGroups":
          java.util.Set<String> seenGroups = new java.util.HashSet<>();
          parts.adminGroups.addAll(r.list(path, "group", p -> {
            String g = r.string(p);
            if (!GROUP.matcher(g).matches()) {
              throw r.error(p, "expected a group name (printable, no spaces or commas, at most 256 characters), found "
                  + SafeText.quote(g));
            }
            if (!seenGroups.add(g)) {
              throw r.error(p, "group " + SafeText.quote(g) + " is listed twice");
            }
            return g;
          }));
          break;
        case "listen":
          listenPath[0] = path;
          listen(path);
          break;
        case "authentication":
          authPath[0] = path;
          parts.authentication = authentication(path);
          break;
        case "console":
          consolePath[0] = path;
          parts.console = console(path);
          break;
        case "chatops":
          chatopsPath[0] = path;
          parts.chatOps = ChatOpsConfigReader.read(r, this, path);
          break;
        case "admission":
          admissionPath[0] = path;
          parts.admission = admission(path);
          break;
        case "gateway":
          gatewayPath[0] = path;
          parts.gateway = gateway(path);
          break;
        case "membership":
          parts.membership = membership(path);
          break;
        default:
          throw r.unknown(path, name,
              "apiVersion, kind, policy, store, audit, certificateAuthorities, clusters, adminGroups, listen, authentication,"
                  + " console, chatops, admission, gateway, membership");
      }
    });
    String[] required = {"apiVersion", "kind", "policy", "audit", "certificateAuthorities", "listen", "authentication"};
    Object[] values = {seen[0] ? "" : null, seen[1] ? "" : null, parts.policyFile, parts.auditDirectory,
        parts.x509CaDirectory, parts.listenHost, parts.authentication};
    for (int i = 0; i < required.length; i++) {
      if (values[i] == null) {
        throw missing("", required[i]);
      }
    }
    if (parts.store == null) {
      parts.store = ServerConfig.Store.sqlite(base.resolve("kubejit.db"));
    }
    boolean loopback = ServerConfig.isLoopback(parts.listenHost);
    if (parts.tlsCertificateFile == null && !loopback) {
      throw r.errorAt(listenPath[0], "listen.tls is required unless the service listens on loopback (127.0.0.1, ::1 "
          + "or localhost); " + SafeText.quote(parts.listenHost) + " is not loopback");
    }
    ServerConfig.Authentication.Mode mode = parts.authentication.mode();
    if (mode == ServerConfig.Authentication.Mode.DEV_HEADER && !loopback) {
      throw r.errorAt(authPath[0], "devHeader authentication takes the identity from a request header and is allowed "
          + "only when listen.address is loopback, not " + SafeText.quote(parts.listenHost) + "; use oidc or mtls");
    }
    if (mode == ServerConfig.Authentication.Mode.MTLS && parts.tlsCertificateFile == null) {
      throw r.errorAt(authPath[0], "mtls authentication needs listen.tls (certFile and keyFile)");
    }
    if (parts.chatOps != null && parts.chatOps.slack().isPresent()) {
      java.util.Optional<String> cluster = parts.chatOps.slack().get().cluster();
      if (cluster.isEmpty() && parts.clusters.size() > 1) {
        throw r.errorAt(chatopsPath[0], "chatops.slack.cluster is required when more than one cluster is configured");
      }
      if (cluster.isPresent() && !parts.clusters.isEmpty() && !parts.clusters.containsKey(cluster.get())) {
        throw r.errorAt(chatopsPath[0], "chatops.slack.cluster " + SafeText.quote(cluster.get())
            + " is not one of the configured clusters " + parts.clusters.keySet());
      }
      if (cluster.isEmpty() && parts.clusters.isEmpty()) {
        throw r.errorAt(chatopsPath[0], "chatops.slack.cluster is required when no clusters are configured");
      }
    }
    if (parts.console != null && mode != ServerConfig.Authentication.Mode.OIDC) {
      throw r.errorAt(consolePath[0], "the console signs people in at the OIDC issuer of authentication.oidc; "
          + "it needs authentication.oidc, not " + mode.name().toLowerCase(Locale.ROOT).replace("_", ""));
    }
    if (parts.console != null && parts.console.baseUrl().isEmpty() && parts.tlsCertificateFile == null
        && !parts.listenHost.equals("127.0.0.1") && !parts.listenHost.equals("localhost")) {
      throw r.errorAt(consolePath[0], "console.baseUrl is required when listen.address is neither TLS nor "
          + "127.0.0.1/localhost (the console's cookies are Secure)");
    }
    if (parts.admission != null) {
      if (parts.tlsCertificateFile == null) {
        throw r.errorAt(admissionPath[0], "the API server calls webhooks only over HTTPS: admission needs listen.tls");
      }
      boolean known = parts.clusters.containsKey(parts.admission.cluster());
      if (!known && !parts.clusters.isEmpty()) {
        throw r.errorAt(admissionPath[0], "admission.cluster " + SafeText.quote(parts.admission.cluster())
            + " is not one of clusters " + parts.clusters.keySet());
      }
      if (!known && parts.admission.rbac().isPresent()) {
        throw r.errorAt(admissionPath[0], "admission.rbac reads the roles bindings refer to from the guarded cluster: "
            + "admission.cluster must be one of clusters, and there are none");
      }
    }
    if (parts.gateway != null && !parts.clusters.containsKey(parts.gateway.cluster())) {
      throw r.errorAt(gatewayPath[0], "gateway.cluster " + SafeText.quote(parts.gateway.cluster())
          + " must be one of clusters " + parts.clusters.keySet() + ": the gateway runs commands in that cluster's pods");
    }
  }

  private ServerConfig.Console console(String cpath) {
    String[] clientId = new String[1];
    Path[] secret = new Path[1];
    java.net.URI[] baseUrl = new java.net.URI[1];
    Duration[] ttl = {Duration.ofMinutes(15)};
    java.util.List<String> auditors = new java.util.ArrayList<>();
    java.util.List<Path> kubeLogs = new java.util.ArrayList<>();
    String[] ssh = new String[1];
    Path[] recordings = new Path[1];
    r.object(cpath, (n, p) -> {
      refuseSecret(n, p, "clientSecretFile", "clientSecretFile");
      switch (n) {
        case "clientId":
          clientId[0] = matching(p, CLAIM, "an OIDC client ID");
          break;
        case "clientSecretFile":
          secret[0] = path(p);
          break;
        case "baseUrl":
          baseUrl[0] = baseUrl(p, true, "https://host[:port] (http only on 127.0.0.1 or localhost), no path");
          break;
        case "sessionTtl":
          ttl[0] = duration(p);
          if (ttl[0].compareTo(Duration.ofMinutes(1)) < 0 || ttl[0].compareTo(Duration.ofHours(12)) > 0) {
            throw r.error(p, "sessionTtl must be between PT1M and PT12H, found " + ttl[0]);
          }
          break;
        case "auditorGroups":
          java.util.Set<String> seen = new java.util.HashSet<>();
          auditors.addAll(r.list(p, "group", gp -> {
            String g = r.string(gp);
            if (!GROUP.matcher(g).matches()) {
              throw r.error(gp, "expected a group name (printable, no spaces or commas, at most 256 characters), found "
                  + SafeText.quote(g));
            }
            if (!seen.add(g)) {
              throw r.error(gp, "group " + SafeText.quote(g) + " is listed twice");
            }
            return g;
          }));
          break;
        case "kubeAuditLogs":
          kubeLogs.addAll(r.list(p, "file", this::path));
          break;
        case "gatewayRecordings":
          recordings[0] = path(p);
          break;
        case "sshCommand":
          String c = r.string(p);
          if (c.length() > 512 || c.chars().anyMatch(ch -> ch < 0x20)) {
            throw r.error(p, "expected one line of at most 512 characters");
          }
          ssh[0] = c;
          break;
        default:
          throw r.unknown(p, n, "clientId, clientSecretFile, baseUrl, sessionTtl, auditorGroups, kubeAuditLogs, sshCommand, "
              + "gatewayRecordings");
      }
    });
    if (clientId[0] == null) {
      throw missing(cpath, "clientId");
    }
    return new ServerConfig.Console(clientId[0], secret[0], baseUrl[0], ttl[0], auditors, kubeLogs, ssh[0], recordings[0]);
  }

  private ServerConfig.Admission admission(String apath) {
    String[] cluster = new String[1];
    Duration[] refresh = {Duration.ofSeconds(2)};
    boolean[] on = {true, true};
    ServerConfig.Admission.Rbac[] rbac = new ServerConfig.Admission.Rbac[1];
    r.object(apath, (n, p) -> {
      refuseSecret(n, p, null, null);
      switch (n) {
        case "cluster":
          cluster[0] = matching(p, CLUSTER_NAME, "a cluster name (DNS label)");
          break;
        case "grantRefresh":
          refresh[0] = duration(p);
          if (refresh[0].compareTo(Duration.ofSeconds(1)) < 0 || refresh[0].compareTo(Duration.ofMinutes(5)) > 0) {
            throw r.error(p, "grantRefresh must be between PT1S and PT5M, found " + refresh[0]);
          }
          break;
        case "exec":
          on[0] = r.bool(p);
          break;
        case "authorize":
          on[1] = r.bool(p);
          break;
        case "rbac":
          rbac[0] = admissionRbac(p);
          break;
        default:
          throw r.unknown(p, n, "cluster, grantRefresh, exec, authorize, rbac");
      }
    });
    if (cluster[0] == null) {
      throw missing(apath, "cluster");
    }
    if (!on[0] && !on[1] && rbac[0] == null) {
      throw r.errorAt(apath, "admission serves nothing: exec and authorize are false and there is no rbac section");
    }
    return new ServerConfig.Admission(cluster[0], refresh[0], on[0], on[1], rbac[0]);
  }

  private ServerConfig.Admission.Rbac admissionRbac(String rpath) {
    boolean[] escalation = {true};
    Duration[] max = new Duration[1];
    java.util.List<String> users = new java.util.ArrayList<>();
    java.util.List<String> groups = new java.util.ArrayList<>();
    r.object(rpath, (n, p) -> {
      switch (n) {
        case "escalationChecks":
          escalation[0] = r.bool(p);
          break;
        case "maxBindingDuration":
          max[0] = duration(p);
          if (max[0].isZero() || max[0].compareTo(dev.kubejit.api.Lifetimes.ABSOLUTE_MAX) > 0) {
            throw r.error(p, "maxBindingDuration must be positive and at most " + dev.kubejit.api.Lifetimes.ABSOLUTE_MAX
                + ", found " + max[0]);
          }
          break;
        case "allowUsers":
        case "allowGroups":
          java.util.Set<String> seen = new java.util.HashSet<>();
          (n.equals("allowUsers") ? users : groups).addAll(r.list(p, n.equals("allowUsers") ? "user" : "group", q -> {
            String v = r.string(q);
            if (!GROUP.matcher(v).matches()) {
              throw r.error(q, "expected a Kubernetes user or group name (printable, no spaces or commas, at most 256 "
                  + "characters), found " + SafeText.quote(v));
            }
            if (!seen.add(v)) {
              throw r.error(q, SafeText.quote(v) + " is listed twice");
            }
            return v;
          }));
          break;
        default:
          throw r.unknown(p, n, "escalationChecks, maxBindingDuration, allowUsers, allowGroups");
      }
    });
    if (max[0] == null) {
      throw missing(rpath, "maxBindingDuration");
    }
    return new ServerConfig.Admission.Rbac(escalation[0], max[0], users, groups);
  }

  private ServerConfig.Gateway gateway(String gpath) {
    Object[][] listen = new Object[1][];
    Object[][] health = {{"127.0.0.1", 9090}};
    String[] cluster = new String[1];
    Path[] files = new Path[3];
    Duration[] interval = {Duration.ofSeconds(1)};
    r.object(gpath, (n, p) -> {
      refuseSecret(n, p, "hostKeyFile", "hostKeyFile");
      switch (n) {
        case "address":
          listen[0] = hostPort(p);
          break;
        case "healthAddress":
          health[0] = hostPort(p);
          break;
        case "cluster":
          cluster[0] = matching(p, CLUSTER_NAME, "a cluster name (DNS label)");
          break;
        case "hostKeyFile":
          files[0] = path(p);
          break;
        case "hostCertificateFile":
          files[1] = path(p);
          break;
        case "recordings":
          files[2] = path(p);
          break;
        case "checkInterval":
          interval[0] = duration(p);
          if (interval[0].compareTo(Duration.ofMillis(100)) < 0 || interval[0].compareTo(Duration.ofMinutes(1)) > 0) {
            throw r.error(p, "checkInterval must be between PT0.1S and PT1M, found " + interval[0]);
          }
          break;
        default:
          throw r.unknown(p, n, "address, healthAddress, cluster, hostKeyFile, hostCertificateFile, recordings,"
              + " checkInterval");
      }
    });
    String[] names = {"hostKeyFile", "hostCertificateFile", "recordings"};
    if (listen[0] == null) {
      throw missing(gpath, "address");
    }
    if (cluster[0] == null) {
      throw missing(gpath, "cluster");
    }
    for (int i = 0; i < names.length; i++) {
      if (files[i] == null) {
        throw missing(gpath, names[i]);
      }
    }
    if (listen[0][0].equals(health[0][0]) && listen[0][1].equals(health[0][1])) {
      throw r.errorAt(gpath, "gateway.healthAddress must differ from gateway.address, found " + health[0][0] + ":"
          + health[0][1] + " for both");
    }
    return new ServerConfig.Gateway((String) listen[0][0], (Integer) listen[0][1], cluster[0], files[0], files[1], files[2],
        interval[0], (String) health[0][0], (Integer) health[0][1]);
  }

  private ServerConfig.Membership membership(String mpath) {
    ServerConfig.Membership[] out = new ServerConfig.Membership[1];
    r.object(mpath, (name, kpath) -> {
      if (!name.equals("keycloak")) {
        throw r.unknown(kpath, name, "keycloak");
      }
      java.net.URI[] url = new java.net.URI[1];
      String[] realm = new String[1];
      String[] clientId = new String[1];
      Path[] files = new Path[2];
      r.object(kpath, (n, p) -> {
        refuseSecret(n, p, "clientSecretFile", "clientSecretFile");
        switch (n) {
          case "url":
            url[0] = baseUrl(p, false, "Keycloak's https://host[:port] without path");
            break;
          case "realm":
            realm[0] = matching(p, CLAIM, "a realm name");
            break;
          case "clientId":
            clientId[0] = matching(p, CLAIM, "an OIDC client ID");
            break;
          case "clientSecretFile":
            files[0] = path(p);
            break;
          case "caFile":
            files[1] = path(p);
            break;
          default:
            throw r.unknown(p, n, "url, realm, clientId, clientSecretFile, caFile");
        }
      });
      String[] required = {"url", "realm", "clientId", "clientSecretFile"};
      Object[] values = {url[0], realm[0], clientId[0], files[0]};
      for (int i = 0; i < required.length; i++) {
        if (values[i] == null) {
          throw missing(kpath, required[i]);
        }
      }
      out[0] = new ServerConfig.Membership(url[0], realm[0], clientId[0], files[0], files[1]);
    });
    if (out[0] == null) {
      throw missing(mpath, "keycloak");
    }
    return out[0];
  }

  /**
   * A server's base URL: https (plain http on 127.0.0.1 or localhost only if {@code loopbackHttp}),
   * a host, no user info, path, query or fragment; {@code expected} describes it in the error.
   */
  private java.net.URI baseUrl(String p, boolean loopbackHttp, String expected) {
    String u = r.string(p);
    java.net.URI uri;
    try {
      uri = new java.net.URI(u);
    } catch (java.net.URISyntaxException e) {
      throw r.error(p, "not a valid URL: " + SafeText.quote(u));
    }
    boolean httpAllowed = loopbackHttp && "http".equals(uri.getScheme())
        && ("127.0.0.1".equals(uri.getHost()) || "localhost".equals(uri.getHost()));
    if ((!"https".equals(uri.getScheme()) && !httpAllowed) || uri.getHost() == null || uri.getRawUserInfo() != null
        || uri.getRawQuery() != null || uri.getRawFragment() != null
        || !(uri.getRawPath() == null || uri.getRawPath().isEmpty() || uri.getRawPath().equals("/"))) {
      throw r.error(p, "expected " + expected + ", found " + SafeText.quote(u));
    }
    return uri;
  }

  private ServerConfig.Store store(String spath) {
    ServerConfig.Store[] out = new ServerConfig.Store[1];
    r.object(spath, (name, path) -> {
      refuseSecret(name, path, null, null);
      if (out[0] != null) {
        throw r.errorAt(path, "store holds exactly one of sqlite, postgresql, kubernetes; found a second: " + name);
      }
      switch (name) {
        case "sqlite":
          Path[] file = new Path[1];
          r.object(path, (n, p) -> {
            refuseSecret(n, p, null, null);
            if (!n.equals("file")) {
              throw r.unknown(p, n, "file");
            }
            file[0] = path(p);
          });
          out[0] = ServerConfig.Store.sqlite(file[0] == null ? base.resolve("kubejit.db") : file[0]);
          break;
        case "postgresql":
          out[0] = postgresql(path);
          break;
        case "kubernetes":
          String[] ns = new String[1];
          Path[] kc = new Path[1];
          r.object(path, (n, p) -> {
            refuseSecret(n, p, null, null);
            switch (n) {
              case "namespace":
                ns[0] = matching(p, NAMESPACE, "a Kubernetes namespace name");
                break;
              case "kubeconfig":
                kc[0] = path(p);
                break;
              default:
                throw r.unknown(p, n, "namespace, kubeconfig");
            }
          });
          if (ns[0] == null) {
            throw missing(path, "namespace");
          }
          out[0] = ServerConfig.Store.kubernetes(ns[0], kc[0]);
          break;
        default:
          throw r.unknown(path, name, "sqlite, postgresql, kubernetes");
      }
    });
    if (out[0] == null) {
      throw r.errorAt(spath, "store needs one of sqlite, postgresql, kubernetes (leave store out for the default SQLite file)");
    }
    return out[0];
  }

  private ServerConfig.Store postgresql(String ppath) {
    String[] url = new String[1];
    String[] user = new String[1];
    Path[] pwFile = new Path[1];
    String[] pwEnv = new String[1];
    String[] pwPath = new String[1];
    r.object(ppath, (n, p) -> {
      refuseSecret(n, p, "passwordFile", "passwordEnv");
      switch (n) {
        case "url":
          String u = r.string(p);
          if (!u.startsWith("jdbc:postgresql://")) {
            throw r.error(p, "expected a JDBC URL starting with jdbc:postgresql://");
          }
          String rest = u.substring("jdbc:postgresql://".length());
          int slash = rest.indexOf('/');
          String authority = slash < 0 ? rest : rest.substring(0, slash);
          if (authority.contains("@") || u.toLowerCase(Locale.ROOT).matches(".*[?&]password=.*")) {
            // the URL itself is not quoted: it holds a secret
            throw r.error(p, "the URL contains a password; remove it and use passwordFile or passwordEnv");
          }
          url[0] = u;
          break;
        case "user":
          user[0] = r.string(p);
          break;
        case "passwordFile":
          pwFile[0] = path(p);
          pwPath[0] = p;
          break;
        case "passwordEnv":
          // not echoed: a password pasted here by mistake must not reach a log
          pwEnv[0] = r.string(p);
          if (!ENV_NAME.matcher(pwEnv[0]).matches()) {
            throw r.error(p, "expected the name of an environment variable ([A-Za-z_][A-Za-z0-9_]*), not its value");
          }
          pwPath[0] = p;
          break;
        default:
          throw r.unknown(p, n, "url, user, passwordFile, passwordEnv");
      }
    });
    if (url[0] == null) {
      throw missing(ppath, "url");
    }
    if (pwFile[0] != null && pwEnv[0] != null) {
      throw r.errorAt(pwPath[0], "give the password by exactly one of passwordFile and passwordEnv, not both");
    }
    if (pwFile[0] == null && pwEnv[0] == null) {
      throw r.errorAt(ppath, "missing the password: add passwordFile (a file that holds it) or passwordEnv "
          + "(the name of an environment variable)");
    }
    return ServerConfig.Store.postgresql(url[0], user[0], pwFile[0], pwEnv[0]);
  }

  private void audit(String apath) {
    r.object(apath, (n, p) -> {
      refuseSecret(n, p, null, null);
      switch (n) {
        case "directory":
          parts.auditDirectory = path(p);
          break;
        case "signingKeyFile":
          parts.auditSigningKeyFile = path(p);
          break;
        default:
          throw r.unknown(p, n, "directory, signingKeyFile");
      }
    });
    if (parts.auditDirectory == null) {
      throw missing(apath, "directory");
    }
    if (parts.auditSigningKeyFile == null) {
      throw missing(apath, "signingKeyFile");
    }
  }

  private void cas(String cpath) {
    r.object(cpath, (n, p) -> {
      refuseSecret(n, p, null, null);
      switch (n) {
        case "x509":
          parts.x509CaDirectory = path(p);
          break;
        case "ssh":
          parts.sshCaDirectory = path(p);
          break;
        default:
          throw r.unknown(p, n, "x509, ssh");
      }
    });
    if (parts.x509CaDirectory == null) {
      throw missing(cpath, "x509");
    }
    if (parts.sshCaDirectory == null) {
      throw missing(cpath, "ssh");
    }
  }

  private void clusters(String cpath) {
    r.object(cpath, (name, path) -> {
      if (!CLUSTER_NAME.matcher(name).matches()) {
        throw r.errorAt(path, "a cluster name must be a DNS label (lower-case letters, digits and '-', at most 63), not "
            + SafeText.quote(name));
      }
      Path[] kc = new Path[1];
      String[] ctx = new String[1];
      r.object(path, (n, p) -> {
        refuseSecret(n, p, null, null);
        switch (n) {
          case "kubeconfig":
            kc[0] = path(p);
            break;
          case "context":
            ctx[0] = r.string(p);
            break;
          default:
            throw r.unknown(p, n, "kubeconfig, context");
        }
      });
      if (kc[0] == null) {
        throw missing(path, "kubeconfig");
      }
      parts.clusters.put(name, new ServerConfig.Cluster(kc[0], ctx[0]));
    });
  }

  private void listen(String lpath) {
    String[] tlsPath = new String[1];
    r.object(lpath, (n, p) -> {
      refuseSecret(n, p, null, null);
      switch (n) {
        case "address":
          address(p);
          break;
        case "tls":
          tlsPath[0] = p;
          r.object(p, (tn, tp) -> {
            refuseSecret(tn, tp, null, null);
            switch (tn) {
              case "certFile":
                parts.tlsCertificateFile = path(tp);
                break;
              case "keyFile":
                parts.tlsKeyFile = path(tp);
                break;
              default:
                throw r.unknown(tp, tn, "certFile, keyFile");
            }
          });
          if (parts.tlsCertificateFile == null) {
            throw missing(p, "certFile");
          }
          if (parts.tlsKeyFile == null) {
            throw missing(p, "keyFile");
          }
          break;
        default:
          throw r.unknown(p, n, "address, tls");
      }
    });
    if (parts.listenHost == null) {
      throw missing(lpath, "address");
    }
  }

  private void address(String path) {
    Object[] hp = hostPort(path);
    parts.listenHost = (String) hp[0];
    parts.listenPort = (Integer) hp[1];
  }

  /** A {@code host:port} (IPv6 as {@code [::1]:port}) as {host, port}. */
  private Object[] hostPort(String path) {
    String a = r.string(path);
    String host;
    String port;
    if (a.startsWith("[")) {
      int close = a.indexOf("]:");
      if (close < 0) {
        throw r.error(path, "expected [IPv6]:port, found " + SafeText.quote(a));
      }
      host = a.substring(1, close);
      port = a.substring(close + 2);
      if (!host.matches("[0-9A-Fa-f:.]+") || !host.contains(":")) {
        throw r.error(path, "expected an IPv6 literal inside [ ], found " + SafeText.quote(host));
      }
    } else {
      int colon = a.lastIndexOf(':');
      if (colon <= 0 || a.indexOf(':') != colon) {
        throw r.error(path, "expected host:port (IPv6 as [::1]:8443), found " + SafeText.quote(a));
      }
      host = a.substring(0, colon);
      port = a.substring(colon + 1);
      if (!HOST.matcher(host).matches()) {
        throw r.error(path, "expected a host name or IPv4 address, found " + SafeText.quote(host));
      }
    }
    if (!port.matches("[0-9]{1,5}") || Integer.parseInt(port) < 1 || Integer.parseInt(port) > 65535) {
      throw r.error(path, "expected a port from 1 to 65535, found " + SafeText.quote(port));
    }
    return new Object[] {host, Integer.parseInt(port)};
  }

  private ServerConfig.Authentication authentication(String apath) {
    ServerConfig.Authentication[] out = new ServerConfig.Authentication[1];
    r.object(apath, (name, path) -> {
      refuseSecret(name, path, null, null);
      if (out[0] != null) {
        throw r.errorAt(path, "authentication holds exactly one of oidc, mtls, devHeader; found a second: " + name);
      }
      switch (name) {
        case "oidc":
          out[0] = oidc(path);
          break;
        case "mtls":
          Path[] ca = new Path[1];
          r.object(path, (n, p) -> {
            refuseSecret(n, p, null, null);
            if (!n.equals("clientCaFile")) {
              throw r.unknown(p, n, "clientCaFile");
            }
            ca[0] = path(p);
          });
          if (ca[0] == null) {
            throw missing(path, "clientCaFile");
          }
          out[0] = ServerConfig.Authentication.mtls(ca[0]);
          break;
        case "devHeader":
          String[] header = {"X-KubeJIT-User"};
          r.object(path, (n, p) -> {
            refuseSecret(n, p, null, null);
            if (!n.equals("header")) {
              throw r.unknown(p, n, "header");
            }
            header[0] = matching(p, HEADER, "an HTTP header name");
          });
          out[0] = ServerConfig.Authentication.devHeader(header[0]);
          break;
        default:
          throw r.unknown(path, name, "oidc, mtls, devHeader");
      }
    });
    if (out[0] == null) {
      throw r.errorAt(apath, "authentication needs one of oidc, mtls, devHeader");
    }
    return out[0];
  }

  private ServerConfig.Authentication oidc(String opath) {
    String[] s = new String[5];
    Path[] files = new Path[2];
    Duration[] skew = {Duration.ofSeconds(60)};
    r.object(opath, (n, p) -> {
      refuseSecret(n, p, null, null);
      switch (n) {
        case "issuer":
          s[0] = r.string(p);
          ServerConfig.checkHttpsUrl(s[0], r, p);
          break;
        case "audience":
          s[1] = r.string(p);
          break;
        case "jwksFile":
          files[0] = path(p);
          break;
        case "jwksUrl":
          s[2] = r.string(p);
          ServerConfig.checkHttpsUrl(s[2], r, p);
          break;
        case "groupsClaim":
          s[3] = matching(p, CLAIM, "a claim name");
          break;
        case "usernameClaim":
          s[4] = matching(p, CLAIM, "a claim name");
          break;
        case "caFile":
          files[1] = path(p);
          break;
        case "clockSkew":
          skew[0] = duration(p);
          if (skew[0].compareTo(MAX_SKEW) > 0) {
            throw r.error(p, "clockSkew must be at most PT5M, found " + skew[0]);
          }
          break;
        default:
          throw r.unknown(p, n, "issuer, audience, jwksFile, jwksUrl, caFile, groupsClaim, usernameClaim, clockSkew");
      }
    });
    if (s[0] == null) {
      throw missing(opath, "issuer");
    }
    if (s[1] == null) {
      throw missing(opath, "audience");
    }
    if ((files[0] == null) == (s[2] == null)) {
      throw r.errorAt(opath, "give the issuer's keys by exactly one of jwksFile and jwksUrl");
    }
    if (files[1] != null && s[2] == null) {
      throw r.errorAt(opath, "caFile is the CA for jwksUrl's https connection; it needs jwksUrl");
    }
    return ServerConfig.Authentication.oidc(s[0], s[1], files[0], s[2], s[3] == null ? "groups" : s[3],
        s[4] == null ? "sub" : s[4], files[1], skew[0]);
  }

  private Duration duration(String path) {
    String s = r.string(path);
    try {
      Duration d = Duration.parse(s);
      if (d.isNegative()) {
        throw r.error(path, "a duration must not be negative, found " + SafeText.quote(s));
      }
      return d;
    } catch (DateTimeParseException e) {
      throw r.error(path, "expected an ISO-8601 duration such as PT30S or PT1M, found " + SafeText.quote(s));
    }
  }
}
