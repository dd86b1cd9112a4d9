package dev.kubejit.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jose.util.Resource;
import com.nimbusds.jose.util.ResourceRetriever;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import dev.kubejit.api.Identity;
import dev.kubejit.testing.Keycloak;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.interfaces.EdECPublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * OidcAuthenticator against a real Keycloak: its real ID tokens, its JWKS over https (and saved to
 * a file), and the refusals. Tokens Keycloak cannot produce (alg none, HMAC, a foreign key, a
 * future nbf, odd claim types) are minted here with Nimbus, from a real token's claims where that
 * matters.
 */
class OidcAuthenticatorTest {
  private static final Duration SKEW = Duration.ofSeconds(30);
  private static Keycloak kc;

  @TempDir Path tmp;

  @BeforeAll
  static void keycloak() {
    kc = Keycloak.shared();
  }

  // ------------------------------------------------------------------------------------ happy path

  @Test
  void aliceIsAuthenticatedWithHerGroupsFromTheJwksUrl() {
    Identity alice = urlAuthenticator("preferred_username", Clock.systemUTC())
        .authenticate(bearer(kc.passwordGrant("alice", Keycloak.CLI_CLIENT).idToken()));
    assertEquals("alice", alice.user());
    assertEquals(Set.of(Keycloak.SRE), alice.groups());
    assertEquals("oidc:" + kc.issuer(), alice.source());
  }

  @Test
  void bobAndCarolShareAGroupAndDaveHasNone() {
    OidcAuthenticator auth = urlAuthenticator("preferred_username", Clock.systemUTC());
    assertEquals(Set.of(Keycloak.PAYMENTS_ONCALL),
        auth.authenticate(bearer(kc.passwordGrant("bob", Keycloak.CLI_CLIENT).idToken())).groups());
    assertEquals(Set.of(Keycloak.PAYMENTS_ONCALL),
        auth.authenticate(bearer(kc.passwordGrant("carol", Keycloak.CLI_CLIENT).idToken())).groups());
    Identity dave = auth.authenticate(bearer(kc.passwordGrant("dave", Keycloak.CLI_CLIENT).idToken()));
    assertEquals("dave", dave.user());
    assertEquals(Set.of(), dave.groups());
  }

  @Test
  void theDefaultUsernameClaimIsSub() throws Exception {
    String token = kc.passwordGrant("alice", Keycloak.CLI_CLIENT).idToken();
    Identity alice = OidcAuthenticator.fromConfig(config(null, Duration.ofSeconds(60)), Clock.systemUTC())
        .authenticate(bearer(token));
    assertEquals(SignedJWT.parse(token).getJWTClaimsSet().getSubject(), alice.user());
    assertNotEquals("alice", alice.user());
  }

  @Test
  void aJwksFileDownloadedFromKeycloakVerifiesItsTokens() throws Exception {
    HttpClient http = HttpClient.newBuilder().sslContext(kc.sslContext()).build();
    HttpResponse<String> jwks = http.send(HttpRequest.newBuilder(kc.jwksUri()).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, jwks.statusCode());
    Path file = Files.writeString(tmp.resolve("jwks.json"), jwks.body());
    ServerConfig.Authentication a = ServerConfig.Authentication.oidc(kc.issuer(), Keycloak.CLI_CLIENT, file, null,
        "groups", "preferred_username", null, SKEW);
    Identity bob = OidcAuthenticator.fromConfig(a, Clock.systemUTC())
        .authenticate(bearer(kc.passwordGrant("bob", Keycloak.CLI_CLIENT).idToken()));
    assertEquals("bob", bob.user());
    assertEquals(Set.of(Keycloak.PAYMENTS_ONCALL), bob.groups());
  }

  @Test
  void aKubejitYamlWithTheIdpCaFileWorksEndToEnd() throws Exception {
    String yaml = String.join("\n",
        "apiVersion: kubejit.dev/v1",
        "kind: ServerConfig",
        "policy: policy.json",
        "store: {sqlite: {file: kubejit.db}}",
        "audit: {directory: audit, signingKeyFile: audit.key}",
        "certificateAuthorities: {x509: ca, ssh: ssh}",
        "listen: {address: \"127.0.0.1:8443\"}",
        "authentication:",
        "  oidc:",
        "    issuer: " + kc.issuer(),
        "    audience: " + Keycloak.CLI_CLIENT,
        "    jwksUrl: " + kc.jwksUri(),
        "    caFile: " + kc.caCertificateFile(),
        "    usernameClaim: preferred_username",
        "    clockSkew: PT10S",
        "");
    ServerConfig c = ServerConfig.parse(yaml.getBytes(StandardCharsets.UTF_8), "kubejit.yaml", tmp);
    Identity carol = OidcAuthenticator.fromConfig(c.authentication(), Clock.systemUTC())
        .authenticate(bearer(kc.passwordGrant("carol", Keycloak.CLI_CLIENT).idToken()));
    assertEquals("carol", carol.user());
  }

