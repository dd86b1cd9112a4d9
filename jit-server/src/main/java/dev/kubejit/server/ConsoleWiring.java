package dev.kubejit.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import dev.kubejit.api.Identity;
import dev.kubejit.api.JitBroker;
import dev.kubejit.console.ConsoleReply;
import dev.kubejit.console.ConsoleRequest;
import dev.kubejit.console.IdTokenVerifier;
import dev.kubejit.console.VerifiedIdToken;
import dev.kubejit.console.WebConsole;
import dev.kubejit.policy.Policy;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * Mounts the web console ({@code console:} in kubejit.yaml, docs/console.md) at {@code /}: its ID
 * tokens are verified by the same {@link OidcAuthenticator} as the API's, with the console's client
 * ID as audience; the issuer is reached over TLS trusting the JDK's CAs plus {@code
 * authentication.oidc.caFile}.
 */
final class ConsoleWiring {
  private ConsoleWiring() {}

  static WebConsole mount(ServerConfig config, JitBroker broker, Policy policy, KubeJitServer.Builder server, Clock clock) {
    ServerConfig.Console c = config.console().orElseThrow();
    ServerConfig.Authentication auth = config.authentication();
    String issuer = auth.issuer().orElseThrow();
    JWKSource<SecurityContext> keys = auth.jwksFile().isPresent()
        ? new ImmutableJWKSet<>(OidcAuthenticator.readJwks(auth.jwksFile().get()))
        : OidcAuthenticator.remoteJwks(auth.jwksUrl().orElseThrow(), OidcAuthenticator.sslSocketFactory(auth.caFile().orElse(null)));
    OidcAuthenticator tokens = new OidcAuthenticator(issuer, c.clientId(), auth.usernameClaim().orElse("sub"),
        auth.groupsClaim().orElse("groups"), auth.clockSkew().orElse(Duration.ofSeconds(60)), keys, clock);
    HttpClient http = HttpClient.newBuilder().sslContext(OidcAuthenticator.sslContext(auth.caFile().orElse(null)))
        .connectTimeout(Duration.ofSeconds(10)).followRedirects(HttpClient.Redirect.NEVER).build();
    WebConsole.Builder b = WebConsole.builder().broker(broker).clock(clock)
        .oidc(issuer, c.clientId(), http, verifier(tokens))
        .baseUrl(c.baseUrl().orElseGet(() -> ownUri(config)))
        .sessionTtl(c.sessionTtl())
        .auditLog(config.auditDirectory().resolve("audit.jsonl"))
        .kubeAuditLogs(c.kubeAuditLogs())
        .auditorGroups(new HashSet<>(c.auditorGroups()))
        .commandsForRole(commands(policy));
    c.sshCommand().ifPresent(b::sshCommand);
    c.gatewayRecordings().ifPresent(b::gatewayRecordings);
    if (c.clientSecretFile().isPresent()) {
      Path file = c.clientSecretFile().get();
      readSecret(file); // fail at start, not at the first sign-in
      b.clientSecret(() -> readSecret(file));
    }
    WebConsole console = b.build();
    server.mount("/", call -> adapt(console, call));
    return console;
  }

  static HttpReply adapt(WebConsole console, HttpCall call) {
    Map<String, String> headers = new LinkedHashMap<>();
    call.presented().header("Cookie").ifPresent(v -> headers.put("Cookie", v));
    byte[] body = call.bodyTooLarge() ? new byte[0] : call.bodyUnsafe();
    ConsoleReply r = console.handle(ConsoleRequest.of(call.method(), call.path(), call.rawQuery(), body, headers));
    return HttpReply.of(r.status(), r.headers(), r.body());
  }

  /** Verifies with {@code tokens}, then reads {@code exp} and {@code nonce} from the verified token. */
  static IdTokenVerifier verifier(OidcAuthenticator tokens) {
    return idToken -> {
      Identity id = tokens.authenticate(Presented.of(Map.of("Authorization", "Bearer " + idToken), List.of(), "127.0.0.1"));
      try {
        JWTClaimsSet claims = JWTParser.parse(idToken).getJWTClaimsSet();
        Object nonce = claims.getClaim("nonce");
        return VerifiedIdToken.of(id, claims.getExpirationTime().toInstant(), nonce instanceof String ? (String) nonce : null);
      } catch (ParseException e) {
        throw new AuthenticationException("the ID token's claims cannot be read");
      }
    };
  }

  private static URI ownUri(ServerConfig config) {
    String host = config.listenHost().contains(":") ? "[" + config.listenHost() + "]" : config.listenHost();
    return URI.create((config.tlsCertificateFile().isPresent() ? "https" : "http") + "://" + host + ":" + config.listenPort());
  }

  private static char[] readSecret(Path file) {
    return readSecret(file, "console.clientSecretFile");
  }

  /** A secret from a file (one trailing newline dropped), for the config key {@code key}; never in a message. */
  static char[] readSecret(Path file, String key) {
    try {
      String s = Files.readString(file, StandardCharsets.UTF_8);
      s = s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
      if (s.isEmpty()) {
        throw new IllegalStateException(key + " " + file + " is empty");
      }
      return s.toCharArray();
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + key + " " + file + ": " + e.getClass().getSimpleName());
    }
  }

  /** Per role, the exec commands its policy allows, as "command (rule id)", from the canonical policy. */
  static Function<String, List<String>> commands(Policy policy) {
    Map<String, List<String>> byRole = new LinkedHashMap<>();
    try {
      JsonNode root = Json.MAPPER.readTree(policy.canonicalJson());
      for (JsonNode role : root.path("roles")) {
        List<String> cmds = new ArrayList<>();
        for (JsonNode rule : role.path("commands").path("allow")) {
          String cmd = rule.path("command").asText("");
          List<String> flags = new ArrayList<>();
          rule.path("flags").forEach(f -> flags.add(f.asText()));
          rule.path("flagsWithValue").fieldNames().forEachRemaining(f -> flags.add(f + " VALUE"));
          cmds.add(cmd + (flags.isEmpty() ? "" : " [" + String.join(" ", flags) + "]")
              + (rule.path("paths").isArray() && rule.path("paths").size() > 0 ? " under " + join(rule.path("paths")) : "")
              + " (rule " + rule.path("id").asText("-") + ")");
        }
        byRole.put(role.path("name").asText(), List.copyOf(cmds));
      }
    } catch (IOException e) {
      throw new IllegalStateException("the policy's canonical form is not JSON", e);
    }
    return role -> Optional.ofNullable(byRole.get(role)).orElse(List.of());
  }

  private static String join(JsonNode arr) {
    List<String> out = new ArrayList<>();
    arr.forEach(a -> out.add(a.asText()));
    return String.join(", ", out);
  }
}
