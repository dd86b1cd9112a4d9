package dev.kubejit.credentials.jwt;

import static java.util.Objects.requireNonNull;

import dev.kubejit.credentials.CredentialException;
import dev.kubejit.credentials.internal.Crypto;
import com.nimbusds.jose.Algorithm;
import com.nimbusds.jose.Header;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Verifies KubeJIT JWTs: the algorithm and key are pinned (a token's {@code alg} must equal the
 * pinned one, so {@code none} and HMAC-with-the-public-key are refused before any cryptography),
 * {@code exp} is required ({@code exp}, {@code nbf}, {@code iat}: seconds from 1970 to 9999),
 * {@code iss} and {@code aud} must match, clock skew is bounded (at most
 * 10 minutes), ECDSA signatures with r or s of zero are refused, and an optional cache refuses a
 * replayed {@code jti}.
 *
 * <p>Time semantics on the verifier's clock, with skew {@code s}: a token is accepted iff {@code
 * nbf - s <= now < exp + s}. Thread-safe.
 */
public final class JwtVerifier {
  static final Duration MAX_SKEW = Duration.ofMinutes(10);
  private static final int MAX_TOKEN_CHARS = 16 * 1024;
  /** 9999-12-31T23:59:59Z in seconds: the latest time claim accepted. */
  private static final long MAX_EPOCH_SECOND = 253_402_300_799L;

  private final JWK key;
  private final JWSAlgorithm algorithm;
  private final String issuer;
  private final String audience;
  private final Clock clock;
  private final Duration skew;
  private final int replayCapacity;
  private final Map<String, Instant> seen = new LinkedHashMap<>();

  private JwtVerifier(Builder b) {
    this.key = b.key;
    this.algorithm = JwtKeys.algorithm(b.key);
    this.issuer = b.issuer;
    this.audience = b.audience;
    this.clock = b.clock;
    this.skew = b.skew;
    this.replayCapacity = b.replayCapacity;
  }