  // ---------------------------------------------------------------------- refusals, real tokens

  @Test
  void aRealTokenIsRefusedOnceTheClockPassesItsExpiryPlusTheSkew() throws Exception {
    String token = kc.passwordGrant("alice", Keycloak.CLI_CLIENT).idToken();
    Instant exp = SignedJWT.parse(token).getJWTClaimsSet().getExpirationTime().toInstant();
    // Within the skew after exp: still accepted.
    assertEquals("alice", urlAuthenticator("preferred_username", at(exp.plus(SKEW).minusSeconds(1)))
        .authenticate(bearer(token)).user());
    AuthenticationException e = refused(urlAuthenticator("preferred_username", at(exp.plus(SKEW).plusSeconds(1))),
        token);
    assertEquals("token expired at " + exp + "; log in again (kubejit login)", e.getMessage());
  }

  @Test
  void aRealTokenIsRefusedOnAClockBeforeItWasIssued() throws Exception {
    String token = kc.passwordGrant("alice", Keycloak.CLI_CLIENT).idToken();
    Instant iat = SignedJWT.parse(token).getJWTClaimsSet().getIssueTime().toInstant();
    AuthenticationException e = refused(urlAuthenticator("preferred_username", at(iat.minus(SKEW).minusSeconds(5))),
        token);
    assertTrue(e.getMessage().startsWith("token issued in the future (at " + iat), e.getMessage());
  }

  @Test
  void anotherClientsRealTokenHasTheWrongAudience() {
    String token = kc.passwordGrant("alice", Keycloak.OTHER_CLIENT).idToken();
    AuthenticationException e = refused(urlAuthenticator("preferred_username", Clock.systemUTC()), token);
    assertEquals("audience does not include kubejit-cli (the token was issued to another client)", e.getMessage());
  }

  @Test
  void aRealTokenFromAnIssuerOtherThanTheConfiguredOneIsRefused() {
    // The keys are the realm's, so the signature verifies; the pinned issuer is another realm's.
    String pinned = kc.issuer().replace("/realms/" + Keycloak.REALM, "/realms/other");
    OidcAuthenticator auth = new OidcAuthenticator(pinned, Keycloak.CLI_CLIENT, "preferred_username", "groups", SKEW,
        OidcAuthenticator.remoteJwks(kc.jwksUri().toString(),
            OidcAuthenticator.sslSocketFactory(kc.caCertificateFile())), Clock.systemUTC());
    AuthenticationException e = refused(auth, kc.passwordGrant("alice", Keycloak.CLI_CLIENT).idToken());
    assertEquals("issuer \"" + kc.issuer() + "\" is not the configured issuer " + pinned, e.getMessage());
  }

  @Test
  void aRealAccessTokenIsNotAnIdToken() {
    String access = kc.passwordGrant("alice", Keycloak.CLI_CLIENT).accessToken();
    AuthenticationException e = refused(urlAuthenticator("preferred_username", Clock.systemUTC()), access);
    // Keycloak's access tokens are for other audiences ("account"), and typ Bearer; either refusal is right.
    assertTrue(e.getMessage().startsWith("audience does not include") || e.getMessage().contains("not an ID token"),
        e.getMessage());
  }

  @Test
  void aTamperedRealTokenDoesNotVerify() throws Exception {
    String token = kc.passwordGrant("dave", Keycloak.CLI_CLIENT).idToken();
    SignedJWT real = SignedJWT.parse(token);
    JWTClaimsSet forged = new JWTClaimsSet.Builder(real.getJWTClaimsSet())
        .claim("groups", List.of(Keycloak.SRE)).build();
    String tampered = real.getHeader().toBase64URL() + "."
        + Base64URL.encode(forged.toString().getBytes(StandardCharsets.UTF_8)) + "." + real.getSignature();
    AuthenticationException e = refused(urlAuthenticator("preferred_username", Clock.systemUTC()), tampered);
    assertEquals("signature does not verify with the issuer's key", e.getMessage());
  }

