package dev.kubejit.api;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What credential a requester asks for at activation: its kind, the public material it binds to
 * (a PKCS#10 CSR in PEM, an OpenSSH public key line), and kind-specific options.
 *
 * <p>Never holds a private key: the private key stays with the engineer.
 */
public final class CredentialSpec {
  private final CredentialKind kind;
  private final String publicMaterial;
  private final ImmutableMap<String, String> options;

  private CredentialSpec(CredentialKind kind, String publicMaterial, Map<String, String> options) {
    this.kind = requireNonNull(kind, "kind");
    this.publicMaterial = publicMaterial;
    this.options = ImmutableMap.copyOf(options);
    for (Map.Entry<String, String> e : this.options.entrySet()) {
      Validation.requireName(e.getKey(), "option name");
      Validation.requireText(e.getValue(), "option " + e.getKey(), 4096);
    }
    boolean needsMaterial = kind == CredentialKind.X509_FROM_CSR || kind == CredentialKind.SSH_USER_CERTIFICATE;
    if (needsMaterial && (publicMaterial == null || publicMaterial.isBlank())) {
      throw new IllegalArgumentException(kind + " needs the requester's public material (CSR or public key)");
    }
    if (publicMaterial != null && publicMaterial.length() > 64 * 1024) {
      throw new IllegalArgumentException("public material is larger than 64 KiB");
    }
  }

  /** An X.509 client certificate for the CSR in {@code csrPem}. */
  public static CredentialSpec x509FromCsr(String csrPem) {
    return new CredentialSpec(CredentialKind.X509_FROM_CSR, csrPem, Map.of());
  }

  /** An OpenSSH user certificate for {@code publicKeyLine}, with options such as {@code force-command}. */
  public static CredentialSpec sshUserCertificate(String publicKeyLine, Map<String, String> options) {
    return new CredentialSpec(CredentialKind.SSH_USER_CERTIFICATE, publicKeyLine, options);
  }

  /** A credential of {@code kind} with optional public material and options. */
  public static CredentialSpec of(CredentialKind kind, String publicMaterial, Map<String, String> options) {
    return new CredentialSpec(kind, publicMaterial, options);
  }

  /** The credential kind. */
  public CredentialKind kind() {
    return kind;
  }

  /** The public material the credential binds to. */
  public Optional<String> publicMaterial() {
    return Optional.ofNullable(publicMaterial);
  }

  /** Kind-specific options. */
  public ImmutableMap<String, String> options() {
    return options;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CredentialSpec
        && ((CredentialSpec) o).kind == kind
        && Objects.equals(((CredentialSpec) o).publicMaterial, publicMaterial)
        && ((CredentialSpec) o).options.equals(options);
  }

  @Override
  public int hashCode() {
    return Objects.hash(kind, publicMaterial, options);
  }

  @Override
  public String toString() {
    return "CredentialSpec{" + kind + ", options=" + options.keySet() + "}";
  }
}
