package dev.kubejit.api;

import java.text.Normalizer;
import java.util.Locale;

/**
 * The one rule, used by every module, for names that identify people and groups: user names,
 * group names, approver groups and the names written into certificates and tokens.
 *
 * <p>Two things are defined here:
 *
 * <ul>
 *   <li><b>What a name may contain</b> ({@link #check}). A name must look like exactly what it is
 *       in a chat message, a log line or {@code kubectl auth whoami}. So it is refused when it
 *       holds a control character, a format character (Unicode category Cf: zero-width space,
 *       soft hyphen, bidirectional overrides, ...), any other default-ignorable (invisible) code
 *       point such as a variation selector or a Hangul filler, a space or separator of any kind
 *       (including the no-break space), a private-use, surrogate or unassigned code point; when it
 *       is not in Unicode normalisation form NFKC (full-width {@code ａｌｉｃｅ}, ligatures,
 *       decomposed accents); and when it mixes letters of scripts that are not normally written
 *       together (Latin with Cyrillic or Greek, say), the "highly restrictive" profile of
 *       Unicode TS #39.
 *   <li><b>When two names are the same</b> ({@link #canonical}, {@link #same}): names are compared
 *       after NFKC normalisation and case folding, so {@code Alice} and {@code alice} are one
 *       person for self-approval and ownership rules, whichever spelling an identity provider
 *       used.
 * </ul>
 *
 * <p>Known limit: a name written wholly in another script whose letters resemble Latin ones
 * (every letter Cyrillic, say) is a single-script name and is accepted; it does not compare equal
 * to its Latin look-alike. Escaping non-ASCII characters in every message ({@link SafeText})
 * keeps such a name visibly different where people read it.
 */
public final class PrincipalNames {
  /** The longest name accepted, in UTF-16 code units. */
  public static final int MAX_LENGTH = 256;

  private PrincipalNames() {}

  /**
   * Returns {@code value} if it is an acceptable name, else throws.
   *
   * @param what what the name is, for the message ("user", "group", ...)
   * @throws IllegalArgumentException naming {@code what} and quoting the value in escaped form
   */
  public static String check(String value, String what) {
    String problem = problem(value);
    if (problem != null) {
      throw new IllegalArgumentException(what + " " + problem
          + (value == null ? "" : ": " + SafeText.quote(value)));
    }
    return value;
  }

  /** Whether {@code value} passes {@link #check}. */
  public static boolean isAcceptable(String value) {
    return problem(value) == null;
  }

  /**
   * Returns the form in which names are compared: NFKC, then full case folding, then NFKC again
   * (the composition used by Unicode's NFKC_Casefold, without its removal of ignorables, which
   * {@link #check} refuses outright).
   */
  public static String canonical(String value) {
    String folded = Normalizer.normalize(value, Normalizer.Form.NFKC)
        .toUpperCase(Locale.ROOT)
        .toLowerCase(Locale.ROOT);
    return Normalizer.normalize(folded, Normalizer.Form.NFKC);
  }

  /** Whether {@code a} and {@code b} name the same principal ({@link #canonical} forms equal). */
  public static boolean same(String a, String b) {
    return a.equals(b) || canonical(a).equals(canonical(b));
  }

  /** Returns why {@code value} is refused, or {@code null} when it is acceptable. */
  static String problem(String value) {
    if (value == null) {
      return "is required";
    }
    if (value.isEmpty()) {
      return "must not be empty";
    }
    if (value.length() > MAX_LENGTH) {
      return "is longer than " + MAX_LENGTH + " characters";
    }
    Character.UnicodeScript script = null;
    boolean han = false;
    for (int i = 0; i < value.length(); ) {
      int cp = value.codePointAt(i);
      i += Character.charCount(cp);
      String bad = badCodePoint(cp);
      if (bad != null) {
        return String.format("contains %s (U+%04X)", bad, cp);
      }
      Character.UnicodeScript s = Character.UnicodeScript.of(cp);
      if (s == Character.UnicodeScript.COMMON || s == Character.UnicodeScript.INHERITED) {
        continue;
      }
      if (s == Character.UnicodeScript.HAN) {
        han = true;
        continue;
      }
      if (script == null) {
        script = s;
      } else if (script != s) {
        return "mixes the scripts " + script + " and " + s;
      }
    }
    if (han && script != null && !writtenWithHan(script)) {
      return "mixes the scripts HAN and " + script;
    }
    if (!Normalizer.isNormalized(value, Normalizer.Form.NFKC)) {
      return "is not in Unicode normalisation form NFKC (full-width, compatibility or decomposed"
          + " characters)";
    }
    return null;
  }

  private static boolean writtenWithHan(Character.UnicodeScript s) {
    return s == Character.UnicodeScript.HIRAGANA
        || s == Character.UnicodeScript.KATAKANA
        || s == Character.UnicodeScript.BOPOMOFO
        || s == Character.UnicodeScript.HANGUL;
  }

  private static String badCodePoint(int cp) {
    switch (Character.getType(cp)) {
      case Character.CONTROL:
        return "a control character";
      case Character.FORMAT:
        return "an invisible format character";
      case Character.SPACE_SEPARATOR:
      case Character.LINE_SEPARATOR:
      case Character.PARAGRAPH_SEPARATOR:
        return "a space or separator";
      case Character.PRIVATE_USE:
        return "a private-use character";
      case Character.SURROGATE:
        return "an unpaired surrogate";
      case Character.UNASSIGNED:
        return "an unassigned code point";
      default:
        break;
    }
    if (Character.isWhitespace(cp)) {
      return "a space or separator";
    }
    if (defaultIgnorable(cp)) {
      return "an invisible character";
    }
    return null;
  }

  /**
   * Default_Ignorable_Code_Point (Unicode DerivedCoreProperties) outside category Cf: combining
   * grapheme joiner, Hangul and half-width fillers, Khmer inherent vowels, Mongolian and other
   * variation selectors, and the reserved ignorable ranges.
   */
  private static boolean defaultIgnorable(int cp) {
    return cp == 0x034F
        || cp == 0x115F || cp == 0x1160
        || cp == 0x17B4 || cp == 0x17B5
        || (cp >= 0x180B && cp <= 0x180F)
        || cp == 0x3164 || cp == 0xFFA0
        || (cp >= 0x2060 && cp <= 0x206F)
        || (cp >= 0xFE00 && cp <= 0xFE0F)
        || (cp >= 0xFFF0 && cp <= 0xFFF8)
        || (cp >= 0x1D173 && cp <= 0x1D17A)
        || (cp >= 0xE0000 && cp <= 0xE0FFF);
  }
}
