package dev.kubejit.cli;

import dev.kubejit.admission.WebhookManifest;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code kubejit admission}: the API server webhooks (docs/admission.md). */
@Command(name = "admission", mixinStandardHelpOptions = true,
    description = "Enforcement inside the API server: the exec admission webhook, the RBAC write guardrails and"
        + " the authorization webhook.",
    subcommands = {AdmissionCommand.Manifest.class, AdmissionCommand.AuthzKubeconfig.class})
final class AdmissionCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** {@code kubejit admission manifest}: prints the ValidatingWebhookConfiguration. */
  @Command(name = "manifest", mixinStandardHelpOptions = true,
      description = {"Print the ValidatingWebhookConfiguration that sends CONNECT on pods/exec, pods/attach and"
          + " pods/portforward to the exec admission webhook (--webhook exec), or CREATE/UPDATE of RBAC objects to"
          + " the RBAC write guardrails (--webhook rbac); failurePolicy Fail, sideEffects None.",
          "Apply it with: kubejit admission manifest ... | kubectl apply -f -"})
  static final class Manifest implements Callable<Integer> {
    private static final Pattern SERVICE = Pattern.compile("([^/:]+)/([^/:]+)(?::(\\d{1,5}))?");

    @Spec CommandSpec spec;

    @Option(names = "--ca-file", required = true,
        description = "PEM file of the CA that signed the webhook's serving certificate (becomes caBundle).")
    Path caFile;

    @Option(names = "--url", description = "https URL the API server calls (webhook outside the cluster).")
    String url;

    @Option(names = "--service", description = "NAMESPACE/NAME[:PORT] of the Service in front of the webhook"
        + " replicas (port default 443).")
    String service;

    @Option(names = "--path", description = "Path on the Service (default /admission/exec or /admission/rbac).")
    String path;

    @Option(names = "--webhook", defaultValue = "exec", description = "exec or rbac (default ${DEFAULT-VALUE}).")
    String webhook;

    @Option(names = "--namespace-selector", description = "KEY=VALUE: only namespaces with this label are enforced.")
    String selector;

    @Option(names = "--timeout-seconds", defaultValue = "5", description = "API server timeout, 1-30 (default ${DEFAULT-VALUE}).")
    int timeoutSeconds;

    @Option(names = "--name", description = "Configuration name (default kubejit-exec or kubejit-rbac-guardrails).")
    String name;

    @Override
    public Integer call() {
      return CredentialCommand.guarded(spec, () -> {
        if ((url == null) == (service == null)) {
          throw new IllegalArgumentException("give exactly one of --url and --service");
        }
        if (Files.size(caFile) > 1024 * 1024) {
          throw new IllegalArgumentException("--ca-file " + caFile + " is larger than 1 MiB");
        }
        WebhookManifest.Webhook kind;
        switch (webhook) {
          case "exec":
            kind = WebhookManifest.Webhook.EXEC;
            break;
          case "rbac":
            kind = WebhookManifest.Webhook.RBAC_WRITES;
            break;
          default:
            throw new IllegalArgumentException("--webhook must be exec or rbac, not " + webhook);
        }
        WebhookManifest.Builder b = WebhookManifest.builder().webhook(kind);
        if (name != null) {
          b.name(name);
        }
        b.caBundlePem(Files.readString(caFile, StandardCharsets.US_ASCII)).timeoutSeconds(timeoutSeconds);
        if (url != null) {
          b.url(URI.create(url));
        } else {
          Matcher m = SERVICE.matcher(service);
          if (!m.matches()) {
            throw new IllegalArgumentException("--service must be NAMESPACE/NAME[:PORT], not " + service);
          }
          b.service(m.group(1), m.group(2), m.group(3) == null ? 443 : Integer.parseInt(m.group(3)), path);
        }
        if (selector != null) {
          int eq = selector.indexOf('=');
          if (eq <= 0) {
            throw new IllegalArgumentException("--namespace-selector must be KEY=VALUE, not " + selector);
          }
          b.namespaceSelector(selector.substring(0, eq), selector.substring(eq + 1));
        }
        spec.commandLine().getOut().print(b.build().yaml());
        spec.commandLine().getOut().flush();
        return 0;
      });
    }
  }

  /** {@code kubejit admission authz-kubeconfig}: the API server's kubeconfig for the authorization webhook. */
  @Command(name = "authz-kubeconfig", mixinStandardHelpOptions = true,
      description = {"Print the kubeconfig the API server reads with --authorization-webhook-config-file to call"
          + " the authorization webhook (POST /authorize), which denies every request of a grant identity whose"
          + " grant is revoked, expired or unknown.",
          "Start kube-apiserver with --authorization-mode=Node,Webhook,RBAC --authorization-webhook-version=v1"
              + " --authorization-webhook-cache-authorized-ttl=500ms"
              + " --authorization-webhook-cache-unauthorized-ttl=500ms (a grant's end takes effect within that;"
              + " the defaults, 5m and 30s, delay it by as much); see docs/admission.md."})
  static final class AuthzKubeconfig implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--ca-file", required = true,
        description = "PEM file of the CA that signed the webhook's serving certificate.")
    Path caFile;

    @Option(names = "--url", required = true,
        description = "https URL of the webhook as the API server reaches it, e.g. https://kubejit.kubejit.svc:8443/authorize.")
    String url;

    @Override
    public Integer call() {
      return CredentialCommand.guarded(spec, () -> {
        if (Files.size(caFile) > 1024 * 1024) {
          throw new IllegalArgumentException("--ca-file " + caFile + " is larger than 1 MiB");
        }
        URI u;
        try {
          u = new URI(url);
        } catch (java.net.URISyntaxException e) {
          throw new IllegalArgumentException("--url is not a URL: " + url);
        }
        spec.commandLine().getOut().print(dev.kubejit.admission.RevocationAuthorizer.apiServerKubeconfig(u,
            Files.readString(caFile, StandardCharsets.US_ASCII)));
        spec.commandLine().getOut().flush();
        return 0;
      });
    }
  }
}
