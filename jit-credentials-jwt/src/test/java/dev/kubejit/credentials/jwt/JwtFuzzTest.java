package dev.kubejit.credentials.jwt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jose.util.JSONObjectUtils;
import dev.kubejit.credentials.CredentialException;
import dev.kubejit.credentials.KeyType;
import dev.kubejit.testing.FakeClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

/**
 * Hostile JWTs against {@link JwtVerifier}. An input is either a whole token (it starts with
 * {@code eyJ}) or {@code HEADER-JSON \n CLAIMS-JSON [\n SIGNATURE]}: the header and claims are
 * encoded here as written (any bytes, any duplicate keys) and signed with the pinned Ed25519 key
 * unless a signature is given, so the fuzzer reaches every check after the signature.
 *
 * <p>Properties: only {@link CredentialException} escapes; a token that verifies had exactly the
 * pinned algorithm in its header (read here with a separate JSON parse), no {@code crit}, and an
 * {@code exp} after now (the verifier runs with zero skew), the pinned issuer and audience.
 * {@code scripts/fuzz.sh jwt SECONDS} fuzzes.
 */
class JwtFuzzTest {
  private static final Instant NOW = Instant.parse("2026-03-01T10:00:00Z");
  private static final FakeClock CLOCK = new FakeClock(NOW);
  private static final String ISS = "https://kubejit.example";
  private static final JwtIssuer ISSUER = JwtIssuer.generate(KeyType.ED25519, ISS, CLOCK);
  private static final JWSSigner SIGNER = signer();
  private static final JwtVerifier VERIFIER = JwtVerifier.builder().key(ISSUER.jwksJson()).issuer(ISS)
      .audience("gateway-prod").clock(CLOCK).allowedSkew(Duration.ZERO).build();

  private static JWSSigner signer() {
    try {
      Path f = Files.createTempFile("jwt-fuzz", ".jwk");
      try {
        Files.delete(f);
        ISSUER.writePrivateJwk(f);
        return JwtKeys.signer(JWK.parse(Files.readString(f)));
      } finally {
        Files.deleteIfExists(f);
      }
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static String token(byte[] input) throws JOSEException {
    String text = new String(input, StandardCharsets.UTF_8);
    if (text.startsWith("eyJ")) {
      return text;
    }
    String[] parts = text.split("\n", 3);
    String header = Base64URL.encode(parts[0].getBytes(StandardCharsets.UTF_8)).toString();
    String claims = Base64URL.encode((parts.length > 1 ? parts[1] : "").getBytes(StandardCharsets.UTF_8)).toString();
    String signingInput = header + "." + claims;
    String sig = parts.length > 2 ? parts[2]
        : SIGNER.sign(new JWSHeader(JWSAlgorithm.EdDSA), signingInput.getBytes(StandardCharsets.US_ASCII)).toString();
    return signingInput + "." + sig;
  }

  @FuzzTest(maxDuration = "30s")
  void verifiedTokensArePinnedAndUnexpired(byte[] input) throws Exception {
    String token = token(input);
    VerifiedJwt v;
    try {
      v = VERIFIER.verify(token);
    } catch (CredentialException refused) {
      assertFalse(refused.getMessage() == null || refused.getMessage().isBlank(), "a refusal says why");
      assertFalse(token.length() > 8 && refused.getMessage().contains(token), "the message never holds the token");
      return;
    }
    String[] parts = token.split("\\.", -1);
    Map<String, Object> header = JSONObjectUtils.parse(new Base64URL(parts[0]).decodeToString());
    Map<String, Object> claims = JSONObjectUtils.parse(new Base64URL(parts[1]).decodeToString());
    assertEquals("EdDSA", header.get("alg"), "the pinned algorithm");
    assertFalse(header.containsKey("crit") && header.get("crit") != null
        && !(header.get("crit") instanceof java.util.List<?> l && l.isEmpty()), "no critical parameters");
    assertTrue(claims.get("exp") instanceof Number, "exp is present: " + claims);
    assertTrue(NOW.getEpochSecond() < ((Number) claims.get("exp")).longValue(), "exp is after now: " + claims);
    assertEquals(ISS, claims.get("iss"));
    assertEquals(ISS, v.issuer());
    assertTrue(v.audience().contains("gateway-prod"));
  }
}
