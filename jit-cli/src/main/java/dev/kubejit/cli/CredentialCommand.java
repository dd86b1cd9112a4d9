package dev.kubejit.cli;

import dev.kubejit.api.KubeJitException;
import dev.kubejit.api.SafeText;
import dev.kubejit.credentials.CertificateAuthority;
import dev.kubejit.credentials.ExecCredential;
import dev.kubejit.credentials.IssuedCertificate;
import dev.kubejit.credentials.KeyType;
import dev.kubejit.credentials.ReservedNames;
import dev.kubejit.credentials.X509Issuer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kubejit credential}: a kubectl exec credential plugin that prints an ExecCredential
 * ({@code client.authentication.k8s.io/v1}, or v1beta1 when {@code KUBERNETES_EXEC_INFO} asks for
 * it). Two modes:
 *
 * <ul>
 *   <li>{@code --grant ID}: the certificate the broker issues for a grant, for the engineer's own
 *       key under {@code ~/.kubejit/keys} (only its CSR is sent), cached until shortly before it
 *       expires ({@link GrantCredentials}); a revoked or expired grant fails with the broker's
 *       message. This is what {@code kubejit kubeconfig --grant} writes into a kubeconfig.
 *   <li>{@code --grant ID --oidc}: the engineer's own OIDC ID token, refreshed until it carries the
 *       grant's group ({@link OidcGrantToken}), for API servers that authenticate the identity
 *       provider's tokens.
 *   <li>{@code --ca DIR --user U --group G --ttl T}: generates a key pair in this process, has the
 *       local CA sign a short-lived certificate for it (no broker; for labs and tests).
 * </ul>
 */
@Command(name = "credential", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Print an ExecCredential with a short-lived client certificate (kubectl exec plugin).",
        "With --grant ID: the broker's certificate for your grant (kubejit kubeconfig --grant writes this).",
        "With --ca/--user/--group/--ttl: a certificate from a local CA, no broker."})
