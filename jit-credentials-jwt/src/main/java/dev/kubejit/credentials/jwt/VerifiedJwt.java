package dev.kubejit.credentials.jwt;

import dev.kubejit.credentials.internal.Crypto;
import com.google.common.collect.ImmutableList;
import com.nimbusds.jwt.JWTClaimsSet;
import java.text.ParseException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The claims of a token that {@link JwtVerifier} accepted; only the verifier constructs it, so
 * holding one proves verification ran. Never holds the token itself.
 */
public final class VerifiedJwt {
  private final String subject;
  private final String issuer;
  private final ImmutableList<String> audience;
  private final ImmutableList<String> groups;
  private final String cluster;
  private final String namespace;
  private final String pod;
  private final String node;
  private final ImmutableList<String> actions;
  private final String id;
  private final String keyId;
  private final Instant issuedAt;
  private final Instant expiresAt;

  VerifiedJwt(JWTClaimsSet c, String keyId) throws ParseException {
    this.subject = c.getSubject();
    this.issuer = c.getIssuer();
    this.audience = ImmutableList.copyOf(c.getAudience());
    List<String> g = c.getStringListClaim("groups");
    this.groups = g == null ? ImmutableList.of() : ImmutableList.copyOf(g);
    this.cluster = c.getStringClaim("cluster");
    this.namespace = c.getStringClaim("namespace");
    this.pod = c.getStringClaim("pod");
    this.node = c.getStringClaim("node");
    List<String> a = c.getStringListClaim("actions");
    this.actions = a == null ? ImmutableList.of() : ImmutableList.copyOf(a);
    this.id = c.getJWTID();
    this.keyId = keyId;
    this.issuedAt = c.getIssueTime() == null ? null : c.getIssueTime().toInstant();
    this.expiresAt = c.getExpirationTime().toInstant();
  }

  /** The {@code sub} claim (the user). */
  public String subject() {
    return subject;
  }

  /** The {@code iss} claim. */
  public String issuer() {
    return issuer;
  }

  /** The {@code aud} claim. */
  public ImmutableList<String> audience() {
    return audience;
  }

  /** The {@code groups} claim. */
  public ImmutableList<String> groups() {
    return groups;
  }

  /** The {@code cluster} scope claim, if present. */
  public Optional<String> cluster() {
    return Optional.ofNullable(cluster);
  }

  /** The {@code namespace} scope claim; absent for cluster scope. */
  public Optional<String> namespace() {
    return Optional.ofNullable(namespace);
  }

  /** The {@code pod} scope claim, if the scope is pinned to a pod. */
  public Optional<String> pod() {
    return Optional.ofNullable(pod);
  }

  /** The {@code node} scope claim, if the scope is pinned to a node. */
  public Optional<String> node() {
    return Optional.ofNullable(node);
  }

  /** The {@code actions} scope claim. */
  public ImmutableList<String> actions() {
    return actions;
  }

  /** The {@code jti} claim. */
  public String id() {
    return id;
  }

  /** The {@code kid} header, if present. */
  public Optional<String> keyId() {
    return Optional.ofNullable(keyId);
  }

  /** The {@code iat} claim, if present. */
  public Optional<Instant> issuedAt() {
    return Optional.ofNullable(issuedAt);
  }

  /** The {@code exp} claim. */
  public Instant expiresAt() {
    return expiresAt;
  }

  @Override
  public String toString() {
    return "VerifiedJwt{sub=" + Crypto.quote(subject) + ", groups=" + Crypto.quoteAll(groups) + ", cluster=" + Crypto.quote(cluster)
        + (namespace != null ? ", namespace=" + Crypto.quote(namespace) : "") + ", actions=" + Crypto.quoteAll(actions)
        + ", jti=" + Crypto.quote(id) + ", exp=" + expiresAt + "}";
  }
}
