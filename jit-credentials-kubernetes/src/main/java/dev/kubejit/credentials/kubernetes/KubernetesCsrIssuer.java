package dev.kubejit.credentials.kubernetes;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import dev.kubejit.credentials.CredentialException;
import dev.kubejit.credentials.IssuedCertificate;
import dev.kubejit.credentials.ReservedNames;
import dev.kubejit.credentials.internal.Crypto;
import dev.kubejit.credentials.internal.IssuedCertificates;
import dev.kubejit.credentials.internal.X509Support;
import dev.kubejit.api.CredentialKind;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CertificatesV1Api;
import io.kubernetes.client.openapi.models.V1CertificateSigningRequest;
import io.kubernetes.client.openapi.models.V1CertificateSigningRequestCondition;
import io.kubernetes.client.openapi.models.V1CertificateSigningRequestSpec;
import io.kubernetes.client.openapi.models.V1CertificateSigningRequestStatus;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Obtains a client certificate signed by the cluster's own CA through the Kubernetes
 * {@code certificates.k8s.io/v1} CSR API: creates a CertificateSigningRequest ({@code signerName:
 * kubernetes.io/kube-apiserver-client}, {@code usages: [client auth]}, {@code expirationSeconds}
 * from the TTL), approves it through the approval subresource with a reason naming the request,
 * waits for {@code status.certificate} until a deadline, deletes the object, and returns the
 * certificate with its real notAfter (servers may clamp the duration, and before 1.22 ignore it).
 *
 * <p>Because the cluster signs the CSR's own subject, the CSR must carry exactly {@code CN=user}
 * and one {@code O} per group; anything else is refused before the API is called, as are names
 * that fail {@link dev.kubejit.api.PrincipalNames#check} or are reserved by {@link
 * Builder#reservedNames} (default {@link ReservedNames#defaults()}: the cluster's CA would sign
 * {@code O=system:masters} as readily as any other group). The {@link ApiClient} must be allowed
 * to create, approve and delete CSRs for that signer.
 */
public final class KubernetesCsrIssuer {
  static final String SIGNER = "kubernetes.io/kube-apiserver-client";
  static final int MIN_EXPIRATION_SECONDS = 600;
  private static final Logger LOG = LoggerFactory.getLogger(KubernetesCsrIssuer.class);

  private final CertificatesV1Api api;
  private final Clock clock;
  private final Duration timeout;
  private final Duration pollInterval;
  private final ReservedNames reserved;

  private KubernetesCsrIssuer(Builder b) {
    this.api = new CertificatesV1Api(b.client);
    this.clock = b.clock;
    this.timeout = b.timeout;
    this.pollInterval = b.pollInterval;
    this.reserved = b.reserved;
  }

  /** Returns a builder; the API client is required. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Submits, approves and collects a certificate for {@code csrPem} as {@code user} in {@code
   * groups}; {@code requestId} names the KubeJIT request in the CSR object and approval reason.
   *
   * @throws CredentialException if the CSR is refused locally, the API refuses or denies it, or
   *     no certificate arrives before the deadline; the CSR object is deleted in every case
   */
  public IssuedCertificate issue(String csrPem, String user, Collection<String> groups, Duration ttl, String requestId) {
    List<String> g = X509Support.checkSubject(user, groups, reserved);
    Duration requested = X509Support.checkTtl(ttl);
    String rid = Crypto.requireLabel(requestId, "request id");
    PKCS10CertificationRequest csr = X509Support.parseCsr(csrPem);
    PublicKey key = X509Support.verifiedCsrKey(csr);
    X509Support.checkCsrSubject(csr.getSubject(), user, g, true);

    long seconds = Math.max(MIN_EXPIRATION_SECONDS, requested.toSeconds());
    byte[] rnd = new byte[4];
    Crypto.RANDOM.nextBytes(rnd);
    String name = ("kubejit-" + rid.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9-]", "-")).replaceAll("-+", "-");
    name = (name.length() > 200 ? name.substring(0, 200) : name) + "-" + HexFormat.of().formatHex(rnd);
    V1CertificateSigningRequest object = new V1CertificateSigningRequest()
        .apiVersion("certificates.k8s.io/v1").kind("CertificateSigningRequest")
        .metadata(new V1ObjectMeta().name(name).putLabelsItem("app.kubernetes.io/managed-by", "kubejit")
            .putAnnotationsItem("kubejit.dev/request", rid).putAnnotationsItem("kubejit.dev/user", user))
        .spec(new V1CertificateSigningRequestSpec()
            .request(csrPem.getBytes(UTF_8))
            .signerName(SIGNER)
            .usages(new ArrayList<>(List.of("client auth")))
            .expirationSeconds((int) Math.min(Integer.MAX_VALUE, seconds)));
    Instant issuedAt = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    boolean created = false;
    try {
      V1CertificateSigningRequest live = api.createCertificateSigningRequest(object).execute();
      created = true;
      live.setStatus(new V1CertificateSigningRequestStatus().addConditionsItem(new V1CertificateSigningRequestCondition()
          .type("Approved").status("True").reason("KubeJITApproved")
          .message("approved by KubeJIT for request " + Crypto.quote(rid) + " (user " + Crypto.quote(user) + ")")
          .lastUpdateTime(OffsetDateTime.now(clock.withZone(ZoneOffset.UTC)))));
      api.replaceCertificateSigningRequestApproval(name, live).execute();
      byte[] certBytes = awaitCertificate(name);
      X509Certificate cert = X509Support.parseCertificates(new String(certBytes, UTF_8), "issued certificate").get(0);
      if (!Crypto.sameKey(cert.getPublicKey(), key)) {
        throw new CredentialException("the cluster returned a certificate for another key (CSR " + name + ")");
      }
      String clamp = null;
      Instant wanted = issuedAt.plus(requested);
      Instant notAfter = cert.getNotAfter().toInstant();
      if (Duration.between(notAfter, wanted).abs().compareTo(Duration.ofMinutes(1)) > 0) {
        clamp = "the cluster issued the certificate until " + notAfter + " (requested TTL " + requested
            + (seconds != requested.toSeconds() ? ", sent expirationSeconds " + seconds : "") + ")";
      }
      IssuedCertificate issued = IssuedCertificates.create(cert, CredentialKind.X509_FROM_CSR, user, g, issuedAt, requested, clamp, null);
      LOG.info("cluster CA issued certificate {} via CSR {} for CN={} O={} notAfter={}", issued.ref().id(), name,
          Crypto.quote(user), Crypto.quoteAll(g), notAfter);
      return issued;
    } catch (ApiException e) {
      throw new CredentialException("Kubernetes CSR API refused CSR " + name + ": HTTP " + e.getCode() + " " + reason(e), e);
    } finally {
      if (created) {
        try {
          api.deleteCertificateSigningRequest(name).execute();
        } catch (ApiException e) {
          LOG.warn("could not delete CSR {}: HTTP {}", name, e.getCode());
        }
      }
    }
  }

