package dev.kubejit.api;

import java.util.regex.Pattern;

/**
 * The one home of Kubernetes object-name rules, as the API server applies them (<a
 * href="https://kubernetes.io/docs/concepts/overview/working-with-objects/names/">Object Names and
 * IDs</a>): a <em>DNS-1123 label</em> (namespaces, containers, RBAC template and object names) is 1
 * to 63 lower-case alphanumerics or {@code -}, starting and ending with an alphanumeric; a
 * <em>DNS-1123 subdomain</em> (pods, nodes, clusters) is 1 to 253 characters of dot-separated
 * labels. Used by the domain types, jit-rbac and jit-policy, so a name one module accepts is never
 * refused by another.
 */
public final class KubeNames {
  /** The longest DNS-1123 label. */
  public static final int MAX_LABEL = 63;
  /** The longest DNS-1123 subdomain. */
  public static final int MAX_SUBDOMAIN = 253;

  private static final Pattern LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  private static final Pattern SUBDOMAIN = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");

  private KubeNames() {}

  /** Whether {@code value} is a DNS-1123 label; {@code false} for null. */
  public static boolean isDnsLabel(String value) {
    return value != null && !value.isEmpty() && value.length() <= MAX_LABEL && LABEL.matcher(value).matches();
  }

  /** Whether {@code value} is a DNS-1123 subdomain; {@code false} for null. */
  public static boolean isDnsSubdomain(String value) {
    return value != null && !value.isEmpty() && value.length() <= MAX_SUBDOMAIN && SUBDOMAIN.matcher(value).matches();
  }

  /**
   * Returns {@code value} if it is a DNS-1123 label.
   *
   * @param what names the value in the message, e.g. {@code "namespace"}
   * @throws IllegalArgumentException if it is missing or not a label; the message quotes it escaped
   */
  public static String requireDnsLabel(String value, String what) {
    if (value == null || value.isEmpty()) {
      throw new IllegalArgumentException(what + " is required");
    }
    if (!isDnsLabel(value)) {
      throw new IllegalArgumentException(what + " " + labelRule() + ": " + SafeText.quote(value));
    }
    return value;
  }

  /**
   * Returns {@code value} if it is a DNS-1123 subdomain.
   *
   * @param what names the value in the message, e.g. {@code "pod"}
   * @throws IllegalArgumentException if it is missing or not a subdomain; the message quotes it escaped
   */
  public static String requireDnsSubdomain(String value, String what) {
    if (value == null || value.isEmpty()) {
      throw new IllegalArgumentException(what + " is required");
    }
    if (!isDnsSubdomain(value)) {
      throw new IllegalArgumentException(what + " " + subdomainRule() + ": " + SafeText.quote(value));
    }
    return value;
  }

  /** The label rule in words, for messages: {@code must be a DNS-1123 label (...)}. */
  public static String labelRule() {
    return "must be a DNS-1123 label (lower-case alphanumerics and '-', at most 63)";
  }

  /** The subdomain rule in words, for messages: {@code must be a DNS-1123 subdomain (...)}. */
  public static String subdomainRule() {
    return "must be a DNS-1123 subdomain (lower-case alphanumerics, '-' and '.', at most 253)";
  }
}
