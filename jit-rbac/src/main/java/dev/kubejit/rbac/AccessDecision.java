package dev.kubejit.rbac;

import java.util.Optional;
import java.util.OptionalInt;

/** The answer of {@link RbacEvaluator}: allowed or not, and which binding, role and rule allowed it. */
public final class AccessDecision {
  private final boolean allowed;
  private final String binding;
  private final String role;
  private final int ruleIndex;
  private final String rule;

  private AccessDecision(boolean allowed, String binding, String role, int ruleIndex, String rule) {
    this.allowed = allowed;
    this.binding = binding;
    this.role = role;
    this.ruleIndex = ruleIndex;
    this.rule = rule;
  }

  static AccessDecision allow(String binding, String role, int ruleIndex, String rule) {
    return new AccessDecision(true, binding, role, ruleIndex, rule);
  }

  static AccessDecision deny() {
    return new AccessDecision(false, null, null, -1, null);
  }

  /** Whether RBAC allows the request. */
  public boolean allowed() {
    return allowed;
  }

  /** The binding that allowed it ({@code ClusterRoleBinding/name} or {@code RoleBinding/ns/name}). */
  public Optional<String> binding() {
    return Optional.ofNullable(binding);
  }

  /** The role that allowed it ({@code ClusterRole/name} or {@code Role/ns/name}). */
  public Optional<String> role() {
    return Optional.ofNullable(role);
  }

  /** The index of the allowing rule within the role. */
  public OptionalInt ruleIndex() {
    return allowed ? OptionalInt.of(ruleIndex) : OptionalInt.empty();
  }

  /** A one-line explanation. */
  public String explanation() {
    if (!allowed) {
      return "denied: no RBAC rule allows it";
    }
    return "allowed by " + binding + " -> " + role + " rule " + ruleIndex + " " + rule;
  }

  @Override
  public String toString() {
    return explanation();
  }
}
