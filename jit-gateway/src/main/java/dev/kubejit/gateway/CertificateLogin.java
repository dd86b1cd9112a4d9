package dev.kubejit.gateway;

import dev.kubejit.api.Grant;
import dev.kubejit.api.Identity;
import dev.kubejit.api.JitBroker;
import dev.kubejit.api.RequestRecord;
import dev.kubejit.api.RequestState;
import dev.kubejit.credentials.CredentialException;
import dev.kubejit.credentials.ssh.SshCertificateVerifier;
import dev.kubejit.credentials.ssh.SshUserCertificate;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.security.PublicKey;
import java.time.Clock;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import org.apache.sshd.common.config.keys.OpenSshCertificate;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.server.auth.pubkey.PublickeyAuthenticator;
import org.apache.sshd.server.session.ServerSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Certificate-only public key authentication. MINA has already refused non-user certificates,
 * bad CA signatures and certificates outside their validity by the system clock; this checks
 * everything again with the gateway's clock through the shared {@link SshCertificateVerifier}
 * (trusted CA, validity, principal = SSH user name, source-address, unknown critical options),
 * refuses {@code force-command} and {@code verify-required} (the gateway cannot honour them), reads
 * the grant from the key id and requires it to be active, held by the principal and scoped to this
 * gateway's cluster and a namespace. A plain key is refused. Every refusal is audited with its rule;
 * the accepted login is stored on the session and audited once the session is authenticated.
 */
final class CertificateLogin implements PublickeyAuthenticator {
  private static final Logger log = LoggerFactory.getLogger(CertificateLogin.class);

  private final SshCertificateVerifier verifier;
  private final JitBroker broker;
  private final GatewayAudit audit;
  private final Clock clock;
  private final String cluster;
  private final GatewayCounters counters;

  CertificateLogin(SshCertificateVerifier verifier, JitBroker broker, GatewayAudit audit, Clock clock, String cluster,
      GatewayCounters counters) {
    this.counters = counters;
    this.verifier = verifier;
    this.broker = broker;
    this.audit = audit;
    this.clock = clock;
    this.cluster = cluster;
  }

  @Override
  public boolean authenticate(String username, PublicKey key, ServerSession session) {
    String source = address(session.getRemoteAddress());
    Map<String, String> conn = Map.of("sshUser", Text.quote(String.valueOf(username)), "sourceAddress", source,
        "sshSessionId", sessionId(session));
    if (!(key instanceof OpenSshCertificate)) {
      return refuse(null, null, "gateway:certificate-required",
          "plain public keys are refused; log in with a KubeJIT SSH certificate", conn);
    }
    OpenSshCertificate raw = (OpenSshCertificate) key;
    String serial = Long.toUnsignedString(raw.getSerial(), 16);
    Map<String, String> withCert = new java.util.HashMap<>(conn);
    withCert.put("certificateSerial", serial);
    withCert.put("certificateKeyId", Text.quote(String.valueOf(raw.getId())));
    SshUserCertificate cert;
    try {
      cert = verifier.verify(PublicKeyEntry.toString(raw), username, inet(session.getRemoteAddress()));
    } catch (CredentialException e) {
      return refuse(null, null, "gateway:certificate", e.getMessage(), withCert);
    } catch (RuntimeException e) {
      return refuse(null, null, "gateway:certificate", "unreadable certificate (" + e.getClass().getSimpleName() + ")",
          withCert);
    }
    for (String option : cert.criticalOptions().keySet()) {
      if (!"source-address".equals(option)) {
        return refuse(null, null, "gateway:critical-option", "critical option " + Text.quote(option)
            + " cannot be honoured by the gateway; refused", withCert);
      }
    }
    GrantKeyId id;
    try {
      id = GrantKeyId.parse(cert.keyId());
    } catch (IllegalArgumentException e) {
      return refuse(null, null, "gateway:key-id", e.getMessage(), withCert);
    }
    Optional<RequestRecord> found;
    try {
      found = broker.findByGrant(id.grant);
    } catch (RuntimeException e) {
      log.warn("grant lookup for {} failed; refusing login: {}", id.grant, e.toString());
      return refuse(null, null, "gateway:store", "the grant store failed; refused", withCert);
    }
    if (found.isEmpty() || found.get().grant().isEmpty()) {
      return refuse(null, null, "broker:unknown-grant", "grant " + id.grant + " is unknown", withCert);
    }
    RequestRecord rec = found.get();
    Grant grant = rec.grant().get();
    Identity principal;
    try {
      principal = Identity.of(username).assertedBy("ssh-certificate");
    } catch (IllegalArgumentException e) {
      return refuse(null, rec, "gateway:principal", "user name " + Text.quote(username) + " is not valid", withCert);
    }
    Optional<String> problem = GrantCheck.problem(rec, grant, principal, cluster, clock.instant());
    if (problem.isPresent()) {
      String[] ruleAndReason = problem.get().split(" ", 2);
      return refuse(null, rec, ruleAndReason[0], ruleAndReason[1], withCert);
    }
    if (!PrincipalCheck.same(id.user, username)) {
      return refuse(null, rec, "gateway:key-id", "key id names user " + Text.quote(id.user) + ", not "
          + Text.quote(username), withCert);
    }
    Login login = new Login(grant.id(), rec.id(), grant.holder(), username, serial, cert.keyId(),
        cert.publicKeyFingerprint(), source, cert.validBefore());
    session.setAttribute(Login.KEY, login);
    return true;
  }

