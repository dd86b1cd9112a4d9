package dev.kubejit.admission;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.util.Objects.requireNonNull;

import java.net.URI;
import java.util.Base64;
import java.util.regex.Pattern;

/**
 * Renders the {@code ValidatingWebhookConfiguration} that registers {@link ExecAdmission} for
 * {@code CONNECT} on {@code pods/exec}, {@code pods/attach} and {@code pods/portforward}, or {@link
 * RbacWriteAdmission} for {@code CREATE}/{@code UPDATE} of RBAC objects: {@code failurePolicy:
 * Fail} (no answer, no exec / no RBAC write), {@code sideEffects: None}, a short timeout, both
 * AdmissionReview versions, and optionally a namespace selector. The exec webhook is named {@value
 * #WEBHOOK_NAME}, so the API server's audit log carries its annotations as {@code
 * exec.kubejit.dev/grant}, {@code exec.kubejit.dev/rule} and {@code exec.kubejit.dev/decision}.
 */
public final class WebhookManifest {
  /** The exec webhook's name inside the configuration, and the prefix of its audit annotations. */
  public static final String WEBHOOK_NAME = "exec.kubejit.dev";
  /** The path {@code kubejit serve} answers exec admission on. */
  public static final String DEFAULT_PATH = "/admission/exec";

  /** Which webhook a manifest registers. */
  public enum Webhook {
    /** {@link ExecAdmission}: CONNECT on pods/exec, pods/attach, pods/portforward. */
    EXEC("exec.kubejit.dev", DEFAULT_PATH, "kubejit-exec"),
    /** {@link RbacWriteAdmission}: CREATE and UPDATE of Roles, ClusterRoles and their bindings. */
    RBAC_WRITES("rbac.kubejit.dev", "/admission/rbac", "kubejit-rbac-guardrails");

    private final String webhookName;
    private final String defaultPath;
    private final String defaultConfigurationName;

    Webhook(String webhookName, String defaultPath, String defaultConfigurationName) {
      this.webhookName = webhookName;
      this.defaultPath = defaultPath;
      this.defaultConfigurationName = defaultConfigurationName;
    }

    /** The webhook's name, the prefix of its audit annotations in the API server's log. */
    public String webhookName() {
      return webhookName;
    }

    /** The path {@code kubejit serve} answers it on. */
    public String defaultPath() {
      return defaultPath;
    }

