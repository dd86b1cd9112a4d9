package dev.kubejit.credentials;

import static java.util.Objects.requireNonNull;

import dev.kubejit.api.CredentialSpec;
import dev.kubejit.api.Grant;
import dev.kubejit.api.IssuedCredential;
import dev.kubejit.api.spi.CredentialIssuer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The broker's {@link CredentialIssuer}: issues X.509 certificates (from a CSR, or with a
 * server-generated key on explicit request), OpenSSH user certificates and JWTs for a {@link
 * Grant}, with whichever issuers were configured.
 *
 * <p>Identity binding: the user is {@code grant.holder().user()} and the only group is {@code
 * grant.subjectGroup()} ({@code jit:grant:<id>}). The holder's identity-provider groups are
 * deliberately NOT added, so the credential reaches exactly what the grant's RoleBinding allows.
 * Validity ends no later than {@code grant.expiresAt()}. SSH certificates: the principal is the
 * holder's user name unless the spec option {@code principals} (space-separated) names others; key
 * id {@code kubejit:request=<id>:grant=<id>:user=<user>}; options {@code force-command}, {@code
 * source-address} and {@code extensions} (space-separated). Server-generated X.509 keys: option
 * {@code keyType} (default {@code ed25519}). JWTs are minted for the issuer's configured audience.
 * Every name passes through the configured issuer's checks: a holder whose user name is reserved
 * ({@link ReservedNames}), or an SSH {@code principals} option naming {@code root}, gets nothing.
 */
public final class GrantCredentialIssuer implements CredentialIssuer {
  private static final Set<String> SSH_OPTIONS = Set.of("principals", "force-command", "source-address", "extensions");

  private final X509Issuer x509;
  private final SshCertificateAuthority ssh;
  private final JwtIssuer jwt;
  private final String jwtAudience;
  private final Clock clock;

  private GrantCredentialIssuer(Builder b) {
    this.x509 = b.x509;
    this.ssh = b.ssh;
    this.jwt = b.jwt;
    this.jwtAudience = b.jwtAudience;
    this.clock = b.clock;
  }

  /** Returns a builder; configure at least one issuer. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Issues the credential the spec asks for, bound to the grant's holder and per-grant group.
   *
   * @throws CredentialException if the kind is not configured, the spec is refused, or the grant has already ended
   */
  @Override
  public IssuedCredential issue(Grant grant, CredentialSpec spec) {
    requireNonNull(grant, "grant");
    requireNonNull(spec, "spec");
    Instant now = clock.instant();
    if (!grant.expiresAt().isAfter(now)) {
      throw new CredentialException("grant " + grant.id() + " ended at " + grant.expiresAt() + "; nothing issued");
    }
    Duration ttl = Duration.between(now, grant.expiresAt());
    String user = grant.holder().user();
    List<String> groups = List.of(grant.subjectGroup());
    String capReason = "grant " + grant.id() + " ends";
    switch (spec.kind()) {
      case X509_FROM_CSR:
        return need(x509, "X.509").issueFromCsr(spec.publicMaterial().orElseThrow(), user, groups, ttl, grant.expiresAt(), capReason)
            .toIssuedCredential();
      case X509_SERVER_GENERATED_KEY: {
        KeyType type = KeyType.parse(spec.options().getOrDefault("keyType", "ed25519"));
        return need(x509, "X.509").issueWithGeneratedKey(user, groups, ttl, type, grant.expiresAt(), capReason).toIssuedCredential();
      }
      case SSH_USER_CERTIFICATE:
        return need(ssh, "SSH").sign(sshRequest(grant, spec, ttl), grant.expiresAt(), capReason).toIssuedCredential();
      case JWT:
        return need(jwt, "JWT").mint(user, groups, grant.scope(), List.of(grant.action()), jwtAudience,
            ttl.compareTo(jwt.maxTtl()) > 0 ? jwt.maxTtl() : ttl);
      default:
        throw new CredentialException("credential kind " + spec.kind() + " is not issued by " + getClass().getSimpleName());
    }
  }

  private static SshCertificateRequest sshRequest(Grant grant, CredentialSpec spec, Duration ttl) {
    Map<String, String> o = spec.options();
    for (String k : o.keySet()) {
      if (!SSH_OPTIONS.contains(k)) {
        throw new CredentialException("unknown SSH certificate option " + Crypto.quote(k) + "; known: " + SSH_OPTIONS);
      }
    }
    SshCertificateRequest.Builder b = SshCertificateRequest.builder()
        .publicKey(spec.publicMaterial().orElseThrow())
        .keyId("kubejit:request=" + grant.requestId().value() + ":grant=" + grant.id().value() + ":user=" + grant.holder().user())
        .ttl(ttl);
    String principals = o.get("principals");
    b.principals(principals == null ? List.of(grant.holder().user()) : Arrays.asList(principals.strip().split(" +")));
    if (o.containsKey("force-command")) {
      b.forceCommand(o.get("force-command"));
    }
    if (o.containsKey("source-address")) {
      b.sourceAddresses(o.get("source-address"));
    }
    if (o.containsKey("extensions")) {
      for (String e : o.get("extensions").strip().split(" +")) {
        b.extension(e);
      }
    }
    return b.build();
  }

  private static <T> T need(T issuer, String what) {
    if (issuer == null) {
      throw new CredentialException(what + " credentials are not configured in this issuer");
    }
    return issuer;
  }

  @Override
  public String toString() {
    return "GrantCredentialIssuer{x509=" + (x509 != null) + ", ssh=" + (ssh != null) + ", jwt=" + (jwt != null) + "}";
  }

  /** Builds a {@link GrantCredentialIssuer}. */
  public static final class Builder {
    private X509Issuer x509;
    private SshCertificateAuthority ssh;
    private JwtIssuer jwt;
    private String jwtAudience;
    private Clock clock = Clock.systemUTC();

    private Builder() {}

    /** Enables X.509 certificates. */
    public Builder x509(X509Issuer issuer) {
      this.x509 = requireNonNull(issuer);
      return this;
    }

    /** Enables OpenSSH user certificates. */
    public Builder ssh(SshCertificateAuthority ca) {
      this.ssh = requireNonNull(ca);
      return this;
    }

    /** Enables JWTs for {@code audience}. */
    public Builder jwt(JwtIssuer issuer, String audience) {
      this.jwt = requireNonNull(issuer);
      this.jwtAudience = Crypto.requireLabel(audience, "JWT audience");
      return this;
    }

    /** Sets the clock used to compute the remaining grant time (use the broker's clock). */
    public Builder clock(Clock clock) {
      this.clock = requireNonNull(clock);
      return this;
    }

    /**
     * Returns the issuer.
     *
     * @throws IllegalStateException if no issuer was configured
     */
    public GrantCredentialIssuer build() {
      if (x509 == null && ssh == null && jwt == null) {
        throw new IllegalStateException("configure at least one of x509(...), ssh(...), jwt(...)");
      }
      return new GrantCredentialIssuer(this);
    }
  }
}
