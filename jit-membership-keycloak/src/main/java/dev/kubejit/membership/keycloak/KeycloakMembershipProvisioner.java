package dev.kubejit.membership.keycloak;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kubejit.api.EndCause;
import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.GroupMembership;
import dev.kubejit.api.ProvisioningException;
import dev.kubejit.api.RequestId;
import dev.kubejit.api.SafeText;
import dev.kubejit.api.spi.MembershipProvisioner;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link MembershipProvisioner} for Keycloak over its admin REST API: one top-level group per
 * grant, named exactly as the grant's {@link Grant#subjectGroup()} ({@code jit:grant:<grant id>}),
 * holding the grant's holder as its only member, and carrying attributes that mark it as KubeJIT's:
 * <ul>
 *   <li>{@value #MANAGED_BY} = {@value #MANAGED_BY_VALUE},
 *   <li>{@value #GRANT_ID} = the grant id,
 *   <li>{@value #MEMBER} = the holder's user name,
 *   <li>{@value #EXPIRES_AT} = the grant's expiry (ISO-8601 instant),
 *   <li>{@value #REQUEST_ID} = the grant's request id, when the membership carries one ({@link
 *       GroupMembership#of(Grant)} does): the broker's orphan sweep removes the membership of a
 *       grant its store does not know only when it can name the request.
 * </ul>
 * A group of that name without the marker, or marked for another grant, is never changed or deleted
 * (the operation fails with a {@link ProvisioningException}); nothing else in the realm is touched.
 * Removing a membership deletes the grant's group (and so the membership with it).
 *
 * <p>It signs in as a confidential client's service account (OAuth 2.0 client credentials grant,
 * RFC 6749 §4.4) of the same realm; that service account needs exactly one role, the {@code
 * realm-management} client role {@code manage-users} (which in Keycloak's default permission model
 * covers reading users and creating, reading, deleting groups and their members). The client
 * secret and the access tokens appear in no log line, message or {@code toString()}.
 *
 * <p>Thread-safe. Every operation is idempotent, as the SPI requires.
 */
public final class KeycloakMembershipProvisioner implements MembershipProvisioner {
  /** Attribute marking a group as created and managed by KubeJIT. */
  public static final String MANAGED_BY = "kubejit.dev/managed-by";
  /** The value of {@link #MANAGED_BY}. */
  public static final String MANAGED_BY_VALUE = "kubejit";
  /** Attribute holding the grant id. */
  public static final String GRANT_ID = "kubejit.dev/grant-id";
  /** Attribute holding the member's user name. */
  public static final String MEMBER = "kubejit.dev/member";
  /** Attribute holding the membership's expiry. */
  public static final String EXPIRES_AT = "kubejit.dev/expires-at";
  /** Attribute holding the grant's request id (absent on groups made without one). */
  public static final String REQUEST_ID = "kubejit.dev/request-id";

  private static final Logger log = LoggerFactory.getLogger(KeycloakMembershipProvisioner.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int PAGE = 100;

  private final URI server;
  private final String realm;
  private final String clientId;
  private final char[] clientSecret;
  private final HttpClient http;
  private final Clock clock;
  private final Duration timeout;
  private String accessToken;
  private Instant accessTokenExpiry = Instant.MIN;

  private KeycloakMembershipProvisioner(Builder b) {
    this.server = b.server;
    this.realm = b.realm;
    this.clientId = b.clientId;
    this.clientSecret = b.clientSecret.clone();
    this.clock = b.clock;
    this.timeout = b.timeout;
    HttpClient.Builder hb = HttpClient.newBuilder().connectTimeout(b.timeout)
        .followRedirects(HttpClient.Redirect.NEVER);
    if (b.sslContext != null) {
      hb.sslContext(b.sslContext);
    }
    this.http = hb.build();
  }

  /** Returns a builder; server, realm and client credentials are required. */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public void add(GroupMembership m) {
    requireNonNull(m, "membership");
    String userId = userId(m.user());
    JsonNode group = groupByName(m.group());
    String groupId;
    if (group == null) {
      groupId = createGroup(m);
    } else {
      requireOurs(group, m, "add");
      groupId = group.path("id").asText();
    }
    HttpResponse<String> r = call("PUT", adminPath("/users/" + seg(userId) + "/groups/" + seg(groupId)), null);
    expect(r, 204, "add " + SafeText.quote(m.user()) + " to group " + SafeText.quote(m.group()));
    log.info("added {} to Keycloak group {} until {} (grant {})", SafeText.quote(m.user()), SafeText.quote(m.group()),
        m.expiresAt(), m.grantId());
  }

  @Override
  public void remove(GroupMembership m, EndCause cause) {
    requireNonNull(m, "membership");
    requireNonNull(cause, "cause");
    JsonNode group = groupByName(m.group());
    if (group == null) {
      return;
    }
    requireOurs(group, m, "remove");
    HttpResponse<String> r = call("DELETE", adminPath("/groups/" + seg(group.path("id").asText())), null);
    if (r.statusCode() != 404) {
      expect(r, 204, "delete group " + SafeText.quote(m.group()));
    }
    log.info("removed Keycloak group {} of {} ({}, grant {})", SafeText.quote(m.group()), SafeText.quote(m.user()),
        cause, m.grantId());
  }

  @Override
  public List<GroupMembership> listManaged() {
    List<GroupMembership> out = new ArrayList<>();
    for (int first = 0; ; first += PAGE) {
      HttpResponse<String> r = call("GET", adminPath("/groups?briefRepresentation=false&search="
          + enc(Grant.GROUP_PREFIX) + "&first=" + first + "&max=" + PAGE), null);
      expect(r, 200, "list groups");
      JsonNode page = parse(r, "list groups");
      for (JsonNode g : page) {
        if (!MANAGED_BY_VALUE.equals(attribute(g, MANAGED_BY))) {
          continue;
        }
        try {
          out.add(membershipOf(g));
        } catch (IllegalArgumentException | DateTimeParseException | NullPointerException e) {
          // A group marked as ours but with unreadable attributes: report it as already expired, so
          // the broker's sweep removes it (fail closed), and say so.
          log.warn("Keycloak group {} is marked as KubeJIT's but its attributes are unreadable ({}); reported as expired",
              SafeText.quote(g.path("name").asText()), e.getClass().getSimpleName());
          String name = g.path("name").asText();
          if (name.startsWith(Grant.GROUP_PREFIX)) {
            try {
              out.add(GroupMembership.of(GrantId.parse(name.substring(Grant.GROUP_PREFIX.length())),
                  "unknown", name, Instant.EPOCH));
            } catch (IllegalArgumentException unparseable) {
              log.warn("and its name is not a grant's group; it is left for a person to remove");
            }
          }
        }
      }
      if (page.size() < PAGE) {
        return List.copyOf(out);
      }
    }
  }

  private static GroupMembership membershipOf(JsonNode g) {
    String name = g.path("name").asText();
    GrantId id = GrantId.parse(requireNonNull(attribute(g, GRANT_ID), "grant id"));
    if (!name.equals(Grant.GROUP_PREFIX + id.value())) {
      throw new IllegalArgumentException("name does not match the grant id");
    }
    String member = requireNonNull(attribute(g, MEMBER), "member");
    Instant expiresAt = Instant.parse(requireNonNull(attribute(g, EXPIRES_AT), "expiry"));
    String request = attribute(g, REQUEST_ID);
    return request == null ? GroupMembership.of(id, member, name, expiresAt)
        : GroupMembership.of(id, RequestId.parse(request), member, name, expiresAt);
  }

  // ------------------------------------------------------------------------------ admin calls

  private String userId(String user) {
    HttpResponse<String> r = call("GET", adminPath("/users?exact=true&briefRepresentation=true&username=" + enc(user)),
        null);
    expect(r, 200, "look up user " + SafeText.quote(user));
    List<JsonNode> matches = new ArrayList<>();
    for (JsonNode u : parse(r, "look up user")) {
      if (user.equals(u.path("username").asText())) {
        matches.add(u);
      }
    }
    if (matches.size() != 1) {
      throw new ProvisioningException("Keycloak realm " + SafeText.quote(realm) + " has " + (matches.isEmpty() ? "no"
          : matches.size()) + " user named " + SafeText.quote(user) + "; no group membership was added");
    }
    if (!matches.get(0).path("enabled").asBoolean(false)) {
      throw new ProvisioningException("Keycloak user " + SafeText.quote(user) + " is disabled; no group membership "
          + "was added");
    }
    return matches.get(0).path("id").asText();
  }

  /** The top-level group named exactly {@code name} with its attributes, or null. */
  private JsonNode groupByName(String name) {
    HttpResponse<String> r = call("GET", adminPath("/groups?exact=true&briefRepresentation=false&search=" + enc(name)),
        null);
    expect(r, 200, "look up group " + SafeText.quote(name));
    for (JsonNode g : parse(r, "look up group")) {
      if (name.equals(g.path("name").asText())) {
        return g;
      }
    }
    return null;
  }

  private String createGroup(GroupMembership m) {
    ObjectNode g = JSON.createObjectNode();
    g.put("name", m.group());
    ObjectNode a = g.putObject("attributes");
    a.putArray(MANAGED_BY).add(MANAGED_BY_VALUE);
    a.putArray(GRANT_ID).add(m.grantId().value());
    a.putArray(MEMBER).add(m.user());
    a.putArray(EXPIRES_AT).add(m.expiresAt().toString());
    m.requestId().ifPresent(id -> a.putArray(REQUEST_ID).add(id.value()));
    HttpResponse<String> r = call("POST", adminPath("/groups"), g.toString());
    if (r.statusCode() == 409) {
      // Created concurrently (another replica, or a retried call): use it if it is ours.
      JsonNode existing = groupByName(m.group());
      if (existing == null) {
        throw new ProvisioningException("Keycloak reported group " + SafeText.quote(m.group())
            + " as existing but it cannot be found; no group membership was added");
      }
      requireOurs(existing, m, "add");
      return existing.path("id").asText();
    }
    expect(r, 201, "create group " + SafeText.quote(m.group()));
    String location = r.headers().firstValue("Location").orElseThrow(() -> new ProvisioningException(
        "Keycloak created group " + SafeText.quote(m.group()) + " without a Location header"));
    return location.substring(location.lastIndexOf('/') + 1);
  }

  private static void requireOurs(JsonNode group, GroupMembership m, String op) {
    if (!MANAGED_BY_VALUE.equals(attribute(group, MANAGED_BY))
        || !m.grantId().value().equals(attribute(group, GRANT_ID))) {
      throw new ProvisioningException("Keycloak group " + SafeText.quote(m.group()) + " exists but is not KubeJIT's "
          + "group of grant " + m.grantId() + " (attributes " + MANAGED_BY + ", " + GRANT_ID + "); refusing to " + op
          + " it and leaving it untouched");
    }
  }

  private static String attribute(JsonNode group, String key) {
    JsonNode v = group.path("attributes").path(key);
    return v.isArray() && v.size() == 1 && v.get(0).isTextual() ? v.get(0).asText() : null;
  }

  private String adminPath(String pathAndQuery) {
    return "/admin/realms/" + seg(realm) + pathAndQuery;
  }

  private HttpResponse<String> call(String method, String pathAndQuery, String json) {
    HttpResponse<String> r = send(method, pathAndQuery, json, bearer(false));
    if (r.statusCode() == 401) {
      r = send(method, pathAndQuery, json, bearer(true));
    }
    if (r.statusCode() == 403) {
      throw new ProvisioningException("Keycloak refused " + method + " " + stripQuery(pathAndQuery)
          + " (HTTP 403): the service account of client " + SafeText.quote(clientId)
          + " needs realm-management role manage-users");
    }
    return r;
  }

  private HttpResponse<String> send(String method, String pathAndQuery, String json, String token) {
    HttpRequest.Builder rb = HttpRequest.newBuilder(server.resolve(pathAndQuery)).timeout(timeout)
        .header("Authorization", "Bearer " + token).header("Accept", "application/json");
    if (json != null) {
      rb.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(json));
    } else {
      rb.method(method, HttpRequest.BodyPublishers.noBody());
    }
    return exchange(rb.build(), method + " " + stripQuery(pathAndQuery));
  }

  private synchronized String bearer(boolean renew) {
    Instant now = clock.instant();
    if (renew || accessToken == null || !now.isBefore(accessTokenExpiry)) {
      String form = "grant_type=client_credentials&client_id=" + enc(clientId) + "&client_secret="
          + enc(new String(clientSecret));
      HttpRequest req = HttpRequest.newBuilder(server.resolve("/realms/" + seg(realm) + "/protocol/openid-connect/token"))
          .timeout(timeout).header("Content-Type", "application/x-www-form-urlencoded")
          .POST(HttpRequest.BodyPublishers.ofString(form)).build();
      HttpResponse<String> r = exchange(req, "client credentials grant");
      if (r.statusCode() != 200) {
        throw new ProvisioningException("Keycloak refused the client credentials of " + SafeText.quote(clientId)
            + " in realm " + SafeText.quote(realm) + ": HTTP " + r.statusCode() + " " + oauthError(r));
      }
      JsonNode body = parse(r, "client credentials grant");
      String token = body.path("access_token").asText(null);
      if (token == null) {
        throw new ProvisioningException("Keycloak's token response for " + SafeText.quote(clientId)
            + " has no access_token");
      }
      long ttl = Math.max(0, body.path("expires_in").asLong(0) - 10);
      accessToken = token;
      accessTokenExpiry = now.plusSeconds(ttl);
    }
    return accessToken;
  }

  private HttpResponse<String> exchange(HttpRequest req, String what) {
    try {
      return http.send(req, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new ProvisioningException("Keycloak at " + server + " is unreachable (" + what + "): " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ProvisioningException("interrupted talking to Keycloak (" + what + ")", e);
    }
  }

  private static void expect(HttpResponse<String> r, int status, String what) {
    if (r.statusCode() != status) {
      throw new ProvisioningException("Keycloak could not " + what + ": HTTP " + r.statusCode() + " "
          + SafeText.quote(abbreviate(r.body())));
    }
  }

  private static JsonNode parse(HttpResponse<String> r, String what) {
    try {
      return JSON.readTree(r.body());
    } catch (IOException e) {
      throw new ProvisioningException("Keycloak answered " + what + " with something that is not JSON", e);
    }
  }

  private static String oauthError(HttpResponse<String> r) {
    try {
      JsonNode b = JSON.readTree(r.body());
      return SafeText.quote(b.path("error").asText("") + " " + b.path("error_description").asText(""));
    } catch (IOException e) {
      return "(no OAuth error body)";
    }
  }

  private static String abbreviate(String s) {
    String t = s == null ? "" : s.strip();
    return t.length() <= 200 ? t : t.substring(0, 200) + "...";
  }

  private static String stripQuery(String pathAndQuery) {
    int q = pathAndQuery.indexOf('?');
    return q < 0 ? pathAndQuery : pathAndQuery.substring(0, q);
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, UTF_8);
  }

  private static String seg(String s) {
    return URLEncoder.encode(s, UTF_8).replace("+", "%20");
  }

  @Override
  public String toString() {
    return "KeycloakMembershipProvisioner[" + server + ", realm " + SafeText.quote(realm) + ", client "
        + SafeText.quote(clientId) + "]";
  }

  /** Builds a {@link KeycloakMembershipProvisioner}; each option may be set once. */
  public static final class Builder {
    private URI server;
    private String realm;
    private String clientId;
    private char[] clientSecret;
    private SSLContext sslContext;
    private Clock clock;
    private Duration timeout;

    private Builder() {}

    /**
     * Keycloak's base URL, e.g. {@code https://idp.example.com} (HTTPS only, no path).
     *
     * @throws IllegalArgumentException if it is not an HTTPS URL without path, query or fragment
     */
    public Builder server(URI server) {
      requireState(this.server == null, "server was already set to %s", this.server);
      requireNonNull(server, "server");
      if (!"https".equals(server.getScheme()) || server.getHost() == null
          || !(server.getRawPath() == null || server.getRawPath().isEmpty() || server.getRawPath().equals("/"))
          || server.getRawQuery() != null || server.getRawFragment() != null || server.getRawUserInfo() != null) {
        throw new IllegalArgumentException("Keycloak server must be an https URL without path, query or user info: "
            + SafeText.quote(server.toString()));
      }
      this.server = URI.create("https://" + server.getRawAuthority() + "/");
      return this;
    }

    /** The realm whose users and groups are managed (its service-account client lives there too). */
    public Builder realm(String realm) {
      requireState(this.realm == null, "realm was already set to %s", this.realm);
      this.realm = requireName(realm, "realm");
      return this;
    }

    /**
     * The confidential client whose service account acts (realm-management role {@code
     * manage-users} only). The secret is copied; clear your array afterwards if you like.
     */
    public Builder clientCredentials(String clientId, char[] secret) {
      requireState(this.clientId == null, "client credentials were already set for %s", this.clientId);
      this.clientId = requireName(clientId, "client id");
      requireNonNull(secret, "secret");
      if (secret.length == 0) {
        throw new IllegalArgumentException("client secret is empty");
      }
      this.clientSecret = secret.clone();
      return this;
    }

    /** The TLS context trusting Keycloak's certificate (default: the JDK's default trust store). */
    public Builder sslContext(SSLContext sslContext) {
      requireState(this.sslContext == null, "SSL context was already set");
      this.sslContext = requireNonNull(sslContext, "sslContext");
      return this;
    }

    /** The clock used to cache the service account's access token (default: system UTC). */
    public Builder clock(Clock clock) {
      requireState(this.clock == null, "clock was already set to %s", this.clock);
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    /** Connect and request timeout (default 10 seconds). */
    public Builder timeout(Duration timeout) {
      requireState(this.timeout == null, "timeout was already set to %s", this.timeout);
      requireNonNull(timeout, "timeout");
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("timeout must be positive: " + timeout);
      }
      this.timeout = timeout;
      return this;
    }

    /**
     * Returns the provisioner.
     *
     * @throws IllegalStateException if the server, realm or client credentials are missing
     */
    public KeycloakMembershipProvisioner build() {
      requireState(server != null, "the Keycloak server URL is required");
      requireState(realm != null, "the realm is required");
      requireState(clientId != null, "the service-account client credentials are required");
      Builder copy = new Builder();
      copy.server = server;
      copy.realm = realm;
      copy.clientId = clientId;
      copy.clientSecret = clientSecret;
      copy.sslContext = sslContext;
      copy.clock = clock == null ? Clock.systemUTC() : clock;
      copy.timeout = timeout == null ? Duration.ofSeconds(10) : timeout;
      return new KeycloakMembershipProvisioner(copy);
    }

    private static String requireName(String value, String what) {
      requireNonNull(value, what);
      if (value.isBlank() || value.length() > 255 || !value.equals(value.strip())
          || value.chars().anyMatch(c -> c < 0x20 || c == 0x7f || c == '/')) {
        throw new IllegalArgumentException(what + " must be 1-255 characters without control characters, '/' or "
            + "surrounding space: " + SafeText.quote(value));
      }
      return value;
    }

    private static void requireState(boolean ok, String message, Object... args) {
      if (!ok) {
        throw new IllegalStateException(String.format(message, args));
      }
    }
  }
}
