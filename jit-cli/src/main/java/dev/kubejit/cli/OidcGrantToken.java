package dev.kubejit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kubejit.api.Grant;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.Properties;

/**
 * {@code kubejit credential --grant ID --oidc}: the exec credential for the identity-provider path.
 * The API server authenticates the user's own ID token (its {@code --oidc-*} flags); the grant's
 * power is the group {@code jit:grant:<id>} that the broker's membership provisioner put the user
 * in. So this hands kubectl the current ID token from {@code ~/.kubejit/tokens}, but only one that
 * carries that group and is not about to expire: otherwise it refreshes the token first (a refresh
 * made after activation picks up the new group; one made after revoke or expiry loses it), and if
 * the fresh token still lacks the group it fails instead of handing out a token that cannot use
 * the grant. kubeconfig never holds a token; kubectl caches this one until its {@code
 * expirationTimestamp}, which is the token's {@code exp} less {@link #MARGIN}.
 *
 * <p>Design notes: the token is read, not verified — the API server verifies it; the only decisions
 * made here are when to refresh and whether to answer at all. The token's lifetime (the identity
 * provider's setting) bounds how long a copy of it stays useful after its group was removed.
 */
final class OidcGrantToken {
  /** A token expiring within this margin is refreshed, and kubectl is told it expires this much earlier. */
  static final Duration MARGIN = Duration.ofSeconds(5);
  static final String DEFAULT_GROUPS_CLAIM = "groups";

  private final ClientHome home;
  private final Clock clock;

  OidcGrantToken(ClientHome home, Clock clock) {
    this.home = home;
    this.clock = clock;
  }

  /** The ExecCredential JSON holding an ID token that carries the grant's group. */
  String execCredential(String grantId, String apiVersion) {
    Properties config = home.config();
    if (!"oidc".equals(config.getProperty("auth"))) {
      throw new CliException("--oidc needs an OIDC login (this client authenticates with "
          + CredentialCommand.oneLine(String.valueOf(config.getProperty("auth"))) + "); run: kubejit login",
          BrokerClient.EXIT_UNAUTHENTICATED);
    }
    String group = Grant.GROUP_PREFIX + grantId;
    String claim = config.getProperty("groupsClaim", DEFAULT_GROUPS_CLAIM);
    Properties tokens = home.tokens();
    String id = tokens.getProperty("idToken");
    if (id == null) {
      throw new CliException("not logged in; run: kubejit login", BrokerClient.EXIT_UNAUTHENTICATED);
    }
    if (!usable(id, group, claim)) {
      String refresh = tokens.getProperty("refreshToken");
      if (refresh == null || tokens.getProperty("tokenEndpoint") == null) {
        throw new CliException("your ID token cannot be refreshed (no refresh token); run: kubejit login",
            BrokerClient.EXIT_UNAUTHENTICATED);
      }
      OidcLogin login = new OidcLogin(OidcLogin.issuerUri(config.getProperty("issuer")), config.getProperty("clientId"),
          config.getProperty("issuerCaFile") == null ? null : Path.of(config.getProperty("issuerCaFile")), clock);
      Properties fresh = login.refresh(URI.create(tokens.getProperty("tokenEndpoint")), refresh);
      home.writeTokens(fresh);
      id = fresh.getProperty("idToken");
      if (!carries(id, group, claim)) {
        throw new CliException("your identity provider's token does not put you in group " + group
            + ": grant " + grantId + " is not active for you (not activated yet, revoked or expired)",
            BrokerClient.EXIT_FORBIDDEN);
      }
      if (!OidcLogin.expiry(id).isAfter(clock.instant().plus(MARGIN))) {
        throw new CliException("the identity provider issued an ID token that expires within " + MARGIN.toSeconds()
            + " s; its token lifetime is too short for kubectl", BrokerClient.EXIT_SERVER);
      }
    }
    ObjectNode out = BrokerClient.JSON.createObjectNode();
    out.put("apiVersion", apiVersion);
    out.put("kind", "ExecCredential");
    out.putObject("spec");
    out.putObject("status").put("token", id)
        .put("expirationTimestamp", OidcLogin.expiry(id).minus(MARGIN).truncatedTo(ChronoUnit.SECONDS).toString());
    return out.toString();
  }

  private boolean usable(String idToken, String group, String claim) {
    return OidcLogin.expiry(idToken).isAfter(clock.instant().plus(MARGIN)) && carries(idToken, group, claim);
  }

  /** Whether the (unverified) token's groups claim lists {@code group} exactly. */
  static boolean carries(String idToken, String group, String claim) {
    JsonNode groups = claims(idToken).path(claim);
    if (!groups.isArray()) {
      return false;
    }
    for (JsonNode g : groups) {
      if (g.isTextual() && g.asText().equals(group)) {
        return true;
      }
    }
    return false;
  }

  private static JsonNode claims(String jwt) {
    String[] parts = jwt.split("\\.");
    try {
      return BrokerClient.JSON.readTree(Base64.getUrlDecoder().decode(parts[1]));
    } catch (IOException | RuntimeException e) {
      throw new CliException("the stored ID token is not a JWT; run: kubejit login", BrokerClient.EXIT_UNAUTHENTICATED);
    }
  }

  /** For tests: the instant kubectl would re-run the plugin for this token. */
  static Instant expirationOf(String idToken) {
    return OidcLogin.expiry(idToken).minus(MARGIN);
  }
}