  @Test
  void aRealTokensClaimsSignedWithAForeignKeyUnderTheRealmsKidDoNotVerify() throws Exception {
    SignedJWT real = SignedJWT.parse(kc.passwordGrant("alice", Keycloak.CLI_CLIENT).idToken());
    RSAKey foreign = new RSAKeyGenerator(2048).keyID(real.getHeader().getKeyID()).generate();
    String token = sign(foreign, JWSAlgorithm.RS256, real.getJWTClaimsSet());
    AuthenticationException e = refused(urlAuthenticator("preferred_username", Clock.systemUTC()), token);
    assertEquals("signature does not verify with the issuer's key", e.getMessage());
  }

  @Test
  void aTokenWhoseKidIsNotInTheRealmsJwksIsRefused() throws Exception {
    SignedJWT real = SignedJWT.parse(kc.passwordGrant("alice", Keycloak.CLI_CLIENT).idToken());
    RSAKey foreign = new RSAKeyGenerator(2048).keyID("not-a-realm-key").generate();
    OidcAuthenticator auth = urlAuthenticator("preferred_username", Clock.systemUTC());
    AuthenticationException e = refused(auth, sign(foreign, JWSAlgorithm.RS256, real.getJWTClaimsSet()));
    assertEquals("no key with id \"not-a-realm-key\" in the issuer's JWKS", e.getMessage());
    // The refetch that an unknown kid triggers is rate-limited: a second unknown kid right after
    // is refused the same way (no fetch), and real tokens still pass from the cached set.
    RSAKey another = new RSAKeyGenerator(2048).keyID("another-stranger").generate();
    for (int i = 0; i < 3; i++) {
      assertEquals("no key with id \"another-stranger\" in the issuer's JWKS",
          refused(auth, sign(another, JWSAlgorithm.RS256, real.getJWTClaimsSet())).getMessage());
    }
    assertEquals("alice", auth.authenticate(bearer(real.serialize())).user());
  }

  @Test
  void algNoneIsRefusedEvenWithARealTokensClaims() throws Exception {
    SignedJWT real = SignedJWT.parse(kc.passwordGrant("alice", Keycloak.CLI_CLIENT).idToken());
    String none = new PlainJWT(real.getJWTClaimsSet()).serialize();
    AuthenticationException e = refused(urlAuthenticator("preferred_username", Clock.systemUTC()), none);
    assertEquals("signature algorithm none is not accepted", e.getMessage());
  }

