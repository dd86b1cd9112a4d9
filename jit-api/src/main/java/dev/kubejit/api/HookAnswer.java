package dev.kubejit.api;

import static java.util.Objects.requireNonNull;

import java.util.Objects;

/**
 * What an {@link dev.kubejit.api.spi.AccessHook} said: the hook's name, allowed or refused, and a
 * reason for the audit log and the approvers. The reason is made safe for logs (control characters
 * escaped, length capped at 512 characters).
 */
public final class HookAnswer {
  private static final int MAX_REASON = 512;

  private final String hook;
  private final boolean allowed;
  private final String reason;

  private HookAnswer(String hook, boolean allowed, String reason) {
    this.hook = Validation.requireName(hook, "hook name");
    this.allowed = allowed;
    String r = requireNonNull(reason, "reason");
    if (r.length() > MAX_REASON) {
      r = r.substring(0, MAX_REASON) + "...";
    }
    this.reason = escape(r);
  }

  /** Control, line-separator and format characters (which could forge a log line or hide text) as \\uXXXX. */
  private static String escape(String s) {
    StringBuilder sb = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      int type = Character.getType(c);
      if (c == '\\' || type == Character.CONTROL || type == Character.FORMAT || type == Character.LINE_SEPARATOR
          || type == Character.PARAGRAPH_SEPARATOR) {
        sb.append(String.format("\\u%04x", (int) c));
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }

  /** The hook allows the request. */
  public static HookAnswer allow(String hook, String reason) {
    return new HookAnswer(hook, true, reason);
  }

  /** The hook refuses the request. */
  public static HookAnswer refuse(String hook, String reason) {
    return new HookAnswer(hook, false, reason);
  }

  /** The hook's name (as configured; for example the policy role's hook name). */
  public String hook() {
    return hook;
  }

  /** True if the hook allows the request. */
  public boolean allowed() {
    return allowed;
  }

  /** Why, as the hook (or the broker, for a failure) said it. */
  public String reason() {
    return reason;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof HookAnswer h && h.hook.equals(hook) && h.allowed == allowed && h.reason.equals(reason);
  }

  @Override
  public int hashCode() {
    return Objects.hash(hook, allowed, reason);
  }

  @Override
  public String toString() {
    return "access hook " + hook + (allowed ? " allowed: " : " refused: ") + reason;
  }
}
