package dev.kubejit.policy;

import java.util.Locale;

/** The three interchangeable encodings of a policy file. */
public enum PolicyFormat {
  /** JSON ({@code .json}). */
  JSON,
  /** XML ({@code .xml}); see {@code docs/policy.md} for the element shape of lists and maps. */
  XML,
  /** YAML ({@code .yaml}, {@code .yml}); anchors, aliases and tags are refused. */
  YAML;

  /**
   * Returns the format named by a file's extension.
   *
   * @throws IllegalArgumentException if the extension is not {@code .json}, {@code .xml}, {@code .yaml} or {@code .yml}
   */
  public static PolicyFormat ofFileName(String fileName) {
    String lower = fileName.toLowerCase(Locale.ROOT);
    if (lower.endsWith(".json")) {
      return JSON;
    }
    if (lower.endsWith(".xml")) {
      return XML;
    }
    if (lower.endsWith(".yaml") || lower.endsWith(".yml")) {
      return YAML;
    }
    throw new IllegalArgumentException(
        "cannot tell the policy format from the file name (expected .json, .xml, .yaml or .yml): "
            + Text.quote(fileName));
  }
}
