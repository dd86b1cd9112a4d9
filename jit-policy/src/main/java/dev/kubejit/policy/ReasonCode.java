package dev.kubejit.policy;

import java.util.Locale;

/**
 * Stable codes for why a use of a grant (a command, usually) was denied. A denial's reason text
 * starts with the code in brackets, {@code [path-outside] ...}, so corpora, policy test files
 * ({@code expect.reasonCode}) and log searches can rely on it while the prose may change. The list
 * is documented in {@code docs/policy.md}; a code, once published, keeps its meaning.
 */
enum ReasonCode {
  // command syntax (rule command-syntax)
  EMPTY_COMMAND,
  TOO_MANY_WORDS,
  CONTROL_CHARACTER,
  INVISIBLE_CHARACTER,
  WHITESPACE,
  SHELL_METACHARACTER,
  QUOTING,
  ENV_ASSIGNMENT,
  COMMAND_PATH,
  COMMAND_NAME,
  // program and role (rule default-deny or <role>/...)
  NO_ROLE,
  NOT_REQUESTER,
  ACTION_MISMATCH,
  ACTION_NOT_ALLOWED,
  INTERACTIVE_EXEC,
  CONTAINER_NOT_ALLOWED,
  LONG_RUNNING,
  NOT_A_COMMAND,
  RUNNER,
  NO_RULE,
  POLICY_ERROR,
  // arguments (the rule's id)
  OPTION_NOT_ALLOWED,
  OPTION_ABBREVIATED,
  COMBINED_OPTIONS,
  OPTION_VALUE_MISSING,
  OPTION_VALUE_AMBIGUOUS,
  OPTION_TAKES_NO_VALUE,
  NOT_A_NUMBER,
  OPERAND_COUNT,
  OPERANDS_AMBIGUOUS,
  NO_OPERAND,
  PATH_RELATIVE,
  PATH_NON_ASCII,
  PATH_DOTDOT,
  PATH_OUTSIDE;

  /** The wire form: lower case with dashes, e.g. {@code path-outside}. */
  String wire() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /** The reason text with this code in front. */
  String tag(String message) {
    return "[" + wire() + "] " + message;
  }

  /** The code at the start of a reason, or null. */
  static ReasonCode of(String reason) {
    if (reason == null || !reason.startsWith("[")) {
      return null;
    }
    int end = reason.indexOf(']');
    if (end < 0) {
      return null;
    }
    String w = reason.substring(1, end);
    for (ReasonCode c : values()) {
      if (c.wire().equals(w)) {
        return c;
      }
    }
    return null;
  }
}
