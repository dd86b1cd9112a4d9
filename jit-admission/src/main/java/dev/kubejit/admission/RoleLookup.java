package dev.kubejit.admission;

import java.util.Optional;

/**
 * The port through which {@link RbacWriteAdmission} reads the role a binding refers to, so that a
 * RoleBinding or ClusterRoleBinding is linted together with what it grants. The wiring module
 * implements it against the API server (a {@code get} of the Role or ClusterRole with the broker's
 * credentials); tests may answer from a map.
 */
@FunctionalInterface
public interface RoleLookup {
  /**
   * Returns the Role ({@code kind} {@code Role}, in {@code namespace}) or ClusterRole ({@code kind}
   * {@code ClusterRole}, {@code namespace} null) named {@code name} as a JSON document, or empty if
   * it does not exist. Implementations must be thread-safe and answer within the webhook's timeout;
   * an exception refuses the write.
   */
  Optional<String> find(String kind, String namespace, String name);
}
