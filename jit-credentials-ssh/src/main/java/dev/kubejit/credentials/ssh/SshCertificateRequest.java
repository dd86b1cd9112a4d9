package dev.kubejit.credentials.ssh;

import dev.kubejit.credentials.CredentialException;
import dev.kubejit.credentials.internal.Crypto;
import dev.kubejit.credentials.internal.X509Support;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableSortedSet;
import dev.kubejit.api.PrincipalNames;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What an OpenSSH user certificate should say: the user's public key, a key id, at least one
 * principal, a TTL, optional {@code force-command} and {@code source-address} critical options, and
 * explicitly chosen extensions (none by default).
 *
 * <p>Strict: empty principals (valid for any user in OpenSSH), principals that fail {@link
 * PrincipalNames#check} or hold spaces, commas, wildcards or non-ASCII characters, a key id whose
 * parts fail {@link PrincipalNames#check}, a missing TTL ("forever"), unknown extensions and
 * malformed CIDRs are all refused when the request is built. Reserved principals ({@code root},
 * {@code system:*}, ...) are refused by the {@link SshCertificateAuthority} when it signs. See
 * OpenSSH {@code PROTOCOL.certkeys}.
 */
public final class SshCertificateRequest {
  /** Extensions OpenSSH defines for user certificates. */
  static final Set<String> KNOWN_EXTENSIONS = Set.of("permit-X11-forwarding", "permit-agent-forwarding",
      "permit-port-forwarding", "permit-pty", "permit-user-rc", "no-touch-required");
  private static final Pattern PRINCIPAL = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._@+:=-]{0,255}");
  private static final Pattern IPV4 = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");
  private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]{2,45}");

  private final String publicKeyLine;
  private final String keyId;
  private final ImmutableList<String> principals;
  private final Duration ttl;
  private final String forceCommand;
  private final ImmutableList<String> sourceAddresses;
  private final ImmutableSortedSet<String> extensions;

  private SshCertificateRequest(Builder b) {
    this.publicKeyLine = b.publicKeyLine;
    this.keyId = b.keyId;
    this.principals = ImmutableList.copyOf(b.principals);
    this.ttl = b.ttl;
    this.forceCommand = b.forceCommand;
    this.sourceAddresses = ImmutableList.copyOf(b.sourceAddresses);
    this.extensions = ImmutableSortedSet.copyOf(b.extensions);
  }

  /** Returns a builder; public key, key id, at least one principal and the TTL are required. */
  public static Builder builder() {
    return new Builder();
  }

  /** The user's OpenSSH public key line. */
  public String publicKeyLine() {
    return publicKeyLine;
  }

  /** The key id sshd logs on login. */
  public String keyId() {
    return keyId;
  }

  /** The principals (login names the certificate is valid for), never empty. */
  public ImmutableList<String> principals() {
    return principals;
  }

  /** The requested validity. */
  public Duration ttl() {
    return ttl;
  }

  /** The forced command, if any. */
  public Optional<String> forceCommand() {
    return Optional.ofNullable(forceCommand);
  }

  /** The allowed source CIDRs, empty for no restriction. */
  public ImmutableList<String> sourceAddresses() {
    return sourceAddresses;
  }

  /** The extensions, sorted; empty by default. */
  public ImmutableSortedSet<String> extensions() {
    return extensions;
  }

  @Override
  public String toString() {
    return "SshCertificateRequest{keyId=" + Crypto.quote(keyId) + ", principals=" + Crypto.quoteAll(principals) + ", ttl=" + ttl
        + (forceCommand != null ? ", force-command=" + Crypto.quote(forceCommand) : "")
        + (sourceAddresses.isEmpty() ? "" : ", source-address=" + sourceAddresses)
        + ", extensions=" + extensions + "}";
  }

  static String checkPrincipal(String p) {
    if (p == null || p.isEmpty()) {
      throw new CredentialException("an SSH principal must not be empty (an empty principal list lets the certificate log in as anyone)");
    }
    Crypto.principal(p, "SSH principal");
    if (!PRINCIPAL.matcher(p).matches()) {
      throw new CredentialException("invalid SSH principal " + Crypto.quote(p)
          + ": use letters, digits and . _ @ + : = - (no spaces, commas or wildcards), at most 256 characters");
    }
    return p;
  }

  /**
   * Checks a key id. A key id is a label made of names joined by {@code :} and {@code =} (KubeJIT
   * writes {@code kubejit:request=<id>:grant=<id>:user=<user>}); each part must pass {@link
   * PrincipalNames#check}, so a key id holds no invisible, separator or compatibility character,
   * while a user name in another script may follow the Latin word {@code user}.
   */
  static String checkKeyId(String keyId) {
    if (keyId == null || keyId.isEmpty()) {
      throw new CredentialException("SSH key id is required (name the request and the user)");
    }
    if (keyId.length() > PrincipalNames.MAX_LENGTH) {
      throw new CredentialException("SSH key id is longer than " + PrincipalNames.MAX_LENGTH + " characters: " + Crypto.quote(keyId));
    }
    for (String part : keyId.split("[:=]")) {
      if (part.isEmpty()) {
        continue;
      }
      try {
        PrincipalNames.check(part, "part");
      } catch (IllegalArgumentException e) {
        throw new CredentialException("SSH key id " + Crypto.quote(keyId) + " is refused: " + e.getMessage());
      }
    }
    return keyId;
  }

  /** Validates one CIDR (or single address) as sshd's {@code source-address} accepts it; no DNS lookups. */
  static String checkCidr(String cidr) {
    if (cidr == null || cidr.isEmpty()) {
      throw new CredentialException("empty source-address entry");
    }
    String addr = cidr;
    Integer prefix = null;
    int slash = cidr.indexOf('/');
    if (slash >= 0) {
      addr = cidr.substring(0, slash);
      String p = cidr.substring(slash + 1);
      if (!p.matches("\\d{1,3}")) {
        throw new CredentialException("invalid source-address CIDR " + Crypto.quote(cidr) + ": bad prefix length");
      }
      prefix = Integer.parseInt(p);
    }
    byte[] bytes;
    if (IPV4.matcher(addr).matches()) {
      for (String part : addr.split("\\.")) {
        if (Integer.parseInt(part) > 255 || (part.length() > 1 && part.startsWith("0"))) {
          throw new CredentialException("invalid source-address CIDR " + Crypto.quote(cidr) + ": bad IPv4 address");
        }
      }
    } else if (!(addr.contains(":") && IPV6.matcher(addr).matches())) {
      throw new CredentialException("invalid source-address CIDR " + Crypto.quote(cidr) + ": not an IPv4 or IPv6 address literal");
    }
    try {
      bytes = InetAddress.getByName(addr).getAddress(); // a literal: no DNS lookup happens
    } catch (UnknownHostException e) {
      throw new CredentialException("invalid source-address CIDR " + Crypto.quote(cidr) + ": not an address literal");
    }
    int max = bytes.length * 8;
    if (addr.contains(":") && bytes.length == 4) {
      throw new CredentialException("invalid source-address CIDR " + Crypto.quote(cidr) + ": IPv4-mapped IPv6 addresses are not accepted");
    }
    int len = prefix == null ? max : prefix;
    if (len > max) {
      throw new CredentialException("invalid source-address CIDR " + Crypto.quote(cidr) + ": prefix longer than " + max);
    }
    for (int bit = len; bit < max; bit++) {
      if ((bytes[bit / 8] & (0x80 >>> (bit % 8))) != 0) {
        throw new CredentialException("invalid source-address CIDR " + Crypto.quote(cidr)
            + ": host bits are set after /" + len + " (use the network address)");
      }
    }
    return cidr;
  }

  /** Whether {@code address} lies in {@code cidr} (already validated). */
  static boolean cidrContains(String cidr, InetAddress address) {
    int slash = cidr.indexOf('/');
    String addr = slash >= 0 ? cidr.substring(0, slash) : cidr;
    byte[] net;
    try {
      net = InetAddress.getByName(addr).getAddress();
    } catch (UnknownHostException e) {
      return false;
    }
    byte[] a = address.getAddress();
    if (a.length != net.length) {
      return false;
    }
    int len = slash >= 0 ? Integer.parseInt(cidr.substring(slash + 1)) : net.length * 8;
    for (int bit = 0; bit < len; bit++) {
      int m = 0x80 >>> (bit % 8);
      if ((a[bit / 8] & m) != (net[bit / 8] & m)) {
        return false;
      }
    }
    return true;
  }

  /** Builds an {@link SshCertificateRequest}; strict, each option set at most once. */
  public static final class Builder {
    private String publicKeyLine;
    private String keyId;
    private final List<String> principals = new ArrayList<>();
    private Duration ttl;
    private String forceCommand;
    private List<String> sourceAddresses = List.of();
    private final List<String> extensions = new ArrayList<>();
    private boolean sourceSet;

    private Builder() {}

    /** Sets the user's public key line ({@code ssh-ed25519 AAAA... comment}). */
    public Builder publicKey(String publicKeyLine) {
      once(this.publicKeyLine, "publicKey");
      if (publicKeyLine == null || publicKeyLine.isBlank()) {
        throw new CredentialException("SSH public key is required");
      }
      this.publicKeyLine = publicKeyLine.strip();
      return this;
    }

    /** Sets the key id (sshd logs it): name the request and the user. */
    public Builder keyId(String keyId) {
      once(this.keyId, "keyId");
      this.keyId = checkKeyId(keyId);
      return this;
    }

    /** Adds principals; each is a login name the certificate is valid for. */
    public Builder principals(String... principals) {
      return principals(Arrays.asList(principals));
    }

    /** Adds principals; each is a login name the certificate is valid for. */
    public Builder principals(Collection<String> principals) {
      for (String p : principals) {
        checkPrincipal(p);
        if (this.principals.contains(p)) {
          throw new CredentialException("duplicate SSH principal " + Crypto.quote(p));
        }
        this.principals.add(p);
      }
      return this;
    }

    /** Sets the validity (required; the CA clamps it to its maximum and reports that). */
    public Builder ttl(Duration ttl) {
      once(this.ttl, "ttl");
      this.ttl = X509Support.checkTtl(ttl);
      return this;
    }

    /** Sets the {@code force-command} critical option: the only command sshd will run. */
    public Builder forceCommand(String command) {
      once(this.forceCommand, "forceCommand");
      if (command == null || command.isBlank()) {
        throw new CredentialException("force-command must not be blank");
      }
      for (int i = 0; i < command.length(); i++) {
        if (Character.isISOControl(command.charAt(i))) {
          throw new CredentialException("force-command contains a control character: " + Crypto.quote(command));
        }
      }
      if (command.length() > 4096) {
        throw new CredentialException("force-command is longer than 4096 characters");
      }
      this.forceCommand = command;
      return this;
    }

    /** Sets the {@code source-address} critical option: CIDRs the client must connect from. */
    public Builder sourceAddresses(Collection<String> cidrs) {
      if (sourceSet) {
        throw new IllegalStateException("sourceAddresses was already set to " + sourceAddresses);
      }
      List<String> out = new ArrayList<>();
      for (String c : cidrs) {
        out.add(checkCidr(c == null ? null : c.strip()));
      }
      if (out.isEmpty()) {
        throw new CredentialException("source-address needs at least one CIDR");
      }
      this.sourceAddresses = out;
      sourceSet = true;
      return this;
    }

    /** Parses a comma-separated list such as {@code 10.0.0.0/8,192.168.1.7}. */
    public Builder sourceAddresses(String commaSeparated) {
      if (commaSeparated == null) {
        throw new CredentialException("source-address is required when set");
      }
      return sourceAddresses(Arrays.asList(commaSeparated.split(",", -1)));
    }

    /** Adds an extension such as {@code permit-pty}; none are granted unless added here. */
    public Builder extension(String name) {
      if (!KNOWN_EXTENSIONS.contains(name)) {
        throw new CredentialException("unknown SSH certificate extension " + Crypto.quote(name) + "; known: "
            + ImmutableSortedSet.copyOf(KNOWN_EXTENSIONS));
      }
      if (!extensions.contains(name)) {
        extensions.add(name);
      }
      return this;
    }

    /**
     * Returns the request.
     *
     * @throws CredentialException if the public key, key id, a principal or the TTL is missing
     */
    public SshCertificateRequest build() {
      if (publicKeyLine == null) {
        throw new CredentialException("SSH public key is required");
      }
      if (keyId == null) {
        throw new CredentialException("SSH key id is required (name the request and the user)");
      }
      if (principals.isEmpty()) {
        throw new CredentialException("at least one SSH principal is required (an empty list is valid for any user)");
      }
      if (ttl == null) {
        throw new CredentialException("a TTL is required: SSH certificates are never valid forever");
      }
      return new SshCertificateRequest(this);
    }

    private static void once(Object current, String what) {
      if (current != null) {
        throw new IllegalStateException(what + " was already set to " + (current instanceof String ? Crypto.quote((String) current) : current));
      }
    }
  }
}