  @Test
  void hmacIsRefused() throws Exception {
    SignedJWT real = SignedJWT.parse(kc.passwordGrant("alice", Keycloak.CLI_CLIENT).idToken());
    SignedJWT hs = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID(real.getHeader().getKeyID()).build(),
        real.getJWTClaimsSet());
    hs.sign(new MACSigner(new byte[32]));
    AuthenticationException e = refused(urlAuthenticator("preferred_username", Clock.systemUTC()), hs.serialize());
    assertTrue(e.getMessage().startsWith("signature algorithm \"HS256\" is not accepted"), e.getMessage());
  }

  @Test
  void withoutTheIdpCaTheJwksCannotBeFetchedAndNothingIsAccepted() {
    OidcAuthenticator auth = new OidcAuthenticator(kc.issuer(), Keycloak.CLI_CLIENT, "preferred_username", "groups",
        SKEW, OidcAuthenticator.remoteJwks(kc.jwksUri().toString(), OidcAuthenticator.sslSocketFactory(null)),
        Clock.systemUTC());
    AuthenticationException e = refused(auth, kc.passwordGrant("alice", Keycloak.CLI_CLIENT).idToken());
    assertEquals("the issuer's keys (JWKS) could not be fetched; try again later", e.getMessage());
  }

  // ------------------------------------------------------------------------- refusals, headers

  @Test
  void noTokenWrongSchemeAndGarbageAreRefused() {
    OidcAuthenticator auth = urlAuthenticator("preferred_username", Clock.systemUTC());
    assertEquals("no bearer token: send Authorization: Bearer <OIDC ID token>",
        assertThrows(AuthenticationException.class, () -> auth.authenticate(headers(Map.of()))).getMessage());
    assertEquals("no bearer token: send Authorization: Bearer <OIDC ID token>", assertThrows(
        AuthenticationException.class, () -> auth.authenticate(headers(Map.of("Authorization", "Bearer ")))).getMessage());
    assertEquals("the Authorization header must use the Bearer scheme (an OIDC ID token), not Basic", assertThrows(
        AuthenticationException.class,
        () -> auth.authenticate(headers(Map.of("Authorization", "Basic YWxpY2U6aHVudGVyMg==")))).getMessage());
    String id = kc.passwordGrant("alice", Keycloak.CLI_CLIENT).idToken();
    AuthenticationException raw = assertThrows(AuthenticationException.class,
        () -> auth.authenticate(headers(Map.of("Authorization", id))));
    assertFalse(raw.getMessage().contains(id.substring(0, 20)), raw.getMessage());
    assertEquals("the bearer token is not a JWT (expected an OIDC ID token)", refused(auth, "abc.def").getMessage());
    assertEquals("the bearer token is not a JWT (expected an OIDC ID token)", refused(auth, "a.b.c").getMessage());
    // A well-formed header over garbage gets as far as the signature, which cannot verify.
    assertEquals("signature does not verify with the issuer's key",
        refused(auth, "eyJhbGciOiJSUzI1NiJ9.!!!.???").getMessage());
    char[] huge = new char[OidcAuthenticator.MAX_TOKEN_CHARS + 1];
    Arrays.fill(huge, 'a');
    assertTrue(refused(auth, new String(huge)).getMessage().contains("longer than"));
  }

  @Test
  void theSchemeIsCaseInsensitiveAsHttpSays() {
    OidcAuthenticator auth = urlAuthenticator("preferred_username", Clock.systemUTC());
    String id = kc.passwordGrant("bob", Keycloak.CLI_CLIENT).idToken();
    assertEquals("bob", auth.authenticate(headers(Map.of("authorization", "bearer " + id))).user());
  }

  // ------------------------------------------------------- refusals, minted (own issuer and JWKS)

  @Test
  void mintedTokensFromAFileJwksCoverWhatKeycloakCannotProduce() throws Exception {
    Instant now = Instant.parse("2026-06-01T10:00:00Z");
    Clock clock = at(now);
    RSAKey rsa = new RSAKeyGenerator(2048).keyID("rsa-1").generate();
    ECKey ec = new ECKeyGenerator(Curve.P_256).keyID("ec-1").generate();
    KeyPair ed = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    OctetKeyPair edJwk = new OctetKeyPair.Builder(Curve.Ed25519, edPublicX((EdECPublicKey) ed.getPublic()))
        .keyID("ed-1").build();
    Path file = Files.writeString(tmp.resolve("own-jwks.json"),
        new JWKSet(List.of(rsa.toPublicJWK(), ec.toPublicJWK(), edJwk)).toString());
    String iss = "https://idp.example";
    OidcAuthenticator auth = OidcAuthenticator.fromConfig(ServerConfig.Authentication.oidc(iss, "kubejit", file,
        null, "groups", "preferred_username", null, SKEW), clock);
    JWTClaimsSet.Builder base = new JWTClaimsSet.Builder().issuer(iss).audience("kubejit").subject("u-1")
        .claim("preferred_username", "erin").claim("groups", List.of("sre", "db"))
        .issueTime(Date.from(now.minusSeconds(10))).expirationTime(Date.from(now.plusSeconds(300)));

    // Accepted: RS256, PS256, ES256 and EdDSA (Ed25519, checked with the JDK's provider).
    assertEquals(Set.of("sre", "db"), auth.authenticate(bearer(sign(rsa, JWSAlgorithm.RS256, base.build()))).groups());
    assertEquals("erin", auth.authenticate(bearer(sign(rsa, JWSAlgorithm.PS256, base.build()))).user());
    assertEquals("erin", auth.authenticate(bearer(sign(ec, JWSAlgorithm.ES256, base.build()))).user());
    assertEquals("erin", auth.authenticate(bearer(signEd(ed, "ed-1", base.build()))).user());
    assertEquals("signature does not verify with the issuer's key",
        refused(auth, signEd(KeyPairGenerator.getInstance("Ed25519").generateKeyPair(), "ed-1", base.build()))
            .getMessage());

    // Not yet valid (nbf beyond the skew); nbf within the skew is fine.
    assertEquals("token not valid before " + now.plusSeconds(120),
        refused(auth, sign(rsa, JWSAlgorithm.RS256, copy(base).notBeforeTime(Date.from(now.plusSeconds(120))).build()))
            .getMessage());
    assertEquals("erin", auth.authenticate(bearer(sign(rsa, JWSAlgorithm.RS256,
        copy(base).notBeforeTime(Date.from(now.plusSeconds(20))).build()))).user());

    // Missing exp or iat.
    assertTrue(refused(auth, sign(rsa, JWSAlgorithm.RS256, copy(base).expirationTime(null).build())).getMessage()
        .startsWith("the token has no expiry"));
    assertTrue(refused(auth, sign(rsa, JWSAlgorithm.RS256, copy(base).issueTime(null).build())).getMessage()
        .startsWith("the token has no issue time"));

    // Several audiences: azp must be ours when present; one of several without azp is accepted.
    assertTrue(refused(auth, sign(rsa, JWSAlgorithm.RS256, copy(base).audience(List.of("kubejit", "grafana"))
        .claim("azp", "grafana").build())).getMessage().contains("authorized party (azp) is not kubejit"));
    assertEquals("erin", auth.authenticate(bearer(sign(rsa, JWSAlgorithm.RS256,
        copy(base).audience(List.of("kubejit", "grafana")).build()))).user());

    // Claim types: groups as a string or with a number, a missing or empty username.
    assertEquals("the token's groups claim must be a list of group names",
        refused(auth, sign(rsa, JWSAlgorithm.RS256, copy(base).claim("groups", "sre").build())).getMessage());
    assertEquals("the token's groups claim must be a list of group names",
        refused(auth, sign(rsa, JWSAlgorithm.RS256, copy(base).claim("groups", List.of("sre", 7)).build()))
            .getMessage());
    assertEquals(Set.of(), auth.authenticate(bearer(sign(rsa, JWSAlgorithm.RS256,
        copy(base).claim("groups", null).build()))).groups());
    assertTrue(refused(auth, sign(rsa, JWSAlgorithm.RS256, copy(base).claim("preferred_username", null).build()))
        .getMessage().startsWith("the token has no preferred_username claim"));
    assertTrue(refused(auth, sign(rsa, JWSAlgorithm.RS256, copy(base).claim("preferred_username", "").build()))
        .getMessage().startsWith("the token has no preferred_username claim"));

    // Access-token types, by header (RFC 9068) and by Keycloak's typ claim.
    SignedJWT at = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("rsa-1")
        .type(new JOSEObjectType("at+jwt")).build(), base.build());
    at.sign(new RSASSASigner(rsa));
    assertTrue(refused(auth, at.serialize()).getMessage().contains("is not an ID token"));
    assertTrue(refused(auth, sign(rsa, JWSAlgorithm.RS256, copy(base).claim("typ", "Bearer").build())).getMessage()
        .contains("not an ID token"));

    // A stranger's RSA key under the configured RSA kid, and a token naming no kid signed by a stranger.
    assertEquals("signature does not verify with the issuer's key", refused(auth, sign(
        new RSAKeyGenerator(2048).keyID("rsa-1").generate(), JWSAlgorithm.RS256, base.build())).getMessage());
    SignedJWT noKid = new SignedJWT(new JWSHeader(JWSAlgorithm.ES256), base.build());
    noKid.sign(new ECDSASigner(new ECKeyGenerator(Curve.P_256).generate()));
    assertEquals("signature does not verify with the issuer's key", refused(auth, noKid.serialize()).getMessage());

    // A JWKS file with a private key is refused at start.
    Path leaky = Files.writeString(tmp.resolve("leaky.json"), new JWKSet(rsa).toString(false));
    assertThrows(IllegalStateException.class, () -> OidcAuthenticator.fromConfig(ServerConfig.Authentication.oidc(
        iss, "kubejit", leaky, null, "groups", "sub", null, SKEW), clock));
  }

  @Test
  void aRotatedKeyIsPickedUpByOneRefetchAndUnknownKidsDoNotHammerTheIssuer() throws Exception {
    Instant now = Instant.now();
    RSAKey first = new RSAKeyGenerator(2048).keyID("k1").generate();
    RSAKey second = new RSAKeyGenerator(2048).keyID("k2").generate();
    AtomicReference<JWKSet> published = new AtomicReference<>(new JWKSet(first.toPublicJWK()));
    AtomicInteger fetches = new AtomicInteger();
    ResourceRetriever issuer = url -> {
      fetches.incrementAndGet();
      return new Resource(published.get().toString(), "application/json");
    };
    OidcAuthenticator auth = new OidcAuthenticator("https://idp.example", "kubejit", "sub", "groups", SKEW,
        OidcAuthenticator.remoteJwks(new URL("https://idp.example/jwks"), issuer), Clock.systemUTC());
    JWTClaimsSet claims = new JWTClaimsSet.Builder().issuer("https://idp.example").audience("kubejit").subject("erin")
        .issueTime(Date.from(now)).expirationTime(Date.from(now.plusSeconds(300))).build();

    assertEquals(0, fetches.get(), "nothing is fetched before the first token");
    assertEquals("erin", auth.authenticate(bearer(sign(first, JWSAlgorithm.RS256, claims))).user());
    assertEquals("erin", auth.authenticate(bearer(sign(first, JWSAlgorithm.RS256, claims))).user());
    assertEquals(1, fetches.get(), "the JWKS is cached");

    published.set(new JWKSet(List.of(first.toPublicJWK(), second.toPublicJWK())));
    assertEquals("erin", auth.authenticate(bearer(sign(second, JWSAlgorithm.RS256, claims))).user());
    assertEquals(2, fetches.get(), "a token under a new kid refetched the JWKS once");

    RSAKey stranger = new RSAKeyGenerator(2048).keyID("k3").generate();
    for (int i = 0; i < 5; i++) {
      assertEquals("no key with id \"k3\" in the issuer's JWKS",
          refused(auth, sign(stranger, JWSAlgorithm.RS256, claims)).getMessage());
    }
    assertTrue(fetches.get() <= 3, "unknown kids are rate-limited, fetched " + fetches.get() + " times");
    assertEquals("erin", auth.authenticate(bearer(sign(second, JWSAlgorithm.RS256, claims))).user());
  }

  // ------------------------------------------------------------------------------------ helpers

  private static OidcAuthenticator urlAuthenticator(String usernameClaim, Clock clock) {
    return OidcAuthenticator.fromConfig(config(usernameClaim, SKEW), clock);
  }

  private static ServerConfig.Authentication config(String usernameClaim, Duration skew) {
    return ServerConfig.Authentication.oidc(kc.issuer(), Keycloak.CLI_CLIENT, null, kc.jwksUri().toString(),
        "groups", usernameClaim == null ? "sub" : usernameClaim, kc.caCertificateFile(), skew);
  }

  private static AuthenticationException refused(OidcAuthenticator auth, String token) {
    AuthenticationException e = assertThrows(AuthenticationException.class, () -> auth.authenticate(bearer(token)));
    String message = e.getMessage();
    assertFalse(message.contains(token), message);
    for (String part : token.split("\\.")) {
      if (part.length() > 8) {
        assertFalse(message.contains(part), "the message echoes a part of the token: " + message);
      }
    }
    return e;
  }

  private static Presented bearer(String token) {
    return headers(Map.of("Authorization", "Bearer " + token));
  }

  private static Presented headers(Map<String, String> headers) {
    return Presented.of(headers, List.of(), "127.0.0.1");
  }

  private static Clock at(Instant instant) {
    return Clock.fixed(instant, ZoneOffset.UTC);
  }

  private static JWTClaimsSet.Builder copy(JWTClaimsSet.Builder b) {
    return new JWTClaimsSet.Builder(b.build());
  }

  private static String sign(RSAKey key, JWSAlgorithm alg, JWTClaimsSet claims) throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(alg).keyID(key.getKeyID()).build(), claims);
    jwt.sign(new RSASSASigner(key));
    return jwt.serialize();
  }

  private static String sign(ECKey key, JWSAlgorithm alg, JWTClaimsSet claims) throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(alg).keyID(key.getKeyID()).build(), claims);
    jwt.sign(new ECDSASigner(key));
    return jwt.serialize();
  }

  /** An EdDSA JWS signed with the JDK's Ed25519 (Nimbus's own Ed25519 signer needs Tink). */
  private static String signEd(KeyPair ed, String kid, JWTClaimsSet claims) throws Exception {
    JWSHeader header = new JWSHeader.Builder(JWSAlgorithm.EdDSA).keyID(kid).build();
    String input = header.toBase64URL() + "." + Base64URL.encode(claims.toString().getBytes(StandardCharsets.UTF_8));
    Signature s = Signature.getInstance("Ed25519");
    s.initSign(ed.getPrivate());
    s.update(input.getBytes(StandardCharsets.US_ASCII));
    return input + "." + Base64URL.encode(s.sign());
  }

  /** The 32-byte RFC 8032 encoding of an Ed25519 public key: the last 32 bytes of its X.509 form. */
  private static Base64URL edPublicX(EdECPublicKey key) {
    byte[] spki = key.getEncoded();
    return Base64URL.encode(Arrays.copyOfRange(spki, spki.length - 32, spki.length));
  }
}
