package dev.kubejit.policy;

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
import org.yaml.snakeyaml.LoaderOptions;

/**
 * A strict, schema-driven reader over a Jackson token stream, shared by the policy and policy-test
 * readers for all three formats.
 *
 * <p>Design notes: instead of data binding, the caller walks the expected structure and asks for
 * exactly the type it needs, so every error carries the token's line and column and the path that
 * led to it, and nothing is coerced: in JSON and YAML a number in quotes is a string and an error
 * where a number is expected; in XML, where everything is text, numbers and booleans are converted
 * here with a strict grammar. Duplicate keys are refused by Jackson's duplicate detection (JSON,
 * YAML) and by this reader (all formats). XML lists are a wrapper element with repeated item
 * elements, read without Jackson's array heuristics; DOCTYPE is refused before Jackson sees the
 * document, and DTDs and external entities are disabled in the StAX factory. YAML anchors, aliases
 * and explicit tags are refused.
 */
final class StrictReader implements AutoCloseable {
  static final int MAX_BYTES = 1 << 20;

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
  interface FieldHandler {
    void field(String name, String path);
  }

  /** Reads one item of a list whose first token is current. */
  interface ItemReader<T> {
    T read(String path);
  }

  final PolicyFormat format;
  final String source;
  private final JsonParser p;
  private final Map<String, int[]> locations = new HashMap<>();
  private String currentPath = "";

  private StrictReader(JsonParser p, PolicyFormat format, String source) {
    this.p = p;
    this.format = format;
    this.source = source;
  }

  /**
   * Opens a reader; for XML the root element must be {@code rootElement}.
   *
   * @throws PolicyException if the input is too large, not parsable, or (XML) has a DOCTYPE
   */
  static StrictReader open(byte[] bytes, PolicyFormat format, String source, String rootElement) {
    if (bytes.length > MAX_BYTES) {
      throw new PolicyException(source, 0, 0, null,
          "file is larger than " + MAX_BYTES + " bytes (" + bytes.length + ")", null);
    }
    try {
      switch (format) {
        case JSON:
          return new StrictReader(JSON.createParser(bytes), format, source);
        case YAML:
          return new StrictReader(YAML.createParser(bytes), format, source);
        case XML:
          return new StrictReader(XML.createParser(xmlAtRoot(bytes, source, rootElement)), format, source);
        default:
          throw new AssertionError(format);
      }
    } catch (IOException e) {
      throw wrap(e, source, "");
    }
  }

  private static XMLStreamReader xmlAtRoot(byte[] bytes, String source, String rootElement) {
    XMLStreamReader r = null;
    try {
      r = STAX.createXMLStreamReader(new ByteArrayInputStream(bytes));
      while (r.hasNext()) {
        int ev = r.next();
        if (ev == XMLStreamConstants.DTD) {
          throw xmlError(source, r.getLocation(), "DOCTYPE is not allowed in a policy file");
        }
        if (ev == XMLStreamConstants.ENTITY_REFERENCE) {
          throw xmlError(source, r.getLocation(), "entity references are not allowed in a policy file");
        }
        if (ev == XMLStreamConstants.START_ELEMENT) {
          String ns = r.getNamespaceURI();
          if (!rootElement.equals(r.getLocalName()) || ns != null && !ns.isEmpty()) {
            throw xmlError(source, r.getLocation(), "the root element must be <" + rootElement
                + "> without a namespace, not " + Text.quote(r.getName().toString()));
          }
          return r;
        }
      }
      throw new PolicyException(source, 0, 0, null, "no root element", null);
    } catch (XMLStreamException e) {
      Location l = e.getLocation();
      throw new PolicyException(source, l == null ? 0 : l.getLineNumber(), l == null ? 0 : l.getColumnNumber(),
          null, "malformed XML: " + clean(e.getMessage()), null);
    } catch (RuntimeException e) {
      if (e instanceof PolicyException) {
        throw e;
      }
      throw new PolicyException(source, 0, 0, null, "malformed XML: " + e.getClass().getSimpleName(), null);
    }
  }

  private static PolicyException xmlError(String source, Location l, String msg) {
    return new PolicyException(source, l.getLineNumber(), l.getColumnNumber(), null, msg, null);
  }

