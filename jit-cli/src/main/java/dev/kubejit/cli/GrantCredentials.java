package dev.kubejit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kubejit.api.GrantId;
import dev.kubejit.credentials.EngineerKey;
import dev.kubejit.credentials.ExecCredential;
import dev.kubejit.credentials.KeyType;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;

/**
 * The engineer's key and the certificates for grants, on the engineer's machine.
 *
 * <p>The key ({@code keys/x509.key}, ECDSA P-256, PKCS#8, 0600) is created once, with its CSR
 * ({@code keys/x509.csr}), by {@link EngineerKey}; only the CSR is ever sent to the broker. A
 * certificate the broker issues for a grant is cached in {@code cache/<grant>.json} (0600) with
 * the grant's request id, and used until shortly before it expires ({@link
 * ExecCredential#expirationFor}); while it is cached, each use asks the broker whether the request
 * is still ACTIVE, so a revoked grant fails at once with the broker's message (who revoked it).
 */
final class GrantCredentials {
  /** kube-apiserver accepts ECDSA P-256 client certificates (and Go's TLS everywhere does). */
  static final KeyType KEY_TYPE = KeyType.ECDSA_P256;

  private final ClientHome home;
  private final Clock clock;

  GrantCredentials(ClientHome home, Clock clock) {
    this.home = home;
    this.clock = clock;
  }

  Path keyFile() {
    return home.keysDir().resolve("x509.key");
  }

  Path csrFile() {
    return home.keysDir().resolve("x509.csr");
  }

  /** The CSR of the engineer's key, creating key and CSR the first time. */
  String csr() {
    Path key = keyFile();
    Path csr = csrFile();
    if (Files.exists(key) && Files.exists(csr)) {
      return ClientHome.readPrivate(csr);
    }
    if (Files.exists(key) || Files.exists(csr)) {
      throw new CliException("only one of " + key + " and " + csr + " exists; remove both to create a new key");
    }
    ClientHome.privateDir(home.keysDir());
    EngineerKey k = EngineerKey.create(KEY_TYPE, key);
    ClientHome.writePrivate(csr, k.csrPem());
    return k.csrPem();
  }

  String privateKeyPem() {
    if (!Files.exists(keyFile())) {
      throw new CliException("no key in " + keyFile() + "; run: kubejit activate REQUEST");
    }
    return ClientHome.readPrivate(keyFile());
  }

  Path cacheFile(String grantId) {
    return home.cacheDir().resolve(GrantId.parse(grantId).value() + ".json");
  }

  /** The certificate cached for {@code grantId} by {@code kubejit activate}. */
  X509Certificate cachedCertificate(String grantId) {
    Path cache = cacheFile(grantId);
    if (!Files.exists(cache)) {
      throw new CliException("no certificate for grant " + grantId + " in " + cache + "; run: kubejit activate REQUEST",
          BrokerClient.EXIT_NOT_FOUND);
    }
    try {
      return certificate(BrokerClient.JSON.readTree(ClientHome.readPrivate(cache)).path("certificate").asText(""));
    } catch (IOException e) {
      throw new CliException(cache + " is not a certificate cache entry");
    }
  }

  /** Caches the x509 certificate of an activation or reissue answer; returns its PEM. */
  String store(JsonNode grant, JsonNode credentials) {
    String pem = null;
    for (JsonNode c : credentials) {
      if ("x509".equals(c.path("kind").asText())) {
        pem = c.path("certificate").asText();
      }
    }
    if (pem == null || pem.isEmpty()) {
      throw new CliException("the broker returned no X.509 certificate", BrokerClient.EXIT_SERVER);
    }
    certificate(pem);
    ObjectNode entry = BrokerClient.object("grant", Output.text(grant, "id"), "requestId", Output.text(grant, "requestId"),
        "certificate", pem);
    ClientHome.privateDir(home.cacheDir());
    ClientHome.writePrivate(cacheFile(Output.text(grant, "id")), entry.toString());
    return pem;
  }

  /**
   * The ExecCredential JSON for {@code grantId}: the cached certificate when it is fresh and the
   * request is still ACTIVE, otherwise a new one from the broker; a grant that ended fails with the
   * broker's message.
   */
  String execCredential(BrokerClient broker, String grantId, String apiVersion) {
    String keyPem = privateKeyPem();
    Path cache = cacheFile(grantId);
    String pem = null;
    if (Files.exists(cache)) {
      JsonNode entry;
      try {
        entry = BrokerClient.JSON.readTree(ClientHome.readPrivate(cache));
      } catch (IOException e) {
        entry = BrokerClient.JSON.createObjectNode();
      }
      String cached = entry.path("certificate").asText("");
      String requestId = entry.path("requestId").asText("");
      if (!cached.isEmpty() && !requestId.isEmpty() && fresh(certificate(cached))) {
        JsonNode request = broker.get("/api/v1/requests/" + BrokerClient.enc(requestId));
        if ("ACTIVE".equals(request.path("state").asText())) {
          pem = cached;
        }
      }
      if (pem == null) {
        delete(cache);
      }
    }
    if (pem == null) {
      JsonNode answer = broker.post("/api/v1/grants/" + BrokerClient.enc(GrantId.parse(grantId).value()) + "/credentials",
          BrokerClient.object("csr", csr()));
      pem = store(answer.path("grant"), answer.path("credentials"));
    }
    X509Certificate c = certificate(pem);
    return ExecCredential.json(apiVersion, pem, keyPem, c.getNotBefore().toInstant(), c.getNotAfter().toInstant());
  }

  boolean fresh(X509Certificate c) {
    Instant refreshAt = ExecCredential.expirationFor(c.getNotBefore().toInstant(), c.getNotAfter().toInstant());
    return clock.instant().isBefore(refreshAt);
  }

  static X509Certificate certificate(String pem) {
    try {
      return (X509Certificate) CertificateFactory.getInstance("X.509")
          .generateCertificate(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
    } catch (CertificateException | ClassCastException e) {
      throw new CliException("the broker returned a certificate that does not parse: " + e.getMessage(), BrokerClient.EXIT_SERVER);
    }
  }

  private static void delete(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException e) {
      throw new CliException("cannot remove " + p + ": " + e.getMessage());
    }
  }
}
