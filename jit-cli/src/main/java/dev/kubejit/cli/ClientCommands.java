package dev.kubejit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.RequestId;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * The commands of the broker's client: {@code login}, {@code request}, {@code approve}, {@code
 * deny}, {@code get}, {@code activate}, {@code revoke} and {@code kubeconfig}. Each talks to the
 * broker configured by {@code kubejit login} in {@code ~/.kubejit} ({@link ClientHome}).
 */
final class ClientCommands {
  private ClientCommands() {}

  /** {@code --home}: where the client keeps its configuration, tokens, key and cache. */
  static final class HomeOption {
    @Option(names = "--home", paramLabel = "DIR",
        description = "Client directory (default: $KUBEJIT_HOME, else ~/.kubejit).")
    Path home;

    ClientHome resolve() {
      return ClientHome.resolve(home);
    }
  }

  /** {@code -o table|json|yaml}. */
  static final class OutputOption {
    @Option(names = {"-o", "--output"}, defaultValue = "table", paramLabel = "FORMAT",
        description = "table (default), json or yaml.")
    Output.Format format;
  }

  static String requestId(String id) {
    try {
      return RequestId.parse(id).value();
    } catch (IllegalArgumentException e) {
      throw new CliException("not a request id: " + CredentialCommand.oneLine(id) + " (see kubejit get requests)", 64);
    }
  }

  static String grantId(String id) {
    try {
      return GrantId.parse(id).value();
    } catch (IllegalArgumentException e) {
      throw new CliException("not a grant id: " + CredentialCommand.oneLine(id) + " (see kubejit get grants)", 64);
    }
  }

  @Command(name = "login", mixinStandardHelpOptions = true, sortOptions = false,
      description = {"Log in to a KubeJIT broker.",
          "Reads how the broker authenticates (GET /api/v1/login-config): for OIDC, runs the device login "
              + "(open the URL, enter the code) and keeps the tokens in ~/.kubejit/tokens (0600), refreshed silently; "
              + "--token-file uses a token that automation keeps in a file instead."})
  static final class Login implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin HomeOption home;

    @Option(names = "--server", paramLabel = "URL", description = "The broker, https://host:port (default: the one logged in to before).")
    String server;

    @Option(names = "--ca-file", paramLabel = "FILE", description = "CA certificate(s) that verify the broker (default: the JDK's trust store).")
    Path caFile;

    @Option(names = "--issuer-ca-file", paramLabel = "FILE", description = "CA certificate(s) that verify the OIDC issuer (default: the JDK's trust store).")
    Path issuerCaFile;

    @Option(names = "--token-file", paramLabel = "FILE", description = "Automation: send the OIDC ID token in FILE (0600), read on every call.")
    Path tokenFile;

    @Option(names = "--client-cert", paramLabel = "FILE", description = "Mutual TLS: client certificate (PEM).")
    Path clientCert;

    @Option(names = "--client-key", paramLabel = "FILE", description = "Mutual TLS: client key (PKCS#8 PEM, 0600).")
    Path clientKey;

    @Option(names = "--dev-user", paramLabel = "USER[;GROUP,...]", description = "Development header auth only: the identity to send.")
    String devUser;

    OidcLogin.Sleeper sleeper = d -> Thread.sleep(d.toMillis());

