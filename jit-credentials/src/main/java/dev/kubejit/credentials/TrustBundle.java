package dev.kubejit.credentials;

import static java.util.Objects.requireNonNull;

import dev.kubejit.credentials.internal.Crypto;
import com.google.common.collect.ImmutableList;
import dev.kubejit.api.Lifetimes;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The set of CAs clients and servers trust during CA rotation: the current CA (which signs), the
 * next CA (already trusted, signs after the next rotation), and retired CAs kept until every
 * certificate they issued has expired.
 *
 * <p>Immutable: {@link #rotate} returns a new bundle. {@link #pem(Instant)} is what a kube-apiserver
 * {@code --client-ca-file} or an SSH/TLS gateway should trust at that instant.
 */
public final class TrustBundle {
  private final CertificateAuthority current;
  private final CertificateAuthority next;
  private final ImmutableList<Retired> retired;

  /** A CA that no longer signs but stays trusted until {@code until}. */
  private static final class Retired {
    final CertificateAuthority ca;
    final Instant until;

    Retired(CertificateAuthority ca, Instant until) {
      this.ca = ca;
      this.until = until;
    }
  }

  private TrustBundle(CertificateAuthority current, CertificateAuthority next, List<Retired> retired) {
    this.current = requireNonNull(current, "current");
    this.next = requireNonNull(next, "next");
    if (current.fingerprint().equals(next.fingerprint())) {
      throw new IllegalArgumentException("current and next CA must differ: " + current);
    }
    this.retired = ImmutableList.copyOf(retired);
  }

  /** A bundle of the CA that signs now and the one that will sign after the next rotation. */
  public static TrustBundle of(CertificateAuthority current, CertificateAuthority next) {
    return new TrustBundle(current, next, List.of());
  }

  /** The CA that signs now. */
  public CertificateAuthority current() {
    return current;
  }

  /** The CA that signs after the next rotation (already trusted). */
  public CertificateAuthority next() {
    return next;
  }

  /**
   * Makes {@link #next()} current and {@code newNext} next; the old current CA stays trusted for
   * {@code retainOldFor} after {@code now}, which must be at least the longest TTL it issued (the
   * issuer's maximum TTL) so its certificates stay verifiable until they expire.
   */
  public TrustBundle rotate(CertificateAuthority newNext, Instant now, Duration retainOldFor) {
    requireNonNull(newNext, "newNext");
    requireNonNull(now, "now");
    if (retainOldFor == null || retainOldFor.isNegative()) {
      throw new IllegalArgumentException("retainOldFor must not be negative: " + retainOldFor);
    }
    if (retainOldFor.compareTo(Lifetimes.ABSOLUTE_MAX) > 0) {
      throw new IllegalArgumentException("retainOldFor " + retainOldFor + " exceeds the absolute maximum of "
          + Lifetimes.ABSOLUTE_MAX.toDays() + " days (no certificate lives longer)");
    }
    List<Retired> kept = new ArrayList<>();
    for (Retired r : retired) {
      if (r.until.isAfter(now)) {
        kept.add(r);
      }
    }
    kept.add(new Retired(current, now.plus(retainOldFor)));
    return new TrustBundle(next, newNext, kept);
  }

  /** Every CA certificate trusted at {@code at}: current, next, and retired CAs still within their retention. */
  public List<X509Certificate> trusted(Instant at) {
    List<X509Certificate> out = new ArrayList<>();
    out.add(current.certificate());
    out.add(next.certificate());
    for (Retired r : retired) {
      if (at.isBefore(r.until)) {
        out.add(r.ca.certificate());
      }
    }
    return out;
  }

  /** The PEM bundle of {@link #trusted(Instant)}, for {@code --client-ca-file} or {@code openssl verify -CAfile}. */
  public String pem(Instant at) {
    StringBuilder sb = new StringBuilder();
    for (X509Certificate c : trusted(at)) {
      sb.append(Crypto.pem(c));
    }
    return sb.toString();
  }

  /**
   * Verifies that {@code cert} was signed by a CA this bundle trusts at {@code at} and that both are
   * valid then; returns the issuing CA certificate.
   *
   * @throws CredentialException naming the reason if it does not verify
   */
  public X509Certificate verify(X509Certificate cert, Instant at) {
    requireNonNull(cert, "cert");
    Optional<String> why = Optional.empty();
    for (X509Certificate ca : trusted(at)) {
      if (!ca.getSubjectX500Principal().equals(cert.getIssuerX500Principal())) {
        continue;
      }
      try {
        cert.verify(ca.getPublicKey(), Crypto.BC);
      } catch (Exception e) {
        why = Optional.of("signature does not verify with CA " + ca.getSubjectX500Principal().getName());
        continue;
      }
      Validity.checkValid(cert, at, "certificate");
      Validity.checkValid(ca, at, "issuing CA");
      return ca;
    }
    throw new CredentialException("certificate serial " + cert.getSerialNumber().toString(16) + " issued by "
        + Crypto.quote(cert.getIssuerX500Principal().getName()) + " is not trusted at " + at
        + why.map(w -> ": " + w).orElse(": no trusted CA has that name"));
  }

  /** Validity checks at an instant, with the instant-exact semantics notBefore <= t <= notAfter. */
  static final class Validity {
    private Validity() {}

    static void checkValid(X509Certificate c, Instant at, String what) {
      Instant nb = c.getNotBefore().toInstant();
      Instant na = c.getNotAfter().toInstant();
      if (at.isBefore(nb)) {
        throw new CredentialException(what + " serial " + c.getSerialNumber().toString(16) + " is not valid before " + nb + " (now " + at + ")");
      }
      if (at.isAfter(na)) {
        throw new CredentialException(what + " serial " + c.getSerialNumber().toString(16) + " expired at " + na + " (now " + at + ")");
      }
    }
  }

  @Override
  public String toString() {
    return "TrustBundle{current=" + current.fingerprint() + ", next=" + next.fingerprint() + ", retired=" + retired.size() + "}";
  }
}
