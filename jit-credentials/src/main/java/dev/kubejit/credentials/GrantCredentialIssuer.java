package dev.kubejit.credentials;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableMap;
import dev.kubejit.api.CredentialKind;
import dev.kubejit.api.CredentialSpec;
import dev.kubejit.api.Grant;
import dev.kubejit.api.IssuedCredential;
import dev.kubejit.api.spi.CredentialIssuer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The broker's {@link CredentialIssuer}: dispatches each {@link CredentialSpec} to the {@link
 * CredentialKindIssuer} configured for its kind — X.509 certificates (from a CSR, or with a
 * server-generated key on explicit request) through {@link Builder#x509}, and any other kind through
 * {@link Builder#issuer}, for example {@code SshCertificateAuthority.forGrants()} (artifact
 * jit-credentials-ssh) or {@code JwtIssuer.forGrants("gateway")} (jit-credentials-jwt):
 *
 * <pre>{@code
 * GrantCredentialIssuer issuer = GrantCredentialIssuer.builder()
 *     .x509(x509Issuer)
 *     .issuer(sshCa.forGrants())
 *     .issuer(jwtIssuer.forGrants("gateway"))
 *     .clock(clock)
 *     .build();
 * }</pre>
 *
 * <p>Identity binding: the user is {@code grant.holder().user()} and the only group is {@code
 * grant.subjectGroup()} ({@code jit:grant:<id>}). The holder's identity-provider groups are
 * deliberately NOT added, so the credential reaches exactly what the grant's RoleBinding allows.
 * Validity ends no later than {@code grant.expiresAt()}: a grant that has ended gets nothing, and
 * each kind issuer receives the grant's remaining time by this issuer's clock. Server-generated
 * X.509 keys: option {@code keyType} (default {@code ed25519}). Every name passes through the kind
 * issuer's checks: a holder whose user name is reserved ({@link ReservedNames}) gets nothing.
 */
public final class GrantCredentialIssuer implements CredentialIssuer {
  private final ImmutableMap<CredentialKind, CredentialKindIssuer> issuers;
  private final Clock clock;

  private GrantCredentialIssuer(Builder b) {
    this.issuers = ImmutableMap.copyOf(b.issuers);
    this.clock = b.clock;
  }

  /** Returns a builder; configure at least one issuer. */
  public static Builder builder() {
    return new Builder();
  }

  /** The kinds this issuer mints, in configuration order. */
  public Set<CredentialKind> kinds() {
    return issuers.keySet();
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
    CredentialKindIssuer issuer = issuers.get(spec.kind());
    if (issuer == null) {
      throw new CredentialException("credential kind " + spec.kind() + " is not configured in this issuer (configured: "
          + issuers.keySet() + ")");
    }
    return issuer.issue(grant, spec, Duration.between(now, grant.expiresAt()));
  }

  @Override
  public String toString() {
    return "GrantCredentialIssuer{kinds=" + issuers.keySet() + "}";
  }

  /** Builds a {@link GrantCredentialIssuer}. */
  public static final class Builder {
    private final Map<CredentialKind, CredentialKindIssuer> issuers = new LinkedHashMap<>();
    private Clock clock = Clock.systemUTC();

    private Builder() {}

    /**
     * Enables X.509 certificates ({@link CredentialKind#X509_FROM_CSR} and {@link
     * CredentialKind#X509_SERVER_GENERATED_KEY}); the same as {@code issuer(issuer.forGrants())}.
     *
     * @throws IllegalStateException if a kind is already configured
     */
    public Builder x509(X509Issuer issuer) {
      return issuer(requireNonNull(issuer, "issuer").forGrants());
    }

    /**
     * Enables the kinds {@code issuer} mints.
     *
     * @throws IllegalStateException if one of its kinds is already configured (the earlier issuer is named)
     * @throws IllegalArgumentException if it names no kind
     */
    public Builder issuer(CredentialKindIssuer issuer) {
      requireNonNull(issuer, "issuer");
      Set<CredentialKind> kinds = Set.copyOf(issuer.kinds());
      if (kinds.isEmpty()) {
        throw new IllegalArgumentException("issuer " + issuer + " names no credential kind");
      }
      for (CredentialKind k : kinds) {
        if (issuers.containsKey(k)) {
          throw new IllegalStateException(k + " is already issued by " + issuers.get(k));
        }
      }
      for (CredentialKind k : CredentialKind.values()) {
        if (kinds.contains(k)) {
          issuers.put(k, issuer);
        }
      }
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
      if (issuers.isEmpty()) {
        throw new IllegalStateException("configure at least one issuer: x509(...) or issuer(...)");
      }
      return new GrantCredentialIssuer(this);
    }
  }
}
