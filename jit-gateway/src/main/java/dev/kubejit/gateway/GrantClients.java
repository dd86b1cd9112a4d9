package dev.kubejit.gateway;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.kubejit.api.CredentialKind;
import dev.kubejit.api.CredentialSpec;
import dev.kubejit.api.Grant;
import dev.kubejit.api.GrantId;
import dev.kubejit.api.IssuedCredential;
import dev.kubejit.api.JitBroker;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.util.ClientBuilder;
import io.kubernetes.client.util.credentials.ClientCertificateAuthentication;
import java.io.StringWriter;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * Kubernetes clients that act as a grant's own identity: for each grant, an ECDSA P-256 key made
 * in memory here (never written anywhere), its CSR sent to the broker's credential issuer through
 * {@link JitBroker#reissue} (which checks the grant and audits the issuance), and the short-lived
 * client certificate ({@code CN=<holder>}, {@code O=jit:grant:<id>}) used by client-java. Never the
 * gateway's service account, never impersonation. A client is reused until a minute before its
 * certificate ends, and dropped when the grant ends: {@link LiveSessions#sweep} calls {@link #forget}
 * when it cuts a grant's sessions and {@link #forgetEnded} at every sweep.
 */
final class GrantClients {
  private static final Duration RENEW_BEFORE = Duration.ofMinutes(1);

  private final JitBroker broker;
  private final String apiServer;
  private final byte[] caPem;
  private final Clock clock;
  private final ConcurrentHashMap<GrantId, Entry> clients = new ConcurrentHashMap<>();

  GrantClients(JitBroker broker, String apiServer, String caPem, Clock clock) {
    this.broker = broker;
    this.apiServer = apiServer;
    this.caPem = caPem.getBytes(UTF_8);
    this.clock = clock;
  }

  /** A client for {@code grant}, as its holder; issues a new certificate when needed. */
  ApiClient forGrant(Grant grant) {
    Instant now = clock.instant();
    Entry e = clients.get(grant.id());
    if (e != null && now.isBefore(e.notAfter.minus(RENEW_BEFORE))) {
      return e.client;
    }
    Entry fresh = issue(grant);
    clients.put(grant.id(), fresh);
    return fresh.client;
  }

  /** Drops the client of grant {@code id} (its grant ended) and closes its idle connections. */
  void forget(GrantId id) {
    Entry e = clients.remove(id);
    if (e != null) {
      e.client.getHttpClient().connectionPool().evictAll();
    }
  }

  /** Drops every client whose certificate has ended at {@code now} (a grant that ended with no session open). */
  void forgetEnded(Instant now) {
    for (var it = clients.entrySet().iterator(); it.hasNext();) {
      var e = it.next();
      if (!now.isBefore(e.getValue().notAfter)) {
        forget(e.getKey());
      }
    }
  }

  /** Whether a client for grant {@code id} is held now. */
  boolean holds(GrantId id) {
    return clients.containsKey(id);
  }

  private Entry issue(Grant grant) {
    KeyPair kp;
    String csrPem;
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      kp = g.generateKeyPair();
      var csr = new JcaPKCS10CertificationRequestBuilder(new X500Principal("CN=" + grant.holder().user()), kp.getPublic())
          .build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate()));
      StringWriter w = new StringWriter();
      try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
        pw.writeObject(csr);
      }
      csrPem = w.toString();
    } catch (Exception e) {
      throw new IllegalStateException("cannot make the grant's key and CSR (" + e.getClass().getSimpleName() + ")", e);
    }
    List<IssuedCredential> issued = broker.reissue(grant.id(), grant.holder(), CredentialSpec.x509FromCsr(csrPem));
    IssuedCredential cert = issued.stream().filter(c -> c.ref().kind() == CredentialKind.X509_FROM_CSR)
        .findFirst().orElseThrow(() -> new IllegalStateException("the broker's issuer returned no X.509 certificate"));
    String keyPem = "-----BEGIN PRIVATE KEY-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(UTF_8)).encodeToString(kp.getPrivate().getEncoded())
        + "\n-----END PRIVATE KEY-----\n";
    try {
      ApiClient client = new ClientBuilder().setBasePath(apiServer).setVerifyingSsl(true).setCertificateAuthority(caPem)
          .setAuthentication(new ClientCertificateAuthentication(cert.material().getBytes(UTF_8), keyPem.getBytes(UTF_8)))
          .build();
      client.setHttpClient(client.getHttpClient().newBuilder().readTimeout(0, TimeUnit.SECONDS).build());
      return new Entry(client, cert.ref().notAfter());
    } catch (Exception e) {
      throw new IllegalStateException("cannot build the Kubernetes client for grant " + grant.id() + " ("
          + e.getClass().getSimpleName() + ")", e);
    }
  }

  private static final class Entry {
    final ApiClient client;
    final Instant notAfter;

    Entry(ApiClient client, Instant notAfter) {
      this.client = client;
      this.notAfter = notAfter;
    }
  }

  @Override
  public String toString() {
    return "GrantClients{" + apiServer + ", " + clients.size() + " grants}";
  }
}
