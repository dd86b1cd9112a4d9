package dev.kubejit.policy;

/** A command refused before or during rule matching; carries the deciding rule id. No stack trace. */
final class Refusal extends Exception {
  private static final long serialVersionUID = 1L;
  private final String ruleId;

  Refusal(String ruleId, String reason) {
    super(reason, null, false, false);
    this.ruleId = ruleId;
  }

  String ruleId() {
    return ruleId;
  }
}
