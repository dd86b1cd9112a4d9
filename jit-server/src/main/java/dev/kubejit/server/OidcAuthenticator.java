package dev.kubejit.server;

import static java.util.Objects.requireNonNull;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKMatcher;
import com.nimbusds.jose.jwk.JWKSelector;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.jwk.source.RateLimitReachedException;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.DefaultResourceRetriever;
import com.nimbusds.jose.util.ResourceRetriever;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import dev.kubejit.api.Identity;
import java.io.IOException;
import java.io.InputStream;
import java.net.MalformedURLException;
import java.net.URI;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.X509EncodedKeySpec;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * Authenticates callers by an OpenID Connect ID token sent as {@code Authorization: Bearer <jwt>}
 * and verified with Nimbus JOSE+JWT against the issuer's JWKS.
 *
 * <p>What is checked, in this order, so that every claim it reports on is one the issuer signed:
 * the header is a Bearer token of at most 16 KiB; the token is a signed JWT (never {@code alg:
 * none}, never HMAC, never encrypted) with one of RS256, RS384, RS512, PS256, ES256, ES384,
 * EdDSA (Ed25519); its header type is not an access-token type ({@code at+jwt}); a key of the JWKS
 * matches its {@code kid} and algorithm and the signature verifies; {@code iss} is exactly the
 * configured issuer; {@code aud} contains the configured audience and, when it lists several and
 * {@code azp} is present, {@code azp} is that audience; {@code exp} and {@code iat} are present and
 * {@code exp}, {@code nbf} and {@code iat}, each a number of seconds between 1970 and 9999, hold on
 * the injected clock within the configured skew;
 * Keycloak's {@code typ} claim, when present, says {@code ID}; the username claim is a non-empty
 * string; the groups claim is absent (no groups) or a list of strings.
 *
 * <p>The JWKS comes from a file (read once, at construction) or from an https URL, fetched on first
 * use and cached for 15 minutes; a token whose {@code kid} is not in the cached set triggers a
 * refetch, with Nimbus's rate limit of two fetches per 30 seconds (the set is then answered from
 * the cache), so a key rotation is picked up at once without letting unknown kids hammer the
 * issuer. The https connection trusts the JDK's default trust store plus, when
 * configured, the CA file {@code authentication.oidc.caFile}.
 *
 * <p>Error messages say what was expected and never contain the token.
 */
