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
 *
 * <p>For the SSH gateway, {@code activate --ssh} or {@code --ssh-key FILE.pub} also sends an OpenSSH
 * public key: the KubeJIT SSH key ({@code keys/ssh_ed25519}, Ed25519, OpenSSH format, 0600, created
 * once), the engineer's own public key file, or the PKCS#11 token key's public key. The user
 * certificate the broker returns is written next to the key as {@code <key>-<grant>-cert.pub}
 * (for a token key: {@code keys/pkcs11-<grant>-cert.pub}, with the token key's public key in {@code
 * keys/pkcs11-<grant>.pub}, which OpenSSH needs as the {@code IdentityFile} to use a PKCS#11 key
 * under {@code IdentitiesOnly}), and {@code cache/<grant>.ssh} records
 * where it is, which identity goes with it and the principal, for {@code kubejit ssh config}.
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

  /** The KubeJIT SSH key (private part; {@code .pub} beside it). */
  Path sshKeyFile() {
    return home.keysDir().resolve("ssh_ed25519");
  }

  /** Where {@code kubejit activate} records a grant's SSH certificate and identity. */
  Path sshCacheFile(String grantId) {
    return home.cacheDir().resolve(GrantId.parse(grantId).value() + ".ssh");
  }

  /** The identity an SSH certificate is for: a key file (or just its public half), or a key in a PKCS#11 token. */
  record SshIdentity(String publicKeyLine, Path identityFile, String pkcs11Provider, Path certificateBase) {
    /** The certificate file for {@code grantId}: next to the key. */
    Path certificateFile(String grantId) {
      return certificateBase.resolveSibling(certificateBase.getFileName() + "-" + GrantId.parse(grantId).value() + "-cert.pub");
    }

    String describe() {
      return pkcs11Provider != null ? "the key in your PKCS#11 token" : "your key " + identityFile;
    }
  }

  /** The KubeJIT SSH key, created (Ed25519, OpenSSH private key format, 0600) the first time. */
  SshIdentity kubejitSshKey() {
    Path key = sshKeyFile();
    Path pub = key.resolveSibling(key.getFileName() + ".pub");
    if (!Files.exists(key) || !Files.exists(pub)) {
      if (Files.exists(key) || Files.exists(pub)) {
        throw new CliException("only one of " + key + " and " + pub + " exists; remove both to create a new SSH key");
      }
      ClientHome.privateDir(home.keysDir());
      String[] pair = OpenSshKeys.generateEd25519("kubejit");
      ClientHome.writePrivate(key, pair[0]);
      ClientHome.writePrivate(pub, pair[1] + "\n");
    }
    ClientHome.readPrivate(key); // refuses a key file others can read
    return new SshIdentity(ClientHome.readPrivate(pub).strip(), key, null, key);
  }

  /** The engineer's own OpenSSH public key file ({@code id_ecdsa.pub}); the private key is next to it (or in an agent). */
  static SshIdentity publicKeyFile(Path pubFile) {
    Path abs = pubFile.toAbsolutePath().normalize();
    String name = abs.getFileName().toString();
    if (!name.endsWith(".pub")) {
      throw new CliException("--ssh-key takes the public key file (FILE.pub), not " + abs, 64);
    }
    String line;
    try {
      line = Files.readString(abs, StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      throw new CliException("cannot read " + abs + ": " + e.getMessage(), 64);
    }
    if (line.isEmpty() || line.contains("\n") || line.startsWith("-----")) {
      throw new CliException(abs + " is not an OpenSSH public key line (ssh-ed25519 AAAA...)", 64);
    }
    Path base = abs.resolveSibling(name.substring(0, name.length() - ".pub".length()));
    return new SshIdentity(line, base, null, base);
  }

  /** The PKCS#11 token's key: its public key in OpenSSH form; ssh reaches the private key through the module. */
  SshIdentity pkcs11(Pkcs11Key token) {
    return new SshIdentity(OpenSshKeys.publicKeyLine(token.publicKey(), "kubejit-pkcs11"), null, token.modulePath(),
        home.keysDir().resolve("pkcs11"));
  }

  /** Writes the SSH certificate of an activation answer next to its key and records it; returns the certificate file. */
  Path storeSsh(JsonNode grant, JsonNode credentials, SshIdentity identity) {
    String line = null;
    for (JsonNode c : credentials) {
      if ("ssh".equals(c.path("kind").asText())) {
        line = c.path("certificate").asText().strip();
      }
    }
    if (line == null || line.isBlank() || line.contains("\n") || !line.contains("-cert-v01@openssh.com ")) {
      throw new CliException("the broker returned no OpenSSH user certificate", BrokerClient.EXIT_SERVER);
    }
    if (!OpenSshKeys.certifies(line, identity.publicKeyLine())) {
      throw new CliException("the broker's SSH certificate is not for the key that was sent; not kept", BrokerClient.EXIT_SERVER);
    }
    String g = Output.text(grant, "id");
    Path cert = identity.certificateFile(g);
    ClientHome.writePrivate(cert, line.strip() + "\n");
    java.util.Properties p = new java.util.Properties();
    p.setProperty("certificateFile", cert.toString());
    if (identity.pkcs11Provider() != null) {
      // OpenSSH with IdentitiesOnly uses a PKCS#11 key only when an IdentityFile holds its public key
      Path pub = identity.certificateBase().resolveSibling(identity.certificateBase().getFileName() + "-" + g + ".pub");
      ClientHome.writePrivate(pub, identity.publicKeyLine() + "\n");
      p.setProperty("pkcs11Provider", identity.pkcs11Provider());
      p.setProperty("identityFile", pub.toString());
    } else {
      p.setProperty("identityFile", identity.identityFile().toString());
    }
    p.setProperty("user", Output.text(grant, "holder"));
    java.io.StringWriter w = new java.io.StringWriter();
    try {
      p.store(w, "kubejit activate: the SSH certificate of grant " + g);
    } catch (IOException impossible) {
      throw new IllegalStateException(impossible);
    }
    ClientHome.privateDir(home.cacheDir());
    ClientHome.writePrivate(sshCacheFile(g), w.toString());
    return cert;
  }

  /** What {@link #storeSsh} recorded for {@code grantId}, or null. */
  java.util.Properties sshEntry(String grantId) {
    Path f = sshCacheFile(grantId);
    if (!Files.exists(f)) {
      return null;
    }
    java.util.Properties p = new java.util.Properties();
    try {
      p.load(new java.io.StringReader(ClientHome.readPrivate(f)));
    } catch (IOException | IllegalArgumentException e) {
      throw new CliException(f + " is not a properties file: " + e.getMessage());
    }
    return p;
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
