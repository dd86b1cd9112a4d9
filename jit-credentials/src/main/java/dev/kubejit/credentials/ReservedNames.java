package dev.kubejit.credentials;

import static java.util.Objects.requireNonNull;

import dev.kubejit.credentials.internal.Crypto;
import com.google.common.collect.ImmutableSortedSet;
import dev.kubejit.api.PrincipalNames;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The privileged and reserved names that no KubeJIT issuer writes into a credential: not as a
 * certificate's user (CN) or group (O), not as an OpenSSH principal, not as a JWT's {@code sub}
 * or {@code groups}. Every issuer ({@link X509Issuer}, {@link KubernetesCsrIssuer}, {@link
 * SshCertificateAuthority}, {@link JwtIssuer}) refuses them by default with a {@link
 * CredentialException}, and nothing is issued.
 *
 * <p>An entry is a name ({@code kubernetes-admin}) or a prefix written with a trailing {@code *}
 * ({@code system:*}). A name is refused when
 *
 * <ul>
 *   <li>its canonical form ({@link PrincipalNames#canonical}: NFKC and case folding) equals an
 *       entry's, or starts with a prefix entry's, so {@code SYSTEM:MASTERS} matches {@code
 *       system:*}; or
 *   <li>it <em>looks like</em> such a name: the same, position by position, except that some
 *       characters are well-known look-alikes of the entry's letters or punctuation — Latin small
 *       capitals ({@code ꜱʏꜱᴛᴇᴍ}), Cyrillic, Greek, Armenian, Cherokee and Lisu letters shaped like
 *       Latin ones, and colons, hyphens and dots from other blocks ({@code system꞉masters} with
 *       U+A789). Such names pass {@link PrincipalNames#check} when they keep to one script, and
 *       would be rendered exactly like the reserved name by kubectl or an audit log viewer.
 * </ul>
 *
 * Names with invisible characters, separators, full-width letters or mixed scripts (a zero-width
 * space in front, a no-break space inside, a Cyrillic {@code е} among Latin letters) never get
 * this far: every issuer runs {@link PrincipalNames#check} first. Known limit: look-alikes made
 * of several characters ({@code rn} for {@code m}) or of ASCII digits ({@code r00t}) are not
 * detected; they are visible in every message, which quotes names with {@link
 * dev.kubejit.api.SafeText#quote}.
 *
 * <p>{@link #defaults()}:
 *
 * <ul>
 *   <li>{@code system:*} — every name Kubernetes reserves: {@code system:masters} (bypasses RBAC),
 *       {@code system:nodes}, {@code system:node:<name>}, {@code system:serviceaccount:<ns>:<name>},
 *       {@code system:serviceaccounts}, {@code system:anonymous}, {@code system:authenticated},
 *       {@code system:kube-controller-manager}, {@code system:kube-scheduler}, ...
 *   <li>{@code kubeadm:*} — {@code kubeadm:cluster-admins}, bound to {@code cluster-admin} on
 *       kubeadm clusters since Kubernetes 1.29, and kubeadm's other names.
 *   <li>{@code kubernetes-admin} and {@code kubernetes-super-admin} — the users of kubeadm's {@code
 *       admin.conf} and {@code super-admin.conf}.
 *   <li>{@code root} — the superuser login, for OpenSSH principals (one list for every kind).
 * </ul>
 *
 * <p>Extending the list is {@link #plus}; relaxing it is possible only name by name, through the
 * deliberately loud {@link #exemptDangerously}, and every credential issued for an exempted name is
 * logged as a warning. Immutable and thread-safe.
 */
public final class ReservedNames {
  private static final Logger LOG = LoggerFactory.getLogger(ReservedNames.class);
  /**
   * Look-alikes, one row per ASCII character they imitate: the character, then the code points
   * (hex). A code point listed in several rows imitates each (Greek eta: {@code H} and {@code n}).
   * Capital letters are listed as such; their case-folded forms are added when the table is built.
   */
  private static final String[] LOOKALIKE_ROWS = {
    "a 0430 03B1 0251 1D00 A4EE 13AA",
    "b 0432 03B2 0299 A4D0 13F4 13CF",
    "c 0441 03F2 1D04 A4DA 13DF",
    "d 0501 1D05 A4D3 13A0 13E7",
    "e 0435 03B5 1D07 A4F0 13AC",
    "f A4DD",
    "g 050D 0581 0261 0262 A4D6 13C0",
    "h 043D 04BB 03B7 0570 029C A4E7 13BB 13C2",
    "i 0456 03B9 04CF 0131 0269 026A A4F2 13A5",
    "j 0458 03F3 0237 1D0A A4D9 13AB",
    "k 043A 03BA 0138 1D0B A4D7 13E6",
    "l 04CF 01C0 A4E1 13DE",
    "m 043C 03BC 1D0D A4DF 13B7",
    "n 0578 03B7 03BD 0274 A4E0",
    "o 043E 03BF 0585 1D0F A4F3",
    "p 0440 03C1 1D18 A4D1 13E2",
    "q 051B 0566",
    "r 0280 A4E3 13A1 13D2",
    "s 0455 A731 A4E2 13DA",
    "t 0442 03C4 1D1B A4D4 13A2",
    "u 057D 03C5 03BC 1D1C A4F4",
    "v 0475 03BD 1D20 A4E6 13D9",
    "w 051D 0561 03C9 1D21 A4EA 13B3 13D4",
    "x 0445 03C7 A4EB",
    "y 0443 04AF 03C5 028F A4EC 13A9 13BD",
    "z 03B6 1D22 A4DC 13C3",
    ": 02D0 02F8 0589 05C3 0703 0704 0903 0A83 16EC 1803 1809 205A 2236 A4FD A789",
    "- 2010 2011 2012 2013 2043 2212 02D7 06D4 2CBA",
    ". 0660 06F0 0701 0702 A4F8 A60E",
    "_ 07FA",
  };
  private static final Map<Integer, String> LOOKALIKES = lookalikes();
  private static final ReservedNames DEFAULTS = new ReservedNames(
      ImmutableSortedSet.of("system:*", "kubeadm:*", "kubernetes-admin", "kubernetes-super-admin", "root"),
      ImmutableSortedSet.of());

  private final ImmutableSortedSet<String> entries;
  private final ImmutableSortedSet<String> exemptions;
  // Per entry, in the order of entries: its canonical code points (without the trailing * of a
  // prefix), computed once here rather than for every name checked.
  private final int[][] canonicalEntries;

  private ReservedNames(ImmutableSortedSet<String> entries, ImmutableSortedSet<String> exemptions) {
    this.entries = entries;
    this.exemptions = exemptions;
    this.canonicalEntries = new int[entries.size()][];
    int i = 0;
    for (String e : entries) {
      canonicalEntries[i++] = PrincipalNames.canonical(e.endsWith("*") ? e.substring(0, e.length() - 1) : e)
          .codePoints().toArray();
    }
  }

  /** The default list (see the class comment); what every issuer uses unless told otherwise. */
  public static ReservedNames defaults() {
    return DEFAULTS;
  }

  /**
   * A copy that also refuses {@code entries}: names, or prefixes written with a trailing {@code *}.
   *
   * @throws IllegalArgumentException if an entry is empty, a lone {@code *}, has a {@code *}
   *     anywhere but at its end, or is not an acceptable name ({@link PrincipalNames#check})
   */
  public ReservedNames plus(String... entries) {
    return plus(Arrays.asList(entries));
  }

  /**
   * A copy that also refuses {@code entries}.
   *
   * @throws IllegalArgumentException as {@link #plus(String...)}
   */
  public ReservedNames plus(Collection<String> entries) {
    requireNonNull(entries, "entries");
    Set<String> out = new TreeSet<>(this.entries);
    for (String e : entries) {
      out.add(checkEntry(e));
    }
    return new ReservedNames(ImmutableSortedSet.copyOf(out), exemptions);
  }

  /**
   * A copy that issues credentials for exactly these names although the list reserves them. This
   * weakens a safety net (an exempted {@code system:masters} is cluster-admin); every use is logged
   * as a warning at issue time.
   *
   * @throws IllegalArgumentException if a name is not an acceptable name, contains {@code *}, or is
   *     not reserved by this list (an exemption that exempts nothing is a mistake)
   */
  public ReservedNames exemptDangerously(String... names) {
    Set<String> out = new TreeSet<>(exemptions);
    for (String n : names) {
      PrincipalNames.check(n, "exempted name");
      if (n.contains("*")) {
        throw new IllegalArgumentException("an exemption is one exact name, not a pattern: " + Crypto.quote(n));
      }
      if (matching(n, false) == null) {
        throw new IllegalArgumentException("cannot exempt " + Crypto.quote(n) + ": it is not reserved by " + entries);
      }
      out.add(PrincipalNames.canonical(n));
    }
    return new ReservedNames(entries, ImmutableSortedSet.copyOf(out));
  }

  /** The entries, sorted: names, and prefixes ending in {@code *}. */
  public ImmutableSortedSet<String> entries() {
    return entries;
  }

  /** The exempted names, in canonical form, sorted; empty unless {@link #exemptDangerously} was used. */
  public ImmutableSortedSet<String> exemptions() {
    return exemptions;
  }

  /**
   * Whether an issuer using this list refuses {@code name}: it matches or looks like an entry and
   * is not exempted.
   */
  public boolean isReserved(String name) {
    requireNonNull(name, "name");
    return (matching(name, false) != null || matching(name, true) != null)
        && !exemptions.contains(PrincipalNames.canonical(name));
  }

  /**
   * Refuses {@code name} (already an acceptable name) if it matches or looks like an entry and is
   * not exempted; logs a warning when an exemption lets it through. {@code what} names the role
   * of the name in the message ("user", "group", "SSH principal").
   *
   * @throws CredentialException if the name is reserved or looks like a reserved name
   */
  public void refuse(String name, String what) {
    String entry = matching(name, false);
    if (entry != null && exemptions.contains(PrincipalNames.canonical(name))) {
      LOG.warn("issuing a credential for the reserved {} {} (matches {}) because it was exempted with exemptDangerously",
          what, Crypto.quote(name), Crypto.quote(entry));
      return;
    }
    if (entry != null) {
      throw new CredentialException(what + " " + Crypto.quote(name) + " is a reserved or privileged name (matches "
          + Crypto.quote(entry) + "); KubeJIT issues no credential for it");
    }
    String lookalike = matching(name, true);
    if (lookalike != null) {
      throw new CredentialException(what + " " + Crypto.quote(name) + " looks like the reserved or privileged name "
          + Crypto.quote(lookalike) + " (it uses characters that imitate its letters or punctuation); KubeJIT issues no"
          + " credential for it");
    }
  }

  /**
   * The first entry {@code name} matches in canonical form (or, with {@code lookalikes}, matches
   * once look-alike characters are read as what they imitate), or {@code null}.
   */
  private String matching(String name, boolean lookalikes) {
    int[] c = PrincipalNames.canonical(name).codePoints().toArray();
    int k = 0;
    for (String e : entries) {
      boolean prefix = e.endsWith("*");
      int[] ce = canonicalEntries[k++];
      if (prefix ? c.length < ce.length : c.length != ce.length) {
        continue;
      }
      boolean match = true;
      for (int i = 0; i < ce.length && match; i++) {
        match = c[i] == ce[i] || (lookalikes && LOOKALIKES.getOrDefault(c[i], "").indexOf(ce[i]) >= 0);
      }
      if (match) {
        return e;
      }
    }
    return null;
  }

  private static Map<Integer, String> lookalikes() {
    Map<Integer, String> m = new HashMap<>();
    for (String row : LOOKALIKE_ROWS) {
      String[] parts = row.split(" ");
      for (int i = 1; i < parts.length; i++) {
        int cp = Integer.parseInt(parts[i], 16);
        m.merge(cp, parts[0], String::concat);
        int[] folded = PrincipalNames.canonical(new String(Character.toChars(cp))).codePoints().toArray();
        if (folded.length == 1 && folded[0] != cp) {
          m.merge(folded[0], parts[0], String::concat);
        }
      }
    }
    return Map.copyOf(m);
  }

  private static String checkEntry(String entry) {
    if (entry == null || entry.isEmpty() || entry.equals("*")) {
      throw new IllegalArgumentException("a reserved-name entry must be a name or a prefix ending in *, not "
          + Crypto.quote(entry));
    }
    String body = entry.endsWith("*") ? entry.substring(0, entry.length() - 1) : entry;
    if (body.contains("*")) {
      throw new IllegalArgumentException("* may only end a reserved-name entry (a prefix): " + Crypto.quote(entry));
    }
    PrincipalNames.check(body, "reserved-name entry");
    return entry;
  }

  /** Equal when both refuse exactly the same entries with the same exemptions. */
  @Override
  public boolean equals(Object o) {
    return o instanceof ReservedNames && ((ReservedNames) o).entries.equals(entries)
        && ((ReservedNames) o).exemptions.equals(exemptions);
  }

  @Override
  public int hashCode() {
    return entries.hashCode() * 31 + exemptions.hashCode();
  }

  @Override
  public String toString() {
    return "ReservedNames{" + Crypto.quoteAll(entries) + (exemptions.isEmpty() ? "" : ", exempted " + Crypto.quoteAll(exemptions)) + "}";
  }
}