    /** The configuration's default name. */
    public String defaultConfigurationName() {
      return defaultConfigurationName;
    }
  }

  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  private static final Pattern DNS_SUBDOMAIN =
      Pattern.compile("(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  private static final Pattern LABEL_KEY =
      Pattern.compile("(([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?");
  private static final Pattern LABEL_VALUE = Pattern.compile("([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?");
  private static final Pattern PATH = Pattern.compile("/[A-Za-z0-9/._-]{0,200}");
  private static final Pattern PEM_CERT =
      Pattern.compile("-----BEGIN CERTIFICATE-----\\r?\\n[A-Za-z0-9+/=\\r\\n]+-----END CERTIFICATE-----\\r?\\n?");

  private final Webhook webhook;
  private final String name;
  private final URI url;
  private final String serviceNamespace;
  private final String serviceName;
  private final int servicePort;
  private final String path;
  private final String caBundlePem;
  private final int timeoutSeconds;
  private final String selectorKey;
  private final String selectorValue;

  private WebhookManifest(Builder b) {
    this.webhook = b.webhook;
    this.name = b.name == null ? b.webhook.defaultConfigurationName() : b.name;
    this.url = b.url;
    this.serviceNamespace = b.serviceNamespace;
    this.serviceName = b.serviceName;
    this.servicePort = b.servicePort;
    this.path = b.path == null ? b.webhook.defaultPath() : b.path;
    this.caBundlePem = b.caBundlePem;
    this.timeoutSeconds = b.timeoutSeconds;
    this.selectorKey = b.selectorKey;
    this.selectorValue = b.selectorValue;
  }

  /** Returns a builder; the CA bundle and either a URL or a Service are required. */
  public static Builder builder() {
    return new Builder();
  }

  /** The configuration as YAML, ready for {@code kubectl apply -f -}. */
  public String yaml() {
    StringBuilder y = new StringBuilder();
    y.append("apiVersion: admissionregistration.k8s.io/v1\n");
    y.append("kind: ValidatingWebhookConfiguration\n");
    y.append("metadata:\n");
    y.append("  name: ").append(name).append('\n');
    y.append("  labels:\n    app.kubernetes.io/managed-by: kubejit\n");
    y.append("webhooks:\n");
    y.append("- name: ").append(webhook.webhookName()).append('\n');
    y.append("  clientConfig:\n");
    if (url != null) {
      y.append("    url: \"").append(url).append("\"\n");
    } else {
      y.append("    service:\n");
      y.append("      namespace: ").append(serviceNamespace).append('\n');
      y.append("      name: ").append(serviceName).append('\n');
      y.append("      path: \"").append(path).append("\"\n");
      y.append("      port: ").append(servicePort).append('\n');
    }
    y.append("    caBundle: ").append(Base64.getEncoder().encodeToString(caBundlePem.getBytes(US_ASCII))).append('\n');
    y.append("  rules:\n");
    if (webhook == Webhook.EXEC) {
      y.append("  - operations: [\"CONNECT\"]\n");
      y.append("    apiGroups: [\"\"]\n");
      y.append("    apiVersions: [\"v1\"]\n");
      y.append("    resources: [\"pods/exec\", \"pods/attach\", \"pods/portforward\"]\n");
      y.append("    scope: \"Namespaced\"\n");
    } else {
      y.append("  - operations: [\"CREATE\", \"UPDATE\"]\n");
      y.append("    apiGroups: [\"rbac.authorization.k8s.io\"]\n");
      y.append("    apiVersions: [\"*\"]\n");
      y.append("    resources: [\"roles\", \"clusterroles\", \"rolebindings\", \"clusterrolebindings\"]\n");
      y.append("    scope: \"*\"\n");
    }
    y.append("  failurePolicy: Fail\n");
    y.append("  matchPolicy: Equivalent\n");
    y.append("  sideEffects: None\n");
    y.append("  timeoutSeconds: ").append(timeoutSeconds).append('\n');
    y.append("  admissionReviewVersions: [\"v1\", \"v1beta1\"]\n");
    if (selectorKey != null) {
      y.append("  namespaceSelector:\n");
      y.append("    matchLabels:\n");
      y.append("      \"").append(selectorKey).append("\": \"").append(selectorValue).append("\"\n");
    }
    return y.toString();
  }

  @Override
  public String toString() {
    return "WebhookManifest{" + webhook + " " + name + " -> " + (url != null ? url
        : "service " + serviceNamespace + "/" + serviceName + ":" + servicePort + path) + "}";
  }

  /** Builds a {@link WebhookManifest}. */
  public static final class Builder {
    private Webhook webhook = Webhook.EXEC;
    private String name;
    private URI url;
    private String serviceNamespace;
    private String serviceName;
    private int servicePort;
    private String path;
    private String caBundlePem;
    private int timeoutSeconds = 5;
    private String selectorKey;
    private String selectorValue;

    private Builder() {}

    /** Which webhook to register (default {@link Webhook#EXEC}). */
    public Builder webhook(Webhook webhook) {
      this.webhook = requireNonNull(webhook, "webhook");
      return this;
    }

    /** The configuration's name (default: the webhook's, e.g. {@code kubejit-exec}); a DNS subdomain. */
    public Builder name(String name) {
      this.name = check(DNS_SUBDOMAIN, requireNonNull(name, "name"), "configuration name");
      return this;
    }

    /**
     * Calls the webhook at an {@code https} URL without query or fragment (clusters whose API
     * server reaches the broker outside the cluster).
     */
    public Builder url(URI url) {
      requireNonNull(url, "url");
      if (!"https".equals(url.getScheme()) || url.getHost() == null || url.getRawQuery() != null
          || url.getRawFragment() != null || url.getRawUserInfo() != null
          || !PATH.matcher(url.getRawPath() == null || url.getRawPath().isEmpty() ? "/" : url.getRawPath()).matches()) {
        throw new IllegalArgumentException("webhook URL must be https://host[:port]/path without user, query or"
            + " fragment: " + url);
      }
      this.url = url;
      return this;
    }

    /**
     * Calls the webhook through a Service in the cluster (the usual setup: replicas behind it); a
     * null path means the webhook's default path.
     */
    public Builder service(String namespace, String name, int port, String path) {
      this.serviceNamespace = check(DNS_LABEL, requireNonNull(namespace, "namespace"), "service namespace");
      this.serviceName = check(DNS_LABEL, requireNonNull(name, "name"), "service name");
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("service port must be 1 to 65535: " + port);
      }
      this.servicePort = port;
      this.path = path == null ? null : check(PATH, path, "path");
      return this;
    }

    /** The PEM certificates that verify the webhook's serving certificate (required). */
    public Builder caBundlePem(String pem) {
      requireNonNull(pem, "pem");
      if (pem.contains("PRIVATE KEY")) {
        throw new IllegalArgumentException("the CA bundle contains a private key; pass only the CA certificate");
      }
      String trimmed = pem.strip() + "\n";
      java.util.regex.Matcher m = PEM_CERT.matcher(trimmed);
      int end = 0;
      int count = 0;
      while (m.find() && m.start() == end) {
        end = m.end();
        while (end < trimmed.length() && Character.isWhitespace(trimmed.charAt(end))) {
          end++;
        }
        count++;
      }
      if (count == 0 || end != trimmed.length()) {
        throw new IllegalArgumentException("the CA bundle must be one or more PEM CERTIFICATE blocks and nothing else");
      }
      this.caBundlePem = trimmed;
      return this;
    }

    /** How long the API server waits for an answer, 1 to 30 seconds (default 5). */
    public Builder timeoutSeconds(int seconds) {
      if (seconds < 1 || seconds > 30) {
        throw new IllegalArgumentException("timeoutSeconds must be 1 to 30 (the API server's limit): " + seconds);
      }
      this.timeoutSeconds = seconds;
      return this;
    }

    /** Limits the webhook to namespaces labelled {@code key=value} (default: every namespace). */
    public Builder namespaceSelector(String key, String value) {
      this.selectorKey = check(LABEL_KEY, requireNonNull(key, "key"), "namespace label key");
      this.selectorValue = check(LABEL_VALUE, requireNonNull(value, "value"), "namespace label value");
      return this;
    }

    /**
     * Returns the manifest.
     *
     * @throws IllegalStateException without a CA bundle, or with neither or both of URL and Service
     */
    public WebhookManifest build() {
      if (caBundlePem == null) {
        throw new IllegalStateException("a CA bundle is required (the CA that signed the webhook's serving certificate)");
      }
      if ((url == null) == (serviceName == null)) {
        throw new IllegalStateException("give exactly one of a URL and a Service");
      }
      return new WebhookManifest(this);
    }

    private static String check(Pattern p, String value, String what) {
      if (!p.matcher(value).matches()) {
        throw new IllegalArgumentException(what + " is not valid: " + dev.kubejit.api.SafeText.quote(value));
      }
      return value;
    }
  }
}
