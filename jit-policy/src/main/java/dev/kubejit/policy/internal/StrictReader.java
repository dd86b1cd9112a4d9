package dev.kubejit.policy.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.dataformat.xml.XmlFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.xml.stream.Location;
import javax.xml.stream.XMLInputFactory;
import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;
import dev.kubejit.api.SafeText;
import org.yaml.snakeyaml.LoaderOptions;

/**
 * A strict, schema-driven reader over a Jackson token stream, shared by the policy and policy-test
 * readers (JSON, YAML, XML) and by the {@code kubejit.yaml} reader of jit-server (YAML). Not API:
 * this package is KubeJIT's own plumbing and may change in any release.
 *
 * <p>Design notes: instead of data binding, the caller walks the expected structure and asks for
 * exactly the type it needs, so every error carries the token's line and column and the path that
 * led to it, and nothing is coerced: in JSON and YAML a number in quotes is a string and an error
 * where a number is expected; in XML, where everything is text, numbers and booleans are converted
 * here with a strict grammar. Duplicate keys are refused by Jackson's duplicate detection (JSON,
 * YAML) and by this reader (all formats). XML lists are a wrapper element with repeated item
 * elements, read without Jackson's array heuristics; DOCTYPE is refused before Jackson sees the
 * document, and DTDs and external entities are disabled in the StAX factory. YAML anchors, aliases
 * and explicit tags are refused. Errors are of the caller's type {@code E}, made by its
 * {@link Errors}, and worded for its kind of document ({@link Wording}).
 *
 * @param <E> the exception type of the document being read
 */
public final class StrictReader<E extends RuntimeException> implements AutoCloseable {
  /** The largest document accepted, in bytes. */
  public static final int MAX_BYTES = 1 << 20;

  /** The syntax of a document. */
  public enum Syntax {
    /** JSON. */
    JSON,
    /** YAML 1.2 as Jackson reads it, without anchors, aliases and tags. */
    YAML,
    /** XML without DOCTYPE or entities. */
    XML
  }

  /** Makes the caller's exception for a problem at a location. */
  @FunctionalInterface
  public interface Errors<E extends RuntimeException> {
    /** An exception for {@code problem} at {@code line}:{@code column} (0 when unknown) of {@code path} (null when none). */
    E at(String source, int line, int column, String path, String problem, Throwable cause);
  }

  /**
   * How messages name things: {@code document} in "YAML aliases are not allowed in …" (for
   * example "a policy file"), {@code key} for a mapping's member ("field", "key"), {@code mapping}
   * for an object ("an object (mapping)", "a mapping"); {@code emptyStrings} whether "" is a string.
   */
  public record Wording(String document, String key, String mapping, boolean emptyStrings) {}

