package dev.kubejit.credentials.jwt;

import dev.kubejit.api.CredentialKind;
import dev.kubejit.api.CredentialSpec;
import dev.kubejit.api.Grant;
import dev.kubejit.credentials.CredentialKindIssuer;
import dev.kubejit.credentials.GrantCredentialIssuer;
import java.util.Set;
import static java.util.Objects.requireNonNull;

import dev.kubejit.credentials.KeyType;
import dev.kubejit.credentials.CredentialException;
import dev.kubejit.credentials.ReservedNames;
import dev.kubejit.credentials.internal.Crypto;
import dev.kubejit.credentials.internal.X509Support;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.kubejit.api.Action;
import dev.kubejit.api.CredentialKind;
import dev.kubejit.api.CredentialRef;
import dev.kubejit.api.IssuedCredential;
import dev.kubejit.api.Lifetimes;
import dev.kubejit.api.PrincipalNames;
import dev.kubejit.api.Scope;
import java.nio.file.Path;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;

/**
 * Mints short-lived, identity-bound JWTs signed with EdDSA (Ed25519) or ES256: {@code iss}, {@code
 * sub}, {@code aud}, {@code exp}, {@code nbf}, {@code iat}, {@code jti}, {@code groups}, and the
 * scope claims {@code cluster}, {@code namespace} (absent for cluster scope), {@code pod}, {@code
 * node} and {@code actions}; publishes the public key as a JWKS document for verifiers.
 *
 * <p>TTLs above {@link #maxTtl()} (default 1 hour, configurable up to {@link
 * Lifetimes#ABSOLUTE_MAX}) are refused, not clamped: a token's holder cannot be told about a clamp
 * the way a certificate's can. The subject and every group must pass {@link PrincipalNames#check}
 * and must not be reserved by {@link #reservedNames()} ({@link ReservedNames#defaults()}: {@code
 * system:*}, {@code kubeadm:*}, ...). The private key leaves this object only through {@link
 * #writePrivateJwk(Path)} (mode 0600).
 */
public final class JwtIssuer {
  static final Duration DEFAULT_MAX_TTL = Duration.ofHours(1);

  private final JWK key;
  private final JWSAlgorithm algorithm;
  private final String issuer;
  private final Clock clock;
  private final Duration maxTtl;
  private final ReservedNames reserved;

  private JwtIssuer(JWK key, String issuer, Clock clock, Duration maxTtl, ReservedNames reserved) {
    this.key = key;
    this.algorithm = JwtKeys.algorithm(key);
    if (!key.isPrivate()) {
      throw new CredentialException("the JWT signing key has no private part");
    }
    this.issuer = Crypto.requireLabel(issuer, "JWT issuer");
    this.clock = requireNonNull(clock, "clock");
    this.maxTtl = maxTtl;
    this.reserved = requireNonNull(reserved, "reservedNames");
  }

  /**
   * Generates a signing key: {@link KeyType#ED25519} for EdDSA or {@link KeyType#ECDSA_P256} for
   * ES256; the key id is the key's RFC 7638 thumbprint.
   */
  public static JwtIssuer generate(KeyType type, String issuer, Clock clock) {
    requireNonNull(type, "type");
    JWK jwk;
    try {
      if (type == KeyType.ED25519) {
        Ed25519PrivateKeyParameters priv = new Ed25519PrivateKeyParameters(Crypto.RANDOM);
        OctetKeyPair k = new OctetKeyPair.Builder(Curve.Ed25519, Base64URL.encode(priv.generatePublicKey().getEncoded()))
            .d(Base64URL.encode(priv.getEncoded())).build();
        jwk = new OctetKeyPair.Builder(k).keyIDFromThumbprint().build();
      } else if (type == KeyType.ECDSA_P256) {
        jwk = new ECKeyGenerator(Curve.P_256).provider(Crypto.BC).secureRandom(Crypto.RANDOM).keyIDFromThumbprint(true).generate();
      } else {
        throw new CredentialException("JWT keys are Ed25519 or ECDSA P-256, not " + type);
      }
    } catch (JOSEException e) {
      throw new CredentialException("cannot generate a JWT key (" + e.getClass().getSimpleName() + ")");
    }
    return new JwtIssuer(jwk, issuer, clock, DEFAULT_MAX_TTL, ReservedNames.defaults());
  }

  /**
   * Loads a private JWK file written by {@link #writePrivateJwk(Path)}.
   *
   * @throws CredentialException if the file is unreadable or not an Ed25519/P-256 private JWK
   */
  public static JwtIssuer load(Path privateJwkFile, String issuer, Clock clock) {
    String text = Crypto.read(privateJwkFile, "JWT signing key");
    try {
      return new JwtIssuer(JWK.parse(text), issuer, clock, DEFAULT_MAX_TTL, ReservedNames.defaults());
    } catch (ParseException e) {
      throw new CredentialException("JWT signing key " + Crypto.quote(privateJwkFile.toString()) + " is not a JWK");
    }
  }

  /**
   * A copy with a different maximum TTL. A JWT is a bearer token that cannot be revoked: keep it
   * short (the default is 1 hour).
   *
   * @throws IllegalArgumentException if {@code maxTtl} is not positive or exceeds {@link
   *     Lifetimes#ABSOLUTE_MAX}
   */
  public JwtIssuer withMaxTtl(Duration maxTtl) {
    return new JwtIssuer(key, issuer, clock, Lifetimes.requireWithinCap(maxTtl, "maxTtl"), reserved);
  }

