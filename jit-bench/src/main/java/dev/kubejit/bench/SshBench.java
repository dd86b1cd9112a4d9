package dev.kubejit.bench;

import dev.kubejit.credentials.KeyType;
import dev.kubejit.credentials.internal.Crypto;
import dev.kubejit.credentials.ssh.SshCertificateAuthority;
import dev.kubejit.credentials.ssh.SshCertificateRequest;
import dev.kubejit.credentials.ssh.SshUserCertificate;
import java.security.KeyPair;
import java.security.Signature;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Item 2: an OpenSSH user certificate ({@link SshCertificateAuthority#sign}) with an Ed25519 CA
 * against one raw Ed25519 signature (Bouncy Castle, the provider Apache MINA SSHD signs with) over
 * the certificate's signed bytes; both in one JMH group, so they run during the same iterations.
 */
@State(Scope.Group)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class SshBench {
  private SshCertificateAuthority ca;
  private SshCertificateRequest request;
  private byte[] signedBytes;
  private KeyPair raw;

  @Setup
  public void setup() throws Exception {
    ca = SshCertificateAuthority.generate(KeyType.ED25519, Clock.systemUTC());
    // Any Ed25519 public key line will do as the user's key: take another CA's.
    String userKey = SshCertificateAuthority.generate(KeyType.ED25519, Clock.systemUTC()).publicKeyLine();
    request = SshCertificateRequest.builder().publicKey(userKey).keyId("kubejit:request=r1:grant=g1:user=alice")
        .principals("alice").ttl(Duration.ofMinutes(30)).extension("permit-pty").build();
    SshUserCertificate c = ca.sign(request);
    byte[] blob = Base64.getDecoder().decode(c.line().split(" ")[1]);
    // The signed part is the blob without its trailing signature field (uint32 + string "ssh-ed25519" + string of 64 bytes).
    signedBytes = Arrays.copyOf(blob, blob.length - (4 + 4 + 11 + 4 + 64));
    raw = Crypto.generate(KeyType.ED25519);
    long warmStart = System.nanoTime();
    for (int i = 0; Warm.more(i, warmStart); i++) {
      sign();
      rawEd25519Sign();
    }
  }

  /** What KubeJIT does: parse the user key, build, sign and re-parse the certificate. */
  @Benchmark
  @Group("ssh")
  @GroupThreads(1)
  public SshUserCertificate sign() {
    return ca.sign(request);
  }

  /** The floor: one Ed25519 signature over the same number of bytes. */
  @Benchmark
  @Group("ssh")
  @GroupThreads(1)
  public byte[] rawEd25519Sign() throws Exception {
    Signature s = Signature.getInstance("Ed25519", Crypto.BC);
    s.initSign(raw.getPrivate());
    s.update(signedBytes);
    return s.sign();
  }
}
