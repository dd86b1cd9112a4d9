package dev.kubejit.cli;

import dev.kubejit.api.Action;
import dev.kubejit.api.SafeText;
import dev.kubejit.api.Scope;
import dev.kubejit.credentials.jwt.JwtIssuer;
import dev.kubejit.credentials.jwt.JwtVerifier;
import dev.kubejit.credentials.jwt.VerifiedJwt;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code kubejit token}: short-lived JWTs. */
@Command(name = "token", mixinStandardHelpOptions = true, description = "Mint and verify short-lived JWTs.",
    subcommands = {TokenCommand.Mint.class, TokenCommand.Verify.class, TokenCommand.Jwks.class})
final class TokenCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** {@code kubejit token mint}: prints a signed token. */
  @Command(name = "mint", mixinStandardHelpOptions = true, description = "Mint a JWT bound to a user, groups, scope and actions.")
  static final class Mint implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--ca", required = true, description = "CA directory (jwt.jwk).")
    Path caDir;

    @Option(names = "--issuer", defaultValue = "kubejit", description = "iss claim (default ${DEFAULT-VALUE}).")
    String issuer;

    @Option(names = "--audience", required = true, description = "aud claim.")
    String audience;

    @Option(names = "--subject", required = true, description = "sub claim (the user).")
    String subject;

    @Option(names = "--group", description = "groups claim; repeat for several.")
    List<String> groups = List.of();

    @Option(names = "--cluster", required = true, description = "cluster scope claim.")
    String cluster;

    @Option(names = "--namespace", description = "namespace scope claim (omit for cluster scope).")
    String namespace;

    @Option(names = "--action", required = true, description = "Allowed action (logs, exec, ...); repeat for several.")
    List<String> actions;

    @Option(names = "--ttl", required = true, description = "Validity, e.g. 15m (at most 1h).")
    String ttl;

    @Mixin CredentialCommand.ReservedNameOptions reservedNames;

    @Override
    public Integer call() {
      return CredentialCommand.guarded(spec, () -> {
        JwtIssuer jwt = JwtIssuer.load(caDir.resolve("jwt.jwk"), issuer, Clock.systemUTC()).withReservedNames(reservedNames.build(spec));
        Scope scope = namespace == null ? Scope.cluster(cluster) : Scope.namespace(cluster, namespace);
        List<Action> acts = new ArrayList<>();
        actions.forEach(a -> acts.add(Action.of(a)));
        spec.commandLine().getOut().println(jwt.mint(subject, groups, scope, acts, audience, CredentialCommand.parseDuration(ttl)).material());
        spec.commandLine().getOut().flush();
        return 0;
      });
    }
  }

  /** {@code kubejit token verify}: verifies a token read from a file or stdin and prints its claims. */
  @Command(name = "verify", mixinStandardHelpOptions = true, description = "Verify a JWT (pinned key and algorithm) and print its claims.")
  static final class Verify implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--jwks", required = true, description = "JWKS document (from 'kubejit token jwks').")
    Path jwks;

    @Option(names = "--issuer", defaultValue = "kubejit", description = "Expected iss (default ${DEFAULT-VALUE}).")
    String issuer;

    @Option(names = "--audience", required = true, description = "Expected aud.")
    String audience;

    @Option(names = "--token", description = "File holding the token (default: read stdin).")
    Path token;

    @Override
    public Integer call() {
      return CredentialCommand.guarded(spec, () -> {
        String t = token != null ? Files.readString(token, StandardCharsets.UTF_8)
            : new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
        VerifiedJwt v = JwtVerifier.builder().key(Files.readString(jwks, StandardCharsets.UTF_8)).issuer(issuer).audience(audience)
            .build().verify(t == null ? "" : t.strip());
        // Every value comes from the token: quoted and escaped, so a claim cannot forge output lines or hide characters.
        spec.commandLine().getOut().println("valid: sub=" + SafeText.quote(v.subject()) + " groups=" + CredentialCommand.quoteAll(v.groups())
            + " cluster=" + SafeText.quote(v.cluster().orElse("")) + " namespace=" + v.namespace().map(SafeText::quote).orElse("*")
            + " actions=" + CredentialCommand.quoteAll(v.actions()) + " jti=" + SafeText.quote(v.id()) + " exp=" + v.expiresAt());
        spec.commandLine().getOut().flush();
        return 0;
      });
    }
  }

  /** {@code kubejit token jwks}: prints the public JWKS document for verifiers. */
  @Command(name = "jwks", mixinStandardHelpOptions = true, description = "Print the JWKS document with the public token key.")
  static final class Jwks implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--ca", required = true, description = "CA directory (jwt.jwk).")
    Path caDir;

    @Override
    public Integer call() {
      return CredentialCommand.guarded(spec, () -> {
        spec.commandLine().getOut().println(JwtIssuer.load(caDir.resolve("jwt.jwk"), "kubejit", Clock.systemUTC()).jwksJson());
        spec.commandLine().getOut().flush();
        return 0;
      });
    }
  }
}
