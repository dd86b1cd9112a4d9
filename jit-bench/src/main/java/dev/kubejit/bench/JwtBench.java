package dev.kubejit.bench;

import dev.kubejit.api.Action;
import dev.kubejit.api.IssuedCredential;
import dev.kubejit.api.Scope;
import dev.kubejit.credentials.KeyType;
import dev.kubejit.credentials.internal.Crypto;
import dev.kubejit.credentials.jwt.JwtIssuer;
import dev.kubejit.credentials.jwt.JwtVerifier;
import dev.kubejit.credentials.jwt.VerifiedJwt;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Item 3: minting and verifying an EdDSA (Ed25519) JWT ({@link JwtIssuer#mint}, {@link
 * JwtVerifier#verify}) against one raw Ed25519 signature and one verification over the same JWS
 * signing input, with Bouncy Castle as the JWT code uses it. Mint and sign form one JMH group,
 * verify and verification another, so each pair runs during the same iterations.
 */
@State(org.openjdk.jmh.annotations.Scope.Group)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class JwtBench {
  private JwtIssuer issuer;
  private JwtVerifier verifier;
  private String token;
  private final Scope scope = Scope.namespace("prod-eu", "payments");
  private final List<String> groups = List.of("kubejit:grant:0123456789abcdef");
  private final List<Action> actions = List.of(Action.EXEC);
  private byte[] signingInput;
  private byte[] signature;
  private Ed25519PrivateKeyParameters priv;
  private Ed25519PublicKeyParameters pub;

  @Setup
  public void setup() {
    issuer = JwtIssuer.generate(KeyType.ED25519, "https://kubejit.example", Clock.systemUTC());
    verifier = JwtVerifier.builder().key(issuer.jwksJson()).issuer("https://kubejit.example").audience("payments-api").build();
    token = mint().material();
    verifier.verify(token);
    int dot = token.lastIndexOf('.');
    signingInput = token.substring(0, dot).getBytes(StandardCharsets.US_ASCII);
    signature = Base64.getUrlDecoder().decode(token.substring(dot + 1));
    priv = new Ed25519PrivateKeyParameters(Crypto.RANDOM);
    pub = priv.generatePublicKey();
    signature = rawSign();
    if (warmed) {
      return; // the other group, in the same JVM (quick runs): the code is warm already
    }
    long warmStart = System.nanoTime();
    for (int i = 0; Warm.more(i, warmStart); i++) {
      mint();
      verify();
      rawSign();
      rawVerify();
    }
    warmed = true;
  }

  /** Whether this JVM has made the warm-up calls (the mint and verify groups share them). */
  private static volatile boolean warmed;

  /** What KubeJIT does to mint: check names, build the claims, sign, serialise, fingerprint. */
  @Benchmark
  @Group("mint")
  @GroupThreads(1)
  public IssuedCredential mint() {
    return issuer.mint("alice", groups, scope, actions, "payments-api", Duration.ofMinutes(15));
  }

  /** What KubeJIT does to verify: parse, pin the algorithm, verify, check claims and names. */
  @Benchmark
  @Group("verify")
  @GroupThreads(1)
  public VerifiedJwt verify() {
    return verifier.verify(token);
  }

  /** The floor of mint: one Ed25519 signature over the same signing input. */
  @Benchmark
  @Group("mint")
  @GroupThreads(1)
  public byte[] rawSign() {
    Ed25519Signer s = new Ed25519Signer();
    s.init(true, priv);
    s.update(signingInput, 0, signingInput.length);
    return s.generateSignature();
  }

  /** The floor of verify: one Ed25519 verification of the same signing input. */
  @Benchmark
  @Group("verify")
  @GroupThreads(1)
  public boolean rawVerify() {
    Ed25519Signer s = new Ed25519Signer();
    s.init(false, pub);
    s.update(signingInput, 0, signingInput.length);
    if (!s.verifySignature(signature)) {
      throw new IllegalStateException("signature did not verify");
    }
    return true;
  }
}