    @Override
    public Integer call() {
      ClientHome h = home.resolve();
      Properties old = null;
      try {
        old = h.config();
      } catch (CliException notLoggedIn) {
        // first login
      }
      String url = server != null ? server : old == null ? null : old.getProperty("server");
      if (url == null) {
        throw new CliException("which broker? run: kubejit login --server https://HOST:PORT", 64);
      }
      URI broker = BrokerClient.serverUri(url);
      Path ca = caFile != null ? caFile.toAbsolutePath() : old != null && server == null && old.getProperty("caFile") != null
          ? Path.of(old.getProperty("caFile")) : null;
      JsonNode lc = BrokerClient.anonymous(broker, ca).get("/api/v1/login-config");
      String mode = lc.path("mode").asText("");
      Properties c = new Properties();
      c.setProperty("server", broker.toString());
      if (ca != null) {
        c.setProperty("caFile", ca.toString());
      }
      PrintWriter out = spec.commandLine().getOut();
      Properties tokens = null;
      switch (mode) {
        case "oidc":
          c.setProperty("issuer", OidcLogin.issuerUri(lc.path("issuer").asText("")).toString());
          c.setProperty("clientId", lc.path("clientId").asText(""));
          if (issuerCaFile != null) {
            c.setProperty("issuerCaFile", issuerCaFile.toAbsolutePath().toString());
          }
          if (tokenFile != null) {
            ClientHome.readPrivate(tokenFile);
            c.setProperty("auth", "tokenFile");
            c.setProperty("tokenFile", tokenFile.toAbsolutePath().toString());
          } else {
            c.setProperty("auth", "oidc");
            tokens = new OidcLogin(URI.create(c.getProperty("issuer")), c.getProperty("clientId"), issuerCaFile, Clock.systemUTC())
                .deviceLogin(out, sleeper);
          }
          break;
        case "mtls":
          if (clientCert == null || clientKey == null) {
            throw new CliException("the broker authenticates by client certificate: pass --client-cert and --client-key", 64);
          }
          BrokerClient.privateKey(clientKey);
          c.setProperty("auth", "mtls");
          c.setProperty("clientCert", clientCert.toAbsolutePath().toString());
          c.setProperty("clientKey", clientKey.toAbsolutePath().toString());
          break;
        case "devHeader":
          if (devUser == null || devUser.isBlank()) {
            throw new CliException("the broker is a development server that takes the identity from a header: pass --dev-user USER[;GROUP,...]", 64);
          }
          c.setProperty("auth", "devHeader");
          c.setProperty("devHeader", lc.path("header").asText("X-KubeJIT-User"));
          c.setProperty("devUser", devUser);
          break;
        default:
          throw new CliException("the broker's login-config names an unknown mode: " + CredentialCommand.oneLine(mode), BrokerClient.EXIT_SERVER);
      }
      // the new login replaces the old one only once the broker accepts it
      String oldConfig = java.nio.file.Files.exists(h.configFile()) ? ClientHome.readPrivate(h.configFile()) : null;
      String oldTokens = java.nio.file.Files.exists(h.tokensFile()) ? ClientHome.readPrivate(h.tokensFile()) : null;
      h.writeConfig(c);
      if (tokens != null) {
        h.writeTokens(tokens);
      }
      JsonNode me;
      try {
        me = BrokerClient.open(h).get("/api/v1/whoami");
      } catch (RuntimeException e) {
        restore(h.configFile(), oldConfig);
        restore(h.tokensFile(), tokens == null ? null : oldTokens, tokens != null);
        throw e;
      }
      List<String> groups = new ArrayList<>();
      me.path("groups").forEach(g -> groups.add(g.asText()));
      out.println("Logged in to " + broker + " as " + Output.safe(me, "user") + " (groups: "
          + CredentialCommand.oneLine(String.join(", ", groups)) + "; " + Output.safe(me, "source") + ").");
      out.flush();
      return 0;
    }
  }

  private static void restore(Path file, String content) {
    restore(file, content, true);
  }

  private static void restore(Path file, String content, boolean changed) {
    if (!changed) {
      return;
    }
    if (content != null) {
      ClientHome.writePrivate(file, content);
    } else {
      try {
        java.nio.file.Files.deleteIfExists(file);
      } catch (java.io.IOException e) {
        throw new CliException("cannot remove " + file + ": " + e.getMessage());
      }
    }
  }

  @Command(name = "request", mixinStandardHelpOptions = true, sortOptions = false,
      description = "Ask for access: a role, an action, a namespace (or one pod), for a while, with a reason.")
  static final class Request implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin HomeOption home;
    @Mixin OutputOption output;

    @Option(names = "--role", required = true, description = "The policy role, e.g. oncall-debug.")
    String role;

    @Option(names = "--action", required = true, description = "exec, logs, port-forward, ... (as the policy spells it).")
    String action;

    @Option(names = {"--namespace", "-n"}, required = true, description = "The namespace.")
    String namespace;

    @Option(names = "--pod", description = "Only this pod.")
    String pod;

    @Option(names = "--cluster", description = "The cluster (default: the broker's default).")
    String cluster;

    @Option(names = "--duration", required = true, description = "How long, e.g. 30m, 1h, 1h30m.")
    String duration;

    @Option(names = "--ticket", description = "The incident or change ticket, e.g. INC-1.")
    String ticket;

    @Option(names = "--reason", required = true, description = "Why you need it (approvers read this).")
    String reason;

    @Override
    public Integer call() {
      Duration d = CredentialCommand.parseDuration(duration);
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("role", role);
      body.put("action", action);
      if (cluster != null) {
        body.put("cluster", cluster);
      }
      body.put("namespace", namespace);
      if (pod != null) {
        body.put("pod", pod);
      }
      body.put("duration", d.toString());
      if (ticket != null) {
        body.put("ticket", ticket);
      }
      body.put("reason", reason);
      JsonNode r = BrokerClient.open(home.resolve()).post("/api/v1/requests", body);
      printRequest(spec, output.format, r);
      return 0;
    }
  }

  static void printRequest(CommandSpec spec, Output.Format format, JsonNode r) {
    PrintWriter out = spec.commandLine().getOut();
    if (format == Output.Format.table) {
      out.println(Output.describe(r));
      out.flush();
    } else {
      Output.print(out, format, r, List.of(r), Output.REQUEST_COLUMNS);
    }
  }

  @Command(name = "approve", mixinStandardHelpOptions = true, description = "Approve a pending request (as an approver).")
  static final class Approve implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin HomeOption home;
    @Mixin OutputOption output;

    @Parameters(paramLabel = "REQUEST", description = "The request id.")
    String id;

    @Option(names = "--comment", description = "A comment for the audit log.")
    String comment;

    @Override
    public Integer call() {
      String path = "/api/v1/requests/" + requestId(id) + "/approve";
      JsonNode r = BrokerClient.open(home.resolve()).post(path, BrokerClient.object("comment", comment));
      printRequest(spec, output.format, r);
      return 0;
    }
  }

  @Command(name = "deny", mixinStandardHelpOptions = true, description = "Deny a pending request (as an approver), saying why.")
  static final class Deny implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin HomeOption home;
    @Mixin OutputOption output;

    @Parameters(paramLabel = "REQUEST", description = "The request id.")
    String id;

    @Option(names = "--comment", required = true, description = "Why (the requester reads this).")
    String comment;

    @Override
    public Integer call() {
      String path = "/api/v1/requests/" + requestId(id) + "/deny";
      JsonNode r = BrokerClient.open(home.resolve()).post(path, BrokerClient.object("comment", comment));
      printRequest(spec, output.format, r);
      return 0;
    }
  }

  @Command(name = "revoke", mixinStandardHelpOptions = true, description = "End an active grant now (its request id).")
  static final class Revoke implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin HomeOption home;
    @Mixin OutputOption output;

    @Parameters(paramLabel = "REQUEST", description = "The request id.")
    String id;

    @Option(names = "--reason", description = "Why (the holder reads this).")
    String reason;

    @Override
    public Integer call() {
      String path = "/api/v1/requests/" + requestId(id) + "/revoke";
      JsonNode r = BrokerClient.open(home.resolve()).post(path, BrokerClient.object("reason", reason));
      printRequest(spec, output.format, r);
      return 0;
    }
  }

  @Command(name = "get", mixinStandardHelpOptions = true, sortOptions = false,
      description = "List requests or grants: kubejit get requests [ID] | kubejit get grants.")
  static final class Get implements Callable<Integer> {
    enum Kind { requests, request, grants, grant }

    @Spec CommandSpec spec;
    @Mixin HomeOption home;
    @Mixin OutputOption output;

    @Parameters(index = "0", paramLabel = "KIND", description = "requests or grants.")
    Kind kind;

    @Parameters(index = "1", arity = "0..1", paramLabel = "ID", description = "One request by id.")
    String id;

    @Option(names = "--state", description = "Requests in this state (PENDING, ACTIVE, ...).")
    String state;

    @Option(names = "--requester", description = "Requests of this user.")
    String requester;

    @Option(names = "--role", description = "Requests for this role.")
    String role;

    @Option(names = "--all", description = "Grants: also those no longer active.")
    boolean all;

    @Override
    public Integer call() {
      String one = id == null || !(kind == Kind.requests || kind == Kind.request) ? null : requestId(id);
      BrokerClient broker = BrokerClient.open(home.resolve());
      PrintWriter out = spec.commandLine().getOut();
      if (kind == Kind.requests || kind == Kind.request) {
        if (one != null) {
          JsonNode r = broker.get("/api/v1/requests/" + one);
          Output.print(out, output.format, r, List.of(r), Output.REQUEST_COLUMNS);
          return 0;
        }
        StringBuilder q = new StringBuilder();
        query(q, "state", state);
        query(q, "requester", requester);
        query(q, "role", role);
        JsonNode list = broker.get("/api/v1/requests" + q);
        Output.print(out, output.format, list, Output.items(list), Output.REQUEST_COLUMNS);
        return 0;
      }
      if (id != null || state != null || requester != null || role != null) {
        throw new CliException("get grants takes only --all and -o", 64);
      }
      JsonNode list = broker.get("/api/v1/grants" + (all ? "" : "?active=true"));
      Output.print(out, output.format, list, Output.items(list), Output.GRANT_COLUMNS);
      return 0;
    }

    private static void query(StringBuilder q, String name, String value) {
      if (value != null) {
        q.append(q.length() == 0 ? '?' : '&').append(name).append('=').append(BrokerClient.enc(value));
      }
    }
  }

  @Command(name = "activate", mixinStandardHelpOptions = true,
      description = {"Start using an approved request: sends the CSR of your key (created once under ~/.kubejit/keys, 0600;",
          "the private key never leaves this machine) and keeps the certificate for kubejit credential --grant."})
  static final class Activate implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin HomeOption home;
    @Mixin OutputOption output;

    @Parameters(paramLabel = "REQUEST", description = "The request id.")
    String id;

    @Option(names = "--key", paramLabel = "pkcs11:URI",
        description = "Sign the CSR with this key in a PKCS#11 token (RFC 7512 URI, e.g. pkcs11:object=alice;token=laptop"
            + "?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/home/alice/.pin); the key never leaves the token."
            + " Use the certificate with: kubejit proxy --grant ID --key URI")
    String key;

    @Option(names = "--ssh",
        description = "Also get an SSH user certificate for the gateway: for the KubeJIT SSH key (Ed25519, created once as"
            + " ~/.kubejit/keys/ssh_ed25519, 0600) or, with --key pkcs11:..., for the token's key. Then: kubejit ssh config --grant ID")
    boolean ssh;

    @Option(names = "--ssh-key", paramLabel = "FILE.pub",
        description = "Also get an SSH user certificate for your own OpenSSH public key (kept next to it as FILE-GRANT-cert.pub).")
    Path sshKey;

    @Override
    public Integer call() {
      String path = "/api/v1/requests/" + requestId(id) + "/activate";
      if (key != null && !Pkcs11Key.isUri(key)) {
        throw new CliException("--key takes a PKCS#11 URI (pkcs11:...), not " + CredentialCommand.oneLine(key), 64);
      }
      if (ssh && sshKey != null) {
        throw new CliException("--ssh and --ssh-key name two SSH keys; give one", 64);
      }
      if (sshKey != null && key != null) {
        throw new CliException("--ssh-key is for a key file; for the key in the PKCS#11 token pass --ssh with --key", 64);
      }
      ClientHome h = home.resolve();
      GrantCredentials creds = new GrantCredentials(h, Clock.systemUTC());
      Pkcs11Key token = key == null ? null : Pkcs11Key.open(key);
      GrantCredentials.SshIdentity sshId = sshKey != null ? GrantCredentials.publicKeyFile(sshKey)
          : !ssh ? null : token != null ? creds.pkcs11(token) : creds.kubejitSshKey();
      BrokerClient broker = BrokerClient.open(h);
      String csr = token == null ? creds.csr() : token.csrPem();
      com.fasterxml.jackson.databind.node.ObjectNode body = BrokerClient.object("csr", csr);
      if (sshId != null) {
        body.put("sshPublicKey", sshId.publicKeyLine());
      }
      JsonNode a = broker.post(path, body);
      JsonNode grant = a.path("grant");
      creds.store(grant, a.path("credentials"));
      Path sshCert = sshId == null ? null : creds.storeSsh(grant, a.path("credentials"), sshId);
      PrintWriter out = spec.commandLine().getOut();
      if (output.format != Output.Format.table) {
        Output.print(out, output.format, a, List.of(grant), Output.GRANT_COLUMNS);
        return 0;
      }
      String g = Output.safe(grant, "id");
      out.println("grant " + g + " active until " + Output.safe(grant, "expiresAt") + ": " + Output.safe(grant, "role") + " "
          + Output.safe(grant, "action") + " in " + Output.safe(grant, "cluster") + "/" + Output.safe(grant, "namespace")
          + (Output.text(grant, "pod").isEmpty() ? "" : " pod " + Output.safe(grant, "pod")));
      if (key != null) {
        out.println("certificate for the key in your PKCS#11 token kept in " + creds.cacheFile(g));
      } else {
        out.println("certificate for your key " + creds.keyFile() + " kept in " + creds.cacheFile(g));
      }
      if (sshCert != null) {
        out.println("SSH certificate for " + sshId.describe() + " kept in " + sshCert);
      }
      if (key != null) {
        out.println("next: kubejit proxy --grant " + g + " --key '" + CredentialCommand.oneLine(key) + "'");
      } else {
        out.println("next: kubejit kubeconfig --grant " + g + " --output jit-" + g + ".kubeconfig");
      }
      if (sshCert != null) {
        out.println("next: kubejit ssh config --grant " + g + " --gateway HOST:PORT --ca-public-key ssh_ca.pub");
      }
      out.flush();
      return 0;
    }
  }

  @Command(name = "kubeconfig", mixinStandardHelpOptions = true, sortOptions = false,
      description = {"Write a kubeconfig for a grant whose exec plugin is 'kubejit credential --grant ID'.",
          "Cluster URL and CA come from the broker (GET /api/v1/clusters); the context's namespace is the grant's."})
  static final class KubeconfigCmd implements Callable<Integer> {
    static final String LAUNCHER_ENV = "KUBEJIT_LAUNCHER";

    @Spec CommandSpec spec;
    @Mixin HomeOption home;

    @Option(names = "--grant", required = true, description = "The grant id (kubejit get grants).")
    String grant;

    @Option(names = "--output", paramLabel = "FILE", description = "Write here (0600) instead of stdout.")
    Path output;

    @Option(names = "--exec-command", paramLabel = "PATH",
        description = "Absolute path of the kubejit launcher kubectl runs (default: $KUBEJIT_LAUNCHER, set by ./kubejit and kubectl-jit).")
    Path execCommand;

    String launcherEnv = System.getenv(LAUNCHER_ENV);

    @Override
    public Integer call() {
      String g = grantId(grant);
      Path command = execCommand != null ? execCommand : launcherEnv == null || launcherEnv.isBlank() ? null : Path.of(launcherEnv);
      if (command == null || !command.isAbsolute()) {
        throw new CliException("kubectl needs the absolute path of the kubejit launcher: pass --exec-command /path/to/kubejit", 64);
      }
      ClientHome h = home.resolve();
      BrokerClient broker = BrokerClient.open(h);
      JsonNode found = activeGrant(broker, g);
      JsonNode cluster = clusterOf(broker, found);
      String yaml = render(g, found, cluster, command, h.isDefault() ? null : h.dir());
      if (output == null) {
        spec.commandLine().getOut().print(yaml);
        spec.commandLine().getOut().flush();
      } else {
        ClientHome.writePrivate(output.toAbsolutePath(), yaml);
        spec.commandLine().getErr().println("kubejit: wrote " + output + " (context jit-" + g + ", namespace "
            + Output.safe(found, "namespace") + ")");
        spec.commandLine().getErr().flush();
      }
      return 0;
    }

    /** The caller's active grant {@code grantId} as the broker lists it ({@code GET /api/v1/grants?active=true}). */
    static JsonNode activeGrant(BrokerClient broker, String grantId) {
      JsonNode found = null;
      for (JsonNode x : broker.get("/api/v1/grants?active=true").path("items")) {
        if (grantId.equals(x.path("id").asText())) {
          found = x;
        }
      }
      if (found == null) {
        throw new CliException("grant " + grantId + " is not one of your active grants (see kubejit get grants)",
            BrokerClient.EXIT_NOT_FOUND);
      }
      return found;
    }

    /** The grant's cluster entry in the broker's {@code GET /api/v1/clusters} (server URL and CA). */
    static JsonNode clusterOf(BrokerClient broker, JsonNode grant) {
      String clusterName = grant.path("cluster").asText();
      for (JsonNode x : broker.get("/api/v1/clusters").path("items")) {
        if (clusterName.equals(x.path("name").asText())) {
          return x;
        }
      }
      throw new CliException("the broker does not list the grant's cluster " + CredentialCommand.oneLine(clusterName)
          + " in /api/v1/clusters", BrokerClient.EXIT_SERVER);
    }

    /** The cluster's API server URL; only https. */
    static URI apiServer(JsonNode cluster) {
      String server = cluster.path("server").asText("");
      URI u = BrokerClient.serverUri(server);
      if (!"https".equals(u.getScheme())) {
        throw new CliException("the cluster's API server must be https: " + CredentialCommand.oneLine(server), BrokerClient.EXIT_SERVER);
      }
      return u;
    }

    /** The cluster's CA bundle as PEM ({@code certificateAuthorityData} is PEM or base64 PEM). */
    static String caPem(JsonNode cluster) {
      String ca = cluster.path("certificateAuthorityData").asText("");
      String pem;
      try {
        pem = ca.startsWith("-----BEGIN") ? ca
            : new String(Base64.getDecoder().decode(ca), java.nio.charset.StandardCharsets.US_ASCII);
      } catch (IllegalArgumentException e) {
        pem = "";
      }
      if (!pem.contains("-----BEGIN CERTIFICATE-----")) {
        throw new CliException("the broker's certificateAuthorityData for the cluster is neither PEM nor base64 PEM", BrokerClient.EXIT_SERVER);
      }
      return pem;
    }

    /** The kubeconfig: the cluster, a user whose exec plugin is {@code command credential --grant G}, the grant's namespace. */
    static String render(String grantId, JsonNode grant, JsonNode cluster, Path command, Path home) {
      URI u = apiServer(cluster);
      String caData = Base64.getEncoder().encodeToString(caPem(cluster).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      String name = "jit-" + grantId;
      Map<String, Object> exec = new LinkedHashMap<>();
      exec.put("apiVersion", "client.authentication.k8s.io/v1");
      exec.put("command", command.toString());
      exec.put("args", List.of("credential", "--grant", grantId));
      if (home != null) {
        exec.put("env", List.of(Map.of("name", ClientHome.ENV, "value", home.toString())));
      }
      exec.put("interactiveMode", "Never");
      exec.put("provideClusterInfo", false);
      Map<String, Object> clusterBody = new LinkedHashMap<>();
      clusterBody.put("server", u.toString());
      clusterBody.put("certificate-authority-data", caData);
      Map<String, Object> context = new LinkedHashMap<>();
      context.put("cluster", name);
      context.put("user", name);
      context.put("namespace", grant.path("namespace").asText());
      Map<String, Object> root = new LinkedHashMap<>();
      root.put("apiVersion", "v1");
      root.put("kind", "Config");
      root.put("clusters", List.of(Map.of("name", name, "cluster", clusterBody)));
      root.put("users", List.of(Map.of("name", name, "user", Map.of("exec", exec))));
      root.put("contexts", List.of(Map.of("name", name, "context", context)));
      root.put("current-context", name);
      return Output.yaml(root);
    }
  }
}
