package dev.kubejit.server;

import static java.util.Objects.requireNonNull;

import dev.kubejit.api.Identity;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/**
 * Mutual TLS: the identity is the client certificate's subject, CN the user and each O a group
 * (as Kubernetes reads client certificates). The TLS layer verified the chain against the client
 * CA; this checks again that the leaf is signed by one of those CAs and is valid now, so that an
 * embedding server that forgot to verify cannot let a self-signed certificate through.
 */
final class MtlsAuthenticator implements Authenticator {
  static final String SOURCE = "mtls";

  private final List<X509Certificate> cas;
  private final Clock clock;

  MtlsAuthenticator(List<X509Certificate> cas, Clock clock) {
    this.cas = List.copyOf(cas);
    this.clock = requireNonNull(clock, "clock");
  }

  @Override
  public Identity authenticate(Presented presented) {
    if (presented.clientCertificates().isEmpty()) {
      throw new AuthenticationException("expected a TLS client certificate issued by the configured client CA");
    }
    X509Certificate leaf = presented.clientCertificates().get(0);
    try {
      leaf.checkValidity(Date.from(clock.instant()));
    } catch (GeneralSecurityException e) {
      throw new AuthenticationException("the client certificate is expired or not yet valid");
    }
    boolean signed = false;
    for (X509Certificate ca : cas) {
      if (ca.getSubjectX500Principal().equals(leaf.getIssuerX500Principal())) {
        try {
          leaf.verify(ca.getPublicKey());
          signed = true;
          break;
        } catch (GeneralSecurityException e) {
          // not this CA
        }
      }
    }
    if (!signed) {
      throw new AuthenticationException("the client certificate is not issued by the configured client CA");
    }
    String user = null;
    List<String> groups = new ArrayList<>();
    try {
      for (Rdn rdn : new LdapName(leaf.getSubjectX500Principal().getName()).getRdns()) {
        if (rdn.getType().equalsIgnoreCase("CN")) {
          user = rdn.getValue().toString();
        } else if (rdn.getType().equalsIgnoreCase("O")) {
          groups.add(rdn.getValue().toString());
        }
      }
    } catch (InvalidNameException e) {
      throw new AuthenticationException("the client certificate subject cannot be read");
    }
    if (user == null || user.isBlank()) {
      throw new AuthenticationException("the client certificate has no CN (the user name)");
    }
    try {
      return Identity.of(user, groups).assertedBy(SOURCE);
    } catch (IllegalArgumentException e) {
      throw new AuthenticationException("the client certificate subject is not a valid identity: " + e.getMessage());
    }
  }

  @Override
  public String toString() {
    return "MtlsAuthenticator{cas=" + cas.size() + "}";
  }
}
