package dev.kubejit.cli;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.net.URLDecoder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.Security;
import java.security.cert.Certificate;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * The engineer's key in a PKCS#11 token (a smart card, a YubiKey's PIV applet, an HSM, SoftHSM2),
 * named by an RFC 7512 URI and used through the JDK's SunPKCS11 provider: the private key is a
 * handle, every signature (the CSR's, the TLS handshake's) is made inside the token, and nothing
 * here can read the key out.
 *
 * <p>URI grammar accepted (RFC 7512 §2.3; attributes not listed are refused):
 * {@code pkcs11:object=LABEL[;token=LABEL][;slot-id=N]?module-path=/abs/lib.so&pin-source=file:/abs/pin}.
 * {@code object} is the key's label, which SunPKCS11's key store uses as the alias; the token must
 * also hold a certificate with the key's {@code CKA_ID} (SunPKCS11 shows only private keys that have
 * one; it need not be the grant's certificate). Without {@code slot-id} the first slot with a token
 * is used — SunPKCS11 cannot select a token by label, so {@code token} is accepted but not checked.
 * The PIN comes from {@code pin-source} (a 0600 file) only; {@code pin-value} is refused, so that no
 * PIN sits in a kubeconfig or a shell history.
 *
 * <p>Design notes: one SunPKCS11 provider instance per URI is configured inline and added to the JCA
 * providers, because JSSE picks the signature provider by the key it is given (delayed provider
 * selection) and only considers installed providers.
 */
final class Pkcs11Key {
  private static final Set<String> PATH_ATTRIBUTES = Set.of("object", "token", "slot-id", "type");
  private static final Set<String> QUERY_ATTRIBUTES = Set.of("module-path", "pin-source");

  private final String uri;
  private final String object;
  private final String modulePath;
  private final Provider provider;
  private final PrivateKey privateKey;
  private final PublicKey publicKey;

  private Pkcs11Key(String uri, String object, String modulePath, Provider provider, PrivateKey privateKey,
      PublicKey publicKey) {
    this.uri = uri;
    this.object = object;
    this.modulePath = modulePath;
    this.provider = provider;
    this.privateKey = privateKey;
    this.publicKey = publicKey;
  }

  static boolean isUri(String text) {
    return text != null && text.regionMatches(true, 0, "pkcs11:", 0, 7);
  }

  /** Opens the key the URI names; fails with a message naming what is wrong (never the PIN). */
  static Pkcs11Key open(String uri) {
    Map<String, String> path = new LinkedHashMap<>();
    Map<String, String> query = new LinkedHashMap<>();
    parse(uri, path, query);
    String object = path.get("object");
    if (object == null) {
      throw new CliException("the PKCS#11 URI names no object (the key's label): " + CredentialCommand.oneLine(uri), 64);
    }
    if (path.containsKey("type") && !"private".equals(path.get("type"))) {
      throw new CliException("the PKCS#11 URI must name a private key (type=private), not type="
          + CredentialCommand.oneLine(path.get("type")), 64);
    }
    String module = query.get("module-path");
    if (module == null || !Path.of(module).isAbsolute() || !Files.isRegularFile(Path.of(module))) {
      throw new CliException("the PKCS#11 URI needs module-path=/absolute/path/to/the/module.so (got "
          + CredentialCommand.oneLine(String.valueOf(module)) + ")", 64);
    }
    char[] pin = pin(query.get("pin-source"));
    StringBuilder config = new StringBuilder("--name=kubejit-").append(Integer.toHexString(uri.hashCode()))
        .append("\nlibrary=").append(module).append('\n');
    if (path.containsKey("slot-id")) {
      if (!path.get("slot-id").matches("[0-9]{1,19}")) {
        throw new CliException("slot-id must be a decimal number: " + CredentialCommand.oneLine(path.get("slot-id")), 64);
      }
      config.append("slot=").append(path.get("slot-id")).append('\n');
    } else {
      config.append("slotListIndex=0\n");
    }
    Provider base = Security.getProvider("SunPKCS11");
    if (base == null) {
      throw new CliException("this Java runtime has no SunPKCS11 provider (module jdk.crypto.cryptoki)", 1);
    }
    Provider p;
    try {
      p = base.configure(config.toString());
    } catch (RuntimeException e) {
      throw new CliException("cannot load the PKCS#11 module " + module + ": " + rootMessage(e), 1);
    }
    Provider installed = Security.getProvider(p.getName());
    if (installed != null) {
      p = installed;
    } else {
      Security.addProvider(p);
    }
    try {
      KeyStore ks = KeyStore.getInstance("PKCS11", p);
      ks.load(null, pin);
      if (!ks.isKeyEntry(object)) {
        throw new CliException("the PKCS#11 token has no private key labelled " + CredentialCommand.oneLine(object)
            + " with a certificate of the same CKA_ID (SunPKCS11 shows only those)", 1);
      }
      PrivateKey key = (PrivateKey) ks.getKey(object, null);
      Certificate cert = ks.getCertificate(object);
      return new Pkcs11Key(uri, object, module, p, key, cert.getPublicKey());
    } catch (IOException e) {
      throw new CliException("cannot log in to the PKCS#11 token (wrong PIN?): " + rootMessage(e), BrokerClient.EXIT_UNAUTHENTICATED);
    } catch (GeneralSecurityException e) {
      throw new CliException("cannot read the PKCS#11 token: " + rootMessage(e), 1);
    } finally {
      java.util.Arrays.fill(pin, '\0');
    }
  }

