package dev.kubejit.credentials.internal;

import dev.kubejit.api.CredentialKind;
import dev.kubejit.credentials.IssuedCertificate;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Creates {@link IssuedCertificate} results for issuers outside {@code dev.kubejit.credentials}
 * (the Kubernetes CSR issuer) without giving the class a public constructor: {@code
 * IssuedCertificate} hands its factory over once, when it is initialised.
 *
 * <p><b>Internal:</b> public only so that the jit-credentials-* artifacts share it; not an API,
 * may change in any release.
 */
public final class IssuedCertificates {
  /** The constructor of {@link IssuedCertificate}, as {@code IssuedCertificate} registers it. */
  @FunctionalInterface
  public interface Factory {
    /** Creates the result; see {@link IssuedCertificates#create}. */
    IssuedCertificate create(X509Certificate certificate, CredentialKind kind, String user, List<String> groups,
        Instant issuedAt, Duration requestedTtl, String clampReason, PrivateKey generatedKey);
  }

  private static volatile Factory factory;

  private IssuedCertificates() {}

  /**
   * Registers the factory; called by {@code IssuedCertificate}'s static initialiser only.
   *
   * @throws IllegalStateException on a second call
   */
  public static synchronized void register(Factory f) {
    if (factory != null) {
      throw new IllegalStateException("the IssuedCertificate factory is already registered");
    }
    factory = f;
  }

  /** Creates a result for a certificate some issuer signed; {@code clampReason} and {@code generatedKey} may be null. */
  public static IssuedCertificate create(X509Certificate certificate, CredentialKind kind, String user, List<String> groups,
      Instant issuedAt, Duration requestedTtl, String clampReason, PrivateKey generatedKey) {
    Factory f = factory;
    if (f == null) {
      try {
        Class.forName(IssuedCertificate.class.getName(), true, IssuedCertificate.class.getClassLoader());
      } catch (ClassNotFoundException e) {
        throw new IllegalStateException(e);
      }
      f = factory;
    }
    return f.create(certificate, kind, user, groups, issuedAt, requestedTtl, clampReason, generatedKey);
  }
}
