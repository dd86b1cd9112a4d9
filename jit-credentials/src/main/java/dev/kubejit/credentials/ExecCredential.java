package dev.kubejit.credentials;

import dev.kubejit.credentials.internal.Crypto;
import dev.kubejit.credentials.internal.X509Support;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.x500.AttributeTypeAndValue;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;

/**
 * Renders the {@code ExecCredential} JSON a kubectl exec plugin prints: {@code
 * clientCertificateData}, {@code clientKeyData} and an {@code expirationTimestamp} slightly before
 * the certificate's notAfter (one minute, or 10% of the lifetime if that is shorter) so kubectl
 * asks for a new credential in time. The certificate must be one X.509 certificate whose subject
 * CN and O values pass {@link dev.kubejit.api.PrincipalNames#check}: the names kubectl's user
 * will be known by are never invisible or look-alike text.
 */
public final class ExecCredential {
  /** The GA exec credential API version. */
  public static final String V1 = "client.authentication.k8s.io/v1";
  /** The beta API version, used when {@code KUBERNETES_EXEC_INFO} asks for it. */
  public static final String V1BETA1 = "client.authentication.k8s.io/v1beta1";
  private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().setPrettyPrinting().create();

  private ExecCredential() {}

  /**
   * Chooses the API version from the {@code KUBERNETES_EXEC_INFO} environment value: absent means
   * v1; otherwise its {@code apiVersion} must be v1 or v1beta1.
   *
   * @throws CredentialException if the value is malformed or asks for another version
   */
  public static String apiVersionFor(String kubernetesExecInfo) {
    if (kubernetesExecInfo == null || kubernetesExecInfo.isBlank()) {
      return V1;
    }
    String v;
    try {
      JsonElement e = JsonParser.parseString(kubernetesExecInfo);
      v = e.getAsJsonObject().get("apiVersion").getAsString();
    } catch (RuntimeException e) {
      throw new CredentialException("KUBERNETES_EXEC_INFO is not an ExecCredential JSON object with an apiVersion");
    }
    if (V1.equals(v) || V1BETA1.equals(v)) {
      return v;
    }
    throw new CredentialException("unsupported exec credential apiVersion " + Crypto.quote(v) + "; supported: " + V1 + ", " + V1BETA1);
  }

  /** When the credential should be considered expired: notAfter minus min(1 minute, 10% of the lifetime). */
  public static Instant expirationFor(Instant issuedAt, Instant notAfter) {
    Duration life = Duration.between(issuedAt, notAfter);
    Duration margin = life.dividedBy(10);
    if (margin.compareTo(Duration.ofMinutes(1)) > 0) {
      margin = Duration.ofMinutes(1);
    }
    return notAfter.minus(margin).truncatedTo(ChronoUnit.SECONDS);
  }

  /**
   * The ExecCredential JSON for a certificate and its private key (both PEM).
   *
   * @throws CredentialException if the version is unsupported, the certificate is not one
   *     well-formed certificate, or its subject's CN or an O is not an acceptable name
   */
  public static String json(String apiVersion, String certificatePem, String privateKeyPem, Instant issuedAt, Instant notAfter) {
    if (!V1.equals(apiVersion) && !V1BETA1.equals(apiVersion)) {
      throw new CredentialException("unsupported exec credential apiVersion " + Crypto.quote(apiVersion));
    }
    checkSubjectNames(X509Support.parseCertificate(certificatePem, "client certificate"));
    Map<String, Object> status = new LinkedHashMap<>();
    status.put("expirationTimestamp", DateTimeFormatter.ISO_INSTANT.format(expirationFor(issuedAt, notAfter)));
    status.put("clientCertificateData", certificatePem);
    status.put("clientKeyData", privateKeyPem);
    JsonObject o = new JsonObject();
    o.addProperty("apiVersion", apiVersion);
    o.addProperty("kind", "ExecCredential");
    o.add("spec", new JsonObject());
    o.add("status", GSON.toJsonTree(status));
    return GSON.toJson(o) + "\n";
  }

  /** Refuses a certificate whose CN or an O (the Kubernetes user and groups) is not an acceptable name. */
  static void checkSubjectNames(X509Certificate certificate) {
    X500Name subject = X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded());
    for (RDN rdn : subject.getRDNs()) {
      for (AttributeTypeAndValue atv : rdn.getTypesAndValues()) {
        boolean cn = BCStyle.CN.equals(atv.getType());
        if (!cn && !BCStyle.O.equals(atv.getType())) {
          continue;
        }
        if (!(atv.getValue() instanceof ASN1String)) {
          throw new CredentialException("client certificate subject has a non-string " + (cn ? "CN" : "O"));
        }
        Crypto.principal(((ASN1String) atv.getValue()).getString(), "client certificate " + (cn ? "CN (user)" : "O (group)"));
      }
    }
  }

  /** The ExecCredential JSON for a certificate issued with a server- or locally generated key. */
  public static String json(String apiVersion, IssuedCertificate cert) {
    return json(apiVersion, cert.certificatePem(), cert.privateKeyPem(), cert.issuedAt(), cert.notAfter());
  }
}