public final class OidcAuthenticator implements Authenticator {
  /** The signature algorithms accepted; {@code none} and HMAC never are. */
  static final Set<JWSAlgorithm> ALLOWED = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.RS384, JWSAlgorithm.RS512,
      JWSAlgorithm.PS256, JWSAlgorithm.ES256, JWSAlgorithm.ES384, JWSAlgorithm.EdDSA);
  static final int MAX_TOKEN_CHARS = 16 * 1024;
  static final Duration JWKS_CACHE = Duration.ofMinutes(15);
  static final Duration JWKS_MIN_REFETCH = Duration.ofSeconds(30);
  private static final Duration MAX_SKEW = Duration.ofMinutes(5);
  /** 9999-12-31T23:59:59Z in seconds: the latest time claim accepted. */
  private static final long MAX_EPOCH_SECOND = 253_402_300_799L;
  private static final int HTTP_TIMEOUT_MILLIS = 5_000;
  private static final int JWKS_SIZE_LIMIT = 512 * 1024;
  private static final Set<String> ACCESS_TOKEN_TYPES = Set.of("at+jwt", "application/at+jwt");

  private final String issuer;
  private final String audience;
  private final String usernameClaim;
  private final String groupsClaim;
  private final Duration skew;
  private final JWKSource<SecurityContext> keys;
  private final Clock clock;

  OidcAuthenticator(String issuer, String audience, String usernameClaim, String groupsClaim, Duration skew,
      JWKSource<SecurityContext> keys, Clock clock) {
    this.issuer = requireNonNull(issuer, "issuer");
    this.audience = requireNonNull(audience, "audience");
    this.usernameClaim = requireNonNull(usernameClaim, "usernameClaim");
    this.groupsClaim = requireNonNull(groupsClaim, "groupsClaim");
    this.skew = requireNonNull(skew, "skew");
    if (skew.isNegative() || skew.compareTo(MAX_SKEW) > 0) {
      throw new IllegalArgumentException("clock skew must be between 0 and 5 minutes, not " + skew);
    }
    this.keys = requireNonNull(keys, "keys");
    this.clock = requireNonNull(clock, "clock");
  }

  /**
   * Builds the authenticator that {@code auth} (mode OIDC) describes. A {@code jwksFile} is read
   * now; a {@code jwksUrl} is fetched on first use.
   *
   * @throws IllegalArgumentException if {@code auth} is not an OIDC configuration
   * @throws IllegalStateException if the JWKS file or the CA file cannot be read or parsed
   */
  public static OidcAuthenticator fromConfig(ServerConfig.Authentication auth, Clock clock) {
    requireNonNull(auth, "auth");
    if (auth.mode() != ServerConfig.Authentication.Mode.OIDC) {
      throw new IllegalArgumentException("not an OIDC configuration: " + auth.mode());
    }
    String issuer = auth.issuer().orElseThrow(() -> new IllegalArgumentException("OIDC without issuer"));
    String audience = auth.audience().orElseThrow(() -> new IllegalArgumentException("OIDC without audience"));
    JWKSource<SecurityContext> keys;
    if (auth.jwksFile().isPresent()) {
      keys = new ImmutableJWKSet<>(readJwks(auth.jwksFile().get()));
    } else {
      String url = auth.jwksUrl().orElseThrow(() -> new IllegalArgumentException("OIDC without jwksFile or jwksUrl"));
      keys = remoteJwks(url, sslSocketFactory(auth.caFile().orElse(null)));
    }
    return new OidcAuthenticator(issuer, audience, auth.usernameClaim().orElse("sub"),
        auth.groupsClaim().orElse("groups"), auth.clockSkew().orElse(Duration.ofSeconds(60)), keys, clock);
  }

  static JWKSet readJwks(Path file) {
    try {
      JWKSet set = JWKSet.parse(Files.readString(file, StandardCharsets.UTF_8));
      for (JWK k : set.getKeys()) {
        if (k.isPrivate()) {
          // A JWKS with private keys is a configuration mistake; refuse rather than hold secrets.
          throw new IllegalStateException("the JWKS file " + file + " holds a private key; give only public keys");
        }
      }
      if (set.getKeys().isEmpty()) {
        throw new IllegalStateException("the JWKS file " + file + " holds no keys");
      }
      return set;
    } catch (IOException e) {
      throw new IllegalStateException("cannot read the JWKS file " + file + ": " + e.getClass().getSimpleName(), e);
    } catch (ParseException e) {
      throw new IllegalStateException("the JWKS file " + file + " is not a JSON Web Key Set", e);
    }
  }

  static JWKSource<SecurityContext> remoteJwks(String url, SSLSocketFactory ssl) {
    URL u;
    try {
      URI uri = URI.create(url);
      if (!"https".equalsIgnoreCase(uri.getScheme())) {
        throw new IllegalArgumentException("the JWKS URL must be https: " + url);
      }
      u = uri.toURL();
    } catch (MalformedURLException | IllegalArgumentException e) {
      throw new IllegalArgumentException("not a usable JWKS URL: " + url, e);
    }
    return remoteJwks(u, new DefaultResourceRetriever(HTTP_TIMEOUT_MILLIS, HTTP_TIMEOUT_MILLIS, JWKS_SIZE_LIMIT, true,
        ssl));
  }

  /** The caching, rate-limited JWKS source over {@code retriever} (a seam for the cache tests). */
  static JWKSource<SecurityContext> remoteJwks(URL u, ResourceRetriever retriever) {
    return JWKSourceBuilder.<SecurityContext>create(u, retriever)
        .cache(JWKS_CACHE.toMillis(), HTTP_TIMEOUT_MILLIS)
        .rateLimited(JWKS_MIN_REFETCH.toMillis())
        .refreshAheadCache(false)
        .retrying(false)
        .outageTolerant(false)
        .build();
  }

  /** Trusts the JDK's default CAs plus those in {@code caFile} (PEM), if given. */
  static SSLSocketFactory sslSocketFactory(Path caFile) {
    return sslContext(caFile).getSocketFactory();
  }

  /** A TLS context that trusts the JDK's default CAs plus those in {@code caFile} (PEM), if given. */
  static SSLContext sslContext(Path caFile) {
    try {
      TrustManagerFactory defaults = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      defaults.init((KeyStore) null);
      if (caFile == null) {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, defaults.getTrustManagers(), null);
        return ctx;
      }
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      int i = 0;
      for (TrustManager tm : defaults.getTrustManagers()) {
        if (tm instanceof X509TrustManager) {
          for (X509Certificate c : ((X509TrustManager) tm).getAcceptedIssuers()) {
            trust.setCertificateEntry("default-" + i++, c);
          }
        }
      }
      Collection<? extends Certificate> extra;
      try (InputStream in = Files.newInputStream(caFile)) {
        extra = CertificateFactory.getInstance("X.509").generateCertificates(in);
      }
      if (extra.isEmpty()) {
        throw new IllegalStateException("the CA file " + caFile + " holds no certificate");
      }
      for (Certificate c : extra) {
        trust.setCertificateEntry("configured-" + i++, c);
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx;
    } catch (IOException e) {
      throw new IllegalStateException("cannot read the CA file " + caFile + ": " + e.getClass().getSimpleName(), e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot use the CA file " + caFile + " as a trust anchor", e);
    }
  }

  @Override
  public Identity authenticate(Presented presented) {
    String token = bearerToken(requireNonNull(presented, "presented"));
    SignedJWT jwt = parseSigned(token);
    JWSHeader header = jwt.getHeader();
    JOSEObjectType typ = header.getType();
    if (typ != null && ACCESS_TOKEN_TYPES.contains(typ.getType().toLowerCase(Locale.ROOT))) {
      throw new AuthenticationException("an access token (typ " + typ + ") is not an ID token; send the ID token");
    }
    verifySignature(jwt);
    JWTClaimsSet claims;
    try {
      claims = jwt.getJWTClaimsSet();
    } catch (ParseException e) {
      throw new AuthenticationException("the token's claims are not a JSON object");
    }
    checkIssuerAndAudience(claims);
    checkTimeRange(jwt);
    checkTimes(claims);
    Object kcType = claims.getClaim("typ");
    if (kcType != null && !"ID".equals(kcType)) {
      throw new AuthenticationException("the token is of type " + safe(String.valueOf(kcType))
          + ", not an ID token; send the ID token");
    }
    String user = username(claims);
    List<String> groups = groups(claims);
    try {
      return Identity.of(user, groups).assertedBy("oidc:" + issuer);
    } catch (IllegalArgumentException e) {
      throw new AuthenticationException("the token's " + usernameClaim + " or " + groupsClaim
          + " claim holds a name KubeJIT does not accept as a user or group name");
    }
  }

  private static String bearerToken(Presented presented) {
    String value = presented.header("Authorization").orElse(null);
    if (value == null || value.isBlank()) {
      throw new AuthenticationException("no bearer token: send Authorization: Bearer <OIDC ID token>");
    }
    int space = value.indexOf(' ');
    String scheme = space < 0 ? value : value.substring(0, space);
    if (!scheme.equalsIgnoreCase("Bearer")) {
      throw new AuthenticationException("the Authorization header must use the Bearer scheme (an OIDC ID token), not "
          + (space > 0 && scheme.length() <= 16 && scheme.chars().allMatch(Character::isLetter) ? scheme
              : "another scheme")); // without a space the value may be a bare credential: never echoed
    }
    String token = value.substring(space + 1).strip();
    if (token.isEmpty()) {
      throw new AuthenticationException("no bearer token: send Authorization: Bearer <OIDC ID token>");
    }
    if (token.length() > MAX_TOKEN_CHARS) {
      throw new AuthenticationException("the bearer token is longer than " + MAX_TOKEN_CHARS + " characters");
    }
    return token;
  }

  private static SignedJWT parseSigned(String token) {
    JWT jwt;
    try {
      jwt = JWTParser.parse(token);
    } catch (ParseException | RuntimeException e) {
      throw new AuthenticationException("the bearer token is not a JWT (expected an OIDC ID token)");
    }
    if (jwt instanceof PlainJWT) {
      throw new AuthenticationException("signature algorithm none is not accepted");
    }
    if (!(jwt instanceof SignedJWT)) {
      throw new AuthenticationException("encrypted tokens are not accepted; send a signed OIDC ID token");
    }
    SignedJWT signed = (SignedJWT) jwt;
    JWSAlgorithm alg = signed.getHeader().getAlgorithm();
    if (!ALLOWED.contains(alg)) {
      throw new AuthenticationException("signature algorithm " + safe(alg.getName()) + " is not accepted (accepted: "
          + "RS256, RS384, RS512, PS256, ES256, ES384, EdDSA)");
    }
    if (signed.getHeader().getCriticalParams() != null && !signed.getHeader().getCriticalParams().isEmpty()) {
      throw new AuthenticationException("the token has critical header parameters, which are not supported");
    }
    return signed;
  }

  private void verifySignature(SignedJWT jwt) {
    JWSHeader header = jwt.getHeader();
    List<JWK> candidates;
    try {
      candidates = keys.get(new JWKSelector(JWKMatcher.forJWSHeader(header)), null);
    } catch (RateLimitReachedException e) {
      // The cached set lacks the key and it was refetched moments ago: the key is unknown.
      throw unknownKey(header);
    } catch (KeySourceException e) {
      throw new AuthenticationException("the issuer's keys (JWKS) could not be fetched; try again later", e);
    }
    if (candidates == null || candidates.isEmpty()) {
      throw unknownKey(header);
    }
    for (JWK key : candidates) {
      try {
        if (verifier(header.getAlgorithm(), key).verify(header, jwt.getSigningInput(), jwt.getSignature())) {
          return;
        }
      } catch (JOSEException | GeneralSecurityException e) {
        // A key that cannot check this signature (e.g. an RSA key under 2048 bits) does not verify it.
      }
    }
    throw new AuthenticationException("signature does not verify with the issuer's key");
  }

  private static AuthenticationException unknownKey(JWSHeader header) {
    String kid = header.getKeyID();
    return new AuthenticationException(kid == null
        ? "the token names no key id and no key in the issuer's JWKS fits its algorithm " + header.getAlgorithm()
        : "no key with id " + safe(kid) + " in the issuer's JWKS");
  }

  private static JWSVerifier verifier(JWSAlgorithm alg, JWK key) throws JOSEException, GeneralSecurityException {
    if (key instanceof RSAKey && JWSAlgorithm.Family.RSA.contains(alg)) {
      return new RSASSAVerifier((RSAKey) key);
    }
    if (key instanceof ECKey && JWSAlgorithm.Family.EC.contains(alg)) {
      return new ECDSAVerifier((ECKey) key);
    }
    if (key instanceof OctetKeyPair && JWSAlgorithm.EdDSA.equals(alg)) {
      return new Ed25519JdkVerifier((OctetKeyPair) key);
    }
    throw new JOSEException("key type does not fit " + alg);
  }

  private void checkIssuerAndAudience(JWTClaimsSet claims) {
    String iss = claims.getIssuer();
    if (!issuer.equals(iss)) {
      throw new AuthenticationException(iss == null ? "the token has no issuer (iss); expected " + issuer
          : "issuer " + safe(iss) + " is not the configured issuer " + issuer);
    }
    List<String> aud = claims.getAudience();
    if (aud == null || !aud.contains(audience)) {
      throw new AuthenticationException("audience does not include " + audience
          + " (the token was issued to another client)");
    }
    Object azp = claims.getClaim("azp");
    if (aud.size() > 1 && azp != null && !audience.equals(azp)) {
      throw new AuthenticationException("the token lists several audiences and its authorized party (azp) is not "
          + audience);
    }
  }

  /**
   * {@code exp}, {@code iat} and {@code nbf}, as the token wrote them, are seconds from 1970 to the
   * end of 9999. Nimbus turns seconds into milliseconds with a multiplication that wraps around, so
   * without this an {@code exp} of about -1.8e16 (long past) would be read as a time near now.
   */
  private static void checkTimeRange(SignedJWT jwt) {
    Map<String, Object> raw = jwt.getPayload().toJSONObject();
    for (String name : List.of("exp", "iat", "nbf")) {
      Object v = raw == null ? null : raw.get(name);
      if (v != null && !(v instanceof Number && ((Number) v).doubleValue() >= 0
          && ((Number) v).doubleValue() <= MAX_EPOCH_SECOND)) {
        throw new AuthenticationException("the token's " + name + " is not a time in seconds between 1970 and 9999");
      }
    }
  }

  private void checkTimes(JWTClaimsSet claims) {
    Instant now = clock.instant();
    Date exp = claims.getExpirationTime();
    Date iat = claims.getIssueTime();
    Date nbf = claims.getNotBeforeTime();
    if (exp == null) {
      throw new AuthenticationException("the token has no expiry (exp); an ID token must have one");
    }
    if (iat == null) {
      throw new AuthenticationException("the token has no issue time (iat); an ID token must have one");
    }
    if (now.isAfter(exp.toInstant().plus(skew))) {
      throw new AuthenticationException("token expired at " + exp.toInstant() + "; log in again (kubejit login)");
    }
    if (nbf != null && now.isBefore(nbf.toInstant().minus(skew))) {
      throw new AuthenticationException("token not valid before " + nbf.toInstant());
    }
    if (now.isBefore(iat.toInstant().minus(skew))) {
      throw new AuthenticationException("token issued in the future (at " + iat.toInstant()
          + "); check the clocks of the issuer and the broker");
    }
  }

  private String username(JWTClaimsSet claims) {
    Object v = claims.getClaim(usernameClaim);
    if (!(v instanceof String) || ((String) v).isBlank()) {
      throw new AuthenticationException("the token has no " + usernameClaim + " claim naming the user"
          + (v == null ? "" : " (it is not a non-empty string)"));
    }
    return (String) v;
  }

  private List<String> groups(JWTClaimsSet claims) {
    Object v = claims.getClaim(groupsClaim);
    if (v == null) {
      return List.of();
    }
    if (!(v instanceof List)) {
      throw new AuthenticationException("the token's " + groupsClaim + " claim must be a list of group names");
    }
    List<String> out = new ArrayList<>();
    for (Object g : (List<?>) v) {
      if (!(g instanceof String)) {
        throw new AuthenticationException("the token's " + groupsClaim + " claim must be a list of group names");
      }
      out.add((String) g);
    }
    return out;
  }

  /** A value from a verified token, made safe to put in a message: printable ASCII, at most 100 chars. */
  private static String safe(String s) {
    StringBuilder b = new StringBuilder("\"");
    s.codePoints().limit(100).forEach(c -> b.appendCodePoint(c >= 0x20 && c < 0x7f && c != '"' ? c : '?'));
    return b.append(s.length() > 100 ? "...\"" : "\"").toString();
  }

  @Override
  public String toString() {
    return "OidcAuthenticator[issuer " + issuer + ", audience " + audience + ", user claim " + usernameClaim
        + ", groups claim " + groupsClaim + ", skew " + skew + "]";
  }

  /**
   * Verifies Ed25519 (JWS alg EdDSA, RFC 8037) with the JDK's own provider; Nimbus's verifier for
   * it needs Google Tink, which this module does not carry.
   */
  private static final class Ed25519JdkVerifier extends com.nimbusds.jose.crypto.impl.BaseJWSProvider
      implements JWSVerifier {
    /** DER prefix of an X.509 SubjectPublicKeyInfo for an Ed25519 key (RFC 8410). */
    private static final byte[] ED25519_SPKI_PREFIX = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03,
        0x21, 0x00};
    private final PublicKey key;

    Ed25519JdkVerifier(OctetKeyPair jwk) throws GeneralSecurityException, JOSEException {
      super(Set.of(JWSAlgorithm.EdDSA));
      if (!"Ed25519".equals(jwk.getCurve().getName())) {
        throw new JOSEException("only Ed25519 is supported for EdDSA");
      }
      byte[] x = jwk.getDecodedX();
      if (x.length != 32) {
        throw new JOSEException("an Ed25519 public key has 32 bytes");
      }
      byte[] spki = new byte[ED25519_SPKI_PREFIX.length + 32];
      System.arraycopy(ED25519_SPKI_PREFIX, 0, spki, 0, ED25519_SPKI_PREFIX.length);
      System.arraycopy(x, 0, spki, ED25519_SPKI_PREFIX.length, 32);
      this.key = KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(spki));
    }

    @Override
    public boolean verify(JWSHeader header, byte[] signingInput, com.nimbusds.jose.util.Base64URL signature)
        throws JOSEException {
      try {
        Signature s = Signature.getInstance("Ed25519");
        s.initVerify(key);
        s.update(signingInput);
        return s.verify(signature.decode());
      } catch (GeneralSecurityException e) {
        return false;
      }
    }
  }
}
