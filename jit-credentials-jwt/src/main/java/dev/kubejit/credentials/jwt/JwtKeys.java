package dev.kubejit.credentials.jwt;

import dev.kubejit.credentials.CredentialException;
import dev.kubejit.credentials.internal.Crypto;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.jca.JCAContext;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.util.Base64URL;
import java.math.BigInteger;
import java.util.Set;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;

/**
 * JWS signers and verifiers for the two algorithms KubeJIT mints: EdDSA (Ed25519, via Bouncy
 * Castle's lightweight API, because Nimbus' own Ed25519 support needs Tink) and ES256 (Nimbus with
 * the BC provider).
 *
 * <p>Design notes: the ES256 verifier refuses, before any arithmetic, signatures that are not 64
 * bytes or whose r or s is outside [1, n-1] (the CVE-2022-21449 "psychic signature" shape), even
 * though patched JDKs and Nimbus also refuse them.
 */
final class JwtKeys {
  /** Order of the P-256 group. */
  static final BigInteger P256_N = new BigInteger("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16);

  private JwtKeys() {}

  static JWSAlgorithm algorithm(JWK key) {
    if (key instanceof OctetKeyPair && Curve.Ed25519.equals(((OctetKeyPair) key).getCurve())) {
      return JWSAlgorithm.EdDSA;
    }
    if (key instanceof ECKey && Curve.P_256.equals(((ECKey) key).getCurve())) {
      return JWSAlgorithm.ES256;
    }
    throw new CredentialException("unsupported JWT key (kty " + key.getKeyType() + "); accepted: Ed25519 (EdDSA), P-256 (ES256)");
  }

  static JWSSigner signer(JWK key) {
    try {
      if (algorithm(key) == JWSAlgorithm.EdDSA) {
        return new EdSigner(new Ed25519PrivateKeyParameters(((OctetKeyPair) key).getDecodedD(), 0));
      }
      ECDSASigner s = new ECDSASigner((ECKey) key);
      s.getJCAContext().setProvider(Crypto.BC);
      return s;
    } catch (JOSEException | RuntimeException e) {
      throw new CredentialException("unusable JWT signing key (" + e.getClass().getSimpleName() + ")");
    }
  }

  static JWSVerifier verifier(JWK key) {
    try {
      if (algorithm(key) == JWSAlgorithm.EdDSA) {
        return new EdVerifier(new Ed25519PublicKeyParameters(((OctetKeyPair) key).getDecodedX(), 0));
      }
      ECDSAVerifier v = new ECDSAVerifier(((ECKey) key).toPublicJWK());
      v.getJCAContext().setProvider(Crypto.BC);
      return v;
    } catch (JOSEException | RuntimeException e) {
      throw new CredentialException("unusable JWT verification key (" + e.getClass().getSimpleName() + ")");
    }
  }

  /** Refuses ES256 signatures that are not 64 bytes or whose r or s is 0 or at least n. */
  static void checkEs256Shape(byte[] sig) {
    if (sig.length != 64) {
      throw new CredentialException("ES256 signature must be 64 bytes, got " + sig.length);
    }
    BigInteger r = new BigInteger(1, java.util.Arrays.copyOfRange(sig, 0, 32));
    BigInteger s = new BigInteger(1, java.util.Arrays.copyOfRange(sig, 32, 64));
    if (r.signum() == 0 || s.signum() == 0 || r.compareTo(P256_N) >= 0 || s.compareTo(P256_N) >= 0) {
      throw new CredentialException("ES256 signature has r or s outside [1, n-1] (refused; cf. CVE-2022-21449)");
    }
  }

  private static final class EdSigner implements JWSSigner {
    private final Ed25519PrivateKeyParameters key;
    private final JCAContext jca = new JCAContext();

    EdSigner(Ed25519PrivateKeyParameters key) {
      this.key = key;
    }

    @Override
    public Base64URL sign(JWSHeader header, byte[] signingInput) throws JOSEException {
      if (!JWSAlgorithm.EdDSA.equals(header.getAlgorithm())) {
        throw new JOSEException("this signer only signs EdDSA");
      }
      Ed25519Signer s = new Ed25519Signer();
      s.init(true, key);
      s.update(signingInput, 0, signingInput.length);
      return Base64URL.encode(s.generateSignature());
    }

    @Override
    public Set<JWSAlgorithm> supportedJWSAlgorithms() {
      return Set.of(JWSAlgorithm.EdDSA);
    }

    @Override
    public JCAContext getJCAContext() {
      return jca;
    }

    @Override
    public String toString() {
      return "EdSigner{<redacted>}";
    }
  }

  private static final class EdVerifier implements JWSVerifier {
    private final Ed25519PublicKeyParameters key;
    private final JCAContext jca = new JCAContext();

    EdVerifier(Ed25519PublicKeyParameters key) {
      this.key = key;
    }

    @Override
    public boolean verify(JWSHeader header, byte[] signingInput, Base64URL signature) {
      if (!JWSAlgorithm.EdDSA.equals(header.getAlgorithm())) {
        return false;
      }
      byte[] sig = signature.decode();
      if (sig.length != 64) {
        return false;
      }
      Ed25519Signer v = new Ed25519Signer();
      v.init(false, key);
      v.update(signingInput, 0, signingInput.length);
      return v.verifySignature(sig);
    }

    @Override
    public Set<JWSAlgorithm> supportedJWSAlgorithms() {
      return Set.of(JWSAlgorithm.EdDSA);
    }

    @Override
    public JCAContext getJCAContext() {
      return jca;
    }
  }
}
