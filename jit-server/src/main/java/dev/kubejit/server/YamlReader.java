package dev.kubejit.server;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.LoaderOptions;

/**
 * A strict reader over Jackson's YAML token stream, with the same rules as jit-policy's reader.
 *
 * <p>Design notes: the caller walks the expected structure and asks for exactly the type it needs,
 * so every error carries the token's line, column and path, and nothing is coerced (a quoted
 * number is a string; {@code yes}/{@code on} are not booleans). Duplicate keys are refused by
 * SnakeYAML and Jackson and again here; anchors, aliases and explicit tags are refused; size and
 * nesting depth are bounded. Values are never echoed for keys that name a secret.
 */
final class YamlReader implements AutoCloseable {
  static final int MAX_BYTES = 1 << 20;

  private static final YAMLFactory YAML;

  static {
    LoaderOptions lo = new LoaderOptions();
    lo.setAllowDuplicateKeys(false);
    lo.setMaxAliasesForCollections(0);
    lo.setNestingDepthLimit(32);
    lo.setCodePointLimit(MAX_BYTES);
    YAML = YAMLFactory.builder()
        .loaderOptions(lo)
        .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
        .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(32).build())
        .build();
  }

  /** Handles one field of a mapping; must consume the field's value completely. */
  interface FieldHandler {
    void field(String name, String path);
  }

  final String source;
  private final YAMLParser p;
  private final Map<String, int[]> locations = new HashMap<>();
  private String currentPath = "";

  private YamlReader(YAMLParser p, String source) {
    this.p = p;
    this.source = source;
  }

  static YamlReader open(byte[] bytes, String source) {
    if (bytes.length > MAX_BYTES) {
      throw new ConfigException(source, 0, 0, null, "file is larger than " + MAX_BYTES + " bytes (" + bytes.length + ")", null);
    }
    try {
      return new YamlReader(YAML.createParser(bytes), source);
    } catch (IOException e) {
      throw wrap(e, source, "");
    }
  }

  private static String clean(String m) {
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

  private static ConfigException wrap(IOException e, String source, String path) {
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
    return new ConfigException(source, Math.max(line, 0), Math.max(col, 0), path, "malformed YAML: " + msg, e);
  }

  JsonToken next() {
    try {
      JsonToken t = p.nextToken();
      if (t != null) {
        if (p.isCurrentAlias()) {
          throw error(currentPath, "YAML aliases are not allowed in kubejit.yaml");
        }
        if (p.getObjectId() != null) {
          throw error(currentPath, "YAML anchors are not allowed in kubejit.yaml");
        }
        if (p.getTypeId() != null) {
          throw error(currentPath, "YAML tags are not allowed in kubejit.yaml: " + quote(p.getTypeId()));
        }
      }
      return t;
    } catch (IOException e) {
      throw wrap(e, source, currentPath);
    }
  }

  private int[] here() {
    JsonLocation l = p.currentTokenLocation();
    return new int[] {Math.max(l.getLineNr(), 0), Math.max(l.getColumnNr(), 0)};
  }

  ConfigException error(String path, String msg) {
    int[] at = here();
    return new ConfigException(source, at[0], at[1], path, msg, null);
  }

  /** An error located where {@code path} was read (or at the current token). */
  ConfigException errorAt(String path, String msg) {
    int[] at = locations.getOrDefault(path, here());
    return new ConfigException(source, at[0], at[1], path, msg, null);
  }

  /** Reads the root mapping and checks that nothing follows it. */
  void root(FieldHandler h) {
    if (next() != JsonToken.START_OBJECT) {
      throw error("", "the document must be a mapping, found " + describe());
    }
    locations.put("", here());
    object("", h);
    if (next() != null) {
      throw error("", "unexpected content after the end of the document (one document per file)");
    }
  }

  /** Reads a mapping whose START_OBJECT is current. */
  void object(String path, FieldHandler h) {
    if (p.currentToken() != JsonToken.START_OBJECT) {
      throw error(path, "expected a mapping, found " + describe());
    }
    locations.putIfAbsent(path, here());
    Set<String> seen = new HashSet<>();
    while (true) {
      JsonToken f = next();
      if (f == JsonToken.END_OBJECT) {
        return;
      }
      String name = currentName();
      String fp = path + "/" + name.replace("~", "~0").replace("/", "~1");
      currentPath = fp;
      locations.putIfAbsent(fp, here());
      if (!seen.add(name)) {
        throw error(fp, "duplicate key " + quote(name));
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

  ConfigException unknown(String path, String name, String expected) {
    return errorAt(path, "unknown key " + quote(name) + " (expected one of: " + expected + ")");
  }

  /** A sequence of non-empty strings, each checked by {@code each}; an empty sequence is allowed. */
  java.util.List<String> strings(String path, java.util.function.BiConsumer<String, String> each) {
    if (p.currentToken() != JsonToken.START_ARRAY) {
      throw error(path, "expected a list of strings, found " + describe());
    }
    java.util.List<String> out = new java.util.ArrayList<>();
    for (int i = 0; next() != JsonToken.END_ARRAY; i++) {
      String item = string(path + "/" + i);
      each.accept(path + "/" + i, item);
      out.add(item);
    }
    return out;
  }

  String string(String path) {
    if (p.currentToken() != JsonToken.VALUE_STRING) {
      throw error(path, "expected a string, found " + describe());
    }
    String s = text();
    if (s.isEmpty()) {
      throw error(path, "expected a non-empty string");
    }
    return s;
  }

  boolean bool(String path) {
    JsonToken t = p.currentToken();
    if (t == JsonToken.VALUE_TRUE || t == JsonToken.VALUE_FALSE) {
      if (!text().equals(t == JsonToken.VALUE_TRUE ? "true" : "false")) {
        throw error(path, "write true or false, not the YAML 1.1 boolean " + quote(text()));
      }
      return t == JsonToken.VALUE_TRUE;
    }
    throw error(path, "expected true or false, found " + describe());
  }

  /** Skips the current value without looking at it (used before refusing a secret, so it is never echoed). */
  void skip() {
    try {
      p.skipChildren();
    } catch (IOException e) {
      throw wrap(e, source, currentPath);
    }
  }

  private String text() {
    try {
      return p.getText();
    } catch (IOException e) {
      throw wrap(e, source, currentPath);
    }
  }

  String describe() {
    JsonToken t = p.currentToken();
    if (t == null) {
      return "the end of the input";
    }
    switch (t) {
      case START_OBJECT:
        return "a mapping";
      case START_ARRAY:
        return "a list";
      case VALUE_STRING:
        return "the string " + quote(text());
      case VALUE_NUMBER_INT:
      case VALUE_NUMBER_FLOAT:
        return "the number " + quote(text());
      case VALUE_TRUE:
      case VALUE_FALSE:
        return "the boolean " + text();
      case VALUE_NULL:
        return "null (an empty value)";
      default:
        return t.name();
    }
  }

  /** Quotes a value for a message, escaping control and non-ASCII characters, at most 120 characters. */
  static String quote(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      if (sb.length() > 120) {
        sb.append("...");
        break;
      }
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        sb.append('\\').append(c);
      } else if (c < 0x20 || c >= 0x7f) {
        sb.append(String.format("\\u%04x", (int) c));
      } else {
        sb.append(c);
      }
    }
    return sb.append('"').toString();
  }

  @Override
  public void close() {
    try {
      p.close();
    } catch (IOException e) {
      // an in-memory parser: nothing to lose
    }
  }
}
