package dev.kubejit.policy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.charset.StandardCharsets;

/** Canonical JSON (sorted keys, no whitespace) and its SHA-256. */
final class Canonical {
  private static final ObjectMapper MAPPER =
      new ObjectMapper().enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

  private Canonical() {}

  static String json(Object tree) {
    try {
      return MAPPER.writeValueAsString(tree);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot render the canonical policy", e);
    }
  }

  static String sha256Hex(String s) {
    return com.google.common.hash.Hashing.sha256().hashString(s, StandardCharsets.UTF_8).toString();
  }
}