final class CredentialCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Option(names = "--grant", paramLabel = "ID", description = "A grant of the broker you logged in to (kubejit login).")
  String grant;

  @Option(names = "--oidc", description = "With --grant: your identity provider's ID token (refreshed so it carries the grant's group) instead of a certificate; for API servers that authenticate OIDC.")
  boolean oidc;

  @Mixin ClientCommands.HomeOption home;

  @Option(names = "--ca", description = "CA directory (ca.crt, ca.key) from 'kubejit ca init'.")
  Path caDir;

  @Option(names = "--user", description = "User name (certificate CN).")
  String user;

  @Option(names = "--group", description = "Group (certificate O); repeat for several.")
  List<String> groups;

  @Option(names = "--ttl", description = "Validity, e.g. 30m, 1h, 1h30m.")
  String ttl;

  @Option(names = "--key-type", defaultValue = "ecdsa-p256", description = "Client key type (default ${DEFAULT-VALUE}).")
  String keyType;

  @Mixin ReservedNameOptions reservedNames;

  @Override
  public Integer call() {
    if (grant != null) {
      if (caDir != null || user != null || groups != null || ttl != null || !reservedNames.reserve.isEmpty()
          || !reservedNames.allow.isEmpty()) {
        throw new CommandLine.ParameterException(spec.commandLine(),
            "--grant takes the certificate from the broker: --ca, --user, --group, --ttl, --reserve and --dangerously-allow-reserved do not apply");
      }
      String grantId = ClientCommands.grantId(grant);
      String version = ExecCredential.apiVersionFor(System.getenv("KUBERNETES_EXEC_INFO"));
      ClientHome h = home.resolve();
      String json = oidc ? new OidcGrantToken(h, Clock.systemUTC()).execCredential(grantId, version)
          : new GrantCredentials(h, Clock.systemUTC()).execCredential(BrokerClient.open(h), grantId, version);
      PrintWriter out = spec.commandLine().getOut();
      out.print(json);
      out.flush();
      return 0;
    }
    if (oidc) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--oidc needs --grant ID");
    }
    if (caDir == null || user == null || groups == null || ttl == null) {
      throw new CommandLine.ParameterException(spec.commandLine(),
          "either --grant ID, or all of --ca, --user, --group and --ttl");
    }
    return guarded(spec, () -> {
      IssuedCertificate c = X509Issuer.builder().authority(CertificateAuthority.load(caDir)).clock(Clock.systemUTC())
          .reservedNames(reservedNames.build(spec)).build()
          .issueWithGeneratedKey(user, groups, parseDuration(ttl), KeyType.parse(keyType));
      String version = ExecCredential.apiVersionFor(System.getenv("KUBERNETES_EXEC_INFO"));
      PrintWriter out = spec.commandLine().getOut();
      out.print(ExecCredential.json(version, c));
      out.flush();
      c.clampReason().ifPresent(r -> note(spec, r));
      return 0;
    });
  }

  /**
   * The reserved-name options shared by every command that issues a credential: the defaults of
   * {@link ReservedNames#defaults()}, extended by {@code --reserve}, relaxed name by name by {@code
   * --dangerously-allow-reserved} (with a warning on stderr).
   */
  static final class ReservedNameOptions {
    @Option(names = "--reserve", paramLabel = "NAME|PREFIX*",
        description = "Also refuse this user/group/principal, or every name starting with PREFIX; repeatable. "
            + "Always refused: system:*, kubeadm:*, kubernetes-admin, kubernetes-super-admin, root.")
    List<String> reserve = new ArrayList<>();

    @Option(names = "--dangerously-allow-reserved", paramLabel = "NAME",
        description = "Issue for this exact reserved name anyway (e.g. a system: group that grants privileges); repeatable.")
    List<String> allow = new ArrayList<>();

    ReservedNames build(CommandSpec spec) {
      ReservedNames r = ReservedNames.defaults().plus(reserve);
      if (!allow.isEmpty()) {
        r = r.exemptDangerously(allow.toArray(new String[0]));
        for (String a : allow) {
          note(spec, "WARNING: --dangerously-allow-reserved " + SafeText.quote(a)
              + ": a credential for this reserved name may carry cluster-wide privileges");
        }
      }
      return r;
    }
  }

  /** Runs {@code body}; a refusal prints one line {@code kubejit: <message>} to stderr and returns 1. */
  static int guarded(CommandSpec spec, Callable<Integer> body) {
    try {
      return body.call();
    } catch (KubeJitException | IllegalArgumentException | IllegalStateException e) {
      PrintWriter err = spec.commandLine().getErr();
      err.println("kubejit: " + oneLine(String.valueOf(e.getMessage())));
      err.flush();
      return 1;
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new CliException(e.getClass().getSimpleName() + ": " + e.getMessage(), e);
    }
  }

  static void note(CommandSpec spec, String message) {
    spec.commandLine().getErr().println("kubejit: note: " + oneLine(message));
    spec.commandLine().getErr().flush();
  }

  /**
   * A message as one safe terminal line: messages already quote untrusted values with {@link
   * SafeText#quote}; as a safety net for any that do not, control and non-ASCII characters are
   * escaped here as {@code \}{@code uXXXX} (quotes and backslashes are left alone so quoted values
   * read the same).
   */
  static String oneLine(String message) {
    StringBuilder sb = new StringBuilder(message.length());
    for (int i = 0; i < message.length(); i++) {
      char c = message.charAt(i);
      if (c < 0x20 || c >= 0x7f) {
        sb.append(String.format("\\u%04x", (int) c));
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }

  /** Renders names as a list, each quoted and escaped with {@link SafeText#quote}. */
  static String quoteAll(List<String> values) {
    List<String> q = new ArrayList<>();
    values.forEach(v -> q.add(SafeText.quote(v)));
    return "[" + String.join(", ", q) + "]";
  }

  /** Parses a TTL option ({@link Durations}). */
  static Duration parseDuration(String text) {
    return Durations.parse(text, "duration");
  }

  /** Runs this command alone (used as a kubectl exec plugin in tests). */
  public static void main(String[] args) {
    System.exit(new CommandLine(new CredentialCommand()).execute(args));
  }
}
