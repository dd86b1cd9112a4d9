package dev.kubejit.credentials.ssh;

import dev.kubejit.api.CredentialKind;
import dev.kubejit.api.CredentialSpec;
import dev.kubejit.api.Grant;
import dev.kubejit.api.IssuedCredential;
import dev.kubejit.credentials.CredentialKindIssuer;
import dev.kubejit.credentials.GrantCredentialIssuer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import dev.kubejit.credentials.KeyType;
import dev.kubejit.credentials.CredentialException;
import dev.kubejit.credentials.ReservedNames;
import dev.kubejit.credentials.internal.Crypto;
import dev.kubejit.credentials.internal.X509Support;
import dev.kubejit.api.Lifetimes;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Iterator;
import java.util.TreeMap;
import org.apache.sshd.certificate.OpenSshCertificateBuilder;
import org.apache.sshd.common.NamedResource;
import org.apache.sshd.common.config.keys.FilePasswordProvider;
import org.apache.sshd.common.config.keys.OpenSshCertificate;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.config.keys.writer.openssh.OpenSSHKeyPairResourceWriter;
import org.apache.sshd.common.util.security.SecurityUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An OpenSSH user certificate authority: signs users' public keys into short-lived {@code
 * *-cert.pub} certificates, and gives the CA line sshd's {@code TrustedUserCAKeys} needs.
 *
 * <p>RSA CAs sign with {@code rsa-sha2-512}. Validity is always bounded: validAfter is now minus
 * one minute (clock skew), validBefore is now plus the TTL, clamped to {@link #maxTtl()} with the
 * clamp reported. Principals reserved by {@link #reservedNames()} ({@link ReservedNames#defaults()}:
 * {@code root}, {@code system:*}, ...) are refused. Serials are random 64-bit values. The private
 * key leaves this object only through
 * {@link #writeTo(Path)} (OpenSSH private key format, mode 0600); {@link #toString()} shows the
 * public fingerprint only. See OpenSSH {@code PROTOCOL.certkeys}.
 */
public final class SshCertificateAuthority {
  private static final Set<String> GRANT_OPTIONS = Set.of("principals", "force-command", "source-address", "extensions");

  static final String KEY_FILE = "ssh_ca";
  static final String PUB_FILE = "ssh_ca.pub";
  private static final Logger LOG = LoggerFactory.getLogger(SshCertificateAuthority.class);

  private final KeyPair keyPair;
  private final Clock clock;
  private final Duration maxTtl;
  private final ReservedNames reserved;
  private final SecureRandom random = Crypto.RANDOM;

  private SshCertificateAuthority(KeyPair keyPair, Clock clock, Duration maxTtl, ReservedNames reserved) {
    this.keyPair = keyPair;
    this.clock = requireNonNull(clock, "clock");
    this.maxTtl = maxTtl;
    this.reserved = requireNonNull(reserved, "reservedNames");
    SshKeys.checkUserKey(keyPair.getPublic(), "SSH CA key");
  }

  /**
   * Generates a CA key of {@code type} (Ed25519, ECDSA P-256/P-384, RSA 3072/4096) with a maximum
   * certificate TTL of 8 hours.
   */
  public static SshCertificateAuthority generate(KeyType type, Clock clock) {
    requireNonNull(type, "type");
    return new SshCertificateAuthority(Crypto.generate(type), clock, X509Support.DEFAULT_MAX_TTL, ReservedNames.defaults());
  }

  /**
   * Loads the CA from an OpenSSH private key file (as written by {@link #writeTo} or {@code
   * ssh-keygen}, unencrypted).
   *
   * @throws CredentialException if the file is missing, encrypted or not a supported key
   */
  public static SshCertificateAuthority load(Path privateKeyFile, Clock clock) {
    String text = Crypto.read(privateKeyFile, "SSH CA private key");
    try {
      Iterable<KeyPair> pairs = SecurityUtils.loadKeyPairIdentities(null, NamedResource.ofName(privateKeyFile.toString()),
          new ByteArrayInputStream(text.getBytes(UTF_8)), FilePasswordProvider.EMPTY);
      Iterator<KeyPair> it = pairs == null ? null : pairs.iterator();
      if (it == null || !it.hasNext()) {
        throw new CredentialException("SSH CA private key " + Crypto.quote(privateKeyFile.toString()) + " contains no key");
      }
      return new SshCertificateAuthority(it.next(), clock, X509Support.DEFAULT_MAX_TTL, ReservedNames.defaults());
    } catch (CredentialException e) {
      throw e;
    } catch (Exception e) {
      throw new CredentialException("SSH CA private key " + Crypto.quote(privateKeyFile.toString()) + " cannot be read ("
          + e.getClass().getSimpleName() + ")");
    }
  }

  /**
   * A copy of this CA whose certificates are clamped to {@code maxTtl} instead of 8 hours.
   *
   * @throws IllegalArgumentException if {@code maxTtl} is not positive or exceeds {@link
   *     Lifetimes#ABSOLUTE_MAX}
   */
  public SshCertificateAuthority withMaxTtl(Duration maxTtl) {
    return new SshCertificateAuthority(keyPair, clock, Lifetimes.requireWithinCap(maxTtl, "maxTtl"), reserved);
  }

  /** A copy of this CA that reads time from {@code clock}. */
  public SshCertificateAuthority withClock(Clock clock) {
    return new SshCertificateAuthority(keyPair, clock, maxTtl, reserved);
  }

  /**
   * A copy of this CA that refuses the principals reserved by {@code reservedNames} instead of
   * {@link ReservedNames#defaults()}; extend the list with {@link ReservedNames#plus}, relax it only
   * with {@link ReservedNames#exemptDangerously}.
   */
  public SshCertificateAuthority withReservedNames(ReservedNames reservedNames) {
    return new SshCertificateAuthority(keyPair, clock, maxTtl, reservedNames);
  }

  /** The names this CA never certifies as principals. */
  public ReservedNames reservedNames() {
    return reserved;
  }

  /** The maximum certificate TTL. */
  public Duration maxTtl() {
    return maxTtl;
  }

  /**
   * Writes {@code dir/ssh_ca} (OpenSSH private key format, mode 0600) and {@code dir/ssh_ca.pub},
   * refusing to overwrite either.
   */
  public void writeTo(Path dir) {
    Path key = dir.resolve(KEY_FILE);
    Path pub = dir.resolve(PUB_FILE);
    Crypto.refuseIfExists(key);
    Crypto.refuseIfExists(pub);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      OpenSSHKeyPairResourceWriter.INSTANCE.writePrivateKey(keyPair, "kubejit-ssh-user-ca", null, out);
    } catch (Exception e) {
      throw new CredentialException("cannot encode the SSH CA key (" + e.getClass().getSimpleName() + ")");
    }
    Crypto.writePrivate(key, out.toString(UTF_8));
    Crypto.writePublic(pub, publicKeyLine() + "\n");
  }

  /** The CA public key line ({@code ssh-ed25519 AAAA... kubejit-ssh-user-ca}) for sshd's {@code TrustedUserCAKeys}. */
  public String publicKeyLine() {
    return SshKeys.line(keyPair.getPublic()) + " kubejit-ssh-user-ca";
  }

  /** The CA public key's OpenSSH fingerprint ({@code SHA256:...}). */
  public String fingerprint() {
    return SshKeys.fingerprint(keyPair.getPublic());
  }

  PublicKey publicKey() {
    return keyPair.getPublic();
  }

  /**
   * Signs the request's public key into a user certificate.
   *
   * @throws CredentialException if the public key is malformed, weak or unsupported, or a
   *     principal is reserved
   */
  public SshUserCertificate sign(SshCertificateRequest request) {
    requireNonNull(request, "request");
    return sign(request, null, null);
  }

  SshUserCertificate sign(SshCertificateRequest request, Instant validBeforeCap, String capReason) {
    for (String p : request.principals()) {
      reserved.refuse(p, "SSH principal");
    }
    PublicKey userKey = SshKeys.parseUserPublicKey(request.publicKeyLine());
    Instant now = clock.instant();
    Duration ttl = request.ttl();
    String clamp = null;
    if (ttl.compareTo(maxTtl) > 0) {
      clamp = "requested TTL " + ttl + " exceeds the maximum " + maxTtl + "; clamped to " + maxTtl;
      ttl = maxTtl;
    }
    Instant validBefore = now.plus(ttl).truncatedTo(ChronoUnit.SECONDS);
    if (validBeforeCap != null && validBefore.isAfter(validBeforeCap)) {
      validBefore = validBeforeCap.truncatedTo(ChronoUnit.SECONDS);
      if (!validBefore.isAfter(now)) {
        throw new CredentialException("cannot issue: " + capReason + " (" + validBeforeCap + ") is not after now (" + now + ")");
      }
      clamp = (clamp == null ? "" : clamp + "; ") + "validBefore capped at " + validBefore + " (" + capReason + ")";
    }
    if (!validBefore.isAfter(now)) {
      throw new CredentialException("TTL " + request.ttl() + " is shorter than the one-second certificate precision");
    }
    Instant validAfter = now.truncatedTo(ChronoUnit.SECONDS).minus(Duration.ofMinutes(1));
    TreeMap<String, String> critical = new TreeMap<>();
    request.forceCommand().ifPresent(c -> critical.put("force-command", c));
    if (!request.sourceAddresses().isEmpty()) {
      critical.put("source-address", String.join(",", request.sourceAddresses()));
    }
    TreeMap<String, String> ext = new TreeMap<>();
    for (String e : request.extensions()) {
      ext.put(e, "");
    }
    long serial = random.nextLong() & Long.MAX_VALUE;
    byte[] nonce = new byte[32];
    random.nextBytes(nonce);
    OpenSshCertificate cert;
    try {
      cert = OpenSshCertificateBuilder.userCertificate()
          .publicKey(userKey)
          .serial(serial)
          .id(request.keyId())
          .principals(request.principals())
          .criticalOptions(critical)
          .extensions(ext)
          .validAfter(validAfter)
          .validBefore(validBefore)
          .nonce(nonce)
          .sign(keyPair, SshKeys.signatureAlgorithm(keyPair.getPublic()));
    } catch (Exception e) {
      throw new CredentialException("cannot sign SSH certificate " + Crypto.quote(request.keyId()) + " ("
          + e.getClass().getSimpleName() + ")", e);
    }
    SshUserCertificate result = SshUserCertificate.of(cert, request.ttl(), clamp);
    // Defence in depth: the builder must not have produced anything our verifier would refuse.
    if (result.principals().isEmpty() || result.validBefore().equals(Instant.MAX)) {
      throw new CredentialException("refusing an SSH certificate without principals or without an end of validity");
    }
    LOG.info("issued SSH user certificate serial={} keyId={} principals={} validBefore={}{}", Long.toUnsignedString(serial, 16),
        Crypto.quote(request.keyId()), Crypto.quoteAll(request.principals()), validBefore, clamp == null ? "" : " (" + clamp + ")");
    return result;
  }

  /** The longest validity {@link #signHostCertificate} gives a host certificate. */
  public static final Duration MAX_HOST_CERTIFICATE_TTL = Duration.ofDays(366);

  /**
   * Signs a server's host key into an OpenSSH host certificate for {@code hostnames}, so clients
   * that trust this CA with one {@code @cert-authority} line in {@code known_hosts} accept the host
   * without trust on first use (OpenSSH {@code PROTOCOL.certkeys}, type 2). Key id {@code
   * kubejit-host:<first hostname>}, no critical options or extensions, valid from a minute ago
   * for {@code ttl}.
   *
   * @return the {@code *-cert.pub} line
   * @throws CredentialException if the key is malformed or weak, a hostname is empty or contains
   *     whitespace or a comma, or {@code ttl} is not positive or exceeds {@link #MAX_HOST_CERTIFICATE_TTL}
   */
  public String signHostCertificate(String hostPublicKeyLine, List<String> hostnames, Duration ttl) {
    requireNonNull(hostnames, "hostnames");
    requireNonNull(ttl, "ttl");
    if (hostnames.isEmpty()) {
      throw new CredentialException("a host certificate needs at least one hostname");
    }
    for (String h : hostnames) {
      if (h == null || h.isEmpty() || !h.equals(h.strip()) || h.chars().anyMatch(c -> c == ',' || c <= ' ' || c == 0x7f)) {
        throw new CredentialException("hostname " + Crypto.quote(String.valueOf(h)) + " is empty or contains whitespace, a comma or a control character");
      }
    }
    if (ttl.isNegative() || ttl.isZero() || ttl.compareTo(MAX_HOST_CERTIFICATE_TTL) > 0) {
      throw new CredentialException("host certificate TTL " + ttl + " must be positive and at most " + MAX_HOST_CERTIFICATE_TTL);
    }
    PublicKey hostKey = SshKeys.parseUserPublicKey(hostPublicKeyLine);
    Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    long serial = random.nextLong() & Long.MAX_VALUE;
    byte[] nonce = new byte[32];
    random.nextBytes(nonce);
    String keyId = "kubejit-host:" + hostnames.get(0);
    try {
      OpenSshCertificate cert = OpenSshCertificateBuilder.hostCertificate()
          .publicKey(hostKey)
          .serial(serial)
          .id(keyId)
          .principals(hostnames)
          .validAfter(now.minus(Duration.ofMinutes(1)))
          .validBefore(now.plus(ttl))
          .nonce(nonce)
          .sign(keyPair, SshKeys.signatureAlgorithm(keyPair.getPublic()));
      LOG.info("issued SSH host certificate serial={} keyId={} validBefore={}", Long.toUnsignedString(serial, 16),
          Crypto.quote(keyId), now.plus(ttl));
      return PublicKeyEntry.toString(cert) + " " + keyId;
    } catch (Exception e) {
      throw new CredentialException("cannot sign host certificate " + Crypto.quote(keyId) + " (" + e.getClass().getSimpleName() + ")", e);
    }
  }

  /**
   * Returns this CA as the OpenSSH part of a {@link GrantCredentialIssuer} ({@link
   * CredentialKind#SSH_USER_CERTIFICATE}): the principal is the holder's user name unless the spec
   * option {@code principals} (space-separated) names others; key id {@code
   * kubejit:request=<id>:grant=<id>:user=<user>}; options {@code force-command}, {@code
   * source-address} and {@code extensions} (space-separated); validBefore is capped at the grant's
   * end. Any other option is refused.
   */
  public CredentialKindIssuer forGrants() {
    SshCertificateAuthority self = this;
    return new CredentialKindIssuer() {
      @Override
      public Set<CredentialKind> kinds() {
        return Set.of(CredentialKind.SSH_USER_CERTIFICATE);
      }

      @Override
      public IssuedCredential issue(Grant grant, CredentialSpec spec, Duration remaining) {
        if (spec.kind() != CredentialKind.SSH_USER_CERTIFICATE) {
          throw new CredentialException("credential kind " + spec.kind() + " is not an SSH user certificate");
        }
        return sign(grantRequest(grant, spec, remaining), grant.expiresAt(), "grant " + grant.id() + " ends").toIssuedCredential();
      }

      @Override
      public String toString() {
        return self.toString();
      }
    };
  }

  private static SshCertificateRequest grantRequest(Grant grant, CredentialSpec spec, Duration ttl) {
    Map<String, String> o = spec.options();
    for (String k : o.keySet()) {
      if (!GRANT_OPTIONS.contains(k)) {
        throw new CredentialException("unknown SSH certificate option " + Crypto.quote(k) + "; known: " + GRANT_OPTIONS);
      }
    }
    SshCertificateRequest.Builder b = SshCertificateRequest.builder()
        .publicKey(spec.publicMaterial().orElseThrow())
        .keyId("kubejit:request=" + grant.requestId().value() + ":grant=" + grant.id().value() + ":user=" + grant.holder().user())
        .ttl(ttl);
    String principals = o.get("principals");
    b.principals(principals == null ? List.of(grant.holder().user()) : Arrays.asList(principals.strip().split(" +")));
    if (o.containsKey("force-command")) {
      b.forceCommand(o.get("force-command"));
    }
    if (o.containsKey("source-address")) {
      b.sourceAddresses(o.get("source-address"));
    }
    if (o.containsKey("extensions")) {
      for (String e : o.get("extensions").strip().split(" +")) {
        b.extension(e);
      }
    }
    return b.build();
  }

  @Override
  public String toString() {
    return "SshCertificateAuthority{" + PublicKeyEntry.toString(keyPair.getPublic()).split(" ")[0] + " " + fingerprint()
        + ", maxTtl=" + maxTtl + (reserved.equals(ReservedNames.defaults()) ? "" : ", " + reserved) + "}";
  }
}