  private boolean refuse(Login login, RequestRecord rec, String rule, String reason, Map<String, String> attributes) {
    log.info("SSH login refused by {}: {} {}", rule, reason, attributes);
    counters.connectionRefused(rule);
    try {
      audit.write(audit.refusal("connect", login, rec, rule, reason), attributes);
    } catch (RuntimeException e) {
      log.error("could not audit a refused login: {}", e.toString());
    }
    return false;
  }

  static String sessionId(ServerSession session) {
    byte[] id = session.getSessionId();
    return id == null ? "" : HexFormat.of().formatHex(id);
  }

  static String address(SocketAddress a) {
    if (a instanceof InetSocketAddress) {
      InetSocketAddress i = (InetSocketAddress) a;
      return (i.getAddress() == null ? i.getHostString() : i.getAddress().getHostAddress()) + ":" + i.getPort();
    }
    return String.valueOf(a);
  }

  private static InetAddress inet(SocketAddress a) {
    return a instanceof InetSocketAddress ? ((InetSocketAddress) a).getAddress() : null;
  }

  /** The grant checks made at login and again before every command and by the expiry watch. */
  static final class GrantCheck {
    private GrantCheck() {}

    /** Returns {@code "<rule> <reason>"} when the grant may not be used now, empty when it may. */
    static Optional<String> problem(RequestRecord rec, Grant grant, Identity user, String cluster, Instant now) {
      if (rec.state() != RequestState.ACTIVE) {
        StringBuilder m = new StringBuilder("broker:grant-state grant ").append(grant.id()).append(" is ")
            .append(rec.state().name().toLowerCase(java.util.Locale.ROOT));
        rec.endedBy().ifPresent(by -> m.append(" by ").append(by.user()));
        rec.endReason().ifPresent(r -> m.append(": ").append(r));
        return Optional.of(m.toString());
      }
      if (!grant.isActiveAt(now)) {
        return Optional.of("broker:grant-expiry grant " + grant.id() + " is not active now; its window is "
            + grant.grantedAt() + " to " + grant.expiresAt());
      }
      if (!user.samePerson(grant.holder())) {
        return Optional.of("broker:holder " + Text.quote(user.user()) + " does not hold grant " + grant.id());
      }
      if (!grant.scope().cluster().equals(cluster)) {
        return Optional.of("gateway:cluster grant " + grant.id() + " is for cluster " + grant.scope().cluster()
            + ", this gateway serves " + cluster);
      }
      if (grant.scope().namespace().isEmpty()) {
        return Optional.of("gateway:namespace-scope grant " + grant.id()
            + " has no namespace; the gateway serves namespaced grants only");
      }
      return Optional.empty();
    }
  }

  /** Principal comparison as the broker does it (normalised), kept in one place. */
  static final class PrincipalCheck {
    private PrincipalCheck() {}

    static boolean same(String a, String b) {
      return dev.kubejit.api.PrincipalNames.same(a, b);
    }
  }
}