  /** Returns a builder; key, issuer and audience are required. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Verifies {@code token} and returns its claims.
   *
   * @throws CredentialException naming the first check that failed; the message never contains the token
   */
  public VerifiedJwt verify(String token) {
    if (token == null || token.isEmpty()) {
      throw new CredentialException("JWT is required");
    }
    if (token.length() > MAX_TOKEN_CHARS) {
      throw new CredentialException("JWT is longer than " + MAX_TOKEN_CHARS + " characters");
    }
    String[] parts = token.split("\\.", -1);
    if (parts.length != 3) {
      throw new CredentialException("JWT must have three dot-separated parts (JWS compact), found " + parts.length);
    }
    Header header;
    try {
      header = Header.parse(new Base64URL(parts[0]));
    } catch (ParseException | RuntimeException e) {
      throw new CredentialException("JWT header is malformed");
    }
    Algorithm alg = header.getAlgorithm();
    if (alg == null || Algorithm.NONE.equals(alg)) {
      throw new CredentialException("JWT algorithm \"none\" is refused");
    }
    if (!algorithm.equals(alg)) {
      throw new CredentialException("JWT algorithm " + Crypto.quote(alg.getName()) + " is refused; this verifier is pinned to "
          + algorithm.getName());
    }
    JWSHeader jws = (JWSHeader) header;
    if (jws.getCriticalParams() != null && !jws.getCriticalParams().isEmpty()) {
      throw new CredentialException("JWT has critical header parameters " + Crypto.quoteAll(jws.getCriticalParams())
          + "; none are supported");
    }
    if (jws.getKeyID() != null && key.getKeyID() != null && !jws.getKeyID().equals(key.getKeyID())) {
      throw new CredentialException("JWT key id " + Crypto.quote(jws.getKeyID()) + " is not the pinned key " + Crypto.quote(key.getKeyID()));
    }
    if (jws.getJWK() != null || jws.getJWKURL() != null || jws.getX509CertChain() != null || jws.getX509CertURL() != null) {
      throw new CredentialException("JWT header carries its own key material (jwk/jku/x5c/x5u); refused");
    }
    SignedJWT jwt;
    try {
      jwt = SignedJWT.parse(token);
    } catch (ParseException e) {
      throw new CredentialException("JWT is malformed");
    }
    if (algorithm == JWSAlgorithm.ES256) {
      JwtKeys.checkEs256Shape(jwt.getSignature().decode());
    }
    boolean valid;
    try {
      valid = jwt.verify(JwtKeys.verifier(key));
    } catch (JOSEException | IllegalStateException e) {
      valid = false;
    }
    if (!valid) {
      throw new CredentialException("JWT signature is invalid");
    }
    JWTClaimsSet claims;
    try {
      claims = jwt.getJWTClaimsSet();
    } catch (ParseException e) {
      throw new CredentialException("JWT claims are malformed");
    }
    if (!issuer.equals(claims.getIssuer())) {
      throw new CredentialException("JWT issuer " + Crypto.quote(claims.getIssuer()) + " is not " + Crypto.quote(issuer));
    }
    List<String> aud = claims.getAudience();
    if (aud == null || !aud.contains(audience)) {
      throw new CredentialException("JWT audience " + (aud == null ? "(none)" : Crypto.quoteAll(aud)) + " does not contain "
          + Crypto.quote(audience));
    }
    // Nimbus turns seconds into milliseconds with a multiplication that wraps around: without this
    // an exp of about -1.8e16 (long past) would be read as a time near now.
    Map<String, Object> raw = jwt.getPayload().toJSONObject();
    for (String name : List.of("exp", "nbf", "iat")) {
      Object v = raw == null ? null : raw.get(name);
      if (v != null && !(v instanceof Number && ((Number) v).doubleValue() >= 0
          && ((Number) v).doubleValue() <= MAX_EPOCH_SECOND)) {
        throw new CredentialException("JWT " + name + " is not a time in seconds between 1970 and 9999");
      }
    }
    Instant now = clock.instant();
    Date exp = claims.getExpirationTime();
    if (exp == null) {
      throw new CredentialException("JWT has no exp claim; tokens without expiry are refused");
    }
    Instant expiresAt = exp.toInstant();
    if (!now.isBefore(expiresAt.plus(skew))) {
      throw new CredentialException("JWT expired at " + expiresAt + " (now " + now + ", allowed skew " + skew + ")");
    }
    Date nbf = claims.getNotBeforeTime();
    if (nbf != null && now.plus(skew).isBefore(nbf.toInstant())) {
      throw new CredentialException("JWT is not valid before " + nbf.toInstant() + " (now " + now + ")");
    }
    Date iat = claims.getIssueTime();
    if (iat != null && now.plus(skew).isBefore(iat.toInstant())) {
      throw new CredentialException("JWT was issued in the future at " + iat.toInstant() + " (now " + now + ")");
    }
    String sub = claims.getSubject();
    if (sub == null || sub.isEmpty()) {
      throw new CredentialException("JWT has no sub claim");
    }
    VerifiedJwt verified;
    try {
      verified = new VerifiedJwt(claims, jws.getKeyID());
    } catch (ParseException | RuntimeException e) {
      throw new CredentialException("JWT scope claims are malformed (" + e.getClass().getSimpleName() + ")");
    }
    // The issuer never writes such names; a token that carries one was not minted by it.
    Crypto.principal(verified.subject(), "JWT sub claim");
    for (String g : verified.groups()) {
      Crypto.principal(g, "JWT groups claim entry");
    }
    if (replayCapacity > 0) {
      remember(verified.id(), expiresAt.plus(skew), now);
    }
    return verified;
  }

  private synchronized void remember(String jti, Instant forgetAfter, Instant now) {
    if (jti == null || jti.isEmpty()) {
      throw new CredentialException("JWT has no jti claim; replay protection needs one");
    }
    seen.values().removeIf(until -> !now.isBefore(until));
    if (seen.containsKey(jti)) {
      throw new CredentialException("JWT id " + Crypto.quote(jti) + " was already used (replay refused)");
    }
    if (seen.size() >= replayCapacity) {
      throw new CredentialException("JWT replay cache is full (" + replayCapacity + " unexpired tokens); refusing rather than forgetting");
    }
    seen.put(jti, forgetAfter);
  }

