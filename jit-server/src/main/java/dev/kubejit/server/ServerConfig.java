package dev.kubejit.server;

import dev.kubejit.api.SafeText;
import dev.kubejit.policy.internal.StrictReader;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The broker service's configuration, read strictly from {@code kubejit.yaml} (schema:
 * {@code docs/kubejit.schema.json}, reference: {@code docs/server.md}).
 *
 * <p>Unknown keys, wrong types, bad durations, missing required keys, YAML anchors, aliases and
 * tags, and unsafe combinations are refused with a {@link ConfigException} that names the line,
 * column and path. Relative paths are resolved against the directory of the configuration file.
 * Secrets are never part of the configuration: it names the file or the environment variable that
 * holds one (for example {@code passwordFile} or {@code passwordEnv}), and a key such as {@code
 * password:} is refused without echoing its value. So {@link #toString()} cannot show a secret.
 *
 * <p>Reading the configuration does not open or check the files it names; the service does that
 * when it starts, so that a configuration can be validated on a machine without the keys.
 */
public final class ServerConfig {
  /** The {@code apiVersion} every configuration declares. */
  public static final String API_VERSION = "kubejit.dev/v1";
  /** The {@code kind} every configuration declares. */
  public static final String KIND = "ServerConfig";

  private final Path source;
  private final Path policyFile;
  private final Store store;
  private final Path auditDirectory;
  private final Path auditSigningKeyFile;
  private final Path x509CaDirectory;
  private final Path sshCaDirectory;
  private final Map<String, Cluster> clusters;
  private final java.util.List<String> adminGroups;
  private final String listenHost;
  private final int listenPort;
  private final Path tlsCertificateFile;
  private final Path tlsKeyFile;
  private final Authentication authentication;
  private final Console console;
  private final ChatOpsConfig chatOps;
  private final Admission admission;
  private final Gateway gateway;
  private final Membership membership;

  ServerConfig(ConfigReader.Parts p) {
    this.source = p.source;
    this.policyFile = p.policyFile;
    this.store = p.store;
    this.auditDirectory = p.auditDirectory;
    this.auditSigningKeyFile = p.auditSigningKeyFile;
    this.x509CaDirectory = p.x509CaDirectory;
    this.sshCaDirectory = p.sshCaDirectory;
    this.clusters = Collections.unmodifiableMap(new LinkedHashMap<>(p.clusters));
    this.adminGroups = java.util.List.copyOf(p.adminGroups);
    this.listenHost = p.listenHost;
    this.listenPort = p.listenPort;
    this.tlsCertificateFile = p.tlsCertificateFile;
    this.tlsKeyFile = p.tlsKeyFile;
    this.authentication = p.authentication;
    this.console = p.console;
    this.chatOps = p.chatOps;
    this.admission = p.admission;
    this.gateway = p.gateway;
    this.membership = p.membership;
  }

  /**
   * Reads and validates a {@code kubejit.yaml}.
   *
   * @throws ConfigException if the file cannot be read or is not a valid configuration
   */
  public static ServerConfig load(Path file) {
    Objects.requireNonNull(file, "file");
    Path abs = file.toAbsolutePath().normalize();
    byte[] bytes;
    try {
      if (Files.size(abs) > StrictReader.MAX_BYTES) {
        throw new ConfigException(abs.toString(), 0, 0, null, "file is larger than " + StrictReader.MAX_BYTES + " bytes", null);
      }
      bytes = Files.readAllBytes(abs);
    } catch (NoSuchFileException e) {
      throw new ConfigException(abs.toString(), 0, 0, null, "no such file", e);
    } catch (IOException e) {
      throw new ConfigException(abs.toString(), 0, 0, null, "cannot read the file: " + e.getClass().getSimpleName(), e);
    }
    return parse(bytes, abs.toString(), abs.getParent());
  }

  /**
   * Reads and validates configuration text; relative paths resolve against {@code baseDirectory}.
   *
   * @param source the name used in error messages
   * @throws ConfigException if the text is not a valid configuration
   */
  public static ServerConfig parse(byte[] yaml, String source, Path baseDirectory) {
    Objects.requireNonNull(yaml, "yaml");
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(baseDirectory, "baseDirectory");
    return new ServerConfig(ConfigReader.read(yaml, source, baseDirectory.toAbsolutePath().normalize()));
  }

  /** The file (or source name) this configuration was read from. */
  public Path source() {
    return source;
  }

  /** The policy file ({@code policy}). */
  public Path policyFile() {
    return policyFile;
  }

  /** Where requests and grants are kept ({@code store}; a SQLite file {@code kubejit.db} when absent). */
  public Store store() {
    return store;
  }

  /** The directory of the hash-chained audit log ({@code audit.directory}). */
  public Path auditDirectory() {
    return auditDirectory;
  }

  /** The Ed25519 key that signs audit checkpoints ({@code audit.signingKeyFile}). */
  public Path auditSigningKeyFile() {
    return auditSigningKeyFile;
  }

  /** The X.509 CA directory holding {@code ca.crt} and {@code ca.key} ({@code certificateAuthorities.x509}). */
  public Path x509CaDirectory() {
    return x509CaDirectory;
  }

  /** The SSH CA directory holding {@code ssh_ca} and {@code ssh_ca.pub} ({@code certificateAuthorities.ssh}). */
  public Path sshCaDirectory() {
    return sshCaDirectory;
  }

  /** The clusters the broker provisions into, by name, in file order ({@code clusters}; may be empty). */
  public Map<String, Cluster> clusters() {
    return clusters;
  }

  /**
   * Groups whose members are the broker's admins ({@code adminGroups}; may be empty): they may
   * revoke any request, and the HTTP API shows them every request and grant.
   */
  public java.util.List<String> adminGroups() {
    return adminGroups;
  }

  /** The host (name or IP literal, without brackets) the service listens on ({@code listen.address}). */
  public String listenHost() {
    return listenHost;
  }

  /** The TCP port the service listens on (1 to 65535). */
  public int listenPort() {
    return listenPort;
  }

  /** The server certificate chain (PEM), or empty when the service listens in plain HTTP on loopback. */
  public Optional<Path> tlsCertificateFile() {
    return Optional.ofNullable(tlsCertificateFile);
  }

  /** The server private key (PEM), present exactly when {@link #tlsCertificateFile()} is. */
  public Optional<Path> tlsKeyFile() {
    return Optional.ofNullable(tlsKeyFile);
  }

  /** How callers are authenticated ({@code authentication}). */
  public Authentication authentication() {
    return authentication;
  }

  /** The web console ({@code console}; see docs/console.md), if configured. */
  public Optional<Console> console() {
    return Optional.ofNullable(console);
  }

  /** ChatOps: Slack and signed webhooks ({@code chatops}; see {@code docs/chatops.md}), if configured. */
  public Optional<ChatOpsConfig> chatOps() {
    return Optional.ofNullable(chatOps);
  }

  /** The API-server webhooks ({@code admission}; see docs/admission.md), if configured. */
  public Optional<Admission> admission() {
    return Optional.ofNullable(admission);
  }

  /** The SSH gateway ({@code gateway}; see docs/gateway.md), if configured. */
  public Optional<Gateway> gateway() {
    return Optional.ofNullable(gateway);
  }

  /** Grant groups kept in the identity provider ({@code membership}; see docs/identity-provider.md), if configured. */
  public Optional<Membership> membership() {
    return Optional.ofNullable(membership);
  }

  /** Whether {@code host} is a loopback name or address (never resolved through DNS). */
  static boolean isLoopback(String host) {
    String h = host.toLowerCase(Locale.ROOT);
    if (h.equals("localhost")) {
      return true;
    }
    if (!h.matches("[0-9.]+") && !h.contains(":")) {
      return false;
    }
    try {
      return InetAddress.getByName(h).isLoopbackAddress();
    } catch (IOException e) {
      return false;
    }
  }

  static void checkHttpsUrl(String url, StrictReader<ConfigException> r, String path) {
    URI u;
    try {
      u = new URI(url);
    } catch (URISyntaxException e) {
      throw r.error(path, "not a valid URL: " + SafeText.quote(url));
    }
    if (!"https".equals(u.getScheme()) || u.getHost() == null || u.getRawUserInfo() != null || u.getRawFragment() != null) {
      throw r.error(path, "expected an https:// URL with a host and no user info or fragment, found " + SafeText.quote(url));
    }
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("ServerConfig{source=").append(source)
        .append(", policy=").append(policyFile)
        .append(", store=").append(store)
        .append(", audit=").append(auditDirectory).append(" signed by ").append(auditSigningKeyFile)
        .append(", x509Ca=").append(x509CaDirectory)
        .append(", sshCa=").append(sshCaDirectory)
        .append(", clusters=").append(clusters)
        .append(", adminGroups=").append(adminGroups)
        .append(", listen=").append(listenHost.contains(":") ? "[" + listenHost + "]" : listenHost).append(':').append(listenPort)
        .append(tlsCertificateFile == null ? " (plain HTTP, loopback)" : " tls " + tlsCertificateFile + " key " + tlsKeyFile)
        .append(", authentication=").append(authentication);
    if (console != null) {
      sb.append(", console=").append(console);
    }
    if (chatOps != null) {
      sb.append(", ").append(chatOps);
    }
    if (admission != null) {
      sb.append(", admission=").append(admission);
    }
    if (gateway != null) {
      sb.append(", gateway=").append(gateway);
    }
    if (membership != null) {
      sb.append(", membership=").append(membership);
    }
    return sb.append('}').toString();
  }

  /** The request store: exactly one of SQLite, PostgreSQL or Kubernetes custom resources. */
  public static final class Store {
    /** The kinds of store. */
    public enum Kind {
      /** A SQLite file on the broker's machine (one replica). */
      SQLITE,
      /** A PostgreSQL database shared by replicas. */
      POSTGRESQL,
      /** {@code AccessRequest} custom resources in a Kubernetes namespace. */
      KUBERNETES
    }

    private final Kind kind;
    private final Path file;
    private final String url;
    private final String user;
    private final Path passwordFile;
    private final String passwordEnv;
    private final String namespace;
    private final Path kubeconfig;

    private Store(Kind kind, Path file, String url, String user, Path passwordFile, String passwordEnv,
        String namespace, Path kubeconfig) {
      this.kind = kind;
      this.file = file;
      this.url = url;
      this.user = user;
      this.passwordFile = passwordFile;
      this.passwordEnv = passwordEnv;
      this.namespace = namespace;
      this.kubeconfig = kubeconfig;
    }

    static Store sqlite(Path file) {
      return new Store(Kind.SQLITE, file, null, null, null, null, null, null);
    }

    static Store postgresql(String url, String user, Path passwordFile, String passwordEnv) {
      return new Store(Kind.POSTGRESQL, null, url, user, passwordFile, passwordEnv, null, null);
    }

    static Store kubernetes(String namespace, Path kubeconfig) {
      return new Store(Kind.KUBERNETES, null, null, null, null, null, namespace, kubeconfig);
    }

    /** Which store this is. */
    public Kind kind() {
      return kind;
    }

    /** The SQLite database file (SQLite only). */
    public Optional<Path> sqliteFile() {
      return Optional.ofNullable(file);
    }

    /** The PostgreSQL JDBC URL, without credentials (PostgreSQL only). */
    public Optional<String> postgresqlUrl() {
      return Optional.ofNullable(url);
    }

    /** The PostgreSQL user name (PostgreSQL, optional). */
    public Optional<String> postgresqlUser() {
      return Optional.ofNullable(user);
    }

    /** The file whose content (trailing newline removed) is the PostgreSQL password. */
    public Optional<Path> passwordFile() {
      return Optional.ofNullable(passwordFile);
    }

    /** The name of the environment variable that holds the PostgreSQL password. */
    public Optional<String> passwordEnv() {
      return Optional.ofNullable(passwordEnv);
    }

    /** The namespace of the {@code AccessRequest} resources (Kubernetes only). */
    public Optional<String> namespace() {
      return Optional.ofNullable(namespace);
    }

    /** The kubeconfig for the store's cluster; empty means the in-cluster service account (Kubernetes only). */
    public Optional<Path> kubeconfig() {
      return Optional.ofNullable(kubeconfig);
    }

    @Override
    public String toString() {
      switch (kind) {
        case SQLITE:
          return "sqlite " + file;
        case POSTGRESQL:
          return "postgresql " + url + (user == null ? "" : " user " + user)
              + (passwordFile != null ? " password from file " + passwordFile
                  : passwordEnv != null ? " password from $" + passwordEnv : " no password");
        default:
          return "kubernetes namespace " + namespace + (kubeconfig == null ? " (in-cluster)" : " kubeconfig " + kubeconfig);
      }
    }
  }

  /** A cluster the broker provisions RBAC into. */
  public static final class Cluster {
    private final Path kubeconfig;
    private final String context;

    Cluster(Path kubeconfig, String context) {
      this.kubeconfig = kubeconfig;
      this.context = context;
    }

    /** The kubeconfig file with the broker's (not the engineer's) credentials for this cluster. */
    public Path kubeconfig() {
      return kubeconfig;
    }

    /** The context to use; empty means the kubeconfig's current context. */
    public Optional<String> context() {
      return Optional.ofNullable(context);
    }

    @Override
    public String toString() {
      return kubeconfig + (context == null ? "" : " context " + context);
    }
  }

  /** How the service authenticates callers: exactly one of OIDC, mutual TLS or (loopback only) a header. */
  public static final class Authentication {
    /** The authentication modes. */
    public enum Mode {
      /** OIDC ID tokens as bearer tokens, verified against the issuer's JWKS. */
      OIDC,
      /** Client certificates issued by a configured CA. */
      MTLS,
      /** Development only: the identity is taken from a request header; loopback only. */
      DEV_HEADER
    }

    private final Mode mode;
    private final String issuer;
    private final String audience;
    private final Path jwksFile;
    private final String jwksUrl;
    private final String groupsClaim;
    private final String usernameClaim;
    private final Path caFile;
    private final Duration clockSkew;
    private final Path clientCaFile;
    private final String header;

    private Authentication(Mode mode, String issuer, String audience, Path jwksFile, String jwksUrl, String groupsClaim,
        String usernameClaim, Path caFile, Duration clockSkew, Path clientCaFile, String header) {
      this.mode = mode;
      this.issuer = issuer;
      this.audience = audience;
      this.jwksFile = jwksFile;
      this.jwksUrl = jwksUrl;
      this.groupsClaim = groupsClaim;
      this.usernameClaim = usernameClaim;
      this.caFile = caFile;
      this.clockSkew = clockSkew;
      this.clientCaFile = clientCaFile;
      this.header = header;
    }

    static Authentication oidc(String issuer, String audience, Path jwksFile, String jwksUrl, String groupsClaim,
        String usernameClaim, Path caFile, Duration clockSkew) {
      return new Authentication(Mode.OIDC, issuer, audience, jwksFile, jwksUrl, groupsClaim, usernameClaim, caFile,
          clockSkew, null, null);
    }

    static Authentication mtls(Path clientCaFile) {
      return new Authentication(Mode.MTLS, null, null, null, null, null, null, null, null, clientCaFile, null);
    }

    static Authentication devHeader(String header) {
      return new Authentication(Mode.DEV_HEADER, null, null, null, null, null, null, null, null, null, header);
    }

    /** Which mode is configured. */
    public Mode mode() {
      return mode;
    }

    /** The pinned OIDC issuer ({@code iss}), an https URL (OIDC only). */
    public Optional<String> issuer() {
      return Optional.ofNullable(issuer);
    }

    /** The pinned audience ({@code aud}), usually the client ID (OIDC only). */
    public Optional<String> audience() {
      return Optional.ofNullable(audience);
    }

    /** A local JWKS file (OIDC; exactly one of this and {@link #jwksUrl()}). */
    public Optional<Path> jwksFile() {
      return Optional.ofNullable(jwksFile);
    }

    /** The issuer's JWKS URL, https only (OIDC; exactly one of this and {@link #jwksFile()}). */
    public Optional<String> jwksUrl() {
      return Optional.ofNullable(jwksUrl);
    }

    /** The claim that lists the caller's groups (OIDC; default {@code groups}). */
    public Optional<String> groupsClaim() {
      return Optional.ofNullable(groupsClaim);
    }

    /** The claim that names the caller (OIDC; default {@code sub}, e.g. {@code preferred_username}). */
    public Optional<String> usernameClaim() {
      return Optional.ofNullable(usernameClaim);
    }

    /**
     * A CA (PEM) trusted for the https connection to {@link #jwksUrl()}, in addition to the JDK's
     * default trust store (OIDC; optional).
     */
    public Optional<Path> caFile() {
      return Optional.ofNullable(caFile);
    }

    /** The tolerated clock skew for token times (OIDC; default 60 s, at most 5 min). */
    public Optional<Duration> clockSkew() {
      return Optional.ofNullable(clockSkew);
    }

    /** The CA (PEM) whose client certificates are accepted (mutual TLS only). */
    public Optional<Path> clientCaFile() {
      return Optional.ofNullable(clientCaFile);
    }

    /** The request header carrying the identity (development header mode only). */
    public Optional<String> header() {
      return Optional.ofNullable(header);
    }

    @Override
    public String toString() {
      switch (mode) {
        case OIDC:
          return "oidc issuer " + issuer + " audience " + audience + " jwks "
              + (jwksFile != null ? jwksFile.toString() : jwksUrl) + " groups claim " + groupsClaim + " username claim " + usernameClaim
              + (caFile != null ? " CA " + caFile : "") + " skew " + clockSkew;
        case MTLS:
          return "mtls client CA " + clientCaFile;
        default:
          return "dev-header " + header + " (development only, loopback)";
      }
    }
  }

  /**
   * The web console's section: its OIDC client at the authentication issuer, where it is reached,
   * how long a session lasts, who may query the audit logs, and which API-server audit logs it
   * joins with the grants. The client secret is never in the file: {@code clientSecretFile} names
   * the file that holds it (a public client, PKCE only, has none).
   */
  public static final class Console {
    private final String clientId;
    private final Path clientSecretFile;
    private final URI baseUrl;
    private final Duration sessionTtl;
    private final java.util.List<String> auditorGroups;
    private final java.util.List<Path> kubeAuditLogs;
    private final String sshCommand;
    private final Path gatewayRecordings;

    Console(String clientId, Path clientSecretFile, URI baseUrl, Duration sessionTtl, java.util.List<String> auditorGroups,
        java.util.List<Path> kubeAuditLogs, String sshCommand, Path gatewayRecordings) {
      this.gatewayRecordings = gatewayRecordings;
      this.clientId = Objects.requireNonNull(clientId, "clientId");
      this.clientSecretFile = clientSecretFile;
      this.baseUrl = baseUrl;
      this.sessionTtl = Objects.requireNonNull(sessionTtl, "sessionTtl");
      this.auditorGroups = java.util.List.copyOf(auditorGroups);
      this.kubeAuditLogs = java.util.List.copyOf(kubeAuditLogs);
      this.sshCommand = sshCommand;
    }

    /** The console's OIDC client ID at the issuer ({@code clientId}). */
    public String clientId() {
      return clientId;
    }

    /** The file holding the client secret of a confidential client ({@code clientSecretFile}); empty for a public client. */
    public Optional<Path> clientSecretFile() {
      return Optional.ofNullable(clientSecretFile);
    }

    /** The console's external URL ({@code baseUrl}); empty means the listen address. */
    public Optional<URI> baseUrl() {
      return Optional.ofNullable(baseUrl);
    }

    /** The longest a session lasts ({@code sessionTtl}, default PT15M); the ID token's expiry bounds it too. */
    public Duration sessionTtl() {
      return sessionTtl;
    }

    /** Groups that may query the audit logs besides the admin groups ({@code auditorGroups}). */
    public java.util.List<String> auditorGroups() {
      return auditorGroups;
    }

    /** The API server's audit logs joined with the grants ({@code kubeAuditLogs}). */
    public java.util.List<Path> kubeAuditLogs() {
      return kubeAuditLogs;
    }

    /** The SSH line for the gateway with {@code {grant}} for the grant ID ({@code sshCommand}). */
    public Optional<String> sshCommand() {
      return Optional.ofNullable(sshCommand);
    }

    /** The SSH gateway's recordings directory, listed on grant pages ({@code gatewayRecordings}). */
    public Optional<Path> gatewayRecordings() {
      return Optional.ofNullable(gatewayRecordings);
    }

    @Override
    public String toString() {
      return "console client " + clientId + (clientSecretFile == null ? " (public)" : " secret file " + clientSecretFile)
          + (baseUrl == null ? "" : " at " + baseUrl) + " session " + sessionTtl
          + (auditorGroups.isEmpty() ? "" : " auditors " + auditorGroups)
          + (kubeAuditLogs.isEmpty() ? "" : " kube audit " + kubeAuditLogs)
          + (gatewayRecordings == null ? "" : " recordings " + gatewayRecordings);
    }
  }

  /**
   * The {@code admission} section: which cluster the webhooks guard (a key of {@code clusters}),
   * how often the grant cache rereads the store, and which webhooks {@code kubejit serve} mounts
   * ({@code /admission/exec}, {@code /authorize}, and {@code /admission/rbac} when {@code rbac} is
   * given).
   */
  public static final class Admission {
    private final String cluster;
    private final Duration grantRefresh;
    private final boolean exec;
    private final boolean authorize;
    private final Rbac rbac;

    Admission(String cluster, Duration grantRefresh, boolean exec, boolean authorize, Rbac rbac) {
      this.cluster = Objects.requireNonNull(cluster, "cluster");
      this.grantRefresh = Objects.requireNonNull(grantRefresh, "grantRefresh");
      this.exec = exec;
      this.authorize = authorize;
      this.rbac = rbac;
    }

    /** The cluster the webhooks guard, as grants name it ({@code cluster}). */
    public String cluster() {
      return cluster;
    }

    /** How often the grant cache rereads the store ({@code grantRefresh}, default PT2S). */
    public Duration grantRefresh() {
      return grantRefresh;
    }

    /** Whether {@code /admission/exec} is served ({@code exec}, default true). */
    public boolean exec() {
      return exec;
    }

    /** Whether {@code /authorize} is served ({@code authorize}, default true). */
    public boolean authorize() {
      return authorize;
    }

    /** The RBAC write guardrails ({@code rbac}); served at {@code /admission/rbac} when present. */
    public Optional<Rbac> rbac() {
      return Optional.ofNullable(rbac);
    }

    @Override
    public String toString() {
      return "cluster " + cluster + " refresh " + grantRefresh + (exec ? " exec" : "") + (authorize ? " authorize" : "")
          + (rbac == null ? "" : " " + rbac);
    }

    /** The {@code admission.rbac} section. */
    public static final class Rbac {
      private final boolean escalationChecks;
      private final Duration maxBindingDuration;
      private final java.util.List<String> allowUsers;
      private final java.util.List<String> allowGroups;

      Rbac(boolean escalationChecks, Duration maxBindingDuration, java.util.List<String> allowUsers,
          java.util.List<String> allowGroups) {
        this.escalationChecks = escalationChecks;
        this.maxBindingDuration = Objects.requireNonNull(maxBindingDuration, "maxBindingDuration");
        this.allowUsers = java.util.List.copyOf(allowUsers);
        this.allowGroups = java.util.List.copyOf(allowGroups);
      }

      /** Whether escalations by authors off the allow-list are refused ({@code escalationChecks}, default true). */
      public boolean escalationChecks() {
        return escalationChecks;
      }

      /** The longest lifetime a KubeJIT binding may have ({@code maxBindingDuration}, required). */
      public Duration maxBindingDuration() {
        return maxBindingDuration;
      }

      /** Users exempt from the escalation checks ({@code allowUsers}). */
      public java.util.List<String> allowUsers() {
        return allowUsers;
      }

      /** Groups whose members are exempt from the escalation checks ({@code allowGroups}). */
      public java.util.List<String> allowGroups() {
        return allowGroups;
      }

      @Override
      public String toString() {
        return "rbac max " + maxBindingDuration + (escalationChecks ? " escalation checks" : "")
            + (allowUsers.isEmpty() ? "" : " users " + allowUsers) + (allowGroups.isEmpty() ? "" : " groups " + allowGroups);
      }
    }
  }

  /**
   * The {@code gateway} section: where the SSH gateway listens, the cluster whose pods it runs
   * commands in (a key of {@code clusters}), its host key and the host certificate the KubeJIT SSH
   * CA signed for it, where session recordings go, and how often live sessions' grants are checked.
   * It trusts user certificates of {@code certificateAuthorities.ssh} only.
   */
  public static final class Gateway {
    private final String host;
    private final int port;
    private final String cluster;
    private final Path hostKeyFile;
    private final Path hostCertificateFile;
    private final Path recordings;
    private final Duration checkInterval;
    private final String healthHost;
    private final int healthPort;

    Gateway(String host, int port, String cluster, Path hostKeyFile, Path hostCertificateFile, Path recordings,
        Duration checkInterval, String healthHost, int healthPort) {
      this.healthHost = Objects.requireNonNull(healthHost, "healthHost");
      this.healthPort = healthPort;
      this.host = Objects.requireNonNull(host, "host");
      this.port = port;
      this.cluster = Objects.requireNonNull(cluster, "cluster");
      this.hostKeyFile = Objects.requireNonNull(hostKeyFile, "hostKeyFile");
      this.hostCertificateFile = Objects.requireNonNull(hostCertificateFile, "hostCertificateFile");
      this.recordings = Objects.requireNonNull(recordings, "recordings");
      this.checkInterval = Objects.requireNonNull(checkInterval, "checkInterval");
    }

    /** The address to listen on ({@code address}, host part). */
    public String host() {
      return host;
    }

    /** The port to listen on ({@code address}, port part). */
    public int port() {
      return port;
    }

    /** The cluster whose pods the gateway runs commands in ({@code cluster}). */
    public String cluster() {
      return cluster;
    }

    /** The gateway's OpenSSH host private key ({@code hostKeyFile}, never logged). */
    public Path hostKeyFile() {
      return hostKeyFile;
    }

    /** The host certificate the KubeJIT SSH CA signed for the host key ({@code hostCertificateFile}). */
    public Path hostCertificateFile() {
      return hostCertificateFile;
    }

    /** Where session recordings are written ({@code recordings}). */
    public Path recordings() {
      return recordings;
    }

    /** How often live sessions' grants are checked ({@code checkInterval}, default PT1S). */
    public Duration checkInterval() {
      return checkInterval;
    }

    /**
     * Where the stand-alone gateway ({@code kubejit gateway serve}) serves {@code /healthz},
     * {@code /readyz} and {@code /metrics} ({@code healthAddress}, host part; default 127.0.0.1).
     */
    public String healthHost() {
      return healthHost;
    }

    /** The port of {@link #healthHost} ({@code healthAddress}, port part; default 9090). */
    public int healthPort() {
      return healthPort;
    }

    @Override
    public String toString() {
      return (host.contains(":") ? "[" + host + "]" : host) + ":" + port + " cluster " + cluster + " host key "
          + hostKeyFile + " recordings " + recordings + " check " + checkInterval + " health "
          + (healthHost.contains(":") ? "[" + healthHost + "]" : healthHost) + ":" + healthPort;
    }
  }

  /**
   * The {@code membership.keycloak} section: the Keycloak realm in which the broker adds a grant's
   * holder to the grant's group for the grant's life, acting as a service-account client that holds
   * {@code manage-users} only. The client secret is never in the file: {@code clientSecretFile}
   * names the file that holds it.
   */
  public static final class Membership {
    private final URI url;
    private final String realm;
    private final String clientId;
    private final Path clientSecretFile;
    private final Path caFile;

    Membership(URI url, String realm, String clientId, Path clientSecretFile, Path caFile) {
      this.url = Objects.requireNonNull(url, "url");
      this.realm = Objects.requireNonNull(realm, "realm");
      this.clientId = Objects.requireNonNull(clientId, "clientId");
      this.clientSecretFile = Objects.requireNonNull(clientSecretFile, "clientSecretFile");
      this.caFile = caFile;
    }

    /** Keycloak's base URL ({@code url}). */
    public URI url() {
      return url;
    }

    /** The realm whose groups hold grant holders ({@code realm}). */
    public String realm() {
      return realm;
    }

    /** The service-account client ({@code clientId}). */
    public String clientId() {
      return clientId;
    }

    /** The file holding the client's secret ({@code clientSecretFile}). */
    public Path clientSecretFile() {
      return clientSecretFile;
    }

    /** A PEM file of CAs to trust for Keycloak besides the JDK's ({@code caFile}). */
    public Optional<Path> caFile() {
      return Optional.ofNullable(caFile);
    }

    @Override
    public String toString() {
      return "keycloak " + url + " realm " + realm + " client " + clientId + " secret file " + clientSecretFile
          + (caFile == null ? "" : " ca " + caFile);
    }
  }
}