  /**
   * A copy that refuses the subjects and groups reserved by {@code reservedNames} instead of
   * {@link ReservedNames#defaults()}; extend the list with {@link ReservedNames#plus}, relax it only
   * with {@link ReservedNames#exemptDangerously}.
   */
  public JwtIssuer withReservedNames(ReservedNames reservedNames) {
    return new JwtIssuer(key, issuer, clock, maxTtl, reservedNames);
  }

  /** The names this issuer never writes as {@code sub} or into {@code groups}. */
  public ReservedNames reservedNames() {
    return reserved;
  }

  /** Writes the private JWK to {@code file} with mode 0600, refusing to overwrite it. */
  public void writePrivateJwk(Path file) {
    Crypto.refuseIfExists(file);
    Crypto.writePrivate(file, key.toJSONString() + "\n");
  }

  /** The JWKS document ({@code {"keys":[...]}}) with the public key, for verifiers. */
  public String jwksJson() {
    return new JWKSet(key.toPublicJWK()).toString(true);
  }

  /** The key id ({@code kid}). */
  public String keyId() {
    return key.getKeyID();
  }

  /** The JWS algorithm, {@code EdDSA} or {@code ES256}. */
  public String algorithm() {
    return algorithm.getName();
  }

  /** The {@code iss} claim this issuer writes. */
  public String issuer() {
    return issuer;
  }

  /** The maximum TTL. */
  public Duration maxTtl() {
    return maxTtl;
  }

  /**
   * Mints a token for {@code subject} in {@code groups}, bound to {@code scope} and {@code actions},
   * for {@code audience}, valid from now for {@code ttl}.
   *
   * @throws CredentialException if a name, the audience or the TTL is unusable, or the subject
   *     or a group is reserved
   */
  public IssuedCredential mint(String subject, Collection<String> groups, Scope scope, Collection<Action> actions,
      String audience, Duration ttl) {
    Crypto.principal(subject, "JWT subject");
    Crypto.requireLabel(audience, "JWT audience");
    requireNonNull(scope, "scope");
    List<String> g = new ArrayList<>();
    for (String group : requireNonNull(groups, "groups")) {
      g.add(Crypto.principal(group, "group"));
    }
    reserved.refuse(subject, "JWT subject");
    for (String group : g) {
      reserved.refuse(group, "group");
    }
    List<String> acts = new ArrayList<>();
    for (Action a : requireNonNull(actions, "actions")) {
      acts.add(a.name());
    }
    if (acts.isEmpty()) {
      throw new CredentialException("at least one action is required in a JWT's scope");
    }
    X509Support.checkTtl(ttl);
    if (ttl.compareTo(maxTtl) > 0) {
      throw new CredentialException("JWT TTL " + ttl + " exceeds the maximum " + maxTtl);
    }
    Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    Instant exp = now.plus(ttl);
    byte[] id = new byte[16];
    Crypto.RANDOM.nextBytes(id);
    String jti = HexFormat.of().formatHex(id);
    JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder()
        .issuer(issuer).subject(subject).audience(audience)
        .issueTime(Date.from(now)).notBeforeTime(Date.from(now)).expirationTime(Date.from(exp))
        .jwtID(jti).claim("groups", g).claim("cluster", scope.cluster()).claim("actions", acts);
    scope.namespace().ifPresent(ns -> claims.claim("namespace", ns));
    scope.pod().ifPresent(p -> claims.claim("pod", p));
    scope.node().ifPresent(n -> claims.claim("node", n));
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(algorithm).keyID(key.getKeyID()).type(JOSEObjectType.JWT).build(),
        claims.build());
    try {
      jwt.sign(JwtKeys.signer(key));
    } catch (JOSEException e) {
      throw new CredentialException("cannot sign JWT for " + Crypto.quote(subject) + " (" + e.getClass().getSimpleName() + ")");
    }
    String token = jwt.serialize();
    return IssuedCredential.secretMaterial(CredentialRef.of(CredentialKind.JWT, jti, "SHA256:" + Crypto.sha256Hex(
        token.getBytes(java.nio.charset.StandardCharsets.US_ASCII)), exp), token);
  }

  /**
   * Returns this issuer as the JWT part of a {@link GrantCredentialIssuer} ({@link
   * CredentialKind#JWT}) for {@code audience}: subject the holder, the grant's group, scope and
   * action as claims, lifetime the grant's remaining time capped at {@link #maxTtl()}.
   *
   * @throws CredentialException if the audience is empty or not a plain label
   */
  public CredentialKindIssuer forGrants(String audience) {
    String aud = Crypto.requireLabel(audience, "JWT audience");
    JwtIssuer self = this;
    return new CredentialKindIssuer() {
      @Override
      public Set<CredentialKind> kinds() {
        return Set.of(CredentialKind.JWT);
      }

      @Override
      public IssuedCredential issue(Grant grant, CredentialSpec spec, Duration remaining) {
        if (spec.kind() != CredentialKind.JWT) {
          throw new CredentialException("credential kind " + spec.kind() + " is not a JWT");
        }
        if (!spec.options().isEmpty()) {
          throw new CredentialException("a JWT takes no options; got " + Crypto.quoteAll(spec.options().keySet()));
        }
        return mint(grant.holder().user(), List.of(grant.subjectGroup()), grant.scope(), List.of(grant.action()), aud,
            remaining.compareTo(maxTtl) > 0 ? maxTtl : remaining);
      }

      @Override
      public String toString() {
        return self + "{audience=" + Crypto.quote(aud) + "}";
      }
    };
  }

  @Override
  public String toString() {
    return "JwtIssuer{iss=" + Crypto.quote(issuer) + ", alg=" + algorithm + ", kid=" + key.getKeyID() + ", maxTtl=" + maxTtl
        + (reserved.equals(ReservedNames.defaults()) ? "" : ", " + reserved) + "}";
  }
}