  @Override
  public String toString() {
    return "JwtVerifier{alg=" + algorithm + ", kid=" + key.getKeyID() + ", iss=" + Crypto.quote(issuer) + ", aud="
        + Crypto.quote(audience) + ", skew=" + skew + (replayCapacity > 0 ? ", replayCache=" + replayCapacity : "") + "}";
  }

  /** Builds a {@link JwtVerifier}. */
  public static final class Builder {
    private JWK key;
    private String issuer;
    private String audience;
    private Clock clock = Clock.systemUTC();
    private Duration skew = Duration.ofMinutes(1);
    private int replayCapacity;

    private Builder() {}

    /** Pins the verification key, given as a public JWK or a JWKS document with exactly one key (or the one with {@code kid}). */
    public Builder key(String jwkOrJwksJson, String kid) {
      if (key != null) {
        throw new IllegalStateException("key was already set to kid " + key.getKeyID());
      }
      JWK k;
      try {
        if (jwkOrJwksJson != null && jwkOrJwksJson.contains("\"keys\"")) {
          JWKSet set = JWKSet.parse(jwkOrJwksJson);
          if (kid != null) {
            k = set.getKeyByKeyId(kid);
          } else if (set.getKeys().size() == 1) {
            k = set.getKeys().get(0);
          } else {
            throw new CredentialException("JWKS has " + set.getKeys().size() + " keys; name the kid to pin");
          }
        } else {
          k = JWK.parse(jwkOrJwksJson);
        }
      } catch (ParseException | NullPointerException e) {
        throw new CredentialException("JWT verification key is not a JWK or JWKS document");
      }
      if (k == null) {
        throw new CredentialException("JWKS has no key with kid " + Crypto.quote(kid));
      }
      JwtKeys.algorithm(k);
      this.key = k.toPublicJWK();
      return this;
    }

    /** Pins the verification key from a JWK or single-key JWKS document. */
    public Builder key(String jwkOrJwksJson) {
      return key(jwkOrJwksJson, null);
    }

    /** Sets the required {@code iss}. */
    public Builder issuer(String issuer) {
      this.issuer = Crypto.requireLabel(issuer, "expected issuer");
      return this;
    }

    /** Sets the audience that {@code aud} must contain. */
    public Builder audience(String audience) {
      this.audience = Crypto.requireLabel(audience, "expected audience");
      return this;
    }

    /** Sets the clock (default: system UTC). */
    public Builder clock(Clock clock) {
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    /** Sets the allowed clock skew (default 1 minute, at most 10 minutes). */
    public Builder allowedSkew(Duration skew) {
      if (skew == null || skew.isNegative() || skew.compareTo(MAX_SKEW) > 0) {
        throw new IllegalArgumentException("allowed skew must be between 0 and " + MAX_SKEW + ": " + skew);
      }
      this.skew = skew;
      return this;
    }

    /** Refuses a {@code jti} seen before, remembering up to {@code capacity} unexpired tokens. */
    public Builder replayCache(int capacity) {
      if (capacity <= 0) {
        throw new IllegalArgumentException("replay cache capacity must be positive: " + capacity);
      }
      this.replayCapacity = capacity;
      return this;
    }

    /**
     * Returns the verifier.
     *
     * @throws IllegalStateException if key, issuer or audience is missing
     */
    public JwtVerifier build() {
      if (key == null) {
        throw new IllegalStateException("key(...) is required: the verifier pins one key");
      }
      if (issuer == null) {
        throw new IllegalStateException("issuer(...) is required");
      }
      if (audience == null) {
        throw new IllegalStateException("audience(...) is required");
      }
      return new JwtVerifier(this);
    }
  }
}