  private byte[] awaitCertificate(String name) throws ApiException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      V1CertificateSigningRequest r = api.readCertificateSigningRequest(name).execute();
      V1CertificateSigningRequestStatus s = r.getStatus();
      if (s != null) {
        if (s.getConditions() != null) {
          for (V1CertificateSigningRequestCondition c : s.getConditions()) {
            if (("Denied".equals(c.getType()) || "Failed".equals(c.getType())) && "True".equals(c.getStatus())) {
              throw new CredentialException("CSR " + name + " was " + c.getType().toLowerCase(Locale.ROOT) + ": "
                  + Crypto.quote(c.getReason()) + " " + Crypto.quote(c.getMessage()));
            }
          }
        }
        if (s.getCertificate() != null && s.getCertificate().length > 0) {
          return s.getCertificate();
        }
      }
      if (System.nanoTime() >= deadline) {
        throw new CredentialException("no certificate for CSR " + name + " within " + timeout
            + " (is a signer for " + SIGNER + " running?)");
      }
      try {
        Thread.sleep(pollInterval.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CredentialException("interrupted while waiting for CSR " + name);
      }
    }
  }

  private static String reason(ApiException e) {
    String body = e.getResponseBody();
    if (body == null) {
      return e.getMessage() == null ? "" : Crypto.quote(e.getMessage());
    }
    return Crypto.quote(body.length() > 300 ? body.substring(0, 300) : body);
  }

  @Override
  public String toString() {
    return "KubernetesCsrIssuer{signer=" + SIGNER + ", timeout=" + timeout
        + (reserved.equals(ReservedNames.defaults()) ? "" : ", " + reserved) + "}";
  }

  /** Builds a {@link KubernetesCsrIssuer}. */
  public static final class Builder {
    private ApiClient client;
    private Clock clock = Clock.systemUTC();
    private Duration timeout = Duration.ofSeconds(60);
    private Duration pollInterval = Duration.ofMillis(250);
    private ReservedNames reserved = ReservedNames.defaults();

    private Builder() {}

    /** Sets the API client (required) used to create, approve and delete CSRs. */
    public Builder apiClient(ApiClient client) {
      this.client = requireNonNull(client, "client");
      return this;
    }

    /** Sets the clock. */
    public Builder clock(Clock clock) {
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    /** Sets how long to wait for the signed certificate (default 60 s). */
    public Builder timeout(Duration timeout) {
      if (timeout == null || timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("timeout must be positive: " + timeout);
      }
      this.timeout = timeout;
      return this;
    }

    /**
     * Sets the names never requested as user (CN) or group (O) (default {@link
     * ReservedNames#defaults()}); extend it with {@link ReservedNames#plus}, relax it only with
     * {@link ReservedNames#exemptDangerously}.
     */
    public Builder reservedNames(ReservedNames reservedNames) {
      this.reserved = requireNonNull(reservedNames, "reservedNames");
      return this;
    }

    /** Sets the polling interval (default 250 ms). */
    public Builder pollInterval(Duration interval) {
      if (interval == null || interval.isNegative() || interval.isZero()) {
        throw new IllegalArgumentException("pollInterval must be positive: " + interval);
      }
      this.pollInterval = interval;
      return this;
    }

    /**
     * Returns the issuer.
     *
     * @throws IllegalStateException if no API client was set
     */
    public KubernetesCsrIssuer build() {
      if (client == null) {
        throw new IllegalStateException("apiClient(...) is required");
      }
      return new KubernetesCsrIssuer(this);
    }
  }
}