  private static final JsonFactory JSON = JsonFactory.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build())
      .build();
  private static final YAMLFactory YAML;
  private static final XMLInputFactory STAX;
  private static final XmlFactory XML;

  static {
    LoaderOptions lo = new LoaderOptions();
    lo.setAllowDuplicateKeys(false);
    lo.setMaxAliasesForCollections(0);
    lo.setNestingDepthLimit(64);
    lo.setCodePointLimit(MAX_BYTES);
    YAML = YAMLFactory.builder()
        .loaderOptions(lo)
        .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
        .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build())
        .build();
    STAX = XMLInputFactory.newFactory();
    STAX.setProperty(XMLInputFactory.SUPPORT_DTD, Boolean.FALSE);
    STAX.setProperty(XMLInputFactory.IS_SUPPORTING_EXTERNAL_ENTITIES, Boolean.FALSE);
    STAX.setProperty(XMLInputFactory.IS_REPLACING_ENTITY_REFERENCES, Boolean.FALSE);
    XML = XmlFactory.builder()
        .xmlInputFactory(STAX)
        .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build())
        .build();
  }

  /** Handles one field of an object; must consume the field's value completely. */
  @FunctionalInterface
  public interface FieldHandler {
    /** Reads the value of field {@code name}, whose path is {@code path}; the value's first token is current. */
    void field(String name, String path);
  }

  /** Reads one item of a list whose first token is current. */
  @FunctionalInterface
  public interface ItemReader<T> {
    /** Reads the item at {@code path}. */
    T read(String path);
  }

  private final Syntax format;
  private final String source;
  private final Errors<E> errors;
  private final Wording wording;
  private final JsonParser p;
  private final Map<String, int[]> locations = new HashMap<>();
  private String currentPath = "";

  private StrictReader(JsonParser p, Syntax format, String source, Errors<E> errors, Wording wording) {
    this.p = p;
    this.format = format;
    this.source = source;
    this.errors = errors;
    this.wording = wording;
  }

  /**
   * Opens a reader; for XML the root element must be {@code rootElement} (ignored otherwise).
   *
   * @throws E if the input is too large, not parsable, or (XML) has a DOCTYPE
   */
  public static <E extends RuntimeException> StrictReader<E> open(byte[] bytes, Syntax format, String source,
      String rootElement, Errors<E> errors, Wording wording) {
    if (bytes.length > MAX_BYTES) {
      throw errors.at(source, 0, 0, null, "file is larger than " + MAX_BYTES + " bytes (" + bytes.length + ")", null);
    }
    try {
      switch (format) {
        case JSON:
          return new StrictReader<>(JSON.createParser(bytes), format, source, errors, wording);
        case YAML:
          return new StrictReader<>(YAML.createParser(bytes), format, source, errors, wording);
        case XML:
          return new StrictReader<>(XML.createParser(xmlAtRoot(bytes, source, rootElement, errors, wording)), format,
              source, errors, wording);
        default:
          throw new AssertionError(format);
      }
    } catch (IOException e) {
      throw wrap(e, format, source, "", errors);
    }
  }

  /** The syntax being read. */
  public Syntax syntax() {
    return format;
  }

  /** The name of the document, as errors show it. */
  public String source() {
    return source;
  }

  private static <E extends RuntimeException> XMLStreamReader xmlAtRoot(byte[] bytes, String source,
      String rootElement, Errors<E> errors, Wording wording) {
    XMLStreamReader r = null;
    try {
      r = STAX.createXMLStreamReader(new ByteArrayInputStream(bytes));
      while (r.hasNext()) {
        int ev = r.next();
        if (ev == XMLStreamConstants.DTD) {
          throw xmlError(errors, source, r.getLocation(), "DOCTYPE is not allowed in " + wording.document());
        }
        if (ev == XMLStreamConstants.ENTITY_REFERENCE) {
          throw xmlError(errors, source, r.getLocation(), "entity references are not allowed in " + wording.document());
        }
        if (ev == XMLStreamConstants.START_ELEMENT) {
          String ns = r.getNamespaceURI();
          if (!rootElement.equals(r.getLocalName()) || ns != null && !ns.isEmpty()) {
            throw xmlError(errors, source, r.getLocation(), "the root element must be <" + rootElement
                + "> without a namespace, not " + SafeText.quote(r.getName().toString()));
          }
          return r;
        }
      }
      throw new RefusedXml(errors.at(source, 0, 0, null, "no root element", null));
    } catch (XMLStreamException e) {
      Location l = e.getLocation();
      throw errors.at(source, l == null ? 0 : l.getLineNumber(), l == null ? 0 : l.getColumnNumber(),
          null, "malformed XML: " + clean(e.getMessage()), null);
    } catch (RefusedXml e) {
      throw e.error;
    } catch (RuntimeException e) {
      throw errors.at(source, 0, 0, null, "malformed XML: " + e.getClass().getSimpleName(), null);
    }
  }

  /** Carries a refusal of the caller's type out of the XML pre-scan's generic catch. */
  private static final class RefusedXml extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final transient RuntimeException error;

    RefusedXml(RuntimeException error) {
      super(null, null, false, false);
      this.error = error;
    }
  }

  private static <E extends RuntimeException> RefusedXml xmlError(Errors<E> errors, String source, Location l,
      String msg) {
    return new RefusedXml(errors.at(source, l.getLineNumber(), l.getColumnNumber(), null, msg, null));
  }

  /** Removes Jackson's location suffix and control characters from a parser message. */
  public static String clean(String m) {
    if (m == null) {
      return "unknown error";
    }
    int at = m.indexOf("\n at [Source");
    if (at >= 0) {
      m = m.substring(0, at);
    }
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < m.length() && sb.length() < 300; i++) {
      char c = m.charAt(i);
      sb.append(c < 0x20 || c == 0x7f ? ' ' : c);
    }
    return sb.toString().strip();
  }

  private static <E extends RuntimeException> E wrap(IOException e, Syntax syntax, String source, String path, Errors<E> errors) {
    int line = 0;
    int col = 0;
    String msg;
    if (e instanceof JsonProcessingException) {
      JsonLocation l = ((JsonProcessingException) e).getLocation();
      if (l != null) {
        line = l.getLineNr();
        col = l.getColumnNr();
      }
      msg = clean(((JsonProcessingException) e).getOriginalMessage());
    } else {
      msg = clean(e.getMessage());
    }
    return errors.at(source, Math.max(line, 0), Math.max(col, 0), path, "malformed " + syntax + ": " + msg, e);
  }

  // ---- token access ----

  /** Advances to the next token (refusing YAML anchors, aliases and tags). */
  public JsonToken next() {
    try {
      JsonToken t = p.nextToken();
      if (format == Syntax.YAML && t != null) {
        YAMLParser y = (YAMLParser) p;
        if (y.isCurrentAlias()) {
          throw error(currentPath, "YAML aliases are not allowed in " + wording.document());
        }
        if (y.getObjectId() != null) {
          throw error(currentPath, "YAML anchors are not allowed in " + wording.document());
        }
        if (y.getTypeId() != null) {
          throw error(currentPath, "YAML tags are not allowed in " + wording.document() + ": " + SafeText.quote(y.getTypeId()));
        }
      }
      return t;
    } catch (IOException e) {
      throw wrap(e, format, source, currentPath, errors);
    }
  }

  private int[] here() {
    JsonLocation l = p.currentTokenLocation();
    return new int[] {Math.max(l.getLineNr(), 0), Math.max(l.getColumnNr(), 0)};
  }

  /** An error at the current token. */
  public E error(String path, String msg) {
    int[] at = here();
    return errors.at(source, at[0], at[1], path, msg, null);
  }

  /** An error located at where {@code path} was read (or at the current token). */
  public E errorAt(String path, String msg) {
    int[] at = locations.getOrDefault(path, here());
    return errors.at(source, at[0], at[1], path, msg, null);
  }

  /** Where each path read so far starts: {line, column}. */
  public Map<String, int[]> locations() {
    return locations;
  }

  /** Reads the root object and checks that nothing follows it. */
  public void root(FieldHandler h) {
    if (next() != JsonToken.START_OBJECT) {
      throw error("", "the document must be " + wording.mapping() + ", found " + describe());
    }
    locations.put("", here());
    object("", h);
    if (next() != null) {
      throw error("", "unexpected content after the end of the document (one document per file)");
    }
  }

  /** Reads an object whose START_OBJECT is current (in XML, empty text counts as an empty object). */
  public void object(String path, FieldHandler h) {
    JsonToken t = p.currentToken();
    if (format == Syntax.XML && isEmptyXml(t)) {
      return;
    }
    if (t != JsonToken.START_OBJECT) {
      throw error(path, "expected " + wording.mapping() + ", found " + describe());
    }
    locations.putIfAbsent(path, here());
    Set<String> seen = new HashSet<>();
    while (true) {
      JsonToken f = next();
      if (f == JsonToken.END_OBJECT) {
        return;
      }
      String name = currentName();
      String fp = path + "/" + escape(name);
      currentPath = fp;
      locations.putIfAbsent(fp, here());
      if (!seen.add(name)) {
        throw error(fp, "duplicate " + wording.key() + " " + SafeText.quote(name));
      }
      next();
      h.field(name, fp);
    }
  }

  private String currentName() {
    try {
      return p.currentName();
    } catch (IOException e) {
      throw wrap(e, format, source, currentPath, errors);
    }
  }

  /** An error for an unknown key {@code name} at {@code path}, listing the {@code expected} ones. */
  public E unknown(String path, String name, String expected) {
    return errorAt(path, "unknown " + wording.key() + " " + SafeText.quote(name) + " (expected one of: " + expected + ")");
  }

  /** Reads a list (in XML: a wrapper element of {@code <xmlItem>} elements). */
  public <T> List<T> list(String path, String xmlItem, ItemReader<T> item) {
    JsonToken t = p.currentToken();
    List<T> out = new ArrayList<>();
    if (format == Syntax.XML) {
      if (isEmptyXml(t)) {
        return out;
      }
      if (t != JsonToken.START_OBJECT) {
        throw error(path, "expected a list of <" + xmlItem + "> elements, found " + describe());
      }
      while (next() != JsonToken.END_OBJECT) {
        String name = currentName();
        String ip = path + "/" + out.size();
        currentPath = ip;
        locations.putIfAbsent(ip, here());
        if (!xmlItem.equals(name)) {
          throw error(ip, "expected <" + xmlItem + "> in this list, found <" + name + ">");
        }
        next();
        out.add(item.read(ip));
      }
      return out;
    }
    if (t != JsonToken.START_ARRAY) {
      throw error(path, "expected a list, found " + describe());
    }
    while (next() != JsonToken.END_ARRAY) {
      String ip = path + "/" + out.size();
      currentPath = ip;
      locations.putIfAbsent(ip, here());
      out.add(item.read(ip));
    }
    return out;
  }

  /** Reads a list of strings. */
  public List<String> stringList(String path, String xmlItem) {
    return list(path, xmlItem, this::string);
  }

  /** Whether the current value is an object (mapping); in XML, whether it has child elements. */
  public boolean atObject() {
    return p.currentToken() == JsonToken.START_OBJECT;
  }

  /** Reads a string (never a number or boolean); "" only where the wording allows empty strings. */
  public String string(String path) {
    JsonToken t = p.currentToken();
    if (t != JsonToken.VALUE_STRING) {
      throw error(path, "expected a string, found " + describe());
    }
    String s = text();
    if (s.isEmpty() && !wording.emptyStrings()) {
      throw error(path, "expected a non-empty string");
    }
    return s;
  }

  /** Reads an integer in [min, max], written in plain decimal. */
  public int integer(String path, int min, int max) {
    JsonToken t = p.currentToken();
    long v;
    if (format == Syntax.XML) {
      if (t != JsonToken.VALUE_STRING) {
        throw error(path, "expected an integer, found " + describe());
      }
      String s = text().strip();
      if (!s.matches("[0-9]{1,9}")) {
        throw error(path, "expected an integer, found " + SafeText.quote(s));
      }
      v = Long.parseLong(s);
    } else {
      if (t != JsonToken.VALUE_NUMBER_INT) {
        throw error(path, "expected an integer, found " + describe());
      }
      if (format == Syntax.YAML && !text().matches("[0-9]{1,9}")) {
        throw error(path, "write the integer in plain decimal, not " + SafeText.quote(text()));
      }
      try {
        if (p.getNumberType() != JsonParser.NumberType.INT) {
          throw error(path, "integer out of range: " + SafeText.quote(p.getText()));
        }
        v = p.getIntValue();
      } catch (IOException e) {
        throw wrap(e, format, source, path, errors);
      }
    }
    if (v < min || v > max) {
      throw error(path, "expected an integer between " + min + " and " + max + ", found " + v);
    }
    return (int) v;
  }

  /** Reads true or false (not YAML 1.1 yes/no/on/off). */
  public boolean bool(String path) {
    JsonToken t = p.currentToken();
    if (format == Syntax.XML) {
      if (t == JsonToken.VALUE_STRING) {
        String s = text().strip();
        if (s.equals("true")) {
          return true;
        }
        if (s.equals("false")) {
          return false;
        }
        throw error(path, "expected true or false, found " + SafeText.quote(s));
      }
      throw error(path, "expected true or false, found " + describe());
    }
    if (t == JsonToken.VALUE_TRUE || t == JsonToken.VALUE_FALSE) {
      if (format == Syntax.YAML && !text().equals(t == JsonToken.VALUE_TRUE ? "true" : "false")) {
        throw error(path, "write true or false, not the YAML 1.1 boolean " + SafeText.quote(text()));
      }
      return t == JsonToken.VALUE_TRUE;
    }
    throw error(path, "expected true or false, found " + describe());
  }

  private String text() {
    try {
      return p.getText();
    } catch (IOException e) {
      throw wrap(e, format, source, currentPath, errors);
    }
  }

  private boolean isEmptyXml(JsonToken t) {
    return t == JsonToken.VALUE_NULL || t == JsonToken.VALUE_STRING && text().isBlank();
  }

  /** Skips the current value without looking at it (so that a refused secret is never echoed). */
  public void skip() {
    try {
      p.skipChildren();
    } catch (IOException e) {
      throw wrap(e, format, source, currentPath, errors);
    }
  }

  /** Describes the current token for an error message. */
  public String describe() {
    JsonToken t = p.currentToken();
    if (t == null) {
      return "the end of the input";
    }
    switch (t) {
      case START_OBJECT:
        return wording.mapping();
      case START_ARRAY:
        return "a list";
      case VALUE_STRING:
        return "the string " + SafeText.quote(text());
      case VALUE_NUMBER_INT:
      case VALUE_NUMBER_FLOAT:
        return "the number " + SafeText.quote(text());
      case VALUE_TRUE:
      case VALUE_FALSE:
        return "the boolean " + text();
      case VALUE_NULL:
        return "null";
      default:
        return t.asString() == null ? t.name() : t.asString();
    }
  }

  /** Escapes a key for a JSON-pointer path. */
  public static String escape(String name) {
    return name.replace("~", "~0").replace("/", "~1");
  }

  @Override
  public void close() {
    try {
      p.close();
    } catch (IOException e) {
      // nothing was written; closing an in-memory parser cannot lose data
    }
  }
}
