package dev.kubejit.rbac;

import dev.kubejit.api.KubeNames;
import dev.kubejit.api.SafeText;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * Validation of every value that ends up in a Kubernetes RBAC object, and the naming scheme.
 *
 * <p>Design notes: values are checked before any object is built or any API call is made, and a
 * refusal quotes the offending value in escaped form. Group names are restricted to a conservative
 * character set and may not be {@code system:} groups, so a JIT binding can never widen access for
 * built-in populations such as {@code system:authenticated}. Object names are DNS-1123 labels
 * derived deterministically from the template and the grant id, so repeated provisioning of the
 * same grant addresses the same objects.
 */
final class Names {
  static final String MANAGED_BY = "app.kubernetes.io/managed-by";
  static final String MANAGED_BY_VALUE = "kubejit";
  static final String GRANT_ID = "kubejit.dev/grant-id";
  static final String TEMPLATE = "kubejit.dev/template";
  static final String EXPIRES_AT = "kubejit.dev/expires-at";
  static final String REQUEST_ID = "kubejit.dev/request-id";
  static final String REQUESTER = "kubejit.dev/requester";
  static final String JUSTIFICATION = "kubejit.dev/justification";
  /** The policy role the grant was made under; the RBAC write webhook looks up its TTL ceiling. */
  static final String ROLE = "kubejit.dev/role";
  static final String MANAGED_SELECTOR = MANAGED_BY + "=" + MANAGED_BY_VALUE;
  static final String RBAC_GROUP = "rbac.authorization.k8s.io";
  static final String RBAC_API_VERSION = RBAC_GROUP + "/v1";

  private static final Pattern GROUP = Pattern.compile("[A-Za-z0-9][A-Za-z0-9:._@+=-]*");
  private static final int MAX_GROUP = 253;
  private static final int MAX_JUSTIFICATION = 1024;
  private static final String PREFIX = "kubejit-";

  private Names() {}

  static String requireNamespace(String ns) {
    if (!KubeNames.isDnsLabel(ns)) {
      throw new RbacException("namespace " + KubeNames.labelRule() + ": " + quote(ns));
    }
    return ns;
  }

  static String requireRoleName(String name) {
    if (!KubeNames.isDnsLabel(name)) {
      throw new RbacException("role name " + KubeNames.labelRule() + ": " + quote(name));
    }
    return name;
  }

  static String requireGroup(String group) {
    if (group == null || group.isEmpty() || group.length() > MAX_GROUP || !GROUP.matcher(group).matches()) {
      throw new RbacException(
          "group name must be 1.." + MAX_GROUP + " characters of [A-Za-z0-9:._@+=-] starting with an"
              + " alphanumeric: " + quote(group));
    }
    if (group.startsWith("system:")) {
      throw new RbacException("refusing to bind a built-in system: group: " + quote(group));
    }
    return group;
  }

  /** {@code kubejit-<template>-<grantId>}, at most 63 characters; long templates are shortened with a hash. */
  static String objectName(String template, String grantId) {
    requireRoleName(template);
    String tail = "-" + grantId;
    int room = 63 - PREFIX.length() - tail.length();
    String t = template;
    if (t.length() > room) {
      String h = sha256Hex(template).substring(0, 8);
      t = template.substring(0, room - 9);
      while (t.endsWith("-")) {
        t = t.substring(0, t.length() - 1);
      }
      t = t + "-" + h;
    }
    return requireRoleName(PREFIX + t + tail);
  }

  /** Removes control characters, collapses whitespace and caps the length. */
  static String sanitize(String text) {
    if (text == null) {
      return null;
    }
    StringBuilder sb = new StringBuilder();
    boolean space = false;
    for (int i = 0; i < text.length() && sb.length() < MAX_JUSTIFICATION; ) {
      int cp = text.codePointAt(i);
      i += Character.charCount(cp);
      if (Character.isWhitespace(cp) || Character.isISOControl(cp) || cp == 0x2028 || cp == 0x2029) {
        space = sb.length() > 0;
        continue;
      }
      if (!Character.isDefined(cp) || Character.getType(cp) == Character.FORMAT
          || Character.getType(cp) == Character.SURROGATE || Character.getType(cp) == Character.PRIVATE_USE) {
        continue;
      }
      if (space) {
        sb.append(' ');
        space = false;
      }
      sb.appendCodePoint(cp);
    }
    return sb.toString();
  }

  static String sha256Hex(String s) {
    return com.google.common.hash.Hashing.sha256().hashString(s, StandardCharsets.UTF_8).toString();
  }

  static String requirePodName(String pod) {
    if (!KubeNames.isDnsSubdomain(pod)) {
      throw new RbacException("pod " + KubeNames.subdomainRule() + ": " + quote(pod));
    }
    return pod;
  }

  /** Renders a value for a message with control and non-ASCII characters escaped. */
  static String quote(String value) {
    return SafeText.quote(value);
  }

  private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9:._@+=/*-]+");

  /** The value as it is when it is plain (name-like characters only), else {@link #quote(String)}d. */
  static String safe(String value) {
    return value != null && value.length() <= 160 && PLAIN.matcher(value).matches() ? value : quote(value);
  }
}