  private static void parse(String uri, Map<String, String> path, Map<String, String> query) {
    if (!isUri(uri)) {
      throw new CliException("not a PKCS#11 URI (RFC 7512): " + CredentialCommand.oneLine(String.valueOf(uri)), 64);
    }
    String rest = uri.substring(7);
    int q = rest.indexOf('?');
    String p = q < 0 ? rest : rest.substring(0, q);
    String qs = q < 0 ? "" : rest.substring(q + 1);
    attributes(p, ";", PATH_ATTRIBUTES, path, uri);
    attributes(qs, "&", QUERY_ATTRIBUTES, query, uri);
  }

  private static void attributes(String part, String sep, Set<String> allowed, Map<String, String> into, String uri) {
    if (part.isEmpty()) {
      return;
    }
    for (String a : part.split(sep, -1)) {
      int eq = a.indexOf('=');
      String name = eq < 0 ? a : a.substring(0, eq).toLowerCase(Locale.ROOT);
      if (eq <= 0 || !allowed.contains(name)) {
        throw new CliException("unsupported PKCS#11 URI attribute " + CredentialCommand.oneLine(name) + " (supported: "
            + PATH_ATTRIBUTES + " and ?" + QUERY_ATTRIBUTES + "; pin-value is refused, use pin-source)", 64);
      }
      if (into.containsKey(name)) {
        throw new CliException("PKCS#11 URI attribute " + name + " given twice", 64);
      }
      String v = URLDecoder.decode(a.substring(eq + 1).replace("+", "%2B"), UTF_8);
      into.put(name, v);
    }
  }

  private static char[] pin(String source) {
    if (source == null || !source.startsWith("file:")) {
      throw new CliException("the PKCS#11 URI needs pin-source=file:/path/to/a/0600/pin-file", 64);
    }
    String file = source.startsWith("file://") ? source.substring(7) : source.substring(5);
    String text = ClientHome.readPrivate(Path.of(file));
    String line = text.lines().findFirst().orElse("");
    if (line.isEmpty()) {
      throw new CliException("the PIN file " + file + " is empty", 64);
    }
    return line.toCharArray();
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return CredentialCommand.oneLine(t.getClass().getSimpleName() + ": " + t.getMessage());
  }

  /** A PKCS#10 CSR (empty subject, as {@code EngineerKey}'s) signed inside the token. */
  String csrPem() {
    String alg = switch (publicKey.getAlgorithm()) {
      case "EC" -> "SHA256withECDSA";
      case "RSA" -> "SHA256withRSA";
      default -> throw new CliException("the token key is " + publicKey.getAlgorithm() + "; only EC and RSA keys sign CSRs", 1);
    };
    try {
      byte[] der = new JcaPKCS10CertificationRequestBuilder(new X500Name(new RDN[0]), publicKey)
          .build(new JcaContentSignerBuilder(alg).setProvider(provider).build(privateKey)).getEncoded();
      return "-----BEGIN CERTIFICATE REQUEST-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(UTF_8)).encodeToString(der)
          + "\n-----END CERTIFICATE REQUEST-----\n";
    } catch (OperatorCreationException | IOException e) {
      throw new CliException("the PKCS#11 token could not sign the CSR: " + rootMessage(e), 1);
    }
  }

  PrivateKey privateKey() {
    return privateKey;
  }

  PublicKey publicKey() {
    return publicKey;
  }

  String uri() {
    return uri;
  }

  /** The PKCS#11 module's absolute path (for OpenSSH's {@code PKCS11Provider}). */
  String modulePath() {
    return modulePath;
  }

  @Override
  public String toString() {
    return "Pkcs11Key[" + CredentialCommand.oneLine(object) + " via " + provider.getName() + "]";
  }
}
