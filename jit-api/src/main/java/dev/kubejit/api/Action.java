package dev.kubejit.api;

import java.util.regex.Pattern;

/**
 * A kind of access a request asks for, such as {@code logs}, {@code exec} or {@code portforward};
 * the policy decides how each is approved.
 */
public final class Action {
  private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9-]{0,62}");

  /** Reading container logs ({@code pods/log}). */
  public static final Action LOGS = new Action("logs");
  /** Running commands in a container ({@code pods/exec}). */
  public static final Action EXEC = new Action("exec");
  /** Forwarding a port to a pod ({@code pods/portforward}). */
  public static final Action PORT_FORWARD = new Action("portforward");
  /** Read-only inspection of workloads and events. */
  public static final Action VIEW = new Action("view");
  /** Adding an ephemeral debug container ({@code kubectl debug}). */
  public static final Action DEBUG = new Action("debug");

  private final String name;

  private Action(String name) {
    this.name = name;
  }

  /** Returns the action with this name (lower-case letters, digits and '-'). */
  public static Action of(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "action must match " + NAME.pattern() + ": " + Validation.quote(name));
    }
    return new Action(name);
  }

  /** The action's name as used in policy files. */
  public String name() {
    return name;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Action && ((Action) o).name.equals(name);
  }

  @Override
  public int hashCode() {
    return name.hashCode();
  }

  @Override
  public String toString() {
    return name;
  }
}
