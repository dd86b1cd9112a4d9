package dev.kubejit.credentials.ssh;

import static java.util.Objects.requireNonNull;

import dev.kubejit.credentials.CredentialException;
import dev.kubejit.credentials.internal.Crypto;
import java.net.InetAddress;
import java.security.PublicKey;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.OpenSshCertificate;
import org.apache.sshd.common.signature.BuiltinSignatures;
import org.apache.sshd.common.signature.Signature;

/**
 * Verifies OpenSSH user certificates the way sshd does, for an SSH gateway: signed by a trusted
 * CA, a user certificate, valid at the clock's instant ({@code validAfter <= now < validBefore}),
 * naming the requested principal (an empty principal list is refused, unlike OpenSSH), no unknown
 * critical options, and the client address inside {@code source-address} when present.
 */
public final class SshCertificateVerifier {
  private static final Set<String> KNOWN_CRITICAL = Set.of("force-command", "source-address", "verify-required");

  private final List<PublicKey> trustedCas;
  private final Clock clock;

  private SshCertificateVerifier(List<PublicKey> trustedCas, Clock clock) {
    this.trustedCas = List.copyOf(trustedCas);
    this.clock = clock;
  }

  /** Returns a builder; at least one trusted CA is required. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Verifies a certificate for a login as {@code principal} from an unknown address; refuses
   * certificates restricted by {@code source-address} (pass the client address instead).
   *
   * @throws CredentialException naming the first check that failed
   */
  public SshUserCertificate verify(String certLine, String principal) {
    return verify(certLine, principal, null);
  }

  /**
   * Verifies a certificate for a login as {@code principal} from {@code clientAddress}.
   *
   * @throws CredentialException naming the first check that failed
   */
  public SshUserCertificate verify(String certLine, String principal, InetAddress clientAddress) {
    SshUserCertificate c = SshUserCertificate.parse(certLine);
    OpenSshCertificate raw = c.raw();
    String id = Crypto.quote(c.keyId());
    PublicKey ca = raw.getCaPubKey();
    boolean trusted = false;
    for (PublicKey t : trustedCas) {
      if (KeyUtils.compareKeys(t, ca)) {
        trusted = true;
        break;
      }
    }
    if (!trusted) {
      throw new CredentialException("SSH certificate " + id + " is signed by an untrusted CA " + SshKeys.fingerprint(ca));
    }
    if (!signatureValid(raw, ca)) {
      throw new CredentialException("SSH certificate " + id + " has an invalid CA signature");
    }
    Instant now = clock.instant();
    if (now.isBefore(c.validAfter())) {
      throw new CredentialException("SSH certificate " + id + " is not valid before " + c.validAfter() + " (now " + now + ")");
    }
    if (!now.isBefore(c.validBefore())) {
      throw new CredentialException("SSH certificate " + id + " expired at " + c.validBefore() + " (now " + now + ")");
    }
    if (c.principals().isEmpty()) {
      throw new CredentialException("SSH certificate " + id + " has no principals (refused: valid for any user in OpenSSH)");
    }
    if (principal == null || !c.principals().contains(principal)) {
      throw new CredentialException("SSH certificate " + id + " is not valid for principal " + Crypto.quote(principal)
          + " (principals " + Crypto.quoteAll(c.principals()) + ")");
    }
    for (Map.Entry<String, String> e : c.criticalOptions().entrySet()) {
      if (!KNOWN_CRITICAL.contains(e.getKey())) {
        throw new CredentialException("SSH certificate " + id + " has unknown critical option " + Crypto.quote(e.getKey()));
      }
    }
    String source = c.criticalOptions().get("source-address");
    if (source != null) {
      if (clientAddress == null) {
        throw new CredentialException("SSH certificate " + id + " is restricted to source-address " + Crypto.quote(source)
            + "; the client address is required");
      }
      boolean inside = false;
      for (String cidr : source.split(",")) {
        SshCertificateRequest.checkCidr(cidr);
        inside |= SshCertificateRequest.cidrContains(cidr, clientAddress);
      }
      if (!inside) {
        throw new CredentialException("SSH certificate " + id + " may not be used from " + clientAddress.getHostAddress()
            + " (source-address " + Crypto.quote(source) + ")");
      }
    }
    return c;
  }

  private static boolean signatureValid(OpenSshCertificate raw, PublicKey ca) {
    try {
      String alg = raw.getSignatureAlgorithm();
      BuiltinSignatures factory = BuiltinSignatures.fromFactoryName(alg);
      if (factory == null || !factory.isSupported()) {
        return false;
      }
      String caType = KeyUtils.getKeyType(ca);
      boolean compatible = alg.equals(caType) || ("ssh-rsa".equals(caType) && alg.startsWith("rsa-sha2-"));
      if (!compatible) {
        return false;
      }
      Signature s = factory.create();
      s.initVerifier(null, ca);
      s.update(null, raw.getMessage());
      return s.verify(null, raw.getSignature());
    } catch (Exception e) {
      return false;
    }
  }

  @Override
  public String toString() {
    List<String> fps = new ArrayList<>();
    for (PublicKey k : trustedCas) {
      fps.add(SshKeys.fingerprint(k));
    }
    return "SshCertificateVerifier{trustedCas=" + fps + "}";
  }

  /** Builds an {@link SshCertificateVerifier}. */
  public static final class Builder {
    private final List<PublicKey> cas = new ArrayList<>();
    private Clock clock = Clock.systemUTC();

    private Builder() {}

    /** Trusts the CA whose public key line (as in {@code TrustedUserCAKeys}) is given. */
    public Builder trustedCa(String caPublicKeyLine) {
      PublicKey k = SshKeys.parseUserPublicKey(caPublicKeyLine);
      cas.add(k);
      return this;
    }

    /** Sets the clock (default: system UTC). */
    public Builder clock(Clock clock) {
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Returns the verifier.
     *
     * @throws IllegalStateException if no CA is trusted
     */
    public SshCertificateVerifier build() {
      if (cas.isEmpty()) {
        throw new IllegalStateException("at least one trustedCa(...) is required");
      }
      return new SshCertificateVerifier(cas, clock);
    }
  }
}