  /** Removes Jackson's location suffix and control characters from a parser message. */
  static String clean(String m) {
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

  private static PolicyException wrap(IOException e, String source, String path) {
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
    return new PolicyException(source, Math.max(line, 0), Math.max(col, 0), path, "malformed input: " + msg, e);
  }

  // ---- token access ----

  JsonToken next() {
    try {
      JsonToken t = p.nextToken();
      if (format == PolicyFormat.YAML && t != null) {
        YAMLParser y = (YAMLParser) p;
        if (y.isCurrentAlias()) {
          throw error(currentPath, "YAML aliases are not allowed in a policy file");
        }
        if (y.getObjectId() != null) {
          throw error(currentPath, "YAML anchors are not allowed in a policy file");
        }
        if (y.getTypeId() != null) {
          throw error(currentPath, "YAML tags are not allowed in a policy file: " + Text.quote(y.getTypeId()));
        }
      }
      return t;
    } catch (IOException e) {
      throw wrap(e, source, currentPath);
    }
  }

  int[] here() {
    JsonLocation l = p.currentTokenLocation();
    return new int[] {Math.max(l.getLineNr(), 0), Math.max(l.getColumnNr(), 0)};
  }

  PolicyException error(String path, String msg) {
    int[] at = here();
    return new PolicyException(source, at[0], at[1], path, msg, null);
  }

  /** An error located at where {@code path} was read (or at the current token). */
  PolicyException errorAt(String path, String msg) {
    int[] at = locations.getOrDefault(path, here());
    return new PolicyException(source, at[0], at[1], path, msg, null);
  }

  Map<String, int[]> locations() {
    return locations;
  }

  /** Reads the root object and checks that nothing follows it. */
  void root(FieldHandler h) {
    if (next() != JsonToken.START_OBJECT) {
      throw error("", "the document must be an object (mapping), found " + describe());
    }
    locations.put("", here());
    object("", h);
    if (next() != null) {
      throw error("", "unexpected content after the end of the document");
    }
  }

  /** Reads an object whose START_OBJECT is current (in XML, empty text counts as an empty object). */
  void object(String path, FieldHandler h) {
    JsonToken t = p.currentToken();
    if (format == PolicyFormat.XML && isEmptyXml(t)) {
      return;
    }
    if (t != JsonToken.START_OBJECT) {
      throw error(path, "expected an object (mapping), found " + describe());
    }
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
        throw error(fp, "duplicate field " + Text.quote(name));
      }
      next();
      h.field(name, fp);
    }
  }

  private String currentName() {
    try {
      return p.currentName();
    } catch (IOException e) {
      throw wrap(e, source, currentPath);
    }
  }

  PolicyException unknown(String path, String name, String expected) {
    return errorAt(path, "unknown field " + Text.quote(name) + " (expected one of: " + expected + ")");
  }

  <T> List<T> list(String path, String xmlItem, ItemReader<T> item) {
    JsonToken t = p.currentToken();
    List<T> out = new ArrayList<>();
    if (format == PolicyFormat.XML) {
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

  List<String> stringList(String path, String xmlItem) {
    return list(path, xmlItem, this::string);
  }

  /** Whether the current value is an object (mapping); in XML, whether it has child elements. */
  boolean atObject() {
    return p.currentToken() == JsonToken.START_OBJECT;
  }

  String string(String path) {
    JsonToken t = p.currentToken();
    if (t != JsonToken.VALUE_STRING) {
      throw error(path, "expected a string, found " + describe());
    }
    return text();
  }

  int integer(String path, int min, int max) {
    JsonToken t = p.currentToken();
    long v;
    if (format == PolicyFormat.XML) {
      if (t != JsonToken.VALUE_STRING) {
        throw error(path, "expected an integer, found " + describe());
      }
      String s = text().strip();
      if (!s.matches("[0-9]{1,9}")) {
        throw error(path, "expected an integer, found " + Text.quote(s));
      }
      v = Long.parseLong(s);
    } else {
      if (t != JsonToken.VALUE_NUMBER_INT) {
        throw error(path, "expected an integer, found " + describe());
      }
      if (format == PolicyFormat.YAML && !text().matches("[0-9]{1,9}")) {
        throw error(path, "write the integer in plain decimal, not " + Text.quote(text()));
      }
      try {
        if (p.getNumberType() != JsonParser.NumberType.INT) {
          throw error(path, "integer out of range: " + Text.quote(p.getText()));
        }
        v = p.getIntValue();
      } catch (IOException e) {
        throw wrap(e, source, path);
      }
    }
    if (v < min || v > max) {
      throw error(path, "expected an integer between " + min + " and " + max + ", found " + v);
    }
    return (int) v;
  }

  boolean bool(String path) {
    JsonToken t = p.currentToken();
    if (format == PolicyFormat.XML) {
      if (t == JsonToken.VALUE_STRING) {
        String s = text().strip();
        if (s.equals("true")) {
          return true;
        }
        if (s.equals("false")) {
          return false;
        }
        throw error(path, "expected true or false, found " + Text.quote(s));
      }
      throw error(path, "expected true or false, found " + describe());
    }
    if (t == JsonToken.VALUE_TRUE || t == JsonToken.VALUE_FALSE) {
      if (format == PolicyFormat.YAML && !text().equals(t == JsonToken.VALUE_TRUE ? "true" : "false")) {
        throw error(path, "write true or false, not the YAML 1.1 boolean " + Text.quote(text()));
      }
      return t == JsonToken.VALUE_TRUE;
    }
    throw error(path, "expected true or false, found " + describe());
  }

  private String text() {
    try {
      return p.getText();
    } catch (IOException e) {
      throw wrap(e, source, currentPath);
    }
  }

  private boolean isEmptyXml(JsonToken t) {
    return t == JsonToken.VALUE_NULL || t == JsonToken.VALUE_STRING && text().isBlank();
  }

  /** Describes the current token for an error message. */
  String describe() {
    JsonToken t = p.currentToken();
    if (t == null) {
      return "the end of the input";
    }
    switch (t) {
      case START_OBJECT:
        return "an object";
      case START_ARRAY:
        return "a list";
      case VALUE_STRING:
        return "the string " + Text.quote(text());
      case VALUE_NUMBER_INT:
      case VALUE_NUMBER_FLOAT:
        return "the number " + Text.quote(text());
      case VALUE_TRUE:
      case VALUE_FALSE:
        return "the boolean " + text();
      case VALUE_NULL:
        return "null";
      default:
        return t.asString() == null ? t.name() : t.asString();
    }
  }

  static String escape(String name) {
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
