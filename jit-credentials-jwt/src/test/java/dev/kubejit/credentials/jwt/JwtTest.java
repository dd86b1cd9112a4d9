package dev.kubejit.credentials.jwt;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kubejit.credentials.TestKeys;
import dev.kubejit.credentials.Exec;
import dev.kubejit.credentials.KeyType;
import dev.kubejit.credentials.CredentialException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.kubejit.api.Action;
import dev.kubejit.api.IssuedCredential;
import dev.kubejit.api.Scope;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.kubejit.testing.FakeClock;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class JwtTest {
  static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");
  /**
   * The order n of the P-256 (secp256r1) group, copied from SEC 2 v2 §2.4.2 and FIPS 186-4
   * D.1.2.3 — an independent source for the production constant.
   */
  static final String P256_N_HEX = "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551";
  @TempDir Path tmp;
  final FakeClock clock = new FakeClock(T0);

  JwtIssuer issuer(KeyType t) {
    return JwtIssuer.generate(t, "https://kubejit.example", clock);
  }

  JwtVerifier.Builder verifier(JwtIssuer i) {
    return JwtVerifier.builder().key(i.jwksJson()).issuer("https://kubejit.example").audience("gateway-prod").clock(clock)
        .allowedSkew(Duration.ZERO);
  }

  IssuedCredential mint(JwtIssuer i, Duration ttl) {
    return i.mint("alice", List.of("jit:grant:abc"), Scope.namespace("prod", "payments"), List.of(Action.LOGS, Action.EXEC),
        "gateway-prod", ttl);
  }

  @ParameterizedTest
  @EnumSource(value = KeyType.class, names = {"ED25519", "ECDSA_P256"})
  void mintAndVerifyRoundTrip(KeyType t) throws Exception {
    JwtIssuer i = issuer(t);
    IssuedCredential tok = mint(i, Duration.ofMinutes(15));
    assertTrue(tok.isSecret());
    VerifiedJwt v = verifier(i).build().verify(tok.material());
    assertEquals("alice", v.subject());
    assertEquals(List.of("jit:grant:abc"), v.groups());
    assertEquals("prod", v.cluster().orElseThrow());
    assertEquals("payments", v.namespace().orElseThrow());
    assertEquals(List.of("logs", "exec"), v.actions());
    assertEquals(T0.plus(Duration.ofMinutes(15)), v.expiresAt());
    assertEquals(tok.ref().id(), v.id());
    assertEquals(i.keyId(), v.keyId().orElseThrow());
    SignedJWT parsed = SignedJWT.parse(tok.material());
    assertEquals(t == KeyType.ED25519 ? JWSAlgorithm.EdDSA : JWSAlgorithm.ES256, parsed.getHeader().getAlgorithm());
    JWTClaimsSet c = parsed.getJWTClaimsSet();
    for (String claim : List.of("iss", "sub", "aud", "exp", "nbf", "iat", "jti", "groups", "cluster", "namespace", "actions")) {
      assertTrue(c.getClaims().containsKey(claim), claim);
    }
    // the JWKS is public only
    JWKSet set = JWKSet.parse(i.jwksJson());
    assertFalse(set.getKeys().get(0).isPrivate());
    assertFalse(i.jwksJson().contains("\"d\""));
    assertFalse(tok.toString().contains(tok.material()));
    assertFalse(v.toString().contains(tok.material().split("\\.")[2]));
  }

  @Test
  void expiryBoundariesOnAFixedClock() {
    JwtIssuer i = issuer(KeyType.ED25519);
    String tok = mint(i, Duration.ofMinutes(10)).material();
    JwtVerifier v = verifier(i).build();
    Instant exp = T0.plus(Duration.ofMinutes(10));
    clock.set(exp.minusNanos(1));
    v.verify(tok);
    clock.set(exp);
    CredentialException e = assertThrows(CredentialException.class, () -> v.verify(tok));
    assertTrue(e.getMessage().contains("expired"), e.getMessage());
    clock.set(exp.plusSeconds(1));
    assertThrows(CredentialException.class, () -> v.verify(tok));
    // skew extends acceptance by exactly the skew
    JwtVerifier skewed = verifier(i).allowedSkew(Duration.ofMinutes(1)).build();
    clock.set(exp.plus(Duration.ofMinutes(1)).minusNanos(1));
    skewed.verify(tok);
    clock.set(exp.plus(Duration.ofMinutes(1)));
    assertThrows(CredentialException.class, () -> skewed.verify(tok));
    // not before
    clock.set(T0.minusNanos(1));
    e = assertThrows(CredentialException.class, () -> v.verify(tok));
    assertTrue(e.getMessage().contains("not valid before"), e.getMessage());
    clock.set(T0);
    v.verify(tok);
  }

  @Test
  void skewIsBoundedAndBuilderIsStrict() {
    assertThrows(IllegalArgumentException.class, () -> JwtVerifier.builder().allowedSkew(Duration.ofMinutes(11)));
    assertThrows(IllegalStateException.class, () -> JwtVerifier.builder().issuer("i").audience("a").build());
    JwtIssuer i = issuer(KeyType.ED25519);
    assertThrows(IllegalStateException.class, () -> JwtVerifier.builder().key(i.jwksJson()).audience("a").build());
    assertThrows(CredentialException.class, () -> mint(i, Duration.ofHours(2)));
    assertThrows(CredentialException.class, () -> mint(i, Duration.ZERO));
    assertThrows(CredentialException.class, () -> i.mint("alice", List.of("g"), Scope.cluster("prod"), List.of(), "aud", Duration.ofMinutes(1)));
    assertThrows(CredentialException.class, () -> JwtIssuer.generate(KeyType.RSA_3072, "iss", clock));
  }

  @Test
  void algNoneIsRefused() throws Exception {
    JwtIssuer i = issuer(KeyType.ED25519);
    String[] parts = mint(i, Duration.ofMinutes(5)).material().split("\\.");
    for (String header : new String[] {"{\"alg\":\"none\"}", "{\"alg\":\"none\",\"typ\":\"JWT\"}", "{\"alg\":\"None\"}"}) {
      String h = Base64URL.encode(header.getBytes(UTF_8)).toString();
      for (String tok : new String[] {h + "." + parts[1] + ".", h + "." + parts[1] + "." + parts[2]}) {
        CredentialException e = assertThrows(CredentialException.class, () -> verifier(i).build().verify(tok), header);
        assertTrue(e.getMessage().contains("none") || e.getMessage().contains("refused") || e.getMessage().contains("malformed"), e.getMessage());
        assertFalse(e.getMessage().contains(parts[1]));
      }
    }
  }

  @ParameterizedTest
  @EnumSource(value = KeyType.class, names = {"ED25519", "ECDSA_P256"})
  void hmacSignedWithThePublicKeyIsRefused(KeyType t) throws Exception {
    JwtIssuer i = issuer(t);
    JWK pub = JWKSet.parse(i.jwksJson()).getKeys().get(0);
    JWTClaimsSet claims = new JWTClaimsSet.Builder().issuer("https://kubejit.example").subject("mallory").audience("gateway-prod")
        .expirationTime(Date.from(T0.plusSeconds(300))).jwtID("x").claim("groups", List.of("system:masters")).build();
    // the classic confusion: HS256 keyed with the verifier's public key, in several encodings
    List<byte[]> secrets = List.of(pub.toJSONString().getBytes(UTF_8), i.jwksJson().getBytes(UTF_8),
        pub.toPublicJWK().toJSONString().getBytes(UTF_8));
    for (byte[] secret : secrets) {
      SignedJWT forged = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID(i.keyId()).build(), claims);
      forged.sign(new MACSigner(Arrays.copyOf(secret, Math.max(secret.length, 32))));
      CredentialException e = assertThrows(CredentialException.class, () -> verifier(i).build().verify(forged.serialize()));
      assertTrue(e.getMessage().contains("\"HS256\" is refused"), e.getMessage());
    }
  }

  @Test
  void ecdsaSignaturesWithZeroOrOutOfRangeRsAreRefused() throws Exception {
    JwtIssuer i = issuer(KeyType.ECDSA_P256);
    String[] parts = mint(i, Duration.ofMinutes(5)).material().split("\\.");
    byte[] nBytes = HexFormat.of().parseHex(P256_N_HEX);
    byte[] allOnes = new byte[32];
    Arrays.fill(allOnes, (byte) 0xff);
    byte[] real = Base64.getUrlDecoder().decode(parts[2]);
    byte[][] sigs = {
        new byte[64],                                         // r = s = 0 (CVE-2022-21449)
        concat(new byte[32], Arrays.copyOfRange(real, 32, 64)), // r = 0
        concat(Arrays.copyOfRange(real, 0, 32), new byte[32]),  // s = 0
        concat(nBytes, Arrays.copyOfRange(real, 32, 64)),        // r = n
        concat(Arrays.copyOfRange(real, 0, 32), nBytes),         // s = n
        concat(allOnes, Arrays.copyOfRange(real, 32, 64)),       // r = 2^256 - 1 > n
        concat(Arrays.copyOfRange(real, 0, 32), allOnes),        // s = 2^256 - 1 > n
        new byte[63],
        new byte[0],
    };
    for (byte[] sig : sigs) {
      String tok = parts[0] + "." + parts[1] + "." + Base64URL.encode(sig);
      CredentialException e = assertThrows(CredentialException.class, () -> verifier(i).build().verify(tok));
      assertTrue(e.getMessage().contains("ES256 signature") || (sig.length == 0 && e.getMessage().equals("JWT is malformed")), e.getMessage());
    }
    // a well-formed but wrong signature is refused by the cryptographic check
    byte[] wrong = real.clone();
    wrong[40] ^= 1;
    String tok = parts[0] + "." + parts[1] + "." + Base64URL.encode(wrong);
    CredentialException e = assertThrows(CredentialException.class, () -> verifier(i).build().verify(tok));
    assertEquals("JWT signature is invalid", e.getMessage());
    // the production constant is the specification's n
    assertEquals(new BigInteger(P256_N_HEX, 16), JwtKeys.P256_N);
  }

  @Test
  void issuerAudienceKeyAndReplayAreChecked() throws Exception {
    JwtIssuer i = issuer(KeyType.ED25519);
    String tok = mint(i, Duration.ofMinutes(5)).material();
    assertThrows(CredentialException.class, () -> JwtVerifier.builder().key(i.jwksJson()).issuer("https://evil").audience("gateway-prod")
        .clock(clock).build().verify(tok));
    CredentialException e = assertThrows(CredentialException.class, () -> JwtVerifier.builder().key(i.jwksJson())
        .issuer("https://kubejit.example").audience("other").clock(clock).build().verify(tok));
    assertTrue(e.getMessage().contains("audience"), e.getMessage());
    JwtIssuer other = issuer(KeyType.ED25519);
    assertThrows(CredentialException.class, () -> verifier(other).build().verify(tok));
    JwtVerifier es = verifier(issuer(KeyType.ECDSA_P256)).build();
    e = assertThrows(CredentialException.class, () -> es.verify(tok));
    assertTrue(e.getMessage().contains("EdDSA"), e.getMessage());

    JwtVerifier once = verifier(i).replayCache(2).build();
    once.verify(tok);
    e = assertThrows(CredentialException.class, () -> once.verify(tok));
    assertTrue(e.getMessage().contains("replay"), e.getMessage());
    once.verify(mint(i, Duration.ofMinutes(5)).material());
    e = assertThrows(CredentialException.class, () -> once.verify(mint(i, Duration.ofMinutes(5)).material()));
    assertTrue(e.getMessage().contains("full"), e.getMessage());
    clock.set(T0.plus(Duration.ofMinutes(5))); // the remembered tokens expire and are forgotten
    once.verify(mint(i, Duration.ofMinutes(5)).material());
  }

  @Test
  void tokensWithoutExpOrMalformedAreRefused() throws Exception {
    JwtIssuer i = issuer(KeyType.ECDSA_P256);
    JWK priv = JWK.parse(readPrivate(i));
    SignedJWT noExp = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(i.keyId()).build(),
        new JWTClaimsSet.Builder().issuer("https://kubejit.example").subject("alice").audience("gateway-prod").build());
    noExp.sign(JwtKeys.signer(priv));
    CredentialException e = assertThrows(CredentialException.class, () -> verifier(i).build().verify(noExp.serialize()));
    assertTrue(e.getMessage().contains("no exp"), e.getMessage());
    for (String bad : new String[] {"", "a.b", "a.b.c.d", "!!!.###.$$$", "eyJhbGciOiJFUzI1NiJ9.eyJ.AAAA", "x".repeat(20_000)}) {
      assertThrows(CredentialException.class, () -> verifier(i).build().verify(bad), bad);
    }
  }

  @Test
  void privateJwkIsWritten0600AndReloads(@TempDir Path dir) throws Exception {
    JwtIssuer i = issuer(KeyType.ED25519);
    Path f = dir.resolve("jwt.jwk");
    i.writePrivateJwk(f);
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
    JwtIssuer loaded = JwtIssuer.load(f, "https://kubejit.example", clock);
    assertEquals(i.keyId(), loaded.keyId());
    verifier(i).build().verify(mint(loaded, Duration.ofMinutes(1)).material());
    String d = JWK.parse(Files.readString(f)).toJSONObject().get("d").toString();
    assertFalse(i.toString().contains(d));
    assertFalse(loaded.toString().contains(d));
  }

  /** The issuer's private JWK, through a file in this test's own temporary directory. */
  private String readPrivate(JwtIssuer i) throws Exception {
    Path f = Files.createTempFile(tmp, "jwk", ".json");
    Files.delete(f);
    i.writePrivateJwk(f);
    return Files.readString(f);
  }

  /**
   * An independent verifier: openssl checks the signature of minted tokens over the JWS signing
   * input (RFC 7515 §5.2), with the public key taken from the JWKS and encoded as
   * SubjectPublicKeyInfo by hand (RFC 8410 for Ed25519, RFC 5480 for P-256), and the ES256 r||s
   * signature converted to DER by hand (RFC 7518 §3.4). The claims are read with a plain JSON
   * parser. A token with one changed payload byte must fail the same check.
   */
  @ParameterizedTest
  @EnumSource(value = KeyType.class, names = {"ED25519", "ECDSA_P256"})
  void mintedTokensVerifyWithOpenssl(KeyType t) throws Exception {
    JwtIssuer i = issuer(t);
    String tok = mint(i, Duration.ofMinutes(15)).material();
    String[] parts = tok.split("\\.");
    assertEquals(3, parts.length, tok);
    JsonObject jwk = JsonParser.parseString(i.jwksJson()).getAsJsonObject().getAsJsonArray("keys").get(0).getAsJsonObject();
    Base64.Decoder b64url = Base64.getUrlDecoder();
    byte[] spki;
    if (t == KeyType.ED25519) {
      assertEquals("OKP", jwk.get("kty").getAsString());
      assertEquals("Ed25519", jwk.get("crv").getAsString());
      spki = concat(HexFormat.of().parseHex("302a300506032b6570032100"), b64url.decode(jwk.get("x").getAsString()));
    } else {
      assertEquals("EC", jwk.get("kty").getAsString());
      assertEquals("P-256", jwk.get("crv").getAsString());
      byte[] point = concat(new byte[] {0x04}, concat(b64url.decode(jwk.get("x").getAsString()), b64url.decode(jwk.get("y").getAsString())));
      assertEquals(65, point.length);
      spki = concat(HexFormat.of().parseHex("3059301306072a8648ce3d020106082a8648ce3d030107034200"), point);
    }
    Files.writeString(tmp.resolve("pub.pem"), TestKeys.pem("PUBLIC KEY", spki));
    byte[] sig = b64url.decode(parts[2]);
    assertEquals(64, sig.length);
    byte[] input = (parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII);
    assertEquals(0, opensslVerify(t, input, sig).exit, "openssl refused the token");
    // the same signature over a different payload: openssl must refuse it
    byte[] tampered = input.clone();
    tampered[tampered.length - 1] ^= 1;
    Exec refused = opensslVerify(t, tampered, sig);
    assertEquals(1, refused.exit, refused.toString());

    JsonObject header = JsonParser.parseString(new String(b64url.decode(parts[0]), UTF_8)).getAsJsonObject();
    assertEquals(t == KeyType.ED25519 ? "EdDSA" : "ES256", header.get("alg").getAsString());
    assertEquals(jwk.get("kid").getAsString(), header.get("kid").getAsString());
    assertEquals("JWT", header.get("typ").getAsString());
    JsonObject claims = JsonParser.parseString(new String(b64url.decode(parts[1]), UTF_8)).getAsJsonObject();
    assertEquals("alice", claims.get("sub").getAsString());
    assertEquals("https://kubejit.example", claims.get("iss").getAsString());
    assertEquals("gateway-prod", claims.get("aud").getAsString());
    assertEquals("[\"jit:grant:abc\"]", claims.get("groups").toString());
    assertEquals("[\"logs\",\"exec\"]", claims.get("actions").toString());
    assertEquals("prod", claims.get("cluster").getAsString());
    assertEquals("payments", claims.get("namespace").getAsString());
    assertEquals(T0.getEpochSecond(), claims.get("iat").getAsLong());
    assertEquals(T0.getEpochSecond(), claims.get("nbf").getAsLong());
    assertEquals(T0.getEpochSecond() + 900, claims.get("exp").getAsLong());
  }

  private Exec opensslVerify(KeyType t, byte[] input, byte[] joseSignature) throws Exception {
    Files.write(tmp.resolve("input.bin"), input);
    if (t == KeyType.ED25519) {
      Files.write(tmp.resolve("sig.bin"), joseSignature);
      return Exec.run(tmp, "openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "input.bin",
          "-sigfile", "sig.bin");
    }
    Files.write(tmp.resolve("sig.der"), derEcdsaSignature(joseSignature));
    return Exec.run(tmp, "openssl", "dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig.der", "input.bin");
  }

  /** RFC 7518 §3.4: a JOSE ECDSA signature is r||s (32 bytes each); DER is SEQUENCE { INTEGER r, INTEGER s }. */
  static byte[] derEcdsaSignature(byte[] rs) {
    byte[] r = derInteger(Arrays.copyOfRange(rs, 0, 32));
    byte[] s = derInteger(Arrays.copyOfRange(rs, 32, 64));
    return concat(new byte[] {0x30, (byte) (r.length + s.length)}, concat(r, s));
  }

  private static byte[] derInteger(byte[] unsigned) {
    int start = 0;
    while (start < unsigned.length - 1 && unsigned[start] == 0) {
      start++;
    }
    byte[] v = Arrays.copyOfRange(unsigned, start, unsigned.length);
    if ((v[0] & 0x80) != 0) {
      v = concat(new byte[] {0}, v);
    }
    return concat(new byte[] {0x02, (byte) v.length}, v);
  }

  /** A token signed with the issuer's own key but naming a subject the issuer would never write is refused. */
  @Test
  void verifierRefusesNamesTheIssuerNeverWrites() throws Exception {
    JwtIssuer i = issuer(KeyType.ED25519);
    JWK priv = JWK.parse(readPrivate(i));
    for (String[] names : new String[][] {{"\u200balice", "g"}, {"alice", "system\u00a0:masters"}, {"alic\u0435", "g"}}) {
      SignedJWT forged = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.EdDSA).keyID(i.keyId()).build(),
          new JWTClaimsSet.Builder().issuer("https://kubejit.example").subject(names[0]).audience("gateway-prod")
              .expirationTime(Date.from(T0.plusSeconds(300))).jwtID("j").claim("groups", List.of(names[1])).build());
      forged.sign(JwtKeys.signer(priv));
      CredentialException e = assertThrows(CredentialException.class, () -> verifier(i).build().verify(forged.serialize()));
      assertTrue(e.getMessage().startsWith("JWT sub claim") || e.getMessage().startsWith("JWT groups claim entry"), e.getMessage());
      assertTrue(e.getMessage().chars().allMatch(c -> c >= 0x20 && c < 0x7f), e.getMessage());
    }
  }

  static byte[] concat(byte[] a, byte[] b) {
    byte[] r = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, r, a.length, b.length);
    return r;
  }
}
